import NIOCore
import Synchronization

/// Something the keep-alive sweep checks: told once per interval, on its event loop.
protocol KeepAliveChecked: AnyObject {
    func checkAlive()
}

/// The keep-alive of one event loop's connections (IRC and WebSocket, each with its interval):
/// one repeated task per loop checks
/// every connection each interval. A task per connection held a scheduled task, its closure
/// and its promise for every idle connection, the state an idle connection should not pay for.
///
/// A connection's first check comes within one interval of its start (not exactly one
/// after): a silent client is pinged after one to two intervals and closed one later.
final class KeepAliveSweep {
    private let loop: any EventLoop
    private let interval: TimeAmount
    private var checked: [ObjectIdentifier: any KeepAliveChecked] = [:]
    private var task: RepeatedTask?

    private init(loop: any EventLoop, interval: TimeAmount) {
        self.loop = loop
        self.interval = interval
    }

    private struct Key: Hashable {
        let loop: ObjectIdentifier
        let interval: Int64
    }

    /// Made on first use, one per loop and interval, and never freed: there are as many as
    /// the server's event loops (times the intervals of the servers in one process: tests).
    private static let sweeps = Mutex<[Key: KeepAliveSweep]>([:])

    /// The sweep of `loop` for `interval` (call on `loop`; use it only there).
    static func of(_ loop: any EventLoop, interval: TimeAmount) -> KeepAliveSweep {
        let key = Key(loop: ObjectIdentifier(loop as AnyObject), interval: interval.nanoseconds)
        return sweeps.withLock { sweeps in
            if let sweep = sweeps[key] { return sweep }
            let sweep = KeepAliveSweep(loop: loop, interval: interval)
            sweeps[key] = sweep
            return sweep
        }
    }

    func add(_ connection: some KeepAliveChecked) {
        loop.assertInEventLoop()
        checked[ObjectIdentifier(connection)] = connection
        guard task == nil else { return }
        let bound = NIOLoopBound(self, eventLoop: loop)
        task = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in bound.value.sweep() }
    }

    func remove(_ connection: some KeepAliveChecked) {
        loop.assertInEventLoop()
        checked[ObjectIdentifier(connection)] = nil
        // The task stops when nobody is left, so an idle server schedules nothing.
        if checked.isEmpty {
            task?.cancel()
            task = nil
        }
    }

    private func sweep() {
        // A check may close its connection, which removes it: walk a copy.
        for connection in Array(checked.values) { connection.checkAlive() }
    }
}
