import SalonProtocol
import Synchronization

/// The sink of a request that has no connection (an HTTP API call): it keeps the one reply
/// the core sends, whenever it comes (`send_message` answers after its commit), for the
/// caller waiting on `reply()`.
///
/// Such a session is never attached to the hub (`Connection.isDetached`), so nothing else is
/// ever sent here: no pushes, no presence.
final class ReplyCatcher: ConnectionSink {
    private struct State {
        var reply: EncodedFrame?
        var waiter: CheckedContinuation<EncodedFrame, Never>?
    }
    private let state = Mutex(State())

    func send(_ frame: EncodedFrame) {
        let waiter = state.withLock { s -> CheckedContinuation<EncodedFrame, Never>? in
            guard s.reply == nil else { return nil }  // the first frame is the reply
            s.reply = frame
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: frame)
    }

    func close(_ reason: CloseReason) {}
    var lane: (any DeliveryLane)? { nil }

    /// The reply, now or once it is sent (the core sends exactly one per request).
    func reply() async -> EncodedFrame {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> EncodedFrame? in
                if let reply = s.reply { return reply }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
