import Logging
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import SalonCore
import SalonProtocol
import ServiceLifecycle

/// The TCP transport: 4-byte length-prefixed JSON frames (PROTOCOL.md §1), a thin adapter:
/// a NIO pipeline per connection (`LengthPrefixedFrameDecoder`, `TCPConnectionHandler`) that
/// hands each frame to the core through the connection's `RequestPump`.
final class TCPListener: Service {
    let router: SalonCore.Router
    let host: String
    let port: Int
    let backlog: Int
    let frameLimit: Int
    let outboundQueueLimit: Int
    let guards: TransportGuards
    /// TLS when set: the frames travel inside it, unchanged.
    let tls: ServerTLS?
    let logger: Logger
    let onBound: @Sendable (Int) -> Void

    init(
        router: SalonCore.Router, host: String, port: Int, backlog: Int, frameLimit: Int, outboundQueueLimit: Int, guards: TransportGuards,
        tls: ServerTLS?, logger: Logger, onBound: @escaping @Sendable (Int) -> Void
    ) {
        self.guards = guards
        self.tls = tls
        self.router = router
        self.host = host
        self.port = port
        self.backlog = backlog
        self.frameLimit = frameLimit
        self.outboundQueueLimit = outboundQueueLimit
        self.logger = logger
        self.onBound = onBound
    }

    func run() async throws {
        let (frameLimit, queueLimit, router, logger, guards, tls) = (self.frameLimit, self.outboundQueueLimit, self.router, self.logger, self.guards, self.tls)
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: Int32(clamping: backlog))
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                    try channel.pipeline.syncOperations.addHandler(AcceptPause(logger: logger))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                guard guards.gate.admit(child) else { return child.close() }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ByteCounter(received: ServerMetrics.tcpBytesReceived, sent: ServerMetrics.tcpBytesSent))
                    // The handshake within the login timeout (10 s when there is none).
                    if let tls {
                        let deadline = TLSHandshakeDeadline(timeout: guards.loginTimeout ?? .seconds(10))
                        try child.pipeline.syncOperations.addHandlers(NIOSSLServerHandler(context: tls.current), deadline)
                    }
                    // The decoder rejects an oversized frame from its header; the buffer bound
                    // is a second fence in case of a bug; what it holds counts toward the
                    // server-wide bound on unfinished frames.
                    let decoder = MeteredDecoder(LengthPrefixedFrameDecoder(maxFrameLength: frameLimit), meter: guards.meter)
                    try child.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(decoder, maximumBufferSize: 2 * (frameLimit + 4)),
                        TCPConnectionHandler(router: router, frameLimit: frameLimit, outboundQueueLimit: queueLimit, loginTimeout: guards.loginTimeout, logger: logger)
                    )
                }
            }
            .bind(host: host, port: port).get()
        onBound(server.localAddress?.port ?? port)
        // Until the server stops: then no new connections, and each open one is told to close
        // (`ChannelShouldQuiesceEvent`: it flushes what is queued) before this returns.
        try? await gracefulShutdown()
        let closed = server.eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: closed)
        try await closed.futureResult.get()
    }
}

/// On a listening channel: when `accept` fails for want of resources (out of file
/// descriptors, say), the listener stops accepting for a second and logs it once, then tries
/// again: the server goes on serving its connections, and new clients are accepted as soon as
/// descriptors are free. (Without the pause NIO would retry the still-readable listening
/// socket at once, tens of thousands of times a second.)
final class AcceptPause: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    static let pause = TimeAmount.seconds(1)

    let logger: Logger
    private var paused = false

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let io = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(io.errnoCode) else {
            return context.fireErrorCaught(error)
        }
        guard !paused else { return }
        paused = true
        logger.error("could not accept a connection (the server goes on, and tries again in a second)", metadata: ["error": "\(error)"])
        let channel = context.channel
        let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
        channel.setOption(.autoRead, value: false).whenComplete { _ in
            channel.eventLoop.scheduleTask(in: Self.pause) {
                bound.value.paused = false
                channel.setOption(.autoRead, value: true).whenComplete { _ in channel.read() }
            }
        }
    }
}
