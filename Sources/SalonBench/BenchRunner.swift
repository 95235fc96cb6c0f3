import Foundation
import Histogram
import NIOCore
import NIOPosix
import NIOSSL

/// What `salon bench` runs.
public enum Scenario: String, Sendable, CaseIterable {
    /// Hold N logged-in connections; with the server's PID, its memory per connection.
    case idle
    /// One room, all clients in it, S senders at a total rate (or a ladder of rates).
    case fanout
    /// Many small rooms, every client sending.
    case rooms
    /// Clients paging through history while messages are sent.
    case history
    /// Register N accounts, then reconnect them all at once with their tokens.
    case login
}

/// One server (a node) the generator connects to.
public struct BenchServer: Sendable {
    public var host: String
    public var httpPort: Int
    public var tcpPort: Int
    /// The IRC gateway's port (`--transport irc`).
    public var ircPort: Int
    public init(host: String, httpPort: Int, tcpPort: Int, ircPort: Int = 6667) {
        self.host = host
        self.httpPort = httpPort
        self.tcpPort = tcpPort
        self.ircPort = ircPort
    }
}

public struct BenchOptions: Sendable {
    public var scenario: Scenario = .fanout
    public var transport: BenchTransport = .ws
    public var host = "127.0.0.1"
    public var httpPort = 8080
    public var tcpPort = 9090
    public var ircPort = 6667
    /// Several nodes of one cluster: client `i` connects to `servers[i % count]` (empty: the
    /// one of `host`, `httpPort`, `tcpPort`). Deliveries between nodes are also measured on
    /// their own.
    public var servers: [BenchServer] = []
    var targets: [BenchServer] { servers.isEmpty ? [BenchServer(host: host, httpPort: httpPort, tcpPort: tcpPort, ircPort: ircPort)] : servers }
    public var clients = 100
    public var senders = 1
    /// Messages a second: in total for `fanout` and `history`, per client for `rooms`.
    public var rate = 1000.0
    /// `fanout`: climb these rates until p99 passes 100 ms or a message is lost.
    public var ladder: [Double] = []
    public var roomSize = 10
    public var duration = 5.0
    public var textSize = 100
    public var serverPID: Int32?
    public var threads = 1
    /// TLS on both ports (`wss://`, `tls://`), checked against these roots; nil: plain.
    public var tls: NIOSSLContext?
    public init() {}

    /// A TLS context for `tls`: the CA of `caFile` (PEM) as the only root, or the system's.
    public static func tlsContext(caFile: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile { configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
        return try NIOSSLContext(configuration: configuration)
    }
}

public struct StepReport: Codable, Sendable {
    public var rate: Double
    public var seconds: Double
    public var sent: Int
    public var acked: Int
    public var expected: Int
    public var delivered: Int
    public var deliveriesPerSecond: Double
    public var deliveryP50Ms: Double
    public var deliveryP99Ms: Double
    public var deliveryP999Ms: Double
    public var deliveryMaxMs: Double
    /// Deliveries to a client on another node than the sender's (several servers only).
    public var crossNodeP50Ms: Double?
    public var crossNodeP99Ms: Double?
    public var ackP50Ms: Double
    public var ackP99Ms: Double
    public var historyPagesPerSecond: Double?
    public var historyP50Ms: Double?
    public var historyP99Ms: Double?
    public var errors: Int
    public var disconnects: Int
    /// Server CPU time (user + system) over the step, from `/proc` (with `--server-pid`), and
    /// per delivery: the server's cost independent of how fast this generator can read.
    public var serverCPUSeconds: Double?
    public var serverMicrosPerDelivery: Double?
    public var complete: Bool { delivered >= expected && errors == 0 && disconnects == 0 }
}

public struct BenchReport: Codable, Sendable {
    public var scenario: String
    public var transport: String
    public var clients: Int
    public var connected: Int
    public var connectSeconds: Double
    public var loginP50Ms: Double
    public var loginP99Ms: Double
    public var serverRSSBeforeKiB: Int?
    public var serverRSSAfterKiB: Int?
    public var serverKiBPerConnection: Double?
    public var steps: [StepReport]
    public var ok: Bool
}

public enum BenchError: Error, CustomStringConvertible {
    case noConnection(String)

    public var description: String {
        switch self {
        case .noConnection(let address):
            let tls = address.hasPrefix("wss://") || address.hasPrefix("tls://") ? ", and is its certificate trusted here (--ca PATH)?" : "?"
            return "no client could connect and log in at \(address): is the server running (with --rate-limit 0)\(tls)"
        }
    }
}

/// Drives the scenario on its own event loops (by default one: pin it to a core with taskset).
public final class BenchRunner: Sendable {
    let options: BenchOptions
    let group: MultiThreadedEventLoopGroup
    let shards: [NIOLoopBound<Shard>]
    let runID: String

