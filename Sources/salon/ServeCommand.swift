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

    @Option(help: "Port of the IRC gateway, plain IRC (any IRC client joins the same rooms); 0, the default, runs none (SALON_IRC_PORT).")
    var ircPort: Int = Int(env["SALON_IRC_PORT"] ?? "") ?? 0

    @Option(help: "Port of the IRC gateway over TLS (with --tls-cert; IRC's usual 6697); 0, the default, runs none (SALON_IRC_TLS_PORT).")
    var ircTlsPort: Int = Int(env["SALON_IRC_TLS_PORT"] ?? "") ?? 0

    @Option(help: "The IRC gateway's server name (SALON_IRC_SERVER_NAME).")
    var ircServerName: String = env["SALON_IRC_SERVER_NAME"] ?? "salon"

    @Option(help: "Seconds of silence after which an IRC client is sent a PING, and then closed if it stays silent as long (SALON_IRC_PING_INTERVAL).")
    var ircPingInterval: Int = Int(env["SALON_IRC_PING_INTERVAL"] ?? "") ?? 120

    @Option(help: "Folder for the SQLite database (SALON_DATA_DIR).")
    var dataDir: String = env["SALON_DATA_DIR"] ?? "./salon-data"

    @Option(help: "Database: sqlite:PATH (default: salon.sqlite in the data folder) or postgres://USER:PASSWORD@HOST:PORT/DATABASE (SALON_DB).")
    var db: String?

    @Flag(help: "Refuse guests: only registered accounts may log in (SALON_NO_GUESTS=1).")
    var noGuests: Bool = ["1", "true", "yes"].contains((env["SALON_NO_GUESTS"] ?? "").lowercased())

    @Option(help: "Requests a second per connection, bursts of twice that; 0 turns it off (SALON_RATE_LIMIT).")
    var rateLimit: Int = Int(env["SALON_RATE_LIMIT"] ?? "") ?? 20

    @Option(help: "Rooms with more members than this send no presence pushes; clients ask list_users (SALON_PRESENCE_ROOM_LIMIT).")
    var presenceRoomLimit: Int = Int(env["SALON_PRESENCE_ROOM_LIMIT"] ?? "") ?? 1_000

    @Option(help: "Connections at once from one client address, both ports; 0 = no cap (SALON_MAX_CONNECTIONS_PER_IP).")
    var maxConnectionsPerIp: Int = Int(env["SALON_MAX_CONNECTIONS_PER_IP"] ?? "") ?? 256

    @Option(help: "Seconds a WebSocket or TCP connection has to log in; 0 = no limit (SALON_LOGIN_TIMEOUT).")
    var loginTimeout: Int = Int(env["SALON_LOGIN_TIMEOUT"] ?? "") ?? 10

    @Option(help: "Seconds an HTTP connection has to send its request head (SALON_HEADER_TIMEOUT).")
    var headerTimeout: Int = Int(env["SALON_HEADER_TIMEOUT"] ?? "") ?? 10

    @Option(help: "Seconds a kept-alive HTTP connection may stay idle (SALON_HTTP_IDLE_TIMEOUT).")
    var httpIdleTimeout: Int = Int(env["SALON_HTTP_IDLE_TIMEOUT"] ?? "") ?? 60

    @Option(help: "MiB of unfinished frames held for all connections together; 0 = no bound (SALON_INPUT_BUFFER_LIMIT_MB).")
    var inputBufferLimitMb: Int = Int(env["SALON_INPUT_BUFFER_LIMIT_MB"] ?? "") ?? 64

    @Option(help: "Rooms the server may hold (SALON_MAX_ROOMS).")
    var maxRooms: Int = Int(env["SALON_MAX_ROOMS"] ?? "") ?? 10_000

    @Option(help: "Rooms one user may be a member of (SALON_MAX_ROOMS_PER_USER).")
    var maxRoomsPerUser: Int = Int(env["SALON_MAX_ROOMS_PER_USER"] ?? "") ?? 500

    @Option(help: "Rooms one user may create an hour; 0 = no limit (SALON_ROOMS_PER_HOUR).")
    var roomsPerHour: Int = Int(env["SALON_ROOMS_PER_HOUR"] ?? "") ?? 20

    @Option(help: "Days a session token may go unused before it expires; 0 = never (SALON_TOKEN_EXPIRY_DAYS).")
    var tokenExpiryDays: Int = Int(env["SALON_TOKEN_EXPIRY_DAYS"] ?? "") ?? 90

    @Option(help: "The largest file one may upload, in MiB (SALON_MAX_UPLOAD_MB).")
    var maxUploadMb: Int = Int(env["SALON_MAX_UPLOAD_MB"] ?? "") ?? 25

    @Option(help: "Comma-separated origins allowed to open the WebSocket besides the server's own, or * (SALON_ALLOWED_ORIGINS).")
    var allowedOrigins: String = env["SALON_ALLOWED_ORIGINS"] ?? ""

    @Option(help: "PEM certificate chain (the server's first): HTTPS and WSS on --port, TLS on --tcp-port; reloaded on SIGHUP (SALON_TLS_CERT).")
    var tlsCert: String = env["SALON_TLS_CERT"] ?? ""

    @Option(help: "PEM private key of --tls-cert (SALON_TLS_KEY).")
    var tlsKey: String = env["SALON_TLS_KEY"] ?? ""

    @Option(help: "This node's name in logs and /healthz; default: host name and port (SALON_NODE_NAME).")
    var nodeName: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (SALON_LOG_LEVEL).")
    var logLevel: String = env["SALON_LOG_LEVEL"] ?? "info"

    @Option(help: "text, or json for one JSON object per line (SALON_LOG_FORMAT).")
    var logFormat: String = env["SALON_LOG_FORMAT"] ?? "text"

    /// Test hook, not a flag: a lower bcrypt cost makes end-to-end suites register quickly.
    private static let bcryptCost = UInt8(env["SALON_BCRYPT_COST"] ?? "") ?? 12

    /// Every numeric setting has a range, checked before anything starts: a value out of it
    /// is a clear message, never an overflow later.
    var ranges: [(flag: String, range: ClosedRange<Int>, value: KeyPath<ServeCommand, Int>)] { [
        ("--port", 0...65535, \.port),
        ("--tcp-port", 0...65535, \.tcpPort),
        ("--irc-port", 0...65535, \.ircPort),
        ("--irc-tls-port", 0...65535, \.ircTlsPort),
        ("--irc-ping-interval", 1...86_400, \.ircPingInterval),
        ("--rate-limit", 0...100_000, \.rateLimit),
        ("--presence-room-limit", 0...10_000_000, \.presenceRoomLimit),
        ("--max-connections-per-ip", 0...1_000_000, \.maxConnectionsPerIp),
        ("--login-timeout", 0...86_400, \.loginTimeout),
        ("--header-timeout", 1...3_600, \.headerTimeout),
        ("--http-idle-timeout", 1...86_400, \.httpIdleTimeout),
        ("--input-buffer-limit-mb", 0...1_048_576, \.inputBufferLimitMb),
        ("--max-rooms", 1...10_000_000, \.maxRooms),
        ("--max-rooms-per-user", 1...1_000_000, \.maxRoomsPerUser),
        ("--rooms-per-hour", 0...1_000_000, \.roomsPerHour),
        ("--token-expiry-days", 0...36_500, \.tokenExpiryDays),
        ("--max-upload-mb", 1...4_096, \.maxUploadMb),
    ] }

    func validate() throws {
        for (flag, range, value) in ranges where !range.contains(self[keyPath: value]) {
            throw ValidationError("\(flag) must be \(range.lowerBound)…\(range.upperBound) (it is \(self[keyPath: value]))")
        }
        guard Logger.Level(rawValue: logLevel.lowercased()) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard ["text", "json"].contains(logFormat.lowercased()) else {
            throw ValidationError("--log-format must be text or json")
        }
        // A server name is one word of letters, digits, '.', '-' (it is a line's source).
        guard !ircServerName.isEmpty, ircServerName.utf8.count <= 63,
            ircServerName.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" })
        else {
            throw ValidationError("--irc-server-name must be 1 to 63 letters, digits, '.' or '-'")
        }
        if ircTlsPort != 0 && tlsCert.isEmpty {
            throw ValidationError("--irc-tls-port needs --tls-cert and --tls-key")
        }
        if tlsCert.isEmpty != tlsKey.isEmpty {
            throw ValidationError("--tls-cert and --tls-key go together: give both, or neither for plain connections")
        }
        guard (4...31).contains(Self.bcryptCost) else { throw ValidationError("SALON_BCRYPT_COST must be 4…31") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel.lowercased()) ?? .info
        let json = logFormat.lowercased() == "json"
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = ServerConfiguration()
        configuration.metrics = ServerMetrics.bootstrap()
        let node = nodeName ?? Self.env["SALON_NODE_NAME"] ?? "\(ProcessInfo.processInfo.hostName):\(port)"
        configuration.nodeName = node
        configuration.chat.nodeName = node
        var logger = Logger(label: "salon")
        logger[metadataKey: "node"] = "\(node)"

        configuration.host = host
        configuration.port = port
        configuration.tcpPort = tcpPort == 0 ? nil : tcpPort
        configuration.ircPort = ircPort == 0 ? nil : ircPort
        configuration.ircTLSPort = ircTlsPort == 0 ? nil : ircTlsPort
        configuration.ircServerName = ircServerName
        configuration.ircPingInterval = ircPingInterval
        configuration.dataDirectory = dataDir
        configuration.databaseURL = db ?? Self.env["SALON_DB"]
        configuration.chat.guestsAllowed = !noGuests
        configuration.chat.rateLimit = rateLimit
        configuration.chat.presenceRoomLimit = presenceRoomLimit
        configuration.chat.bcryptCost = Self.bcryptCost
        configuration.chat.maxRooms = maxRooms
        configuration.chat.maxRoomsPerUser = maxRoomsPerUser
        configuration.chat.roomsPerHour = roomsPerHour
        configuration.chat.tokenExpiryDays = tokenExpiryDays
        configuration.chat.maxUploadBytes = Int64(maxUploadMb) << 20
        configuration.maxConnectionsPerAddress = maxConnectionsPerIp
        configuration.loginTimeout = loginTimeout
        configuration.headerTimeout = headerTimeout
        configuration.httpIdleTimeout = httpIdleTimeout
        configuration.inputBufferLimit = inputBufferLimitMb << 20
        configuration.allowedOrigins = allowedOrigins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }

        do {
            if !tlsCert.isEmpty {
                configuration.tls = try ServerTLS(certificatePath: tlsCert, keyPath: tlsKey)
            }
            let server = try await SalonServer.make(configuration: configuration, logger: logger)
            try await server.run()
            logger.notice("Salon stopped")
        } catch {
            logger.critical("Salon could not start or stopped on an error: \(error)")
            throw ExitCode(1)
        }
    }
}
