import Foundation
import Hummingbird
import HummingbirdCore

import Logging
import NIOCore
import NIOPosix
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
        MemoryTuning.apply()
        if let files = FileLimit.raiseToHardLimit() {
            logger.info("open-file limit: \(files)")
        }
        let store = try await openStore(configuration, logger: logger)
        let router = try await SalonCore.Router.start(store: store, configuration: configuration.chat, logger: logger)
        return SalonServer(configuration: configuration, router: router, logger: logger)
    }

    private init(configuration: ServerConfiguration, router: SalonCore.Router, logger: Logger) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        let tls = configuration.tls
        let ircTLSPort = tls == nil ? nil : configuration.ircTLSPort
        let ports = ListeningPorts(tcpEnabled: configuration.tcpPort != nil, ircEnabled: configuration.ircPort != nil, ircTLSEnabled: ircTLSPort != nil) { bound in
            let host = configuration.host
            let (web, socket) = tls == nil ? ("http", "ws") : ("https", "wss")
            var text = "Salon listening on \(web)://\(host):\(bound.http) (WebSocket \(socket)://\(host):\(bound.http)/ws)"
            if let tcp = bound.tcp { text += tls == nil ? ", TCP frames on \(host):\(tcp)" : ", TCP frames over TLS on tls://\(host):\(tcp)" }
            if let irc = bound.irc { text += ", IRC on \(host):\(irc)" }
            if let irc = bound.ircTLS { text += ", IRC over TLS on ircs://\(host):\(irc)" }
            logger.notice("\(text)", metadata: [
                "http_port": "\(bound.http)", "tcp_port": "\(bound.tcp.map(String.init) ?? "off")", "irc_port": "\(bound.irc.map(String.init) ?? "off")",
                "irc_tls_port": "\(bound.ircTLS.map(String.init) ?? "off")",
            ])
        }
        self.ports = ports

        let frameLimit = configuration.frameLimit
        let queueLimit = configuration.outboundQueueLimit
        let guards = TransportGuards(
            gate: ConnectionGate(maxPerAddress: configuration.maxConnectionsPerAddress, logger: logger),
            meter: InputMeter(limit: configuration.inputBufferLimit),
            loginTimeout: configuration.loginTimeout > 0 ? .seconds(Int64(configuration.loginTimeout)) : nil
        )
        let (idle, header, origins) = (configuration.httpIdleTimeout, configuration.headerTimeout, configuration.allowedOrigins)
        let app = Application(
            router: HTTPRoutes.make(core: router, logger: logger, nodeName: configuration.nodeName, metrics: configuration.metrics, secure: tls != nil),
            server: HTTPServerBuilder { responder in
                SalonHTTPChannel(
                    responder: responder, router: router, frameLimit: frameLimit, outboundQueueLimit: queueLimit,
                    idleTimeout: .seconds(idle), headerTimeout: .seconds(Int64(header)), guards: guards, allowedOrigins: origins, tls: tls, logger: logger
                )
            },
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "Salon", backlog: configuration.listenBacklog
            ),
            onServerRunning: { channel in ports.set(http: channel.localAddress?.port ?? 0) },
            logger: logger
        )
        var services: [any Service] = [router, app]
        if let tcpPort = configuration.tcpPort {
            services.append(TCPListener(
                router: router, host: configuration.host, port: tcpPort, backlog: configuration.listenBacklog, frameLimit: configuration.frameLimit,
                outboundQueueLimit: configuration.outboundQueueLimit, guards: guards, tls: tls, logger: logger
            ) { port in ports.set(tcp: port) })
        }
        // Plain IRC on its port, IRC over TLS on its own (both may run).
        for (port, secure) in [(configuration.ircPort, false), (ircTLSPort, true)] {
            guard let port else { continue }
            services.append(IRCListener(
                router: router, host: configuration.host, port: port, backlog: configuration.listenBacklog,
                outboundQueueLimit: configuration.outboundQueueLimit, serverName: configuration.ircServerName,
                pingInterval: .seconds(Int64(configuration.ircPingInterval)), guards: guards, tls: secure ? tls : nil, logger: logger
            ) { bound in secure ? ports.set(ircTLS: bound) : ports.set(irc: bound) })
        }
        if let tls { services.append(TLSReloader(tls: tls, logger: logger)) }
        if configuration.metrics != nil { services.append(LoopLagMonitor(group: MultiThreadedEventLoopGroup.singleton)) }
        self.group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
    }

    /// Runs until a signal or `shutdown()`, then stops cleanly. Throws when a listener
    /// cannot start (a port in use, say).
    public func run() async throws {
        do {
            try await group.run()
        } catch {
            ports.fail()
            throw error
        }
        ports.fail()
    }

    /// The ports actually bound (useful with port 0): waits until both listeners are up, or
    /// throws if the server stopped before they were.
    public func listening() async throws -> ListeningAddresses {
        guard let ports = await ports.wait() else { throw ServerError("the server stopped before it was listening") }
        return ports
    }

    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// The store `--db` names: `sqlite:PATH` (the default: `salon.sqlite` in the data folder)
    /// or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
    public static func openStore(_ configuration: ServerConfiguration, logger: Logger) async throws -> any ChatStore {
        let path: String
        if let url = configuration.databaseURL {
            if url.hasPrefix("sqlite://") {
                path = String(url.dropFirst("sqlite://".count))
            } else if url.hasPrefix("sqlite:") {
                path = String(url.dropFirst("sqlite:".count))
            } else if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
                logger.info("opening database \(PostgresChatStore.redacted(url))")
                do {
                    return try await PostgresChatStore.open(url: url, logger: logger)
                } catch let error as StoreError {
                    throw ServerError(error.description)
                }
            } else {
                throw ServerError("unknown database URL '\(PostgresChatStore.redacted(url))': expected sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE")
            }
            guard !path.isEmpty else { throw ServerError("the database URL 'sqlite:' names no file") }
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
public struct ListeningAddresses: Sendable, Equatable {
    public var http: Int
    public var tcp: Int?
    public var irc: Int?
    public var ircTLS: Int?
}

final class ListeningPorts: Sendable {
    typealias Ports = ListeningAddresses

    private struct State {
        var http: Int?
        var tcp: Int?
        var irc: Int?
        var ircTLS: Int?
        var tcpEnabled: Bool
        var ircEnabled: Bool
        var ircTLSEnabled: Bool
        var outcome: Ports??
        var waiters: [CheckedContinuation<Ports?, Never>] = []
    }

    private let state: Mutex<State>
    private let onReady: @Sendable (Ports) -> Void

    init(tcpEnabled: Bool, ircEnabled: Bool, ircTLSEnabled: Bool, onReady: @escaping @Sendable (Ports) -> Void) {
        state = Mutex(State(tcpEnabled: tcpEnabled, ircEnabled: ircEnabled, ircTLSEnabled: ircTLSEnabled))
        self.onReady = onReady
    }

    func set(http: Int) { settle { $0.http = http } }
    func set(tcp: Int) { settle { $0.tcp = tcp } }
    func set(irc: Int) { settle { $0.irc = irc } }
    func set(ircTLS: Int) { settle { $0.ircTLS = ircTLS } }
    /// The server stopped: whoever still waits learns it will not listen.
    func fail() { settle { s in if s.outcome == nil { s.outcome = .some(nil) } } }

    private func settle(_ change: (inout State) -> Void) {
        let (waiters, outcome, becameReady) = state.withLock { s -> ([CheckedContinuation<Ports?, Never>], Ports?, Bool) in
            let before = s.outcome
            change(&s)
            if s.outcome == nil, let http = s.http, !s.tcpEnabled || s.tcp != nil, !s.ircEnabled || s.irc != nil, !s.ircTLSEnabled || s.ircTLS != nil {
                s.outcome = .some(ListeningAddresses(http: http, tcp: s.tcp, irc: s.irc, ircTLS: s.ircTLS))
            }
            guard let outcome = s.outcome else { return ([], nil, false) }
            defer { s.waiters = [] }
            return (s.waiters, outcome, before == nil && outcome != nil)
        }
        if becameReady, let ready = outcome { onReady(ready) }
        waiters.forEach { $0.resume(returning: outcome) }
    }

    func wait() async -> Ports? {
        await withCheckedContinuation { continuation in
            let outcome = state.withLock { s -> Ports?? in
                if let outcome = s.outcome { return outcome }
                s.waiters.append(continuation)
                return nil
            }
            if let outcome { continuation.resume(returning: outcome) }
        }
    }
}
