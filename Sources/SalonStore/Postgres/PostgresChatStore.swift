import Foundation
import Logging
import NIOSSL
import PostgresNIO
import SalonCore
import SalonProtocol
import Synchronization

/// `ChatStore` on PostgreSQL, shared by any number of Salon nodes.
///
/// A pool of connections (PostgresNIO's `PostgresClient`): reads run on any of them, side by
/// side; each commit is one transaction. The one sequence that numbers events and messages is
/// the `seq` row of `counters`, read `FOR UPDATE` at the start of a commit and written at its
/// end: its row lock is held until the transaction commits, so two nodes' batches are ordered
/// by it and a reader never sees a `seq` whose predecessors are not committed yet. A batch
/// takes the lock once whatever its size (group commit).
///
/// After each commit the store notifies channel `salon_events` with the newest `seq` (the
/// payload is only that number): other nodes read the events themselves.
public final class PostgresChatStore: ChatStore {
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    let address: PostgresAddress
    let logger: Logger
    /// The listeners of `commitNotifications`, ended at `close`.
    private let listeners = Mutex<[Task<Void, Never>]>([])
    /// Where uploads wait before they go into the database (a temporary folder of this node).
    let staging: ContentDirectory

    private init(client: PostgresClient, runTask: Task<Void, Never>, address: PostgresAddress, staging: ContentDirectory, logger: Logger) {
        self.client = client
        self.staging = staging
        self.runTask = runTask
        self.address = address
        self.logger = logger
    }

    /// Connects to `url` (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`, `?sslmode=disable`,
    /// `prefer` (the default) or `require`). One connection is made first, on its own, so that
    /// an unreachable server or refused credentials fail at once with PostgreSQL's own reason.
    public static func open(url: String, logger: Logger, maximumConnections: Int = 16) async throws -> PostgresChatStore {
        let address = try PostgresAddress(url: url)
        do {
            let connection = try await PostgresConnection.connect(configuration: try address.connectionConfiguration(), id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw StoreError("cannot use the PostgreSQL database at \(redacted(url)): \(describe(error))")
        }
        var configuration = PostgresClient.Configuration(host: address.host, port: address.port, username: address.user,
                                                         password: address.password, database: address.database, tls: address.clientTLS)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let task = Task { await client.run() }
        let temporary = (ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp")
            + "/salon-uploads-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        let staging = try await ContentDirectory.open(temporary)
        return PostgresChatStore(client: client, runTask: task, address: address, staging: staging, logger: logger)
    }

    /// PostgreSQL's reason, in its words, for an error of PostgresNIO.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return String(describing: error) }
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }

    /// The address without its password, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.password != nil else { return url }
        parts.password = "***"
        return parts.string ?? url
    }

    public func close() async throws {
        let listening = listeners.withLock { tasks -> [Task<Void, Never>] in defer { tasks = [] }; return tasks }
        for task in listening { task.cancel() }
        for task in listening { await task.value }
        runTask.cancel()
        await runTask.value
    }

