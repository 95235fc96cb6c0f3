import SalonCore
import SalonProtocol
import SQLiteNIO

/// Reads: history, single messages, unread counts, conversations, search, and `sync`'s events.
/// They run on the read connection (WAL: never waiting for a commit's fsync), except those a
/// write transaction makes on its own connection, to see its own changes.
extension SQLiteChatStore {
    static let messageSelect = """
        SELECT m.id AS id, m.room_id AS room_id, r.name AS room, m.sender_id AS sender_id, m.sender AS sender,
            m.recipient_id AS recipient_id, m.recipient AS recipient, m.conversation AS conversation, m.text AS text,
            m.created_at AS created_at, m.edited_at AS edited_at, m.deleted AS deleted, m.reply_to AS reply_to,
            m.client_msg_id AS client_msg_id, m.attachments AS attachments, m.sender_bot AS sender_bot
        FROM messages m LEFT JOIN rooms r ON r.id = m.room_id
        """

    /// Fills in the reactions of `messages`: emojis in the order each was first used, people
    /// in the order they reacted, at most `Limits.reactionUsers` names per emoji.
    func withReactions(_ messages: [StoredMessage], on connection: SQLiteConnection? = nil) async throws -> [StoredMessage] {
        let rows = try await reactionRows(of: messages.filter { !$0.deleted }.map(\.id), on: connection)
        return messages.map { m in
            var m = m
            m.reactions = ReactionSummary.summaries(of: rows[m.id] ?? [], before: nil)
            return m
        }
    }

    typealias ReactionRow = StoredReaction

    /// Every reaction of these messages, in the order they were made.
    func reactionRows(of ids: [Int64], on connection: SQLiteConnection? = nil) async throws -> [Int64: [ReactionRow]] {
        guard !ids.isEmpty else { return [:] }
        let list = "[" + ids.map(String.init).joined(separator: ",") + "]"
        let rows = try await (connection ?? reader).query(
            "SELECT message_id, emoji, username, seq FROM reactions WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY seq",
            [.text(list)])
        return StoreRows.reactions(rows)
    }

    public func messages(conversation: String, before: Int64?, after: Int64?, limit: Int) async throws -> [StoredMessage] {
        let select = Self.messageSelect + " WHERE m.conversation = ?"
        var binds: [SQLiteData] = [.text(conversation)]
        let sql: String
        if let after {
            sql = select + " AND m.id > ? ORDER BY m.id ASC LIMIT ?"
            binds += [.int(after), .integer(limit)]
        } else if let before {
            sql = select + " AND m.id < ? ORDER BY m.id DESC LIMIT ?"
            binds += [.int(before), .integer(limit)]
        } else {
            sql = select + " ORDER BY m.id DESC LIMIT ?"
            binds.append(.integer(limit))
        }
        var found = try await read(sql, binds).compactMap(\.storedMessage)
        if after == nil { found.reverse() }
        return try await withReactions(found)
    }

    public func message(id: Int64) async throws -> StoredMessage? {
        try await message(id: id, on: reader)
    }

    func message(id: Int64, on connection: SQLiteConnection) async throws -> StoredMessage? {
        guard let found = try await connection.query(Self.messageSelect + " WHERE m.id = ?", [.int(id)]).first?.storedMessage else {
            return nil
        }
        return try await withReactions([found], on: connection).first
    }

    public func message(senderID: Int64, clientMsgID: String) async throws -> StoredMessage? {
        try await message(senderID: senderID, clientMsgID: clientMsgID, on: reader)
    }

    func message(senderID: Int64, clientMsgID: String, on connection: SQLiteConnection) async throws -> StoredMessage? {
        guard let found = try await connection.query(Self.messageSelect + " WHERE m.sender_id = ? AND m.client_msg_id = ?",
                                                     [.int(senderID), .text(clientMsgID)]).first?.storedMessage else {
            return nil
        }
        return try await withReactions([found], on: connection).first
    }

    public func unreadCounts(userID: Int64) async throws -> [String: Int] {
        let rows = try await read("""
            SELECT r.conversation AS conversation,
                (SELECT COUNT(*) FROM messages m WHERE m.conversation = r.conversation
                    AND m.id > COALESCE((SELECT MAX(o.id) FROM messages o WHERE o.conversation = r.conversation AND o.id > r.message_id AND o.sender_id = r.user_id), r.message_id)
                    AND m.deleted = 0 AND m.sender_id IS NOT r.user_id) AS unread
            FROM read_markers r WHERE r.user_id = ?
            """, [.int(userID)])
        var counts: [String: Int] = [:]
        for row in rows {
            if let conversation = row.text("conversation") { counts[conversation] = Int(row.int("unread") ?? 0) }
        }
        return counts
    }

