import PostgresNIO
import SalonCore
import SalonProtocol

/// Reads on PostgreSQL: the same answers as `SQLiteChatStore`'s (the contract suite checks
/// both), written in PostgreSQL's dialect. They run on any connection of the pool, except
/// those a write transaction makes to see its own changes.
extension PostgresChatStore {
    static let messageColumns = """
        m.id AS id, m.room_id AS room_id, r.name AS room, m.sender_id AS sender_id, m.sender AS sender,
            m.recipient_id AS recipient_id, m.recipient AS recipient, m.conversation AS conversation, m.text AS text,
            m.created_at AS created_at, m.edited_at AS edited_at, m.deleted AS deleted, m.reply_to AS reply_to,
            m.client_msg_id AS client_msg_id, m.attachments AS attachments, m.sender_bot AS sender_bot
        """
    static let messageSelect = "SELECT \(messageColumns) FROM messages m LEFT JOIN rooms r ON r.id = m.room_id"

    typealias ReactionRow = StoredReaction

    /// Every reaction of these messages, in the order they were made.
    func reactionRows(of ids: [Int64], _ tx: Tx? = nil) async throws -> [Int64: [ReactionRow]] {
        guard !ids.isEmpty else { return [:] }
        let sql = "SELECT message_id, emoji, username, seq FROM reactions WHERE message_id = ANY($1) ORDER BY seq"
        let rows: [PGRow]
        if let tx {
            rows = try await tx.run(sql, [.ints(ids)])
        } else {
            rows = try await read(sql, [.ints(ids)])
        }
        return StoreRows.reactions(rows)
    }

    func withReactions(_ messages: [StoredMessage], _ tx: Tx? = nil) async throws -> [StoredMessage] {
        let rows = try await reactionRows(of: messages.filter { !$0.deleted }.map(\.id), tx)
        return messages.map { m in
            var m = m
            m.reactions = ReactionSummary.summaries(of: rows[m.id] ?? [], before: nil)
            return m
        }
    }

    public func messages(conversation: String, before: Int64?, after: Int64?, limit: Int) async throws -> [StoredMessage] {
        let select = Self.messageSelect + " WHERE m.conversation = $1"
        var found: [StoredMessage]
        if let after {
            found = try await read(select + " AND m.id > $2 ORDER BY m.id ASC LIMIT $3", [.text(conversation), .int(after), .int(Int64(limit))]).compactMap(\.storedMessage)
        } else if let before {
            found = try await read(select + " AND m.id < $2 ORDER BY m.id DESC LIMIT $3", [.text(conversation), .int(before), .int(Int64(limit))]).compactMap(\.storedMessage)
        } else {
            found = try await read(select + " ORDER BY m.id DESC LIMIT $2", [.text(conversation), .int(Int64(limit))]).compactMap(\.storedMessage)
        }
        if after == nil { found.reverse() }
        return try await withReactions(found)
    }

    public func message(id: Int64) async throws -> StoredMessage? {
        guard let found = try await read(Self.messageSelect + " WHERE m.id = $1", [.int(id)]).first?.storedMessage else { return nil }
        return try await withReactions([found]).first
    }

    func message(id: Int64, _ tx: Tx) async throws -> StoredMessage? {
        guard let found = try await tx.run(Self.messageSelect + " WHERE m.id = $1", [.int(id)]).first?.storedMessage else { return nil }
        return try await withReactions([found], tx).first
    }

    public func message(senderID: Int64, clientMsgID: String) async throws -> StoredMessage? {
        guard let found = try await read(Self.messageSelect + " WHERE m.sender_id = $1 AND m.client_msg_id = $2",
                                         [.int(senderID), .text(clientMsgID)]).first?.storedMessage else { return nil }
        return try await withReactions([found]).first
    }

    func message(senderID: Int64, clientMsgID: String, _ tx: Tx) async throws -> StoredMessage? {
        guard let found = try await tx.run(Self.messageSelect + " WHERE m.sender_id = $1 AND m.client_msg_id = $2",
                                           [.int(senderID), .text(clientMsgID)]).first?.storedMessage else { return nil }
        return try await withReactions([found], tx).first
    }

