import SalonCore
import SalonProtocol
import SQLiteNIO

/// The event log's write path: a batch of changes in one transaction.
///
/// Each event takes the next seq under the store's write lock, and one process (the server)
/// writes a database's events, so commit order is `seq` order (PostgreSQL, with several
/// writers, will take the sequence under a row lock held until commit).
///
/// A new message's event is its `messages` row (its id is its `seq`): a batch of new messages,
/// the common case, is one multi-row `INSERT` whatever its size, one statement and so one
/// transaction, with nothing else written (sending moves one's read marker: that is read from
/// one's newest message after the marker) and no trigger. Profiles showed each extra statement
/// (a thread hop and back), each per-row trigger or extra index, and in-commit search indexing
/// as most of the store's cost per message, so the store keeps the sequence in memory (and
/// reads it again after any failure). If the batch fails (a retry racing its
/// original, a row that breaks a constraint), it is applied again change by change, each in a
/// savepoint: one failing change is refused alone and the rest is stored.
extension SQLiteChatStore {
    public func commit(_ changes: [Change]) async throws -> [ChangeOutcome] {
        guard !changes.isEmpty else { return [] }
        let messages = changes.compactMap { change -> NewMessage? in
            if case .message(let m) = change { return m }
            return nil
        }
        return try await writeLock.run {
            // Messages with files also write who may read those: one by one (they are rare).
            if messages.count == changes.count, messages.allSatisfy({ $0.attachments.isEmpty }) {
                do {
                    return try await insertMessages(messages)
                } catch {
                    logger.debug("a batch of messages is stored one by one", metadata: ["error": "\(error)"])
                    sequence.withLock { $0 = nil }
                }
            }
            do {
                let (outcomes, last) = try await inTransaction { () -> ([ChangeOutcome], Int64) in
                    let start = try await currentSeq()
                    var seq = start
                    var outcomes: [ChangeOutcome] = []
                    outcomes.reserveCapacity(changes.count)
                    for change in changes {
                        let before = seq
                        try await write("SAVEPOINT one")
                        do {
                            outcomes.append(try await apply(change, seq: &seq))
                            try await write("RELEASE one")
                        } catch {
                            logger.error("a change could not be stored", metadata: ["error": "\(error)"])
                            try await write("ROLLBACK TO one")
                            try await write("RELEASE one")
                            seq = before
                            outcomes.append(.refused(ProtocolError(.internal, "the change could not be stored")))
                        }
                    }
                    if seq != start {
                        try await write("UPDATE sequence SET value = ? WHERE id = 1", [.int(seq)])
                    }
                    return (outcomes, seq)
                }
                sequence.withLock { $0 = last }
                return outcomes
            } catch {
                sequence.withLock { $0 = nil }
                throw error
            }
        }
    }

    // MARK: Messages

    private static let messageInsertColumns = "id, room_id, sender_id, recipient_id, conversation, sender, recipient, text, created_at, reply_to, client_msg_id, attachments, sender_bot"
    private static let eventColumns = "seq, type, scope, room_id, user_id, peer_id, actor_id, message_id, data, created_at"

    /// The fast path (the caller holds the lock): one statement, or a transaction of two
    /// when some senders are guests not stored yet.
    private func insertMessages(_ messages: [NewMessage]) async throws -> [ChangeOutcome] {
        let start: Int64
        if let known = sequence.withLock({ $0 }), try await !writtenElsewhere() {
            start = known
        } else {
            start = try await currentSeq()
        }
        var seq = start
        let known = knownGuests.withLock { $0 }
        let guests = messages.flatMap { [$0.sender, $0.recipient].compactMap { $0 } }.filter { $0.isGuest && !known.contains($0.id) }
        var binds: [SQLiteData] = []
        binds.reserveCapacity(messages.count * 12)
        var outcomes: [ChangeOutcome] = []
        outcomes.reserveCapacity(messages.count)
        for m in messages {
            seq += 1
            appendMessageBinds(m, id: seq, to: &binds)
            var draft = m.event
            draft.messageID = seq
            outcomes.append(.committed([StoredEvent(seq: seq, draft: draft, createdAt: m.createdAt, message: m.stored(id: seq))]))
        }
        let insert = Self.rows("INSERT INTO messages (\(Self.messageInsertColumns)) VALUES ", width: 13, count: messages.count)
        if guests.isEmpty {
            try await write(insert, binds)
        } else {
            try await inTransaction {
                try await insertGuests(guests, at: messages[0].createdAt)
                try await write(insert, binds)
            }
            knownGuests.withLock { known in
                if known.count > 100_000 { known.removeAll() }  // a cache: forgetting only costs a statement
                known.formUnion(guests.map(\.id))
            }
        }
        sequence.withLock { $0 = seq }
        lastMessageCommit.store(Self.monotonicMillis(), ordering: .relaxed)
        return outcomes
    }

