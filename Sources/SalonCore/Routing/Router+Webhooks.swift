import Foundation
import NIOCore
import SalonProtocol

/// Incoming webhooks (docs/protocol.md, "Bots and webhooks"): a room's owner (or an admin)
/// makes one and gets a secret URL; a POST there posts into the room as the webhook's own bot
/// account, by the same `send_message` as everyone (rules, limits, events). Revoking deletes
/// the URL; the bot account stays, so that the history still says who posted.
extension Router {
    func createWebhook(_ p: CreateWebhookRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> WebhookReply {
        let name = p.name.trimmingCharacters(in: .whitespaces)
        guard Limits.isValidUsername(name) else {
            throw ProtocolError(.invalidUsername, "a webhook's name is a bot's username: 1 to 32 letters, digits, '_', '-' or '.'")
        }
        let key = UserKey.of(name)
        try await learnAccount(key)
        // The name rules of `register`: not taken, not a look-alike of a name in use.
        let refusal = hub.withState { s -> ProtocolError? in
            if s.isNameTaken(key) { return ProtocolError(.usernameTaken, "the name '\(name)' is taken") }
            if let other = s.lookAlike(of: name) {
                return ProtocolError(.usernameTaken, "'\(name)' looks too much like '\(other)', a name in use: choose another")
            }
            s.pendingRegistrations.insert(key)
            s.addSkeleton(name)
            return nil
        }
        if let refusal { throw refusal }
        var registered = false
        defer {
            hub.withState { s in
                s.pendingRegistrations.remove(key)
                if !registered { s.removeSkeleton(name) }
            }
        }
        let generalID = hub.withState { $0.rooms[HubState.general]?.id } ?? 0
        let now = Timestamp.now()
        let bot = try await Bots.create(name: name, store: store, generalID: generalID, at: now)
        registered = true
        hub.withState { s in
            s.learn(bot)
            s.addMember(bot.id, name: bot.username, to: HubState.general, role: .member)
        }
        let room = access.room
        if room.name != HubState.general {
            _ = try await invite(InviteRequest(room: room.name, username: bot.username), session, user, access)
        }
        let record = RoomRecord(id: room.id, name: room.name, topic: room.topic, isPrivate: room.isPrivate, createdAt: now)
        let (webhook, path) = try await Bots.createWebhook(bot: bot, room: record, createdBy: user.actor, store: store, at: now)
        logger.info("webhook \(webhook.id) of #\(room.name) made by \(user.username)")
        return WebhookReply(webhook: webhook.info(url: path))
    }

    func listWebhooks(_ p: RoomRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> WebhooksReply {
        WebhooksReply(webhooks: try await store.webhooks(roomID: access.room.id).map { $0.info() })
    }

    func deleteWebhook(_ p: WebhookIDRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> EmptyPayload {
        guard try await store.deleteWebhook(id: p.id, roomID: access.room.id) else {
            throw ProtocolError(.webhookNotFound, "#\(access.room.name) has no webhook \(p.id.prefix(40))")
        }
        logger.info("webhook \(p.id) of #\(access.room.name) revoked by \(user.username)")
        return EmptyPayload()
    }

    /// A POST to a webhook's URL: `text` posted into its room as its bot. The reply is
    /// `send_message`'s; an unknown or revoked token is `webhook_not_found`.
    public func postFromWebhook(token: String, text: String, address: String?) async -> EncodedFrame {
        let webhook: WebhookRecord?
        do {
            webhook = try await Bots.webhook(token: token, store: store)
        } catch {
            logger.error("webhook lookup failed: \(error)")
            return EnvelopeEncoder.error(replyTo: Self.callID, ProtocolError(.internal, "the server could not complete the request"))
        }
        guard let webhook else {
            return EnvelopeEncoder.error(replyTo: Self.callID, ProtocolError(.webhookNotFound, "no webhook at this URL (it may have been revoked)"))
        }
        let bot = SessionUser(id: webhook.botID, username: webhook.name, key: UserKey.of(webhook.name), role: .user, isBot: true)
        guard let data = try? JSONEncoder().encode(SendMessageRequest(room: webhook.room, text: text)) else {
            return EnvelopeEncoder.error(replyTo: Self.callID, ProtocolError(.internal, "the message could not be encoded"))
        }
        return await call("send_message", data: ByteBuffer(bytes: data), as: bot, address: address)
    }
}