    private init(options: BenchOptions, group: MultiThreadedEventLoopGroup, shards: [NIOLoopBound<Shard>]) {
        self.options = options
        self.group = group
        self.shards = shards
        runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// A runner with its event loops, each with its shard (made on its own loop).
    public static func make(options: BenchOptions) async throws -> BenchRunner {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.threads))
        var shards: [NIOLoopBound<Shard>] = []
        for loop in group.makeIterator() {
            shards.append(try await loop.submit { NIOLoopBound(Shard(loop: loop), eventLoop: loop) }.get())
        }
        return BenchRunner(options: options, group: group, shards: shards)
    }

    public func shutdown() async {
        try? await group.shutdownGracefully()
    }

    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> BenchReport {
        let o = options
        let rssBefore = o.serverPID.flatMap(Self.rssKiB)
        let room: @Sendable (Int) -> String? = { i in
            switch o.scenario {
            case .idle, .login: return nil
            case .fanout, .history: return "bench-\(self.runID)"
            case .rooms: return "bench-\(self.runID)-\(i / max(1, o.roomSize))"
            }
        }
        var tokens: [Int: String] = [:]
        if o.scenario == .login {
            progress("registering \(o.clients) accounts (start the server with SALON_BCRYPT_COST=4 to make this quick)…")
            _ = try await connect(count: o.clients, name: { "r\(self.runID)-\($0)" }, login: { _ in .register(password: "bench-password") }, room: room)
            tokens = await collect { $0.tokens }.reduce(into: [:]) { $0.merge($1) { a, _ in a } }
            await closeAll()
            progress("reconnecting \(tokens.count) clients with their tokens at once…")
        }
        let known = tokens
        let connectSeconds = try await connect(
            count: o.clients, name: { "b\(self.runID)-\($0)" },
            login: { i in o.scenario == .login ? .token(known[i] ?? "") : .guest }, room: room
        )
        let connected = await collect { $0.ready }.reduce(0, +)
        guard connected > 0 else {
            await closeAll()
            let address: String
            switch o.transport {
            case .ws: address = "\(o.tls == nil ? "ws" : "wss")://\(o.host):\(o.httpPort)/ws"
            case .tcp: address = "\(o.tls == nil ? "tcp" : "tls")://\(o.host):\(o.tcpPort)"
            case .irc: address = "\(o.tls == nil ? "irc" : "ircs")://\(o.host):\(o.ircPort)"
            }
            throw BenchError.noConnection(address)
        }
        let login = await merged { $0.login }
        progress(String(format: "%d of %d clients logged in in %.2f s", connected, o.clients, connectSeconds))

        var steps: [StepReport] = []
        switch o.scenario {
        case .idle:
            try await Task.sleep(for: .milliseconds(Int(o.duration * 1000)))
        case .login:
            break
        case .fanout:
            for rate in o.ladder.isEmpty ? [o.rate] : o.ladder {
                let step = try await measure(rate: rate, recipientsPerMessage: max(0, connected - 1), history: false)
                steps.append(step)
                progress(Self.describe(step))
                if !step.complete || step.deliveryP99Ms > 100 { break }
            }
        case .rooms:
            let step = try await measure(rate: o.rate * Double(o.clients), recipientsPerMessage: max(0, o.roomSize - 1), history: false)
            steps.append(step)
            progress(Self.describe(step))
        case .history:
            // Something to page through first.
            _ = try await measure(rate: max(o.rate, 500), recipientsPerMessage: max(0, connected - 1), history: false, seconds: 1)
            let step = try await measure(rate: o.rate, recipientsPerMessage: max(0, connected - 1), history: true)
            steps.append(step)
            progress(Self.describe(step))
        }
        let rssAfter = o.serverPID.flatMap(Self.rssKiB)
        await closeAll()
        let perConnection: Double? = {
            guard let before = rssBefore, let after = rssAfter, connected > 0 else { return nil }
            return Double(after - before) / Double(connected)
        }()
        return BenchReport(
            scenario: o.scenario.rawValue, transport: o.transport.rawValue, clients: o.clients, connected: connected,
            connectSeconds: connectSeconds, loginP50Ms: Self.ms(login.valueAtPercentile(50)), loginP99Ms: Self.ms(login.valueAtPercentile(99)),
            serverRSSBeforeKiB: rssBefore, serverRSSAfterKiB: rssAfter, serverKiBPerConnection: perConnection, steps: steps,
            ok: connected == o.clients && steps.allSatisfy(\.complete)
        )
    }

    // MARK: Phases

