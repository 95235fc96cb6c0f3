import Foundation
@testable import SalonCore
import SalonProtocol
import Testing

/// The permission table walked whole: every action that acts on a room, a message or the
/// server, by every rank (an outsider, a member, a room moderator, the room's owner, an admin),
/// on their own object and on someone else's, gets the answer PROTOCOL.md §4, §5 and §7 give.
/// The expected answers are written here from the contract, not read from `Actions.table`; a
/// new action fails the test until it is given its row.
@Suite struct PermissionTableTests {
    enum Caller: String, CaseIterable, Sendable {
        case outsider, member, moderator, owner, admin

        var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    }

    /// Who may: the lowest caller that succeeds (`outsider`: anyone, even not in the room).
    struct Row: Sendable {
        let action: String
        let lowest: Caller
        /// Whether an admin not in the room is `not_member` (it moderates every room, but
        /// takes part only in those it joined).
        var adminJoinsFirst = false
        /// The answer of one who may (`webhook_not_found` for an id that names nothing: the
        /// rank was checked before the handler looked).
        var success = "success"
        /// The request's data, in room `room`, aimed at `victim` (a plain member) where it
        /// names someone.
        let data: @Sendable (_ room: String) -> [String: Any]
    }

    /// Room actions; `victim` is a member below everyone who may act.
    static let roomRows: [Row] = [
        Row(action: "set_topic", lowest: .moderator) { ["room": $0, "topic": "new"] },
        Row(action: "invite", lowest: .member) { ["room": $0, "username": "newbie"] },
        Row(action: "delete_room", lowest: .owner) { ["room": $0] },
        Row(action: "set_room_role", lowest: .owner) { ["room": $0, "username": "victim", "role": "moderator"] },
        Row(action: "kick", lowest: .moderator) { ["room": $0, "username": "victim"] },
        Row(action: "ban", lowest: .moderator) { ["room": $0, "username": "victim", "duration_seconds": 60] },
        Row(action: "unban", lowest: .moderator) { ["room": $0, "username": "victim"] },
        Row(action: "mute", lowest: .moderator) { ["room": $0, "username": "victim"] },
        Row(action: "unmute", lowest: .moderator) { ["room": $0, "username": "victim"] },
        Row(action: "moderation_log", lowest: .moderator) { ["room": $0] },
        Row(action: "members", lowest: .outsider) { ["room": $0] },  // a public room
        // Taking part: members only (an admin joins first: `not_member`).
        Row(action: "send_message", lowest: .member, adminJoinsFirst: true) { ["room": $0, "text": "hi"] },
        Row(action: "history", lowest: .member, adminJoinsFirst: true) { ["room": $0] },
        Row(action: "typing", lowest: .member, adminJoinsFirst: true) { ["room": $0] },
        Row(action: "leave_room", lowest: .member, adminJoinsFirst: true) { ["room": $0] },
        Row(action: "join_room", lowest: .outsider) { ["room": $0] },
        // Webhooks: the room's owner (and admins, who own every room).
        Row(action: "create_webhook", lowest: .owner) { ["room": $0, "name": "hook-\($0)"] },
        Row(action: "list_webhooks", lowest: .owner) { ["room": $0] },
        Row(action: "delete_webhook", lowest: .owner, success: "webhook_not_found") { ["room": $0, "id": "no-such-hook"] },
    ]

    /// Server actions (no room): admins only.
    static let serverRows: [Row] = [
        Row(action: "set_role", lowest: .admin) { _ in ["username": "victim", "role": "user"] },
        Row(action: "ban", lowest: .admin) { _ in ["username": "victim", "duration_seconds": 60] },
        Row(action: "unban", lowest: .admin) { _ in ["username": "victim"] },
        Row(action: "moderation_log", lowest: .admin) { _ in [:] },
    ]

    /// Actions on a message (own or someone else's) and those that act on nobody else's
    /// object: every action of the table is in one of the lists.
    static let messageActions = ["edit_message", "delete_message", "react", "mark_read"]
    static let unscoped = ["register", "login", "logout", "ping", "list_rooms", "create_room", "search", "sync", "list_users"]

    @Test func everyActionHasItsRow() {
        let covered = Set(Self.roomRows.map(\.action) + Self.serverRows.map(\.action) + Self.messageActions + Self.unscoped)
        #expect(Set(Actions.table.keys) == covered, "an action without a row: \(Set(Actions.table.keys).symmetricDifference(covered))")
    }

