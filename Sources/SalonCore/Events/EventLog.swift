import Logging
import SalonProtocol
import Synchronization

/// The one way a durable change happens: queued here, committed by the store in batches (group
/// commit: one transaction per batch, whatever the rate), then handed to the subscribers in
/// `seq` order, and only then acknowledged to whoever asked.
///
/// One writer task takes everything queued (up to `maxBatch`) and commits it; while a batch is
/// being committed the next one gathers, so the commit rate, not the request rate, bounds the
/// number of transactions. Changes keep the order they were queued in, so messages sent one
/// after the other on a connection get increasing ids. Nothing is acknowledged before it is
/// durable: that is the promise of `send_message`.
final class EventLog: Sendable {
    /// A committed event, rendered once for every JSON recipient (WebSocket and TCP share the
    /// bytes: `EncodedFrame` holds both framings).
    ///
    /// Small on purpose (what fan-out needs: who, and the bytes): it is copied along the
    /// batch, and a whole stored message in it cost measurable time per message.
    struct Committed: Sendable {
        var seq: Int64
        var draft: EventDraft
        var push: EncodedFrame
        /// For message events: the message's JSON, shared by the push and the sender's reply.
        var message: EncodedMessage?
    }

    enum Outcome: Sendable {
        case committed([Committed])
        case duplicate(StoredMessage)
        case refused(ProtocolError)
    }

    /// Told once the change is stored (or could not be); returns the reply to send, which goes
    /// out with the batch's pushes (one task per event loop for all of it).
    typealias Completion = @Sendable (Outcome) -> Reply?

    /// What a committed change does to the in-memory state, applied in `seq` order under the
    /// hub's lock before its events are fanned out.
    typealias Apply = @Sendable (inout HubState, [Committed]) -> Void

    /// A frame for one connection.
    struct Reply: Sendable {
        var connection: Connection
        var frame: EncodedFrame
    }

    struct Pending: Sendable {
        var change: Change
        var origin: Connection?
        var apply: Apply?
        var completion: Completion
        /// `senderID NUL clientMsgID`: a retry that races its original joins it.
        var dedupeKey: String?
        /// Told after the subscribers (not with the batch's replies): a handler that goes on
        /// after the commit then sees the change applied in memory.
        var afterDelivery = false
    }

    /// A committed batch as subscribers see it.
    struct Batch: Sendable {
        struct Item: Sendable {
            var events: [Committed]
            var origin: Connection?
            var apply: Apply?
        }
        var items: [Item]
        var replies: [Reply]
    }

    private struct State {
        var lastMillis: Int64 = 0
        /// The newest `seq` handed to the subscribers: they get every event after it, in order.
        var deliveredSeq: Int64 = 0
        var queue: [Pending] = []
        /// Completions of retries waiting on the original, by dedupe key.
        var joined: [String: [Completion]] = [:]
        var wakeup: CheckedContinuation<Void, Never>?
        var accepting = true
    }

    private let state = Mutex(State())
    private let store: any ChatStore
    private let maxBatch: Int
    private let logger: Logger
    private let subscribers: [@Sendable (Batch) -> Void]
    /// Held while a batch is committed and delivered, and while other nodes' events are read
    /// and delivered: subscribers get every event once, in `seq` order, whichever node made it.
    private let delivery = AsyncLock()
    /// Events read at a time from the store when catching up on other nodes' commits.
    static let catchUpPage = 1_000

    /// `subscribers` get each committed batch in order (the local fan-out first; webhooks
    /// later). `deliveredSeq` is the newest `seq` the state was loaded at.
    init(store: any ChatStore, maxBatch: Int, logger: Logger, deliveredSeq: Int64, subscribers: [@Sendable (Batch) -> Void]) {
        self.store = store
        self.maxBatch = maxBatch
        self.logger = logger
        self.subscribers = subscribers
        state.withLock { $0.deliveredSeq = deliveredSeq }
    }

