import Foundation
import NIOCore
import SalonCore
import SalonProtocol
import Synchronization
import Testing

@Suite struct AccountTests {
    @Test(arguments: StoreBackend.allCases) func registerLoginTokenAndLogout(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (s1, k1) = h.connect()
        let reg = try await h.request(s1, k1, "register", ["username": "Ana", "password": "correct horse"])
        #expect(reg.action == "success")
        let token = try #require(reg.payload["token"] as? String)
        #expect((reg.payload["user"] as? [String: Any])?["role"] as? String == "user")
        #expect((reg.payload["rooms"] as? [[String: Any]])?.map { $0["name"] as? String } == ["general"])

        // Names are unique without regard to case.
        let (s2, k2) = h.connect()
        #expect(try await h.request(s2, k2, "register", ["username": "ANA", "password": "whatever1"]).errorCode == "username_taken")
        #expect(try await h.request(s2, k2, "login", ["username": "ana", "password": "wrong password"]).errorCode == "auth_failed")
        #expect(try await h.request(s2, k2, "login", ["username": "nobody", "password": "wrong password"]).errorCode == "auth_failed")
        let byToken = try await h.request(s2, k2, "login", ["token": token])
        #expect((byToken.payload["user"] as? [String: Any])?["username"] as? String == "Ana")
        #expect(byToken.payload["token"] == nil)

        // Logout revokes the token the session logged in with.
        #expect(try await h.request(s2, k2, "logout").action == "success")
        let (s3, k3) = h.connect()
        #expect(try await h.request(s3, k3, "login", ["token": token]).errorCode == "auth_failed")
        #expect(try await h.request(s3, k3, "login", ["token": "0123"]).errorCode == "auth_failed")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func registrationRules(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (s, k) = h.connect()
        #expect(try await h.request(s, k, "register", ["username": "a b", "password": "longenough"]).errorCode == "invalid_username")
        #expect(try await h.request(s, k, "register", ["username": String(repeating: "x", count: 33), "password": "longenough"]).errorCode == "invalid_username")
        #expect(try await h.request(s, k, "register", ["username": "bob", "password": "short"]).errorCode == "weak_password")
        #expect(try await h.request(s, k, "register", ["username": "bob"]).errorCode == "missing_field")
        #expect(try await h.request(s, k, "register", ["username": "bob", "password": "longenough"]).action == "success")
        #expect(try await h.request(s, k, "register", ["username": "bob2", "password": "longenough"]).errorCode == "forbidden")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func guests(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (r, rk) = h.connect()
        try await h.request(r, rk, "register", ["username": "carol", "password": "longenough"])
        let (g1, k1) = h.connect()
        let guest = try await h.request(g1, k1, "login", ["username": "Zed"])
        #expect((guest.payload["user"] as? [String: Any])?["role"] as? String == "guest")
        #expect(guest.payload["token"] == nil)
        let (g2, k2) = h.connect()
        #expect(try await h.request(g2, k2, "login", ["username": "zed"]).errorCode == "username_taken")
        #expect(try await h.request(g2, k2, "login", ["username": "Carol"]).errorCode == "password_required")
        #expect(try await h.request(g2, k2, "register", ["username": "zed", "password": "longenough"]).errorCode == "username_taken")
        // Once the guest is gone, its name is free again.
        h.router.close(g1)
        #expect(try await h.request(g2, k2, "login", ["username": "zed"]).action == "success")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func guestsCanBeDisabled(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make { $0.guestsAllowed = false }
        let (s, k) = h.connect()
        #expect(try await h.request(s, k, "login", ["username": "zed"]).errorCode == "guests_disabled")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func onlyRegisterLoginAndPingBeforeLogin(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (s, k) = h.connect()
        #expect(try await h.request(s, k, "ping").action == "success")
        for action in ["list_rooms", "send_message", "join_room", "history", "logout", "members", "list_users"] {
            #expect(try await h.request(s, k, action).errorCode == "auth_required", "\(action)")
        }
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func rateLimitAllowsABurstOfTwiceTheRate(_ backend: StoreBackend) async throws {
        // One a second, bursts of two: refilling a token takes a whole second, far longer
        // than three requests take, however loaded the machine.
        let h = try await CoreHarness.make { $0.rateLimit = 1 }
        let (s, k) = h.connect()
        var codes: [String?] = []
        for _ in 0..<3 {
            codes.append(try await h.request(s, k, "ping").errorCode)
        }
        #expect(codes == [nil, nil, "rate_limited"])
        try await h.stop()
    }
}

@Suite struct MessagingTests {
    /// Three registered users in `general`.
    private func threeUsers(_ h: CoreHarness) async throws -> [(Session, RecordingSink)] {
        var out: [(Session, RecordingSink)] = []
        for name in ["ana", "bob", "cyd"] {
            let (s, k) = h.connect()
            try await h.request(s, k, "register", ["username": name, "password": "longenough"])
            out.append((s, k))
        }
        out.forEach { $0.1.clear() }
        return out
    }