    /// The callers, and `victim` and `newbie` (accounts), all connected.
    static func world() async throws -> (CoreHarness, [Caller: (Session, RecordingSink)], (Session, RecordingSink)) {
        let (h, old) = try await PermissionTests.world(.sqlite) { c in  // root (admin), owner, member, outsider
            c.roomsPerHour = 10_000
            c.maxRoomsPerUser = 10_000
        }
        var callers: [Caller: (Session, RecordingSink)] = [:]
        callers[.admin] = old[.admin]
        callers[.owner] = old[.owner]
        callers[.member] = old[.member]
        callers[.outsider] = old[.outsider]
        var others: [String: (Session, RecordingSink)] = [:]
        for name in ["moderator", "victim", "newbie"] {
            let (s, k) = h.connect()
            #expect(try await h.request(s, k, "register", ["username": name, "password": "\(name) password"]).action == "success")
            others[name] = (s, k)
        }
        callers[.moderator] = others["moderator"]
        return (h, callers, try #require(others["victim"]))
    }

    /// A fresh public room: its owner, a member, a moderator, the victim; the admin is not in it.
    static func room(_ n: Int, _ h: CoreHarness, _ callers: [Caller: (Session, RecordingSink)], _ victim: (Session, RecordingSink)) async throws -> String {
        let name = "t\(n)"
        let (owner, ok) = try #require(callers[.owner])
        #expect(try await h.request(owner, ok, "create_room", ["name": name]).action == "success")
        for (s, k) in [try #require(callers[.member]), try #require(callers[.moderator]), victim] {
            #expect(try await h.request(s, k, "join_room", ["room": name]).action == "success")
        }
        #expect(try await h.request(owner, ok, "set_room_role", ["room": name, "username": "moderator", "role": "moderator"]).action == "success")
        return name
    }

    @Test func everyRoomAndServerActionByEveryRank() async throws {
        let (h, callers, victim) = try await Self.world()
        var n = 0
        for row in Self.roomRows {
            for caller in Caller.allCases {
                n += 1
                let room = try await Self.room(n, h, callers, victim)
                let (s, k) = try #require(callers[caller])
                let answer = PermissionTests.answer(try await h.request(s, k, row.action, row.data(room)))
                let expected: String
                if caller == .admin && row.adminJoinsFirst {
                    expected = "not_member"
                } else if caller.rank >= row.lowest.rank {
                    expected = row.success
                } else if caller == .outsider {
                    expected = "not_member"
                } else {
                    expected = "forbidden"
                }
                #expect(answer == expected, "\(row.action) by \(caller.rawValue)")
            }
        }
        for row in Self.serverRows {
            for caller in Caller.allCases {
                let (s, k) = try #require(callers[caller])
                let answer = PermissionTests.answer(try await h.request(s, k, row.action, row.data("")))
                #expect(answer == (caller == .admin ? "success" : "forbidden"), "\(row.action) (server) by \(caller.rawValue)")
            }
        }
        try await h.stop()
    }

    /// Own and others' messages: the author edits and deletes its own; a room's moderators,
    /// its owner and admins delete others' (never edit them); anyone in the room reacts and
    /// marks read; outsiders learn nothing (`message_not_found`).
    @Test func ownAndOthersMessagesByEveryRank() async throws {
        let (h, callers, victim) = try await Self.world()
        var n = 100
        for caller in Caller.allCases {
            n += 1
            let room = try await Self.room(n, h, callers, victim)
            let (vs, vk) = victim
            let theirs = try #require(try await h.request(vs, vk, "send_message", ["room": room, "text": "victim's"]).payload["message"] as? [String: Any])
            let theirID = try #require(theirs["id"] as? Int)
            let (s, k) = try #require(callers[caller])
            func answer(_ action: String, _ data: [String: Any]) async throws -> String {
                PermissionTests.answer(try await h.request(s, k, action, data))
            }
            let inRoom = caller != .outsider && caller != .admin
            let readable = inRoom  // an admin not in the room neither reads nor reacts there
            #expect(try await answer("react", ["id": theirID, "emoji": "👍"]) == (readable ? "success" : "message_not_found"), "react by \(caller)")
            #expect(try await answer("edit_message", ["id": theirID, "text": "changed"]) == (readable ? "forbidden" : "message_not_found"), "edit others' by \(caller)")
            #expect(try await answer("mark_read", ["room": room, "id": theirID]) == (inRoom ? "success" : "not_member"), "mark_read by \(caller)")
            // An admin deletes others' messages in any room (moderation).
            let deleteOthers = caller.rank >= Caller.moderator.rank ? "success" : (readable ? "forbidden" : "message_not_found")
            #expect(try await answer("delete_message", ["id": theirID]) == deleteOthers, "delete others' by \(caller)")
            guard inRoom else { continue }
            let mine = try #require(try await h.request(s, k, "send_message", ["room": room, "text": "mine"]).payload["message"] as? [String: Any])
            let myID = try #require(mine["id"] as? Int)
            #expect(try await answer("edit_message", ["id": myID, "text": "mine, changed"]) == "success", "edit own by \(caller)")
            #expect(try await answer("delete_message", ["id": myID]) == "success", "delete own by \(caller)")
        }
        try await h.stop()
    }
}
