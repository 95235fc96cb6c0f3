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
    static func world(_ backend: StoreBackend, _ configure: (inout ChatConfiguration) -> Void = { _ in }) async throws -> (CoreHarness, [Caller: (Session, RecordingSink)]) {
        let first = try await CoreHarness.make(backend: backend)
        try await first.stop()
        let (store, _) = try await backend.openPlace(first.place)
        try await store.migrate()
        let general = try await store.ensureRoom(name: "general", at: .now())
        let hash = try await PasswordHasher(cost: 4).hash("root password")
        _ = try await store.register(username: "root", key: "root", passwordHash: hash, role: .admin, generalID: general.id, at: .now())
        try await store.close()
        let h = try await CoreHarness.make(configure, reopening: first)
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

    /// `set_room_role` (owner and admins) and `kick` (owner, moderators, admins), with the rank
    /// rule on the target: nobody acts on someone of equal or higher rank.
    @Test(arguments: StoreBackend.allCases) func roomRolesAndKicksFollowRank(_ backend: StoreBackend) async throws {
        let (h, callers) = try await Self.world(backend)
        let (owner, ok) = try #require(callers[.owner])
        let (member, mk) = try #require(callers[.member])
        let (admin, ak) = try #require(callers[.admin])
        let (outsider, xk) = try #require(callers[.outsider])
        let (mod, dk) = h.connect()
        try await h.request(mod, dk, "register", ["username": "mod", "password": "mod password"])
        try await h.request(mod, dk, "join_room", ["room": "club"])
        let (guest, gk) = h.connect()
        try await h.request(guest, gk, "login", ["username": "gus"])
        try await h.request(guest, gk, "join_room", ["room": "club"])
        try await h.request(admin, ak, "join_room", ["room": "club"])
        func role(_ s: Session, _ k: RecordingSink, _ name: String, _ role: String) async throws -> String {
            Self.answer(try await h.request(s, k, "set_room_role", ["room": "club", "username": name, "role": role]))
        }
        func kick(_ s: Session, _ k: RecordingSink, _ name: String) async throws -> String {
            Self.answer(try await h.request(s, k, "kick", ["room": "club", "username": name, "reason": "test"]))
        }
        // Room roles: the owner and admins only, on members below them.
        #expect(try await role(outsider, xk, "member", "moderator") == "not_member")
        #expect(try await role(member, mk, "mod", "moderator") == "forbidden")
        #expect(try await role(owner, ok, "mod", "moderator") == "success")
        #expect(try await role(mod, dk, "member", "moderator") == "forbidden")  // moderators cannot
        #expect(try await role(owner, ok, "owner", "member") == "forbidden")    // not oneself: equal rank
        #expect(try await role(owner, ok, "gus", "moderator") == "user_not_found")  // guests are no accounts
        #expect(try await role(owner, ok, "outsider", "moderator") == "not_member")
        #expect(try await role(owner, ok, "member", "boss") == "invalid_field")
        #expect(try await role(owner, ok, "root", "member") == "forbidden")     // an admin outranks the owner
        let members = try await h.request(owner, ok, "members", ["room": "club"])
        #expect((members.payload["members"] as? [[String: Any]])?.first { $0["username"] as? String == "mod" }?["role"] as? String == "moderator")
        #expect(mk.pushes("system").contains { $0.payload["event"] as? String == "role" && $0.payload["username"] as? String == "mod" })
        // The new moderator's rank applies at once: topics, kicks of members (guests too).
        #expect(Self.answer(try await h.request(mod, dk, "set_topic", ["room": "club", "topic": "by mod"])) == "success")
        #expect(try await kick(member, mk, "gus") == "forbidden")
        #expect(try await kick(mod, dk, "owner") == "forbidden")
        #expect(try await kick(mod, dk, "root") == "forbidden")
        #expect(try await kick(mod, dk, "gus") == "success")
        #expect(try await kick(mod, dk, "outsider") == "not_member")
        #expect(try await kick(mod, dk, "nobody") == "user_not_found")
        // The kicked guest heard why and lost the room; the others heard of it; it may come back.
        #expect(gk.pushes("kicked").contains { $0.payload["room"] as? String == "club" && $0.payload["by"] as? String == "mod" && $0.payload["reason"] as? String == "test" })
        #expect(gk.pushes("room_updated").contains { $0.payload["removed"] as? Bool == true })
        #expect(mk.pushes("system").contains { $0.payload["event"] as? String == "kick" && $0.payload["username"] as? String == "gus" })
        #expect(!gk.pushes("system").contains { $0.payload["event"] as? String == "kick" })
        #expect(Self.answer(try await h.request(guest, gk, "send_message", ["room": "club", "text": "still here?"])) == "not_member")
        #expect(Self.answer(try await h.request(guest, gk, "join_room", ["room": "club"])) == "success")
        // Owners and admins remove moderators; an admin even the owner; #general keeps everyone.
        #expect(try await kick(owner, ok, "mod") == "success")
        #expect(try await kick(admin, ak, "owner") == "success")
        #expect(Self.answer(try await h.request(admin, ak, "kick", ["room": "general", "username": "member"])) == "forbidden")
        // A member's sync shows the kicks as the pushes they were.
        let (_, seqAfter) = try await SyncTests.syncAll(h, member, mk, since: 0)
        #expect(seqAfter > 0)
        try await h.stop()
    }

    /// `invite` (any member; private rooms take one) and `delete_room` (owner, admins).
    @Test(arguments: StoreBackend.allCases) func invitationsAndDeletionsFollowRank(_ backend: StoreBackend) async throws {
        let (h, callers) = try await Self.world(backend)
        let (owner, ok) = try #require(callers[.owner])
        let (member, mk) = try #require(callers[.member])
        let (admin, ak) = try #require(callers[.admin])
        let (outsider, xk) = try #require(callers[.outsider])
        // A private room: outsiders can neither join nor invite, nor see it listed.
        #expect(Self.answer(try await h.request(outsider, xk, "join_room", ["room": "den"])) == "forbidden")
        #expect(Self.answer(try await h.request(outsider, xk, "invite", ["room": "den", "username": "outsider"])) == "not_member")
        let listed = try await h.request(outsider, xk, "list_rooms")
        #expect(!((listed.payload["rooms"] as? [[String: Any]]) ?? []).contains { $0["name"] as? String == "den" })
        // The owner invites the member: a member at once, told by room_updated.
        #expect(Self.answer(try await h.request(owner, ok, "invite", ["room": "den", "username": "member"])) == "success")
        #expect(mk.pushes("room_updated").contains { ($0.payload["room"] as? [String: Any])?["name"] as? String == "den" })
        #expect(Self.answer(try await h.request(member, mk, "send_message", ["room": "den", "text": "secret"])) == "success")
        // Any member may invite; the invitee must exist.
        #expect(Self.answer(try await h.request(member, mk, "invite", ["room": "den", "username": "nobody"])) == "user_not_found")
        #expect(Self.answer(try await h.request(member, mk, "invite", ["room": "den", "username": "outsider"])) == "success")
        // The outsider's own view: in it now, and nothing about it before (no push before the invitation).
        #expect(xk.pushes("room_updated").contains { ($0.payload["room"] as? [String: Any])?["name"] as? String == "den" })
        // Deleting: members cannot, the owner and admins can; general stays.
        #expect(Self.answer(try await h.request(member, mk, "delete_room", ["room": "club"])) == "forbidden")
        #expect(Self.answer(try await h.request(admin, ak, "delete_room", ["room": "general"])) == "forbidden")
        #expect(Self.answer(try await h.request(owner, ok, "delete_room", ["room": "den"])) == "success")
        #expect(mk.pushes("room_updated").contains { ($0.payload["room"] as? [String: Any])?["name"] as? String == "den" && $0.payload["removed"] as? Bool == true })
        #expect(Self.answer(try await h.request(member, mk, "send_message", ["room": "den", "text": "gone?"])) == "room_not_found")
        #expect(Self.answer(try await h.request(admin, ak, "delete_room", ["room": "club"])) == "success")
        // A room created again with the name starts empty.
        #expect(Self.answer(try await h.request(owner, ok, "create_room", ["name": "den"])) == "success")
        let history = try await h.request(owner, ok, "history", ["room": "den"])
        #expect((history.payload["messages"] as? [[String: Any]])?.isEmpty == true)
        try await h.stop()
    }

    /// `set_role`: admins only; it applies at once to the account's open connections.
    @Test(arguments: StoreBackend.allCases) func serverRolesAreForAdminsAndApplyAtOnce(_ backend: StoreBackend) async throws {
        let (h, callers) = try await Self.world(backend)
        let (owner, ok) = try #require(callers[.owner])
        let (member, mk) = try #require(callers[.member])
        let (admin, ak) = try #require(callers[.admin])
        let (guest, gk) = h.connect()
        try await h.request(guest, gk, "login", ["username": "gus"])
        func setRole(_ s: Session, _ k: RecordingSink, _ name: String, _ role: String) async throws -> String {
            Self.answer(try await h.request(s, k, "set_role", ["username": name, "role": role]))
        }
        #expect(try await setRole(owner, ok, "member", "admin") == "forbidden")
        #expect(try await setRole(admin, ak, "member", "boss") == "invalid_field")
        #expect(try await setRole(admin, ak, "gus", "admin") == "user_not_found")
        #expect(try await setRole(admin, ak, "root", "user") == "forbidden")
        // The member, still connected, can do what an admin does at once.
        #expect(Self.answer(try await h.request(member, mk, "delete_room", ["room": "club"])) == "forbidden")
        #expect(try await setRole(admin, ak, "member", "admin") == "success")
        #expect(mk.pushes("system").contains { $0.payload["event"] as? String == "role" && $0.payload["user_role"] as? String == "admin" })
        #expect(Self.answer(try await h.request(member, mk, "delete_room", ["room": "club"])) == "success")
        let users = try await h.request(owner, ok, "list_users")
        #expect((users.payload["users"] as? [[String: Any]])?.first { $0["username"] as? String == "member" }?["role"] as? String == "admin")
        // And it survives a restart.
        try await h.stop()
        let again = try await CoreHarness.make(reopening: h)
        let (s, k) = again.connect()
        let login = try await again.request(s, k, "login", ["username": "member", "password": "member password"])
        #expect((login.payload["user"] as? [String: Any])?["role"] as? String == "admin")
        try await again.stop()
    }

    /// A role change made on one node applies on the others at once.
    @Test(arguments: StoreBackend.allCases.filter { $0 == .postgres }) func aRoleChangeAppliesOnEveryNode(_ backend: StoreBackend) async throws {
        let (h, callers) = try await Self.world(backend)
        let other = try await CoreHarness.make({ $0.nodeName = "other" }, reopening: h)
        let (admin, ak) = try #require(callers[.admin])
        let (member, mk) = other.connect()
        #expect(try await other.request(member, mk, "login", ["username": "member", "password": "member password"]).action == "success")
        #expect(Self.answer(try await h.request(admin, ak, "set_role", ["username": "member", "role": "admin"])) == "success")
        await mk.until { $0.contains { $0.action == "system" && $0.payload["user_role"] as? String == "admin" } }
        #expect(Self.answer(try await other.request(member, mk, "delete_room", ["room": "club"])) == "success")
        try await other.stop()
        try await h.stop()
    }
}
