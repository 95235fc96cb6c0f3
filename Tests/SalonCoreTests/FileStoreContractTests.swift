import Foundation
import NIOCore
import SalonCore
import SalonProtocol
import SalonStore
import Testing

/// Files in every store: contents kept once by hash and read back whole in order (several
/// parts on PostgreSQL), rows, and where a file was shared — withdrawn with its message.
@Suite struct FileStoreContractTests {
    typealias Fixture = StoreContractTests.Fixture

    static func stage(_ bytes: [UInt8], in store: any ChatStore) throws -> String {
        let path = store.stagingDirectory + "/test-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func read(_ hash: String, from store: any ChatStore) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        try await store.readContent(hash: hash) { bytes += Array(buffer: $0) }
        return bytes
    }

    @Test(arguments: StoreBackend.allCases) func contentsAreKeptOnceAndReadWhole(_ backend: StoreBackend) async throws {
        let f = try await Fixture.make(backend)
        // Two and a half of PostgreSQL's parts, with every byte value.
        let big = (0..<(2 * 1_048_576 + 524_288)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let hash = String(repeating: "ab", count: 32)
        try await f.store.storeContent(hash: hash, from: try Self.stage(big, in: f.store))
        // The same content again: kept once, the staged copy removed.
        let again = try Self.stage(big, in: f.store)
        try await f.store.storeContent(hash: hash, from: again)
        #expect(!FileManager.default.fileExists(atPath: again))
        #expect(try await Self.read(hash, from: f.store) == big)
        await #expect(throws: ProtocolError.self) { try await Self.read(String(repeating: "cd", count: 32), from: f.store) }
        await #expect(throws: ProtocolError.self) { try await Self.read("../../etc/passwd", from: f.store) }
        try await f.store.close()
    }

    @Test(arguments: StoreBackend.allCases) func sharesFollowTheMessagesThatCarryTheFile(_ backend: StoreBackend) async throws {
        let f = try await Fixture.make(backend)
        let file = StoredFile(id: "aaaaaaaaaaaaaaaaaaaaaaaaaa", hash: String(repeating: "0", count: 64), name: "plan.pdf", size: 12, type: "application/pdf",
                              width: nil, height: nil, previewHash: nil, previewType: nil, uploaderID: f.ana.id, createdAt: .now())
        try await f.store.insertFile(file)
        #expect(try await f.store.file(id: file.id) == file)
        #expect(try await f.store.file(id: "bbbbbbbbbbbbbbbbbbbbbbbbbb") == nil)
        #expect(try await f.store.fileShares(id: file.id).isEmpty)

        guard case .message(var inRoom) = f.message("the plan"), case .message(var direct) = f.message("for you", to: f.bob) else { return }
        inRoom.attachments = [file.info]
        direct.attachments = [file.info]
        let outcomes = try await f.store.commit([.message(inRoom), .message(direct), f.message("plain")])
        let ids = outcomes.compactMap { StoreContractTests.events($0).first?.seq }
        #expect(ids.count == 3)
        let stored = try #require(try await f.store.message(id: ids[0]))
        #expect(stored.attachments == [file.info] && stored.wire.attachments == [file.info])
        #expect(try await f.store.message(id: ids[2])?.wire.attachments == nil)
        let page = try await f.store.messages(conversation: Conversation.room(f.general.id).key, before: nil, after: nil, limit: 10)
        #expect(page.map(\.attachments) == [[file.info], []])
        let shares = try await f.store.fileShares(id: file.id)
        #expect(Set(shares.map { $0.roomID ?? -1 }) == [f.general.id, -1])
        #expect(shares.contains { $0.roomID == nil && $0.senderID == f.ana.id && $0.recipientID == f.bob.id })

        // Deleting a message withdraws what it shared, and its tombstone carries no file.
        _ = try await f.store.commit([.delete(messageID: ids[0], event: f.event(.messageDeleted))])
        #expect(try await f.store.fileShares(id: file.id).map(\.roomID) == [nil])
        #expect(try await f.store.message(id: ids[0])?.wire.attachments == nil)
        try await f.store.close()
    }
}
