import SalonProtocol

/// One durable change, as the core asks the store to make it (`ChatStore.commit`). Each is
/// applied with its events in the batch's transaction; the store re-checks what could have
/// changed since the core looked (a message deleted meanwhile, a name taken meanwhile) and
/// refuses the change alone when it no longer holds.
public enum Change: Sendable {
    /// A new message; its id is its event's `seq`. Moves the sender's read marker to it.
    case message(NewMessage)
    /// The author's new text (`message_updated`).
    case edit(messageID: Int64, authorID: Int64, text: String, at: Timestamp, event: EventDraft)
    /// The message becomes a tombstone; its reactions go (`message_deleted`).
    case delete(messageID: Int64, event: EventDraft)
    /// A reaction added or taken away (`reaction`); nothing (no event) when it was already so.
    case react(messageID: Int64, user: Actor, emoji: String, add: Bool, event: EventDraft)
    /// A user joins a room: membership (not kept for guests), its period, the read marker at
    /// `readMarker`; nothing when already a member.
    case join(roomID: Int64, user: Actor, role: RoomRole, readMarker: Int64, events: [EventDraft])
    /// A user leaves a room; `not_member` when it was not one.
    case leave(roomID: Int64, user: Actor, events: [EventDraft])
    /// A new room, its creator its owner (kept for guests too: the room keeps its owner);
    /// `room_exists` when the name is taken. Events without a room get the new room's id.
    case createRoom(RoomRecord, owner: Actor, events: [EventDraft])
    /// A read marker (`read`, to the user's other connections).
    case markRead(user: Actor, conversation: String, messageID: Int64, event: EventDraft)
    /// A room's new topic (`system` `topic` and `room_updated` to its members);
    /// `room_not_found` when the room was deleted meanwhile.
    case setTopic(roomID: Int64, topic: String, events: [EventDraft])
    /// A room and everything in it (messages, memberships, its events) goes; `events` have no
    /// room (it is gone), they name it. `room_not_found` when it went already.
    case deleteRoom(roomID: Int64, events: [EventDraft])
    /// An account's server role (`admin`, `user`); `user_not_found` when it is no account.
    case setRole(userID: Int64, role: UserRole, events: [EventDraft])
    /// A member's room role (`moderator`, `member`); `not_member` when it is not one.
    case setRoomRole(roomID: Int64, userID: Int64, role: RoomRole, events: [EventDraft])
    /// A ban or a mute, replacing one of the same kind, person and room. A room ban also ends
    /// the person's membership there (its period ends at the first event), when a member.
    case sanction(Sanction, events: [EventDraft])
    /// A ban or a mute ends; nothing (no event) when there is none, or, with `endingBy`, when
    /// it does not end by then (a moderator lifted or renewed it meanwhile, or another node
    /// ended it first).
    case lift(SanctionKey, endingBy: Timestamp?, events: [EventDraft])
    /// An account's tokens are all revoked (`salon admin revoke-tokens`, `reset-password`);
    /// with `passwordHash`, its password changes too.
    case revokeTokens(userID: Int64, passwordHash: String?, events: [EventDraft])
    /// The change, and its line in the moderation log (only if it committed events).
    indirect case logged(Change, ModerationEntry)
}

/// A message before it is stored.
public struct NewMessage: Sendable {
    public var conversation: Conversation
    public var roomID: Int64?
    public var room: String?
    public var sender: Actor
    public var recipient: Actor?
    public var text: String
    public var createdAt: Timestamp
    public var replyTo: Int64?
    public var clientMsgID: String?
    /// Files it carries, already checked readable by the sender.
    public var attachments: [FileInfo]
    /// Sent by a bot (or a webhook): the message says so.
    public var senderIsBot: Bool

    public init(conversation: Conversation, roomID: Int64?, room: String?, sender: Actor, recipient: Actor?, text: String, createdAt: Timestamp,
                replyTo: Int64?, clientMsgID: String?, attachments: [FileInfo] = [], senderIsBot: Bool = false) {
        self.senderIsBot = senderIsBot
        self.conversation = conversation
        self.roomID = roomID
        self.room = room
        self.sender = sender
        self.recipient = recipient
        self.text = text
        self.createdAt = createdAt
        self.replyTo = replyTo
        self.clientMsgID = clientMsgID
        self.attachments = attachments
    }