    /// The newest `seq` at each commit of any node (channel `salon_events`, whose payload is
    /// only that number). On each (re)connection it first yields the newest `seq`, for what was
    /// committed while nobody listened. Only the newest number is kept when the reader is
    /// behind: it reads everything up to it anyway.
    public func commitNotifications() -> AsyncStream<Int64>? {
        let payloads = listen(on: "salon_events", keepingNewest: true) { connection in
            let newest = try await connection.query("SELECT value FROM counters WHERE name = 'seq'", logger: self.logger).collect()
            return newest.first.map(PGRow.init)?.int("value").map(String.init)
        }
        return AsyncStream { continuation in
            let task = Task {
                for await payload in payloads {
                    if let seq = Int64(payload) { continuation.yield(seq) }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The payloads of `channel`, listened to on a connection of its own (a pooled one goes
    /// back to the pool), reconnecting with growing pauses when it drops. `onConnect` may
    /// yield a payload first, once listening (what was missed meanwhile). Ended at `close`.
    func listen(on channel: String, keepingNewest: Bool = false, onConnect: @escaping @Sendable (PostgresConnection) async throws -> String?) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: keepingNewest ? .bufferingNewest(1) : .bufferingNewest(10_000))
        let task = Task { [address, logger] in
            var pause = Duration.milliseconds(250)
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(configuration: try address.connectionConfiguration(), id: 1, logger: logger)
                    do {
                        try await connection.listen(on: channel) { notifications in
                            if let first = try await onConnect(connection) { continuation.yield(first) }
                            pause = .milliseconds(250)
                            for try await notification in notifications { continuation.yield(notification.payload) }
                        }
                    } catch {
                        try? await connection.close()
                        throw error
                    }
                    try? await connection.close()
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("listening on \(channel) failed; trying again", metadata: ["error": "\(Self.describe(error))"])
                }
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(5))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        listeners.withLock { $0.append(task) }
        return stream
    }

    // MARK: Statements

    /// How long one statement or transaction may take, waiting for a connection included:
    /// while the database is unreachable, PostgresNIO's pool holds requests until it gives up
    /// on connecting (15 s and more); a request fails after this instead, with a clear error.
    static let deadline: Duration = .seconds(10)

    func read(_ sql: String, _ values: [PGValue] = []) async throws -> [PGRow] {
        try await withDeadline { [client, logger] in
            let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: PGValue.bindings(values)), logger: logger)
            return try await rows.collect().map(PGRow.init)
        }
    }

