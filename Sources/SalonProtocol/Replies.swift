/// The `data` of `success` replies and of pushes (PROTOCOL.md §3–§8).

/// Reply to `register` and `login`.
public struct AuthResult: Codable, Sendable {
    public var user: UserInfo
    public var token: String?
    public var rooms: [RoomInfo]
    public init(user: UserInfo, token: String?, rooms: [RoomInfo]) {
        self.user = user
        self.token = token
        self.rooms = rooms
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
    public init(message: Message) { self.message = message }
}

/// `system` push: join and leave notices, room creation, server notices.
public struct SystemPush: Codable, Sendable, Equatable {
    public var room: String?
    public var event: String
    public var username: String?
    public var text: String
    public init(room: String?, event: String, username: String?, text: String) {
        self.room = room
        self.event = event
        self.username = username
        self.text = text
    }
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
public struct RoomUpdatedPush: Codable, Sendable {
    public var room: RoomInfo
    public var removed: Bool?
    public init(room: RoomInfo, removed: Bool? = nil) {
        self.room = room
        self.removed = removed
    }
}
