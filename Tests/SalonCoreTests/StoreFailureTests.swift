import NIOCore
import Foundation
import SalonProtocol
import Synchronization
import Testing
import SalonCore

/// A message is acknowledged only once stored: when it cannot be stored, its sender gets
/// `internal` and nobody else sees it; after shutdown, new messages are refused the same way.
@Suite struct StoreFailureTests {
    /// The real store, but `commit` fails while `failing` is set.
    final class FailingInserts: ChatStore {
        let base: any ChatStore
        let failing = Atomic<Bool>(false)
        struct Refused: Error {}

        init(_ base: any ChatStore) { self.base = base }

        func commit(_ changes: [Change]) async throws -> [ChangeOutcome] {
            if failing.load(ordering: .relaxed) { throw Refused() }
            return try await base.commit(changes)
        }

        func migrate() async throws { try await base.migrate() }
        func close() async throws { try await base.close() }
        func register(username: String, key: String, passwordHash: String, role: UserRole, generalID: Int64, at: Timestamp) async throws -> UserRecord? {
            try await base.register(username: username, key: key, passwordHash: passwordHash, role: role, generalID: generalID, at: at)
        }
        func user(key: String) async throws -> UserRecord? { try await base.user(key: key) }
        func allUsers() async throws -> [UserRecord] { try await base.allUsers() }
        func insertToken(hash: String, userID: Int64, at: Timestamp) async throws { try await base.insertToken(hash: hash, userID: userID, at: at) }
        func user(tokenHash: String, usedAt: Timestamp, unusedSince: Timestamp?) async throws -> UserRecord? {
            try await base.user(tokenHash: tokenHash, usedAt: usedAt, unusedSince: unusedSince)
        }
        func deleteToken(hash: String) async throws { try await base.deleteToken(hash: hash) }
        func deleteTokens(unusedSince cutoff: Timestamp) async throws -> Int { try await base.deleteTokens(unusedSince: cutoff) }
        func updatePasswordHash(userID: Int64, hash: String) async throws { try await base.updatePasswordHash(userID: userID, hash: hash) }
        func reserveIDs(count: Int) async throws -> ClosedRange<Int64> { try await base.reserveIDs(count: count) }
        func ensureRoom(name: String, at: Timestamp) async throws -> RoomRecord { try await base.ensureRoom(name: name, at: at) }
        func allRooms() async throws -> [RoomRecord] { try await base.allRooms() }
        func allMemberships() async throws -> [MembershipRecord] { try await base.allMemberships() }
        func lastSeq() async throws -> Int64 { try await base.lastSeq() }
        func membershipPeriods(userID: Int64, after: Int64) async throws -> [MembershipPeriod] {
            try await base.membershipPeriods(userID: userID, after: after)
        }
        func events(userID: Int64, periods: [MembershipPeriod], after: Int64, through: Int64, limit: Int) async throws -> [StoredEvent] {
            try await base.events(userID: userID, periods: periods, after: after, through: through, limit: limit)
        }
        func messages(conversation: String, before: Int64?, after: Int64?, limit: Int) async throws -> [StoredMessage] {
            try await base.messages(conversation: conversation, before: before, after: after, limit: limit)
        }
        func message(id: Int64) async throws -> StoredMessage? { try await base.message(id: id) }
        func message(senderID: Int64, clientMsgID: String) async throws -> StoredMessage? {
            try await base.message(senderID: senderID, clientMsgID: clientMsgID)
        }
        func unreadCounts(userID: Int64) async throws -> [String: Int] { try await base.unreadCounts(userID: userID) }
        func conversations(userID: Int64, limit: Int) async throws -> [ConversationSummary] { try await base.conversations(userID: userID, limit: limit) }
        func search(_ query: SearchQuery) async throws -> [StoredMessage] { try await base.search(query) }
        func allSanctions() async throws -> [Sanction] { try await base.allSanctions() }
        func moderationLog(roomID: Int64?, before: Int64?, limit: Int) async throws -> [ModerationRecord] {
            try await base.moderationLog(roomID: roomID, before: before, limit: limit)
        }
        func accounts() async throws -> [AccountSummary] { try await base.accounts() }
        var stagingDirectory: String { base.stagingDirectory }
        func storeContent(hash: String, from staged: String) async throws { try await base.storeContent(hash: hash, from: staged) }
        func readContent(hash: String, _ body: (ByteBuffer) async throws -> Void) async throws { try await base.readContent(hash: hash, body) }
        func insertFile(_ file: StoredFile) async throws { try await base.insertFile(file) }
        func file(id: String) async throws -> StoredFile? { try await base.file(id: id) }
        func fileShares(id: String) async throws -> [FileShare] { try await base.fileShares(id: id) }
        func insertWebhook(_ webhook: WebhookRecord, tokenHash: String, createdByID: Int64?) async throws {
            try await base.insertWebhook(webhook, tokenHash: tokenHash, createdByID: createdByID)
        }
        func webhook(tokenHash: String) async throws -> WebhookRecord? { try await base.webhook(tokenHash: tokenHash) }
        func webhooks(roomID: Int64) async throws -> [WebhookRecord] { try await base.webhooks(roomID: roomID) }
        func deleteWebhook(id: String, roomID: Int64) async throws -> Bool { try await base.deleteWebhook(id: id, roomID: roomID) }
        func committedEvents(after: Int64, through: Int64, limit: Int) async throws -> [StoredEvent] {
            try await base.committedEvents(after: after, through: through, limit: limit)
        }
        func commitNotifications() -> AsyncStream<Int64>? { base.commitNotifications() }
        var cluster: (any ClusterState)? { base.cluster }
    }

    @Test func aMessageThatCannotBeStoredIsRefusedAndNotDelivered() async throws {
        let store = Locked<FailingInserts?>(nil)
        let h = try await CoreHarness.make(wrapStore: { base in
            let failing = FailingInserts(base)
            store.withLock { $0 = failing }
            return failing
        })
        let (a, ak) = h.connect()
        let (b, bk) = h.connect()
        try await h.request(a, ak, "login", ["username": "ana"])
        try await h.request(b, bk, "login", ["username": "bob"])
        store.withLock { $0?.failing.store(true, ordering: .relaxed) }
        let refused = try await h.request(a, ak, "send_message", ["room": "general", "text": "lost"])
        #expect(refused.errorCode == "internal")
        store.withLock { $0?.failing.store(false, ordering: .relaxed) }
        let stored = try await h.request(a, ak, "send_message", ["room": "general", "text": "kept"])
        #expect(stored.action == "success")
        // Bob's pushes are written before Ana's reply: only the stored message is among them.
        #expect(bk.pushes("receive_message").compactMap { ($0.payload["message"] as? [String: Any])?["text"] as? String } == ["kept"])
        let history = try await h.request(b, bk, "history", ["room": "general"])
        #expect((history.payload["messages"] as? [[String: Any]])?.compactMap { $0["text"] as? String } == ["kept"])
        try await h.stop()
    }

    @Test func afterShutdownMessagesAreRefused() async throws {
        let h = try await CoreHarness.make()
        let (a, ak) = h.connect()
        try await h.request(a, ak, "login", ["username": "ana"])
        try await h.stop()
        let refused = try await h.request(a, ak, "send_message", ["room": "general", "text": "too late"])
        #expect(refused.errorCode == "internal")
    }
}