    @Test(arguments: StoreBackend.allCases) func fanOutEncodesOnceAndSkipsTheSender(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let users = try await threeUsers(h)
        let (ana, anaSink) = users[0]
        let reply = try await h.request(ana, anaSink, "send_message", ["room": "general", "text": "  hello all \n"])
        let message = try #require(reply.payload["message"] as? [String: Any])
        #expect(message["text"] as? String == "hello all")
        #expect(anaSink.pushes("receive_message").isEmpty)
        let bobFrames = users[1].1.frames
        let cydFrames = users[2].1.frames
        #expect(bobFrames.count == 1 && cydFrames.count == 1)
        // The very same bytes (one storage) went to both recipients.
        let a = bobFrames[0].framed.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let b = cydFrames[0].framed.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(a == b)
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func aCopyGoesToTheSendersOtherConnections(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (a1, k1) = h.connect()
        let token = try #require(try await h.request(a1, k1, "register", ["username": "ana", "password": "longenough"]).payload["token"] as? String)
        let (a2, k2) = h.connect()
        try await h.request(a2, k2, "login", ["token": token])
        k2.clear()
        try await h.request(a1, k1, "send_message", ["room": "general", "text": "from phone"])
        #expect(k1.pushes("receive_message").isEmpty)
        #expect(k2.pushes("receive_message").count == 1)
        // Private message to someone else: the peer and the sender's other connection.
        let (b, bk) = h.connect()
        try await h.request(b, bk, "register", ["username": "bob", "password": "longenough"])
        k2.clear()
        let dm = try await h.request(a1, k1, "send_message", ["to": "BOB", "text": "psst"])
        #expect((dm.payload["message"] as? [String: Any])?["to"] as? String == "bob")
        #expect(bk.pushes("receive_message").count == 1)
        #expect(k2.pushes("receive_message").count == 1)
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func idsStrictlyIncreaseUnderConcurrentSenders(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for n in 0..<6 {
                group.addTask {
                    let (s, k) = h.connect()
                    try await h.request(s, k, "login", ["username": "guest\(n)"])
                    var ids: [Int64] = []
                    for i in 0..<20 {
                        let reply = try await h.request(s, k, "send_message", ["room": "general", "text": "m\(i)"])
                        ids.append((reply.payload["message"] as? [String: Any])?["id"] as? Int64 ?? -1)
                    }
                    return ids
                }
            }
            var all: [[Int64]] = []
            for try await ids in group { all.append(ids) }
            return all
        }
        for perSender in ids {
            #expect(perSender == perSender.sorted() && Set(perSender).count == perSender.count)
        }
        let all = ids.flatMap { $0 }
        #expect(Set(all).count == 120)
        #expect(all.allSatisfy { $0 > 0 })
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func clientMessageIDMakesRetriesSafe(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let users = try await threeUsers(h)
        let (ana, k) = users[0]
        let first = try await h.request(ana, k, "send_message", ["room": "general", "text": "once", "client_msg_id": "m-1"])
        let again = try await h.request(ana, k, "send_message", ["room": "general", "text": "once", "client_msg_id": "m-1"])
        #expect((first.payload["message"] as? [String: Any])?["id"] as? Int64 == (again.payload["message"] as? [String: Any])?["id"] as? Int64)
        #expect(users[1].1.pushes("receive_message").count == 1)
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func messageValidation(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (s, k) = h.connect()
        try await h.request(s, k, "login", ["username": "ana"])
        #expect(try await h.request(s, k, "send_message", ["room": "general", "text": " \n\t "]).errorCode == "empty_message")
        #expect(try await h.request(s, k, "send_message", ["room": "general", "text": String(repeating: "é", count: 4001)]).errorCode == "message_too_long")
        #expect(try await h.request(s, k, "send_message", ["room": "general", "text": String(repeating: "é", count: 4000)]).action == "success")
        #expect(try await h.request(s, k, "send_message", ["room": "nowhere", "text": "x"]).errorCode == "room_not_found")
        #expect(try await h.request(s, k, "send_message", ["room": "Bad Name!", "text": "x"]).errorCode == "invalid_room_name")
        #expect(try await h.request(s, k, "send_message", ["to": "ghost", "text": "x"]).errorCode == "user_not_found")
        #expect(try await h.request(s, k, "send_message", ["text": "x"]).errorCode == "missing_field")
        #expect(try await h.request(s, k, "send_message", ["room": "general", "to": "ana", "text": "x"]).errorCode == "invalid_field")
        #expect(try await h.request(s, k, "send_message", ["room": "general", "text": "x", "reply_to": 999_999]).errorCode == "message_not_found")
        #expect(try await h.request(s, k, "send_message", ["room": "general", "text": "x", "client_msg_id": String(repeating: "c", count: 65)]).errorCode == "invalid_field")
        try await h.request(s, k, "create_room", ["name": "side"])
        try await h.request(s, k, "leave_room", ["room": "side"])
        #expect(try await h.request(s, k, "send_message", ["room": "side", "text": "x"]).errorCode == "not_member")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func historyPagesBothWays(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (s, k) = h.connect()
        try await h.request(s, k, "login", ["username": "ana"])
        var ids: [Int64] = []
        for i in 0..<7 {
            let reply = try await h.request(s, k, "send_message", ["room": "general", "text": "n\(i)"])
            ids.append((reply.payload["message"] as? [String: Any])?["id"] as? Int64 ?? 0)
        }
        func page(_ data: [String: Any]) async throws -> ([Int64], Bool) {
            let reply = try await h.request(s, k, "history", data)
            let messages = reply.payload["messages"] as? [[String: Any]] ?? []
            return (messages.compactMap { $0["id"] as? Int64 }, reply.payload["has_more"] as? Bool ?? false)
        }
        #expect(try await page(["room": "general", "limit": 3]) == (Array(ids[4...]), true))
        #expect(try await page(["room": "general", "limit": 3, "before": ids[4]]) == (Array(ids[1...3]), true))
        #expect(try await page(["room": "general", "limit": 3, "before": ids[1]]) == ([ids[0]], false))
        #expect(try await page(["room": "general", "limit": 3, "after": ids[0]]) == (Array(ids[1...3]), true))
        #expect(try await page(["room": "general", "limit": 3, "after": ids[3]]) == (Array(ids[4...]), false))
        #expect(try await page(["room": "general", "limit": 1000]).0 == ids)
        #expect(try await h.request(s, k, "history", ["room": "general", "limit": 0]).errorCode == "invalid_field")
        #expect(try await h.request(s, k, "history", ["room": "general", "before": 1, "after": 2]).errorCode == "invalid_field")
        try await h.stop()
    }
}

@Suite struct RoomTests {
    @Test(arguments: StoreBackend.allCases) func createJoinLeaveWithNotices(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (a, ak) = h.connect()
        let (b, bk) = h.connect()
        try await h.request(a, ak, "register", ["username": "ana", "password": "longenough"])
        try await h.request(b, bk, "register", ["username": "bob", "password": "longenough"])
        bk.clear()
        let created = try await h.request(a, ak, "create_room", ["name": "Dev", "topic": "builds"])
        #expect((created.payload["room"] as? [String: Any])?["name"] as? String == "dev")
        #expect(bk.pushes("room_updated").count == 1)
        #expect(try await h.request(b, bk, "create_room", ["name": "dev"]).errorCode == "room_exists")
        #expect(try await h.request(b, bk, "create_room", ["name": "no way"]).errorCode == "invalid_room_name")
        #expect(try await h.request(b, bk, "create_room", ["name": "x", "topic": String(repeating: "t", count: 257)]).errorCode == "invalid_field")

        try await h.request(a, ak, "send_message", ["room": "dev", "text": "first"])
        let joined = try await h.request(b, bk, "join_room", ["room": "#dev"])
        #expect((joined.payload["messages"] as? [[String: Any]])?.count == 1)
        let join = try #require(ak.pushes("system").last)
        #expect(join.payload["event"] as? String == "join")
        #expect(join.payload["username"] as? String == "bob")

        let members = try await h.request(a, ak, "members", ["room": "dev"])
        let list = members.payload["members"] as? [[String: Any]] ?? []
        #expect(list.map { $0["username"] as? String } == ["ana", "bob"])
        #expect(list.map { $0["role"] as? String } == ["owner", "member"])

        let rooms = try await h.request(b, bk, "list_rooms")
        let dev = (rooms.payload["rooms"] as? [[String: Any]])?.first { $0["name"] as? String == "dev" }
        #expect(dev?["members"] as? Int == 2)
        #expect(dev?["online"] as? Int == 2)
        #expect(dev?["unread"] as? Int == 0)

        // bob reads nothing while ana talks: unread grows.
        try await h.request(a, ak, "send_message", ["room": "dev", "text": "second"])
        let after = try await h.request(b, bk, "list_rooms")
        #expect((after.payload["rooms"] as? [[String: Any]])?.first { $0["name"] as? String == "dev" }?["unread"] as? Int == 1)

        #expect(try await h.request(b, bk, "leave_room", ["room": "dev"]).action == "success")
        #expect(ak.pushes("system").last?.payload["event"] as? String == "leave")
        #expect(try await h.request(b, bk, "leave_room", ["room": "dev"]).errorCode == "not_member")
        #expect(try await h.request(b, bk, "leave_room", ["room": "general"]).errorCode == "forbidden")
        #expect(try await h.request(b, bk, "join_room", ["room": "nope"]).errorCode == "room_not_found")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func privateRoomsAreHiddenAndClosed(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (a, ak) = h.connect()
        let (b, bk) = h.connect()
        try await h.request(a, ak, "login", ["username": "ana"])
        try await h.request(b, bk, "login", ["username": "bob"])
        bk.clear()
        try await h.request(a, ak, "create_room", ["name": "secret", "private": true])
        #expect(bk.pushes("room_updated").isEmpty)
        let rooms = try await h.request(b, bk, "list_rooms")
        #expect((rooms.payload["rooms"] as? [[String: Any]])?.contains { $0["name"] as? String == "secret" } == false)
        #expect(try await h.request(b, bk, "join_room", ["room": "secret"]).errorCode == "forbidden")
        // Any other action on a room one is not in is `not_member` (PROTOCOL.md §4).
        #expect(try await h.request(b, bk, "members", ["room": "secret"]).errorCode == "not_member")
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func presenceGoesToThoseWhoShareARoom(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make(backend: backend)
        let (a, ak) = h.connect()
        try await h.request(a, ak, "login", ["username": "ana"])
        let (b, bk) = h.connect()
        try await h.request(b, bk, "login", ["username": "bob"])
        #expect(ak.pushes("presence").last?.payload["username"] as? String == "bob")
        #expect(ak.pushes("presence").last?.payload["online"] as? Bool == true)
        let users = try await h.request(a, ak, "list_users")
        #expect((users.payload["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["ana", "bob"])
        h.router.close(b)
        #expect(ak.pushes("presence").last?.payload["online"] as? Bool == false)
        try await h.stop()
    }

    @Test(arguments: StoreBackend.allCases) func roomsAboveThePresenceLimitCarryNoPresence(_ backend: StoreBackend) async throws {
        let h = try await CoreHarness.make { $0.presenceRoomLimit = 2 }
        let (a, ak) = h.connect()
        let (b, bk) = h.connect()
        let (c, ck) = h.connect()
        try await h.request(a, ak, "login", ["username": "ana"])
        try await h.request(b, bk, "login", ["username": "bob"])
        #expect(ak.pushes("presence").map { $0.payload["username"] as? String } == ["bob"])
        try await h.request(a, ak, "create_room", ["name": "small"])
        // `general` now has three members, over the limit: carl's arrival is not pushed.
        try await h.request(c, ck, "login", ["username": "carl"])
        try await h.request(c, ck, "join_room", ["room": "small"])
        #expect(ak.pushes("presence").count == 1)
        #expect(bk.pushes("presence").isEmpty)
        // `small` (ana, carl) is under the limit: ana hears that carl left; bob does not.
        h.router.close(c)
        #expect(ak.pushes("presence").last?.payload["username"] as? String == "carl")
        #expect(ak.pushes("presence").last?.payload["online"] as? Bool == false)
        #expect(bk.pushes("presence").isEmpty)
        let users = try await h.request(b, bk, "list_users")
        #expect((users.payload["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["ana", "bob"])
        try await h.stop()
    }
}

@Suite struct InFlightLimitTests {
    @Test func waitsForAPlaceAndHandsItOverInOrder() async {
        let limit = InFlightLimit(limit: 2)
        await limit.acquire()
        await limit.acquire()
        #expect(limit.inUse == 2)
        let order = Locked<[Int]>([])
        let first = Task { await limit.acquire(); order.withLock { $0.append(1) } }
        // The first waiter is queued before the second is started.
        while limit.waiting < 1 { await Task.yield() }
        let second = Task { await limit.acquire(); order.withLock { $0.append(2) } }
        while limit.waiting < 2 { await Task.yield() }
        #expect(order.withLock { $0 }.isEmpty)
        limit.release()
        await first.value
        limit.release()
        await second.value
        #expect(order.withLock { $0 } == [1, 2])
        #expect(limit.inUse == 2)
    }
}

final class Locked<Value: Sendable>: Sendable {
    private let mutex: Synchronization.Mutex<Value>
    init(_ value: Value) { mutex = Synchronization.Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
