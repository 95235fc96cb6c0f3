import Logging
import NIOCore
import NIOPosix
import SalonCore
import SalonProtocol
import ServiceLifecycle

/// The TCP transport: 4-byte length-prefixed JSON frames (PROTOCOL.md §1), a thin adapter
/// that reads frames and hands them to the core one at a time.
final class TCPListener: Service {
    let router: SalonCore.Router
    let host: String
    let port: Int
    let backlog: Int
    let frameLimit: Int
    let outboundQueueLimit: Int
    let logger: Logger
    let onBound: @Sendable (Int) -> Void

    init(router: SalonCore.Router, host: String, port: Int, backlog: Int, frameLimit: Int, outboundQueueLimit: Int, logger: Logger, onBound: @escaping @Sendable (Int) -> Void) {
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
        let frameLimit = self.frameLimit
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: Int32(clamping: backlog))
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    // The decoder rejects an oversized frame from its header; the buffer bound
                    // is a second fence in case of a bug.
                    try child.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LengthPrefixedFrameDecoder(maxFrameLength: frameLimit), maximumBufferSize: 2 * (frameLimit + 4))
                    )
                    return try NIOAsyncChannel<InboundFrame, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        onBound(server.channel.localAddress?.port ?? port)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            group.addTask { await self.serve(connection) }
                        }
                    }
                } catch {
                    self.logger.error("TCP listener failed", metadata: ["error": "\(error)"])
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<InboundFrame, ByteBuffer>) async {
        let sink = ChannelSink(channel: connection.channel, framing: .lengthPrefixed, maxQueuedBytes: outboundQueueLimit, logger: logger)
        let session = router.open(sink)
        defer { router.close(session) }
        do {
            try await withGracefulShutdownHandler {
                try await connection.executeThenClose { inbound, _ in
                    for try await frame in inbound {
                        switch frame {
                        case .payload(let bytes):
                            if case .close(let reason) = await router.handle(bytes, from: session) {
                                sink.close(reason)
                                return
                            }
                        case .tooLarge(let length):
                            router.reject(session, ProtocolError(.frameTooLarge, "a frame of \(length) bytes is over the limit of \(frameLimit)"))
                            sink.close(.frameTooLarge)
                            return
                        }
                    }
                }
            } onGracefulShutdown: {
                sink.close(.shutdown)
            }
        } catch {
            logger.debug("TCP connection ended", metadata: ["error": "\(error)"])
        }
    }
}
