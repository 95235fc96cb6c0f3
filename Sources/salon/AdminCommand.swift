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
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Administer a Salon database (running server or not).",
        subcommands: [SetRoleCommand.self]
    )
}

/// Where the database is: the same options as `salon serve`.
struct DatabaseOptions: ParsableArguments {
    private static let env = ProcessInfo.processInfo.environment

    @Option(help: "Folder of the SQLite database (SALON_DATA_DIR).")
    var dataDir: String = env["SALON_DATA_DIR"] ?? "./salon-data"

    @Option(help: "Database: sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE (SALON_DB).")
    var db: String?

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
}

/// `salon admin set-role USERNAME admin|user`: how the first admin is made.
struct SetRoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-role",
        abstract: "Make an account an admin, or a user again.",
        discussion: "Exit codes: 0 done, 1 no such account or the database refused, 2 the database cannot be used."
    )

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The account.")
    var username: String

    @Argument(help: "admin or user.")
    var role: String

    func validate() throws {
        guard let role = UserRole(rawValue: role.lowercased()), role != .guest else {
            throw ValidationError("the role is admin or user, not \(role)")
        }
    }

    func run() async throws {
        quietLogging()
        let role = UserRole(rawValue: role.lowercased()) ?? .user
        let store: any ChatStore
        do {
            store = try await database.open()
        } catch {
            Terminal.write("salon: \(error)\n", to: 2)
            throw ExitCode(2)
        }
        do {
            guard let account = try await store.user(key: UserKey.of(username)) else {
                Terminal.write("salon: no account named '\(username)'\n", to: 2)
                try? await store.close()
                throw ExitCode(1)
            }
            let notice = SystemPush(room: nil, event: "role", username: account.username,
                                    text: role == .admin ? "you are an admin now" : "you are a user now", userRole: role)
            let event = EventDraft(type: .system, scope: .users, userID: account.id, data: Array(try JSONEncoder().encode(notice)))
            let outcome = try await store.commit([.setRole(userID: account.id, role: role, events: [event])])
            try await store.close()
            guard case .committed = outcome.first else {
                Terminal.write("salon: the database refused the change\n", to: 2)
                throw ExitCode(1)
            }
            Terminal.write("\(account.username) is now \(role == .admin ? "an admin" : "a user")\n")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            try? await store.close()
            Terminal.write("salon: \(error)\n", to: 2)
            throw ExitCode(1)
        }
    }
}
