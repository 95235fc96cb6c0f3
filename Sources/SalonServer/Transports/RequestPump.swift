import NIOCore
import SalonCore
import SalonProtocol
import Synchronization

/// Runs one connection's requests in order, one at a time, with no task of its own while the
/// connection is idle.
///
/// The channel handler (on the event loop) queues each complete request here; the first one
/// starts a task that handles requests until the queue is empty, then ends. An idle connection
/// therefore costs its channel, its handlers and this object, not a suspended task with its
/// stack and async-channel buffers: that is what lets tens of thousands of idle connections fit.
///
/// The queue is bounded: past `highWater` requests the handler stops reading the socket (TCP
/// back-pressure reaches the client) until the task has worked it down to `lowWater`.
final class RequestPump: Sendable {
    enum Item {
        case request(ByteBuffer)
        /// An error no request caused (`frame_too_large`, `invalid_frame`), then maybe a close.
        case reject(ProtocolError, then: CloseReason?)
    }

    private struct State {
        var queue = CircularBuffer<Item>(initialCapacity: 4)
        /// A task is handling the queue.
        var running = false
        /// The transport asked to stop reading.
        var paused = false
        /// The connection ended: the rest of the queue is dropped.
        var closed = false
        /// A request closed the connection (`logout`, a frame too large): nothing more is read.
        var stopped = false
    }

    static let highWater = 64
    static let lowWater = 16

    let router: SalonCore.Router
    let sink: ChannelSink
    /// Proof that sharing this non-`Sendable` session is safe: it is touched only by the one
    /// task that handles requests (at most one runs at a time: `running` is set and cleared
    /// under the lock, which also orders one task's writes before the next task's reads) and
    /// by `router.close`, which runs once, after that task has ended (`finish`).
    nonisolated(unsafe) private let session: Session
    private let state = Mutex(State())
    /// Called, from the request task, when a paused connection may read again.
    private let resumeReading: @Sendable () -> Void

    init(router: SalonCore.Router, sink: ChannelSink, resumeReading: @escaping @Sendable () -> Void) {
        self.router = router
        self.sink = sink
        self.session = router.open(sink, address: sink.channel.remoteAddress?.ipAddress)
        // IRC renders replies itself: they come as values, never encoded to JSON.
        if case .irc = sink.framing { session.typedReplies = true }
        ServerMetrics.connections(sink.framing).increment()
        self.resumeReading = resumeReading
    }

    /// Whether the connection has logged in (read from the event loop by the login timeout).
    var hasLoggedIn: Bool { session.connection.hasLoggedIn }

    /// Queues an item; returns false when the transport should stop reading for now.
    @discardableResult
    func enqueue(_ item: Item) -> Bool {
        let (start, keepReading) = state.withLock { s -> (Bool, Bool) in
            guard !s.closed, !s.stopped else { return (false, true) }
            s.queue.append(item)
            let start = !s.running
            s.running = true
            if s.queue.count >= Self.highWater { s.paused = true }
            return (start, !s.paused)
        }
        if start {
            Task { await self.drain() }
        }
        return keepReading
    }

    /// The connection ended (on the event loop, once). The session closes now, or when the
    /// request being handled returns.
    func connectionClosed() {
        ServerMetrics.connections(sink.framing).decrement()
        let idle = state.withLock { s -> Bool in
            s.closed = true
            s.queue.removeAll()
            return !s.running
        }
        if idle { router.close(session) }
    }

    private func drain() async {
        while true {
            let (item, resume, finished) = state.withLock { s -> (Item?, Bool, Bool) in
                if s.closed || s.stopped { s.queue.removeAll() }
                guard let item = s.queue.popFirst() else {
                    s.running = false
                    return (nil, false, s.closed)
                }
                let resume = s.paused && s.queue.count <= Self.lowWater
                if resume { s.paused = false }
                return (item, resume, false)
            }
            if resume { resumeReading() }
            guard let item else {
                if finished { router.close(session) }
                return
            }
            switch item {
            case .request(let bytes):
                if case .close(let reason) = await router.handle(bytes, from: session) {
                    stop(reason)
                }
            case .reject(let error, let close):
                router.reject(session, error)
                if let close { stop(close) }
            }
        }
    }

    private func stop(_ reason: CloseReason) {
        state.withLock { $0.stopped = true }
        sink.close(reason)
    }
}
