import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import SalonCore
import SalonProtocol
import SalonStore
import ServiceLifecycle
import Synchronization

/// A whole Salon server: the store, the domain core, the HTTP/WebSocket server and the TCP
/// listener, run as one `ServiceGroup` that stops cleanly on SIGINT/SIGTERM: the listeners
/// close first, then the core stores what is queued and closes the database.
public final class SalonServer: Sendable {
    public let configuration: ServerConfiguration
    public let router: SalonCore.Router
    private let group: ServiceGroup
    private let ports: ListeningPorts
    private let logger: Logger

    /// Opens the database and builds the services; `run()` starts them.
    public static func make(configuration: ServerConfiguration, logger: Logger) async throws -> SalonServer {
        let store = try await openStore(configuration, logger: logger)
        let router = try await SalonCore.Router.start(store: store, configuration: configuration.chat, logger: logger)
        return SalonServer(configuration: configuration, router: router, logger: logger)
    }

    private init(configuration: ServerConfiguration, router: SalonCore.Router, logger: Logger) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        let ports = ListeningPorts(tcpEnabled: configuration.tcpPort != nil)
        self.ports = ports

        let endpoint = WebSocketEndpoint(router: router, frameLimit: configuration.frameLimit, outboundQueueLimit: configuration.outboundQueueLimit)
        let app = Application(
            router: HTTPRoutes.make(),
            server: .http1WebSocketUpgrade(
                configuration: .init(
                    http1: .init(idleTimeout: .seconds(120)),
                    ws: WebSocketServerConfiguration(
                        // Above the frame limit, so that an oversized message reaches the
                        // endpoint, which answers `frame_too_large` before closing.
                        maxFrameSize: configuration.frameLimit * 4,
                        autoPing: .enabled(timePeriod: .seconds(30)),
                        validateUTF8: false
                    )
                )
            ) { request, channel, logger in
                guard request.path?.split(separator: "?", maxSplits: 1).first == "/ws" else { return .dontUpgrade }
                return .upgrade([:]) { inbound, outbound, context in
                    await endpoint.serve(inbound: inbound, outbound: outbound, channel: channel, logger: context.logger)
                }
            },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Salon"),
            onServerRunning: { channel in ports.set(http: channel.localAddress?.port ?? 0) },
            logger: logger
        )
        var services: [any Service] = [router, app]
        if let tcpPort = configuration.tcpPort {
            services.append(TCPListener(
                router: router, host: configuration.host, port: tcpPort, frameLimit: configuration.frameLimit,
                outboundQueueLimit: configuration.outboundQueueLimit, logger: logger
            ) { port in ports.set(tcp: port) })
        }
        self.group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
    }

    /// Runs until a signal or `shutdown()`, then stops cleanly.
    public func run() async throws {
        async let announced: Void = announce()
        try await group.run()
        await announced
    }

    /// The ports actually bound (useful with port 0): waits until both listeners are up.
    public func listening() async -> (http: Int, tcp: Int?) {
        await ports.wait()
    }

    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    private func announce() async {
        let (http, tcp) = await ports.wait()
        guard http > 0 else { return }
        let host = configuration.host
        var text = "Salon listening on http://\(host):\(http) (WebSocket ws://\(host):\(http)/ws)"
        if let tcp { text += ", TCP frames on \(host):\(tcp)" }
        logger.notice("\(text)", metadata: ["http_port": "\(http)", "tcp_port": "\(tcp.map(String.init) ?? "off")"])
    }

    static func openStore(_ configuration: ServerConfiguration, logger: Logger) async throws -> any ChatStore {
        let path: String
        if let url = configuration.databaseURL {
            if url.hasPrefix("sqlite://") {
                path = String(url.dropFirst("sqlite://".count))
            } else if url.hasPrefix("sqlite:") {
                path = String(url.dropFirst("sqlite:".count))
            } else if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
                throw ServerError("PostgreSQL is not supported by this version yet: use SQLite (the default)")
            } else {
                throw ServerError("unknown database URL '\(url)': expected sqlite:PATH")
            }
        } else {
            try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
            path = configuration.dataDirectory + "/salon.sqlite"
        }
        logger.info("opening database \(path)")
        return try await SQLiteChatStore.open(path: path, logger: logger)
    }
}

/// A configuration or start-up problem, told in one sentence.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The ports the listeners bound, for whoever waits for them.
final class ListeningPorts: Sendable {
    private struct State {
        var http: Int?
        var tcp: Int?
        var tcpEnabled: Bool
        var waiters: [CheckedContinuation<(http: Int, tcp: Int?), Never>] = []
        var ready: (http: Int, tcp: Int?)? {
            guard let http else { return nil }
            if tcpEnabled {
                guard let tcp else { return nil }
                return (http, tcp)
            }
            return (http, nil)
        }
    }

    private let state: Mutex<State>

    init(tcpEnabled: Bool) {
        state = Mutex(State(tcpEnabled: tcpEnabled))
    }

    func set(http: Int) { update { $0.http = http } }
    func set(tcp: Int) { update { $0.tcp = tcp } }

    private func update(_ change: (inout State) -> Void) {
        let (waiters, ready) = state.withLock { s -> ([CheckedContinuation<(http: Int, tcp: Int?), Never>], (http: Int, tcp: Int?)?) in
            change(&s)
            guard let ready = s.ready else { return ([], nil) }
            defer { s.waiters = [] }
            return (s.waiters, ready)
        }
        if let ready { waiters.forEach { $0.resume(returning: ready) } }
    }

    func wait() async -> (http: Int, tcp: Int?) {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> (http: Int, tcp: Int?)? in
                if let ready = s.ready { return ready }
                s.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
