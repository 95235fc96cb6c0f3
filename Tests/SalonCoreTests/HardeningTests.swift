import Foundation
import HummingbirdBcrypt
@testable import SalonCore
import SalonProtocol
import Synchronization
import Testing

/// The defects found by trying to break Salon (issue: hardening), each at the core's level.
@Suite struct HardeningTests {
    // MARK: Replies stay bounded, lists are paged

    @Test func largeHistoryPagesStopAtTheBudgetWithHasMore() async throws {
        let h = try await CoreHarness.make()
        let (a, ak) = h.connect()
        try await h.request(a, ak, "login", ["username": "ana"])
        // 80 messages of 4,000 emoji: 16 KB each, 1.3 MB for a page of 80.
        let text = String(repeating: "😀", count: 4_000)
        for i in 0..<80 {
            #expect(try await h.request(a, ak, "send_message", ["room": "general", "text": text, "client_msg_id": "m\(i)"]).action == "success")
        }
        let page = try await h.request(a, ak, "history", ["room": "general", "limit": 200])
        let messages = try #require(page.payload["messages"] as? [[String: Any]])
        #expect(messages.count > 0 && messages.count < 80)
        #expect(page.payload["has_more"] as? Bool == true)
        let size = try JSONSerialization.data(withJSONObject: page).count
        #expect(size <= Limits.replyBudget + 20_000)
        // The newest are kept; the next page goes on from the oldest one given.
        let ids = messages.compactMap { $0["id"] as? Int64 ?? ($0["id"] as? Int).map(Int64.init) }
        let older = try await h.request(a, ak, "history", ["room": "general", "before": ids[0], "limit": 200])
        #expect((older.payload["messages"] as? [[String: Any]])?.isEmpty == false)
        // `after` keeps the oldest, `join_room` the latest that fit.
        let first = try await h.request(a, ak, "history", ["room": "general", "after": 0, "limit": 200])
        #expect(first.payload["has_more"] as? Bool == true)
        let joined = try await h.request(a, ak, "join_room", ["room": "general"])
        let joinedMessages = try #require(joined.payload["messages"] as? [[String: Any]])
        #expect(joinedMessages.count < 50 && !joinedMessages.isEmpty)
        #expect(try JSONSerialization.data(withJSONObject: joined).count <= Limits.replyBudget + 20_000)
        try await h.stop()
    }

