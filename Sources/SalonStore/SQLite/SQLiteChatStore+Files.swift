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

// MARK: Webhooks

extension SQLiteChatStore {
    public func insertWebhook(_ webhook: WebhookRecord, tokenHash: String, createdByID: Int64?) async throws {
        _ = try await writeLock.run {
            try await write("""
                INSERT INTO webhooks (id, token_hash, room_id, bot_id, created_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """, [.text(webhook.id), .text(tokenHash), .int(webhook.roomID), .int(webhook.botID), .optional(createdByID),
                      .int(webhook.createdAt.milliseconds)])
        }
    }

    public func webhook(tokenHash: String) async throws -> WebhookRecord? {
        try await read(StoreRows.webhookSelect + " WHERE w.token_hash = ?", [.text(tokenHash)]).first?.webhookRecord
    }

    public func webhooks(roomID: Int64) async throws -> [WebhookRecord] {
        try await read(StoreRows.webhookSelect + " WHERE w.room_id = ? ORDER BY w.created_at, w.id", [.int(roomID)]).compactMap(\.webhookRecord)
    }

    public func deleteWebhook(id: String, roomID: Int64) async throws -> Bool {
        try await writeLock.run {
            try await write("DELETE FROM webhooks WHERE id = ? AND room_id = ? RETURNING id", [.text(id), .int(roomID)]).count > 0
        }
    }
}
