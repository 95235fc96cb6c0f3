import Logging
import NIOCore
import NIOPosix
import SalonCore
import SalonProtocol
import SQLiteKit

/// `ChatStore` on an SQLite file, through SQLKit.
///
/// Two connections: one for writes, one for reads, so that a reader never waits for a
/// writer's fsync (WAL mode lets them run side by side). Every write is one SQL statement,
/// and so its own transaction: a batch of messages is one multi-row `INSERT`. With
/// `synchronous=FULL` a statement that has returned is on disk; that is what lets the core
/// acknowledge a message only once it is durable.
///
/// The connections run their blocking SQLite calls on a thread pool of their own, so that
/// password hashing (on the shared pool) never delays a query.
public final class SQLiteChatStore: ChatStore {
    private let writerConnection: SQLiteConnection
    private let readerConnection: SQLiteConnection
    private let writer: any SQLDatabase
    private let reader: any SQLDatabase
    private let threadPool: NIOThreadPool
    private let logger: Logger

    private init(writer: SQLiteConnection, reader: SQLiteConnection, threadPool: NIOThreadPool, logger: Logger) {
        self.writerConnection = writer
        self.readerConnection = reader
        self.writer = writer.sql()
        self.reader = reader.sql()
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Opens (creating if needed) the database file at `path`.
    public static func open(path: String, logger: Logger) async throws -> SQLiteChatStore {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        do {
            let writer = try await SQLiteConnection.open(storage: .file(path: path), threadPool: pool, logger: logger, on: loop)
            _ = try await writer.sql().raw("PRAGMA journal_mode=WAL").all()
            let reader = try await SQLiteConnection.open(storage: .file(path: path), threadPool: pool, logger: logger, on: loop)
            for connection in [writer, reader] {
                let db = connection.sql()
                try await db.raw("PRAGMA synchronous=FULL").run()
                try await db.raw("PRAGMA foreign_keys=ON").run()
                try await db.raw("PRAGMA busy_timeout=5000").run()
            }
            return SQLiteChatStore(writer: writer, reader: reader, threadPool: pool, logger: logger)
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
    }

    /// Closes both connections. Uses the future-based API on purpose: the async one refuses
    /// to run in a cancelled task, and the store must close even when the server is stopping
    /// because something else failed.
    public func close() async throws {
        let reader: EventLoopFuture<Void> = readerConnection.close()
        let writer: EventLoopFuture<Void> = writerConnection.close()
        try await reader.get()
        try await writer.get()
        try await threadPool.shutdownGracefully()
    }

    // MARK: Schema

    public func migrate() async throws {
        let current = try await writer.raw("PRAGMA user_version").first(decodingColumn: "user_version", as: Int.self) ?? 0
        guard current < SQLiteSchema.migrations.count else { return }
        for (index, statements) in SQLiteSchema.migrations.enumerated() where index >= current {
            try await writer.raw("BEGIN IMMEDIATE").run()
            do {
                for statement in statements {
                    try await writer.raw(SQLQueryString(statement)).run()
                }
                try await writer.raw("PRAGMA user_version = \(unsafeRaw: String(index + 1))").run()
                try await writer.raw("COMMIT").run()
            } catch {
                try? await writer.raw("ROLLBACK").run()
                throw error
            }
            logger.info("database schema migrated to version \(index + 1)")
        }
    }

    // MARK: Accounts

    private struct UserRow: Decodable {
        var id: Int64
        var username: String
        var password_hash: String
        var role: String
        var record: UserRecord {
            UserRecord(id: id, username: username, passwordHash: password_hash, role: UserRole(rawValue: role) ?? .user)
        }
    }

    public func insertUser(username: String, key: String, passwordHash: String, role: UserRole, at: Timestamp) async throws -> UserRecord? {
        let id = try await writer.raw("""
            INSERT INTO users (username, username_key, password_hash, role, created_at)
            VALUES (\(bind: username), \(bind: key), \(bind: passwordHash), \(bind: role.rawValue), \(bind: at.milliseconds))
            ON CONFLICT (username_key) DO NOTHING RETURNING id
            """).first(decodingColumn: "id", as: Int64.self)
        return id.map { UserRecord(id: $0, username: username, passwordHash: passwordHash, role: role) }
    }

    public func user(key: String) async throws -> UserRecord? {
        try await reader.raw("SELECT id, username, password_hash, role FROM users WHERE username_key = \(bind: key)")
            .first(decoding: UserRow.self)?.record
    }

    public func allUsers() async throws -> [UserRecord] {
        try await reader.raw("SELECT id, username, password_hash, role FROM users").all(decoding: UserRow.self).map(\.record)
    }

    public func insertToken(hash: String, userID: Int64, at: Timestamp) async throws {
        try await writer.raw("""
            INSERT INTO tokens (token_hash, user_id, created_at, last_used_at)
            VALUES (\(bind: hash), \(bind: userID), \(bind: at.milliseconds), \(bind: at.milliseconds))
            """).run()
    }

    private struct TokenUserRow: Decodable {
        var id: Int64
        var username: String
        var password_hash: String
        var role: String
        var last_used_at: Int64?
    }

    public func user(tokenHash: String, usedAt: Timestamp, unusedSince cutoff: Timestamp?) async throws -> UserRecord? {
        guard let row = try await reader.raw("""
            SELECT u.id AS id, u.username AS username, u.password_hash AS password_hash, u.role AS role, t.last_used_at AS last_used_at
            FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = \(bind: tokenHash)
            """).first(decoding: TokenUserRow.self) else { return nil }
        let lastUsed = row.last_used_at ?? 0
        if let cutoff, lastUsed < cutoff.milliseconds {
            try await deleteToken(hash: tokenHash)
            return nil
        }
        // One write an hour at most per token, not one per login.
        if usedAt.milliseconds - lastUsed > 3_600_000 {
            try await writer.raw("UPDATE tokens SET last_used_at = \(bind: usedAt.milliseconds) WHERE token_hash = \(bind: tokenHash)").run()
        }
        return UserRecord(id: row.id, username: row.username, passwordHash: row.password_hash, role: UserRole(rawValue: row.role) ?? .user)
    }

    public func deleteTokens(unusedSince cutoff: Timestamp) async throws -> Int {
        let rows = try await writer.raw("DELETE FROM tokens WHERE last_used_at < \(bind: cutoff.milliseconds) RETURNING token_hash").all()
        return rows.count
    }

    public func updatePasswordHash(userID: Int64, hash: String) async throws {
        try await writer.raw("UPDATE users SET password_hash = \(bind: hash) WHERE id = \(bind: userID)").run()
    }

    /// Guests' ids come from the same sequence as accounts' (`AUTOINCREMENT` keeps its
    /// high-water mark in `sqlite_sequence`, which may be written): moving the mark past a
    /// block reserves it, and no account or later guest ever gets one of those ids.
    public func reserveIDs(count: Int) async throws -> ClosedRange<Int64> {
        try await writer.raw("""
            INSERT INTO sqlite_sequence (name, seq)
            SELECT 'users', COALESCE((SELECT MAX(id) FROM users), 0)
            WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users')
            """).run()
        guard let last = try await writer.raw("""
            UPDATE sqlite_sequence SET seq = seq + \(bind: count) WHERE name = 'users' RETURNING seq
            """).first(decodingColumn: "seq", as: Int64.self) else {
            throw StoreError("could not reserve ids")
        }
        return (last - Int64(count) + 1)...last
    }

    public func deleteToken(hash: String) async throws {
        try await writer.raw("DELETE FROM tokens WHERE token_hash = \(bind: hash)").run()
    }

    // MARK: Rooms

    private struct RoomRow: Decodable {
        var name: String
        var topic: String
        var `private`: Int
        var created_at: Int64
    }

    public func insertRoom(_ room: RoomRecord) async throws -> Bool {
        let inserted = try await writer.raw("""
            INSERT INTO rooms (name, topic, private, created_at)
            VALUES (\(bind: room.name), \(bind: room.topic), \(bind: room.isPrivate ? 1 : 0), \(bind: room.createdAt.milliseconds))
            ON CONFLICT (name) DO NOTHING RETURNING name
            """).first(decodingColumn: "name", as: String.self)
        return inserted != nil
    }

    public func allRooms() async throws -> [RoomRecord] {
        try await reader.raw("SELECT name, topic, private, created_at FROM rooms").all(decoding: RoomRow.self).map {
            RoomRecord(name: $0.name, topic: $0.topic, isPrivate: $0.private != 0, createdAt: Timestamp(milliseconds: $0.created_at))
        }
    }

    private struct MembershipRow: Decodable {
        var room: String
        var user_key: String
        var role: String
    }

    public func allMemberships() async throws -> [MembershipRecord] {
        try await reader.raw("SELECT room, user_key, role FROM memberships").all(decoding: MembershipRow.self).map {
            MembershipRecord(room: $0.room, userKey: $0.user_key, role: RoomRole(rawValue: $0.role) ?? .member)
        }
    }

    public func insertMembership(_ m: MembershipRecord, at: Timestamp) async throws {
        try await writer.raw("""
            INSERT INTO memberships (room, user_key, role, joined_at)
            VALUES (\(bind: m.room), \(bind: m.userKey), \(bind: m.role.rawValue), \(bind: at.milliseconds))
            ON CONFLICT (room, user_key) DO UPDATE SET role = excluded.role
            """).run()
    }

    public func deleteMembership(room: String, userKey: String) async throws {
        try await writer.raw("DELETE FROM memberships WHERE room = \(bind: room) AND user_key = \(bind: userKey)").run()
    }

    // MARK: Read markers

    public func setReadMarker(userKey: String, conversation: String, messageID: Int64) async throws {
        try await writer.raw("""
            INSERT INTO read_markers (user_key, conversation, message_id) VALUES (\(bind: userKey), \(bind: conversation), \(bind: messageID))
            ON CONFLICT (user_key, conversation) DO UPDATE SET message_id = excluded.message_id
            """).run()
    }

    private struct UnreadRow: Decodable {
        var conversation: String
        var unread: Int
    }

    public func unreadCounts(userKey: String) async throws -> [String: Int] {
        let rows = try await reader.raw("""
            SELECT r.conversation AS conversation,
                   (SELECT COUNT(*) FROM messages m WHERE m.conversation = r.conversation AND m.id > r.message_id) AS unread
            FROM read_markers r WHERE r.user_key = \(bind: userKey)
            """).all(decoding: UnreadRow.self)
        return Dictionary(rows.map { ($0.conversation, $0.unread) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: Messages

    private struct MessageRow: Decodable {
        var id: Int64
        var conversation: String
        var room: String?
        var sender: String
        var sender_key: String
        var recipient: String?
        var text: String
        var created_at: Int64
        var reply_to: Int64?
        var client_msg_id: String?
        var sender_id: Int64?

        var stored: StoredMessage {
            StoredMessage(id: id, conversation: conversation, room: room, sender: sender, senderKey: sender_key, senderID: sender_id, recipient: recipient,
                          text: text, createdAt: Timestamp(milliseconds: created_at), replyTo: reply_to, clientMsgID: client_msg_id)
        }
    }

    private static let messageColumns = "id, conversation, room, sender, sender_key, recipient, text, created_at, reply_to, client_msg_id, sender_id"

    /// One multi-row `INSERT` (one transaction, one fsync), bound straight as `SQLiteData`:
    /// SQLKit's `Encodable` path cost about 40 allocations per row on the server's hottest
    /// write.
    public func insertMessages(_ messages: [StoredMessage]) async throws {
        guard !messages.isEmpty else { return }
        var binds: [SQLiteData] = []
        binds.reserveCapacity(messages.count * 11)
        for m in messages {
            binds.append(.integer(SQLiteInt64(m.id)))
            binds.append(.text(m.conversation))
            binds.append(m.room.map(SQLiteData.text) ?? .null)
            binds.append(.text(m.sender))
            binds.append(.text(m.senderKey))
            binds.append(m.recipient.map(SQLiteData.text) ?? .null)
            binds.append(.text(m.text))
            binds.append(.integer(SQLiteInt64(m.createdAt.milliseconds)))
            binds.append(m.replyTo.map { .integer(SQLiteInt64($0)) } ?? .null)
            binds.append(m.clientMsgID.map(SQLiteData.text) ?? .null)
            binds.append(m.senderID.map { .integer(SQLiteInt64($0)) } ?? .null)
        }
        try await writerConnection.query(Self.insertMessagesSQL(rows: messages.count), binds) { _ in }
    }

    private static func insertMessagesSQL(rows: Int) -> String {
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        return "INSERT INTO messages (\(messageColumns)) VALUES " + repeatElement(row, count: rows).joined(separator: ", ")
    }

    public func maxMessageID() async throws -> Int64 {
        try await reader.raw("SELECT COALESCE(MAX(id), 0) AS id FROM messages").first(decodingColumn: "id", as: Int64.self) ?? 0
    }

    private struct LastIDRow: Decodable {
        var conversation: String
        var id: Int64
    }

    public func lastMessageIDs() async throws -> [String: Int64] {
        let rows = try await reader.raw("SELECT conversation, MAX(id) AS id FROM messages GROUP BY conversation").all(decoding: LastIDRow.self)
        return Dictionary(rows.map { ($0.conversation, $0.id) }, uniquingKeysWith: max)
    }

    public func messages(conversation: String, before: Int64?, after: Int64?, limit: Int) async throws -> [StoredMessage] {
        let select: SQLQueryString = "SELECT \(unsafeRaw: Self.messageColumns) FROM messages WHERE conversation = \(bind: conversation)"
        let rows: [MessageRow]
        if let after {
            rows = try await reader.raw(select + " AND id > \(bind: after) ORDER BY id ASC LIMIT \(bind: limit)").all(decoding: MessageRow.self)
            return rows.map(\.stored)
        } else if let before {
            rows = try await reader.raw(select + " AND id < \(bind: before) ORDER BY id DESC LIMIT \(bind: limit)").all(decoding: MessageRow.self)
        } else {
            rows = try await reader.raw(select + " ORDER BY id DESC LIMIT \(bind: limit)").all(decoding: MessageRow.self)
        }
        return rows.reversed().map(\.stored)
    }

    public func message(id: Int64) async throws -> StoredMessage? {
        try await reader.raw("SELECT \(unsafeRaw: Self.messageColumns) FROM messages WHERE id = \(bind: id)").first(decoding: MessageRow.self)?.stored
    }

    public func message(senderID: Int64, clientMsgID: String) async throws -> StoredMessage? {
        try await reader.raw("""
            SELECT \(unsafeRaw: Self.messageColumns) FROM messages
            WHERE sender_id = \(bind: senderID) AND client_msg_id = \(bind: clientMsgID) ORDER BY id LIMIT 1
            """).first(decoding: MessageRow.self)?.stored
    }
}

/// A storage failure with no SQLite error behind it.
struct StoreError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
