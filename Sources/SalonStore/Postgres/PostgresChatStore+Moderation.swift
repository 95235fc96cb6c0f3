import PostgresNIO
import SalonCore
import SalonProtocol

/// Reads for moderation and `salon admin`: bans and mutes, the moderation log, accounts.
extension PostgresChatStore {
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
            return try await read("SELECT \(columns) FROM moderation_log WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
                                  [.int(roomID), .int(before), .int(Int64(limit))]).compactMap(\.moderationRecord)
        }
        return try await read("SELECT \(columns) FROM moderation_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
                              [.int(before), .int(Int64(limit))]).compactMap(\.moderationRecord)
    }

    public func accounts() async throws -> [AccountSummary] {
        try await read("SELECT id, username, role, created_at, last_seen_at FROM users WHERE role <> 'guest' ORDER BY username_key")
            .compactMap(\.accountSummary)
    }
}
