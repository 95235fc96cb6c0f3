import Foundation
import Logging
import NIOCore
import SalonCore
import SalonProtocol
import SalonStore
import Synchronization

/// A sink that keeps what it is sent, standing in for a transport: the core knows nothing of
/// sockets, so its tests need none.
final class RecordingSink: ConnectionSink {
    private struct State {
        var frames: [EncodedFrame] = []
        var closed: CloseReason?
        var waiters: [String: CheckedContinuation<[String: Any], Never>] = [:]
        /// Woken by the next frame after the count they saw.
        var watchers: [(seen: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    func send(_ frame: EncodedFrame) {
        let object = try? JSONSerialization.jsonObject(with: Data(frame.json.readableBytesView)) as? [String: Any]
        let (waiter, watchers) = state.withLock { s -> (CheckedContinuation<[String: Any], Never>?, [CheckedContinuation<Void, Never>]) in
            s.frames.append(frame)
            let watchers = s.watchers.map(\.continuation)
            s.watchers = []
            guard let id = object?["reply_to"] as? String else { return (nil, watchers) }
            return (s.waiters.removeValue(forKey: id), watchers)
        }
        if let waiter, let object { waiter.resume(returning: object) }
        for watcher in watchers { watcher.resume() }
    }

    /// Waits until what was received satisfies `condition` (each frame is an event to check
    /// again at; the suite's time limit ends a wait that never comes).
    func until(_ condition: ([[String: Any]]) -> Bool) async {
        while true {
            let (seen, wasClosed) = state.withLock { ($0.frames.count, $0.closed != nil) }
            if condition(envelopes) { return }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.frames.count > seen || (s.closed != nil) != wasClosed { return true }
                    s.watchers.append((seen, continuation))
                    return false
                }
                if now { continuation.resume() }
            }
        }
    }

    /// The reply to request `id`, now or when it comes (a stored message is answered after
    /// its commit, not when `handle` returns).
    func reply(to id: String) async -> [String: Any] {
        await withCheckedContinuation { continuation in
            let existing = state.withLock { s -> [String: Any]? in
                if let found = s.frames.lazy.compactMap({ try? JSONSerialization.jsonObject(with: Data($0.json.readableBytesView)) as? [String: Any] })
                    .first(where: { $0["reply_to"] as? String == id }) {
                    return found
                }
                s.waiters[id] = continuation
                return nil
            }
            if let existing { continuation.resume(returning: existing) }
        }
    }
    /// A close wakes the waiters too (it comes after the push that explains it, not with it).
    func close(_ reason: CloseReason) {
        let watchers = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.closed = reason
            defer { s.watchers = [] }
            return s.watchers.map(\.continuation)
        }
        for watcher in watchers { watcher.resume() }
    }

    /// Waits until the core closes this connection.
    func untilClosed() async -> CloseReason {
        while true {
            if let reason = closedReason { return reason }
            await until { _ in self.closedReason != nil }
        }
    }
    var closedReason: CloseReason? { state.withLock { $0.closed } }
    var lane: (any DeliveryLane)? { nil }


    var frames: [EncodedFrame] { state.withLock { $0.frames } }

    /// Everything received, decoded.
    var envelopes: [[String: Any]] {
        frames.compactMap { try? JSONSerialization.jsonObject(with: Data($0.json.readableBytesView)) as? [String: Any] }
    }

    /// Pushes with this action.
    func pushes(_ action: String) -> [[String: Any]] {
        envelopes.filter { $0["action"] as? String == action && $0["reply_to"] == nil }
    }

    func clear() { state.withLock { $0.frames = [] } }
}

/// A router on a real store (an SQLite file in a temporary folder, or a PostgreSQL database of
/// its own), with its event log running.
final class CoreHarness: Sendable {
    let router: Router
    let backend: StoreBackend
    /// Where the store is (a folder, or a database URL): `make(reopening:)` opens it again.
    let place: String
    private let task: Task<Void, any Error>

    static func make(
        _ configure: (inout ChatConfiguration) -> Void = { _ in }, backend: StoreBackend = .sqlite, reopening: CoreHarness? = nil,
        wrapStore: (any ChatStore) -> any ChatStore = { $0 }
    ) async throws -> CoreHarness {
        var configuration = ChatConfiguration(rateLimit: 0, bcryptCost: 4)
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let backend = reopening?.backend ?? backend
        let (store, place) = try await backend.openPlace(reopening?.place)
        let router = try await Router.start(store: wrapStore(store), configuration: configuration, logger: logger)
        return CoreHarness(router: router, backend: backend, place: place)
    }

    private init(router: Router, backend: StoreBackend, place: String) {
        self.router = router
        self.backend = backend
        self.place = place
        self.task = Task { try await router.run() }
    }

    /// Stops the log and closes the store.
    func stop() async throws {
        router.shutdown()
        try await task.value
    }

    func connect() -> (Session, RecordingSink) {
        let sink = RecordingSink()
        return (router.open(sink), sink)
    }

    /// Sends one request and returns its reply.
    @discardableResult
    func request(_ session: Session, _ sink: RecordingSink, _ action: String, _ data: [String: Any] = [:]) async throws -> [String: Any] {
        let id = UUID().uuidString
        let body = try JSONSerialization.data(withJSONObject: ["action": action, "id": id, "data": data])
        _ = await router.handle(ByteBuffer(bytes: body), from: session)
        return await sink.reply(to: id)
    }
}

extension Dictionary where Key == String, Value == Any {
    var action: String? { self["action"] as? String }
    var payload: [String: Any] { self["data"] as? [String: Any] ?? [:] }
    var errorCode: String? { action == "error" ? payload["code"] as? String : nil }
}
