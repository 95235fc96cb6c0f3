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
        /// IRC lines, which `render` makes of each frame (nil: nothing to write for it).
        case irc
    }

    let channel: any Channel
    let framing: Framing
    let maxQueuedBytes: Int
    let logger: Logger
    /// What only the event loop touches (see `LoopState`).
    ///
    /// Proof that sharing it unchecked is safe: every access is in `write`, `flush`,
    /// `isWithinBound` or a closure run by `channel.eventLoop` (`send` hops there first;
    /// `close` and `closeWebSocket` run in `execute`; lanes call `write` and `flush` from
    /// their loop's tasks, and a sink only ever belongs to its own loop's lane), so it is
    /// never used by two threads. `NIOLoopBoundBox` would check the thread on each of the
    /// several accesses per delivery; in a fan-out to 500 that was measurable.
    nonisolated(unsafe) private let state: LoopState

    /// The connection's event-loop state.
    private final class LoopState {
        /// The connection handler's context: writes start there, next to the pipeline's head,
        /// rather than at its tail (a pipeline walk less per delivery).
        let context: ChannelHandlerContext
        /// What was written since the last flush: nothing, one frame (its shared bytes, not
        /// copied), or several frames copied into one buffer. Under a heavy fan-out a
        /// connection gets many frames between two flushes; one buffer makes them one NIO
        /// write and one `iovec` instead of one each (a NIO write costs far more than copying
        /// a few hundred bytes). An idle connection holds no buffer.
        var outgoing = Outgoing.idle
        /// The size of the last flush that gathered several frames.
        var lastGathered = 0
        /// For `.irc`: what turns a frame into the connection's lines (set once, by the
        /// connection handler, on the loop). Held here rather than in a `Sendable` closure:
        /// a call per delivery with no thread check and no closure context in between.
        var renderer: (any FrameRenderer)?

        init(context: ChannelHandlerContext) {
            self.context = context
        }
    }

    private enum Outgoing {
        case idle
        case one(ByteBuffer)
        case many(ByteBuffer)
    }

    /// Made on the event loop, in the connection handler's `handlerAdded`. The outgoing queue
    /// is bounded twice over: NIO's buffer by the channel's write-buffer high-water mark (past
    /// it the channel turns unwritable, which `write` checks when it starts gathering), and
    /// the frames gathered since the last flush by the same limit; so at most twice
    /// `maxQueuedBytes` wait for one client.
    init(context: ChannelHandlerContext, framing: Framing, maxQueuedBytes: Int, logger: Logger) {
        self.channel = context.channel
        self.framing = framing
        self.maxQueuedBytes = maxQueuedBytes
        self.logger = logger
        self.state = LoopState(context: context)
        self.eventLoopLane = EventLoopLane.of(context.eventLoop)
        let marks = ChannelOptions.Types.WriteBufferWaterMark(low: maxQueuedBytes / 2, high: maxQueuedBytes)
        try? context.channel.syncOptions?.setOption(.writeBufferWaterMark, value: marks)
    }

    private let eventLoopLane: EventLoopLane
    var lane: (any DeliveryLane)? { eventLoopLane }

    /// On the event loop: what renders this `.irc` connection's frames (nil: none, which
    /// writes nothing).
    func setRenderer(_ renderer: (any FrameRenderer)?) {
        assert(channel.eventLoop.inEventLoop)
        state.renderer = renderer
    }

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
        case (.webSocket, .loginTimeout): closeWebSocket(code: 1008, reason: "no login in time")
        case (.webSocket, .banned): closeWebSocket(code: 1008, reason: "banned")
        default:
            channel.eventLoop.execute {
                guard self.channel.isActive else { return }
                self.logger.debug("closing connection: \(reason)")
                self.flush()
                self.channel.close(promise: nil)
            }
        }
    }

    /// Sends a WebSocket close frame after what is queued, then closes the connection.
    func closeWebSocket(code: UInt16, reason: String) {
        channel.eventLoop.execute {
            guard self.channel.isActive else { return }
            self.logger.debug("closing WebSocket", metadata: ["code": "\(code)", "reason": "\(reason)"])
            self.flush()
            self.channel.writeAndFlush(WebSocketFraming.close(code: code, reason: reason)).whenComplete { _ in
                self.channel.close(promise: nil)
            }
        }
    }

    /// On the event loop.
    ///
    /// The bound is on what waits *before* a frame: a client is cut off when more than
    /// `maxQueuedBytes` is still unread when the next frame comes, never because one frame is
    /// large (a reply is at most about the reply budget, a quarter of the bound; a frame is
    /// always accepted by a client that keeps up).
    func write(_ frame: EncodedFrame) {
        switch framing {
        case .lengthPrefixed: write(bytes: frame.framed)
        case .webSocket: write(bytes: frame.webSocket)
        case .irc:
            if let lines = state.renderer?.render(frame), lines.readableBytes > 0 { write(bytes: lines) }
        }
    }

    /// On the event loop: bytes of the transport's own (IRC numerics), queued and flushed
    /// as frames are.
    func write(bytes: ByteBuffer) {
        assert(channel.eventLoop.inEventLoop)
        let state = self.state
        switch state.outgoing {
        case .idle:
            guard channel.isWritable else { return cutOff(pending: 0) }
            state.outgoing = .one(bytes)
            eventLoopLane.flushSoon(self)
        case .one(let first):
            guard first.readableBytes <= maxQueuedBytes else { return cutOff(pending: first.readableBytes) }
            // As large as the last flush that gathered several frames: a steady stream
            // rarely has to grow (and copy) the buffer.
            let capacity = max(2 * (first.readableBytes + bytes.readableBytes), state.lastGathered)
            var buffer = channel.allocator.buffer(capacity: capacity)
            buffer.writeImmutableBuffer(first)
            buffer.writeImmutableBuffer(bytes)
            state.outgoing = .many(buffer)
        case .many(var buffer):
            guard buffer.readableBytes <= maxQueuedBytes else { return cutOff(pending: buffer.readableBytes) }
            state.outgoing = .idle  // so that `buffer` is the only reference: no copy on write
            buffer.writeImmutableBuffer(bytes)
            state.outgoing = .many(buffer)
        }
    }

    /// The client is not reading: past the bound it is cut off, with a logged reason.
    private func cutOff(pending: Int) {
        state.outgoing = .idle
        guard channel.isActive else { return }
        ServerMetrics.slowConsumers.increment()
        let queued = ((try? channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0) + pending
        logger.warning("disconnecting a client that stopped reading", metadata: [
            "reason": "\(CloseReason.slowConsumer(queuedBytes: queued))",
            "remote": "\(channel.remoteAddress?.description ?? "?")",
        ])
        channel.close(promise: nil)
    }

    /// On the event loop: writes what is pending and flushes.
    func flush() {
        assert(channel.eventLoop.inEventLoop)
        let state = self.state
        switch state.outgoing {
        case .idle:
            return
        case .one(let bytes):
            state.outgoing = .idle
            state.context.writeAndFlush(NIOAny(bytes), promise: nil)
        case .many(let bytes):
            state.outgoing = .idle
            state.lastGathered = min(bytes.readableBytes, maxQueuedBytes)
            state.context.writeAndFlush(NIOAny(bytes), promise: nil)
        }
    }
}

