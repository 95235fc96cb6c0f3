import Foundation
@testable import SalonCore
import SalonProtocol
import Testing

/// Bots and webhooks in every store: a bot's tokens outlive the purge of unused ones, its
/// messages say they are a bot's, and a webhook is found by its secret only, listed by room,
/// revoked once, and gone with its room.
@Suite struct BotStoreContractTests {
    typealias Fixture = StoreContractTests.Fixture

    @Test(arguments: StoreBackend.allCases) func botsKeepTheirTokensAndMarkTheirMessages(_ backend: StoreBackend) async throws {
        let f = try await Fixture.make(backend)
        let long = Timestamp(milliseconds: Timestamp.now().milliseconds - 400 * 86_400_000)
        let bot = try await Bots.create(name: "deploy-bot", store: f.store, generalID: f.general.id, at: long)
        #expect(bot.isBot)
        await #expect(throws: ProtocolError.self) { try await Bots.create(name: "Deploy-Bot", store: f.store, generalID: f.general.id, at: .now()) }
        let token = try await Bots.newToken(for: bot, store: f.store, at: long)
        try await f.store.insertToken(hash: SessionToken.hash("ana's"), userID: f.ana.id, at: long)
        // The purge of unused tokens passes bots by: theirs last until revoked.
        #expect(try await f.store.deleteTokens(unusedSince: Timestamp(milliseconds: Timestamp.now().milliseconds - 86_400_000)) == 1)
        #expect(try await f.store.user(tokenHash: SessionToken.hash(token), usedAt: .now(), unusedSince: nil)?.id == bot.id)
        #expect(try await f.store.user(tokenHash: SessionToken.hash("ana's"), usedAt: .now(), unusedSince: nil) == nil)

        let sender = Actor(id: bot.id, username: bot.username, isGuest: false)
        guard case .message(var posted) = f.message("build 42 is green", from: sender) else { return }
        posted.senderIsBot = true
        let outcomes = try await f.store.commit([.message(posted), f.message("thanks")])
        let ids = outcomes.compactMap { StoreContractTests.events($0).first?.seq }
        #expect(ids.count == 2)
        #expect(try await f.store.message(id: ids[0])?.wire.fromBot == true)
        #expect(try await f.store.message(id: ids[1])?.wire.fromBot == nil)
        let page = try await f.store.messages(conversation: Conversation.room(f.general.id).key, before: nil, after: nil, limit: 10)
        #expect(page.map(\.senderIsBot) == [true, false])
        try await f.store.close()
    }

    @Test(arguments: StoreBackend.allCases) func webhooksAreFoundBySecretAndGoWithTheirRoom(_ backend: StoreBackend) async throws {
        let f = try await Fixture.make(backend)
        let bot = try await Bots.create(name: "ci", store: f.store, generalID: f.general.id, at: .now())
        let (first, path) = try await Bots.createWebhook(bot: bot, room: f.general, createdBy: f.ana, store: f.store, at: .now())
        let (second, _) = try await Bots.createWebhook(bot: bot, room: f.general, createdBy: nil, store: f.store, at: .now())
        let token = String(path.dropFirst("/api/webhooks/".count))
        #expect(path.hasPrefix("/api/webhooks/") && token.count >= 32)
        let found = try #require(try await Bots.webhook(token: token, store: f.store))
        #expect(found == first && found.name == "ci" && found.room == "general" && found.createdBy == "ana")
        #expect(try await Bots.webhook(token: token + "x", store: f.store) == nil)
        #expect(try await Bots.webhook(token: "", store: f.store) == nil)
        #expect(try await Bots.webhook(token: String(repeating: "a", count: 500), store: f.store) == nil)
        #expect(try await f.store.webhooks(roomID: f.general.id).map(\.id) == [first.id, second.id])
        #expect(try await f.store.webhooks(roomID: f.general.id).last?.createdBy == nil)

        // Revoked once; another room's id does not revoke it.
        #expect(try await f.store.deleteWebhook(id: first.id, roomID: f.general.id + 1000) == false)
        #expect(try await f.store.deleteWebhook(id: first.id, roomID: f.general.id))
        #expect(try await f.store.deleteWebhook(id: first.id, roomID: f.general.id) == false)
        #expect(try await Bots.webhook(token: token, store: f.store) == nil)

        // A deleted room takes its webhooks with it; the bot account stays (its messages name it).
        let created = try await f.store.commit([.createRoom(RoomRecord(name: "builds", topic: "", isPrivate: false, createdAt: .now()), owner: f.ana,
                                                            events: [EventDraft(type: .roomUpdated, scope: .everyone, actorID: f.ana.id)])])
        let roomID = try #require(StoreContractTests.events(created[0]).first?.draft.roomID)
        let builds = RoomRecord(id: roomID, name: "builds", topic: "", isPrivate: false, createdAt: .now())
        let (hook, hookPath) = try await Bots.createWebhook(bot: bot, room: builds, createdBy: f.ana, store: f.store, at: .now())
        #expect(try await f.store.webhooks(roomID: roomID).map(\.id) == [hook.id])
        _ = try await f.store.commit([.deleteRoom(roomID: roomID, events: [EventDraft(type: .roomUpdated, scope: .everyone, actorID: f.ana.id)])])
        #expect(try await f.store.webhooks(roomID: roomID).isEmpty)
        #expect(try await Bots.webhook(token: String(hookPath.dropFirst("/api/webhooks/".count)), store: f.store) == nil)
        #expect(try await f.store.user(key: "ci")?.isBot == true)
        try await f.store.close()
    }
}
