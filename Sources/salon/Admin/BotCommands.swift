import ArgumentParser
import Foundation
import SalonCore
import SalonProtocol

/// `salon admin bot create NAME` / `bot token NAME`: accounts for programs. A bot has no
/// password; it logs in (socket) or authenticates (HTTP API) with a token, which lasts until
/// `salon admin revoke-tokens NAME`.
struct BotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bot", abstract: "Bot accounts: made here, used with their tokens.",
        subcommands: [CreateBotCommand.self, BotTokenCommand.self]
    )
}

struct CreateBotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a bot and print its token.")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The bot's name (a username).")
    var name: String

    func run() async throws {
        try await database.run { store in
            let general = try await store.ensureRoom(name: "general", at: .now())
            let bot: UserRecord
            do {
                bot = try await Bots.create(name: name, store: store, generalID: general.id, at: .now())
            } catch let error as ProtocolError {
                throw AdminRefusal(error.message)
            }
            let token = try await Bots.newToken(for: bot, store: store, at: .now())
            database.print("created the bot \(bot.username); its token (shown once):\n\(token)", json: ["username": bot.username, "token": token])
        }
    }
}

struct BotTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Print a new token for a bot (its others stay valid).")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The bot's name.")
    var name: String

    func run() async throws {
        try await database.run { store in
            let bot = try await store.account(named: name)
            guard bot.isBot else { throw AdminRefusal("'\(bot.username)' is not a bot") }
            let token = try await Bots.newToken(for: bot, store: store, at: .now())
            database.print(token, json: ["username": bot.username, "token": token])
        }
    }
}

/// `salon admin webhook create ROOM [--name NAME]`, `webhook list ROOM`, `webhook delete ROOM ID`.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook", abstract: "Incoming webhooks: secret URLs that post into a room.",
        subcommands: [CreateWebhookCommand.self, ListWebhooksCommand.self, DeleteWebhookCommand.self]
    )
}

extension ChatStore {
    func room(named raw: String) async throws -> RoomRecord {
        let name = raw.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "#"))
        guard let room = try await allRooms().first(where: { $0.name == name }) else { throw AdminRefusal("no room named '\(name)'") }
        return room
    }
}

struct CreateWebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a webhook of a room and print its URL.")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The room it posts into.")
    var room: String

    @Option(help: "The name it posts under (a new bot account; default: ROOM-hook).")
    var name: String?

    @Option(help: "The server's address as people reach it, to print the whole URL.")
    var baseURL: String = "http://127.0.0.1:8080"

    func run() async throws {
        try await database.run { store in
            let room = try await store.room(named: room)
            let general = try await store.ensureRoom(name: "general", at: .now())
            let botName = name ?? "\(room.name.prefix(27))-hook"
            let bot: UserRecord
            do {
                bot = try await Bots.create(name: botName, store: store, generalID: general.id, at: .now())
            } catch let error as ProtocolError {
                throw AdminRefusal(error.message)
            }
            if room.id != general.id {
                _ = try await store.commitOne(AdminChanges.joinBot(bot.actor, room: room, by: AdminChanges.cliName))
            }
            let (webhook, path) = try await Bots.createWebhook(bot: bot, room: room, createdBy: nil, store: store, at: .now())
            let url = baseURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path
            database.print("webhook \(webhook.id) posts into #\(room.name) as \(bot.username); its URL (shown once):\n\(url)",
                           json: ["id": webhook.id, "name": bot.username, "room": room.name, "url": url])
        }
    }
}

struct ListWebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "A room's webhooks.")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The room.")
    var room: String

    func run() async throws {
        try await database.run { store in
            let room = try await store.room(named: room)
            let hooks = try await store.webhooks(roomID: room.id)
            let lines = hooks.map { "\($0.id)  \($0.name)  by \($0.createdBy ?? AdminChanges.cliName)  \($0.createdAt.iso8601)" }
            database.print(lines.isEmpty ? "#\(room.name) has no webhooks" : lines.joined(separator: "\n"),
                           json: hooks.map { ["id": $0.id, "name": $0.name, "room": $0.room, "created_at": $0.createdAt.iso8601] })
        }
    }
}

struct DeleteWebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Revoke a webhook (its URL stops working at once).")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The room.")
    var room: String

    @Argument(help: "The webhook's id (salon admin webhook list).")
    var id: String

    func run() async throws {
        try await database.run { store in
            let room = try await store.room(named: room)
            guard try await store.deleteWebhook(id: id, roomID: room.id) else { throw AdminRefusal("#\(room.name) has no webhook \(id)") }
            database.print("webhook \(id) of #\(room.name) revoked", json: ["id": id, "room": room.name])
        }
    }
}