    /// A time for a new message: never earlier than the one before, so that ids and times
    /// agree.
    func timestamp() -> Timestamp {
        state.withLock { s in
            s.lastMillis = max(Timestamp.now().milliseconds, s.lastMillis)
            return Timestamp(milliseconds: s.lastMillis)
        }
    }

    /// Queues a change and returns at once; `completion` is called after the commit.
    func submit(_ change: Change, origin: Connection?, dedupeKey: String? = nil, apply: Apply? = nil, afterDelivery: Bool = false, completion: @escaping Completion) {
        let (wake, refused) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Bool) in
            guard s.accepting else { return (nil, true) }
            if let dedupeKey, s.joined[dedupeKey] != nil {
                s.joined[dedupeKey]?.append(completion)
                return (nil, false)
            }
            if let dedupeKey { s.joined[dedupeKey] = [] }
            s.queue.append(Pending(change: change, origin: origin, apply: apply, completion: completion, dedupeKey: dedupeKey, afterDelivery: afterDelivery))
            let wake = s.wakeup
            s.wakeup = nil
            return (wake, false)
        }
        if refused, let reply = completion(.refused(ProtocolError(.internal, "the server is shutting down"))) {
            reply.connection.sink.send(reply.frame)
        }
        wake?.resume()
    }

    /// Commits one change and returns its events once they are stored and fanned out; a
    /// refusal is thrown.
    func commit(_ change: Change, origin: Connection?, apply: Apply? = nil) async throws -> [Committed] {
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            submit(change, origin: origin, apply: apply, afterDelivery: true) { outcome in
                continuation.resume(returning: outcome)
                return nil
            }
        }
        switch outcome {
        case .committed(let events): return events
        case .duplicate: return []
        case .refused(let error): throw error
        }
    }

    /// The writer loop; returns once `stop()` was called and everything queued is stored.
    func run() async {
        while let batch = await nextBatch() {
            let later = await delivery.run { await commitAndDeliver(batch) }
            for (completion, outcome) in later {
                if let reply = completion(outcome) { reply.connection.sink.send(reply.frame) }
            }
        }
    }

    /// Commits a batch and hands it to the subscribers (with whatever other nodes committed
    /// before it, first); returns the completions that wait for the delivery.
    private func commitAndDeliver(_ batch: [Pending]) async -> [(Completion, Outcome)] {
        let outcomes: [ChangeOutcome]
        let started = ContinuousClock.now
        do {
            outcomes = try await store.commit(batch.map(\.change))
            ChatMetrics.commitSeconds.record(duration: ContinuousClock.now - started)
            ChatMetrics.commitBatchSize.record(batch.count)
        } catch {
            ChatMetrics.commitFailures.increment()
            logger.error("storing \(batch.count) changes failed", metadata: ["error": "\(error)"])
            outcomes = Array(repeating: .refused(ProtocolError(.internal, "the change could not be stored")), count: batch.count)
        }
        var items: [Batch.Item] = []
        var replies: [Reply] = []
        var later: [(Completion, Outcome)] = []
        items.reserveCapacity(batch.count)
        replies.reserveCapacity(batch.count)
        let joined = state.withLock { s in
            batch.map { pending in pending.dedupeKey.flatMap { s.joined.removeValue(forKey: $0) } ?? [] }
        }
        var first: Int64?
        var last: Int64?
        var (eventCount, messageCount) = (0, 0)
        defer {
            ChatMetrics.eventsCommitted.increment(by: eventCount)
            ChatMetrics.messages.increment(by: messageCount)
        }
        for (index, pending) in batch.enumerated() {
            let outcome: Outcome
            switch index < outcomes.count ? outcomes[index] : .refused(ProtocolError(.internal, "the change could not be stored")) {
            case .committed(let events):
                let rendered = events.map(Self.render)
                eventCount += events.count
                if case .message = pending.change { messageCount += 1 }
                if let seq = rendered.first?.seq, first == nil { first = seq }
                if let seq = rendered.last?.seq { last = seq }
                items.append(Batch.Item(events: rendered, origin: pending.origin, apply: pending.apply))
                outcome = .committed(rendered)
            case .duplicate(let message):
                outcome = .duplicate(message)
            case .refused(let error):
                outcome = .refused(error)
            }
            if pending.afterDelivery {
                later.append((pending.completion, outcome))
            } else if let reply = pending.completion(outcome) {
                replies.append(reply)
            }
            for waiter in joined[index] {
                if let reply = waiter(outcome) { replies.append(reply) }
            }
        }
        // Another node may have committed between the last delivery and this batch (its
        // commit came first: the sequence's lock orders them). Its events go out first.
        if let first { await deliverCommitted(through: first - 1) }
        for subscriber in subscribers { subscriber(Batch(items: items, replies: replies)) }
        if let last { state.withLock { $0.deliveredSeq = max($0.deliveredSeq, last) } }
        return later
    }

    /// Another node committed up to `seq` (its notification): reads what this node has not
    /// delivered yet and delivers it, in order, after whatever is being delivered now.
    func otherNodeCommitted(through seq: Int64) async {
        await delivery.run { await deliverCommitted(through: seq) }
    }

    /// Reads from the store and delivers every event after the last delivered, through `seq`
    /// (the caller holds `delivery`). Each applies its effect on the state (`EventEffects`)
    /// and goes to everyone concerned here.
    private func deliverCommitted(through seq: Int64) async {
        var delivered = state.withLock { $0.deliveredSeq }
        var failures = 0
        while delivered < seq {
            let events: [StoredEvent]
            do {
                events = try await store.committedEvents(after: delivered, through: seq, limit: Self.catchUpPage)
            } catch {
                failures += 1
                logger.error("reading other nodes' events failed", metadata: ["error": "\(error)", "after": "\(delivered)"])
                if failures >= 3 { return }  // the next commit or notification tries again
                try? await Task.sleep(for: .milliseconds(100 * failures))
                continue
            }
            guard let newest = events.last?.seq else {
                // Numbers no event holds (nothing is lost: a commit takes its numbers with it).
                delivered = seq
                break
            }
            let items = events.map { event -> Batch.Item in
                let rendered = Self.render(event)
                return Batch.Item(events: [rendered], origin: nil, apply: EventEffects.apply(for: rendered))
            }
            for subscriber in subscribers { subscriber(Batch(items: items, replies: [])) }
            delivered = newest
        }
        state.withLock { $0.deliveredSeq = max($0.deliveredSeq, delivered) }
    }

    /// An event's push, written once.
    static func render(_ event: StoredEvent) -> Committed {
        if event.type.carriesMessage, let message = event.message {
            let encoded = EncodedMessage(message.wire)
            return Committed(seq: event.seq, draft: event.draft, push: EnvelopeEncoder.messageEvent(action: event.type.rawValue, seq: event.seq, message: encoded), message: encoded)
        }
        return Committed(seq: event.seq, draft: event.draft, push: EnvelopeEncoder.event(action: event.type.rawValue, seq: event.seq, data: event.data), message: nil)
    }

    /// Stops taking changes; `run()` returns once the queue is written.
    func stop() {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.accepting = false
            let wake = s.wakeup
            s.wakeup = nil
            return wake
        }
        wake?.resume()
    }

    private func nextBatch() async -> [Pending]? {
        while true {
            enum Step { case batch([Pending]), finished, wait }
            let step = state.withLock { s -> Step in
                if !s.queue.isEmpty {
                    let count = min(s.queue.count, maxBatch)
                    let batch = Array(s.queue.prefix(count))
                    s.queue.removeFirst(count)
                    return .batch(batch)
                }
                return s.accepting ? .wait : .finished
            }
            switch step {
            case .batch(let batch): return batch
            case .finished: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { s -> Bool in
                        if s.queue.isEmpty && s.accepting {
                            s.wakeup = continuation
                            return false
                        }
                        return true
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }
}
