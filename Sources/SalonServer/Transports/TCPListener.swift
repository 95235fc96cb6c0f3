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
        let (frameLimit, queueLimit, router, logger, guards) = (self.frameLimit, self.outboundQueueLimit, self.router, self.logger, self.guards)
        try await SocketListener.serve(
            host: host, port: port, backlog: backlog, guards: guards, tls: tls,
            received: ServerMetrics.tcpBytesReceived, sent: ServerMetrics.tcpBytesSent, logger: logger, onBound: onBound
        ) { pipeline in
            // The decoder rejects an oversized frame from its header; the buffer bound is a
            // second fence in case of a bug; what it holds counts toward the server-wide bound
            // on unfinished frames.
            let decoder = MeteredDecoder(LengthPrefixedFrameDecoder(maxFrameLength: frameLimit), meter: guards.meter)
            try pipeline.addHandlers(
                ByteToMessageHandler(decoder, maximumBufferSize: 2 * (frameLimit + 4)),
                TCPConnectionHandler(router: router, frameLimit: frameLimit, outboundQueueLimit: queueLimit, loginTimeout: guards.loginTimeout, logger: logger)
            )
        }
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
