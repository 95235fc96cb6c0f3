import CoreMetrics
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// What the TCP-frames and IRC listeners share: the bootstrap, the guards every connection
/// passes (connections per address, the bytes counted, TLS with its handshake deadline), and
/// the graceful end; each listener adds its own decoder and connection handler.
enum SocketListener {
    /// Serves until the server stops: then no new connections, and each open one is told to
    /// close (`ChannelShouldQuiesceEvent`: it flushes what is queued) before this returns.
    static func serve(
        host: String, port: Int, backlog: Int, guards: TransportGuards, tls: ServerTLS?,
        received: CoreMetrics.Counter, sent: CoreMetrics.Counter, logger: Logger, onBound: @Sendable (Int) -> Void,
        addHandlers: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) async throws {
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
            .childChannelOption(.recvAllocator, value: TransportGuards.receiveAllocator)
            .childChannelInitializer { child in
                guard guards.gate.admit(child) else { return child.close() }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ByteCounter(received: received, sent: sent))
                    // The handshake within the login timeout (10 s when there is none).
                    if let tls {
                        let deadline = TLSHandshakeDeadline(timeout: guards.loginTimeout ?? .seconds(10))
                        try child.pipeline.syncOperations.addHandlers(NIOSSLServerHandler(context: tls.current), deadline)
                    }
                    try addHandlers(child.pipeline.syncOperations)
                }
            }
            .bind(host: host, port: port).get()
        onBound(server.localAddress?.port ?? port)
        try? await gracefulShutdown()
        let closed = server.eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: closed)
        try await closed.futureResult.get()
    }
}
