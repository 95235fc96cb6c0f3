import Foundation
import SalonClient
import SalonProtocol
import Synchronization
import Testing

/// What is acknowledged stays: across a clean restart, and across `kill -9`.
@Suite(.timeLimit(.minutes(2))) struct DurabilityTests {
    @Test func aRestartKeepsAccountsTokensRoomsMembershipsAndHistory() async throws {
        let directory = try TestServer.temporaryDirectory()
        var token: String?
        var sent: [Message] = []
        try await withServer(directory: directory) { server in
            let (ana, auth) = try await server.user("ana", .tcp)
            token = auth.token
            let _: RoomResult = try await ana.request("create_room", CreateRoomRequest(name: "keep", topic: "stays"))
            let (bob, _) = try await server.user("bob")
            let _: JoinResult = try await bob.request("join_room", RoomRequest(room: "keep"))
            sent.append(try await ana.send("one", room: "keep"))
            sent.append(try await bob.send("two", room: "keep"))
            sent.append(try await ana.send("private", to: "bob"))
            await ana.close()
            await bob.close()
        }
        try await withServer(directory: directory) { server in
            // The token still works; the password too.
            let ana = try await server.connect(.webSocket)
            let login: AuthResult = try await ana.request("login", LoginRequest(token: token))
            #expect(login.user == UserInfo(username: "ana", role: .user))
            #expect(login.rooms.map(\.name) == ["general", "keep"])
            let keep = try #require(login.rooms.first { $0.name == "keep" })
            #expect(keep.topic == "stays")
            #expect(keep.members == 2)
            let bob = try await server.connect(.tcp)
            let _: AuthResult = try await bob.request("login", LoginRequest(username: "bob", password: "password-bob"))
            let members: MembersResult = try await bob.request("members", RoomRequest(room: "keep"))
            #expect(members.members.map(\.role) == ["owner", "member"])
            let history: HistoryResult = try await bob.request("history", HistoryRequest(room: "keep"))
            #expect(history.messages == Array(sent.prefix(2)))
            let dm: HistoryResult = try await bob.request("history", HistoryRequest(with: "ana"))
            #expect(dm.messages == [sent[2]])
            // New ids keep increasing after a restart.
            let next = try await bob.send("three", room: "keep")
            #expect(next.id > sent[2].id)
            // The name is still taken, whatever its case.
            let other = try await server.connect(.tcp)
            #expect(try await other.errorCode("register", RegisterRequest(username: "ANA", password: "longenough")) == .usernameTaken)
            await ana.close()
            await bob.close()
            await other.close()
        }
    }

    @Test func everyAcknowledgedMessageSurvivesKillMinus9() async throws {
        let directory = try TestServer.temporaryDirectory()
        let first = try await ServerProcess.start(directory: directory)
        let acked = Locked<[Message]>([])
        let senders = 4
        let clients = try await withThrowingTaskGroup(of: SalonClient.self) { group in
            for n in 0..<senders {
                group.addTask {
                    let client = try await SalonClient.connect(to: "tcp://127.0.0.1:\(first.tcpPort)")
                    let _: AuthResult = try await client.request("login", LoginRequest(username: "writer\(n)"))
                    return client
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // Every sender writes as fast as it can; the server is killed while they do.
        await withTaskGroup(of: Void.self) { group in
            for (n, client) in clients.enumerated() {
                group.addTask {
                    var i = 0
                    while true {
                        guard let message = try? await client.send("writer \(n) message \(i)", room: "general") else { return }
                        let count = acked.withLock { $0.append(message); return $0.count }
                        if count == 200 { first.kill() }
                        i += 1
                    }
                }
            }
        }
        let acknowledged = acked.withLock { $0 }
        #expect(acknowledged.count >= 200)

        let second = try await ServerProcess.start(directory: directory)
        let reader = try await SalonClient.connect(to: "tcp://127.0.0.1:\(second.tcpPort)")
        let _: AuthResult = try await reader.request("login", LoginRequest(username: "reader"))
        var stored: [Int64: Message] = [:]
        var after: Int64 = 0
        while true {
            let page: HistoryResult = try await reader.request("history", HistoryRequest(room: "general", after: after, limit: 200))
            for m in page.messages { stored[m.id] = m }
            guard page.hasMore, let last = page.messages.last else { break }
            after = last.id
        }
        let missing = acknowledged.filter { stored[$0.id] != $0 }
        #expect(missing.isEmpty, "\(missing.count) acknowledged messages were lost")
        await reader.close()
        second.kill()
    }
}

/// `salon serve` as people run it: signals and start-up errors.
@Suite(.timeLimit(.minutes(1))) struct ServeProcessTests {
    @Test func sigtermStopsCleanlyAndKeepsWhatWasSent() async throws {
        let directory = try TestServer.temporaryDirectory()
        let server = try await ServerProcess.start(directory: directory)
        let client = try await SalonClient.connect(to: "ws://127.0.0.1:\(server.httpPort)/ws")
        let _: AuthResult = try await client.request("login", LoginRequest(username: "ana"))
        let sent = try await client.send("before the signal", room: "general")
        server.process.terminate()
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .exit)
        #expect(server.process.terminationStatus == 0)
        #expect(await client.waitUntilClosed() == 1001)
        #expect(server.remainingOutput().contains("Salon stopped"))

        let again = try await ServerProcess.start(directory: directory)
        let reader = try await SalonClient.connect(to: "tcp://127.0.0.1:\(again.tcpPort)")
        let _: AuthResult = try await reader.request("login", LoginRequest(username: "bob"))
        let history: HistoryResult = try await reader.request("history", HistoryRequest(room: "general"))
        #expect(history.messages == [sent])
        await reader.close()
        again.process.terminate()
        again.process.waitUntilExit()
        #expect(again.process.terminationStatus == 0)
    }

    @Test func aPortInUseEndsWithAClearError() async throws {
        let first = try await ServerProcess.start(directory: try TestServer.temporaryDirectory())
        let second = Process()
        second.executableURL = ServerProcess.executable
        second.arguments = ["serve", "--port", "0", "--tcp-port", "\(first.tcpPort)", "--data-dir", try TestServer.temporaryDirectory().path]
        let output = Pipe()
        second.standardOutput = output
        try second.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        second.waitUntilExit()
        #expect(second.terminationStatus == 1)
        #expect(text.contains("Address already in use"), "\(text)")
        first.kill()
    }
}

/// `salon serve` as a child process, on free ports, for what only a real process can show.
final class ServerProcess: Sendable {
    let process: Process
    let httpPort: Int
    let tcpPort: Int
    private let log: AnnouncedPort
    private let pipe: Pipe

    private init(process: Process, httpPort: Int, tcpPort: Int, log: AnnouncedPort, pipe: Pipe) {
        self.process = process
        self.httpPort = httpPort
        self.tcpPort = tcpPort
        self.log = log
        self.pipe = pipe
    }

    /// Everything the server printed, once it has exited.
    func remainingOutput() -> String {
        pipe.fileHandleForReading.readabilityHandler = nil
        log.feed(pipe.fileHandleForReading.readDataToEndOfFile())
        return log.text
    }

    /// The `salon` executable built beside this test binary.
    static var executable: URL {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("salon")
    }

    static func start(directory: URL) async throws -> ServerProcess {
        let process = Process()
        process.executableURL = executable
        let tcpPort = try freePort()
        process.arguments = ["serve", "--port", "0", "--tcp-port", "\(tcpPort)", "--data-dir", directory.path, "--rate-limit", "0", "--log-level", "notice"]
        process.environment = ProcessInfo.processInfo.environment.merging(["SALON_BCRYPT_COST": "4"]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        let announced = AnnouncedPort()
        output.fileHandleForReading.readabilityHandler = { handle in
            announced.feed(handle.availableData)
        }
        try process.run()
        guard let http = await announced.port() else {
            process.terminate()
            throw ProcessError.didNotStart
        }
        return ServerProcess(process: process, httpPort: http, tcpPort: tcpPort, log: announced, pipe: output)
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    enum ProcessError: Error { case didNotStart, noFreePort }

    /// A port nobody listens on now (bound and released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ProcessError.noFreePort }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Reads the server's log until it says where it listens (`http_port=N`), or it exits.
final class AnnouncedPort: Sendable {
    private let state = Mutex<(text: String, port: Int?, done: Bool, waiter: CheckedContinuation<Int?, Never>?)>(("", nil, false, nil))

    var text: String { state.withLock { $0.text } }

    func feed(_ data: Data) {
        let resume = state.withLock { s -> (CheckedContinuation<Int?, Never>, Int?)? in
            s.text += String(decoding: data, as: UTF8.self)
            guard !s.done else { return nil }
            if data.isEmpty {
                s.done = true
            } else {
                if let range = s.text.range(of: "http_port="),
                   let port = Int(s.text[range.upperBound...].prefix { $0.isNumber }) {
                    s.port = port
                    s.done = true
                }
            }
            guard s.done, let waiter = s.waiter else { return nil }
            s.waiter = nil
            return (waiter, s.port)
        }
        if let (waiter, port) = resume { waiter.resume(returning: port) }
    }

    func port() async -> Int? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Int?? in
                if s.done { return .some(s.port) }
                s.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// A value behind a lock, shareable between tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
