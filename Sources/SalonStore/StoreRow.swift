import SalonCore
import SalonProtocol

/// A result row of either backend, read by column name: what lets both stores turn rows into
/// records with the same code (`StoreRow.storedMessage`, `merged`, …). A column of another
/// type than asked reads as nil.
protocol StoreRow {
    func int(_ name: String) -> Int64?
    func text(_ name: String) -> String?
    /// A boolean (SQLite: an integer, 0 or not; PostgreSQL: a `BOOLEAN`).
    func flag(_ name: String) -> Bool?
}

extension StoreRow {
    var userRecord: UserRecord? {
        guard let id = int("id"), let name = text("username") else { return nil }
        return UserRecord(id: id, username: name, passwordHash: text("password_hash") ?? "", role: UserRole(rawValue: text("role") ?? "") ?? .user)
    }

    var roomRecord: RoomRecord? {
        guard let id = int("id"), let name = text("name") else { return nil }
        return RoomRecord(id: id, name: name, topic: text("topic") ?? "", isPrivate: flag("private") ?? false,
                          createdAt: Timestamp(milliseconds: int("created_at") ?? 0), lastMessageID: int("last_message_id") ?? 0)
    }

    var membershipRecord: MembershipRecord? {
        guard let room = int("room_id"), let user = int("user_id"), let name = text("username") else { return nil }
        return MembershipRecord(roomID: room, userID: user, username: name, role: RoomRole(rawValue: text("role") ?? "") ?? .member)
    }

    /// A row of `webhooks` joined with its room's and bot's names (`StoreRows.webhookSelect`).
    var webhookRecord: WebhookRecord? {
        guard let id = text("id"), let room = int("room_id"), let roomName = text("room"), let bot = int("bot_id"), let name = text("name") else { return nil }
        return WebhookRecord(id: id, roomID: room, room: roomName, botID: bot, name: name, createdBy: text("created_by_name"),
                             createdAt: Timestamp(milliseconds: int("created_at") ?? 0))
    }

    /// The message of a row of the stores' `messageSelect` columns.
    var storedMessage: StoredMessage? {
        guard let id = int("id"), let conversation = text("conversation") else { return nil }
        return StoredMessage(
            id: id, conversation: conversation, roomID: int("room_id"), room: text("room"),
            senderID: int("sender_id"), sender: text("sender") ?? "",
            recipientID: int("recipient_id"), recipient: text("recipient"),
            text: text("text") ?? "", createdAt: Timestamp(milliseconds: int("created_at") ?? 0),
            editedAt: int("edited_at").map(Timestamp.init(milliseconds:)), deleted: flag("deleted") ?? false,
            replyTo: int("reply_to"), clientMsgID: text("client_msg_id"), attachments: FileInfo.list(fromJSON: text("attachments")),
            senderIsBot: flag("sender_bot") ?? false
        )
    }

    /// A row of `sanctions` joined with the person's `username` and `role` (`guest` or not).
    var sanction: Sanction? {
        guard let kind = text("kind").flatMap(SanctionKind.init(rawValue:)), let user = int("user_id"), let name = text("username"),
              let room = int("room_id") else { return nil }
        return Sanction(kind: kind, user: Actor(id: user, username: name, isGuest: text("role") == "guest"), roomID: room == 0 ? nil : room,
                        by: text("by_name"), reason: text("reason"), until: int("until").map(Timestamp.init(milliseconds:)),
                        createdAt: Timestamp(milliseconds: int("created_at") ?? 0))
    }

    var moderationRecord: ModerationRecord? {
        guard let seq = int("seq"), let action = text("action"), let name = text("username") else { return nil }
        let entry = ModerationEntry(action: action, by: text("by_name"), username: name, roomID: int("room_id"), room: text("room"),
                                    reason: text("reason"), durationSeconds: int("duration_seconds"), role: text("role"))
        return ModerationRecord(seq: seq, entry: entry, createdAt: Timestamp(milliseconds: int("created_at") ?? 0))
    }

