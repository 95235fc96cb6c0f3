import Logging
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import SalonCore
import ServiceLifecycle

/// The IRC gateway's listener (PROTOCOL.md §9): lines in, `IRCConnectionHandler` per
/// connection, TLS first when the server has a certificate. The same guards as the other
/// ports: connections per address, the login timeout, the outgoing bound.
final class IRCListener: Service {
    let router: SalonCore.Router
    let host: String
    let port: Int
    let backlog: Int
    let outboundQueueLimit: Int
    let gateway: IRCGateway
    let guards: TransportGuards
    let tls: ServerTLS?
    let logger: Logger
    let onBound: @Sendable (Int) -> Void

    /// A line's longest: 512 bytes and 4,096 of client tags (IRCv3), with some slack.
    static let maxLine = 8_192

    init(
        router: SalonCore.Router, host: String, port: Int, backlog: Int, outboundQueueLimit: Int, serverName: String, pingInterval: TimeAmount,
        guards: TransportGuards,
        tls: ServerTLS?, logger: Logger, onBound: @escaping @Sendable (Int) -> Void
    ) {
        self.router = router
        self.host = host
        self.port = port
        self.backlog = backlog
        self.outboundQueueLimit = outboundQueueLimit
        self.gateway = IRCGateway(serverName: serverName, pingInterval: pingInterval)
        self.guards = guards
        self.tls = tls
        self.logger = logger
        self.onBound = onBound
    }

    func run() async throws {
        let (queueLimit, router, logger, guards, gateway) = (outboundQueueLimit, router, logger, guards, gateway)
        try await SocketListener.serve(
            host: host, port: port, backlog: backlog, guards: guards, tls: tls,
            received: ServerMetrics.ircBytesReceived, sent: ServerMetrics.ircBytesSent, logger: logger, onBound: onBound
        ) { pipeline in
            try pipeline.addHandlers(
                ByteToMessageHandler(IRCLineDecoder(maxLength: Self.maxLine), maximumBufferSize: 2 * Self.maxLine),
                IRCConnectionHandler(router: router, outboundQueueLimit: queueLimit, loginTimeout: guards.loginTimeout, gateway: gateway, logger: logger)
            )
        }
    }
}