    public func conversations(userID: Int64, limit: Int) async throws -> [ConversationSummary] {
        let rows = try await read("""
            WITH mine AS (
                SELECT conversation, MAX(id) AS last_id FROM (
                    SELECT conversation, id FROM messages WHERE room_id IS NULL AND sender_id = ?1
                    UNION ALL
                    SELECT conversation, id FROM messages WHERE room_id IS NULL AND recipient_id = ?1
                ) GROUP BY conversation ORDER BY last_id DESC LIMIT ?2
            )
            SELECT mine.conversation AS conversation, mine.last_id AS last_id,
                CASE WHEN m.sender_id = ?1 THEN m.recipient_id ELSE m.sender_id END AS peer_id,
                CASE WHEN m.sender_id = ?1 THEN m.recipient ELSE m.sender END AS peer_name,
                (SELECT COUNT(*) FROM messages x WHERE x.conversation = mine.conversation AND x.deleted = 0
                    AND x.sender_id IS NOT ?1
                    AND x.id > COALESCE(
                        (SELECT MAX(o.id) FROM messages o WHERE o.conversation = mine.conversation AND o.sender_id = ?1
                            AND o.id > COALESCE((SELECT message_id FROM read_markers WHERE user_id = ?1 AND conversation = mine.conversation), 0)),
                        (SELECT message_id FROM read_markers WHERE user_id = ?1 AND conversation = mine.conversation), 0)) AS unread
            FROM mine JOIN messages m ON m.id = mine.last_id
            ORDER BY mine.last_id DESC
            """, [.int(userID), .integer(limit)])
        return rows.compactMap { row in
            guard let conversation = row.text("conversation"), let last = row.int("last_id") else { return nil }
            return ConversationSummary(conversation: conversation, peerID: row.int("peer_id"), peerName: row.text("peer_name") ?? "",
                                       lastMessageID: last, unread: Int(row.int("unread") ?? 0))
        }
    }

    public func search(_ q: SearchQuery) async throws -> [StoredMessage] {
        try await indexPending()
        var sql = """
            SELECT m.id AS id, m.room_id AS room_id, r.name AS room, m.sender_id AS sender_id, m.sender AS sender,
                m.recipient_id AS recipient_id, m.recipient AS recipient, m.conversation AS conversation, m.text AS text,
                m.created_at AS created_at, m.edited_at AS edited_at, m.deleted AS deleted, m.reply_to AS reply_to,
                m.client_msg_id AS client_msg_id, m.attachments AS attachments, m.sender_bot AS sender_bot
            FROM message_search s JOIN messages m ON m.id = s.rowid LEFT JOIN rooms r ON r.id = m.room_id
            WHERE message_search MATCH ? AND m.deleted = 0
            """
        var binds: [SQLiteData] = [.text(Self.ftsMatch(q.terms))]
        if let conversation = q.conversation {
            sql += " AND m.conversation = ?"
            binds.append(.text(conversation))
        } else {
            sql += " AND (m.room_id IN (SELECT value FROM json_each(?))"
            binds.append(.text("[" + q.roomIDs.map(String.init).joined(separator: ",") + "]"))
            if q.includeDirect {
                sql += " OR (m.room_id IS NULL AND (m.sender_id = ? OR m.recipient_id = ?))"
                binds += [.int(q.userID), .int(q.userID)]
            }
            sql += ")"
        }
        if let before = q.before {
            sql += " AND m.id < ?"
            binds.append(.int(before))
        }
        sql += " ORDER BY m.id DESC LIMIT ?"
        binds.append(.integer(q.limit))
        return try await withReactions(read(sql, binds).compactMap(\.storedMessage))
    }

    /// The terms as an FTS5 query: each a quoted string (its words hold only letters and
    /// digits, so nothing in them is syntax), the last perhaps a prefix.
    static func ftsMatch(_ terms: [SearchTerm]) -> String {
        terms.map { "\"" + $0.words.joined(separator: " ") + "\"" + ($0.prefix ? " *" : "") }.joined(separator: " ")
    }

    // MARK: Sync

    public func committedEvents(after: Int64, through: Int64, limit: Int) async throws -> [StoredEvent] {
        let eventRows = try await read("""
            SELECT e.seq AS seq, e.type AS type, e.scope AS scope, e.room_id AS e_room_id, e.user_id AS e_user_id,
                e.peer_id AS e_peer_id, e.actor_id AS actor_id, e.message_id AS message_id, e.data AS data,
                e.created_at AS e_created_at,
                m.id AS id, m.room_id AS room_id, r.name AS room, m.sender_id AS sender_id, m.sender AS sender,
                m.recipient_id AS recipient_id, m.recipient AS recipient, m.conversation AS conversation, m.text AS text,
                m.created_at AS created_at, m.edited_at AS edited_at, m.deleted AS deleted, m.reply_to AS reply_to,
                m.client_msg_id AS client_msg_id, m.attachments AS attachments, m.sender_bot AS sender_bot
            FROM events e
            LEFT JOIN messages m ON m.id = e.message_id AND e.type IN ('receive_message', 'message_updated')
            LEFT JOIN rooms r ON r.id = m.room_id
            WHERE e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?
            """, [.int(after), .int(through), .integer(limit)])
        let messageRows = try await read(Self.messageSelect + " WHERE m.id > ? AND m.id <= ? ORDER BY m.id LIMIT ?",
                                         [.int(after), .int(through), .integer(limit)])
        return try await withReactionsAsOf(StoreRows.merged(eventRows: eventRows, messageRows: messageRows, limit: limit))
    }

