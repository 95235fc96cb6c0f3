import Hummingbird

/// The plain HTTP side. The web client, the HTTP API and metrics come in later issues; for
/// now a health check and a page that says where to connect.
enum HTTPRoutes {
    static func make() -> Hummingbird.Router<BasicRequestContext> {
        let router = Hummingbird.Router()
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/") { _, _ in
            "Salon is running. Connect a client to the WebSocket at /ws (see the README).\n"
        }
        return router
    }
}