    var accountSummary: AccountSummary? {
        guard let id = int("id"), let name = text("username") else { return nil }
        return AccountSummary(id: id, username: name, role: UserRole(rawValue: text("role") ?? "") ?? .user,
                              createdAt: Timestamp(milliseconds: int("created_at") ?? 0), lastSeen: int("last_seen_at").map(Timestamp.init(milliseconds:)))
    }

    var storedFile: StoredFile? {
        guard let id = text("id"), let hash = text("hash"), let name = text("name"), let size = int("size"), let type = text("type"),
              let uploader = int("uploader_id") else { return nil }
        return StoredFile(id: id, hash: hash, name: name, size: size, type: type, width: int("width").map(Int.init), height: int("height").map(Int.init),
                          previewHash: text("preview_hash"), previewType: text("preview_type"), uploaderID: uploader,
                          createdAt: Timestamp(milliseconds: int("created_at") ?? 0))
    }

    var fileShare: FileShare {
        FileShare(roomID: int("room_id"), senderID: int("sender_id"), recipientID: int("recipient_id"))
    }

    var membershipPeriod: MembershipPeriod? {
        guard let room = int("room_id"), let from = int("joined_seq") else { return nil }
        return MembershipPeriod(roomID: room, from: from, to: int("left_seq"))
    }
}

enum StoreRows {
    /// Webhooks with their room's and bot's names: the same SQL in both dialects.
    static let webhookSelect = """
        SELECT w.id AS id, w.room_id AS room_id, r.name AS room, w.bot_id AS bot_id, b.username AS name,
            c.username AS created_by_name, w.created_at AS created_at
        FROM webhooks w JOIN rooms r ON r.id = w.room_id JOIN users b ON b.id = w.bot_id LEFT JOIN users c ON c.id = w.created_by
        """

    /// Rows of `events` (with their message's columns, for message events) and of `messages`
    /// (new messages), as events in `seq` order, at most `limit`.
    static func merged(eventRows: [some StoreRow], messageRows: [some StoreRow], limit: Int) -> [StoredEvent] {
        var events: [StoredEvent] = []
        events.reserveCapacity(eventRows.count + messageRows.count)
        for row in eventRows {
            guard let seq = row.int("seq"), let type = row.text("type").flatMap(EventType.init(rawValue:)),
                  let scope = row.int("scope").flatMap({ EventScope(rawValue: Int($0)) }) else { continue }
            let draft = EventDraft(
                type: type, scope: scope, roomID: row.int("e_room_id"), userID: row.int("e_user_id"), peerID: row.int("e_peer_id"),
                actorID: row.int("actor_id"), messageID: row.int("message_id"), data: Array((row.text("data") ?? "").utf8)
            )
            events.append(StoredEvent(seq: seq, draft: draft, createdAt: Timestamp(milliseconds: row.int("e_created_at") ?? 0),
                                      message: type.carriesMessage ? row.storedMessage : nil))
        }
        for row in messageRows {
            guard let message = row.storedMessage else { continue }
            events.append(StoredEvent(seq: message.id, draft: .newMessage(message), createdAt: message.createdAt, message: message))
        }
        events.sort { $0.seq < $1.seq }
        if events.count > limit { events.removeLast(events.count - limit) }
        return events
    }

    /// Reactions rows (`message_id`, `emoji`, `username`, `seq`, in order) by message.
    static func reactions(_ rows: [some StoreRow]) -> [Int64: [StoredReaction]] {
        var byMessage: [Int64: [StoredReaction]] = [:]
        for row in rows {
            guard let id = row.int("message_id"), let emoji = row.text("emoji"), let name = row.text("username") else { continue }
            byMessage[id, default: []].append((emoji, name, row.int("seq") ?? 0))
        }
        return byMessage
    }
}
