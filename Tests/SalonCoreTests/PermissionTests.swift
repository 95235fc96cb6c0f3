import Foundation
@testable import SalonCore
import SalonProtocol
import Testing

/// The permission table (`Actions.table`, `Permission`): every action that declares one, by
/// every rank, on a room the caller is in or not, gets the answer PROTOCOL.md §4 and §7 give.
@Suite struct PermissionTests {
    enum Caller: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case outsider, member, owner, admin
        var testDescription: String { rawValue }
    }

    /// A server with an admin (made in the store, as `salon admin set-role` will), an owner of
    /// the public room `club` and of the private room `den`, a member of both, and an outsider.
    static func world(_ backend: StoreBackend) async throws -> (CoreHarness, [Caller: (Session, RecordingSink)]) {
        let first = try await CoreHarness.make(backend: backend)
        try await first.stop()
        let (store, _) = try await backend.openPlace(first.place)
        try await store.migrate()
        let general = try await store.ensureRoom(name: "general", at: .now())
        let hash = try await PasswordHasher(cost: 4).hash("root password")
        _ = try await store.register(username: "root", key: "root", passwordHash: hash, role: .admin, generalID: general.id, at: .now())
        try await store.close()
        let h = try await CoreHarness.make(reopening: first)
        var callers: [Caller: (Session, RecordingSink)] = [:]
        for caller in Caller.allCases {
            let (s, k) = h.connect()
            if caller == .admin {
                #expect(try await h.request(s, k, "login", ["username": "root", "password": "root password"]).action == "success")
            } else {
                #expect(try await h.request(s, k, "register", ["username": caller.rawValue, "password": "\(caller.rawValue) password"]).action == "success")
            }
            callers[caller] = (s, k)
        }
        let (owner, ok) = try #require(callers[.owner])
        #expect(try await h.request(owner, ok, "create_room", ["name": "club"]).action == "success")
        #expect(try await h.request(owner, ok, "create_room", ["name": "den", "private": true]).action == "success")
        let (member, mk) = try #require(callers[.member])
        #expect(try await h.request(member, mk, "join_room", ["room": "club"]).action == "success")
        return (h, callers)
    }

    static func answer(_ reply: [String: Any]) -> String {
        reply.errorCode ?? reply.action ?? "?"
    }

    @Test(arguments: StoreBackend.allCases) func setTopicFollowsRank(_ backend: StoreBackend) async throws {
        let (h, callers) = try await Self.world(backend)
        let expected: [Caller: String] = [.outsider: "not_member", .member: "forbidden", .owner: "success", .admin: "success"]
        for caller in Caller.allCases {
            let (s, k) = try #require(callers[caller])
            let reply = try await h.request(s, k, "set_topic", ["room": "club", "topic": "by \(caller.rawValue)"])
            #expect(Self.answer(reply) == expected[caller], "\(caller): \(reply)")
        }
        // The members heard of the change; the outsider did not; the room says it.
        let (_, mk) = try #require(callers[.member])
        #expect(mk.pushes("system").contains { $0.payload["event"] as? String == "topic" && $0.payload["room"] as? String == "club" })
        #expect(mk.pushes("room_updated").contains { ($0.payload["room"] as? [String: Any])?["topic"] as? String == "by admin" })
        let (_, xk) = try #require(callers[.outsider])
        #expect(!xk.pushes("system").contains { $0.payload["event"] as? String == "topic" })
        // A private room's topic: nothing for outsiders, not even whether it exists beyond
        // `not_member`; bad input refused.
        let (outsider, ok2) = try #require(callers[.outsider])
        #expect(Self.answer(try await h.request(outsider, ok2, "set_topic", ["room": "den", "topic": "x"])) == "not_member")
        #expect(Self.answer(try await h.request(outsider, ok2, "set_topic", ["room": "nowhere", "topic": "x"])) == "room_not_found")
        let (owner, ownerSink) = try #require(callers[.owner])
        #expect(Self.answer(try await h.request(owner, ownerSink, "set_topic", ["room": "club", "topic": String(repeating: "t", count: 257)])) == "invalid_field")
        #expect(Self.answer(try await h.request(owner, ownerSink, "set_topic", ["room": "club"])) == "missing_field")
        // It survives a restart.
        try await h.stop()
        let again = try await CoreHarness.make(reopening: h)
        let (s, k) = again.connect()
        try await again.request(s, k, "login", ["username": "member", "password": "member password"])
        let rooms = try await again.request(s, k, "list_rooms")
        #expect((rooms.payload["rooms"] as? [[String: Any]])?.first { $0["name"] as? String == "club" }?["topic"] as? String == "by admin")
        try await again.stop()
    }
}
