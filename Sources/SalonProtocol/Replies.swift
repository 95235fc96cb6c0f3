/// The `data` of `success` replies and of pushes (PROTOCOL.md §3–§8).

/// Reply to `register` and `login`.
public struct AuthResult: Codable, Sendable {
    public var user: UserInfo
    public var token: String?
    public var rooms: [RoomInfo]
    /// The user's private conversations, newest first (absent from v1 servers).
    public var conversations: [ConversationInfo]?
    /// The newest event committed when the session began (absent from v1 servers).
    public var seq: Int64?
    public init(user: UserInfo, token: String?, rooms: [RoomInfo], conversations: [ConversationInfo]? = nil, seq: Int64? = nil) {
        self.user = user
        self.token = token
        self.rooms = rooms
        self.conversations = conversations
        self.seq = seq
    }
}

/// One event of a `sync` answer: exactly the push it was (`action`, `data` with its `seq`).
public struct SyncedEvent: Codable, Sendable, Equatable {
    public var seq: Int64
    public var action: String
    public var data: JSONValue
    public init(seq: Int64, action: String, data: JSONValue) {
        self.seq = seq
        self.action = action
        self.data = data
    }
}

/// Reply to `sync`. `seq` is where the answer is complete up to: ask again from there while
/// `has_more`.
public struct SyncResult: Codable, Sendable {
    public var events: [SyncedEvent]
    public var hasMore: Bool
    public var seq: Int64
    enum CodingKeys: String, CodingKey {
        case events, seq
        case hasMore = "has_more"
    }
    public init(events: [SyncedEvent], hasMore: Bool, seq: Int64) {
        self.events = events
        self.hasMore = hasMore
        self.seq = seq
    }
}

public struct RoomsResult: Codable, Sendable {
    public var rooms: [RoomInfo]
    /// More rooms come after the last one (ask again with `after`). Absent from old servers.
    public var hasMore: Bool?
    enum CodingKeys: String, CodingKey {
        case rooms
        case hasMore = "has_more"
    }
    public init(rooms: [RoomInfo], hasMore: Bool? = nil) {
        self.rooms = rooms
        self.hasMore = hasMore
    }
}

public struct RoomResult: Codable, Sendable {
    public var room: RoomInfo
    public init(room: RoomInfo) { self.room = room }
}

public struct JoinResult: Codable, Sendable {
    public var room: RoomInfo
    public var messages: [Message]
    public init(room: RoomInfo, messages: [Message]) {
        self.room = room
        self.messages = messages
    }
}

public struct MessageResult: Codable, Sendable {
    public var message: Message
    public init(message: Message) { self.message = message }
}

public struct HistoryResult: Codable, Sendable {
    public var messages: [Message]
    public var hasMore: Bool
    enum CodingKeys: String, CodingKey {
        case messages
        case hasMore = "has_more"
    }
    public init(messages: [Message], hasMore: Bool) {
        self.messages = messages
        self.hasMore = hasMore
    }
}

public struct MembersResult: Codable, Sendable {
    public var members: [MemberInfo]
    public var hasMore: Bool?
    enum CodingKeys: String, CodingKey {
        case members
        case hasMore = "has_more"
    }
    public init(members: [MemberInfo], hasMore: Bool? = nil) {
        self.members = members
        self.hasMore = hasMore
    }
}

public struct UsersResult: Codable, Sendable {
    public var users: [MemberInfo]
    public var hasMore: Bool?
    enum CodingKeys: String, CodingKey {
        case users
        case hasMore = "has_more"
    }
    public init(users: [MemberInfo], hasMore: Bool? = nil) {
        self.users = users
        self.hasMore = hasMore
    }
}

// MARK: Pushes

/// `receive_message` push.
public struct ReceiveMessagePush: Codable, Sendable {
    public var message: Message
    public var seq: Int64?
    public init(message: Message, seq: Int64? = nil) {
        self.message = message
        self.seq = seq
    }
}

/// `message_deleted` push: `room`, or `to` as in the message (its recipient).
public struct MessageDeletedPush: Codable, Sendable, Equatable {
    public var id: Int64
    public var room: String?
    public var to: String?
    public var seq: Int64?
    public init(id: Int64, room: String?, to: String?, seq: Int64? = nil) {
        self.id = id
        self.room = room
        self.to = to
        self.seq = seq
    }
}

/// `reaction` push.
public struct ReactionPush: Codable, Sendable, Equatable {
    public var id: Int64
    public var emoji: String
    public var username: String
    public var added: Bool
    public var seq: Int64?
    public init(id: Int64, emoji: String, username: String, added: Bool, seq: Int64? = nil) {
        self.id = id
        self.emoji = emoji
        self.username = username
        self.added = added
        self.seq = seq
    }
}

/// `typing` push (ephemeral: no `seq`). `to` is the recipient, for a private conversation.
public struct TypingPush: Codable, Sendable, Equatable {
    public var room: String?
    public var to: String?
    public var username: String
    public init(room: String?, to: String?, username: String) {
        self.room = room
        self.to = to
        self.username = username
    }
}

