import ArgumentParser
import Foundation
import Logging
import SalonCore
import SalonProtocol
import SalonServer
import SalonTerminal

/// `salon admin`: changes made straight in the database of a Salon server, whether or not one
/// runs on it. Each change is an event, committed as a server commits one, so a running server
/// (or every node of a cluster) applies it at once.
///
/// Exit codes, for every subcommand: 0 done, 1 refused (no such account or room, a rule), 2 the
/// database cannot be used, 64 a usage error.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Administer a Salon database (running server or not).",
        discussion: "Exit codes: 0 done, 1 refused (no such account or room, or a rule), 2 the database cannot be used, 64 usage.",
        subcommands: [
            UsersCommand.self, CreateUserCommand.self, SetRoleCommand.self, ResetPasswordCommand.self, RevokeTokensCommand.self,
            BanCommand.self, UnbanCommand.self, RoomsCommand.self, DeleteRoomCommand.self,
            BotCommand.self, WebhookCommand.self,
        ]
    )
}

/// Where the database is (the same options as `salon serve`), and `--json`.
struct DatabaseOptions: ParsableArguments {
    private static let env = ProcessInfo.processInfo.environment

    @Option(help: "Folder of the SQLite database (SALON_DATA_DIR).")
    var dataDir: String = env["SALON_DATA_DIR"] ?? "./salon-data"

    @Option(help: "Database: sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE (SALON_DB).")
    var db: String?

    @Flag(help: "Print the result as JSON, for scripts.")
    var json = false

    func open() async throws -> any ChatStore {
        var configuration = ServerConfiguration()
        configuration.dataDirectory = dataDir
        configuration.databaseURL = db ?? Self.env["SALON_DB"]
        var logger = Logger(label: "salon-admin")
        logger.logLevel = .error
        let store = try await SalonServer.openStore(configuration, logger: logger)
        try await store.migrate()
        return store
    }

    /// Opens the store, runs `body`, closes the store; a failure becomes its message on
    /// standard error and its exit code.
    func run(_ body: (any ChatStore) async throws -> Void) async throws {
        quietLogging()
        let store: any ChatStore
        do {
            store = try await open()
        } catch {
            Terminal.write("salon: the database cannot be used: \(error)\n", to: 2)
            throw ExitCode(2)
        }
        do {
            try await body(store)
            try await store.close()
        } catch let refusal as AdminRefusal {
            try? await store.close()
            Terminal.write("salon: \(refusal.message)\n", to: 2)
            throw ExitCode(1)
        } catch {
            try? await store.close()
            Terminal.write("salon: \(error)\n", to: 2)
            throw ExitCode(1)
        }
    }

    /// The result: `text` for people, `object` as one line of JSON with `--json`.
    func print(_ text: String, json object: Any) {
        if json, let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            Terminal.write(String(decoding: data, as: UTF8.self) + "\n")
        } else {
            Terminal.write(text + (text.hasSuffix("\n") || text.isEmpty ? "" : "\n"))
        }
    }
}

/// A change refused (no such account, a rule): exit code 1.
struct AdminRefusal: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension ChatStore {
    /// The account named, or a refusal.
    func account(named username: String) async throws -> UserRecord {
        guard let record = try await user(key: UserKey.of(username)) else { throw AdminRefusal("no account named '\(username)'") }
        return record
    }

    /// Commits one change; its events (none: it changed nothing), or a refusal.
    func commitOne(_ change: Change) async throws -> [StoredEvent] {
        switch try await commit([change]).first {
        case .committed(let events): return events
        case .refused(let error): throw AdminRefusal(error.message)
        case .duplicate, nil: throw AdminRefusal("the database refused the change")
        }
    }
}

extension UserRecord {
    var actor: Actor { Actor(id: id, username: username, isGuest: false) }
}

/// A JSON value or `null`.
func orNull(_ value: String?) -> Any { value ?? NSNull() }
