import NIOCore
import SalonProtocol

/// Durable storage, as atomic use cases: each method is one transaction, and every method that
/// returns has made its change durable (the core acknowledges a request only after that).
///
/// Every durable change to the chat is a `Change` given to `commit`: the store applies a
/// batch of them in one transaction, appends their events to the event log, and assigns each
/// event its `seq` from the one sequence that also numbers messages, under the transaction's
/// write lock, so that commit order is `seq` order and no reader can pass a gap that is later
/// filled. State tables (messages with their current text, reactions, memberships and their
/// history, read markers) change in the same transaction. One change that cannot be applied is
/// refused on its own; the rest of its batch is stored.
///
/// Every backend passes the same contract suite (`StoreContractTests`).
public protocol ChatStore: Sendable {
    /// Creates or upgrades the schema (versioned migrations).
    func migrate() async throws
    func close() async throws

    // MARK: Accounts

    /// Registers an account in one transaction: the user, its membership of `generalID` (from
    /// the current `seq` on) and its read marker there at the room's newest message. Nil when
    /// the case-insensitive key is taken.
    func register(username: String, key: String, passwordHash: String, role: UserRole, generalID: Int64, at: Timestamp) async throws -> UserRecord?
    func user(key: String) async throws -> UserRecord?
    /// Every account (not guests).
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

    // MARK: State at start

    /// Creates the room unless one of that name exists (not an event: `general` at start);
    /// returns the room as stored.
    func ensureRoom(name: String, at: Timestamp) async throws -> RoomRecord
    func allRooms() async throws -> [RoomRecord]
    /// Every stored membership, with the member's name.
    func allMemberships() async throws -> [MembershipRecord]
    /// The newest `seq` committed.
    func lastSeq() async throws -> Int64

    // MARK: The event log

    /// Applies a batch of changes in one transaction; one outcome per change, in order.
    func commit(_ changes: [Change]) async throws -> [ChangeOutcome]
    /// A user's membership history (for `sync`): every period that ended after `after`.
    func membershipPeriods(userID: Int64, after: Int64) async throws -> [MembershipPeriod]
    /// The events of `seq` in `after+1 ... through` that reach `userID` (addressed to the user,
    /// a private conversation of the user's, everyone's, or a room's during one of `periods`),
    /// oldest first, at most `limit`. Message events carry their message as it is now.
    func events(userID: Int64, periods: [MembershipPeriod], after: Int64, through: Int64, limit: Int) async throws -> [StoredEvent]

    /// Every event of `seq` in `after+1 ... through`, oldest first, at most `limit`: what
    /// another node committed, for this node to apply and fan out in order. Message events
    /// carry their message as it is now, with no reactions (those come as their own events).
    func committedEvents(after: Int64, through: Int64, limit: Int) async throws -> [StoredEvent]
    /// The newest `seq` each time another process commits (PostgreSQL's LISTEN/NOTIFY), or
    /// nil when this store has no other writer to hear of (SQLite: one server per file).
    func commitNotifications() -> AsyncStream<Int64>?
    /// The state nodes sharing this database share (nil: one node only).
    var cluster: (any ClusterState)? { get }

    // MARK: Reads

    /// A page of a conversation, oldest first. With `before`, the newest `limit` older than it;
    /// with `after`, the oldest `limit` newer than it; with neither, the newest `limit`.
    /// Tombstones included; reactions filled in.
    func messages(conversation: String, before: Int64?, after: Int64?, limit: Int) async throws -> [StoredMessage]
    func message(id: Int64) async throws -> StoredMessage?
    func message(senderID: Int64, clientMsgID: String) async throws -> StoredMessage?
    /// Unread counts by conversation key, for every conversation where the user has a marker:
    /// messages after it that others sent and that are not deleted.
    func unreadCounts(userID: Int64) async throws -> [String: Int]
    /// The user's private conversations, newest first.
    func conversations(userID: Int64, limit: Int) async throws -> [ConversationSummary]
    /// Messages that match, newest first, in the conversations given.
    func search(_ query: SearchQuery) async throws -> [StoredMessage]

    // MARK: Moderation

    /// Every ban and mute stored (those that ran out too, until their end is committed).
    func allSanctions() async throws -> [Sanction]
    /// The moderation log, newest first: one room's (`roomID`) or all, before `before`.
    func moderationLog(roomID: Int64?, before: Int64?, limit: Int) async throws -> [ModerationRecord]
    /// Every account (not guests) with its last login, by name.
    func accounts() async throws -> [AccountSummary]

    // MARK: Files

    /// A folder for uploads on their way in (on the same file system as the contents, when
    /// those are kept as files, so that keeping one is a rename).
    var stagingDirectory: String { get }
    /// Keeps the bytes of `staged` (a file in `stagingDirectory`, which this removes) as the
    /// content `hash`, once: a content already kept is not kept twice.
    func storeContent(hash: String, from staged: String) async throws
    /// The content `hash`, in chunks of at most about a megabyte, given to `body` in order;
    /// `file_not_found` when it is not kept.
    func readContent(hash: String, _ body: (ByteBuffer) async throws -> Void) async throws
    func insertFile(_ file: StoredFile) async throws
    func file(id: String) async throws -> StoredFile?
    /// Where the file was shared: the conversations of the messages that carry it and are not
    /// deleted.
    func fileShares(id: String) async throws -> [FileShare]