    /// `body` in one transaction, on one connection of the pool (`Tx` runs its statements).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (Tx) async throws -> T) async throws -> T {
        try await withDeadline { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                try await body(Tx(connection: connection, logger: logger))
            }
        }
    }

    /// `body`, or `StoreError` once `deadline` has passed (`body` is cancelled then).
    private func withDeadline<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: Self.deadline)
                throw StoreError("the PostgreSQL database did not answer within \(Self.deadline)")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    /// Statements inside a transaction.
    struct Tx {
        let connection: PostgresConnection
        let logger: Logger

        @discardableResult
        func run(_ sql: String, _ values: [PGValue] = []) async throws -> [PGRow] {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: PGValue.bindings(values)), logger: logger)
            return try await rows.collect().map(PGRow.init)
        }
    }

    // MARK: Schema

    public func migrate() async throws {
        try await transaction { [self] tx in
            // Held until this transaction ends: a node starting at the same time waits here,
            // then finds the schema migrated.
            try await tx.run("SELECT pg_advisory_xact_lock($1)", [.int(PostgresSchema.migrationLock)])
            try await tx.run("CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)")
            try await tx.run("INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
            let current = Int(try await tx.run("SELECT version FROM schema_version WHERE id = 1").first?.int("version") ?? 0)
            for (index, statements) in PostgresSchema.migrations.enumerated() where index >= current {
                for statement in statements {
                    do {
                        try await tx.run(statement)
                    } catch {
                        self.logger.error("migration \(index + 1) failed", metadata: ["statement": "\(statement)", "error": "\(String(reflecting: error))"])
                        throw error
                    }
                }
                try await tx.run("UPDATE schema_version SET version = $1 WHERE id = 1", [.int(Int64(index + 1))])
                self.logger.info("database schema migrated to version \(index + 1)")
            }
        }
    }

    // MARK: Accounts

    private static let userColumns = "id, username, password_hash, role"

    public func register(username: String, key: String, passwordHash: String, role: UserRole, generalID: Int64, at: Timestamp) async throws -> UserRecord? {
        try await transaction { tx -> UserRecord? in
            guard try await tx.run("SELECT 1 FROM users WHERE username_key = $1", [.text(key)]).isEmpty,
                  let id = try await tx.run("UPDATE counters SET value = value + 1 WHERE name = 'users' RETURNING value").first?.int("value")
            else { return nil }
            guard try await !tx.run("""
                INSERT INTO users (id, username, username_key, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (username_key) DO NOTHING RETURNING id
                """, [.int(id), .text(username), .text(key), .text(passwordHash), .text(role.rawValue), .int(at.milliseconds)]).isEmpty
            else { return nil }
            let seq = try await tx.run("SELECT value FROM counters WHERE name = 'seq' FOR UPDATE").first?.int("value") ?? 0
            try await tx.run("INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES ($1, $2, 'member', $3)",
                             [.int(generalID), .int(id), .int(at.milliseconds)])
            try await tx.run("INSERT INTO membership_periods (room_id, user_id, joined_seq) VALUES ($1, $2, $3)", [.int(generalID), .int(id), .int(seq)])
            try await tx.run("""
                INSERT INTO read_markers (user_id, conversation, message_id)
                VALUES ($1, $2, (SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = $3))
                """, [.int(id), .text(Conversation.room(generalID).key), .int(generalID)])
            return UserRecord(id: id, username: username, passwordHash: passwordHash, role: role)
        }
    }

    public func user(key: String) async throws -> UserRecord? {
        try await read("SELECT \(Self.userColumns) FROM users WHERE username_key = $1 AND role <> 'guest'", [.text(key)]).first?.userRecord
    }

    public func allUsers() async throws -> [UserRecord] {
        try await read("SELECT \(Self.userColumns) FROM users WHERE role <> 'guest'").compactMap(\.userRecord)
    }

    public func insertToken(hash: String, userID: Int64, at: Timestamp) async throws {
        _ = try await read("""
            WITH t AS (INSERT INTO tokens (token_hash, user_id, created_at, last_used_at) VALUES ($1, $2, $3, $3) RETURNING user_id)
            UPDATE users SET last_seen_at = $3 WHERE id = (SELECT user_id FROM t)
            """, [.text(hash), .int(userID), .int(at.milliseconds)])
    }

    public func user(tokenHash: String, usedAt: Timestamp, unusedSince cutoff: Timestamp?) async throws -> UserRecord? {
        guard let row = try await read("""
            SELECT u.id AS id, u.username AS username, u.password_hash AS password_hash, u.role AS role, t.last_used_at AS last_used_at
            FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1
            """, [.text(tokenHash)]).first, let record = row.userRecord else { return nil }
        let lastUsed = row.int("last_used_at") ?? 0
        if let cutoff, lastUsed < cutoff.milliseconds, !record.isBot {  // a bot's tokens last until revoked
            try await deleteToken(hash: tokenHash)
            return nil
        }
        // One write an hour at most per token, not one per login.
        if usedAt.milliseconds - lastUsed > 3_600_000 {
            _ = try await read("""
                WITH t AS (UPDATE tokens SET last_used_at = $1 WHERE token_hash = $2 RETURNING user_id)
                UPDATE users SET last_seen_at = $1 WHERE id = (SELECT user_id FROM t)
                """, [.int(usedAt.milliseconds), .text(tokenHash)])
        }
        return record
    }

    public func deleteToken(hash: String) async throws {
        _ = try await read("DELETE FROM tokens WHERE token_hash = $1", [.text(hash)])
    }

    public func deleteTokens(unusedSince cutoff: Timestamp) async throws -> Int {
        try await read("DELETE FROM tokens WHERE last_used_at < $1 AND user_id NOT IN (SELECT id FROM users WHERE password_hash = '\(UserRecord.botPasswordHash)') RETURNING token_hash", [.int(cutoff.milliseconds)]).count
    }

    public func updatePasswordHash(userID: Int64, hash: String) async throws {
        _ = try await read("UPDATE users SET password_hash = $1 WHERE id = $2", [.text(hash), .int(userID)])
    }

    /// Accounts and guests take their ids from the `users` counter: a block moved past under
    /// its row lock is reserved, on every node.
    public func reserveIDs(count: Int) async throws -> ClosedRange<Int64> {
        guard let last = try await read("UPDATE counters SET value = value + $1 WHERE name = 'users' RETURNING value",
                                        [.int(Int64(count))]).first?.int("value") else {
            throw StoreError("could not reserve ids")
        }
        return (last - Int64(count) + 1)...last
    }

    // MARK: State at start

    public func ensureRoom(name: String, at: Timestamp) async throws -> RoomRecord {
        _ = try await read("INSERT INTO rooms (name, topic, private, created_at) VALUES ($1, '', false, $2) ON CONFLICT (name) DO NOTHING",
                           [.text(name), .int(at.milliseconds)])
        guard let row = try await read("SELECT id, name, topic, private, created_at FROM rooms WHERE name = $1", [.text(name)]).first,
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
        try await read("SELECT value FROM counters WHERE name = 'seq'").first?.int("value") ?? 0
    }
}

