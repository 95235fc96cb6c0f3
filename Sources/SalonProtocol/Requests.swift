/// The `data` of each request (PROTOCOL.md §3–§6). Unknown fields are ignored, so that newer
/// clients keep working with this server.

/// For actions that take no data (`ping`, `logout`, `list_rooms`).
public struct EmptyPayload: Codable, Sendable, Equatable {
    public init() {}
}

public struct RegisterRequest: Codable, Sendable {
    public var username: String
    public var password: String
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// `username` + `password`, or `token` alone, or `username` alone (a guest).
public struct LoginRequest: Codable, Sendable {
    public var username: String?
    public var password: String?
    public var token: String?
    public init(username: String? = nil, password: String? = nil, token: String? = nil) {
        self.username = username
        self.password = password
        self.token = token
    }
}

public struct CreateRoomRequest: Codable, Sendable {
    public var name: String
    public var topic: String?
    public var `private`: Bool?
    public init(name: String, topic: String? = nil, private isPrivate: Bool? = nil) {
        self.name = name
        self.topic = topic
        self.private = isPrivate
    }
}

/// `join_room`, `leave_room`, `members`.
public struct RoomRequest: Codable, Sendable {
    public var room: String
    public init(room: String) { self.room = room }
}

/// `set_role` (PROTOCOL.md §7): admins make an account an `admin` or a `user`.
public struct SetRoleRequest: Codable, Sendable {
    public var username: String
    public var role: String
    public init(username: String, role: String) {
        self.username = username
        self.role = role
    }
}

/// `set_room_role` (PROTOCOL.md §7): `role` is `moderator` or `member`.
public struct SetRoomRoleRequest: Codable, Sendable {
    public var room: String
    public var username: String
    public var role: String
    public init(room: String, username: String, role: String) {
        self.room = room
        self.username = username
        self.role = role
    }
}

/// `invite` (PROTOCOL.md §4): any member adds someone to the room (private rooms take one).
public struct InviteRequest: Codable, Sendable {
    public var room: String
    public var username: String
    public init(room: String, username: String) {
        self.room = room
        self.username = username
    }
}

/// `kick` (PROTOCOL.md §7).
public struct KickRequest: Codable, Sendable {
    public var room: String
    public var username: String
    public var reason: String?
    public init(room: String, username: String, reason: String? = nil) {
        self.room = room
        self.username = username
        self.reason = reason
    }
}

/// `ban` / `unban` (PROTOCOL.md §7): from `room`, or without one from the whole server;
/// for `duration_seconds`, or until `unban`.
public struct BanRequest: Codable, Sendable {
    public var username: String
    public var room: String?
    public var reason: String?
    public var durationSeconds: Int64?

    enum CodingKeys: String, CodingKey {
        case username, room, reason
        case durationSeconds = "duration_seconds"
    }

    public init(username: String, room: String? = nil, reason: String? = nil, durationSeconds: Int64? = nil) {
        self.username = username
        self.room = room
        self.reason = reason
        self.durationSeconds = durationSeconds
    }
}

/// `mute` / `unmute` (PROTOCOL.md §7): in one room, for `duration_seconds` or until `unmute`.
public struct MuteRequest: Codable, Sendable {
    public var room: String
    public var username: String
    public var reason: String?
    public var durationSeconds: Int64?

    enum CodingKeys: String, CodingKey {
        case username, room, reason
        case durationSeconds = "duration_seconds"
    }

    public init(room: String, username: String, reason: String? = nil, durationSeconds: Int64? = nil) {
        self.room = room
        self.username = username
        self.reason = reason
        self.durationSeconds = durationSeconds
    }
}

/// `moderation_log` (PROTOCOL.md §7): one room's (its owner and moderators), or all (admins).
public struct ModerationLogRequest: Codable, Sendable {
    public var room: String?
    public var before: Int64?
    public var limit: Int?
    public init(room: String? = nil, before: Int64? = nil, limit: Int? = nil) {
        self.room = room
        self.before = before
        self.limit = limit
    }
}

/// `set_topic` (PROTOCOL.md §4): the room's owner, its moderators and admins.
public struct SetTopicRequest: Codable, Sendable {
    public var room: String
    public var topic: String
    public init(room: String, topic: String) {
        self.room = room
        self.topic = topic
    }
}

public struct SendMessageRequest: Codable, Sendable {
    public var room: String?
    public var to: String?
    public var text: String
    public var replyTo: Int64?
    public var attachments: [String]?
    public var clientMsgID: String?

    enum CodingKeys: String, CodingKey {
        case room, to, text, attachments
        case replyTo = "reply_to"
        case clientMsgID = "client_msg_id"
    }

