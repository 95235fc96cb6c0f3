import Logging
import NIOCore
import SalonCore
import SalonProtocol
import Synchronization

/// The core's `ConnectionSink` on a NIO channel, for both transports.
///
/// Writes happen on the channel's event loop, straight into the channel (no task, no async
/// writer in between), with the same `EncodedFrame` bytes for every recipient: TCP writes the
/// length-prefixed buffer, WebSocket the whole text frame built once with it.
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
    /// Whether a flush is already queued on the event loop: writes made meanwhile ride along,
    /// so a burst of pushes to one connection costs one `writev`, not one each.
    private let flushQueued: NIOLoopBoundBox<Bool>

    init(channel: any Channel, framing: Framing, maxQueuedBytes: Int, logger: Logger) {
        self.channel = channel
        self.framing = framing
        self.maxQueuedBytes = maxQueuedBytes
        self.logger = logger
        self.flushQueued = .makeBoxSendingValue(false, eventLoop: channel.eventLoop)
        self.lane = EventLoopLane.of(channel.eventLoop)
    }

    let lane: (any DeliveryLane)?

    func send(_ frame: EncodedFrame) {
        let loop = channel.eventLoop
        if loop.inEventLoop {
            write(frame)
        } else {
            loop.execute { self.write(frame) }
        }
    }

    /// Closes after what is already queued: queued behind earlier writes on the loop, and
    /// flushing them first (writes are flushed lazily, see `write`). A WebSocket gets a close
    /// frame with the matching status code first.
    func close(_ reason: CloseReason) {
        switch (framing, reason) {
        case (.webSocket, .logout): closeWebSocket(code: 1000, reason: "logged out")
        case (.webSocket, .frameTooLarge): closeWebSocket(code: 1009, reason: "frame too large")
        case (.webSocket, .shutdown): closeWebSocket(code: 1001, reason: "server stopping")
        default:
            channel.eventLoop.execute {
                guard self.channel.isActive else { return }
                self.logger.debug("closing connection: \(reason)")
                self.channel.flush()
                self.channel.close(promise: nil)
            }
        }
    }

    /// Sends a WebSocket close frame after what is queued, then closes the connection.
    func closeWebSocket(code: UInt16, reason: String) {
        channel.eventLoop.execute {
            guard self.channel.isActive else { return }
            self.logger.debug("closing WebSocket", metadata: ["code": "\(code)", "reason": "\(reason)"])
            self.channel.writeAndFlush(WebSocketFraming.close(code: code, reason: reason)).whenComplete { _ in
                self.channel.close(promise: nil)
            }
        }
    }

    /// On the event loop.
    func write(_ frame: EncodedFrame) {
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
            channel.write(frame.framed, promise: nil)
        case .webSocket:
            channel.write(frame.webSocket, promise: nil)
        }
        if !flushQueued.value {
            flushQueued.value = true
            // Runs after the writes already queued on this loop (the rest of a fan-out batch).
            channel.eventLoop.execute {
                self.flushQueued.value = false
                self.channel.flush()
            }
        }
    }
}

/// One event loop as a delivery lane: a fan-out hands it a frame and the sinks of its
/// connections once, and the loop writes them all in one task.
final class EventLoopLane: DeliveryLane {
    let loop: any EventLoop

    private init(loop: any EventLoop) {
        self.loop = loop
    }

    private static let lanes = Mutex<[ObjectIdentifier: EventLoopLane]>([:])

    /// The lane of `loop` (one per loop, made on first use).
    static func of(_ loop: any EventLoop) -> EventLoopLane {
        let key = ObjectIdentifier(loop as AnyObject)
        return lanes.withLock { lanes in
            if let lane = lanes[key] { return lane }
            let lane = EventLoopLane(loop: loop)
            lanes[key] = lane
            return lane
        }
    }

    func deliver(_ frame: EncodedFrame, to sinks: [any ConnectionSink]) {
        let write: @Sendable () -> Void = {
            for case let sink as ChannelSink in sinks { sink.write(frame) }
        }
        if loop.inEventLoop { write() } else { loop.execute(write) }
    }
}
