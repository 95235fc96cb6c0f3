import AsyncHTTPClient
import Foundation
import Histogram
import NIOCore

/// `salon bench soak`: many clients in many small rooms plus one busy room, under a steady
/// load for a long time (hours), sampled every few seconds. It answers what a short benchmark
/// cannot: whether anything grows without bound (memory, open files, latency) and whether
/// anything is lost over time.
public struct SoakOptions: Sendable {
    /// Small rooms the `clients` are spread over (in order: the first `clients / rooms` share one).
    public var rooms = 200
    /// Members of the busy room, on connections of their own (beside `clients`).
    public var busyMembers = 500
    /// Messages a second into the small rooms, in total (round-robin over their members).
    public var roomRate = 200.0
    /// Messages a second into the busy room, from its first `busySenders` members.
    public var busyRate = 20.0
    public var busySenders = 5
    /// Guests that log in and out at each sample (the session open and close paths).
    public var churn = 20
    public var sampleSeconds = 10.0
    public init() {}
}

/// One sample: the counters since the start, the latencies of the last interval, and the
/// server as `/proc` and `/metrics` show it.
public struct SoakSample: Codable, Sendable {
    /// Seconds since the load began.
    public var seconds: Double
    /// `load`, or `drain` for the last sample (after the senders stopped).
    public var phase: String
    public var sent: Int
    public var acked: Int
    public var expected: Int
    public var delivered: Int
    /// Deliveries in this interval and their latency.
    public var deliveries: Int
    public var deliveryP50Ms: Double
    public var deliveryP99Ms: Double
    public var deliveryMaxMs: Double
    public var ackP99Ms: Double
    public var errors: Int
    public var disconnects: Int
    /// Guests logged in and out so far, and this interval's worst login.
    public var churned: Int
    public var churnLoginMaxMs: Double
    public var serverRSSKiB: Int?
    public var serverOpenFiles: Int?
    /// The worst of the server's `salon_event_loop_lag_seconds`.
    public var serverLoopLagMs: Double?
    /// The sum of the server's `salon_connections`.
    public var serverConnections: Int?
    /// The worst lateness of this generator's own send tick (a high figure: the generator, not
    /// the server, is the bottleneck, and the latencies mean little).
    public var benchLoopLagMs: Double
}

public struct SoakSummary: Codable, Sendable {
    public var scenario = "soak"
    public var transport: String
    public var clients: Int
    public var rooms: Int
    public var busyMembers: Int
    public var connected: Int
    public var seconds: Double
    public var samples: Int
    public var sent: Int
    public var expected: Int
    public var delivered: Int
    public var lost: Int
    public var errors: Int
    public var disconnects: Int
    public var worstP99Ms: Double
    public var serverRSSFirstKiB: Int?
    public var serverRSSLastKiB: Int?
    public var serverRSSMaxKiB: Int?
    public var serverOpenFilesFirst: Int?
    public var serverOpenFilesLast: Int?
    /// Nothing lost, no error or disconnect, every client connected, and the server's open
    /// files at the end within the churn's reach of the first sample's (no descriptor leak).
    public var ok: Bool
}

