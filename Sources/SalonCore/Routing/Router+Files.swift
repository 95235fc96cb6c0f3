import Foundation
import NIOCore
import SalonProtocol

/// Files (PROTOCOL.md §10): who may read one, and what an upload records. The transport
/// streams the bytes (the HTTP routes); the rules are here, with the others.
extension Router {
    /// The account a bearer token belongs to, as `login` with a token decides it (revoked,
    /// expired and banned accounts refused), for a request that has no session.
    public func authenticate(token: String) async throws -> SessionUser {
        guard !token.isEmpty, token.utf8.count <= 256,
              let record = try await store.user(tokenHash: SessionToken.hash(token), usedAt: .now(), unusedSince: tokenCutoff()) else {
            throw ProtocolError(.authFailed, "this token is not valid (it may have been revoked by logout, or have expired)")
        }
        try checkNotBanned(record.id)
        return SessionUser(id: record.id, username: record.username, key: record.key, role: record.role, isBot: record.isBot)
    }

    /// The file, when `user` may read it: its uploader, or a member of a room (a party to a
    /// private conversation) where a message that carries it, not deleted, was shared.
    /// Anything else is `file_not_found`, whether the file exists or not.
    public func readableFile(id: String, for user: SessionUser) async throws -> StoredFile {
        let notFound = ProtocolError(.fileNotFound, "no file \(id.prefix(40))")
        guard FileID.isWellFormed(id), let file = try await store.file(id: id) else { throw notFound }
        if file.uploaderID == user.id { return file }
        let shares = try await store.fileShares(id: id)
        func visible() -> Bool {
            hub.withState { s in
                shares.contains { share in
                    if let room = share.roomID { return s.room(id: room)?.members[user.id] != nil }
                    return share.senderID == user.id || share.recipientID == user.id
                }
            }
        }
        if visible() { return file }
        // A membership made on another node a moment ago may not be here yet.
        if store.cluster != nil, shares.contains(where: { $0.roomID != nil }) {
            await catchUpWithOtherNodes()
            if visible() { return file }
        }
        throw notFound
    }

    /// The files a message names, each one its sender may read, in order, once each.
    func attachments(_ ids: [String], for user: SessionUser) async throws -> [FileInfo] {
        guard ids.count <= Limits.attachments else {
            throw ProtocolError(.invalidField, "a message carries at most \(Limits.attachments) files")
        }
        var seen = Set<String>()
        var files: [FileInfo] = []
        for id in ids where seen.insert(id).inserted {
            files.append(try await readableFile(id: id, for: user).info)
        }
        return files
    }

    /// The largest upload, in bytes.
    public var maxUploadBytes: Int64 { configuration.maxUploadBytes }

    /// Where the transport writes an upload while it comes in.
    public var uploadStagingDirectory: String { store.stagingDirectory }

    /// Keeps a staged upload's bytes as the content `hash` (once, whoever sent it first).
    public func keepContent(hash: String, from staged: String) async throws {
        try await store.storeContent(hash: hash, from: staged)
    }

    public func readContent(hash: String, _ body: (ByteBuffer) async throws -> Void) async throws {
        try await store.readContent(hash: hash, body)
    }

    /// Records an upload whose content is kept: a new file of `user`'s, with a new id.
    public func recordUpload(_ upload: Upload, by user: SessionUser) async throws -> FileInfo {
        let file = StoredFile(
            id: FileID.random(), hash: upload.hash, name: FileID.cleanName(upload.name), size: upload.size, type: upload.type,
            width: upload.width, height: upload.height, previewHash: upload.previewHash, previewType: upload.previewType,
            uploaderID: user.id, createdAt: .now()
        )
        try await store.insertFile(file)
        logger.debug("\(user.username) uploaded \(file.size) bytes as \(file.id)")
        return file.info
    }
}

/// An upload as the transport made it: its content's hash and length once cleaned, the name
/// and type it came with (images: their true type), and for images their size and preview.
public struct Upload: Sendable {
    public var hash: String
    public var name: String
    public var size: Int64
    public var type: String
    public var width: Int?
    public var height: Int?
    public var previewHash: String?
    public var previewType: String?

    public init(hash: String, name: String, size: Int64, type: String, width: Int? = nil, height: Int? = nil,
                previewHash: String? = nil, previewType: String? = nil) {
        self.hash = hash
        self.name = name
        self.size = size
        self.type = type
        self.width = width
        self.height = height
        self.previewHash = previewHash
        self.previewType = previewType
    }
}

/// Files' ids and names.
public enum FileID {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// 130 random bits in 26 characters of lowercase base32.
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<26).map { _ in alphabet[Int(generator.next() % 32)] }, as: UTF8.self)
    }

    static func isWellFormed(_ id: String) -> Bool {
        id.utf8.count == 26 && id.utf8.allSatisfy { alphabet.contains($0) }
    }

    /// A name to keep and show: the last part of a path, without control characters, quotes
    /// or backslashes, at most `Limits.fileNameLength` characters (the extension kept), never
    /// empty.
    public static func cleanName(_ raw: String) -> String {
        let last = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var name = String(String.UnicodeScalarView(last.unicodeScalars.filter {
            !($0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) || $0 == "\"" || $0.properties.isBidiControl)
        })).trimmingCharacters(in: .whitespaces)
        if name.isEmpty || name == "." || name == ".." { name = "file" }
        let scalars = Array(name.unicodeScalars)
        if scalars.count > Limits.fileNameLength {
            let dot = scalars.lastIndex(of: ".").map { scalars.count - $0 } ?? 0
            let keep = dot > 0 && dot <= 16 ? Array(scalars.suffix(dot)) : []
            name = String(String.UnicodeScalarView(scalars.prefix(Limits.fileNameLength - keep.count) + keep))
        }
        return name
    }

    /// A declared media type made safe to repeat: `type/subtype` of token characters,
    /// lowercased, parameters dropped; anything else is `application/octet-stream`.
    public static func cleanType(_ raw: String?) -> String {
        let fallback = "application/octet-stream"
        guard let raw else { return fallback }
        let essence = raw.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let parts = essence.split(separator: "/", omittingEmptySubsequences: false)
        let token = Set("abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-".utf8)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 64 && $0.utf8.allSatisfy(token.contains) }) else { return fallback }
        return essence
    }
}