    /// Whether another process committed since the last look (`salon admin` on the file of a
    /// running server): then the sequence kept in memory is stale and is read again.
    /// `PRAGMA data_version` on this connection changes only with other connections' commits.
    /// Looked at once per 50 ms at most: once per batch, the statement (a thread hop) raised
    /// the top ingest rate's ack p50 from about 10 ms to 250–400 ms. The price: a batch of new
    /// messages within 50 ms of an outside commit may take the number that commit gave its
    /// event (`salon admin` writes rarely; the next look puts the sequence right).
    private func writtenElsewhere() async throws -> Bool {
        let now = Self.monotonicMillis()
        guard now - lastVersionCheck.load(ordering: .relaxed) >= 50 else { return false }
        lastVersionCheck.store(now, ordering: .relaxed)
        let version = try await write("PRAGMA data_version").first?.int("data_version")
        return dataVersion.withLock { seen in
            defer { seen = version }
            return seen == nil || seen != version
        }
    }

    private func appendMessageBinds(_ m: NewMessage, id: Int64, to binds: inout [SQLiteData]) {
        binds.append(.int(id))
        binds.append(.optional(m.roomID))
        binds.append(.int(m.sender.id))
        binds.append(.optional(m.recipient?.id))
        binds.append(.text(m.conversation.key))
        binds.append(.text(m.sender.username))
        binds.append(.optional(m.recipient?.username))
        binds.append(.text(m.text))
        binds.append(.int(m.createdAt.milliseconds))
        binds.append(.optional(m.replyTo))
        binds.append(.optional(m.clientMsgID))
        binds.append(.optional(FileInfo.json(m.attachments)))
        binds.append(.integer(m.senderIsBot ? 1 : 0))
    }

    private func appendEventBinds(_ e: EventDraft, seq: Int64, at: Timestamp, to binds: inout [SQLiteData]) {
        binds.append(.int(seq))
        binds.append(.text(e.type.rawValue))
        binds.append(.integer(e.scope.rawValue))
        binds.append(.optional(e.roomID))
        binds.append(.optional(e.userID))
        binds.append(.optional(e.peerID))
        binds.append(.optional(e.actorID))
        binds.append(.optional(e.messageID))
        binds.append(.text(String(decoding: e.data, as: UTF8.self)))
        binds.append(.int(at.milliseconds))
    }

    /// `INSERT … VALUES (?, …), (?, …)…`: `count` rows of `width` values (or of `row`).
    private static func rows(_ head: String, width: Int = 0, row: String? = nil, count: Int) -> String {
        let row = row ?? "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        return head + repeatElement(row, count: count).joined(separator: ", ")
    }

    /// Rows for the guests among `actors` that have none yet: events and messages refer to
    /// people by id, with foreign keys. Returns their ids.
    @discardableResult
    private func insertGuests(_ actors: [Actor], at: Timestamp) async throws -> [Int64] {
        var seen = Set<Int64>()
        var binds: [SQLiteData] = []
        for actor in actors where actor.isGuest && seen.insert(actor.id).inserted {
            binds += [.int(actor.id), .text(actor.username), .text("#guest:\(actor.id)"), .int(at.milliseconds)]
        }
        guard !binds.isEmpty else { return [] }
        try await write(Self.rows("INSERT OR IGNORE INTO users (id, username, username_key, password_hash, role, created_at) VALUES ",
                                  row: "(?, ?, ?, '', 'guest', ?)", count: binds.count / 4), binds)
        return Array(seen)
    }