    public init(room: String? = nil, to: String? = nil, text: String, replyTo: Int64? = nil, attachments: [String]? = nil, clientMsgID: String? = nil) {
        self.room = room
        self.to = to
        self.text = text
        self.replyTo = replyTo
        self.attachments = attachments
        self.clientMsgID = clientMsgID
    }

    /// `text` may be left out (or empty) when the message carries files.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        room = try c.decodeIfPresent(String.self, forKey: .room)
        to = try c.decodeIfPresent(String.self, forKey: .to)
        replyTo = try c.decodeIfPresent(Int64.self, forKey: .replyTo)
        attachments = try c.decodeIfPresent([String].self, forKey: .attachments)
        clientMsgID = try c.decodeIfPresent(String.self, forKey: .clientMsgID)
        if attachments?.isEmpty == false, try !c.contains(.text) || c.decodeNil(forKey: .text) {
            text = ""
        } else {
            text = try c.decode(String.self, forKey: .text)
        }
    }
}

public struct HistoryRequest: Codable, Sendable {
    public var room: String?
    public var with: String?
    public var before: Int64?
    public var after: Int64?
    public var limit: Int?
    public init(room: String? = nil, with: String? = nil, before: Int64? = nil, after: Int64? = nil, limit: Int? = nil) {
        self.room = room
        self.with = with
        self.before = before
        self.after = after
        self.limit = limit
    }
}

/// `list_users`: everyone online, or a room's members; a page of `limit` after the name
/// `after` (names in order without regard to case).
public struct ListUsersRequest: Codable, Sendable {
    public var room: String?
    public var limit: Int?
    public var after: String?
    public init(room: String? = nil, limit: Int? = nil, after: String? = nil) {
        self.room = room
        self.limit = limit
        self.after = after
    }
}

/// `list_rooms`: a page of `limit` rooms after the name `after`, in name order.
public struct ListRoomsRequest: Codable, Sendable {
    public var limit: Int?
    public var after: String?
    public init(limit: Int? = nil, after: String? = nil) {
        self.limit = limit
        self.after = after
    }
}

/// `members`: a page of a room's members, as `list_users` pages.
public struct MembersRequest: Codable, Sendable {
    public var room: String
    public var limit: Int?
    public var after: String?
    public init(room: String, limit: Int? = nil, after: String? = nil) {
        self.room = room
        self.limit = limit
        self.after = after
    }
}

/// `mark_read`: moves the user's read marker of a room or conversation.
public struct MarkReadRequest: Codable, Sendable {
    public var room: String?
    public var with: String?
    public var id: Int64
    public init(room: String? = nil, with: String? = nil, id: Int64) {
        self.room = room
        self.with = with
        self.id = id
    }
}

/// `edit_message`: new text for one's own message.
public struct EditMessageRequest: Codable, Sendable {
    public var id: Int64
    public var text: String
    public init(id: Int64, text: String) {
        self.id = id
        self.text = text
    }
}

/// `delete_message`.
public struct MessageIDRequest: Codable, Sendable {
    public var id: Int64
    public init(id: Int64) { self.id = id }
}

/// `react`: adds (or with `remove`, takes away) one's emoji on a message.
public struct ReactRequest: Codable, Sendable {
    public var id: Int64
    public var emoji: String
    public var remove: Bool?
    public init(id: Int64, emoji: String, remove: Bool? = nil) {
        self.id = id
        self.emoji = emoji
        self.remove = remove
    }
}

/// `typing`: in a room, or to a person.
public struct TypingRequest: Codable, Sendable {
    public var room: String?
    public var to: String?
    public init(room: String? = nil, to: String? = nil) {
        self.room = room
        self.to = to
    }
}

/// `search`: words (the last also as a prefix) and "quoted phrases", newest first.
public struct SearchRequest: Codable, Sendable {
    public var query: String
    public var room: String?
    public var with: String?
    public var before: Int64?
    public var limit: Int?
    public init(query: String, room: String? = nil, with: String? = nil, before: Int64? = nil, limit: Int? = nil) {
        self.query = query
        self.room = room
        self.with = with
        self.before = before
        self.limit = limit
    }
}

/// `sync`: the events after `since` that concern the user.
public struct SyncRequest: Codable, Sendable {
    public var since: Int64
    public var limit: Int?
    public init(since: Int64, limit: Int? = nil) {
        self.since = since
        self.limit = limit
    }
}

/// `create_webhook`: a room's new incoming webhook, posting as `name` (a new bot account).
public struct CreateWebhookRequest: Codable, Sendable {
    public var room: String
    public var name: String
    public init(room: String, name: String) {
        self.room = room
        self.name = name
    }
}

/// `delete_webhook`: revokes one of the room's webhooks.
public struct WebhookIDRequest: Codable, Sendable {
    public var room: String
    public var id: String
    public init(room: String, id: String) {
        self.room = room
        self.id = id
    }
}
