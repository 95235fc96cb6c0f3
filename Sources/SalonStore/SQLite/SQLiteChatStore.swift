import Dispatch
import Logging
import NIOCore
import NIOPosix
import SalonCore
import SalonProtocol
import SQLiteNIO
import Synchronization

/// `ChatStore` on an SQLite file.
///
/// Two connections: one for writes, one for reads, so that a reader never waits for a
/// writer's fsync (WAL mode lets them run side by side). Writes take `writeLock`, so that a
/// transaction never has another writer's statement run inside it; `BEGIN IMMEDIATE` takes
/// SQLite's write lock at once, which also orders this process against another one on the
/// same file (`salon admin`). With `synchronous=FULL` a transaction that has committed is on
/// disk: that is what lets the core acknowledge a change only once it is durable.
///
/// The connections run their blocking SQLite calls on a thread pool of their own, so that
/// password hashing (on the shared pool) never delays a query. Statements are bound straight
/// as `SQLiteData`: SQLKit's `Encodable` path cost about 40 allocations per row on the
/// server's hottest write.
public final class SQLiteChatStore: ChatStore {
    let writer: SQLiteConnection
    let reader: SQLiteConnection
    let writeLock = AsyncLock()
    /// Guests known to have their row (committed), so that a batch of their messages does not
    /// write it again.
    let knownGuests = Mutex<Set<Int64>>([])
    /// When messages were last committed (monotonic ms): the search indexer waits for a lull.
    let lastMessageCommit = Atomic<Int64>(0)
    /// The newest seq as this store last committed it (nil: read it again after a failure).
    let sequence = Mutex<Int64?>(nil)
    /// The write connection's `PRAGMA data_version` at the last batch (`writtenElsewhere`).
    let dataVersion = Mutex<Int64?>(nil)
    /// When `dataVersion` was last looked at (monotonic ms).
    let lastVersionCheck = Atomic<Int64>(0)
    /// Indexes new messages for search in the background (`indexPending`).
    private let indexer = Mutex<Task<Void, Never>?>(nil)
    private let threadPool: NIOThreadPool
    /// Files' contents.
    let contents: ContentDirectory
    let logger: Logger

    private init(writer: SQLiteConnection, reader: SQLiteConnection, threadPool: NIOThreadPool, contents: ContentDirectory, logger: Logger) {
        self.writer = writer
        self.reader = reader
        self.contents = contents
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Opens (creating if needed) the database file at `path`, with files' contents in
    /// `filesDirectory` (by default `files` in the database's folder).
    public static func open(path: String, filesDirectory: String? = nil, logger: Logger) async throws -> SQLiteChatStore {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        do {
            let writer = try await SQLiteConnection.open(storage: .file(path: path), threadPool: pool, logger: logger, on: loop)
            _ = try await writer.query("PRAGMA journal_mode=WAL")
            let reader = try await SQLiteConnection.open(storage: .file(path: path), threadPool: pool, logger: logger, on: loop)
            for connection in [writer, reader] {
                _ = try await connection.query("PRAGMA synchronous=FULL")
                _ = try await connection.query("PRAGMA foreign_keys=ON")
                _ = try await connection.query("PRAGMA busy_timeout=5000")
            }
            let folder = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let contents = try await ContentDirectory.open(filesDirectory ?? ((folder.isEmpty && !path.hasPrefix("/") ? "." : folder) + "/files"))
            return SQLiteChatStore(writer: writer, reader: reader, threadPool: pool, contents: contents, logger: logger)
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
    }

    /// Closes both connections. Uses the future-based API on purpose: the async one refuses
    /// to run in a cancelled task, and the store must close even when the server is stopping
    /// because something else failed.
    public func close() async throws {
        if let indexer = indexer.withLock({ task -> Task<Void, Never>? in defer { task = nil }; return task }) {
            indexer.cancel()
            await indexer.value
        }
        let reader: EventLoopFuture<Void> = self.reader.close()
        let writer: EventLoopFuture<Void> = self.writer.close()
        try await reader.get()
        try await writer.get()
        try await threadPool.shutdownGracefully()
    }

    // MARK: Statements

    /// A statement on the write connection (the caller holds `writeLock`).
    @discardableResult
    func write(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await writer.query(sql, binds)
    }

    func read(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await reader.query(sql, binds)
    }

    /// `body` in one transaction on the write connection.
    func transaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await writeLock.run { try await inTransaction(body) }
    }

    /// The same, for a caller that holds `writeLock`.
    func inTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await write("BEGIN IMMEDIATE")
        do {
            let result = try await body()
            try await write("COMMIT")
            return result
        } catch {
            _ = try? await write("ROLLBACK")
            throw error
        }
    }

