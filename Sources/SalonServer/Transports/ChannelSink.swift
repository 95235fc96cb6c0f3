import Logging
import NIOCore
import NIOWebSocket
import SalonCore
import SalonProtocol

/// The core's `ConnectionSink` on a NIO channel, for both transports.
///
/// Writes happen on the channel's event loop, straight into the channel (no task, no async
/// writer in between), with the same `EncodedFrame` bytes for every recipient: TCP writes the
/// length-prefixed buffer, WebSocket a text frame over the JSON slice of it.
///
/// The outgoing queue is bounded: before each write the sink asks the channel how many bytes
/// are still waiting for the socket; past `maxQueuedBytes` the client is not reading fast
/// enough, and it is disconnected (with a logged reason) rather than buffered without end.
final class ChannelSink: ConnectionSink {
    enum Framing: Sendable {
        case lengthPrefixed
        case webSocket
    }

    let channel: any Channel
    let framing: Framing
    let maxQueuedBytes: Int
    let logger: Logger

    init(channel: any Channel, framing: Framing, maxQueuedBytes: Int, logger: Logger) {
        self.channel = channel
        self.framing = framing
        self.maxQueuedBytes = maxQueuedBytes
        self.logger = logger
    }

    func send(_ frame: EncodedFrame) {
        let loop = channel.eventLoop
        if loop.inEventLoop {
            write(frame)
        } else {
            loop.execute { self.write(frame) }
        }
    }

    func close(_ reason: CloseReason) {
        channel.eventLoop.execute {
            guard self.channel.isActive else { return }
            self.logger.debug("closing connection: \(reason)")
            self.channel.close(promise: nil)
        }
    }

    /// On the event loop.
    private func write(_ frame: EncodedFrame) {
        guard channel.isActive else { return }
        let queued = (try? channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        if queued + frame.size > maxQueuedBytes {
            logger.warning("disconnecting a client that stopped reading", metadata: [
                "reason": "\(CloseReason.slowConsumer(queuedBytes: queued))",
                "remote": "\(channel.remoteAddress?.description ?? "?")",
            ])
            channel.close(promise: nil)
            return
        }
        switch framing {
        case .lengthPrefixed:
            channel.writeAndFlush(frame.framed, promise: nil)
        case .webSocket:
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: frame.json), promise: nil)
        }
    }
}