    /// Message events with the reactions made before each (`StoredEvent.withReactions`).
    func withReactionsAsOf(_ events: [StoredEvent]) async throws -> [StoredEvent] {
        StoredEvent.withReactions(events, from: try await reactionRows(of: StoredEvent.messageIDs(events)))
    }



    /// Another process that writes the file (`salon admin`, while the server runs): the
    /// newest seq is looked at twice a second and told when it moved (the log delivers what it
    /// has not delivered yet, which is nothing when this server made the change).
    public func commitNotifications() -> AsyncStream<Int64>? {
        AsyncStream { continuation in
            let task = Task { [weak self] in
                var told: Int64 = -1
                while !Task.isCancelled {
                    guard let self else { break }
                    if let seq = try? await self.lastSeq(), seq != told {
                        told = seq
                        continuation.yield(seq)
                    }
                    try? await Task.sleep(for: .milliseconds(500))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// One node per SQLite file: nothing to share.
    public var cluster: (any ClusterState)? { nil }

    public func membershipPeriods(userID: Int64, after: Int64) async throws -> [MembershipPeriod] {
        try await read("""
            SELECT room_id, joined_seq, left_seq FROM membership_periods
            WHERE user_id = ? AND (left_seq IS NULL OR left_seq > ?)
            """, [.int(userID), .int(after)]).compactMap(\.membershipPeriod)
    }

    /// Two logs merged by `seq`: new messages (rows of `messages`: the user's rooms during
    /// its periods, its private conversations) and every other event (rows of `events`:
    /// addressed to the user, its private conversations', everyone's, its rooms' during its
    /// periods). Each source is one index range.
    public func events(userID: Int64, periods: [MembershipPeriod], after: Int64, through: Int64, limit: Int) async throws -> [StoredEvent] {
        let periodList = "[" + periods.map { "[\($0.roomID),\($0.from),\($0.to ?? Int64.max)]" }.joined(separator: ",") + "]"
        let binds: [SQLiteData] = [.text(periodList), .int(after), .int(through), .int(userID), .integer(limit)]
        let periodsCTE = """
            WITH p AS (
                SELECT json_extract(value, '$[0]') AS room_id, json_extract(value, '$[1]') AS from_seq, json_extract(value, '$[2]') AS to_seq
                FROM json_each(?1)
            )
            """
        let eventRows = try await read(periodsCTE + """
            , picked AS (
                SELECT e.seq AS seq FROM p JOIN events e ON e.room_id = p.room_id
                    WHERE e.seq > MAX(?2, p.from_seq) AND e.seq < p.to_seq AND e.seq <= ?3 AND e.scope IN (0, 1)
                        AND NOT (e.scope = 1 AND e.actor_id IS ?4)
                UNION
                SELECT seq FROM events WHERE user_id = ?4 AND seq > ?2 AND seq <= ?3 AND scope = 2
                UNION
                SELECT seq FROM events WHERE peer_id = ?4 AND seq > ?2 AND seq <= ?3 AND scope = 2
                UNION
                SELECT seq FROM events WHERE scope = 3 AND seq > ?2 AND seq <= ?3
                ORDER BY seq LIMIT ?5
            )
            SELECT e.seq AS seq, e.type AS type, e.scope AS scope, e.room_id AS e_room_id, e.user_id AS e_user_id,
                e.peer_id AS e_peer_id, e.actor_id AS actor_id, e.message_id AS message_id, e.data AS data,
                e.created_at AS e_created_at,
                m.id AS id, m.room_id AS room_id, r.name AS room, m.sender_id AS sender_id, m.sender AS sender,
                m.recipient_id AS recipient_id, m.recipient AS recipient, m.conversation AS conversation, m.text AS text,
                m.created_at AS created_at, m.edited_at AS edited_at, m.deleted AS deleted, m.reply_to AS reply_to,
                m.client_msg_id AS client_msg_id, m.attachments AS attachments, m.sender_bot AS sender_bot
            FROM picked JOIN events e ON e.seq = picked.seq
            LEFT JOIN messages m ON m.id = e.message_id AND e.type IN ('receive_message', 'message_updated')
            LEFT JOIN rooms r ON r.id = m.room_id
            ORDER BY e.seq
            """, binds)
        let messageRows = try await read(periodsCTE + """
            , picked AS (
                SELECT m.id AS id FROM p JOIN messages m ON m.conversation = '#' || p.room_id
                    WHERE m.id > MAX(?2, p.from_seq) AND m.id < p.to_seq AND m.id <= ?3
                UNION
                SELECT id FROM messages WHERE room_id IS NULL AND sender_id = ?4 AND id > ?2 AND id <= ?3
                UNION
                SELECT id FROM messages WHERE room_id IS NULL AND recipient_id = ?4 AND id > ?2 AND id <= ?3
                ORDER BY id LIMIT ?5
            )
            \(Self.messageSelect) JOIN picked ON picked.id = m.id ORDER BY m.id
            """, binds)
        return try await withReactionsAsOf(StoreRows.merged(eventRows: eventRows, messageRows: messageRows, limit: limit))
    }
}