    private func insertEvents(_ drafts: [EventDraft], seq: inout Int64, at: Timestamp, message: StoredMessage? = nil) async throws -> [StoredEvent] {
        guard !drafts.isEmpty else { return [] }
        var binds: [SQLiteData] = []
        var events: [StoredEvent] = []
        for draft in drafts {
            seq += 1
            appendEventBinds(draft, seq: seq, at: at, to: &binds)
            events.append(StoredEvent(seq: seq, draft: draft, createdAt: at, message: message))
        }
        try await write(Self.rows("INSERT INTO events (\(Self.eventColumns)) VALUES ", width: 10, count: drafts.count), binds)
        return events
    }

    // MARK: One change

    private func apply(_ change: Change, seq: inout Int64) async throws -> ChangeOutcome {
        let now = Timestamp.now()
        switch change {
        case .message(let m):
            try await insertGuests([m.sender, m.recipient].compactMap { $0 }, at: m.createdAt)
            var binds: [SQLiteData] = []
            appendMessageBinds(m, id: seq + 1, to: &binds)
            let inserted = try await write("INSERT INTO messages (\(Self.messageInsertColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                + "ON CONFLICT (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING RETURNING id", binds)
            guard !inserted.isEmpty else {
                if let cid = m.clientMsgID, let original = try await message(senderID: m.sender.id, clientMsgID: cid, on: writer) {
                    return .duplicate(original)
                }
                return .refused(ProtocolError(.internal, "the message could not be stored"))
            }
            seq += 1
            for file in m.attachments {
                try await write("INSERT OR IGNORE INTO message_files (file_id, message_id) VALUES (?, ?)", [.text(file.id), .int(seq)])
            }
            var draft = m.event
            draft.messageID = seq
            return .committed([StoredEvent(seq: seq, draft: draft, createdAt: m.createdAt, message: m.stored(id: seq))])

        case .edit(let id, let author, let text, let at, let event):
            let updated = try await write("UPDATE messages SET text = ?, edited_at = ? WHERE id = ? AND deleted = 0 AND sender_id = ? RETURNING id",
                                          [.text(text), .int(at.milliseconds), .int(id), .int(author)])
            guard !updated.isEmpty, let message = try await message(id: id, on: writer) else {
                return .refused(ProtocolError(.messageNotFound, "no message \(id) that you can edit"))
            }
            return .committed(try await insertEvents([event], seq: &seq, at: at, message: message))

        case .delete(let id, let event):
            let updated = try await write("UPDATE messages SET deleted = 1, text = '', edited_at = NULL, attachments = NULL WHERE id = ? AND deleted = 0 RETURNING id", [.int(id)])
            guard !updated.isEmpty else { return .refused(ProtocolError(.messageNotFound, "no message \(id)")) }
            try await write("DELETE FROM reactions WHERE message_id = ?", [.int(id)])
            return .committed(try await insertEvents([event], seq: &seq, at: now))

        case .react(let id, let user, let emoji, let add, let event):
            guard let row = try await write("SELECT deleted FROM messages WHERE id = ?", [.int(id)]).first, row.int("deleted") == 0 else {
                return .refused(ProtocolError(.messageNotFound, "no message \(id)"))
            }
            if add {
                try await insertGuests([user], at: now)
                let added = try await write("""
                    INSERT INTO reactions (message_id, emoji, user_id, username, seq) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (message_id, emoji, user_id) DO NOTHING RETURNING message_id
                    """, [.int(id), .text(emoji), .int(user.id), .text(user.username), .int(seq + 1)])
                guard !added.isEmpty else { return .committed([]) }
            } else {
                let removed = try await write("DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ? RETURNING message_id",
                                              [.int(id), .text(emoji), .int(user.id)])
                guard !removed.isEmpty else { return .committed([]) }
            }
            return .committed(try await insertEvents([event], seq: &seq, at: now))

        case .join(let roomID, let user, let role, let marker, let events):
            guard try await !write("SELECT 1 FROM rooms WHERE id = ?", [.int(roomID)]).isEmpty else {
                return .refused(ProtocolError(.roomNotFound, "the room was deleted"))
            }
            try await insertGuests([user], at: now)
            if !user.isGuest {
                let inserted = try await write("""
                    INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (room_id, user_id) DO NOTHING RETURNING room_id
                    """, [.int(roomID), .int(user.id), .text(role.rawValue), .int(now.milliseconds)])
                guard !inserted.isEmpty else { return .committed([]) }
                try await write("INSERT INTO membership_periods (room_id, user_id, joined_seq) VALUES (?, ?, ?)", [.int(roomID), .int(user.id), .int(seq + 1)])
                try await write("""
                    INSERT INTO read_markers (user_id, conversation, message_id) VALUES (?, ?, ?)
                    ON CONFLICT (user_id, conversation) DO UPDATE SET message_id = excluded.message_id
                    """, [.int(user.id), .text(Conversation.room(roomID).key), .int(marker)])
            }
            return .committed(try await insertEvents(events, seq: &seq, at: now))

        case .leave(let roomID, let user, let events):
            if !user.isGuest {
                let deleted = try await write("DELETE FROM memberships WHERE room_id = ? AND user_id = ? RETURNING room_id", [.int(roomID), .int(user.id)])
                guard !deleted.isEmpty else { return .refused(ProtocolError(.notMember, "not a member of that room")) }
                try await write("UPDATE membership_periods SET left_seq = ? WHERE room_id = ? AND user_id = ? AND left_seq IS NULL",
                                [.int(seq + 1), .int(roomID), .int(user.id)])
            }
            return .committed(try await insertEvents(events, seq: &seq, at: now))

        case .createRoom(let room, let owner, var events):
            guard let id = try await write("""
                INSERT INTO rooms (name, topic, private, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id
                """, [.text(room.name), .text(room.topic), .integer(room.isPrivate ? 1 : 0), .int(room.createdAt.milliseconds)]).first?.int("id")
            else {
                return .refused(ProtocolError(.roomExists, "a room named '\(room.name)' exists"))
            }
            try await insertGuests([owner], at: now)
            try await write("INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)",
                            [.int(id), .int(owner.id), .int(room.createdAt.milliseconds)])
            if !owner.isGuest {
                try await write("INSERT INTO membership_periods (room_id, user_id, joined_seq) VALUES (?, ?, ?)", [.int(id), .int(owner.id), .int(seq)])
                try await write("INSERT INTO read_markers (user_id, conversation, message_id) VALUES (?, ?, 0) ON CONFLICT DO NOTHING",
                                [.int(owner.id), .text(Conversation.room(id).key)])
            }
            for index in events.indices where events[index].roomID == nil { events[index].roomID = id }
            return .committed(try await insertEvents(events, seq: &seq, at: room.createdAt))

        case .markRead(let user, let conversation, let id, let event):
            if !user.isGuest {
                try await write("""
                    INSERT INTO read_markers (user_id, conversation, message_id) VALUES (?, ?, ?)
                    ON CONFLICT (user_id, conversation) DO UPDATE SET message_id = excluded.message_id
                    """, [.int(user.id), .text(conversation), .int(id)])
            }
            try await insertGuests([user], at: now)
            return .committed(try await insertEvents([event], seq: &seq, at: now))

        case .deleteRoom(let roomID, let events):
            let deleted = try await write("DELETE FROM rooms WHERE id = ? RETURNING id", [.int(roomID)])
            guard !deleted.isEmpty else { return .refused(ProtocolError(.roomNotFound, "the room was deleted")) }
            try await write("DELETE FROM read_markers WHERE conversation = ?", [.text(Conversation.room(roomID).key)])
            try await write("DELETE FROM sanctions WHERE room_id = ?", [.int(roomID)])
            return .committed(try await insertEvents(events, seq: &seq, at: now))

        case .setRole(let userID, let role, let events):
            let updated = try await write("UPDATE users SET role = ? WHERE id = ? AND role <> 'guest' RETURNING id", [.text(role.rawValue), .int(userID)])
            guard !updated.isEmpty else { return .refused(ProtocolError(.userNotFound, "no such account")) }
            return .committed(try await insertEvents(events, seq: &seq, at: now))

        case .setRoomRole(let roomID, let userID, let role, let events):
            let updated = try await write("UPDATE memberships SET role = ? WHERE room_id = ? AND user_id = ? RETURNING user_id",
                                          [.text(role.rawValue), .int(roomID), .int(userID)])
            guard !updated.isEmpty else { return .refused(ProtocolError(.notMember, "not a member of that room")) }
            return .committed(try await insertEvents(events, seq: &seq, at: now))

        case .setTopic(let roomID, let topic, let events):
            let updated = try await write("UPDATE rooms SET topic = ? WHERE id = ? RETURNING id", [.text(topic), .int(roomID)])
            guard !updated.isEmpty else { return .refused(ProtocolError(.roomNotFound, "the room was deleted")) }
            return .committed(try await insertEvents(events, seq: &seq, at: now))

        case .sanction(let sanction, let events):
            if let roomID = sanction.roomID, try await write("SELECT 1 FROM rooms WHERE id = ?", [.int(roomID)]).isEmpty {
                return .refused(ProtocolError(.roomNotFound, "the room was deleted"))
            }
            try await insertGuests([sanction.user], at: now)
            try await write("""
                INSERT INTO sanctions (kind, user_id, room_id, by_name, reason, until, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (kind, user_id, room_id) DO UPDATE SET
                    by_name = excluded.by_name, reason = excluded.reason, until = excluded.until, created_at = excluded.created_at
                """, [.text(sanction.kind.rawValue), .int(sanction.user.id), .int(sanction.roomID ?? 0), .optional(sanction.by),
                      .optional(sanction.reason), .optional(sanction.until?.milliseconds), .int(sanction.createdAt.milliseconds)])
            if sanction.kind == .ban, let roomID = sanction.roomID, !sanction.user.isGuest {
                let left = try await write("DELETE FROM memberships WHERE room_id = ? AND user_id = ? RETURNING room_id", [.int(roomID), .int(sanction.user.id)])
                if !left.isEmpty {
                    try await write("UPDATE membership_periods SET left_seq = ? WHERE room_id = ? AND user_id = ? AND left_seq IS NULL",
                                    [.int(seq + 1), .int(roomID), .int(sanction.user.id)])
                }
            }
            return .committed(try await insertEvents(events, seq: &seq, at: now))

        case .lift(let key, let endingBy, let events):
            var sql = "DELETE FROM sanctions WHERE kind = ? AND user_id = ? AND room_id = ?"
            var binds: [SQLiteData] = [.text(key.kind.rawValue), .int(key.userID), .int(key.roomID ?? 0)]
            if let endingBy {
                sql += " AND until IS NOT NULL AND until <= ?"
                binds.append(.int(endingBy.milliseconds))
            }
            guard try await !write(sql + " RETURNING user_id", binds).isEmpty else { return .committed([]) }
            return .committed(try await insertEvents(events, seq: &seq, at: now))

        case .revokeTokens(let userID, let passwordHash, let events):
            if let passwordHash {
                let updated = try await write("UPDATE users SET password_hash = ? WHERE id = ? AND role <> 'guest' RETURNING id", [.text(passwordHash), .int(userID)])
                guard !updated.isEmpty else { return .refused(ProtocolError(.userNotFound, "no such account")) }
            }
            try await write("DELETE FROM tokens WHERE user_id = ?", [.int(userID)])
            return .committed(try await insertEvents(events, seq: &seq, at: now))

        case .logged(let change, let entry):
            let outcome = try await apply(change, seq: &seq)
            if case .committed(let events) = outcome, let first = events.first {
                try await write("""
                    INSERT INTO moderation_log (seq, action, by_name, username, room_id, room, reason, duration_seconds, role, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.int(first.seq), .text(entry.action), .optional(entry.by), .text(entry.username), .optional(entry.roomID),
                          .optional(entry.room), .optional(entry.reason), .optional(entry.durationSeconds), .optional(entry.role),
                          .int(first.createdAt.milliseconds)])
            }
            return outcome
        }
    }
}
