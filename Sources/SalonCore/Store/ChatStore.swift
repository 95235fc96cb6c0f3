import SalonProtocol

/// The narrow interface between the domain core and durable storage. The core keeps rooms,
/// memberships and the user directory in memory and writes through this interface; messages
/// go through `MessageLog`, which batches them into `insertMessages`.
///
/// Every method that returns has made its change durable: the core acknowledges a request only
/// after the store has returned.
public protocol ChatStore: Sendable {
    /// Creates or upgrades the schema (versioned migrations).
    func migrate() async throws
    func close() async throws

    // Accounts
    /// Inserts a user; returns nil when the case-insensitive key is already taken.
    func insertUser(username: String, key: String, passwordHash: String, role: UserRole, at: Timestamp) async throws -> UserRecord?
    func user(key: String) async throws -> UserRecord?
    func allUsers() async throws -> [UserRecord]
    func insertToken(hash: String, userID: Int64, at: Timestamp) async throws
    /// The token's user, noting the use; nil for an unknown token, or one unused since
    /// `unusedSince` (which is deleted then).
    func user(tokenHash: String, usedAt: Timestamp, unusedSince: Timestamp?) async throws -> UserRecord?
    func deleteToken(hash: String) async throws
    /// Deletes every token unused since `cutoff`; returns how many.
    func deleteTokens(unusedSince cutoff: Timestamp) async throws -> Int
    func updatePasswordHash(userID: Int64, hash: String) async throws
    /// Reserves `count` ids of the sequence that numbers accounts, for guests: an id is never
    /// given twice, to an account or to a guest.
    func reserveIDs(count: Int) async throws -> ClosedRange<Int64>

    // Rooms and memberships
    /// Inserts a room; returns false when a room of that name exists.
    func insertRoom(_ room: RoomRecord) async throws -> Bool
    func allRooms() async throws -> [RoomRecord]
    func allMemberships() async throws -> [MembershipRecord]
    func insertMembership(_ membership: MembershipRecord, at: Timestamp) async throws
    func deleteMembership(room: String, userKey: String) async throws

    // Read markers: the last message id a user has read in a conversation.
    func setReadMarker(userKey: String, conversation: String, messageID: Int64) async throws
    /// Unread counts by conversation key, for every conversation with a marker.
    func unreadCounts(userKey: String) async throws -> [String: Int]

    // Messages
    /// Inserts a batch atomically (one transaction): all of them are stored, or none.
    func insertMessages(_ messages: [StoredMessage]) async throws
    func maxMessageID() async throws -> Int64
    /// The newest message id of every conversation.
    func lastMessageIDs() async throws -> [String: Int64]
    /// A page of a conversation, oldest first. With `before`, the newest `limit` older than it;
    /// with `after`, the oldest `limit` newer than it; with neither, the newest `limit`.
    func messages(conversation: String, before: Int64?, after: Int64?, limit: Int) async throws -> [StoredMessage]
    func message(id: Int64) async throws -> StoredMessage?
    func message(senderID: Int64, clientMsgID: String) async throws -> StoredMessage?
}

public struct UserRecord: Sendable, Equatable {
    public var id: Int64
    public var username: String
    public var passwordHash: String
    public var role: UserRole
    public init(id: Int64, username: String, passwordHash: String, role: UserRole) {
        self.id = id
        self.username = username
        self.passwordHash = passwordHash
        self.role = role
    }
    public var key: String { UserKey.of(username) }
}

public struct RoomRecord: Sendable, Equatable {
    public var name: String
    public var topic: String
    public var isPrivate: Bool
    public var createdAt: Timestamp
    public init(name: String, topic: String, isPrivate: Bool, createdAt: Timestamp) {
        self.name = name
        self.topic = topic
        self.isPrivate = isPrivate
        self.createdAt = createdAt
    }
}

public struct MembershipRecord: Sendable, Equatable {
    public var room: String
    public var userKey: String
    public var role: RoomRole
    public init(room: String, userKey: String, role: RoomRole) {
        self.room = room
        self.userKey = userKey
        self.role = role
    }
}

/// A message as stored: `conversation` is `Conversation.key`; `recipient` is the peer's
/// display name for a private message.
public struct StoredMessage: Sendable, Equatable {
    public var id: Int64
    public var conversation: String
    public var room: String?
    public var sender: String
    public var senderKey: String
    /// The sender's account or guest id (nil for guests' messages stored before ids).
    public var senderID: Int64?
    public var recipient: String?
    public var text: String
    public var createdAt: Timestamp
    public var replyTo: Int64?
    public var clientMsgID: String?

    public init(id: Int64, conversation: String, room: String?, sender: String, senderKey: String, senderID: Int64?, recipient: String?, text: String, createdAt: Timestamp, replyTo: Int64?, clientMsgID: String?) {
        self.id = id
        self.conversation = conversation
        self.room = room
        self.sender = sender
        self.senderKey = senderKey
        self.senderID = senderID
        self.recipient = recipient
        self.text = text
        self.createdAt = createdAt
        self.replyTo = replyTo
        self.clientMsgID = clientMsgID
    }

    /// The wire form.
    public var wire: Message {
        Message(id: id, room: room, to: room == nil ? recipient : nil, from: sender, text: text, timestamp: createdAt, replyTo: replyTo)
    }
}

/// Case-insensitive identity of a user name.
public enum UserKey {
    public static func of(_ username: String) -> String { username.lowercased() }
}

/// Where a message lives: a room, or the private conversation of two people.
///
/// People are their numeric ids, never their names: a name can pass from one person to
/// another (a guest's pseudonym, once the guest has gone), an id never does, so a private
/// conversation belongs to the two people who had it.
public enum Conversation: Hashable, Sendable {
    case room(String)
    case direct(Int64, Int64)

    /// A private conversation between two people's ids, in a canonical order.
    public static func direct(between a: Int64, and b: Int64) -> Conversation {
        a <= b ? .direct(a, b) : .direct(b, a)
    }

    /// The stored key: `#room`, or `@A|B` with the two ids, smaller first.
    public var key: String {
        switch self {
        case .room(let name): return "#" + name
        case .direct(let a, let b): return "@\(a)|\(b)"
        }
    }
}
