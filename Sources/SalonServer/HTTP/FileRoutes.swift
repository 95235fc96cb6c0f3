import _NIOFileSystem
import Crypto
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import SalonCore
import SalonMedia
import SalonProtocol

/// `POST /api/files`, `GET|HEAD /api/files/{id}` and `…/{id}/preview` (PROTOCOL.md §10), and
/// the cookie that lets the web page show images and links without a token in any URL.
///
/// An upload is streamed: each chunk of the body goes through the multipart parser
/// (`UploadReceiver`) to a staged file while it is hashed, so that memory holds one chunk
/// whatever the size. An image is then cleaned (`ImageCleaner`) into a second staged file:
/// what anyone downloads is that one. Who may read a file is the core's rule
/// (`Router.readableFile`); everything else answers `404 file_not_found`.
struct FileRoutes: Sendable {
    let router: SalonCore.Router
    let logger: Logger
    /// Served over HTTPS: the file cookie is marked `Secure`, never sent in clear.
    var secure = false

    /// A preview, made by the uploading browser: a small raster image of the same picture.
    static let previewBytes: Int64 = 512 * 1024
    static let previewSide = 640
    /// Room for the multipart framing and a preview around the file itself, in a declared
    /// length.
    static let envelopeBytes: Int64 = previewBytes + 64 * 1024
    static let cookieName = "salon_files"
    /// Files are never a page: no script, no plugin, no form, even opened on their own.
    static let fileCSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

    func add(to routes: Hummingbird.Router<SalonRequestContext>) {
        routes.post("/api/files") { request, _ in await upload(request) }
        routes.post("/api/files/cookie") { request, _ in await setCookie(request) }
        routes.delete("/api/files/cookie") { _, _ in clearCookie() }
        for preview in [false, true] {
            let path = preview ? "/api/files/{id}/preview" : "/api/files/{id}"
            routes.get(RouterPath(path)) { request, context in await download(request, id: context.parameters.get("id") ?? "", preview: preview) }
            routes.head(RouterPath(path)) { request, context in await download(request, id: context.parameters.get("id") ?? "", preview: preview) }
        }
    }

    // MARK: Who asks

    /// The bearer token's account; with `cookie`, the file cookie's when there is no header.
    func user(_ request: Request, cookie: Bool) async throws -> SessionUser {
        if let token = try Self.bearerToken(request) ?? (cookie ? Self.cookie(Self.cookieName, in: request.headers) : nil) {
            return try await router.authenticate(token: token)
        }
        throw ProtocolError(.authRequired, "log in first: send 'Authorization: Bearer TOKEN' (the token of login)")
    }