    /// Opens `count` connections (500 at a time), each logging in; returns the seconds until
    /// every one is logged in (or has failed).
    func connect(
        count: Int, name: @escaping @Sendable (Int) -> String, login: @escaping @Sendable (Int) -> BenchClient.Login, room: @escaping @Sendable (Int) -> String?,
        on shards: [NIOLoopBound<Shard>]? = nil
    ) async throws -> Double {
        let start = nowNanos()
        let o = options
        let shards = shards ?? self.shards
        var readiness: [EventLoopFuture<Void>] = []
        for (s, bound) in shards.enumerated() {
            let share = count / shards.count + (s < count % shards.count ? 1 : 0)
            readiness.append(bound.eventLoop.submit {
                let shard = bound.value
                shard.expected = share
                shard.ready = 0
                shard.failed = 0
                shard.clients = []
                shard.tokens = [:]
                shard.login.reset()  // the login storm's figure must not include the registrations
                let promise = shard.loop.makePromise(of: Void.self)
                shard.readyPromise = promise
                if share == 0 { promise.succeed() }
                return promise.futureResult
            }.flatMap { $0 })
        }
        var pending: [EventLoopFuture<Void>] = []
        for i in 0..<count {
            let bound = shards[i % shards.count]
            let client = name(i)
            let credentials = login(i)
            let roomName = room(i)
            let targets = o.targets
            let node = i % targets.count
            let server = targets[node]
            let opened = openConnection(
                transport: o.transport, host: server.host, httpPort: server.httpPort, tcpPort: server.tcpPort, ircPort: server.ircPort, tls: o.tls,
                on: bound.eventLoop,
                failed: { bound.value.clientSettled(ok: false) }
            ) {
                BenchClient(shard: bound.value, index: i, node: node, name: client, room: roomName, login: credentials, textSize: o.textSize, irc: o.transport == .irc)
            }
            pending.append(opened.map { _ in }.flatMapErrorThrowing { _ in
                bound.value.clientSettled(ok: false)
            })
            if pending.count == 500 {
                for f in pending { try await f.get() }
                pending = []
            }
        }
        for f in pending { try await f.get() }
        for f in readiness { try await f.get() }
        return Double(nowNanos() - start) / 1e9
    }

