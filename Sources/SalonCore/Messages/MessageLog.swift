import Logging
import SalonProtocol
import Synchronization

/// Appends messages durably with group commit, and hands each to fan-out once it is stored.
///
/// Ids are assigned under the lock as messages arrive, so they are strictly increasing; one
/// writer task takes everything queued (up to `maxBatch`) and stores it in one transaction,
/// then delivers the batch in id order and wakes each sender. While a batch is being
/// committed the next one gathers, so the commit rate, not the message rate, bounds the
/// number of transactions. A sender is woken only after the commit: that is the durability
/// promise of `send_message`.
final class MessageLog: Sendable {
    /// A message before it has an id and a time.
    struct Draft: Sendable {
        var conversation: Conversation
        var room: String?
        var sender: String
        var senderKey: String
        var senderID: Int64
        var recipient: String?
        var recipientKey: String?
        var recipientID: Int64?
        var text: String
        var replyTo: Int64?
        var clientMsgID: String?
    }

    /// A stored message with what fan-out needs to know.
    struct Committed: Sendable {
        var message: StoredMessage
        /// Its JSON, written once after the commit for both its push and its reply.
        var encoded: EncodedMessage?
        var recipientKey: String?
        /// Fan-out checks that whoever holds the name now is the person written to.
        var recipientID: Int64?
        var origin: Connection?

        /// The message's JSON: as written after the commit, or written now.
        var encodedMessage: EncodedMessage { encoded ?? EncodedMessage(message.wire) }
    }

    /// Told once the message is stored (or could not be); returns the reply to send, which
    /// the log sends with the rest of the batch (one task per event loop for all of it).
    typealias Completion = @Sendable (Result<Committed, any Error>) -> Reply?

    /// A frame for one connection.
    struct Reply: Sendable {
        var connection: Connection
        var frame: EncodedFrame
    }

    private struct State {
        var nextID: Int64
        var lastMillis: Int64 = 0
        var queue: [Committed] = []
        var waiters: [Int64: [Completion]] = [:]
        /// `senderID NUL clientMsgID` of messages queued or being written, so that a retry
        /// that races the original joins it instead of storing a copy.
        var inflight: [String: Int64] = [:]
        var wakeup: CheckedContinuation<Void, Never>?
        var accepting = true
    }

    private let state: Mutex<State>
    private let store: any ChatStore
    private let maxBatch: Int
    private let logger: Logger
    private let deliver: @Sendable ([Committed], [Reply]) -> Void

    /// `deliver` gets each stored batch (empty if it could not be stored) and the replies to
    /// its senders, to send together.
    init(store: any ChatStore, lastID: Int64, maxBatch: Int, logger: Logger, deliver: @escaping @Sendable ([Committed], [Reply]) -> Void) {
        self.state = Mutex(State(nextID: lastID + 1))
        self.store = store
        self.maxBatch = maxBatch
        self.logger = logger
        self.deliver = deliver
    }

    /// Queues a message and returns at once; `completion` is called after the commit. The id
    /// is assigned now, so messages appended one after the other keep their order, and a
    /// connection can have many messages in flight (they share commits).
    func append(_ draft: Draft, origin: Connection?, completion: @escaping Completion) {
        let (wake, refused) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Bool) in
            guard s.accepting else { return (nil, true) }
            let dedupeKey = draft.clientMsgID.map { "\(draft.senderID)\u{0}" + $0 }
            if let dedupeKey, let id = s.inflight[dedupeKey] {
                s.waiters[id, default: []].append(completion)
                return (nil, false)
            }
            let id = s.nextID
            s.nextID += 1
            let millis = max(Timestamp.now().milliseconds, s.lastMillis)
            s.lastMillis = millis
            let message = StoredMessage(
                id: id, conversation: draft.conversation.key, room: draft.room, sender: draft.sender,
                senderKey: draft.senderKey, senderID: draft.senderID, recipient: draft.recipient, text: draft.text,
                createdAt: Timestamp(milliseconds: millis), replyTo: draft.replyTo, clientMsgID: draft.clientMsgID
            )
            s.queue.append(Committed(message: message, recipientKey: draft.recipientKey, recipientID: draft.recipientID, origin: origin))
            s.waiters[id] = [completion]
            if let dedupeKey { s.inflight[dedupeKey] = id }
            let wake = s.wakeup
            s.wakeup = nil
            return (wake, false)
        }
        if refused, let reply = completion(.failure(ProtocolError(.internal, "the server is shutting down"))) {
            reply.connection.sink.send(reply.frame)
        }
        wake?.resume()
    }

    /// The writer loop; returns once `stop()` was called and everything queued is stored.
    func run() async {
        while let batch = await nextBatch() {
            var failure: (any Error)?
            do {
                try await store.insertMessages(batch.map(\.message))
            } catch {
                logger.error("storing \(batch.count) messages failed", metadata: ["error": "\(error)"])
                failure = error
            }
            var batch = batch
            if failure == nil {
                for index in batch.indices { batch[index].encoded = EncodedMessage(batch[index].message.wire) }
            }
            let waiters = state.withLock { s in
                batch.map { item in
                    if let cid = item.message.clientMsgID { s.inflight["\(item.message.senderID ?? 0)\u{0}" + cid] = nil }
                    return s.waiters.removeValue(forKey: item.message.id) ?? []
                }
            }
            var replies: [Reply] = []
            replies.reserveCapacity(batch.count)
            for (item, itemWaiters) in zip(batch, waiters) {
                for waiter in itemWaiters {
                    let result: Result<Committed, any Error> = failure == nil
                        ? .success(item) : .failure(ProtocolError(.internal, "the message could not be stored"))
                    if let reply = waiter(result) { replies.append(reply) }
                }
            }
            deliver(failure == nil ? batch : [], replies)
        }
    }

    /// Stops taking messages; `run()` returns once the queue is written.
    func stop() {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.accepting = false
            let wake = s.wakeup
            s.wakeup = nil
            return wake
        }
        wake?.resume()
    }

    private func nextBatch() async -> [Committed]? {
        while true {
            enum Step { case batch([Committed]), finished, wait }
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