    /// New messages go into the search index in the background, in batches, when the writer
    /// has had nothing to commit for a moment (or when a large backlog has built up): indexing
    /// a row at a time in each message's own commit wrote an index segment per batch, and at
    /// full load every microsecond of the store's one core is a message not stored. A search
    /// first indexes whatever is pending, so it always sees every message acknowledged
    /// before it.
    private func startIndexer() {
        guard indexer.withLock({ $0 == nil }) else { return }
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                guard let self, !Task.isCancelled else { return }
                let idle = Self.monotonicMillis() - self.lastMessageCommit.load(ordering: .relaxed) > 250
                do {
                    try await self.indexPending(chunk: Self.indexChunk, unlessBelow: idle ? 1 : Self.indexBacklog)
                } catch is CancellationError {
                    return  // the store is closing
                } catch {
                    self.logger.warning("indexing messages for search failed", metadata: ["error": "\(error)"])
                }
            }
        }
        indexer.withLock { $0 = task }
    }

    /// Rows indexed per transaction (the lock is let go between two), and the backlog past
    /// which indexing goes on under load.
    static let indexChunk: Int64 = 1_000
    static let indexBacklog: Int64 = 1_000_000

    static func monotonicMillis() -> Int64 {
        Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000)
    }

    /// Indexes the messages committed and not indexed yet, `chunk` rows per transaction, if
    /// at least `unlessBelow` are waiting (a search calls it with 1: everything).
    func indexPending(chunk: Int64 = indexChunk, unlessBelow minimum: Int64 = 1) async throws {
        guard let newest = try await read("SELECT COALESCE(MAX(id), 0) AS id FROM messages").first?.int("id"),
              let done = try await read("SELECT indexed_through FROM search_progress WHERE id = 1").first?.int("indexed_through"),
              newest - done >= minimum else { return }
        while true {
            let more = try await transaction { () -> Bool in
                guard let from = try await write("SELECT indexed_through FROM search_progress WHERE id = 1").first?.int("indexed_through"),
                      let newest = try await write("SELECT COALESCE(MAX(id), 0) AS id FROM messages").first?.int("id"), newest > from else { return false }
                // Ids, not rows: `chunk` ids at most (ids have gaps), so a transaction stays short.
                let through = min(newest, from + chunk)
                try await write("INSERT INTO message_search (rowid, text) SELECT id, text FROM messages WHERE id > ? AND id <= ? AND deleted = 0",
                                [.int(from), .int(through)])
                try await write("UPDATE search_progress SET indexed_through = ? WHERE id = 1", [.int(through)])
                return through < newest
            }
            if !more { return }
        }
    }

    // MARK: Schema

    public func migrate() async throws {
        defer { startIndexer() }
        let current = try await write("PRAGMA user_version").first?.int("user_version") ?? 0
        guard current < SQLiteSchema.migrations.count else { return }
        for (index, statements) in SQLiteSchema.migrations.enumerated() where index >= current {
            try await transaction {
                for statement in statements {
                    do {
                        try await write(statement)
                    } catch {
                        logger.error("migration \(index + 1) failed", metadata: ["statement": "\(statement)", "error": "\(error)"])
                        throw error
                    }
                }
                try await write("PRAGMA user_version = \(index + 1)")
            }
            logger.info("database schema migrated to version \(index + 1)")
        }
    }

    // MARK: Accounts

    private static let userColumns = "id, username, password_hash, role"

    public func register(username: String, key: String, passwordHash: String, role: UserRole, generalID: Int64, at: Timestamp) async throws -> UserRecord? {
        try await transaction { () -> UserRecord? in
            guard let id = try await write("""
                INSERT INTO users (username, username_key, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (username_key) DO NOTHING RETURNING id
                """, [.text(username), .text(key), .text(passwordHash), .text(role.rawValue), .int(at.milliseconds)]).first?.int("id")
            else { return nil }
            let seq = try await currentSeq()
            try await write("INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)", [.int(generalID), .int(id), .int(at.milliseconds)])
            try await write("INSERT INTO membership_periods (room_id, user_id, joined_seq) VALUES (?, ?, ?)", [.int(generalID), .int(id), .int(seq)])
            try await write("""
                INSERT INTO read_markers (user_id, conversation, message_id)
                VALUES (?, ?, (SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = ?))
                """, [.int(id), .text(Conversation.room(generalID).key), .int(generalID)])
            return UserRecord(id: id, username: username, passwordHash: passwordHash, role: role)
        }
    }

    public func user(key: String) async throws -> UserRecord? {
        try await read("SELECT \(Self.userColumns) FROM users WHERE username_key = ? AND role != 'guest'", [.text(key)]).first?.userRecord
    }

    public func allUsers() async throws -> [UserRecord] {
        try await read("SELECT \(Self.userColumns) FROM users WHERE role != 'guest'").compactMap(\.userRecord)
    }

    public func insertToken(hash: String, userID: Int64, at: Timestamp) async throws {
        try await writeLock.run {
            try await inTransaction {
                try await write("INSERT INTO tokens (token_hash, user_id, created_at, last_used_at) VALUES (?, ?, ?, ?)",
                                [.text(hash), .int(userID), .int(at.milliseconds), .int(at.milliseconds)])
                try await write("UPDATE users SET last_seen_at = ? WHERE id = ?", [.int(at.milliseconds), .int(userID)])
            }
        }
    }

    public func user(tokenHash: String, usedAt: Timestamp, unusedSince cutoff: Timestamp?) async throws -> UserRecord? {
        guard let row = try await read("""
            SELECT u.id AS id, u.username AS username, u.password_hash AS password_hash, u.role AS role, t.last_used_at AS last_used_at
            FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?
            """, [.text(tokenHash)]).first, let record = row.userRecord else { return nil }
        let lastUsed = row.int("last_used_at") ?? 0
        if let cutoff, lastUsed < cutoff.milliseconds, !record.isBot {  // a bot's tokens last until revoked
            try await deleteToken(hash: tokenHash)
            return nil
        }
        // One write an hour at most per token, not one per login.
        if usedAt.milliseconds - lastUsed > 3_600_000 {
            try await writeLock.run {
                try await inTransaction {
                    try await write("UPDATE tokens SET last_used_at = ? WHERE token_hash = ?", [.int(usedAt.milliseconds), .text(tokenHash)])
                    try await write("UPDATE users SET last_seen_at = ? WHERE id = ?", [.int(usedAt.milliseconds), .int(record.id)])
                }
            }
        }
        return record
    }

    public func deleteToken(hash: String) async throws {
        try await writeLock.run { try await write("DELETE FROM tokens WHERE token_hash = ?", [.text(hash)]) }
    }

    public func deleteTokens(unusedSince cutoff: Timestamp) async throws -> Int {
        try await writeLock.run {
            try await write("DELETE FROM tokens WHERE last_used_at < ? AND user_id NOT IN (SELECT id FROM users WHERE password_hash = '\(UserRecord.botPasswordHash)') RETURNING token_hash", [.int(cutoff.milliseconds)]).count
        }
    }

    public func updatePasswordHash(userID: Int64, hash: String) async throws {
        try await writeLock.run { try await write("UPDATE users SET password_hash = ? WHERE id = ?", [.text(hash), .int(userID)]) }
    }

    /// Guests' ids come from the same sequence as accounts' (`AUTOINCREMENT` keeps its
    /// high-water mark in `sqlite_sequence`, which may be written): moving the mark past a
    /// block reserves it, and no account or later guest ever gets one of those ids.
    public func reserveIDs(count: Int) async throws -> ClosedRange<Int64> {
        try await transaction {
            try await write("""
                INSERT INTO sqlite_sequence (name, seq)
                SELECT 'users', COALESCE((SELECT MAX(id) FROM users), 0)
                WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users')
                """)
            guard let last = try await write("UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'users' RETURNING seq", [.int(Int64(count))]).first?.int("seq") else {
                throw StoreError("could not reserve ids")
            }
            return (last - Int64(count) + 1)...last
        }
    }

    // MARK: State at start

    public func ensureRoom(name: String, at: Timestamp) async throws -> RoomRecord {
        try await writeLock.run {
            try await write("INSERT INTO rooms (name, topic, private, created_at) VALUES (?, '', 0, ?) ON CONFLICT (name) DO NOTHING",
                            [.text(name), .int(at.milliseconds)])
        }
        guard let row = try await read("SELECT id, name, topic, private, created_at FROM rooms WHERE name = ?", [.text(name)]).first,
              let room = row.roomRecord else {
            throw StoreError("could not create the room \(name)")
        }
        return room
    }

    public func allRooms() async throws -> [RoomRecord] {
        try await read("""
            SELECT r.id AS id, r.name AS name, r.topic AS topic, r.private AS private, r.created_at AS created_at,
                (SELECT COALESCE(MAX(m.id), 0) FROM messages m WHERE m.room_id = r.id) AS last_message_id
            FROM rooms r
            """).compactMap(\.roomRecord)
    }

    public func allMemberships() async throws -> [MembershipRecord] {
        try await read("""
            SELECT m.room_id AS room_id, m.user_id AS user_id, u.username AS username, m.role AS role
            FROM memberships m JOIN users u ON u.id = m.user_id
            """).compactMap(\.membershipRecord)
    }

    public func lastSeq() async throws -> Int64 {
        try await read(Self.newestSeq).first?.int("value") ?? 0
    }

    /// The newest seq in the open write transaction.
    func currentSeq() async throws -> Int64 {
        try await write(Self.newestSeq).first?.int("value") ?? 0
    }

    /// The newest seq committed: the largest of the sequence's floor, the newest message's id
    /// and the newest event's seq (a batch of messages does not write the floor).
    static let newestSeq = """
        SELECT MAX(value, COALESCE((SELECT MAX(id) FROM messages), 0), COALESCE((SELECT MAX(seq) FROM events), 0)) AS value
        FROM sequence WHERE id = 1
        """
}

extension SQLiteData {
    static func int(_ value: Int64) -> SQLiteData { .integer(Int(value)) }
    static func optional(_ value: Int64?) -> SQLiteData { value.map { .integer(Int($0)) } ?? .null }
    static func optional(_ value: String?) -> SQLiteData { value.map(SQLiteData.text) ?? .null }
}

extension SQLiteRow: StoreRow {
    func flag(_ name: String) -> Bool? {
        int(name).map { $0 != 0 }
    }

    func int(_ name: String) -> Int64? {
        guard case .integer(let value)? = column(name) else { return nil }
        return Int64(value)
    }

    func text(_ name: String) -> String? {
        guard case .text(let value)? = column(name) else { return nil }
        return value
    }
}
