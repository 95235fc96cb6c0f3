import Foundation
@testable import SalonCore
import SalonProtocol
import Testing

/// Nothing about a private room reaches someone outside it (PROTOCOL.md §4): not its topic, its
/// members or its messages, not through any action, search, `sync`, pushes or `reply_to`;
/// and once someone is kicked or banned from it, nothing of what follows.
@Suite struct PrivateRoomLeakTests {
    static let secret = "zebracorn"

    /// What the outsider received that it should not have: anything with the room's secret,
    /// and any push naming the room (its replies may repeat the name it gave).
    static func leaks(_ sink: RecordingSink) -> [String] {
        let frames = sink.frames.map { String(decoding: $0.json.readableBytesView, as: UTF8.self) }
        let pushes = Set(sink.envelopes.filter { $0["reply_to"] == nil }.compactMap { envelope in
            (try? JSONSerialization.data(withJSONObject: envelope)).map { String(decoding: $0, as: UTF8.self) }
        })
        return frames.filter { $0.contains(secret) } + pushes.filter { $0.contains("den") }
    }

    @Test(arguments: StoreBackend.allCases) func anOutsiderLearnsNothing(_ backend: StoreBackend) async throws {
        let (h, callers) = try await PermissionTests.world(backend)  // `den` is the owner's private room
        let (owner, ok) = try #require(callers[.owner])
        let (member, mk) = try #require(callers[.member])
        let (outsider, xk) = try #require(callers[.outsider])
        let syncFrom = try #require(try await h.request(outsider, xk, "sync", ["since": 0]).payload["seq"] as? Int)
        // Life in the room: an invitation, a topic, messages, a reaction, a kick, a ban.
        #expect(try await h.request(owner, ok, "invite", ["room": "den", "username": "member"]).action == "success")
        #expect(try await h.request(owner, ok, "set_topic", ["room": "den", "topic": "the \(Self.secret) plan"]).action == "success")
        let sent = try await h.request(member, mk, "send_message", ["room": "den", "text": "about the \(Self.secret)"])
        let id = try #require((sent.payload["message"] as? [String: Any])?["id"] as? Int)
        #expect(try await h.request(owner, ok, "react", ["id": id, "emoji": "👍"]).action == "success")
        #expect(try await h.request(owner, ok, "mute", ["room": "den", "username": "member", "reason": Self.secret]).action == "success")
        #expect(try await h.request(owner, ok, "unmute", ["room": "den", "username": "member"]).action == "success")
        // Every way in, for the outsider: nothing beyond `not_member`, `forbidden`, `message_not_found`.
        func answer(_ action: String, _ data: [String: Any]) async throws -> String {
            PermissionTests.answer(try await h.request(outsider, xk, action, data))
        }
        #expect(try await answer("join_room", ["room": "den"]) == "forbidden")
        for (action, data) in [("members", ["room": "den"]), ("history", ["room": "den"]), ("set_topic", ["room": "den", "topic": "x"]),
                               ("invite", ["room": "den", "username": "outsider"]), ("typing", ["room": "den"]),
                               ("send_message", ["room": "den", "text": "hi"]), ("moderation_log", ["room": "den"]),
                               ("kick", ["room": "den", "username": "member"]), ("mute", ["room": "den", "username": "member"]),
                               ("ban", ["room": "den", "username": "member"]), ("leave_room", ["room": "den"]),
                               ("mark_read", ["room": "den", "id": id])] as [(String, [String: Any])] {
            #expect(try await answer(action, data) == "not_member", "\(action)")
        }
        for (action, data) in [("react", ["id": id, "emoji": "👍"]), ("edit_message", ["id": id, "text": "x"]), ("delete_message", ["id": id])]
            as [(String, [String: Any])] {
            #expect(try await answer(action, data) == "message_not_found", "\(action)")
        }
        // A reply in a public room to the private message: refused, nothing quoted.
        #expect(try await answer("send_message", ["room": "general", "text": "re", "reply_to": id]) == "message_not_found")
        // Search, the room list, the user list by room, and sync: nothing.
        let found = try await h.request(outsider, xk, "search", ["query": Self.secret])
        #expect((found.payload["messages"] as? [[String: Any]])?.isEmpty == true)
        let rooms = try await h.request(outsider, xk, "list_rooms")
        #expect(!((rooms.payload["rooms"] as? [[String: Any]]) ?? []).contains { $0["name"] as? String == "den" })
        let users = try await h.request(outsider, xk, "list_users", ["room": "den"])
        #expect(PermissionTests.answer(users) != "success" || (users.payload["users"] as? [[String: Any]])?.isEmpty == true)
        _ = try await SyncTests.syncAll(h, outsider, xk, since: Int64(syncFrom))
        // Deleting the room: members are told, outsiders not.
        #expect(try await h.request(owner, ok, "delete_room", ["room": "den"]).action == "success")
        #expect(mk.pushes("room_updated").contains { $0.payload["removed"] as? Bool == true })
        _ = try await h.request(outsider, xk, "ping")
        #expect(Self.leaks(xk).isEmpty, "\(Self.leaks(xk))")
        try await h.stop()
    }

    /// Kicked or banned from a private room: what happens there afterwards reaches the person
    /// neither live nor through `sync`.
    @Test(arguments: StoreBackend.allCases) func afterAKickOrBanNothingFollows(_ backend: StoreBackend) async throws {
        let (h, callers) = try await PermissionTests.world(backend)
        let (owner, ok) = try #require(callers[.owner])
        let (member, mk) = try #require(callers[.member])
        let (outsider, xk) = try #require(callers[.outsider])
        for who in ["member", "outsider"] {
            #expect(try await h.request(owner, ok, "invite", ["room": "den", "username": who]).action == "success")
        }
        #expect(try await h.request(owner, ok, "kick", ["room": "den", "username": "member"]).action == "success")
        #expect(try await h.request(owner, ok, "ban", ["room": "den", "username": "outsider"]).action == "success")
        let (mSeq, xSeq) = (try #require(mk.pushes("kicked").last?.payload["seq"] as? Int), try #require(xk.pushes("banned").last?.payload["seq"] as? Int))
        mk.clear()
        xk.clear()
        #expect(try await h.request(owner, ok, "set_topic", ["room": "den", "topic": "after \(Self.secret)"]).action == "success")
        #expect(try await h.request(owner, ok, "send_message", ["room": "den", "text": "now \(Self.secret)"]).action == "success")
        for (s, k, since) in [(member, mk, mSeq), (outsider, xk, xSeq)] {
            let (events, _) = try await SyncTests.syncAll(h, s, k, since: Int64(since))
            let texts = events.map { "\($0)" }
            #expect(!texts.contains { $0.contains(Self.secret) }, "\(texts)")
            #expect(Self.leaks(k).filter { $0.contains(Self.secret) }.isEmpty)
        }
        try await h.stop()
    }
}