    public func unreadCounts(userID: Int64) async throws -> [String: Int] {
        let rows = try await read("""
            SELECT r.conversation AS conversation,
                (SELECT COUNT(*) FROM messages m WHERE m.conversation = r.conversation
                    AND m.id > COALESCE((SELECT MAX(o.id) FROM messages o WHERE o.conversation = r.conversation AND o.id > r.message_id AND o.sender_id = r.user_id), r.message_id)
                    AND NOT m.deleted AND m.sender_id IS DISTINCT FROM r.user_id) AS unread
            FROM read_markers r WHERE r.user_id = $1
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
                    SELECT conversation, id FROM messages WHERE room_id IS NULL AND sender_id = $1
                    UNION ALL
                    SELECT conversation, id FROM messages WHERE room_id IS NULL AND recipient_id = $1
                ) AS direct GROUP BY conversation ORDER BY last_id DESC LIMIT $2
            )
            SELECT mine.conversation AS conversation, mine.last_id AS last_id,
                CASE WHEN m.sender_id = $1 THEN m.recipient_id ELSE m.sender_id END AS peer_id,
                CASE WHEN m.sender_id = $1 THEN m.recipient ELSE m.sender END AS peer_name,
                (SELECT COUNT(*) FROM messages x WHERE x.conversation = mine.conversation AND NOT x.deleted
                    AND x.sender_id IS DISTINCT FROM $1
                    AND x.id > COALESCE(
                        (SELECT MAX(o.id) FROM messages o WHERE o.conversation = mine.conversation AND o.sender_id = $1
                            AND o.id > COALESCE((SELECT message_id FROM read_markers WHERE user_id = $1 AND conversation = mine.conversation), 0)),
                        (SELECT message_id FROM read_markers WHERE user_id = $1 AND conversation = mine.conversation), 0)) AS unread
            FROM mine JOIN messages m ON m.id = mine.last_id
            ORDER BY mine.last_id DESC
            """, [.int(userID), .int(Int64(limit))])
        return rows.compactMap { row in
            guard let conversation = row.text("conversation"), let last = row.int("last_id") else { return nil }
            return ConversationSummary(conversation: conversation, peerID: row.int("peer_id"), peerName: row.text("peer_name") ?? "",
                                       lastMessageID: last, unread: Int(row.int("unread") ?? 0))
        }
    }

    /// The terms as a `tsquery`: a phrase's words joined by `<->`, the terms by `&`, the
    /// last word perhaps a prefix (`:*`). Words hold only letters, digits and marks
    /// (`SearchText`), so quoting each is all the escaping there is to do.
    static func tsQuery(_ terms: [SearchTerm]) -> String {
        terms.map { term in
            let words = term.words.enumerated().map { index, word in
                "'" + word + "'" + (term.prefix && index == term.words.count - 1 ? ":*" : "")
            }
            return words.count == 1 ? words[0] : "(" + words.joined(separator: " <-> ") + ")"
        }.joined(separator: " & ")
    }

    public func search(_ q: SearchQuery) async throws -> [StoredMessage] {
        var sql = Self.messageSelect + " WHERE m.search @@ to_tsquery('simple', salon_unaccent($1)) AND NOT m.deleted"
        var values: [PGValue] = [.text(Self.tsQuery(q.terms))]
        if let conversation = q.conversation {
            values.append(.text(conversation))
            sql += " AND m.conversation = $\(values.count)"
        } else {
            values.append(.ints(q.roomIDs))
            sql += " AND (m.room_id = ANY($\(values.count))"
            if q.includeDirect {
                values.append(.int(q.userID))
                sql += " OR (m.room_id IS NULL AND (m.sender_id = $\(values.count) OR m.recipient_id = $\(values.count)))"
            }
            sql += ")"
        }
        if let before = q.before {
            values.append(.int(before))
            sql += " AND m.id < $\(values.count)"
        }
        values.append(.int(Int64(q.limit)))
        sql += " ORDER BY m.id DESC LIMIT $\(values.count)"
        return try await withReactions(read(sql, values).compactMap(\.storedMessage))
    }

    // MARK: Sync