    // MARK: Webhooks (incoming: each posts into its room as its bot account)

    /// Keeps a webhook; only the SHA-256 of its secret token is stored.
    func insertWebhook(_ webhook: WebhookRecord, tokenHash: String, createdByID: Int64?) async throws
    /// The webhook whose token hashes to `tokenHash`, with its bot's name and its room's.
    func webhook(tokenHash: String) async throws -> WebhookRecord?
    /// A room's webhooks, oldest first.
    func webhooks(roomID: Int64) async throws -> [WebhookRecord]
    /// Revokes one; false when the room has no such webhook.
    func deleteWebhook(id: String, roomID: Int64) async throws -> Bool
}

/// An incoming webhook (docs/protocol.md, "Bots and webhooks"): a secret URL that posts
/// into `roomID` as the bot account `botID`, named after the webhook.
public struct WebhookRecord: Sendable, Equatable {
    public var id: String
    public var roomID: Int64
    public var room: String
    public var botID: Int64
    public var name: String
    public var createdBy: String?
    public var createdAt: Timestamp
    public init(id: String, roomID: Int64, room: String, botID: Int64, name: String, createdBy: String?, createdAt: Timestamp) {
        self.id = id
        self.roomID = roomID
        self.room = room
        self.botID = botID
        self.name = name
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

/// An uploaded file as stored: its content by hash (`storeContent`), what the upload said of
/// it, and for images their size and a preview's content.
public struct StoredFile: Sendable, Equatable {
    public var id: String
    public var hash: String
    public var name: String
    public var size: Int64
    public var type: String
    public var width: Int?
    public var height: Int?
    public var previewHash: String?
    public var previewType: String?
    public var uploaderID: Int64
    public var createdAt: Timestamp

    public init(id: String, hash: String, name: String, size: Int64, type: String, width: Int?, height: Int?,
                previewHash: String?, previewType: String?, uploaderID: Int64, createdAt: Timestamp) {
        self.id = id
        self.hash = hash
        self.name = name
        self.size = size
        self.type = type
        self.width = width
        self.height = height
        self.previewHash = previewHash
        self.previewType = previewType
        self.uploaderID = uploaderID
        self.createdAt = createdAt
    }

    public var info: FileInfo { FileInfo(id: id, name: name, size: size, type: type, width: width, height: height) }
}

/// A conversation where a file was shared: a room, or the two people of a private one.
public struct FileShare: Sendable, Equatable {
    public var roomID: Int64?
    public var senderID: Int64?
    public var recipientID: Int64?
    public init(roomID: Int64?, senderID: Int64?, recipientID: Int64?) {
        self.roomID = roomID
        self.senderID = senderID
        self.recipientID = recipientID
    }
}

// MARK: - Records

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

    /// The password hash of a bot: no password hashes to it (not a bcrypt string), so a bot
    /// never logs in with one — only with its tokens.
    public static let botPasswordHash = "!bot"
    public var isBot: Bool { passwordHash == Self.botPasswordHash }
}

/// A room as stored. `id` is never reused: a room deleted and created again is another room,
/// with none of the first one's history.
public struct RoomRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var topic: String
    public var isPrivate: Bool
    public var createdAt: Timestamp
    /// The newest message's id (0: none).
    public var lastMessageID: Int64
    public init(id: Int64 = 0, name: String, topic: String, isPrivate: Bool, createdAt: Timestamp, lastMessageID: Int64 = 0) {
        self.id = id
        self.name = name
        self.topic = topic
        self.isPrivate = isPrivate
        self.createdAt = createdAt
        self.lastMessageID = lastMessageID
    }
}

public struct MembershipRecord: Sendable, Equatable {
    public var roomID: Int64
    public var userID: Int64
    public var username: String
    public var role: RoomRole
    public init(roomID: Int64, userID: Int64, username: String, role: RoomRole) {
        self.roomID = roomID
        self.userID = userID
        self.username = username
        self.role = role
    }
}

/// When a user was a member of a room: the events of `seq` strictly between `from` and `to`
/// (nil: still a member) are the room's events that reach the user.
public struct MembershipPeriod: Sendable, Equatable {
    public var roomID: Int64
    public var from: Int64
    public var to: Int64?
    public init(roomID: Int64, from: Int64, to: Int64?) {
        self.roomID = roomID
        self.from = from
        self.to = to
    }
}

/// Someone who acts: an account, or a guest (stored, with a row of its own, the first time it
/// does something durable, so that every event and message refers to a person by id).
public struct Actor: Sendable, Equatable {
    public var id: Int64
    public var username: String
    public var isGuest: Bool
    public init(id: Int64, username: String, isGuest: Bool) {
        self.id = id
        self.username = username
        self.isGuest = isGuest
    }
}