    /// The message as stored with `id`.
    public func stored(id: Int64) -> StoredMessage {
        StoredMessage(
            id: id, conversation: conversation.key, roomID: roomID, room: room, senderID: sender.id, sender: sender.username,
            recipientID: recipient?.id, recipient: recipient?.username, text: text, createdAt: createdAt,
            replyTo: replyTo, clientMsgID: clientMsgID, attachments: attachments, senderIsBot: senderIsBot
        )
    }

    /// Its event: to the room's members, or to the two people.
    public var event: EventDraft {
        if let roomID {
            return EventDraft(type: .receiveMessage, scope: .room, roomID: roomID, actorID: sender.id)
        }
        return EventDraft(type: .receiveMessage, scope: .users, userID: sender.id, peerID: recipient?.id, actorID: sender.id)
    }
}

/// What became of one change.
public enum ChangeOutcome: Sendable {
    /// Stored, with its events (none when it changed nothing).
    case committed([StoredEvent])
    /// A retry of a message already stored (same sender and `client_msg_id`): the original.
    case duplicate(StoredMessage)
    /// Refused (the message was deleted meanwhile, the name taken…); nothing stored.
    case refused(ProtocolError)
}

/// The push an event is, which is also its kind.
public enum EventType: String, Sendable {
    case receiveMessage = "receive_message"
    case messageUpdated = "message_updated"
    case messageDeleted = "message_deleted"
    case reaction
    case system
    case roomUpdated = "room_updated"
    case read
    case kicked
    case banned

    /// Rendered from the message as it is now (not from `data`).
    public var carriesMessage: Bool { self == .receiveMessage || self == .messageUpdated }
}

/// Who an event reaches (live, and in `sync`).
public enum EventScope: Int, Sendable {
    /// The room's members when it happened.
    case room = 0
    /// The room's members but the actor (who gets its own event of the change).
    case roomButActor = 1
    /// `userID` and `peerID`.
    case users = 2
    /// Everyone.
    case everyone = 3
}

/// An event before it has its `seq`. `data` is the push's JSON object without `seq` (empty for
/// message events, which are rendered from the message).
public struct EventDraft: Sendable, Equatable {
    public var type: EventType
    public var scope: EventScope
    public var roomID: Int64?
    public var userID: Int64?
    public var peerID: Int64?
    public var actorID: Int64?
    public var messageID: Int64?
    public var data: [UInt8]

    public init(type: EventType, scope: EventScope, roomID: Int64? = nil, userID: Int64? = nil, peerID: Int64? = nil, actorID: Int64? = nil, messageID: Int64? = nil, data: [UInt8] = []) {
        self.type = type
        self.scope = scope
        self.roomID = roomID
        self.userID = userID
        self.peerID = peerID
        self.actorID = actorID
        self.messageID = messageID
        self.data = data
    }
}

extension EventDraft {
    /// An event about a stored message, to whoever may read it: its room's members, or the
    /// two people of its private conversation.
    public static func about(_ message: StoredMessage, type: EventType, actorID: Int64, data: [UInt8] = []) -> EventDraft {
        if let roomID = message.roomID {
            return EventDraft(type: type, scope: .room, roomID: roomID, actorID: actorID, messageID: message.id, data: data)
        }
        return EventDraft(type: type, scope: .users, userID: message.senderID, peerID: message.recipientID, actorID: actorID, messageID: message.id, data: data)
    }
}

/// A committed event.
public struct StoredEvent: Sendable, Equatable {
    public var seq: Int64
    public var draft: EventDraft
    public var createdAt: Timestamp
    /// For message events: the message (as committed, or as it is now when read back).
    public var message: StoredMessage?

    public init(seq: Int64, draft: EventDraft, createdAt: Timestamp, message: StoredMessage? = nil) {
        self.seq = seq
        self.draft = draft
        self.createdAt = createdAt
        self.message = message
    }

    public var type: EventType { draft.type }

    /// The push's data without `seq`: from the message for message events.
    public var data: [UInt8] {
        if draft.type.carriesMessage, let message {
            return EnvelopeEncoder.messageData(EncodedMessage(message.wire))
        }
        return draft.data.isEmpty ? Array("{}".utf8) : draft.data
    }
}
