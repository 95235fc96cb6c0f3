import NIOCore
import SalonCore
import SalonProtocol
import SQLiteNIO

/// Files on SQLite: their rows in the database, their contents as files beside it
/// (`ContentDirectory`), written before the row that refers to them.
extension SQLiteChatStore {
    public var stagingDirectory: String { contents.staging }

    public func storeContent(hash: String, from staged: String) async throws {
        try await contents.keep(hash: hash, from: staged)
    }

    public func readContent(hash: String, _ body: (ByteBuffer) async throws -> Void) async throws {
        try await contents.read(hash: hash, body)
    }

    public func insertFile(_ file: StoredFile) async throws {
        _ = try await writeLock.run {
            try await write("""
                INSERT INTO files (id, hash, name, size, type, width, height, preview_hash, preview_type, uploader_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(file.id), .text(file.hash), .text(file.name), .int(file.size), .text(file.type), .optional(file.width.map(Int64.init)),
                      .optional(file.height.map(Int64.init)), .optional(file.previewHash), .optional(file.previewType), .int(file.uploaderID),
                      .int(file.createdAt.milliseconds)])
        }
    }

    public func file(id: String) async throws -> StoredFile? {
        try await read("SELECT * FROM files WHERE id = ?", [.text(id)]).first?.storedFile
    }

    public func fileShares(id: String) async throws -> [FileShare] {
        try await read("""
            SELECT DISTINCT m.room_id AS room_id, m.sender_id AS sender_id, m.recipient_id AS recipient_id
            FROM message_files f JOIN messages m ON m.id = f.message_id
            WHERE f.file_id = ? AND m.deleted = 0
            """, [.text(id)]).map(\.fileShare)
    }
}