/// What makes a connection's own bytes of each frame (the IRC gateway's lines): called on the
/// connection's event loop only; nil writes nothing.
protocol FrameRenderer: AnyObject {
    func render(_ frame: EncodedFrame) -> ByteBuffer?
}

/// One event loop as a delivery lane: a fan-out hands it a frame and the sinks of its
/// connections once, and the loop writes them all in one task. It also flushes lazily: the
/// connections written to during a pass of the loop are flushed together, once each, after
/// the writes already queued (the rest of a fan-out batch), so a burst of pushes to one
/// connection costs one `writev`, and a fan-out one scheduled task per loop, not one per
/// connection.
final class EventLoopLane: DeliveryLane {
    let loop: any EventLoop
    private let dirty: NIOLoopBoundBox<[ChannelSink]>
    private let nextFlush: NIOLoopBoundBox<NIODeadline>

    private init(loop: any EventLoop) {
        self.loop = loop
        self.dirty = .makeBoxSendingValue([], eventLoop: loop)
        self.nextFlush = .makeBoxSendingValue(.distantPast, eventLoop: loop)
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

    func deliver(_ deliveries: [Delivery]) {
        let write: @Sendable () -> Void = {
            for delivery in deliveries {
                let excluded = delivery.excluding
                for case let sink as ChannelSink in delivery.sinks where sink !== excluded {
                    sink.write(delivery.frame)
                }
            }
        }
        if loop.inEventLoop { write() } else { loop.execute(write) }
    }

    /// On the event loop: `sink` was written to and will be flushed with the others, at the
    /// end of this pass of the loop, or later when the loop is busy flushing: after a flush
    /// that took D, the next one waits until D has passed since it ended. Each write to a
    /// socket costs microseconds (on loopback the kernel charges the receiving side to the
    /// sender as well), so flushing at most half of the time makes a heavy fan-out gather
    /// more frames per write as the load grows, while a light load is flushed at once.
    func flushSoon(_ sink: ChannelSink) {
        if dirty.value.isEmpty {
            let wait = nextFlush.value - .now()
            if wait > .zero {
                loop.scheduleTask(in: wait) { self.flushAll() }
            } else {
                loop.execute { self.flushAll() }
            }
        }
        dirty.value.append(sink)
    }

    private func flushAll() {
        let started = NIODeadline.now()
        let sinks = dirty.value
        dirty.value = []
        for sink in sinks { sink.flush() }
        let ended = NIODeadline.now()
        nextFlush.value = ended + TimeAmount.nanoseconds((ended - started).nanoseconds / 2)
    }
}
