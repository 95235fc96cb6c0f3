import SalonCore
import SalonProtocol
import SQLiteNIO

/// Reads for moderation and `salon admin`: bans and mutes, the moderation log, accounts.
extension SQLiteChatStore {
    public func allSanctions() async throws -> [Sanction] {
        try await read("""
            SELECT s.kind AS kind, s.user_id AS user_id, s.room_id AS room_id, s.by_name AS by_name, s.reason AS reason,
                s.until AS until, s.created_at AS created_at, u.username AS username, u.role AS role
            FROM sanctions s JOIN users u ON u.id = s.user_id
            """).compactMap(\.sanction)
    }

    public func moderationLog(roomID: Int64?, before: Int64?, limit: Int) async throws -> [ModerationRecord] {
        let columns = "seq, action, by_name, username, room_id, room, reason, duration_seconds, role, created_at"
        let before = before ?? Int64.max
        if let roomID {
            return try await read("SELECT \(columns) FROM moderation_log WHERE room_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                                  [.int(roomID), .int(before), .integer(limit)]).compactMap(\.moderationRecord)
        }
        return try await read("SELECT \(columns) FROM moderation_log WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                              [.int(before), .integer(limit)]).compactMap(\.moderationRecord)
    }

    public func accounts() async throws -> [AccountSummary] {
        try await read("SELECT id, username, role, created_at, last_seen_at FROM users WHERE role <> 'guest' ORDER BY username_key")
            .compactMap(\.accountSummary)
    }
}
