import SalonProtocol

/// The changes an administrator makes on a whole account or room, built once for the server
/// (`ban` without a room, `delete_room`) and for `salon admin`, which commits them straight
/// in the database: the same events, so a running server (every node) applies them alike.
public enum AdminChanges {
    /// What `salon admin` names as the one who acted.
    public static let cliName = "salon admin"

    /// A server ban: the account's connections get `banned` and close; `login` answers `banned`.
    public static func serverBan(_ who: Actor, by: String, byID: Int64?, reason: String?, until: Timestamp?, durationSeconds: Int64?, at now: Timestamp) -> Change {
        let event = EventDraft(type: .banned, scope: .users, userID: who.id, actorID: byID,
                               data: data(RemovedPush(room: nil, by: by, reason: reason, until: until)))
        let sanction = Sanction(kind: .ban, user: who, roomID: nil, by: by, reason: reason, until: until, createdAt: now)
        let line = ModerationEntry(action: "ban", by: by, username: who.username, roomID: nil, room: nil, reason: reason, durationSeconds: durationSeconds)
        return .logged(.sanction(sanction, events: [event]), line)
    }

    /// The end of a server ban (nothing when there is none), told to the account.
    public static func serverUnban(_ who: Actor, by: String, byID: Int64?) -> Change {
        let push = data(SystemPush(room: nil, event: "unban", username: who.username, text: "\(by) lifted the ban on \(who.username) on this server"))
        let event = EventDraft(type: .system, scope: .users, userID: who.id, actorID: byID, data: push)
        let line = ModerationEntry(action: "unban", by: by, username: who.username, roomID: nil, room: nil)
        return .logged(.lift(SanctionKey(kind: .ban, userID: who.id, roomID: nil), endingBy: nil, events: [event]), line)
    }

    /// Every token of the account revoked (and, with `passwordHash`, a new password): its
    /// open connections are told (`system` `revoked`) and closed.
    public static func revokeTokens(_ who: Actor, passwordHash: String? = nil) -> Change {
        let text = passwordHash == nil ? "an administrator ended all your sessions" : "an administrator reset your password: log in again"
        let event = EventDraft(type: .system, scope: .users, userID: who.id, data: data(SystemPush(room: nil, event: "revoked", username: who.username, text: text)))
        return .revokeTokens(userID: who.id, passwordHash: passwordHash, events: [event])
    }

    /// A room deleted: its members get `room_updated` with `removed` (a private room's name
    /// reaches only them; a public room's end is news for everyone).
    public static func deleteRoom(_ room: RoomInfo, id: Int64, members: [Int64], by: String, byID: Int64?) -> Change {
        var info = room
        info.members = 0
        info.online = 0
        info.unread = nil
        info.muted = nil
        let push = data(RoomUpdatedPush(room: info, removed: true))
        // No room id: the room's own events go with it.
        let events = room.private
            ? members.map { EventDraft(type: .roomUpdated, scope: .users, userID: $0, actorID: byID, data: push) }
            : [EventDraft(type: .roomUpdated, scope: .everyone, actorID: byID, data: push)]
        let line = ModerationEntry(action: "delete_room", by: by, username: by, roomID: id, room: room.name)
        return .logged(.deleteRoom(roomID: id, events: events), line)
    }

    /// A webhook's bot joins the webhook's room (`salon admin webhook create`): the members
    /// see it join, the bot gets the room.
    public static func joinBot(_ bot: Actor, room: RoomRecord, by: String) -> Change {
        let info = RoomInfo(name: room.name, topic: room.topic, members: 0, online: 0, private: room.isPrivate, unread: nil, lastMessageID: nil)
        let events = [
            EventDraft(type: .system, scope: .roomButActor, roomID: room.id, actorID: bot.id,
                       data: data(SystemPush(room: room.name, event: "join", username: bot.username, text: "\(by) added the webhook \(bot.username) to #\(room.name)"))),
            EventDraft(type: .roomUpdated, scope: .users, roomID: room.id, userID: bot.id, actorID: bot.id, data: data(RoomUpdatedPush(room: info))),
        ]
        return .join(roomID: room.id, user: bot, role: .member, readMarker: room.lastMessageID, events: events)
    }

    static func data<T: Encodable>(_ value: T) -> [UInt8] { Router.eventData(value) }
}