extension BenchRunner {
    /// Runs the soak for `options.duration` seconds; `sample` is called with each sample as it
    /// is taken.
    public func soak(_ soak: SoakOptions, progress: @escaping @Sendable (String) -> Void, sample: @escaping @Sendable (SoakSample) throws -> Void) async throws -> SoakSummary {
        let o = options
        let clients = o.clients
        let rooms = max(1, min(soak.rooms, clients))
        let perRoom = (clients + rooms - 1) / rooms
        let total = clients + soak.busyMembers
        let busyRoom = "soak-\(runID)-busy"
        let roomOf: @Sendable (Int) -> String = { i in i < clients ? "soak-\(self.runID)-\(i / perRoom)" : busyRoom }
        let sizeOf: @Sendable (Int) -> Int = { i in i < clients ? min(perRoom, clients - (i / perRoom) * perRoom) : soak.busyMembers }

        progress("connecting \(clients) clients in \(rooms) rooms and \(soak.busyMembers) in the busy room…")
        let connectSeconds = try await connect(count: total, name: { "k\(self.runID)-\($0)" }, login: { _ in .guest }, room: { roomOf($0) })
        let connected = await collect { $0.ready }.reduce(0, +)
        guard connected > 0 else {
            await closeAll()
            throw BenchError.noConnection("\(o.host):\(o.transport == .ws ? o.httpPort : o.transport == .tcp ? o.tcpPort : o.ircPort)")
        }
        progress(String(format: "%d of %d clients logged in and joined in %.1f s", connected, total, connectSeconds))
        await each { shard in
            for client in shard.clients { client.recipients = sizeOf(client.index) - 1 }
            shard.resetMeasurements()
        }
        let churnShards = try await withThrowingTaskGroup(of: NIOLoopBound<Shard>.self) { group in
            for bound in shards {
                let loop = bound.eventLoop
                group.addTask { try await loop.submit { NIOLoopBound(Shard(loop: loop), eventLoop: loop) }.get() }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }

        // The senders: one tick a millisecond per loop, open loop, until the duration is over.
        let duration = o.duration
        let start = nowNanos()
        let shardCount = shards.count
        for (s, bound) in shards.enumerated() {
            let busyShare = soak.busySenders / shardCount + (s < soak.busySenders % shardCount ? 1 : 0)
            try await bound.eventLoop.submit {
                let shard = bound.value
                let small = SendSchedule(senders: shard.clients.filter { $0.index < clients })
                let busy = SendSchedule(senders: Array(shard.clients.filter { $0.index >= clients }.prefix(busyShare)))
                let (roomRate, busyRate) = (soak.roomRate / Double(shardCount), soak.busyRate / Double(shardCount))
                let ticker = NIOLoopBound(SoakTicker(shard: shard, small: small, busy: busy, last: start), eventLoop: shard.loop)
                shard.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { task in
                    let elapsed = min(ticker.value.tick(start: start) , duration)
                    ticker.value.send(roomRate: roomRate, busyRate: busyRate, elapsed: elapsed)
                    if elapsed >= duration { task.cancel() }
                }
            }.get()
        }

        var samples: [SoakSample] = []
        var churned = 0
        var round = 0
        let interval = max(1, soak.sampleSeconds)
        let take: @Sendable (String, Int, Double) async -> SoakSample = { phase, churned, churnMax in
            let windows = await self.collect { shard -> (Histogram<UInt64>, Histogram<UInt64>, UInt64) in
                let (delivery, ack) = shard.takeWindow()
                defer { shard.tickLagWorst = 0 }
                return (delivery, ack, shard.tickLagWorst)
            }
            var delivery = Shard.histogram()
            var ack = Shard.histogram()
            for (d, a, _) in windows {
                delivery.add(d)
                ack.add(a)
            }
            let counts = await self.collect { ($0.sent, $0.acked, $0.expectedDeliveries, $0.delivered, $0.errors, $0.disconnects) }
            let server = await Self.serverMetrics(host: o.host, port: o.httpPort)
            return SoakSample(
                seconds: Double(nowNanos() - start) / 1e9, phase: phase,
                sent: counts.map(\.0).reduce(0, +), acked: counts.map(\.1).reduce(0, +), expected: counts.map(\.2).reduce(0, +),
                delivered: counts.map(\.3).reduce(0, +), deliveries: Int(delivery.totalCount),
                deliveryP50Ms: Self.ms(delivery.valueAtPercentile(50)), deliveryP99Ms: Self.ms(delivery.valueAtPercentile(99)),
                deliveryMaxMs: Self.ms(delivery.max), ackP99Ms: Self.ms(ack.valueAtPercentile(99)),
                errors: counts.map(\.4).reduce(0, +), disconnects: counts.map(\.5).reduce(0, +),
                churned: churned, churnLoginMaxMs: churnMax,
                serverRSSKiB: o.serverPID.flatMap(Self.rssKiB), serverOpenFiles: o.serverPID.flatMap(Self.openFiles),
                serverLoopLagMs: server?.loopLagSeconds.map { $0 * 1000 }, serverConnections: server?.connections,
                benchLoopLagMs: Double(windows.map(\.2).max() ?? 0) / 1e6
            )
        }
        while true {
            round += 1
            let due = start + UInt64(Double(round) * interval * 1e9)
            if Double(due - start) / 1e9 > duration + 0.001 { break }
            let now = nowNanos()
            if due > now { try await Task.sleep(for: .nanoseconds(Int64(due - now))) }
            // Churn: last round's guests leave, new ones log in.
            var churnMax = 0.0
            if soak.churn > 0 {
                await closeAll(churnShards)
                let prefix = "c\(runID)-\(round)-"
                _ = try await connect(count: soak.churn, name: { prefix + String($0) }, login: { _ in .guest }, room: { _ in nil }, on: churnShards)
                churned += await collect(on: churnShards) { $0.ready }.reduce(0, +)
                churnMax = await collect(on: churnShards) { Self.ms($0.login.max) }.max() ?? 0
            }
            let next = await take("load", churned, churnMax)
            samples.append(next)
            try sample(next)
            progress(Self.describe(next))
        }
        await closeAll(churnShards)
        // Drain: every delivery and ack, or 10 s.
        let deadline = nowNanos() + 10_000_000_000
        while nowNanos() < deadline {
            let counts = await collect { ($0.sent, $0.acked, $0.expectedDeliveries, $0.delivered) }
            if counts.map(\.1).reduce(0, +) >= counts.map(\.0).reduce(0, +), counts.map(\.3).reduce(0, +) >= counts.map(\.2).reduce(0, +) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let last = await take("drain", churned, 0)
        samples.append(last)
        try sample(last)
        progress(Self.describe(last))
        await closeAll()

        let rss = samples.compactMap(\.serverRSSKiB)
        let files = samples.compactMap(\.serverOpenFiles)
        let lost = max(0, last.expected - last.delivered)
        let filesKept = (files.first.map { first in (files.last ?? first) <= first + soak.churn + 10 }) ?? true
        return SoakSummary(
            transport: o.transport.rawValue, clients: clients, rooms: rooms, busyMembers: soak.busyMembers, connected: connected,
            seconds: last.seconds, samples: samples.count, sent: last.sent, expected: last.expected, delivered: last.delivered, lost: lost,
            errors: last.errors, disconnects: last.disconnects, worstP99Ms: samples.map(\.deliveryP99Ms).max() ?? 0,
            serverRSSFirstKiB: rss.first, serverRSSLastKiB: rss.last, serverRSSMaxKiB: rss.max(),
            serverOpenFilesFirst: files.first, serverOpenFilesLast: files.last,
            ok: connected == total && lost == 0 && last.errors == 0 && last.disconnects == 0 && last.acked >= last.sent && filesKept
        )
    }

    func collect<T: Sendable>(on shards: [NIOLoopBound<Shard>], _ body: @escaping @Sendable (Shard) -> T) async -> [T] {
        var out: [T] = []
        for bound in shards {
            if let value = try? await bound.eventLoop.submit({ body(bound.value) }).get() { out.append(value) }
        }
        return out
    }

    public static func describe(_ s: SoakSample) -> String {
        var text = String(format: "%6.0f s %@: delivered %d of %d, p50 %.2f ms, p99 %.2f ms, max %.1f ms, ack p99 %.2f ms",
                          s.seconds, s.phase, s.delivered, s.expected, s.deliveryP50Ms, s.deliveryP99Ms, s.deliveryMaxMs, s.ackP99Ms)
        if let rss = s.serverRSSKiB { text += String(format: "; server %.1f MiB", Double(rss) / 1024) }
        if let files = s.serverOpenFiles { text += ", \(files) files" }
        if let lag = s.serverLoopLagMs { text += String(format: ", loop lag %.1f ms", lag) }
        if s.errors > 0 || s.disconnects > 0 { text += "; \(s.errors) errors, \(s.disconnects) disconnects" }
        return text
    }

    /// The server's open file descriptors, from /proc.
    static func openFiles(_ pid: Int32) -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")).map(\.count)
    }

    /// The worst event-loop lag and the open connections, from the server's `/metrics` (nil
    /// when it cannot be read).
    static func serverMetrics(host: String, port: Int) async -> (loopLagSeconds: Double?, connections: Int?)? {
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://\(host):\(port)/metrics"), timeout: .seconds(5))
            guard response.status == .ok else { return nil }
            let body = String(buffer: try await response.body.collect(upTo: 1 << 22))
            var lag: Double?
            var connections: Int?
            for line in body.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
                if line.hasPrefix("salon_event_loop_lag_seconds") {
                    lag = max(lag ?? 0, value)
                } else if line.hasPrefix("salon_connections{") {
                    connections = (connections ?? 0) + Int(value)
                }
            }
            return (lag, connections)
        } catch {
            return nil
        }
    }
}

/// One loop's soak senders and its tick's lateness. Confined to its loop.
final class SoakTicker {
    let shard: Shard
    let small: SendSchedule
    let busy: SendSchedule
    private var last: UInt64

    init(shard: Shard, small: SendSchedule, busy: SendSchedule, last: UInt64) {
        self.shard = shard
        self.small = small
        self.busy = busy
        self.last = last
    }

    /// Seconds since `start`; records how much later than 1 ms after the previous tick this one ran.
    func tick(start: UInt64) -> Double {
        let now = nowNanos()
        let gap = now &- last
        shard.tickLagWorst = max(shard.tickLagWorst, gap > 1_000_000 ? gap - 1_000_000 : 0)
        last = now
        return Double(now &- start) / 1e9
    }

    func send(roomRate: Double, busyRate: Double, elapsed: Double) {
        if !small.senders.isEmpty { small.send(upTo: Int(roomRate * elapsed)) }
        if !busy.senders.isEmpty { busy.send(upTo: Int(busyRate * elapsed)) }
    }
}
