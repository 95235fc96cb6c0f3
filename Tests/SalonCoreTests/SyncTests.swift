import Foundation
import SalonCore
import SalonProtocol
import Testing

/// `sync` (PROTOCOL.md §5a): a client that was away catches up exactly.
@Suite struct SyncTests {
    /// Every event of a `sync`, following `has_more`, from `since`.
    static func syncAll(_ h: CoreHarness, _ s: Session, _ k: RecordingSink, since: Int64, limit: Int = 500) async throws -> (events: [[String: Any]], seq: Int64) {
        var events: [[String: Any]] = []
        var since = since
        for _ in 0..<1000 {
            let reply = try await h.request(s, k, "sync", ["since": since, "limit": limit])
            #expect(reply.action == "success", "\(reply)")
            events += reply.payload["events"] as? [[String: Any]] ?? []
            since = (reply.payload["seq"] as? NSNumber)?.int64Value ?? since
            if reply.payload["has_more"] as? Bool != true { break }
        }
        return (events, since)
    }

    static func seq(_ object: [String: Any]) -> Int64? {
        ((object["data"] as? [String: Any])?["seq"] as? NSNumber)?.int64Value ?? (object["seq"] as? NSNumber)?.int64Value
    }

    static func messageID(_ reply: [String: Any]) -> Int64 {
        ((reply.payload["message"] as? [String: Any])?["id"] as? NSNumber)?.int64Value ?? -1
    }

