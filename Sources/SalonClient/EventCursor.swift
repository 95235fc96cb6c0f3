import Foundation
import SalonProtocol
import Synchronization

/// The last event `seq` a client processed, and how it catches up after a reconnection
/// (PROTOCOL.md §5a): `sync` from there, following `has_more`, then the pushes that arrive
/// meanwhile, skipping those the answer already held. Nothing is missed (edits, deletions and
/// reactions on old messages included) and nothing is processed twice.
///
/// ```swift
/// let cursor = EventCursor()
/// let auth: AuthResult = try await client.request("login", …)
/// for event in try await cursor.resume(client, at: auth.seq) { handle(event) }   // after a drop
/// for await push in client.events where cursor.accept(push) { handle(push) }
/// ```
///
/// A guest is someone new at each login, and its `sync` covers only that session: a guest
/// client catches up with `history` instead.
public final class EventCursor: Sendable {
    private let last = Mutex<Int64?>(nil)

    public init(seq: Int64? = nil) {
        last.withLock { $0 = seq }
    }

    /// The newest `seq` processed (nil before the first login).
    public var seq: Int64? { last.withLock { $0 } }

    /// After a login (`loginSeq` from its reply): the first time, the cursor starts there and
    /// there is nothing to catch up; after that, the events missed since the last one
    /// processed, oldest first, each as the push it was.
    public func resume(_ client: SalonClient, at loginSeq: Int64?) async throws -> [ServerEnvelope] {
        guard let since = seq else {
            last.withLock { $0 = loginSeq ?? 0 }
            return []
        }
        var missed: [ServerEnvelope] = []
        var from = since
        while true {
            let page: SyncResult = try await client.request("sync", SyncRequest(since: from, limit: Limits.syncPage))
            for event in page.events where event.seq > from {
                missed.append(try ServerEnvelope(event: event))
            }
            last.withLock { $0 = max($0 ?? 0, page.seq) }
            guard page.hasMore, page.seq > from else { break }
            from = page.seq
        }
        return missed
    }

    /// Whether a push is new: true (and the cursor moves to it) for a push with a `seq` after
    /// the cursor, or one without a `seq` (`typing`, `presence`, replies); false for one
    /// already processed.
    public func accept(_ envelope: ServerEnvelope) -> Bool {
        guard case .object(let data) = envelope.data, case .number(let value)? = data["seq"] else { return true }
        let seq = Int64(value)
        return last.withLock { last in
            if let current = last, seq <= current { return false }
            last = seq
            return true
        }
    }
}

extension ServerEnvelope {
    /// A `sync` event as the push it was.
    public init(event: SyncedEvent) throws {
        struct Push: Encodable {
            var action: String
            var data: JSONValue
        }
        try self.init(json: Array(JSONEncoder().encode(Push(action: event.action, data: event.data))))
    }
}
