import Foundation
import Logging
import NIOCore
import NIOPosix
import SalonCore
@testable import SalonStore
import SalonProtocol
import SQLiteKit
import Testing

/// A database of schema version 1 (people keyed by name) opened by this version.
@Suite struct MigrationTests {
    @Test func privateConversationsMoveToIDsAndGuestsConversationsOutOfReach() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salon-migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("salon.sqlite").path
        var logger = Logger(label: "test")
        logger.logLevel = .warning

        let connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: .singleton, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        let db = connection.sql()
        for statement in SQLiteSchema.migrations[0] { try await db.raw(SQLQueryString(statement)).run() }
        try await db.raw("PRAGMA user_version = 1").run()
        // ana (id 1) and bob (id 2) registered at t=100; a guest "zed" wrote to ana at t=50,
        // then someone registered "zed" (id 3) at t=200.
        try await db.raw("""
            INSERT INTO users (id, username, username_key, password_hash, role, created_at) VALUES
            (1, 'Ana', 'ana', 'x', 'user', 100), (2, 'bob', 'bob', 'x', 'user', 100), (3, 'Zed', 'zed', 'x', 'user', 200)
            """).run()
        try await db.raw("""
            INSERT INTO messages (id, conversation, room, sender, sender_key, recipient, text, created_at, reply_to, client_msg_id) VALUES
            (1, '@ana|bob', NULL, 'bob', 'bob', 'Ana', 'hi ana', 150, NULL, 'c1'),
            (2, '@ana|zed', NULL, 'zed', 'zed', 'Ana', 'from the guest', 50, NULL, NULL),
            (3, '#general', 'general', 'Ana', 'ana', NULL, 'hello all', 160, NULL, NULL)
            """).run()
        try await db.raw("INSERT INTO rooms (name, topic, private, created_at) VALUES ('general', '', 0, 10)").run()
        try await db.raw("INSERT INTO read_markers (user_key, conversation, message_id) VALUES ('ana', '@ana|bob', 1)").run()
        try await db.raw("INSERT INTO tokens (token_hash, user_id, created_at) VALUES ('h', 1, 100)").run()
        try await connection.close()

        let store = try await SQLiteChatStore.open(path: path, logger: logger)
        try await store.migrate()
        let anaBob = try await store.messages(conversation: Conversation.direct(between: 2, and: 1).key, before: nil, after: nil, limit: 10)
        #expect(anaBob.map(\.text) == ["hi ana"])
        #expect(anaBob.first?.senderID == 2)
        #expect(try await store.message(senderID: 2, clientMsgID: "c1")?.id == 1)
        // The registered Zed does not inherit what the guest zed wrote.
        #expect(try await store.messages(conversation: Conversation.direct(between: 1, and: 3).key, before: nil, after: nil, limit: 10).isEmpty)
        #expect(try await store.message(id: 2)?.conversation == "@legacy:@ana|zed")
        #expect(try await store.message(id: 2)?.senderID == nil)
        #expect(try await store.message(id: 3)?.conversation == "#1")
        #expect(try await store.message(id: 3)?.room == "general")
        #expect(try await store.unreadCounts(userID: 1)["@1|2"] == 0)
        // Version 3: every message is an event of the one sequence, and searchable.
        #expect(try await store.lastSeq() == 3)
        #expect(try await store.search(SearchQuery(terms: [SearchTerm(words: ["hello"])], roomIDs: [1], userID: 1, includeDirect: true, conversation: nil, before: nil, limit: 5)).map(\.id) == [3])
        // Old tokens count as used when they were made; guest ids come after every account's.
        #expect(try await store.user(tokenHash: "h", usedAt: .now(), unusedSince: nil)?.id == 1)
        let ids = try await store.reserveIDs(count: 10)
        #expect(ids == 4...13)
        #expect(try await store.register(username: "new", key: "new", passwordHash: "x", role: .user, generalID: 1, at: .now())?.id == 14)
        try await store.close()
    }
}