    /// Bob is away while Ana edits, deletes and reacts, while his phone leaves a room and
    /// joins it again and marks a room read, and while Ana writes to the room when he is out
    /// of it. His laptop's `sync` answers exactly what a device of his that stayed connected
    /// received as pushes: the same events, in the same order, with the same `seq`.
    @Test(arguments: StoreBackend.allCases) func aClientAwayCatchesUpExactly(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (a, ak) = h.connect()
        try await h.request(a, ak, "register", ["username": "ana", "password": "ana password"])
        let (laptop, lk) = h.connect()
        let registered = try await h.request(laptop, lk, "register", ["username": "bob", "password": "bob password"])
        let token = try #require(registered.payload["token"] as? String)
        try await h.request(a, ak, "create_room", ["name": "books"])
        try await h.request(laptop, lk, "join_room", ["room": "books"])
        let m1 = Self.messageID(try await h.request(a, ak, "send_message", ["room": "books", "text": "first"]))
        let m2 = Self.messageID(try await h.request(a, ak, "send_message", ["room": "books", "text": "second"]))
        let dm = Self.messageID(try await h.request(a, ak, "send_message", ["to": "bob", "text": "psst"]))
        // The laptop has processed everything up to now, then goes away.
        let last = try #require(lk.envelopes.compactMap(Self.seq).max())
        h.router.close(laptop)

        let (watcher, wk) = h.connect()
        try await h.request(watcher, wk, "login", ["token": token])
        let (phone, pk) = h.connect()
        try await h.request(phone, pk, "login", ["token": token])
        wk.clear()

        try await h.request(a, ak, "edit_message", ["id": m1, "text": "first, edited"])
        try await h.request(a, ak, "delete_message", ["id": m2])
        try await h.request(a, ak, "react", ["id": m1, "emoji": "👍"])
        try await h.request(a, ak, "react", ["id": dm, "emoji": "🎉"])
        #expect(try await h.request(phone, pk, "leave_room", ["room": "books"]).action == "success")
        try await h.request(a, ak, "send_message", ["room": "books", "text": "while bob is out"])
        try await h.request(a, ak, "edit_message", ["id": m1, "text": "first, edited twice"])
        #expect(try await h.request(phone, pk, "join_room", ["room": "books"]).action == "success")
        try await h.request(a, ak, "send_message", ["room": "books", "text": "welcome back"])
        try await h.request(a, ak, "react", ["id": m1, "emoji": "👍", "remove": true])
        try await h.request(phone, pk, "mark_read", ["room": "books", "id": m1])
        try await h.request(a, ak, "send_message", ["to": "bob", "text": "one more"])

        let (back, bk) = h.connect()
        try await h.request(back, bk, "login", ["token": token])
        let (events, seq) = try await Self.syncAll(h, back, bk, since: last, limit: 3)
        let pushes = wk.envelopes.filter { Self.seq($0) != nil }

        #expect(events.map { Self.seq($0) } == pushes.map { Self.seq($0) })
        #expect(events.map { $0["action"] as? String } == pushes.map { $0["action"] as? String })
        #expect(events.map { $0["action"] as? String } == [
            "message_updated", "message_deleted", "reaction", "reaction", "room_updated", "room_updated",
            "receive_message", "reaction", "read", "receive_message",
        ])
        // Not the message written while Bob was out of the room, nor his own leave notice.
        let texts = events.compactMap { (($0["data"] as? [String: Any])?["message"] as? [String: Any])?["text"] as? String }
        #expect(!texts.contains("while bob is out"))
        #expect(texts.contains("welcome back") && texts.contains("one more"))
        // Nothing twice, in order, and the answer's seq is the newest one.
        let seqs = events.compactMap { Self.seq($0) }
        #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count)
        #expect(seq == h.router.newestSeq)
        // Events that are not messages are exactly their pushes.
        for (event, push) in zip(events, pushes) where event["action"] as? String != "message_updated" && event["action"] as? String != "receive_message" {
            #expect(NSDictionary(dictionary: event["data"] as? [String: Any] ?? [:]) == NSDictionary(dictionary: push.payload))
        }
        // Applying the events leaves m1 with its last text and no reactions.
        let updates = events.filter { $0["action"] as? String == "message_updated" }
        let lastM1 = updates.last.flatMap { ($0["data"] as? [String: Any])?["message"] as? [String: Any] }
        #expect(lastM1?["text"] as? String == "first, edited twice")
        // A second sync from there has nothing.
        let again = try await h.request(back, bk, "sync", ["since": seq])
        #expect((again.payload["events"] as? [Any])?.isEmpty == true)
        #expect(again.payload["has_more"] as? Bool == false)
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func pagesAndRefusesASinceFromTheFuture(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (a, ak) = h.connect()
        let login = try await h.request(a, ak, "login", ["username": "ana"])
        let start = try #require((login.payload["seq"] as? NSNumber)?.int64Value)
        var ids: [Int64] = []
        for i in 0..<7 { ids.append(Self.messageID(try await h.request(a, ak, "send_message", ["room": "general", "text": "m\(i)"]))) }
        let first = try await h.request(a, ak, "sync", ["since": start, "limit": 3])
        #expect((first.payload["events"] as? [Any])?.count == 3)
        #expect(first.payload["has_more"] as? Bool == true)
        #expect((first.payload["seq"] as? NSNumber)?.int64Value == ids[2])
        let (all, seq) = try await Self.syncAll(h, a, ak, since: start, limit: 3)
        // The user's own messages are in its sync: every device learns of them.
        #expect(all.compactMap { Self.seq($0) } == ids)
        #expect(seq == ids.last)
        // Message ids are the seq of their events.
        #expect(all.compactMap { (($0["data"] as? [String: Any])?["message"] as? [String: Any])?["id"] as? NSNumber }.map(\.int64Value) == ids)
        #expect(try await h.request(a, ak, "sync", ["since": seq + 1]).errorCode == "invalid_field")
        #expect(try await h.request(a, ak, "sync", ["since": -1]).errorCode == "invalid_field")
        #expect(try await h.request(a, ak, "sync", ["since": 0, "limit": 0]).errorCode == "invalid_field")
        #expect(try await h.request(a, ak, "sync", [:]).errorCode == "missing_field")
        try await h.stop()
    }

    /// Login's `seq` is where the session starts: an event after it reaches the session as a
    /// push or through `sync`, an event before it is already reflected in the login reply.
    @Test(arguments: StoreBackend.allCases) func aGuestSyncsItsOwnSession(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (a, ak) = h.connect()
        try await h.request(a, ak, "login", ["username": "ana"])
        try await h.request(a, ak, "send_message", ["room": "general", "text": "before the guest"])
        let (g, gk) = h.connect()
        let login = try await h.request(g, gk, "login", ["username": "gus"])
        let start = try #require((login.payload["seq"] as? NSNumber)?.int64Value)
        #expect((login.payload["conversations"] as? [Any])?.isEmpty == true)
        try await h.request(a, ak, "send_message", ["room": "general", "text": "after"])
        try await h.request(a, ak, "create_room", ["name": "later"])
        try await h.request(a, ak, "send_message", ["room": "later", "text": "not for gus"])
        let (events, _) = try await Self.syncAll(h, g, gk, since: start)
        #expect(events.map { $0["action"] as? String } == ["receive_message", "room_updated"])
        #expect(events.compactMap { Self.seq($0) } == gk.pushes("receive_message").compactMap(Self.seq) + gk.pushes("room_updated").compactMap(Self.seq))
        try await h.stop()
    }
}
