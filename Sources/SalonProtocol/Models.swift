/// Values that appear inside requests, replies and pushes (PROTOCOL.md §3–§6).

/// A server-wide role.
public enum UserRole: String, Codable, Sendable {
    case admin, user, guest
}

/// A role inside one room.
public enum RoomRole: String, Codable, Sendable {
    case owner, moderator, member
}

/// `{"username", "role"}`
public struct UserInfo: Codable, Sendable, Equatable {
    public var username: String
    public var role: UserRole
    /// True for a bot's account; absent otherwise.
    public var bot: Bool?
    public init(username: String, role: UserRole, bot: Bool? = nil) {
        self.username = username
        self.role = role
        self.bot = bot
    }
}

/// `RoomInfo`. `unread` is per user, so it is left out of `room_updated` pushes (which are
/// encoded once for every recipient); clients keep their own count from those.
public struct RoomInfo: Codable, Sendable, Equatable {
    public var name: String
    public var topic: String
    public var members: Int
    public var online: Int
    public var `private`: Bool
    public var unread: Int?
    public var lastMessageID: Int64?
    /// For the viewer only (in its own `rooms` lists and `join_room` reply, never in a push
    /// to the room): it is muted there, why and until when.
    public var muted: Restriction?

    enum CodingKeys: String, CodingKey {
        case name, topic, members, online, `private`, unread, muted
        case lastMessageID = "last_message_id"
    }

    public init(name: String, topic: String, members: Int, online: Int, private isPrivate: Bool, unread: Int?, lastMessageID: Int64?) {
        self.name = name
        self.topic = topic
        self.members = members
        self.online = online
        self.private = isPrivate
        self.unread = unread
        self.lastMessageID = lastMessageID
    }
}

/// A ban or a mute as its subject is told of it: who, why, until when (nil: until lifted).
public struct Restriction: Codable, Sendable, Equatable {
    public var by: String?
    public var reason: String?
    public var until: Timestamp?
    public init(by: String?, reason: String?, until: Timestamp?) {
        self.by = by
        self.reason = reason
        self.until = until
    }
}

/// `Message` (§5). Exactly one of `room` and `to` is set. `edited` is the time of the last
/// edit; a deleted message is a tombstone (`deleted`, empty text, no reactions).
public struct Message: Codable, Sendable, Equatable {
    public var id: Int64
    public var room: String?
    public var to: String?
    public var from: String
    /// True when a bot (or a webhook) sent it; absent otherwise.
    public var fromBot: Bool?
    public var text: String
    public var timestamp: Timestamp
    public var replyTo: Int64?
    public var edited: Timestamp?
    public var deleted: Bool?
    public var attachments: [FileInfo]?
    public var reactions: [ReactionSummary]?

    enum CodingKeys: String, CodingKey {
        case id, room, to, from, text, timestamp, edited, deleted, attachments, reactions
        case replyTo = "reply_to"
        case fromBot = "from_bot"
    }

    public init(
        id: Int64, room: String?, to: String?, from: String, fromBot: Bool? = nil, text: String, timestamp: Timestamp, replyTo: Int64?,
        edited: Timestamp? = nil, deleted: Bool? = nil, attachments: [FileInfo]? = nil, reactions: [ReactionSummary]? = nil
    ) {
        self.id = id
        self.room = room
        self.to = to
        self.from = from
        self.fromBot = fromBot
        self.text = text
        self.timestamp = timestamp
        self.replyTo = replyTo
        self.edited = edited
        self.deleted = deleted
        self.attachments = attachments
        self.reactions = reactions
    }
}

/// An uploaded file as the upload answers it and as messages carry it (PROTOCOL.md §10):
/// images also have their size as shown and a preview.
public struct FileInfo: Codable, Sendable, Equatable {
    /// Random, 26 characters of base32: ids reveal nothing (not how many files there are,
    /// nor when one was sent).
    public var id: String
    public var name: String
    public var size: Int64
    public var type: String
    public var url: String
    public var width: Int?
    public var height: Int?
    public var previewURL: String?

    enum CodingKeys: String, CodingKey {
        case id, name, size, type, url, width, height
        case previewURL = "preview_url"
    }

    public init(id: String, name: String, size: Int64, type: String, width: Int? = nil, height: Int? = nil) {
        self.id = id
        self.name = name
        self.size = size
        self.type = type
        self.url = "/api/files/\(id)"
        self.width = width
        self.height = height
        self.previewURL = width == nil ? nil : "/api/files/\(id)/preview"
    }
}

/// One emoji's reactions on a message: how many, and up to 50 of who, in the order they reacted.
public struct ReactionSummary: Codable, Sendable, Equatable {
    public var emoji: String
    public var count: Int
    public var users: [String]
    public init(emoji: String, count: Int, users: [String]) {
        self.emoji = emoji
        self.count = count
        self.users = users
    }
}

/// An entry of `conversations` at login: a private conversation, with its unread count.
public struct ConversationInfo: Codable, Sendable, Equatable {
    public var with: String
    public var unread: Int
    public var lastMessageID: Int64

    enum CodingKeys: String, CodingKey {
        case with, unread
        case lastMessageID = "last_message_id"
    }

    public init(with: String, unread: Int, lastMessageID: Int64) {
        self.with = with
        self.unread = unread
        self.lastMessageID = lastMessageID
    }
}

/// An entry of `members` (room role) or `list_users` (server role).
public struct MemberInfo: Codable, Sendable, Equatable {
    public var username: String
    public var role: String
    public var online: Bool
    /// True for a bot's account (`salon admin bot create`, a webhook's); absent otherwise.
    public var bot: Bool?
    public init(username: String, role: String, online: Bool, bot: Bool? = nil) {
        self.username = username
        self.role = role
        self.online = online
        self.bot = bot
    }
}
