import Foundation
import Hummingbird
import HTTPTypes
import Logging

/// The plain HTTP side: the web client's files at `/`, a health check, and the headers that
/// keep the page safe. The HTTP API and metrics come in later issues.
enum HTTPRoutes {
    static func make(logger: Logger) -> Hummingbird.Router<BasicRequestContext> {
        let router = Hummingbird.Router()
        router.add(middleware: SecurityHeadersMiddleware())
        if let web = webRoot {
            // `no-cache`: the browser revalidates every file (ETag), so it never runs stale code.
            router.add(middleware: FileMiddleware(
                web, cacheControl: .init([(MediaType(type: .any), [.noCache])]), searchForIndexHtml: true, logger: logger
            ))
        } else {
            logger.warning("the web client's files were not found next to the executable; / will not serve it")
        }
        router.get("/healthz") { _, _ in "ok\n" }
        return router
    }

    /// Where the web client's files are: the `Web` resource folder built beside the binary.
    static var webRoot: String? {
        let path = Bundle.module.bundleURL.appendingPathComponent("Web").path
        return FileManager.default.fileExists(atPath: path + "/index.html") ? path : nil
    }
}

/// Adds the headers every response carries: a Content-Security-Policy that allows scripts,
/// styles and connections from this origin only and no inline script, and `nosniff`.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var policy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let csp = HTTPField.Name("Content-Security-Policy") { response.headers[csp] = Self.policy }
        if let nosniff = HTTPField.Name("X-Content-Type-Options") { response.headers[nosniff] = "nosniff" }
        if let referrer = HTTPField.Name("Referrer-Policy") { response.headers[referrer] = "no-referrer" }
        return response
    }
}
