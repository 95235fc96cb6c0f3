import _NIOFileSystem
import NIOCore
import PostgresNIO
import SalonCore
import SalonProtocol

/// Files on PostgreSQL: rows as on SQLite, and the contents in the database too, so that
/// every node of a cluster serves every file: a content is `file_contents` (whole once its
/// row is there) and `file_parts` of a megabyte each, all written in one transaction.
extension PostgresChatStore {
    static let partBytes = 1 << 20

    public var stagingDirectory: String { staging.staging }

    public func storeContent(hash: String, from staged: String) async throws {
        do {
            try await insertContent(hash: hash, from: staged)
        } catch {
            _ = try? await FileSystem.shared.removeItem(at: FilePath(staged))
            throw error
        }
        _ = try? await FileSystem.shared.removeItem(at: FilePath(staged))
    }

    private func insertContent(hash: String, from staged: String) async throws {
        let size = try await FileSystem.shared.info(forFileAt: FilePath(staged))?.size ?? 0
        try await transaction { tx in
            // A content kept already (or being kept by another upload, which this waits for).
            let inserted = try await tx.run("INSERT INTO file_contents (hash, size) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING hash",
                                            [.text(hash), .int(size)])
            guard !inserted.isEmpty else { return }
            try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(staged)) { handle in
                var part: Int64 = 0
                for try await chunk in handle.readChunks(chunkLength: .bytes(Int64(Self.partBytes))) {
                    try await tx.run("INSERT INTO file_parts (hash, part, data) VALUES ($1, $2, $3)", [.text(hash), .int(part), .bytes(chunk)])
                    part += 1
                }
            }
        }
    }

    public func readContent(hash: String, _ body: (ByteBuffer) async throws -> Void) async throws {
        guard let count = try await read("SELECT COUNT(p.part) AS parts FROM file_contents c LEFT JOIN file_parts p ON p.hash = c.hash WHERE c.hash = $1 GROUP BY c.hash",
                                         [.text(hash)]).first?.int("parts") else {
            throw ProtocolError(.fileNotFound, "no such file")
        }
        for part in 0..<count {
            guard let data = try await read("SELECT data FROM file_parts WHERE hash = $1 AND part = $2", [.text(hash), .int(part)]).first?.bytes("data") else {
                throw StoreError("a part of the file \(hash) is missing")
            }
            try await body(data)
        }
    }

    public func insertFile(_ file: StoredFile) async throws {
        _ = try await transaction { tx in
            try await tx.run("""
                INSERT INTO files (id, hash, name, size, type, width, height, preview_hash, preview_type, uploader_id, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                """, [.text(file.id), .text(file.hash), .text(file.name), .int(file.size), .text(file.type), .optional(file.width.map(Int64.init)),
                      .optional(file.height.map(Int64.init)), .optional(file.previewHash), .optional(file.previewType), .int(file.uploaderID),
                      .int(file.createdAt.milliseconds)])
        }
    }

    public func file(id: String) async throws -> StoredFile? {
        try await read("SELECT * FROM files WHERE id = $1", [.text(id)]).first?.storedFile
    }

    public func fileShares(id: String) async throws -> [FileShare] {
        try await read("""
            SELECT DISTINCT m.room_id AS room_id, m.sender_id AS sender_id, m.recipient_id AS recipient_id
            FROM message_files f JOIN messages m ON m.id = f.message_id
            WHERE f.file_id = $1 AND NOT m.deleted
            """, [.text(id)]).map(\.fileShare)
    }
}

// MARK: Webhooks

extension PostgresChatStore {
    public func insertWebhook(_ webhook: WebhookRecord, tokenHash: String, createdByID: Int64?) async throws {
        _ = try await read("""
            INSERT INTO webhooks (id, token_hash, room_id, bot_id, created_by, created_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """, [.text(webhook.id), .text(tokenHash), .int(webhook.roomID), .int(webhook.botID), .optional(createdByID),
                  .int(webhook.createdAt.milliseconds)])
    }

    public func webhook(tokenHash: String) async throws -> WebhookRecord? {
        try await read(StoreRows.webhookSelect + " WHERE w.token_hash = $1", [.text(tokenHash)]).first?.webhookRecord
    }

    public func webhooks(roomID: Int64) async throws -> [WebhookRecord] {
        try await read(StoreRows.webhookSelect + " WHERE w.room_id = $1 ORDER BY w.created_at, w.id", [.int(roomID)]).compactMap(\.webhookRecord)
    }

    public func deleteWebhook(id: String, roomID: Int64) async throws -> Bool {
        try await read("DELETE FROM webhooks WHERE id = $1 AND room_id = $2 RETURNING id", [.text(id), .int(roomID)]).count > 0
    }
}