    /// The token of `Authorization: Bearer TOKEN`; nil without the header.
    static func bearerToken(_ request: Request) throws -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw ProtocolError(.authFailed, "the Authorization header is 'Bearer TOKEN'")
        }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    static func cookie(_ name: String, in headers: HTTPFields) -> String? {
        for field in headers[values: .cookie] {
            for pair in field.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == name {
                    return kv[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// `POST /api/files/cookie` with the bearer token: the same token as an `HttpOnly`
    /// cookie that only `/api/files` receives, for `<img>` and download links.
    func setCookie(_ request: Request) async -> Response {
        do {
            guard let token = try Self.bearerToken(request) else { throw ProtocolError(.authRequired, "send 'Authorization: Bearer TOKEN'") }
            _ = try await router.authenticate(token: token)
            var response = Response(status: .noContent)
            response.headers[.setCookie] = "\(Self.cookieName)=\(token); \(cookieAttributes); Max-Age=7776000"
            response.headers[.cacheControl] = "no-store"
            return response
        } catch {
            return answer(error)
        }
    }

    func clearCookie() -> Response {
        var response = Response(status: .noContent)
        response.headers[.setCookie] = "\(Self.cookieName)=; \(cookieAttributes); Max-Age=0"
        return response
    }

    private var cookieAttributes: String { "Path=/api/files; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "") }

    func answer(_ error: any Error) -> Response {
        if let error = error as? ProtocolError {
            // Refused before the body was read: the connection cannot be used again.
            return APIResponse.error(error, headers: error.code == .fileTooLarge ? [.connection: "close"] : [:])
        }
        logger.error("a file request failed", metadata: ["error": "\(String(reflecting: error))"])
        return APIResponse.error(ProtocolError(.internal, "the server could not do this; try again"))
    }

    // MARK: Upload

    func upload(_ request: Request) async -> Response {
        let staging = StagingArea(directory: router.uploadStagingDirectory)
        do {
            let user = try await user(request, cookie: false)
            guard !user.isGuest else { throw ProtocolError(.forbidden, "guests cannot upload files: register an account") }
            let limit = router.maxUploadBytes
            if let declared = request.headers[.contentLength].flatMap({ Int64($0) }), declared > limit + Self.envelopeBytes {
                throw ProtocolError(.fileTooLarge, "a file is at most \(Self.mebibytes(limit)) (this upload is \(Self.mebibytes(declared)))")
            }
            let boundary = try UploadReceiver.boundary(of: request.headers[.contentType])
            var receiver = UploadReceiver(boundary: boundary, staging: staging, fileLimit: limit, previewLimit: Self.previewBytes)
            for try await chunk in request.body {
                try await receiver.receive(chunk)
            }
            let parts = try await receiver.finish()
            let info = try await store(parts, by: user, staging: staging)
            await staging.removeAll()
            return APIResponse.json(info, status: .created)
        } catch {
            await staging.removeAll()
            return answer(error)
        }
    }

    static func mebibytes(_ bytes: Int64) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }

    /// Cleans an image (its true type from its bytes, never from what the upload said),
    /// checks its preview, keeps the contents and records the file.
    private func store(_ parts: UploadReceiver.Parts, by user: SessionUser, staging: StagingArea) async throws -> SalonProtocol.FileInfo {
        let file = parts.file
        var upload = Upload(hash: file.hash, name: parts.fileName, size: file.size, type: FileID.cleanType(parts.fileType))
        var content = file.path
        if let kind = ImageKind.sniff(file.head) {
            let cleaned = staging.path()
            let image: CleanedImage
            do {
                image = try await Self.clean(kind, from: file.path, to: cleaned)
            } catch let error as ImageError {
                throw ProtocolError(.invalidField, "the file starts as a \(kind.rawValue.uppercased()) image, but \(error)")
            }
            (upload.hash, upload.size) = try await Self.hash(of: cleaned)
            (upload.type, upload.width, upload.height) = (kind.mediaType, image.width, image.height)
            content = cleaned
            if let preview = parts.preview, preview.size > 0 {
                (upload.previewHash, upload.previewType) = try await keepPreview(preview, of: image, staging: staging)
            }
        } else if ImageKind.allCases.contains(where: { $0.mediaType == upload.type }) {
            upload.type = "application/octet-stream"  // it said it was an image; it is not one
        }
        try await router.keepContent(hash: upload.hash, from: content)
        return try await router.recordUpload(upload, by: user)
    }

    /// The browser's preview, checked: a raster image (cleaned too) of at most 640 pixels a
    /// side, of the image's proportions.
    private func keepPreview(_ preview: StagedUpload, of image: CleanedImage, staging: StagingArea) async throws -> (String, String) {
        guard let kind = ImageKind.sniff(preview.head) else {
            throw ProtocolError(.invalidField, "the preview is not a JPEG, PNG, GIF or WebP image")
        }
        let cleaned = staging.path()
        let small: CleanedImage
        do {
            small = try await Self.clean(kind, from: preview.path, to: cleaned)
        } catch let error as ImageError {
            throw ProtocolError(.invalidField, "the preview cannot be read: \(error)")
        }
        guard small.width <= Self.previewSide, small.height <= Self.previewSide else {
            throw ProtocolError(.invalidField, "a preview is at most \(Self.previewSide)×\(Self.previewSide) pixels (this one is \(small.width)×\(small.height))")
        }
        // Its height as the image's proportions give it, within rounding.
        let expected = Double(small.width) * Double(image.height) / Double(image.width)
        guard abs(Double(small.height) - expected) <= max(2, expected * 0.03) else {
            throw ProtocolError(.invalidField, "the preview (\(small.width)×\(small.height)) does not have the image's proportions (\(image.width)×\(image.height))")
        }
        let (hash, _) = try await Self.hash(of: cleaned)
        try await router.keepContent(hash: hash, from: cleaned)
        return (hash, kind.mediaType)
    }

    static func clean(_ kind: ImageKind, from source: String, to target: String) async throws -> CleanedImage {
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(source)) { input in
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(target), options: .newFile(replaceExisting: true)) { output in
                var chunks = input.readChunks(chunkLength: .kibibytes(64)).makeAsyncIterator()
                var stream = ByteStream { try await chunks.next() }
                let written = Counter()
                var sink = ByteSink { buffer in
                    try await output.write(contentsOf: buffer.readableBytesView, toAbsoluteOffset: written.value)
                    written.value += Int64(buffer.readableBytes)
                }
                let image = try await ImageCleaner.clean(kind, from: &stream, to: &sink)
                for patch in image.patches {
                    try await output.write(contentsOf: patch.bytes, toAbsoluteOffset: patch.offset)
                }
                return image
            }
        }
    }

    /// SHA-256 (hex) and length of a file.
    static func hash(of path: String) async throws -> (String, Int64) {
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
            var hasher = SHA256()
            var size: Int64 = 0
            for try await chunk in handle.readChunks(chunkLength: .kibibytes(256)) {
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                size += Int64(chunk.readableBytes)
            }
            return (hasher.finalize().hex, size)
        }
    }

    // MARK: Download

    func download(_ request: Request, id: String, preview: Bool) async -> Response {
        do {
            let user = try await user(request, cookie: true)
            let file = try await router.readableFile(id: id, for: user)
            let isImage = file.width != nil && ImageKind.allCases.contains { $0.mediaType == file.type }
            guard isImage || !preview else { throw ProtocolError(.fileNotFound, "this file has no preview") }
            let ownPreview = preview ? file.previewHash : nil
            let hash = ownPreview ?? file.hash
            let etag = "\"\(hash)\""
            var headers: HTTPFields = [
                .contentType: ownPreview != nil ? (file.previewType ?? file.type) : file.type,
                .eTag: etag,
                .cacheControl: "private, no-cache",
                .contentDisposition: Self.disposition(isImage ? "inline" : "attachment", name: file.name),
            ]
            if let csp = HTTPField.Name("Content-Security-Policy") { headers[csp] = Self.fileCSP }
            if let corp = HTTPField.Name("Cross-Origin-Resource-Policy") { headers[corp] = "same-origin" }
            if request.headers[.ifNoneMatch] == etag {
                return Response(status: .notModified, headers: headers)
            }
            if ownPreview == nil { headers[.contentLength] = String(file.size) }
            guard request.method != .head else { return Response(status: .ok, headers: headers) }
            let router = self.router
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await router.readContent(hash: hash) { try await writer.write($0) }
                try await writer.finish(nil)
            })
        } catch {
            return answer(error)
        }
    }

    /// `inline` or `attachment`, with the name as ASCII and as UTF-8 (RFC 6266).
    static func disposition(_ kind: String, name: String) -> String {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" && $0 != "%" ? Character($0) : "_" })
        let allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(0x7F)))
            .union(CharacterSet(charactersIn: "!#$&+-.^_`|~"))
        let encoded = name.addingPercentEncoding(withAllowedCharacters: allowed) ?? ascii
        return "\(kind); filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}

/// A count that a `@Sendable`-free closure can move on.
final class Counter {
    var value: Int64 = 0
}

extension SHA256.Digest {
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
