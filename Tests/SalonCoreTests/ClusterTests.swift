import Foundation
import SalonCore
import SalonProtocol
import Testing

/// Two nodes (two routers) on one PostgreSQL database behave as one server: what is committed
/// on one reaches the other's connections through PostgreSQL (LISTEN/NOTIFY carries the seq;
/// the events are read back), once, in `seq` order, with the in-memory state following.
@Suite(.timeLimit(.minutes(1))) struct ClusterTests {
    static func seqs(_ envelopes: [[String: Any]]) -> [Int64] {
        envelopes.compactMap { $0["reply_to"] == nil ? SyncTests.seq($0) : nil }
    }

    @Test(arguments: StoreBackend.allCases.filter { $0 == .postgres }) func twoNodesAreOneServer(_ backend: StoreBackend) async throws {
        let a = try await CoreHarness.make(backend: backend)
        let b = try await CoreHarness.make(reopening: a)
        let (ana, ak) = a.connect()
        try await a.request(ana, ak, "register", ["username": "ana", "password": "ana password"])
        let (bob, bk) = b.connect()
        #expect(try await b.request(bob, bk, "register", ["username": "bob", "password": "bob password"]).action == "success")
        let (watcher, wk) = b.connect()
        try await b.request(watcher, wk, "login", ["username": "cy"])  // a guest on node B

        // A room created on A is known on B; a join on B is known on A.
        #expect(try await a.request(ana, ak, "create_room", ["name": "books"]).action == "success")
        await bk.until { envelopes in envelopes.contains { $0.action == "room_updated" && ($0.payload["room"] as? [String: Any])?["name"] as? String == "books" } }
        #expect(try await b.request(bob, bk, "join_room", ["room": "books"]).action == "success")
        await ak.until { envelopes in envelopes.contains { $0.action == "system" && $0.payload["event"] as? String == "join" && $0.payload["username"] as? String == "bob" } }

        // Interleaved senders on both nodes: one strictly increasing sequence, each push once,
        // in order, on both sides.
        for i in 0..<10 {
            #expect(try await a.request(ana, ak, "send_message", ["room": "books", "text": "a\(i)"]).action == "success")
            #expect(try await b.request(bob, bk, "send_message", ["room": "books", "text": "b\(i)"]).action == "success")
            #expect(try await b.request(watcher, wk, "send_message", ["room": "general", "text": "c\(i)"]).action == "success")
        }
        await ak.until { envelopes in envelopes.filter { $0.action == "receive_message" && $0["reply_to"] == nil }.count >= 20 }
        await bk.until { envelopes in envelopes.filter { $0.action == "receive_message" && $0["reply_to"] == nil }.count >= 10 }
        for sink in [ak, bk, wk] {
            let seen = Self.seqs(sink.envelopes)
            #expect(seen == seen.sorted() && Set(seen).count == seen.count, "\(seen)")
        }
        let texts = ak.pushes("receive_message").compactMap { ($0.payload["message"] as? [String: Any])?["text"] as? String }
        #expect(Set(texts) == Set((0..<10).map { "b\($0)" } + (0..<10).map { "c\($0)" }))

        // A topic set on A is known on B (its members list and list_rooms say it).
        #expect(try await a.request(ana, ak, "set_topic", ["room": "books", "topic": "novels"]).action == "success")
        await bk.until { envelopes in envelopes.contains { $0.action == "system" && $0.payload["event"] as? String == "topic" } }
        let listed = try await b.request(bob, bk, "list_rooms")
        #expect((listed.payload["rooms"] as? [[String: Any]])?.first { $0["name"] as? String == "books" }?["topic"] as? String == "novels")

        // An edit on B reaches A as an update; the node that did not commit applies the
        // membership change: bob leaves on B, and A's members list follows.
        let b0 = try #require(ak.pushes("receive_message").first { ($0.payload["message"] as? [String: Any])?["text"] as? String == "b0" })
        let b0ID = try #require((b0.payload["message"] as? [String: Any])?["id"] as? NSNumber).int64Value
        #expect(try await a.request(ana, ak, "react", ["id": b0ID, "emoji": "👍"]).action == "success")
        #expect(try await b.request(bob, bk, "edit_message", ["id": b0ID, "text": "b0, edited"]).action == "success")
        await ak.until { envelopes in envelopes.contains { $0.action == "message_updated" } }
        let updated = try #require(ak.pushes("message_updated").first?.payload["message"] as? [String: Any])
        #expect(updated["text"] as? String == "b0, edited")
        #expect((updated["reactions"] as? [[String: Any]])?.first?["emoji"] as? String == "👍")  // kept by the update
        #expect(try await b.request(bob, bk, "leave_room", ["room": "books"]).action == "success")
        await ak.until { envelopes in envelopes.contains { $0.action == "system" && $0.payload["event"] as? String == "leave" } }
        let members = try await a.request(ana, ak, "members", ["room": "books"])
        #expect((members.payload["members"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["ana"])
        // A room deleted on A is gone on B.
        #expect(try await a.request(ana, ak, "delete_room", ["room": "books"]).action == "success")
        await bk.until { envelopes in envelopes.contains { $0.action == "room_updated" && $0.payload["removed"] as? Bool == true
            && ($0.payload["room"] as? [String: Any])?["name"] as? String == "books" && $0["reply_to"] == nil && ($0.payload["room"] as? [String: Any])?["members"] as? Int == 0 } }
        #expect(try await b.request(bob, bk, "join_room", ["room": "books"]).errorCode == "room_not_found")
        try await a.stop()
        try await b.stop()
    }

    /// Presence, typing and guest names across nodes: someone connected to two nodes is
    /// online once, and offline only when their last connection anywhere closes.
    @Test(arguments: StoreBackend.allCases.filter { $0 == .postgres }) func presenceTypingAndGuestNamesSpanNodes(_ backend: StoreBackend) async throws {
        let a = try await CoreHarness.make({ $0.nodeName = "a" }, backend: backend)
        let b = try await CoreHarness.make({ $0.nodeName = "b" }, reopening: a)
        let (bob, bk) = b.connect()
        let registered = try await b.request(bob, bk, "register", ["username": "bob", "password": "bob password"])
        let token = try #require(registered.payload["token"] as? String)
        let presence = { (name: String, online: Bool) in
            { (envelopes: [[String: Any]]) in
                envelopes.contains { $0.action == "presence" && $0.payload["username"] as? String == name && $0.payload["online"] as? Bool == online }
            }
        }
        // A guest on A: bob on B sees it come online, and list_users on B lists it.
        let (gus, gk) = a.connect()
        #expect(try await a.request(gus, gk, "login", ["username": "gus"]).action == "success")
        await bk.until(presence("gus", true))
        let users = try await b.request(bob, bk, "list_users")
        #expect((users.payload["users"] as? [[String: Any]])?.contains { $0["username"] as? String == "gus" && $0["online"] as? Bool == true } == true)
        // Its name is taken on B too.
        let (other, ok) = b.connect()
        #expect(try await b.request(other, ok, "login", ["username": "gus"]).errorCode == "username_taken")
        // Typing on A reaches B.
        #expect(try await a.request(gus, gk, "typing", ["room": "general"]).action == "success")
        await bk.until { $0.contains { $0.action == "typing" && $0.payload["username"] as? String == "gus" } }
        // Bob also connects on A; closing that connection leaves him online (on B).
        let (bobA, bak) = a.connect()
        #expect(try await a.request(bobA, bak, "login", ["token": token]).action == "success")
        a.router.close(bobA)
        // The guest leaves A: offline on B, and its name is free again everywhere.
        a.router.close(gus)
        await bk.until(presence("gus", false))
        #expect(!presence("bob", false)(bk.envelopes))
        #expect(try await b.request(other, ok, "login", ["username": "gus"]).action == "success")
        try await a.stop()
        try await b.stop()
    }

    /// Guessing an account's password on every node at once gets no more tries than on one.
    @Test(arguments: StoreBackend.allCases.filter { $0 == .postgres }) func failedLoginsCountOnEveryNode(_ backend: StoreBackend) async throws {
        let a = try await CoreHarness.make({ $0.nodeName = "a" }, backend: backend)
        let b = try await CoreHarness.make({ $0.nodeName = "b" }, reopening: a)
        let (ana, ak) = a.connect()
        #expect(try await a.request(ana, ak, "register", ["username": "ana", "password": "ana password"]).action == "success")
        var codes: [String?] = []
        for attempt in 0..<6 {
            let node = attempt % 2 == 0 ? a : b
            let (guess, gk) = node.connect()
            codes.append(try await node.request(guess, gk, "login", ["username": "ana", "password": "wrong \(attempt)"]).errorCode)
        }
        #expect(codes == Array(repeating: "auth_failed", count: 5) + ["rate_limited"], "\(codes)")
        try await a.stop()
        try await b.stop()
    }
}
