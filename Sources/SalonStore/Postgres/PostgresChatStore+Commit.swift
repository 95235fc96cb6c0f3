import PostgresNIO
import SalonCore
import SalonProtocol

/// The event log's write path on PostgreSQL: a batch of changes in one transaction, which
/// takes the `seq` row lock once (see `PostgresChatStore`). A batch of new messages, the
/// common case, is one multi-row `INSERT`; if it fails (a retry racing its original, a row
/// that breaks a constraint), the batch is applied again change by change, each in a
/// savepoint, so that one failing change is refused alone.
extension PostgresChatStore {
    public func commit(_ changes: [Change]) async throws -> [ChangeOutcome] {
        guard !changes.isEmpty else { return [] }
        let messages = changes.compactMap { change -> NewMessage? in
            if case .message(let m) = change { return m }
            return nil
        }
        // Messages with files also write who may read those: one by one (they are rare).
        if messages.count == changes.count, messages.allSatisfy({ $0.attachments.isEmpty }) {
            do {
                return try await transaction { [self] tx in try await insertMessages(messages, tx) }
            } catch {
                logger.debug("a batch of messages is stored one by one", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
        return try await transaction { [self] tx -> [ChangeOutcome] in
            let start = try await lockSequence(tx)
            var seq = start
            var outcomes: [ChangeOutcome] = []
            outcomes.reserveCapacity(changes.count)
            for change in changes {
                let before = seq
                try await tx.run("SAVEPOINT one")
                do {
                    outcomes.append(try await apply(change, seq: &seq, tx))
                    try await tx.run("RELEASE SAVEPOINT one")
                } catch {
                    logger.error("a change could not be stored", metadata: ["error": "\(String(reflecting: error))"])
                    try await tx.run("ROLLBACK TO SAVEPOINT one")
                    try await tx.run("RELEASE SAVEPOINT one")
                    seq = before
                    outcomes.append(.refused(ProtocolError(.internal, "the change could not be stored")))
                }
            }
            if seq != start { try await advanceSequence(to: seq, tx) }
            return outcomes
        }
    }

    /// The newest `seq`, with the row lock that orders commits (held until this transaction
    /// ends).
    private func lockSequence(_ tx: Tx) async throws -> Int64 {
        guard let value = try await tx.run("SELECT value FROM counters WHERE name = 'seq' FOR UPDATE").first?.int("value") else {
            throw StoreError("the seq counter is missing")
        }
        return value
    }

    /// Moves the sequence to `seq` and tells the other nodes (delivered at commit, in commit
    /// order; only the number).
    private func advanceSequence(to seq: Int64, _ tx: Tx) async throws {
        try await tx.run("UPDATE counters SET value = $1 WHERE name = 'seq'", [.int(seq)])
        try await tx.run("SELECT pg_notify('salon_events', $1)", [.text(String(seq))])
    }

    // MARK: Messages

    private static let messageInsertColumns = "id, room_id, sender_id, recipient_id, conversation, sender, recipient, text, created_at, reply_to, client_msg_id, attachments, sender_bot, search"
    private static let messageRow = "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, to_tsvector('simple', salon_unaccent($%d)))"
    private static let eventColumns = "seq, type, scope, room_id, user_id, peer_id, actor_id, message_id, data, created_at"

    private func insertMessages(_ messages: [NewMessage], _ tx: Tx) async throws -> [ChangeOutcome] {
        let start = try await lockSequence(tx)
        try await insertGuests(messages.flatMap { [$0.sender, $0.recipient].compactMap { $0 } }, at: messages[0].createdAt, tx)
        var seq = start
        var values: [PGValue] = []
        values.reserveCapacity(messages.count * 13)
        var outcomes: [ChangeOutcome] = []
        outcomes.reserveCapacity(messages.count)
        for m in messages {
            seq += 1
            appendMessageValues(m, id: seq, to: &values)
            var draft = m.event
            draft.messageID = seq
            outcomes.append(.committed([StoredEvent(seq: seq, draft: draft, createdAt: m.createdAt, message: m.stored(id: seq))]))
        }
        try await tx.run("INSERT INTO messages (\(Self.messageInsertColumns)) VALUES " + Self.rows(count: messages.count, width: 14, template: Self.messageRow), values)
        try await advanceSequence(to: seq, tx)
        return outcomes
    }

    private func appendMessageValues(_ m: NewMessage, id: Int64, to values: inout [PGValue]) {
        values.append(.int(id))
        values.append(.optional(m.roomID))
        values.append(.int(m.sender.id))
        values.append(.optional(m.recipient?.id))
        values.append(.text(m.conversation.key))
        values.append(.text(m.sender.username))
        values.append(.optional(m.recipient?.username))
        values.append(.text(m.text))
        values.append(.int(m.createdAt.milliseconds))
        values.append(.optional(m.replyTo))
        values.append(.optional(m.clientMsgID))
        values.append(.optional(FileInfo.json(m.attachments)))
        values.append(.bool(m.senderIsBot))
        values.append(.text(SearchText.normalized(m.text)))
    }

    /// `count` rows of `width` parameters, numbered from $1: `template` has `width` `%d`s (or
    /// is a plain row of placeholders when nil).
    static func rows(count: Int, width: Int, template: String? = nil) -> String {
        var sql = ""
        sql.reserveCapacity(count * width * 5)
        for row in 0..<count {
            if row > 0 { sql += ", " }
            let first = row * width + 1
            if let template {
                var parts = template.split(separator: "%d", omittingEmptySubsequences: false).makeIterator()
                sql += parts.next().map(String.init) ?? ""
                var n = first
                while let part = parts.next() {
                    sql += String(n) + part
                    n += 1
                }
            } else {
                sql += "(" + (first..<first + width).map { "$\($0)" }.joined(separator: ", ") + ")"
            }
        }
        return sql
    }

    /// Rows for the guests among `actors` that have none yet: events and messages refer to
    /// people by id, with foreign keys.
    private func insertGuests(_ actors: [Actor], at: Timestamp, _ tx: Tx) async throws {
        var seen = Set<Int64>()
        var values: [PGValue] = []
        for actor in actors where actor.isGuest && seen.insert(actor.id).inserted {
            values += [.int(actor.id), .text(actor.username), .text("#guest:\(actor.id)"), .int(at.milliseconds)]
        }
        guard !values.isEmpty else { return }
        try await tx.run("INSERT INTO users (id, username, username_key, password_hash, role, created_at) VALUES "
                         + Self.rows(count: values.count / 4, width: 4, template: "($%d, $%d, $%d, '', 'guest', $%d)") + " ON CONFLICT DO NOTHING", values)
    }

    private func insertEvents(_ drafts: [EventDraft], seq: inout Int64, at: Timestamp, message: StoredMessage? = nil, _ tx: Tx) async throws -> [StoredEvent] {
        guard !drafts.isEmpty else { return [] }
        var values: [PGValue] = []
        var events: [StoredEvent] = []
        for e in drafts {
            seq += 1
            values += [.int(seq), .text(e.type.rawValue), .int(Int64(e.scope.rawValue)), .optional(e.roomID), .optional(e.userID),
                       .optional(e.peerID), .optional(e.actorID), .optional(e.messageID), .text(String(decoding: e.data, as: UTF8.self)),
                       .int(at.milliseconds)]
            events.append(StoredEvent(seq: seq, draft: e, createdAt: at, message: message))
        }
        try await tx.run("INSERT INTO events (\(Self.eventColumns)) VALUES " + Self.rows(count: drafts.count, width: 10), values)
        return events
    }

    // MARK: One change

    private func apply(_ change: Change, seq: inout Int64, _ tx: Tx) async throws -> ChangeOutcome {
        let now = Timestamp.now()
        switch change {
        case .message(let m):
            try await insertGuests([m.sender, m.recipient].compactMap { $0 }, at: m.createdAt, tx)
            var values: [PGValue] = []
            appendMessageValues(m, id: seq + 1, to: &values)
            let inserted = try await tx.run("INSERT INTO messages (\(Self.messageInsertColumns)) VALUES " + Self.rows(count: 1, width: 14, template: Self.messageRow)
                + " ON CONFLICT (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING RETURNING id", values)
            guard !inserted.isEmpty else {
                if let cid = m.clientMsgID, let original = try await message(senderID: m.sender.id, clientMsgID: cid, tx) {
                    return .duplicate(original)
                }
                return .refused(ProtocolError(.internal, "the message could not be stored"))
            }
            seq += 1
            for file in m.attachments {
                try await tx.run("INSERT INTO message_files (file_id, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", [.text(file.id), .int(seq)])
            }
            var draft = m.event
            draft.messageID = seq
            return .committed([StoredEvent(seq: seq, draft: draft, createdAt: m.createdAt, message: m.stored(id: seq))])

        case .edit(let id, let author, let text, let at, let event):
            let updated = try await tx.run("""
                UPDATE messages SET text = $1, search = to_tsvector('simple', salon_unaccent($2)), edited_at = $3
                WHERE id = $4 AND NOT deleted AND sender_id = $5 RETURNING id
                """, [.text(text), .text(SearchText.normalized(text)), .int(at.milliseconds), .int(id), .int(author)])
            guard !updated.isEmpty, let message = try await message(id: id, tx) else {
                return .refused(ProtocolError(.messageNotFound, "no message \(id) that you can edit"))
            }
            return .committed(try await insertEvents([event], seq: &seq, at: at, message: message, tx))

        case .delete(let id, let event):
            let updated = try await tx.run("""
                UPDATE messages SET deleted = true, text = '', search = ''::tsvector, edited_at = NULL, attachments = NULL WHERE id = $1 AND NOT deleted RETURNING id
                """, [.int(id)])
            guard !updated.isEmpty else { return .refused(ProtocolError(.messageNotFound, "no message \(id)")) }
            try await tx.run("DELETE FROM reactions WHERE message_id = $1", [.int(id)])
            return .committed(try await insertEvents([event], seq: &seq, at: now, tx))

        case .react(let id, let user, let emoji, let add, let event):
            guard let row = try await tx.run("SELECT deleted FROM messages WHERE id = $1", [.int(id)]).first, row.flag("deleted") == false else {
                return .refused(ProtocolError(.messageNotFound, "no message \(id)"))
            }
            if add {
                try await insertGuests([user], at: now, tx)
                let added = try await tx.run("""
                    INSERT INTO reactions (message_id, emoji, user_id, username, seq) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (message_id, emoji, user_id) DO NOTHING RETURNING message_id
                    """, [.int(id), .text(emoji), .int(user.id), .text(user.username), .int(seq + 1)])
                guard !added.isEmpty else { return .committed([]) }
            } else {
                let removed = try await tx.run("DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3 RETURNING message_id",
                                               [.int(id), .text(emoji), .int(user.id)])
                guard !removed.isEmpty else { return .committed([]) }
            }
            return .committed(try await insertEvents([event], seq: &seq, at: now, tx))

        case .join(let roomID, let user, let role, let marker, let events):
            guard try await !tx.run("SELECT 1 FROM rooms WHERE id = $1", [.int(roomID)]).isEmpty else {
                return .refused(ProtocolError(.roomNotFound, "the room was deleted"))
            }
            try await insertGuests([user], at: now, tx)
            if !user.isGuest {
                let inserted = try await tx.run("""
                    INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (room_id, user_id) DO NOTHING RETURNING room_id
                    """, [.int(roomID), .int(user.id), .text(role.rawValue), .int(now.milliseconds)])
                guard !inserted.isEmpty else { return .committed([]) }
                try await tx.run("INSERT INTO membership_periods (room_id, user_id, joined_seq) VALUES ($1, $2, $3)", [.int(roomID), .int(user.id), .int(seq + 1)])
                try await tx.run("""
                    INSERT INTO read_markers (user_id, conversation, message_id) VALUES ($1, $2, $3)
                    ON CONFLICT (user_id, conversation) DO UPDATE SET message_id = excluded.message_id
                    """, [.int(user.id), .text(Conversation.room(roomID).key), .int(marker)])
            }
            return .committed(try await insertEvents(events, seq: &seq, at: now, tx))

        case .leave(let roomID, let user, let events):
            if !user.isGuest {
                let deleted = try await tx.run("DELETE FROM memberships WHERE room_id = $1 AND user_id = $2 RETURNING room_id", [.int(roomID), .int(user.id)])
                guard !deleted.isEmpty else { return .refused(ProtocolError(.notMember, "not a member of that room")) }
                try await tx.run("UPDATE membership_periods SET left_seq = $1 WHERE room_id = $2 AND user_id = $3 AND left_seq IS NULL",
                                 [.int(seq + 1), .int(roomID), .int(user.id)])
            }
            return .committed(try await insertEvents(events, seq: &seq, at: now, tx))

        case .createRoom(let room, let owner, var events):
            guard let id = try await tx.run("""
                INSERT INTO rooms (name, topic, private, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING id
                """, [.text(room.name), .text(room.topic), .bool(room.isPrivate), .int(room.createdAt.milliseconds)]).first?.int("id")
            else {
                return .refused(ProtocolError(.roomExists, "a room named '\(room.name)' exists"))
            }
            try await insertGuests([owner], at: now, tx)
            try await tx.run("INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES ($1, $2, 'owner', $3)",
                             [.int(id), .int(owner.id), .int(room.createdAt.milliseconds)])
            if !owner.isGuest {
                try await tx.run("INSERT INTO membership_periods (room_id, user_id, joined_seq) VALUES ($1, $2, $3)", [.int(id), .int(owner.id), .int(seq)])
                try await tx.run("INSERT INTO read_markers (user_id, conversation, message_id) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
                                 [.int(owner.id), .text(Conversation.room(id).key)])
            }
            for index in events.indices where events[index].roomID == nil { events[index].roomID = id }
            return .committed(try await insertEvents(events, seq: &seq, at: room.createdAt, tx))

        case .markRead(let user, let conversation, let id, let event):
            if !user.isGuest {
                try await tx.run("""
                    INSERT INTO read_markers (user_id, conversation, message_id) VALUES ($1, $2, $3)
                    ON CONFLICT (user_id, conversation) DO UPDATE SET message_id = excluded.message_id
                    """, [.int(user.id), .text(conversation), .int(id)])
            }
            try await insertGuests([user], at: now, tx)
            return .committed(try await insertEvents([event], seq: &seq, at: now, tx))

        case .deleteRoom(let roomID, let events):
            let deleted = try await tx.run("DELETE FROM rooms WHERE id = $1 RETURNING id", [.int(roomID)])
            guard !deleted.isEmpty else { return .refused(ProtocolError(.roomNotFound, "the room was deleted")) }
            try await tx.run("DELETE FROM read_markers WHERE conversation = $1", [.text(Conversation.room(roomID).key)])
            try await tx.run("DELETE FROM sanctions WHERE room_id = $1", [.int(roomID)])
            return .committed(try await insertEvents(events, seq: &seq, at: now, tx))

        case .setRole(let userID, let role, let events):
            let updated = try await tx.run("UPDATE users SET role = $1 WHERE id = $2 AND role <> 'guest' RETURNING id", [.text(role.rawValue), .int(userID)])
            guard !updated.isEmpty else { return .refused(ProtocolError(.userNotFound, "no such account")) }
            return .committed(try await insertEvents(events, seq: &seq, at: now, tx))

        case .setRoomRole(let roomID, let userID, let role, let events):
            let updated = try await tx.run("UPDATE memberships SET role = $1 WHERE room_id = $2 AND user_id = $3 RETURNING user_id",
                                           [.text(role.rawValue), .int(roomID), .int(userID)])
            guard !updated.isEmpty else { return .refused(ProtocolError(.notMember, "not a member of that room")) }
            return .committed(try await insertEvents(events, seq: &seq, at: now, tx))

        case .setTopic(let roomID, let topic, let events):
            let updated = try await tx.run("UPDATE rooms SET topic = $1 WHERE id = $2 RETURNING id", [.text(topic), .int(roomID)])
            guard !updated.isEmpty else { return .refused(ProtocolError(.roomNotFound, "the room was deleted")) }
            return .committed(try await insertEvents(events, seq: &seq, at: now, tx))

        case .sanction(let sanction, let events):
            if let roomID = sanction.roomID, try await tx.run("SELECT 1 FROM rooms WHERE id = $1", [.int(roomID)]).isEmpty {
                return .refused(ProtocolError(.roomNotFound, "the room was deleted"))
            }
            try await insertGuests([sanction.user], at: now, tx)
            try await tx.run("""
                INSERT INTO sanctions (kind, user_id, room_id, by_name, reason, until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (kind, user_id, room_id) DO UPDATE SET
                    by_name = excluded.by_name, reason = excluded.reason, until = excluded.until, created_at = excluded.created_at
                """, [.text(sanction.kind.rawValue), .int(sanction.user.id), .int(sanction.roomID ?? 0), .optional(sanction.by),
                      .optional(sanction.reason), .optional(sanction.until?.milliseconds), .int(sanction.createdAt.milliseconds)])
            if sanction.kind == .ban, let roomID = sanction.roomID, !sanction.user.isGuest {
                let left = try await tx.run("DELETE FROM memberships WHERE room_id = $1 AND user_id = $2 RETURNING room_id", [.int(roomID), .int(sanction.user.id)])
                if !left.isEmpty {
                    try await tx.run("UPDATE membership_periods SET left_seq = $1 WHERE room_id = $2 AND user_id = $3 AND left_seq IS NULL",
                                     [.int(seq + 1), .int(roomID), .int(sanction.user.id)])
                }
            }
            return .committed(try await insertEvents(events, seq: &seq, at: now, tx))

        case .lift(let key, let endingBy, let events):
            let deleted = try await tx.run("""
                DELETE FROM sanctions WHERE kind = $1 AND user_id = $2 AND room_id = $3
                    AND ($4::BIGINT IS NULL OR (until IS NOT NULL AND until <= $4::BIGINT)) RETURNING user_id
                """, [.text(key.kind.rawValue), .int(key.userID), .int(key.roomID ?? 0), .optional(endingBy?.milliseconds)])
            guard !deleted.isEmpty else { return .committed([]) }
            return .committed(try await insertEvents(events, seq: &seq, at: now, tx))

        case .revokeTokens(let userID, let passwordHash, let events):
            if let passwordHash {
                let updated = try await tx.run("UPDATE users SET password_hash = $1 WHERE id = $2 AND role <> 'guest' RETURNING id", [.text(passwordHash), .int(userID)])
                guard !updated.isEmpty else { return .refused(ProtocolError(.userNotFound, "no such account")) }
            }
            try await tx.run("DELETE FROM tokens WHERE user_id = $1", [.int(userID)])
            return .committed(try await insertEvents(events, seq: &seq, at: now, tx))

        case .logged(let change, let entry):
            let outcome = try await apply(change, seq: &seq, tx)
            if case .committed(let events) = outcome, let first = events.first {
                try await tx.run("""
                    INSERT INTO moderation_log (seq, action, by_name, username, room_id, room, reason, duration_seconds, role, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                    """, [.int(first.seq), .text(entry.action), .optional(entry.by), .text(entry.username), .optional(entry.roomID),
                          .optional(entry.room), .optional(entry.reason), .optional(entry.durationSeconds), .optional(entry.role),
                          .int(first.createdAt.milliseconds)])
            }
            return outcome
        }
    }
}