    @Test func listsArePagedByNameWithLimitAndAfter() async throws {
        let h = try await CoreHarness.make { $0.roomsPerHour = 0 }
        let (a, ak) = h.connect()
        try await h.request(a, ak, "login", ["username": "ana"])
        for i in 0..<12 { try await h.request(a, ak, "create_room", ["name": String(format: "room-%02d", i)]) }
        let first = try await h.request(a, ak, "list_rooms", ["limit": 5])
        let names = (first.payload["rooms"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["general", "room-00", "room-01", "room-02", "room-03"])
        #expect(first.payload["has_more"] as? Bool == true)
        let rest = try await h.request(a, ak, "list_rooms", ["limit": 100, "after": "room-03"])
        #expect((rest.payload["rooms"] as? [[String: Any]])?.count == 8)
        #expect(rest.payload["has_more"] as? Bool == false)
        #expect(try await h.request(a, ak, "list_rooms", ["limit": 0]).errorCode == "invalid_field")

        var sessions: [(Session, RecordingSink)] = []
        for name in ["Zoe", "bea", "Carl", "dan"] {
            let c = h.connect()
            try await h.request(c.0, c.1, "login", ["username": name])
            sessions.append(c)
        }
        let users = try await h.request(a, ak, "list_users", ["limit": 2, "after": "bea"])
        #expect((users.payload["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["Carl", "dan"])
        #expect(users.payload["has_more"] as? Bool == true)
        let members = try await h.request(a, ak, "members", ["room": "general", "limit": 3])
        #expect((members.payload["members"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["ana", "bea", "Carl"])
        #expect(members.payload["has_more"] as? Bool == true)
        try await h.stop()
    }

    @Test func roomCreationIsRateLimitedAndCapped() async throws {
        let limited = try await CoreHarness.make { $0.roomsPerHour = 2 }
        let (a, ak) = limited.connect()
        try await limited.request(a, ak, "login", ["username": "ana"])
        for i in 0..<2 { #expect(try await limited.request(a, ak, "create_room", ["name": "a\(i)"]).action == "success") }
        let refused = try await limited.request(a, ak, "create_room", ["name": "a2"])
        #expect(refused.errorCode == "rate_limited")
        #expect((refused.payload["message"] as? String)?.range(of: #"\d+ s"#, options: .regularExpression) != nil)
        try await limited.stop()

        let h = try await CoreHarness.make { c in
            c.maxRooms = 5
            c.maxRoomsPerUser = 3
        }
        let (b, bk) = h.connect()
        try await h.request(b, bk, "login", ["username": "bob"])
        for name in ["b0", "b1"] { #expect(try await h.request(b, bk, "create_room", ["name": name]).action == "success") }
        // A user in `maxRoomsPerUser` rooms creates and joins no more.
        #expect(try await h.request(b, bk, "create_room", ["name": "b2"]).errorCode == "forbidden")
        let (c, ck) = h.connect()
        try await h.request(c, ck, "login", ["username": "cat"])
        for name in ["c0", "c1"] { #expect(try await h.request(c, ck, "create_room", ["name": name]).action == "success") }
        #expect(try await h.request(b, bk, "join_room", ["room": "c0"]).errorCode == "forbidden")
        // The server holds at most `maxRooms`.
        let (d, dk) = h.connect()
        try await h.request(d, dk, "login", ["username": "dan"])
        #expect(try await h.request(d, dk, "create_room", ["name": "d0"]).errorCode == "forbidden")
        try await h.stop()
    }

    @Test func topicsCountScalarsNotGraphemes() async throws {
        let h = try await CoreHarness.make()
        let (a, ak) = h.connect()
        try await h.request(a, ak, "login", ["username": "ana"])
        let heavy = String(repeating: "e" + String(repeating: "\u{0301}", count: 100), count: 3)  // 3 graphemes, 303 scalars
        #expect(try await h.request(a, ak, "create_room", ["name": "t1", "topic": heavy]).errorCode == "invalid_field")
        let fine = String(repeating: "é", count: 256)
        #expect(try await h.request(a, ak, "create_room", ["name": "t2", "topic": fine]).action == "success")
        try await h.stop()
    }

    // MARK: People are ids

    @Test func aGuestNamesNextHolderCannotReadTheEarlierHoldersPrivateMessages() async throws {
        let h = try await CoreHarness.make()
        let (ana, ak) = h.connect()
        try await h.request(ana, ak, "register", ["username": "Ana", "password": "correct horse"])
        let (bob, bk) = h.connect()
        try await h.request(bob, bk, "login", ["username": "Bob"])
        #expect(try await h.request(bob, bk, "send_message", ["to": "Ana", "text": "secret from the first bob"]).action == "success")
        #expect(try await h.request(ana, ak, "send_message", ["to": "Bob", "text": "secret reply"]).action == "success")
        h.router.close(bob)

        // A new guest with the name sees nothing of it, nor does Ana see it with the new one.
        let (bob2, b2k) = h.connect()
        try await h.request(bob2, b2k, "login", ["username": "bob"])
        let theirs = try await h.request(bob2, b2k, "history", ["with": "Ana"])
        #expect((theirs.payload["messages"] as? [[String: Any]])?.isEmpty == true)
        let anas = try await h.request(ana, ak, "history", ["with": "bob"])
        #expect((anas.payload["messages"] as? [[String: Any]])?.isEmpty == true)
        // The same client_msg_id from the new holder is a new message, not the old one.
        let again = try await h.request(bob2, b2k, "send_message", ["to": "Ana", "text": "hello", "client_msg_id": "x"])
        #expect((again.payload["message"] as? [String: Any])?["text"] as? String == "hello")
        h.router.close(bob2)

        // Nor does an account registered later with the name.
        let (reg, rk) = h.connect()
        try await h.request(reg, rk, "register", ["username": "BoB", "password": "another horse"])
        let registered = try await h.request(reg, rk, "history", ["with": "ana"])
        #expect((registered.payload["messages"] as? [[String: Any]])?.isEmpty == true)
        try await h.stop()
    }

    // MARK: Passwords

    @Test func everyByteOfAPasswordCounts() async throws {
        let h = try await CoreHarness.make()
        let (s, k) = h.connect()
        #expect(try await h.request(s, k, "register", ["username": "nul", "password": "\u{0}abcdefgh"]).errorCode == "invalid_field")
        #expect(try await h.request(s, k, "register", ["username": "nul", "password": "ab\u{0}cdefgh"]).errorCode == "invalid_field")
        #expect(try await h.request(s, k, "login", ["username": "nul", "password": "ab\u{0}"]).errorCode == "invalid_field")
        let common = String(repeating: "p", count: 72)
        #expect(try await h.request(s, k, "register", ["username": "long", "password": common + "first"]).action == "success")
        let (t, tk) = h.connect()
        #expect(try await h.request(t, tk, "login", ["username": "long", "password": common + "other"]).errorCode == "auth_failed")
        #expect(try await h.request(t, tk, "login", ["username": "long", "password": common]).errorCode == "auth_failed")
        #expect(try await h.request(t, tk, "login", ["username": "long", "password": common + "first"]).action == "success")
        try await h.stop()
    }

    @Test func hashesArePreHashedAndTheOldKindStillWorks() async throws {
        let hasher = PasswordHasher(cost: 4)
        let hash = try await hasher.hash("correct horse")
        #expect(hash.hasPrefix("sha256+$2"))
        #expect(!PasswordHasher.needsRehash(hash))
        #expect(try await hasher.verify("correct horse", hash: hash))
        #expect(try await !hasher.verify("correct horsf", hash: hash))
    }

    @Test func anAccountWithAnOldHashLogsInAndGetsTheNewKind() async throws {
        let h = try await CoreHarness.make()
        // A plain bcrypt hash of the password, as the first version stored them.
        let legacy = Bcrypt.hash("password1", cost: 4)
        #expect(PasswordHasher.needsRehash(legacy))
        _ = try await h.router.store.register(username: "old", key: "old", passwordHash: legacy, role: .user, generalID: 1, at: .now())
        try await h.stop()
        let again = try await CoreHarness.make(reopening: h)  // loads the account
        let (s, k) = again.connect()
        #expect(try await again.request(s, k, "login", ["username": "old", "password": "wrong one"]).errorCode == "auth_failed")
        #expect(try await again.request(s, k, "login", ["username": "old", "password": "password1"]).action == "success")
        let stored = try #require(try await again.router.store.user(key: "old"))
        #expect(!PasswordHasher.needsRehash(stored.passwordHash))
        let (t, tk) = again.connect()
        #expect(try await again.request(t, tk, "login", ["username": "old", "password": "password1"]).action == "success")
        try await again.stop()
    }

    @Test func failedLoginsAreThrottledPerAccountAndAddress() async throws {
        let h = try await CoreHarness.make()
        let (r, rk) = h.connect()
        try await h.request(r, rk, "register", ["username": "target", "password": "the right one"])
        try await h.request(r, rk, "logout")
        let (other, ok) = h.connect()
        try await h.request(other, ok, "register", ["username": "bystander", "password": "bystander pw"])
        try await h.request(other, ok, "logout")
        let (g, gk) = h.connect()
        var codes: [String] = []
        for _ in 0..<8 {
            codes.append(try await h.request(g, gk, "login", ["username": "target", "password": "guess guess"]).errorCode ?? "success")
        }
        #expect(codes.prefix(5).allSatisfy { $0 == "auth_failed" })
        #expect(codes.suffix(3).allSatisfy { $0 == "rate_limited" })
        let refused = try await h.request(g, gk, "login", ["username": "target", "password": "the right one"])
        #expect(refused.errorCode == "rate_limited")
        #expect((refused.payload["message"] as? String)?.range(of: #"\d+ s"#, options: .regularExpression) != nil)
        // Another account logs in meanwhile.
        let (b, bk) = h.connect()
        #expect(try await h.request(b, bk, "login", ["username": "bystander", "password": "bystander pw"]).action == "success")
        try await h.stop()
    }

    // MARK: Stored text

    @Test func controlCharactersAreRefusedInTextTopicsAndClientIDs() async throws {
        let h = try await CoreHarness.make()
        let (a, ak) = h.connect()
        try await h.request(a, ak, "login", ["username": "ana"])
        for bad in ["before\u{0}after", "innocent\u{1b}]0;PWNED\u{07}", "a\rb", "c1\u{85}x", "del\u{7f}"] {
            #expect(try await h.request(a, ak, "send_message", ["room": "general", "text": bad]).errorCode == "invalid_field", "\(bad.debugDescription)")
            #expect(try await h.request(a, ak, "create_room", ["name": "x", "topic": bad]).errorCode == "invalid_field")
        }
        #expect(try await h.request(a, ak, "send_message", ["room": "general", "text": "ok", "client_msg_id": "a\u{0}b"]).errorCode == "invalid_field")
        let fine = try await h.request(a, ak, "send_message", ["room": "general", "text": "line one\n\tline two"])
        #expect((fine.payload["message"] as? [String: Any])?["text"] as? String == "line one\n\tline two")
        let history = try await h.request(a, ak, "history", ["room": "general"])
        #expect((history.payload["messages"] as? [[String: Any]])?.last?["text"] as? String == "line one\n\tline two")
        try await h.stop()
    }

    // MARK: Tokens

    @Test func logoutEndsEveryConnectionOfTheToken() async throws {
        let h = try await CoreHarness.make()
        let (a, ak) = h.connect()
        let token = try #require(try await h.request(a, ak, "register", ["username": "ana", "password": "correct horse"]).payload["token"] as? String)
        let (b, bk) = h.connect()
        try await h.request(b, bk, "login", ["token": token])
        let (c, ck) = h.connect()
        try await h.request(c, ck, "login", ["username": "ana", "password": "correct horse"])  // another token
        #expect(try await h.request(b, bk, "logout").action == "success")
        #expect(ak.closedReason == .logout)
        #expect(ck.closedReason == nil)
        let (d, dk) = h.connect()
        #expect(try await h.request(d, dk, "login", ["token": token]).errorCode == "auth_failed")
        try await h.stop()
    }

    @Test func tokensUnusedForTheExpiryPeriodExpire() async throws {
        let h = try await CoreHarness.make { $0.tokenExpiryDays = 90 }
        let (a, ak) = h.connect()
        try await h.request(a, ak, "register", ["username": "ana", "password": "correct horse"])
        let store = h.router.store
        let user = try #require(try await store.user(key: "ana"))
        let old = Timestamp(milliseconds: Timestamp.now().milliseconds - 91 * 86_400_000)
        let recent = Timestamp(milliseconds: Timestamp.now().milliseconds - 89 * 86_400_000)
        try await store.insertToken(hash: SessionToken.hash("old-token"), userID: user.id, at: old)
        try await store.insertToken(hash: SessionToken.hash("recent-token"), userID: user.id, at: recent)
        let (b, bk) = h.connect()
        #expect(try await h.request(b, bk, "login", ["token": "old-token"]).errorCode == "auth_failed")
        #expect(try await h.request(b, bk, "login", ["token": "recent-token"]).action == "success")
        try await h.stop()
    }

    // MARK: Names

    @Test func lookAlikeNamesAreRefused() async throws {
        let h = try await CoreHarness.make()
        let (a, ak) = h.connect()
        try await h.request(a, ak, "register", ["username": "liam", "password": "correct horse"])
        for name in ["Iiam", "1iam", "Iiarn", "li4m", "LIAM.", "l_iam"] {
            let (g, gk) = h.connect()
            #expect(try await h.request(g, gk, "login", ["username": name]).errorCode == "username_taken", "\(name)")
            #expect(try await h.request(g, gk, "register", ["username": name, "password": "another one"]).errorCode == "username_taken", "\(name)")
        }
        // A connected guest's name is protected the same way, and freed when it leaves.
        let (g, gk) = h.connect()
        try await h.request(g, gk, "login", ["username": "olga"])
        let (x, xk) = h.connect()
        #expect(try await h.request(x, xk, "login", ["username": "0lga"]).errorCode == "username_taken")
        h.router.close(g)
        #expect(try await h.request(x, xk, "login", ["username": "0lga"]).action == "success")
        #expect(NameSkeleton.of("liam") == NameSkeleton.of("Iiarn"))
        #expect(NameSkeleton.of("ana") != NameSkeleton.of("anna"))
        try await h.stop()
    }
}
