import _NIOFileSystem
import AsyncHTTPClient
import Foundation
import NIOCore
import SalonProtocol

/// Uploads and downloads over the server's HTTP API (PROTOCOL.md §10), with the session's
/// token in the `Authorization` header. Both stream: a file is read from disk as it is sent,
/// and written to disk as it comes.
public struct FileTransfer: Sendable {
    /// `http://HOST:PORT` (or `https://`).
    public let base: String
    public let token: String
    /// The roots an `https://` server's certificate is checked against.
    public let tls: ClientTLS

    public init(base: String, token: String, tls: ClientTLS = ClientTLS()) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.token = token
        self.tls = tls
    }

    /// The HTTP address of a server named by its socket address: `ws://HOST:PORT/ws` is
    /// `http://HOST:PORT` (`wss` is `https`); a TCP address says nothing of the HTTP port, so
    /// `http` (SALON_HTTP) must be given, or the default port 8080 of the same host is used
    /// (over HTTPS for `tls://`).
    public static func base(for server: String, http: String? = nil) -> String {
        if let http, !http.isEmpty { return http }
        for (scheme, web) in [("ws://", "http://"), ("wss://", "https://")] where server.hasPrefix(scheme) {
            let rest = server.dropFirst(scheme.count)
            return web + (rest.split(separator: "/", maxSplits: 1).first.map(String.init) ?? "")
        }
        for (scheme, web) in [("tcp://", "http://"), ("tls://", "https://")] where server.hasPrefix(scheme) {
            let rest = server.dropFirst(scheme.count)
            let host = rest.lastIndex(of: ":").map { String(rest[..<$0]) } ?? String(rest)
            return "\(web)\(host):8080"
        }
        return server
    }

    /// A file's type from its name, for the upload (the server finds images' true type itself).
    static func mediaType(of name: String) -> String {
        let types = ["jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
                     "pdf": "application/pdf", "txt": "text/plain", "md": "text/markdown", "zip": "application/zip",
                     "json": "application/json", "csv": "text/csv", "mp3": "audio/mpeg", "mp4": "video/mp4"]
        return types[name.split(separator: ".").last.map { $0.lowercased() } ?? ""] ?? "application/octet-stream"
    }

    /// Uploads the file at `path`; `progress` is told the bytes sent so far.
    public func upload(path: String, progress: (@Sendable (Int64, Int64) -> Void)? = nil) async throws -> SalonProtocol.FileInfo {
        guard let size = try await FileSystem.shared.info(forFileAt: FilePath(path))?.size, size >= 0 else {
            throw SalonClientError.server(ErrorPayload(code: .fileNotFound, message: "no file at \(path)"))
        }
        let name = String(path.split(separator: "/").last ?? "file")
        let boundary = "salon-" + UUID().uuidString
        let quoted = name.replacingOccurrences(of: "\\", with: "_").replacingOccurrences(of: "\"", with: "%22")
            .replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
        let head = ByteBuffer(string: "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(quoted)\"\r\n"
            + "Content-Type: \(Self.mediaType(of: name))\r\n\r\n")
        let tail = ByteBuffer(string: "\r\n--\(boundary)--\r\n")
        var request = makeRequest(base + "/api/files")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
            let body = MultipartBody(head: head, chunks: handle.readChunks(chunkLength: .kibibytes(256)), tail: tail, size: size, progress: progress)
            request.body = .stream(body, length: .known(Int64(head.readableBytes) + size + Int64(tail.readableBytes)))
            let response = try await execute(request)
            let answer = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .created else { throw Self.error(from: answer, status: Int(response.status.code)) }
            return try JSONDecoder().decode(SalonProtocol.FileInfo.self, from: Data(answer.readableBytesView))
        }
    }

    /// Downloads a file (its id, or its `/api/files/…` URL), giving its bytes to `body` as
    /// they come; returns the name it was shared under.
    @discardableResult
    public func download(_ file: String, into body: (ByteBuffer) async throws -> Void) async throws -> String {
        let id = file.hasPrefix("/api/files/") ? String(file.dropFirst("/api/files/".count)) : file
        guard !id.isEmpty, id.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "/") }) else {
            throw SalonClientError.server(ErrorPayload(code: .fileNotFound, message: "'\(file)' is not a file id"))
        }
        var request = makeRequest(base + "/api/files/" + id)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await execute(request)
        guard response.status == .ok else {
            throw Self.error(from: try await response.body.collect(upTo: 1 << 20), status: Int(response.status.code))
        }
        for try await chunk in response.body { try await body(chunk) }
        return Self.fileName(fromDisposition: response.headers.first(name: "Content-Disposition")) ?? id
    }

    /// Sends a request through `fileClient`; a connection refused by TLS says why.
    private func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        do {
            return try await Self.fileClient.execute(request, timeout: .seconds(600))
        } catch {
            let host = URL(string: request.url)?.host ?? request.url
            let why = ClientTLS.explain(error, host: host)
            throw why == String(describing: error) ? error : SalonClientError.tls(why)
        }
    }

    /// The process's one HTTP client for files. AsyncHTTPClient's shared client retries a
    /// connection that fails until the request's deadline (ten minutes here, for big files),
    /// so an untrusted certificate or a closed port would hang; this one fails on the first
    /// refusal. Never shut down: it lives as long as the process, as the shared one does.
    private static let fileClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    private func makeRequest(_ url: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.tlsConfiguration = tls.configuration
        return request
    }

    /// Downloads a file to `path`; returns its length and the name it was shared under.
    public func download(_ file: String, to path: String) async throws -> (size: Int64, name: String) {
        try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: .newFile(replaceExisting: true)) { handle in
            var written: Int64 = 0
            let name = try await download(file) { chunk in
                try await handle.write(contentsOf: chunk.readableBytesView, toAbsoluteOffset: written)
                written += Int64(chunk.readableBytes)
            }
            return (written, name)
        }
    }

    /// The name of `Content-Disposition` (RFC 6266: `filename*` first), as a bare name: no
    /// folders, never `.` or `..`.
    static func fileName(fromDisposition header: String?) -> String? {
        guard let header else { return nil }
        var plain: String?
        var extended: String?
        for part in header.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if part.lowercased().hasPrefix("filename*="), let value = part.split(separator: "'", maxSplits: 2).last {
                extended = String(value).removingPercentEncoding
            } else if part.lowercased().hasPrefix("filename=") {
                plain = String(part.dropFirst("filename=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        guard let name = (extended ?? plain)?.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init),
              name != ".", name != "..", !name.isEmpty else { return nil }
        return name
    }

    /// The API's `{"error": {"code", "message"}}`, or what the status says.
    static func error(from body: ByteBuffer, status: Int) -> SalonClientError {
        struct Answer: Decodable { let error: ErrorPayload }
        if let answer = try? JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView)) { return .server(answer.error) }
        return .server(ErrorPayload(code: .internal, message: "the server answered HTTP \(status)"))
    }
}

/// The body of an upload: the part's head, the file's chunks, the closing boundary.
struct MultipartBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let head: ByteBuffer
    let chunks: FileChunks
    let tail: ByteBuffer
    let size: Int64
    let progress: (@Sendable (Int64, Int64) -> Void)?

    struct AsyncIterator: AsyncIteratorProtocol {
        var stage = 0
        let body: MultipartBody
        var file: FileChunks.AsyncIterator
        var sent: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            switch stage {
            case 0:
                stage = 1
                return body.head
            case 1:
                if let chunk = try await file.next() {
                    sent += Int64(chunk.readableBytes)
                    body.progress?(sent, body.size)
                    return chunk
                }
                stage = 2
                return body.tail
            default:
                return nil
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self, file: chunks.makeAsyncIterator())
    }
}
