import _NIOFileSystem
import Crypto
import Foundation
import NIOCore
import SalonProtocol
import Synchronization

/// Reads a `multipart/form-data` upload as it arrives: the part `file` (and an optional
/// `preview`) each streamed to a staged file while hashed and counted; other parts read and
/// dropped (a few kilobytes at most). Refuses, as soon as it can tell: a file over the limit
/// (`file_too_large`), a second file, a body that is not multipart, one that ends early.
struct UploadReceiver {
    struct Parts {
        var file: StagedUpload
        var fileName: String
        var fileType: String?
        var preview: StagedUpload?
    }

    private enum Current {
        case none
        case headers([(String, String)])
        case file(PartWriter)
        case preview(PartWriter)
        case other
    }

    private var scanner: MultipartScanner
    private let staging: StagingArea
    private let fileLimit: Int64
    private let previewLimit: Int64
    private var current: Current = .none
    private var file: (StagedUpload, String, String?)?
    private var preview: StagedUpload?
    private var otherBytes = 0

    static let otherPartsLimit = 16 * 1024

    init(boundary: String, staging: StagingArea, fileLimit: Int64, previewLimit: Int64) {
        scanner = MultipartScanner(boundary: boundary)
        self.staging = staging
        self.fileLimit = fileLimit
        self.previewLimit = previewLimit
    }

    /// The boundary of a `multipart/form-data` content type.
    static func boundary(of contentType: String?) throws -> String {
        let invalid = ProtocolError(.invalidField, "an upload is multipart/form-data with one part named 'file'")
        guard let contentType else { throw invalid }
        let params = Self.parameters(contentType)
        guard params.first?.0.lowercased() == "multipart/form-data", let boundary = params.first(where: { $0.0.lowercased() == "boundary" })?.1,
              (1...70).contains(boundary.utf8.count), boundary.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else { throw invalid }
        return boundary
    }

    /// `value; key=value; key="quoted; value"`: the first is the value (key alone), then the
    /// parameters.
    static func parameters(_ header: String) -> [(String, String)] {
        var result: [(String, String)] = []
        var field = ""
        var quoted = false
        var escaped = false
        func end() {
            let trimmed = field.trimmingCharacters(in: .whitespaces)
            field = ""
            guard !trimmed.isEmpty else { return }
            if let eq = trimmed.firstIndex(of: "="), !result.isEmpty {
                var value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 {
                    value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
                }
                result.append((trimmed[..<eq].trimmingCharacters(in: .whitespaces), value))
            } else {
                result.append((trimmed, ""))
            }
        }
        for ch in header {
            if escaped {
                escaped = false
            } else if ch == "\\" && quoted {
                escaped = true
            } else if ch == "\"" {
                quoted.toggle()
            } else if ch == ";" && !quoted {
                end()
                continue
            }
            field.append(ch)
        }
        end()
        return result
    }

    mutating func receive(_ chunk: ByteBuffer) async throws {
        var events: [MultipartScanner.Event] = []
        do {
            try scanner.feed(chunk, into: &events)
        } catch {
            throw ProtocolError(.invalidField, "the upload is not valid multipart/form-data: \(error.reason)")
        }
        for event in events { try await handle(event) }
    }

    private mutating func handle(_ event: MultipartScanner.Event) async throws {
        switch (event, current) {
        case (.header(let name, let value), .none):
            current = .headers([(name, value)])
        case (.header(let name, let value), .headers(var list)):
            guard list.count < 16 else { throw ProtocolError(.invalidField, "a part of the upload has too many headers") }
            list.append((name, value))
            current = .headers(list)
        case (.header, _):
            throw ProtocolError(.invalidField, "the upload is not valid multipart/form-data")
        case (.body, .none), (.end, .none):
            current = try await begin([])
            try await handle(event)
        case (.body, .headers(let list)), (.end, .headers(let list)):
            current = try await begin(list)
            try await handle(event)
        case (.body(let buffer), .file(let writer)):
            try await writer.write(buffer)
            guard writer.size <= fileLimit else {
                throw ProtocolError(.fileTooLarge, "a file is at most \(FileRoutes.mebibytes(fileLimit))")
            }
        case (.body(let buffer), .preview(let writer)):
            try await writer.write(buffer)
            guard writer.size <= previewLimit else {
                throw ProtocolError(.invalidField, "a preview is at most \(previewLimit / 1024) KiB")
            }
        case (.body(let buffer), .other):
            otherBytes += buffer.readableBytes
            guard otherBytes <= Self.otherPartsLimit else { throw ProtocolError(.invalidField, "an upload holds one file (and its preview)") }
        case (.end, .file(let writer)):
            file = (try await writer.close(), writer.fileName, writer.fileType)
            current = .none
        case (.end, .preview(let writer)):
            preview = try await writer.close()
            current = .none
        case (.end, .other):
            current = .none
        }
    }