/// A message as stored. `conversation` is `Conversation.key`; `room` is the room's name now,
/// `recipient` the peer's name for a private message.
public struct StoredMessage: Sendable, Equatable {
    public var id: Int64
    public var conversation: String
    public var roomID: Int64?
    public var room: String?
    /// The sender's id (nil only for guests' messages stored before people had ids).
    public var senderID: Int64?
    public var sender: String
    public var recipientID: Int64?
    public var recipient: String?
    public var text: String
    public var createdAt: Timestamp
    public var editedAt: Timestamp?
    public var deleted: Bool
    public var replyTo: Int64?
    public var clientMsgID: String?
    /// The files it carries (none once deleted).
    public var attachments: [FileInfo]
    public var reactions: [ReactionSummary]
    /// A bot (or a webhook, which posts as one) sent it.
    public var senderIsBot: Bool

    public init(
        id: Int64, conversation: String, roomID: Int64?, room: String?, senderID: Int64?, sender: String,
        recipientID: Int64?, recipient: String?, text: String, createdAt: Timestamp, editedAt: Timestamp? = nil,
        deleted: Bool = false, replyTo: Int64?, clientMsgID: String?, attachments: [FileInfo] = [], reactions: [ReactionSummary] = [],
        senderIsBot: Bool = false
    ) {
        self.senderIsBot = senderIsBot
        self.id = id
        self.conversation = conversation
        self.roomID = roomID
        self.room = room
        self.senderID = senderID
        self.sender = sender
        self.recipientID = recipientID
        self.recipient = recipient
        self.text = text
        self.createdAt = createdAt
        self.editedAt = editedAt
        self.deleted = deleted
        self.replyTo = replyTo
        self.clientMsgID = clientMsgID
        self.attachments = attachments
        self.reactions = reactions
    }

    /// The wire form: a deleted message is a tombstone.
    public var wire: Message {
        Message(
            id: id, room: room, to: roomID == nil && room == nil ? recipient : nil, from: sender, fromBot: senderIsBot ? true : nil,
            text: deleted ? "" : text, timestamp: createdAt, replyTo: deleted ? nil : replyTo,
            edited: deleted ? nil : editedAt, deleted: deleted ? true : nil,
            attachments: deleted || attachments.isEmpty ? nil : attachments,
            reactions: deleted || reactions.isEmpty ? nil : reactions
        )
    }

    /// Whether `userID` may read it: a party to its private conversation (rooms are checked
    /// by membership, which the core knows).
    public func isParty(_ userID: Int64) -> Bool {
        senderID == userID || recipientID == userID
    }
}

/// A private conversation at login.
public struct ConversationSummary: Sendable, Equatable {
    public var conversation: String
    /// The other person (the user itself, for notes to oneself).
    public var peerID: Int64?
    public var peerName: String
    public var lastMessageID: Int64
    public var unread: Int
    public init(conversation: String, peerID: Int64?, peerName: String, lastMessageID: Int64, unread: Int) {
        self.conversation = conversation
        self.peerID = peerID
        self.peerName = peerName
        self.lastMessageID = lastMessageID
        self.unread = unread
    }
}

/// A full-text query, already checked: every term is required.
public struct SearchQuery: Sendable, Equatable {
    public var terms: [SearchTerm]
    /// The rooms searched (by id), and the private conversations of `userID` (when
    /// `includeDirect`), or only `conversation`.
    public var roomIDs: [Int64]
    public var userID: Int64
    public var includeDirect: Bool
    public var conversation: String?
    public var before: Int64?
    public var limit: Int
    public init(terms: [SearchTerm], roomIDs: [Int64], userID: Int64, includeDirect: Bool, conversation: String?, before: Int64?, limit: Int) {
        self.terms = terms
        self.roomIDs = roomIDs
        self.userID = userID
        self.includeDirect = includeDirect
        self.conversation = conversation
        self.before = before
        self.limit = limit
    }
}

/// Case-insensitive identity of a user name.
public enum UserKey {
    public static func of(_ username: String) -> String { username.lowercased() }
}

/// Where a message lives: a room, or the private conversation of two people.
///
/// Rooms and people are their numeric ids, never their names: a name can pass from one to
/// another (a guest's pseudonym, once the guest has gone; a room deleted and created again),
/// an id never does.
public enum Conversation: Hashable, Sendable {
    case room(Int64)
    case direct(Int64, Int64)

    /// A private conversation between two people's ids, in a canonical order.
    public static func direct(between a: Int64, and b: Int64) -> Conversation {
        a <= b ? .direct(a, b) : .direct(b, a)
    }

    /// The stored key: `#ROOMID`, or `@A|B` with the two ids, smaller first.
    public var key: String {
        switch self {
        case .room(let id): return "#\(id)"
        case .direct(let a, let b): return "@\(a)|\(b)"
        }
    }
}
