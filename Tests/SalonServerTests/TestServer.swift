import Foundation
import Logging
import SalonClient
import SalonProtocol
import SalonServer

/// A whole server in this process on free ports, with its database in a temporary folder.
final class TestServer: Sendable {
    let server: SalonServer
    let http: Int
    let tcp: Int
    /// The IRC gateway's port (0 when the test did not ask for one: `ircPort = 0`).
    let irc: Int
    let directory: URL
    private let task: Task<Void, any Error>

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salon-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func start(directory: URL? = nil, _ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
        let dir = try directory ?? temporaryDirectory()
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.tcpPort = 0
        configuration.dataDirectory = dir.path
        configuration.chat.bcryptCost = 4
        configuration.chat.rateLimit = 0
        // A test's connection may wait long before it logs in when every suite runs at once
        // on two cores (10 s, the default, was passed); the timeout has a test of its own.
        configuration.loginTimeout = 60
        configure(&configuration)
        var logger = Logger(label: "salon-test")
        logger.logLevel = .warning
        let server = try await SalonServer.make(configuration: configuration, logger: logger)
        let task = Task { try await server.run() }
        let bound = try await server.listening()
        return TestServer(server: server, http: bound.http, tcp: bound.tcp ?? 0, irc: bound.irc ?? 0, directory: dir, task: task)
    }

    private init(server: SalonServer, http: Int, tcp: Int, irc: Int, directory: URL, task: Task<Void, any Error>) {
        self.server = server
        self.http = http
        self.tcp = tcp
        self.irc = irc
        self.directory = directory
        self.task = task
    }

    enum Transport: CaseIterable, Sendable { case webSocket, tcp }

    func address(_ transport: Transport) -> String {
        switch transport {
        case .webSocket: return "ws://127.0.0.1:\(http)/ws"
        case .tcp: return "tcp://127.0.0.1:\(tcp)"
        }
    }

    func connect(_ transport: Transport = .webSocket) async throws -> SalonClient {
        try await SalonClient.connect(to: address(transport))
    }

    /// A new connection logged in as a fresh registered user.
    func user(_ name: String, _ transport: Transport = .webSocket) async throws -> (SalonClient, AuthResult) {
        let client = try await connect(transport)
        let auth: AuthResult = try await client.request("register", RegisterRequest(username: name, password: "password-\(name)"))
        return (client, auth)
    }

    /// Stops the server the way SIGTERM does.
    func stop() async throws {
        await server.shutdown()
        try await task.value
    }
}

/// Runs `body` with a server that is stopped afterwards, whatever happens.
func withServer(directory: URL? = nil, _ configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: (TestServer) async throws -> Void) async throws {
    let server = try await TestServer.start(directory: directory, configure)
    do {
        try await body(server)
    } catch {
        try await server.stop()
        throw error
    }
    try await server.stop()
}

extension SalonClient {
    /// The next `receive_message` push's message.
    func nextMessage() async throws -> Message {
        guard let event = await next(where: { $0.action == "receive_message" }) else { throw SalonClientError.disconnected }
        return try event.decode(ReceiveMessagePush.self).message
    }

    /// The next reply (`success` or `error`) to a request sent without an id, skipping pushes.
    func nextReply() async -> ServerEnvelope? {
        await next { $0.action == "success" || $0.action == "error" }
    }

    /// Sends a request and returns the error code it got (nil on success).
    func errorCode(_ action: String, _ data: some Encodable & Sendable = EmptyPayload()) async throws -> ErrorCode? {
        try await requestEnvelope(action, data).error?.code
    }

    func send(_ text: String, room: String? = nil, to: String? = nil, clientMsgID: String? = nil) async throws -> Message {
        try await request("send_message", SendMessageRequest(room: room, to: to, text: text, clientMsgID: clientMsgID), as: MessageResult.self).message
    }
}