/// `read` push, to the user's other connections: the marker of a room or conversation moved.
public struct ReadPush: Codable, Sendable, Equatable {
    public var room: String?
    public var with: String?
    public var id: Int64
    public var seq: Int64?
    public init(room: String?, with: String?, id: Int64, seq: Int64? = nil) {
        self.room = room
        self.with = with
        self.id = id
        self.seq = seq
    }
}

/// `system` push: join, leave, kick and topic notices, room roles, server notices. For
/// `event` `role`: `role`, the new room role (with `room`), or `user_role`, the new server
/// role (without).
public struct SystemPush: Codable, Sendable, Equatable {
    public var room: String?
    public var event: String
    public var username: String?
    public var text: String
    public var role: RoomRole?
    public var userRole: UserRole?
    /// `ban`, `mute`: why, and until when (none: until lifted).
    public var reason: String?
    public var until: Timestamp?
    public var seq: Int64?

    enum CodingKeys: String, CodingKey {
        case room, event, username, text, role, reason, until, seq
        case userRole = "user_role"
    }

    public init(room: String?, event: String, username: String?, text: String, role: RoomRole? = nil, userRole: UserRole? = nil,
                reason: String? = nil, until: Timestamp? = nil, seq: Int64? = nil) {
        self.room = room
        self.event = event
        self.username = username
        self.text = text
        self.role = role
        self.userRole = userRole
        self.reason = reason
        self.until = until
        self.seq = seq
    }
}

/// `kicked` / `banned` push, to the user removed (PROTOCOL.md §7).
/// A ban's `until` says when it ends (none: until `unban`).
public struct RemovedPush: Codable, Sendable, Equatable {
    public var room: String?
    public var by: String
    public var reason: String?
    public var until: Timestamp?
    public init(room: String?, by: String, reason: String?, until: Timestamp? = nil) {
        self.room = room
        self.by = by
        self.reason = reason
        self.until = until
    }
}

/// One entry of `moderation_log` (PROTOCOL.md §7). `by` is nil when the server itself acted
/// (a ban or mute that ran out).
public struct ModerationLogEntry: Codable, Sendable, Equatable {
    public var seq: Int64
    public var action: String
    public var by: String?
    public var username: String
    public var room: String?
    public var reason: String?
    public var durationSeconds: Int64?
    /// `set_role`, `set_room_role`: the role given.
    public var role: String?
    public var timestamp: Timestamp

    enum CodingKeys: String, CodingKey {
        case seq, action, by, username, room, reason, role, timestamp
        case durationSeconds = "duration_seconds"
    }

    public init(seq: Int64, action: String, by: String?, username: String, room: String?, reason: String?, durationSeconds: Int64?, role: String? = nil, timestamp: Timestamp) {
        self.role = role
        self.seq = seq
        self.action = action
        self.by = by
        self.username = username
        self.room = room
        self.reason = reason
        self.durationSeconds = durationSeconds
        self.timestamp = timestamp
    }
}

public struct ModerationLogReply: Codable, Sendable, Equatable {
    public var entries: [ModerationLogEntry]
    public init(entries: [ModerationLogEntry]) { self.entries = entries }
}

/// `presence` push.
public struct PresencePush: Codable, Sendable, Equatable {
    public var username: String
    public var online: Bool
    public init(username: String, online: Bool) {
        self.username = username
        self.online = online
    }
}

/// `room_updated` push. `removed` tells the recipient the room left its list (deleted, or
/// left from another of the user's connections).
/// `invited_by` tells an invitee who added it to the room (the room is now in its list).
public struct RoomUpdatedPush: Codable, Sendable {
    public var room: RoomInfo
    public var removed: Bool?
    public var invitedBy: String?
    public var seq: Int64?

    enum CodingKeys: String, CodingKey {
        case room, removed, seq
        case invitedBy = "invited_by"
    }

    public init(room: RoomInfo, removed: Bool? = nil, invitedBy: String? = nil, seq: Int64? = nil) {
        self.room = room
        self.removed = removed
        self.invitedBy = invitedBy
        self.seq = seq
    }
}

/// An incoming webhook. `url` (a path: `/api/webhooks/TOKEN`) is in `create_webhook`'s reply
/// only: the server keeps the token's hash, not the token.
public struct WebhookInfo: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var room: String
    public var url: String?
    public var createdBy: String?
    public var createdAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case id, name, room, url
        case createdBy = "created_by"
        case createdAt = "created_at"
    }

    public init(id: String, name: String, room: String, url: String?, createdBy: String?, createdAt: Timestamp) {
        self.id = id
        self.name = name
        self.room = room
        self.url = url
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

public struct WebhookReply: Codable, Sendable, Equatable {
    public var webhook: WebhookInfo
    public init(webhook: WebhookInfo) { self.webhook = webhook }
}

public struct WebhooksReply: Codable, Sendable, Equatable {
    public var webhooks: [WebhookInfo]
    public init(webhooks: [WebhookInfo]) { self.webhooks = webhooks }
}