    /// A new part, by its `Content-Disposition` name.
    private func begin(_ headers: [(String, String)]) async throws -> Current {
        let disposition = headers.first { $0.0.lowercased() == "content-disposition" }.map { Self.parameters($0.1) } ?? []
        let name = disposition.first { $0.0.lowercased() == "name" }?.1
        switch name {
        case "file":
            guard file == nil else { throw ProtocolError(.invalidField, "an upload holds one file: send each in its own request") }
            let fileName = disposition.first { $0.0.lowercased() == "filename*" }.flatMap { Self.extendedValue($0.1) }
                ?? disposition.first { $0.0.lowercased() == "filename" }?.1 ?? "file"
            let type = headers.first { $0.0.lowercased() == "content-type" }?.1
            return .file(try await PartWriter(path: staging.path(), staging: staging, fileName: fileName, fileType: type))
        case "preview":
            guard preview == nil else { throw ProtocolError(.invalidField, "an upload holds one preview") }
            return .preview(try await PartWriter(path: staging.path(), staging: staging, fileName: "", fileType: nil))
        default:
            return .other
        }
    }

    /// RFC 5987's `UTF-8''percent-encoded`.
    static func extendedValue(_ value: String) -> String? {
        let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].lowercased() == "utf-8" else { return nil }
        return parts[2].removingPercentEncoding
    }

    /// The parts, once the body has ended: the file is required and whole.
    func finish() async throws -> Parts {
        switch current {
        case .none where scanner.isComplete: break
        default: throw ProtocolError(.invalidField, "the upload ended before its last part did")
        }
        guard let (upload, name, type) = file else {
            throw ProtocolError(.missingField, "missing the part named 'file' (multipart/form-data)")
        }
        return Parts(file: upload, fileName: name, fileType: type, preview: preview)
    }
}

/// A file staged in full: where, its SHA-256, its length and its first bytes (to tell its
/// type).
struct StagedUpload: Sendable {
    let path: String
    let hash: String
    let size: Int64
    let head: [UInt8]
}

/// Writes one part's bytes to a staged file, hashing them.
final class PartWriter {
    let path: String
    let fileName: String
    let fileType: String?
    private let handle: WriteFileHandle
    private var hasher = SHA256()
    private(set) var size: Int64 = 0
    private var head: [UInt8] = []

    init(path: String, staging: StagingArea, fileName: String, fileType: String?) async throws {
        self.path = path
        self.fileName = fileName
        self.fileType = fileType
        handle = try await FileSystem.shared.openFile(forWritingAt: FilePath(path), options: .newFile(replaceExisting: true))
        staging.opened(handle)
    }

    func write(_ buffer: ByteBuffer) async throws {
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        if head.count < 16 { head += buffer.readableBytesView.prefix(16 - head.count) }
        try await handle.write(contentsOf: buffer.readableBytesView, toAbsoluteOffset: size)
        size += Int64(buffer.readableBytes)
    }

    func close() async throws -> StagedUpload {
        try await handle.close()
        return StagedUpload(path: path, hash: hasher.finalize().hex, size: size, head: head)
    }
}

/// One request's staged files: each gets a new random name in the staging folder; all are
/// closed and removed when the request ends (those kept were moved away already).
final class StagingArea: Sendable {
    let directory: String
    private let state = Mutex<(paths: [String], handles: [WriteFileHandle])>(([], []))

    init(directory: String) {
        self.directory = directory
    }

    func path() -> String {
        let name = directory + "/" + (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 36) }.joined()
        state.withLock { $0.paths.append(name) }
        return name
    }

    func opened(_ handle: WriteFileHandle) {
        state.withLock { $0.handles.append(handle) }
    }

    func removeAll() async {
        let (paths, handles) = state.withLock { s in
            defer { s = ([], []) }
            return (s.paths, s.handles)
        }
        for handle in handles { try? await handle.close() }
        for path in paths { _ = try? await FileSystem.shared.removeItem(at: FilePath(path)) }
    }
}
