import Foundation
import Hummingbird
import HTTPTypes
import Logging
import Prometheus
import SalonCore

/// The plain HTTP side: the web client's files at `/`, a health check, files (`FileRoutes`),
/// and the headers that keep the page safe.
enum HTTPRoutes {
    /// `/healthz` answers `ok` and the node's name (`ok node=NAME`), so that a proxy or a
    /// person can tell which node answered.
    ///
    /// With `metrics`, `GET /metrics` renders them in Prometheus's text format, and every
    /// request is counted by route and status (Hummingbird's `MetricsMiddleware`).
    static func make(core: SalonCore.Router, logger: Logger, nodeName: String, metrics: PrometheusCollectorRegistry? = nil, secure: Bool = false)
        -> Hummingbird.Router<SalonRequestContext> {
        let router = Hummingbird.Router(context: SalonRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        if let metrics {
            router.add(middleware: MetricsMiddleware())
            router.get("/metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                         body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
            }
        }
        let files = WebClientFiles.load(logger: logger)
        router.add(middleware: WebClientMiddleware(files: files))
        router.add(middleware: APIMethodMiddleware())
        let health = "ok node=\(nodeName)\n"
        router.get("/healthz") { _, _ in health }
        FileRoutes(router: core, logger: logger, secure: secure).add(to: router)
        APIRoutes(router: core, document: files.files["openapi.yaml"]).add(to: router)
        return router
    }
}

/// The headers every response carries, error responses included: a Content-Security-Policy
/// that allows scripts, styles and connections from this origin only and no inline script,
/// `nosniff`, and no referrer.
enum SecurityHeaders {
    static let policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// A response that set its own policy (a file's, stricter) keeps it.
    static func apply(to fields: inout HTTPFields) {
        if let csp = HTTPField.Name("Content-Security-Policy"), fields[csp] == nil { fields[csp] = policy }
        if let nosniff = HTTPField.Name("X-Content-Type-Options") { fields[nosniff] = "nosniff" }
        if let referrer = HTTPField.Name("Referrer-Policy") { fields[referrer] = "no-referrer" }
    }
}

/// Adds `SecurityHeaders` to every response the router makes, also when a handler or the
/// router throws (404, 405, 400): the error is turned into its response here, then marked.
/// A path holding a NUL or another control character (`/index.html%00.js`) is refused with
/// 400 before anything looks at it.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        if request.uri.path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            response = Response(status: .badRequest, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "bad request: a path cannot hold control characters\n")))
        } else {
            do {
                response = try await next(request, context)
            } catch let error as any HTTPResponseError {
                response = try error.response(from: request, context: context)
            } catch {
                response = Response(status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "internal error\n")))
            }
        }
        SecurityHeaders.apply(to: &response.headers)
        return response
    }
}

/// The web client's files, embedded in the binary at build time (`EmbeddedWebFiles`), decoded
/// once at start.
struct WebClientFiles: Sendable {
    struct File: Sendable {
        let bytes: ByteBuffer
        let contentType: String
        let etag: String
    }

    let files: [String: File]

    static func load(logger: Logger) -> WebClientFiles {
        var files: [String: File] = [:]
        for (name, base64) in EmbeddedWebFiles.files {
            guard let data = Data(base64Encoded: base64) else {
                logger.error("the embedded web file \(name) could not be decoded")
                continue
            }
            var hasher = Hasher()  // not stable across runs: fine for an ETag of one process
            hasher.combine(data)
            let etag = "\"\(String(UInt64(bitPattern: Int64(hasher.finalize())), radix: 16))-\(data.count)\""
            files[name] = File(bytes: ByteBuffer(bytes: data), contentType: contentType(of: name), etag: etag)
        }
        return WebClientFiles(files: files)
    }

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last.map(String.init) ?? "" {
        case "html": return "text/html; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "webmanifest": return "application/manifest+json"
        case "yaml": return "application/yaml; charset=utf-8"
        default: return "application/octet-stream"
        }
    }
}

/// Serves the embedded web client for `GET` and `HEAD`: `/` is `index.html`, every other
/// file by its exact name. `no-cache` with an ETag: the browser revalidates each file, so it
/// never runs stale code, and gets 304 when nothing changed. No range requests (a full 200 is
/// a valid answer to `Range`), so Hummingbird 2.28's file middleware bug with
/// `Range: bytes=99999999-` (a negative Content-Length) cannot happen here.
struct WebClientMiddleware<Context: RequestContext>: RouterMiddleware {
    let files: WebClientFiles

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else { return try await next(request, context) }
        let path = request.uri.path
        let name = path == "/" ? "index.html" : String(path.dropFirst())
        guard path.hasPrefix("/"), !name.contains("/"), let file = files.files[name] else { return try await next(request, context) }
        var headers: HTTPFields = [.contentType: file.contentType, .cacheControl: "no-cache", .eTag: file.etag]
        if request.headers[.ifNoneMatch] == file.etag {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(file.bytes.readableBytes)
        return Response(status: .ok, headers: headers, body: request.method == .head ? .init() : .init(byteBuffer: file.bytes))
    }
}
