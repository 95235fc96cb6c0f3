import ArgumentParser
import Foundation
import Logging
import SalonServer

/// `salon serve`: runs a server. Each option has an environment variable (`SALON_HOST`…),
/// which sets its default; an option on the command line wins.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a Salon server (WebSocket at /ws, TCP frames, SQLite by default)."
    )

    private static let env = ProcessInfo.processInfo.environment

    @Option(help: "Address to listen on (SALON_HOST).")
    var host: String = env["SALON_HOST"] ?? "127.0.0.1"

    @Option(help: "HTTP and WebSocket port (SALON_PORT).")
    var port: Int = Int(env["SALON_PORT"] ?? "") ?? 8080

    @Option(help: "TCP port for length-prefixed frames; 0 disables it (SALON_TCP_PORT).")
    var tcpPort: Int = Int(env["SALON_TCP_PORT"] ?? "") ?? 9090

    @Option(help: "Folder for the SQLite database (SALON_DATA_DIR).")
    var dataDir: String = env["SALON_DATA_DIR"] ?? "./salon-data"

    @Option(help: "Database URL, e.g. sqlite:/var/lib/salon/salon.sqlite; default: salon.sqlite in the data folder (SALON_DB).")
    var db: String?

    @Flag(help: "Refuse guests: only registered accounts may log in (SALON_NO_GUESTS=1).")
    var noGuests: Bool = ["1", "true", "yes"].contains((env["SALON_NO_GUESTS"] ?? "").lowercased())

    @Option(help: "Requests a second per connection, bursts of twice that; 0 turns it off (SALON_RATE_LIMIT).")
    var rateLimit: Int = Int(env["SALON_RATE_LIMIT"] ?? "") ?? 20

    @Option(help: "Rooms with more members than this send no presence pushes; clients ask list_users (SALON_PRESENCE_ROOM_LIMIT).")
    var presenceRoomLimit: Int = Int(env["SALON_PRESENCE_ROOM_LIMIT"] ?? "") ?? 1_000

    @Option(help: "trace, debug, info, notice, warning, error or critical (SALON_LOG_LEVEL).")
    var logLevel: String = env["SALON_LOG_LEVEL"] ?? "info"

    /// Test hook, not a flag: a lower bcrypt cost makes end-to-end suites register quickly.
    private static let bcryptCost = UInt8(env["SALON_BCRYPT_COST"] ?? "") ?? 12

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard (0...65535).contains(tcpPort) else { throw ValidationError("--tcp-port must be 0…65535") }
        guard rateLimit >= 0 else { throw ValidationError("--rate-limit cannot be negative") }
        guard presenceRoomLimit >= 0 else { throw ValidationError("--presence-room-limit cannot be negative") }
        guard Logger.Level(rawValue: logLevel.lowercased()) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard (4...31).contains(Self.bcryptCost) else { throw ValidationError("SALON_BCRYPT_COST must be 4…31") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "salon")

        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.tcpPort = tcpPort == 0 ? nil : tcpPort
        configuration.dataDirectory = dataDir
        configuration.databaseURL = db ?? Self.env["SALON_DB"]
        configuration.chat.guestsAllowed = !noGuests
        configuration.chat.rateLimit = rateLimit
        configuration.chat.presenceRoomLimit = presenceRoomLimit
        configuration.chat.bcryptCost = Self.bcryptCost

        do {
            let server = try await SalonServer.make(configuration: configuration, logger: logger)
            try await server.run()
            logger.notice("Salon stopped")
        } catch {
            logger.critical("Salon could not start or stopped on an error: \(error)")
            throw ExitCode(1)
        }
    }
}
