import Logging
import NIOCore
import SalonCore
import SalonProtocol

/// What both transports' channel handlers share: the sink that writes to the channel, the
/// request pump that runs requests in order, and the gate that holds `read` while the pump is
/// full. Lives on the channel's event loop, inside its handler.
struct PumpedConnection {
    let sink: ChannelSink
    let pump: RequestPump
    private var paused = false
    private var readPending = false

    /// Made in `handlerAdded`: opens the session. `resume` is how the pump, from its task,
    /// reopens reading; it holds the handler only as long as the pump lives.
    init(
        context: ChannelHandlerContext, framing: ChannelSink.Framing, router: SalonCore.Router, outboundQueueLimit: Int, logger: Logger,
        resume: @escaping @Sendable () -> Void
    ) {
        sink = ChannelSink(context: context, framing: framing, maxQueuedBytes: outboundQueueLimit, logger: logger)
        pump = RequestPump(router: router, sink: sink, resumeReading: resume)
    }

    /// Queues a complete request or an error to answer; pauses reading when the queue is full.
    mutating func enqueue(_ item: RequestPump.Item) {
        if !pump.enqueue(item) { paused = true }
    }

    /// The handler's `read`: passed on unless paused.
    mutating func read(_ context: ChannelHandlerContext) {
        if paused {
            readPending = true
        } else {
            context.read()
        }
    }

    /// The pump worked its queue down: read again if a read was held back.
    mutating func resume(_ context: ChannelHandlerContext) {
        paused = false
        if readPending {
            readPending = false
            context.read()
        }
    }
}

/// A channel handler that drives a `PumpedConnection` (both transports' handlers).
protocol PumpedHandler: AnyObject {
    var connection: PumpedConnection? { get set }
}

extension PumpedHandler {
    /// In `handlerAdded`: opens the session; the pump reopens reading through this handler,
    /// on its event loop.
    ///
    /// A connection that has not logged in `loginTimeout` after it opened is told so
    /// (`auth_required`) and closed: connections that never log in hold no descriptor for long.
    func attachPump(
        _ context: ChannelHandlerContext, framing: ChannelSink.Framing, router: SalonCore.Router, outboundQueueLimit: Int, loginTimeout: TimeAmount?,
        logger: Logger
    ) {
        // As an existential: the closure must not capture the generic `Self` (not `Sendable`).
        let bound = NIOLoopBound((self as any PumpedHandler, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        connection = PumpedConnection(
            context: context, framing: framing, router: router, outboundQueueLimit: outboundQueueLimit, logger: logger
        ) {
            loop.execute {
                let (handler, context) = bound.value
                handler.connection?.resume(context)
            }
        }
        if let loginTimeout {
            loop.scheduleTask(in: loginTimeout) {
                let (handler, _) = bound.value
                guard let pump = handler.connection?.pump, !pump.hasLoggedIn else { return }
                let seconds = loginTimeout.nanoseconds / 1_000_000_000
                handler.connection?.enqueue(.reject(ProtocolError(.authRequired, "no login within \(seconds) s: the connection is closed"), then: .loginTimeout))
            }
        }
    }

    /// The handler's `read`: held while the pump is full.
    func passRead(_ context: ChannelHandlerContext) {
        if connection != nil {
            connection?.read(context)
        } else {
            context.read()
        }
    }
}
