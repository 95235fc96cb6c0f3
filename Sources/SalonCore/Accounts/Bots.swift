import SalonProtocol

/// Bots and incoming webhooks (docs/protocol.md, "Bots and webhooks"), the parts that both
/// the server and `salon admin` make: a bot is an account without a password (its hash is
/// `UserRecord.botPasswordHash`) that logs in, and posts, with tokens only; a webhook is a
/// secret URL posting into one room as a bot of its own.
public enum Bots {
    /// A new bot account, a member of `general` like every account. `username_taken` when
    /// the name is an account's already.
    public static func create(name: String, store: any ChatStore, generalID: Int64, at now: Timestamp) async throws -> UserRecord {
        guard Limits.isValidUsername(name) else {
            throw ProtocolError(.invalidUsername, "a bot's name is 1 to 32 letters, digits, '_', '-' or '.'")
        }
        guard let record = try await store.register(username: name, key: UserKey.of(name), passwordHash: UserRecord.botPasswordHash,
                                                    role: .user, generalID: generalID, at: now) else {
            throw ProtocolError(.usernameTaken, "the name '\(name)' is taken")
        }
        return record
    }

    /// A new token for a bot (bots' tokens do not expire when unused; they last until revoked).
    public static func newToken(for bot: UserRecord, store: any ChatStore, at now: Timestamp) async throws -> String {
        let token = SessionToken.generate()
        try await store.insertToken(hash: SessionToken.hash(token), userID: bot.id, at: now)
        return token
    }

    /// A new webhook of `room` posting as `bot` (already a member there): its record, and the
    /// secret path of its URL, told once.
    public static func createWebhook(bot: UserRecord, room: RoomRecord, createdBy: Actor?, store: any ChatStore, at now: Timestamp) async throws
        -> (WebhookRecord, path: String) {
        let token = SessionToken.generate()
        let record = WebhookRecord(id: FileID.random(), roomID: room.id, room: room.name, botID: bot.id, name: bot.username,
                                   createdBy: createdBy?.username, createdAt: now)
        try await store.insertWebhook(record, tokenHash: SessionToken.hash(token), createdByID: createdBy?.id)
        return (record, webhookPath(token))
    }

    public static func webhookPath(_ token: String) -> String { "/api/webhooks/\(token)" }

    /// The webhook of a URL's token, if it exists (and was not revoked).
    public static func webhook(token: String, store: any ChatStore) async throws -> WebhookRecord? {
        guard (1...128).contains(token.utf8.count) else { return nil }
        return try await store.webhook(tokenHash: SessionToken.hash(token))
    }
}

extension WebhookRecord {
    public func info(url: String? = nil) -> WebhookInfo {
        WebhookInfo(id: id, name: name, room: room, url: url, createdBy: createdBy, createdAt: createdAt)
    }
}