    public func committedEvents(after: Int64, through: Int64, limit: Int) async throws -> [StoredEvent] {
        let values: [PGValue] = [.int(after), .int(through), .int(Int64(limit))]
        let eventRows = try await read("""
            SELECT e.seq AS seq, e.type AS type, e.scope AS scope, e.room_id AS e_room_id, e.user_id AS e_user_id,
                e.peer_id AS e_peer_id, e.actor_id AS actor_id, e.message_id AS message_id, e.data AS data,
                e.created_at AS e_created_at, \(Self.messageColumns)
            FROM events e
            LEFT JOIN messages m ON m.id = e.message_id AND e.type IN ('receive_message', 'message_updated')
            LEFT JOIN rooms r ON r.id = m.room_id
            WHERE e.seq > $1 AND e.seq <= $2 ORDER BY e.seq LIMIT $3
            """, values)
        let messageRows = try await read(Self.messageSelect + " WHERE m.id > $1 AND m.id <= $2 ORDER BY m.id LIMIT $3", values)
        return try await withReactionsAsOf(StoreRows.merged(eventRows: eventRows, messageRows: messageRows, limit: limit))
    }

    /// Message events with the reactions made before each (`StoredEvent.withReactions`).
    func withReactionsAsOf(_ events: [StoredEvent]) async throws -> [StoredEvent] {
        StoredEvent.withReactions(events, from: try await reactionRows(of: StoredEvent.messageIDs(events)))
    }



    public func membershipPeriods(userID: Int64, after: Int64) async throws -> [MembershipPeriod] {
        try await read("""
            SELECT room_id, joined_seq, left_seq FROM membership_periods
            WHERE user_id = $1 AND (left_seq IS NULL OR left_seq > $2)
            """, [.int(userID), .int(after)]).compactMap(\.membershipPeriod)
    }

    /// Two logs merged by `seq`, as on SQLite: new messages (rows of `messages`) and every
    /// other event (rows of `events`), each source one index range per period.
    public func events(userID: Int64, periods: [MembershipPeriod], after: Int64, through: Int64, limit: Int) async throws -> [StoredEvent] {
        let values: [PGValue] = [
            .ints(periods.map(\.roomID)), .ints(periods.map(\.from)), .ints(periods.map { $0.to ?? Int64.max }),
            .int(after), .int(through), .int(userID), .int(Int64(limit)),
        ]
        let periodsCTE = "WITH p AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS p (room_id, from_seq, to_seq))"
        let eventRows = try await read(periodsCTE + """
            , picked AS (
                (SELECT e.seq AS seq FROM p JOIN events e ON e.room_id = p.room_id
                    WHERE e.seq > GREATEST($4, p.from_seq) AND e.seq < p.to_seq AND e.seq <= $5 AND e.scope IN (0, 1)
                        AND NOT (e.scope = 1 AND e.actor_id IS NOT DISTINCT FROM $6)
                UNION
                SELECT seq FROM events WHERE user_id = $6 AND seq > $4 AND seq <= $5 AND scope = 2
                UNION
                SELECT seq FROM events WHERE peer_id = $6 AND seq > $4 AND seq <= $5 AND scope = 2
                UNION
                SELECT seq FROM events WHERE scope = 3 AND seq > $4 AND seq <= $5)
                ORDER BY seq LIMIT $7
            )
            SELECT e.seq AS seq, e.type AS type, e.scope AS scope, e.room_id AS e_room_id, e.user_id AS e_user_id,
                e.peer_id AS e_peer_id, e.actor_id AS actor_id, e.message_id AS message_id, e.data AS data,
                e.created_at AS e_created_at, \(Self.messageColumns)
            FROM picked JOIN events e ON e.seq = picked.seq
            LEFT JOIN messages m ON m.id = e.message_id AND e.type IN ('receive_message', 'message_updated')
            LEFT JOIN rooms r ON r.id = m.room_id
            ORDER BY e.seq
            """, values)
        let messageRows = try await read(periodsCTE + """
            , picked AS (
                (SELECT m.id AS id FROM p JOIN messages m ON m.conversation = '#' || p.room_id
                    WHERE m.id > GREATEST($4, p.from_seq) AND m.id < p.to_seq AND m.id <= $5
                UNION
                SELECT id FROM messages WHERE room_id IS NULL AND sender_id = $6 AND id > $4 AND id <= $5
                UNION
                SELECT id FROM messages WHERE room_id IS NULL AND recipient_id = $6 AND id > $4 AND id <= $5)
                ORDER BY id LIMIT $7
            )
            \(Self.messageSelect) JOIN picked ON picked.id = m.id ORDER BY m.id
            """, values)
        return try await withReactionsAsOf(StoreRows.merged(eventRows: eventRows, messageRows: messageRows, limit: limit))
    }
}
