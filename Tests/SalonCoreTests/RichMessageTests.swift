import Foundation
import SalonCore
import SalonProtocol
import Testing

/// Replies, edits, deletions, reactions, typing, read markers, search and the conversations
/// of `login` (PROTOCOL.md §3 and §5): each rule and each error.
@Suite struct RichMessageTests {
    typealias Client = (session: Session, sink: RecordingSink)

    /// Ana and Bob (accounts) in `books`, Cy (an account) only in `general`.
    static func people(_ h: CoreHarness) async throws -> (ana: Client, bob: Client, cy: Client) {
        var out: [Client] = []
        for name in ["ana", "bob", "cy"] {
            let c = h.connect()
            try await h.request(c.0, c.1, "register", ["username": name, "password": "\(name) password"])
            out.append(c)
        }
        try await h.request(out[0].0, out[0].1, "create_room", ["name": "books"])
        try await h.request(out[1].0, out[1].1, "join_room", ["room": "books"])
        for c in out { c.1.clear() }
        return (out[0], out[1], out[2])
    }

    static func id(_ reply: [String: Any]) -> Int64 { SyncTests.messageID(reply) }

    static func message(_ reply: [String: Any]) -> [String: Any] { reply.payload["message"] as? [String: Any] ?? [:] }

    @Test(arguments: StoreBackend.allCases) func repliesNameAMessageOfTheSameConversation(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (ana, bob, _) = try await Self.people(h)
        let first = Self.id(try await h.request(ana.0, ana.1, "send_message", ["room": "books", "text": "a question"]))
        let elsewhere = Self.id(try await h.request(ana.0, ana.1, "send_message", ["room": "general", "text": "hi"]))
        let reply = try await h.request(bob.0, bob.1, "send_message", ["room": "books", "text": "an answer", "reply_to": first])
        #expect((Self.message(reply)["reply_to"] as? NSNumber)?.int64Value == first)
        #expect(try await h.request(bob.0, bob.1, "send_message", ["room": "books", "text": "x", "reply_to": elsewhere]).errorCode == "message_not_found")
        #expect(try await h.request(bob.0, bob.1, "send_message", ["room": "books", "text": "x", "reply_to": 999_999]).errorCode == "message_not_found")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func editsAreTheAuthorsAndReachEveryoneElse(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (ana, bob, cy) = try await Self.people(h)
        let (anaPhone, phoneSink) = h.connect()
        let token = try await h.request(anaPhone, phoneSink, "login", ["username": "ana", "password": "ana password"])
        #expect(token.action == "success")
        let id = Self.id(try await h.request(ana.0, ana.1, "send_message", ["room": "books", "text": "helo"]))
        phoneSink.clear(); bob.1.clear()
        let edited = try await h.request(ana.0, ana.1, "edit_message", ["id": id, "text": "  hello  "])
        #expect(Self.message(edited)["text"] as? String == "hello")
        #expect(Self.message(edited)["edited"] is String)
        // Everyone else, the author's other connections included, gets message_updated; the
        // editing connection only its reply.
        for sink in [bob.1, phoneSink] {
            let update = try #require(sink.pushes("message_updated").first)
            #expect((update.payload["message"] as? [String: Any])?["text"] as? String == "hello")
            #expect(update.payload["seq"] is NSNumber)
        }
        #expect(ana.1.pushes("message_updated").isEmpty)
        #expect(try await h.request(bob.0, bob.1, "edit_message", ["id": id, "text": "mine now"]).errorCode == "forbidden")
        #expect(try await h.request(cy.0, cy.1, "edit_message", ["id": id, "text": "x"]).errorCode == "message_not_found")
        #expect(try await h.request(ana.0, ana.1, "edit_message", ["id": id, "text": "   "]).errorCode == "empty_message")
        #expect(try await h.request(ana.0, ana.1, "edit_message", ["id": id, "text": String(repeating: "x", count: 4001)]).errorCode == "message_too_long")
        #expect(try await h.request(ana.0, ana.1, "edit_message", ["id": 999_999, "text": "x"]).errorCode == "message_not_found")
        #expect(try await h.request(ana.0, ana.1, "edit_message", ["text": "x"]).errorCode == "missing_field")
        let history = try await h.request(bob.0, bob.1, "history", ["room": "books"])
        #expect((history.payload["messages"] as? [[String: Any]])?.last?["text"] as? String == "hello")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func deletionsLeaveTombstonesAndFollowRank(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (ana, bob, cy) = try await Self.people(h)
        let bobs = Self.id(try await h.request(bob.0, bob.1, "send_message", ["room": "books", "text": "by bob"]))
        let anas = Self.id(try await h.request(ana.0, ana.1, "send_message", ["room": "books", "text": "by ana"]))
        try await h.request(ana.0, ana.1, "react", ["id": bobs, "emoji": "👍"])
        // Bob is a plain member: not Ana's message; Cy is not in the room at all.
        #expect(try await h.request(bob.0, bob.1, "delete_message", ["id": anas]).errorCode == "forbidden")
        #expect(try await h.request(cy.0, cy.1, "delete_message", ["id": anas]).errorCode == "message_not_found")
        // Ana owns the room: she may delete Bob's message.
        ana.1.clear(); bob.1.clear()
        #expect(try await h.request(ana.0, ana.1, "delete_message", ["id": bobs]).action == "success")
        let push = try #require(bob.1.pushes("message_deleted").first)
        #expect((push.payload["id"] as? NSNumber)?.int64Value == bobs)
        #expect(push.payload["room"] as? String == "books")
        #expect(ana.1.pushes("message_deleted").isEmpty)
        let history = try await h.request(bob.0, bob.1, "history", ["room": "books"])
        let tomb = try #require((history.payload["messages"] as? [[String: Any]])?.first { ($0["id"] as? NSNumber)?.int64Value == bobs })
        #expect(tomb["deleted"] as? Bool == true && tomb["text"] as? String == "" && tomb["reactions"] == nil)
        #expect(try await h.request(bob.0, bob.1, "edit_message", ["id": bobs, "text": "back"]).errorCode == "message_not_found")
        #expect(try await h.request(ana.0, ana.1, "react", ["id": bobs, "emoji": "👍"]).errorCode == "message_not_found")
        #expect(try await h.request(ana.0, ana.1, "delete_message", ["id": bobs]).errorCode == "message_not_found")
        // The author deletes its own private message.
        let dm = Self.id(try await h.request(cy.0, cy.1, "send_message", ["to": "bob", "text": "secret"]))
        #expect(try await h.request(ana.0, ana.1, "delete_message", ["id": dm]).errorCode == "message_not_found")
        #expect(try await h.request(cy.0, cy.1, "delete_message", ["id": dm]).action == "success")
        #expect(bob.1.pushes("message_deleted").last?.payload["to"] as? String == "bob")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func reactionsAreOncePerPersonInOrder(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (ana, bob, _) = try await Self.people(h)
        let id = Self.id(try await h.request(ana.0, ana.1, "send_message", ["room": "books", "text": "vote"]))
        bob.1.clear()
        #expect(try await h.request(ana.0, ana.1, "react", ["id": id, "emoji": "🎉"]).action == "success")
        #expect(try await h.request(ana.0, ana.1, "react", ["id": id, "emoji": "🎉"]).action == "success")  // again: nothing changes
        try await h.request(bob.0, bob.1, "react", ["id": id, "emoji": "👍"])
        try await h.request(bob.0, bob.1, "react", ["id": id, "emoji": "🎉"])
        let pushes = bob.1.pushes("reaction")
        #expect(pushes.count == 1)
        #expect(pushes.first?.payload["emoji"] as? String == "🎉" && pushes.first?.payload["username"] as? String == "ana" && pushes.first?.payload["added"] as? Bool == true)
        var history = try await h.request(ana.0, ana.1, "history", ["room": "books"])
        var reactions = (history.payload["messages"] as? [[String: Any]])?.last?["reactions"] as? [[String: Any]]
        #expect(reactions?.map { $0["emoji"] as? String } == ["🎉", "👍"])
        #expect(reactions?.first?["count"] as? Int == 2 && reactions?.first?["users"] as? [String] == ["ana", "bob"])
        try await h.request(ana.0, ana.1, "react", ["id": id, "emoji": "🎉", "remove": true])
        #expect(try await h.request(ana.0, ana.1, "react", ["id": id, "emoji": "🎉", "remove": true]).action == "success")
        history = try await h.request(ana.0, ana.1, "history", ["room": "books"])
        reactions = (history.payload["messages"] as? [[String: Any]])?.last?["reactions"] as? [[String: Any]]
        #expect(reactions?.first?["users"] as? [String] == ["bob"])
        #expect(try await h.request(ana.0, ana.1, "react", ["id": id, "emoji": ""]).errorCode == "invalid_field")
        #expect(try await h.request(ana.0, ana.1, "react", ["id": id, "emoji": String(repeating: "a", count: 33)]).errorCode == "invalid_field")
        #expect(try await h.request(ana.0, ana.1, "react", ["id": id, "emoji": "\u{1b}[2J"]).errorCode == "invalid_field")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func typingReachesOthersOnlyAndIsNoEvent(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (ana, bob, cy) = try await Self.people(h)
        let (anaPhone, phoneSink) = h.connect()
        try await h.request(anaPhone, phoneSink, "login", ["username": "ana", "password": "ana password"])
        phoneSink.clear()
        #expect(try await h.request(ana.0, ana.1, "typing", ["room": "books"]).action == "success")
        let push = try #require(bob.1.pushes("typing").first)
        #expect(push.payload["room"] as? String == "books" && push.payload["username"] as? String == "ana" && push.payload["seq"] == nil)
        #expect(phoneSink.pushes("typing").isEmpty && cy.1.pushes("typing").isEmpty)
        try await h.request(ana.0, ana.1, "typing", ["to": "cy"])
        #expect(cy.1.pushes("typing").first?.payload["to"] as? String == "cy")
        #expect(bob.1.pushes("typing").count == 1)
        #expect(try await h.request(cy.0, cy.1, "typing", ["room": "books"]).errorCode == "not_member")
        #expect(try await h.request(cy.0, cy.1, "typing", ["to": "nobody"]).errorCode == "user_not_found")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func readMarkersFollowTheUserAcrossDevices(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (ana, bob, _) = try await Self.people(h)
        var last: Int64 = 0
        for i in 0..<3 { last = Self.id(try await h.request(ana.0, ana.1, "send_message", ["room": "books", "text": "m\(i)"])) }
        let (phone, pk) = h.connect()
        let login = try await h.request(phone, pk, "login", ["username": "bob", "password": "bob password"])
        let books = (login.payload["rooms"] as? [[String: Any]])?.first { $0["name"] as? String == "books" }
        #expect(books?["unread"] as? Int == 3)
        #expect(try await h.request(phone, pk, "mark_read", ["room": "books", "id": last]).action == "success")
        let read = try #require(bob.1.pushes("read").first)
        #expect(read.payload["room"] as? String == "books" && (read.payload["id"] as? NSNumber)?.int64Value == last && read.payload["seq"] is NSNumber)
        #expect(pk.pushes("read").isEmpty)
        let rooms = try await h.request(bob.0, bob.1, "list_rooms")
        #expect((rooms.payload["rooms"] as? [[String: Any]])?.first { $0["name"] as? String == "books" }?["unread"] as? Int == 0)
        #expect(try await h.request(phone, pk, "mark_read", ["room": "books", "id": -1]).errorCode == "invalid_field")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func searchFindsWordsAccentsPrefixesAndPhrasesInWhatOneMayRead(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (ana, bob, cy) = try await Self.people(h)
        func texts(_ c: Client, _ data: [String: Any]) async throws -> [String] {
            let reply = try await h.request(c.0, c.1, "search", data)
            #expect(reply.action == "success", "\(reply)")
            return (reply.payload["messages"] as? [[String: Any]])?.compactMap { $0["text"] as? String } ?? []
        }
        try await h.request(ana.0, ana.1, "send_message", ["room": "books", "text": "L'École est fermée"])
        try await h.request(ana.0, ana.1, "send_message", ["room": "books", "text": "the ecole opens"])
        try await h.request(ana.0, ana.1, "send_message", ["room": "books", "text": "a long message about nothing"])
        try await h.request(ana.0, ana.1, "send_message", ["room": "books", "text": "nothing about a message"])
        let secret = Self.id(try await h.request(ana.0, ana.1, "send_message", ["to": "bob", "text": "secret école plans"]))
        #expect(try await texts(bob, ["query": "ecole"]) == ["secret école plans", "the ecole opens", "L'École est fermée"])
        #expect(try await texts(bob, ["query": "ÉCOLE fermee"]) == ["L'École est fermée"])
        #expect(try await texts(bob, ["query": "mess"]) == ["nothing about a message", "a long message about nothing"])
        #expect(try await texts(bob, ["query": "\"message about\""]) == ["a long message about nothing"])
        #expect(try await texts(bob, ["query": "ecole", "room": "books"]).count == 2)
        #expect(try await texts(bob, ["query": "ecole", "with": "ana"]) == ["secret école plans"])
        // Cy is in neither the room nor the conversation.
        #expect(try await texts(cy, ["query": "ecole"]).isEmpty)
        #expect(try await h.request(cy.0, cy.1, "search", ["query": "ecole", "room": "books"]).errorCode == "not_member")
        // Edits and deletions are reflected at once.
        try await h.request(ana.0, ana.1, "edit_message", ["id": secret, "text": "nothing to see"])
        #expect(try await texts(bob, ["query": "secret"]).isEmpty)
        #expect(try await texts(bob, ["query": "see"]) == ["nothing to see"])
        try await h.request(ana.0, ana.1, "delete_message", ["id": secret])
        #expect(try await texts(bob, ["query": "see"]).isEmpty)
        // Pages, newest first.
        let first = try await h.request(bob.0, bob.1, "search", ["query": "nothing", "limit": 1])
        #expect(first.payload["has_more"] as? Bool == true)
        let before = ((first.payload["messages"] as? [[String: Any]])?.first?["id"] as? NSNumber)?.int64Value ?? 0
        #expect(try await texts(bob, ["query": "nothing", "before": before]) == ["a long message about nothing"])
        // What a user types is never query syntax.
        #expect(try await texts(bob, ["query": "NEAR(ecole) OR * ^"]).isEmpty)
        #expect(try await h.request(bob.0, bob.1, "search", ["query": "  "]).errorCode == "invalid_field")
        #expect(try await h.request(bob.0, bob.1, "search", ["query": "!!"]).errorCode == "invalid_field")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func loginListsPrivateConversationsWithUnreadCounts(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (ana, bob, cy) = try await Self.people(h)
        h.router.close(ana.0)
        try await h.request(bob.0, bob.1, "send_message", ["to": "ana", "text": "one"])
        try await h.request(bob.0, bob.1, "send_message", ["to": "ana", "text": "two"])
        let last = Self.id(try await h.request(cy.0, cy.1, "send_message", ["to": "ana", "text": "from cy"]))
        let (fresh, fk) = h.connect()
        let login = try await h.request(fresh, fk, "login", ["username": "ana", "password": "ana password"])
        let conversations = try #require(login.payload["conversations"] as? [[String: Any]])
        #expect(conversations.map { $0["with"] as? String } == ["cy", "bob"])
        #expect(conversations.map { $0["unread"] as? Int } == [1, 2])
        #expect((conversations.first?["last_message_id"] as? NSNumber)?.int64Value == last)
        try await h.request(fresh, fk, "mark_read", ["with": "bob", "id": last])
        let (other, ok) = h.connect()
        let again = try await h.request(other, ok, "login", ["username": "ana", "password": "ana password"])
        #expect((again.payload["conversations"] as? [[String: Any]])?.map { $0["unread"] as? Int } == [1, 0])
        try await h.stop()
    }

    /// A room created by a guest keeps its owner across a restart.
    @Test(arguments: StoreBackend.allCases) func aGuestsRoomKeepsItsOwner(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (g, gk) = h.connect()
        try await h.request(g, gk, "login", ["username": "gus"])
        try await h.request(g, gk, "create_room", ["name": "guestroom"])
        let (b, bk) = h.connect()
        try await h.request(b, bk, "register", ["username": "bob", "password": "bob password"])
        try await h.request(b, bk, "join_room", ["room": "guestroom"])
        try await h.stop()
        let again = try await CoreHarness.make(reopening: h)
        let (b2, bk2) = again.connect()
        try await again.request(b2, bk2, "login", ["username": "bob", "password": "bob password"])
        let members = try await again.request(b2, bk2, "members", ["room": "guestroom"])
        let list = (members.payload["members"] as? [[String: Any]])?.map { "\($0["username"] ?? "") \($0["role"] ?? "")" }
        #expect(list == ["bob member", "gus owner"])
        try await again.stop()
    }
}