    /// Sends at `rate` messages a second (open loop, from the senders) for the duration, then
    /// waits up to 5 s for every delivery, and reports.
    private func measure(rate: Double, recipientsPerMessage: Int, history: Bool, seconds: Double? = nil) async throws -> StepReport {
        let o = options
        let duration = seconds ?? o.duration
        await each { shard in
            shard.resetMeasurements()
            shard.historyRunning = history
            if history { shard.clients.forEach { $0.requestHistory(before: nil) } }
        }
        let cpuBefore = o.serverPID.flatMap(Self.cpuSeconds)
        let start = nowNanos()
        var finished: [EventLoopFuture<Void>] = []
        for (s, bound) in shards.enumerated() {
            let shardRate = rate / Double(shards.count)
            finished.append(bound.eventLoop.flatSubmit {
                let shard = bound.value
                let senders = o.scenario == .rooms ? shard.clients : Array(shard.clients.prefix(max(1, o.senders / self.shards.count + (s < o.senders % self.shards.count ? 1 : 0))))
                let done = shard.loop.makePromise(of: Void.self)
                guard !senders.isEmpty else {
                    done.succeed()
                    return done.futureResult
                }
                let schedule = NIOLoopBound(SendSchedule(senders: senders), eventLoop: shard.loop)
                shard.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { task in
                    let elapsed = Double(nowNanos() - start) / 1e9
                    schedule.value.send(upTo: Int(shardRate * min(elapsed, duration)))
                    if elapsed >= duration {
                        task.cancel()
                        done.succeed()
                    }
                }
                return done.futureResult
            })
        }
        for f in finished { try await f.get() }
        await each { $0.historyRunning = false }
        // Drain: every delivery, or 5 s.
        let drainDeadline = nowNanos() + 5_000_000_000
        while nowNanos() < drainDeadline {
            let counts = await collect { ($0.sent, $0.delivered, $0.acked) }
            let sent = counts.map(\.0).reduce(0, +)
            if counts.map(\.1).reduce(0, +) >= sent * recipientsPerMessage && counts.map(\.2).reduce(0, +) >= sent { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let cpu = o.serverPID.flatMap(Self.cpuSeconds).flatMap { after in cpuBefore.map { after - $0 } }
        let delivery = await merged { $0.delivery }
        let crossNode = await merged { $0.crossNodeDelivery }
        let several = o.targets.count > 1
        let ack = await merged { $0.ack }
        let historyHist = await merged { $0.history }
        let counts = await collect { ($0.sent, $0.acked, $0.delivered, $0.errors, $0.disconnects, $0.historyPages) }
        let sent = counts.map(\.0).reduce(0, +)
        let delivered = counts.map(\.2).reduce(0, +)
        let pages = counts.map(\.5).reduce(0, +)
        return StepReport(
            rate: rate, seconds: duration, sent: sent, acked: counts.map(\.1).reduce(0, +), expected: sent * recipientsPerMessage,
            delivered: delivered, deliveriesPerSecond: Double(delivered) / duration,
            deliveryP50Ms: Self.ms(delivery.valueAtPercentile(50)), deliveryP99Ms: Self.ms(delivery.valueAtPercentile(99)),
            deliveryP999Ms: Self.ms(delivery.valueAtPercentile(99.9)), deliveryMaxMs: Self.ms(delivery.max),
            crossNodeP50Ms: several ? Self.ms(crossNode.valueAtPercentile(50)) : nil,
            crossNodeP99Ms: several ? Self.ms(crossNode.valueAtPercentile(99)) : nil,
            ackP50Ms: Self.ms(ack.valueAtPercentile(50)), ackP99Ms: Self.ms(ack.valueAtPercentile(99)),
            historyPagesPerSecond: history ? Double(pages) / duration : nil,
            historyP50Ms: history ? Self.ms(historyHist.valueAtPercentile(50)) : nil,
            historyP99Ms: history ? Self.ms(historyHist.valueAtPercentile(99)) : nil,
            errors: counts.map(\.3).reduce(0, +), disconnects: counts.map(\.4).reduce(0, +),
            serverCPUSeconds: cpu, serverMicrosPerDelivery: cpu.flatMap { delivered > 0 ? $0 * 1e6 / Double(delivered) : nil }
        )
    }

    func closeAll(_ shards: [NIOLoopBound<Shard>]? = nil) async {
        var closed: [EventLoopFuture<Void>] = []
        for bound in shards ?? self.shards {
            closed.append(bound.eventLoop.flatSubmit {
                let futures = bound.value.clients.map { client -> EventLoopFuture<Void> in
                    client.close()
                    return client.closeFuture
                }
                bound.value.clients = []
                return EventLoopFuture.andAllComplete(futures, on: bound.eventLoop)
            })
        }
        for f in closed { try? await f.get() }
    }

    // MARK: Helpers

    func each(_ body: @escaping @Sendable (Shard) -> Void) async {
        for bound in shards { try? await bound.eventLoop.submit { body(bound.value) }.get() }
    }

    func collect<T: Sendable>(_ body: @escaping @Sendable (Shard) -> T) async -> [T] {
        var out: [T] = []
        for bound in shards {
            if let value = try? await bound.eventLoop.submit({ body(bound.value) }).get() { out.append(value) }
        }
        return out
    }

    func merged(_ pick: @escaping @Sendable (Shard) -> Histogram<UInt64>) async -> Histogram<UInt64> {
        var total = Shard.histogram()
        for h in await collect(pick) { total.add(h) }
        return total
    }

    static func ms(_ us: UInt64) -> Double { Double(us) / 1000 }

    /// The server's resident memory, from /proc.
    static func rssKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    /// User + system CPU seconds of a process so far (`/proc/PID/stat`, fields 14 and 15).
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may hold spaces) start at field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    public static func describe(_ s: StepReport) -> String {
        var text = String(format: "rate %.0f/s: sent %d, delivered %d of %d (%.0f/s), p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.1f ms; ack p50 %.2f ms, p99 %.2f ms",
                          s.rate, s.sent, s.delivered, s.expected, s.deliveriesPerSecond, s.deliveryP50Ms, s.deliveryP99Ms, s.deliveryP999Ms, s.deliveryMaxMs, s.ackP50Ms, s.ackP99Ms)
        if let p50 = s.crossNodeP50Ms, let p99 = s.crossNodeP99Ms {
            text += String(format: "; to another node p50 %.2f ms, p99 %.2f ms", p50, p99)
        }
        if let pages = s.historyPagesPerSecond {
            text += String(format: "; history %.0f pages/s, p50 %.2f ms, p99 %.2f ms", pages, s.historyP50Ms ?? 0, s.historyP99Ms ?? 0)
        }
        if let cpu = s.serverCPUSeconds, let each = s.serverMicrosPerDelivery {
            text += String(format: "; server CPU %.2f s, %.2f µs per delivery", cpu, each)
        }
        if s.errors > 0 || s.disconnects > 0 { text += "; \(s.errors) errors, \(s.disconnects) disconnects" }
        return text
    }
}

/// The open-loop schedule of one event loop: sends whatever is due by now, round-robin over
/// the senders, whether or not earlier messages were answered. Confined to its loop.
final class SendSchedule {
    let senders: [BenchClient]
    private var next = 0
    private var sent = 0

    init(senders: [BenchClient]) {
        self.senders = senders
    }

    func send(upTo due: Int) {
        while sent < due {
            senders[next % senders.count].sendMessage()
            next += 1
            sent += 1
        }
    }
}