// MARK: - Address

/// A `postgres://` URL, read.
struct PostgresAddress: Sendable {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String?
    var sslMode: String

    init(url: String) throws {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme, ["postgres", "postgresql"].contains(scheme),
              let host = parts.host, !host.isEmpty else {
            throw StoreError("a PostgreSQL address is postgres://USER:PASSWORD@HOST:PORT/DATABASE, not \(PostgresChatStore.redacted(url))")
        }
        self.host = host
        port = parts.port ?? 5432
        user = parts.user ?? "postgres"
        password = parts.password
        let name = String(parts.path.drop(while: { $0 == "/" }))
        database = name.isEmpty ? nil : name
        sslMode = parts.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(sslMode) else {
            throw StoreError("sslmode is disable, prefer or require, not \(sslMode)")
        }
    }

    var clientTLS: PostgresClient.Configuration.TLS {
        switch sslMode {
        case "disable": return .disable
        case "require": return .require(.makeClientConfiguration())
        default: return .prefer(.makeClientConfiguration())
        }
    }

    /// For one connection of its own (the check at start, the listener).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: try connectionTLS())
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch sslMode {
        case "disable": return .disable
        case "require": return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default: return .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }
}

// MARK: - Values and rows

/// A statement's parameter.
enum PGValue: Sendable {
    case int(Int64)
    case text(String)
    case bool(Bool)
    case double(Double)
    case ints([Int64])
    case bytes(ByteBuffer)
    case null

    static func optional(_ value: Int64?) -> PGValue { value.map(PGValue.int) ?? .null }
    static func optional(_ value: String?) -> PGValue { value.map(PGValue.text) ?? .null }

    static func bindings(_ values: [PGValue]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .int(let v): bindings.append(v)
            case .text(let v): bindings.append(v)
            case .bool(let v): bindings.append(v)
            case .double(let v): bindings.append(v)
            case .ints(let v): bindings.append(v)
            case .bytes(let v): bindings.append(v)
            case .null: bindings.appendNull()
            }
        }
        return bindings
    }
}

/// A result row, read by column name. A column of another type than asked reads as nil.
struct PGRow: StoreRow {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row.makeRandomAccess()
    }

    func int(_ name: String) -> Int64? {
        guard row.contains(name) else { return nil }
        return (try? row[name].decode(Int64?.self)) ?? nil
    }

    func text(_ name: String) -> String? {
        guard row.contains(name) else { return nil }
        return (try? row[name].decode(String?.self)) ?? nil
    }

    func double(_ name: String) -> Double? {
        guard row.contains(name) else { return nil }
        return (try? row[name].decode(Double?.self)) ?? nil
    }

    func flag(_ name: String) -> Bool? {
        guard row.contains(name) else { return nil }
        return (try? row[name].decode(Bool?.self)) ?? nil
    }

    func bytes(_ name: String) -> ByteBuffer? {
        guard row.contains(name) else { return nil }
        return (try? row[name].decode(ByteBuffer?.self)) ?? nil
    }
}
