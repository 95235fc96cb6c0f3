import Synchronization

/// At most `limit` things at once; `acquire` waits (in order) for a free place. Bounds the
/// messages one connection can have in flight: once that many wait for their commit, the
/// connection's next request waits too, so its socket is no longer read and TCP pushes back.
public final class InFlightLimit: Sendable {
    private struct State {
        var used = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public let limit: Int
    private let state = Mutex(State())

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    public var inUse: Int { state.withLock { $0.used } }
    public var waiting: Int { state.withLock { $0.waiters.count } }

    public func acquire() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { s -> Bool in
                if s.used < limit && s.waiters.isEmpty {
                    s.used += 1
                    return true
                }
                s.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Frees a place; the longest waiter, if any, takes it.
    public func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.used -= 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}
