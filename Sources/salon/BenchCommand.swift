import ArgumentParser
import Foundation
import SalonBench
import SalonClient
import SalonProtocol
import SalonServer
import SalonTerminal
import Synchronization

/// `salon bench`: a load generator for a running server.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a running Salon server: delivery latency, throughput, memory, login storms.",
        discussion: """
            Start the server with --rate-limit 0 (and, for the login scenario, SALON_BCRYPT_COST=4 \
            so that registering the accounts is quick). Pin the server and the generator to \
            different cores, e.g. taskset -c 0 salon serve … and taskset -c 1 salon bench …. \
            Prints a readable summary, then one JSON line; exits 1 when a message was lost or a \
            client could not connect.
            """
    )

    @Argument(help: "idle, fanout, rooms, history, login, sync or soak (chart: draw --chart again from a soak's --samples).")
    var scenario: String = "fanout"

    @Option(help: "ws, tcp or irc (guests only: idle, fanout, rooms).")
    var transport: String = "ws"

    @Option var host = "127.0.0.1"
    @Option(help: "The server's HTTP/WebSocket port.") var port = 8080
    @Option(help: "The server's TCP port.") var tcpPort = 9090
    @Option(help: "The server's IRC port (--transport irc).") var ircPort = 6667
    @Option(help: "Connections (default 100; soak: 2000, in its small rooms).") var clients: Int?
    @Option(help: "fanout/history: how many clients send.") var senders = 1
    @Option(help: "Messages a second: in total (fanout, history), per client (rooms).") var rate = 100.0
    @Option(help: "fanout: comma-separated rates to climb until p99 > 100 ms or loss.") var ladder: String?
    @Option(help: "rooms: members per room.") var roomSize = 10
    @Option(help: "Seconds of load (or of holding, for idle); default 5, soak 7200.") var duration: Double?
    @Option(help: "Bytes of text per message.") var size = 100
    @Option(help: "The server's PID, to report its memory per connection.") var serverPid: Int32?
    @Option(help: "Event loop threads of the generator.") var threads = 1
    @Option(help: "sync: how many events to catch up on.") var events = 10_000
    @Option(name: .customLong("server"), help: "A node of a cluster, HOST:PORT:TCP_PORT (repeat it: clients are spread over the nodes; instead of --host/--port/--tcp-port).")
    var servers: [String] = []
    @Option(help: "soak: small rooms the clients are spread over.") var rooms = 200
    @Option(help: "soak: messages a second into the small rooms, in total.") var roomRate = 200.0
    @Option(help: "soak: members of the busy room (connections beside --clients).") var busy = 500
    @Option(help: "soak: messages a second into the busy room.") var busyRate = 20.0
    @Option(help: "soak: how many busy-room members send.") var busySenders = 5
    @Option(help: "soak: guests that log in and out at every sample.") var churn = 20
    @Option(help: "soak: seconds between samples.") var sampleEvery = 10.0
    @Option(help: "soak: where to write the samples, one JSON object a line.") var samples = "soak.jsonl"
    @Option(help: "soak: where to write the SVG chart of the samples.") var chart = "soak.svg"
    @Flag(help: "Connect over TLS (wss:// and tls://): the server runs with --tls-cert.") var tls = false
    @Option(help: "With --tls: PEM certificate of the CA that signed the server's certificate.") var ca: String?

    func run() async throws {
        quietLogging()
        if scenario == "chart" { return try drawChart() }
        FileLimit.raiseToHardLimit()
        if scenario == "sync" {
            guard transport != "irc" else { throw ValidationError("sync runs over ws or tcp (IRC has CHATHISTORY, not sync)") }
            return try await runSync()
        }
        guard let scenario = Scenario(rawValue: scenario == "soak" ? "rooms" : scenario) else {
            throw ValidationError("scenario must be one of \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let transport = BenchTransport(rawValue: transport) else { throw ValidationError("--transport is ws, tcp or irc") }
        if transport == .irc, ![.idle, .fanout, .rooms].contains(scenario) {
            throw ValidationError("--transport irc runs idle, fanout and rooms (IRC guests; history and login are the other transports')")
        }
        var options = BenchOptions()
        options.scenario = scenario
        options.transport = transport
        options.host = host
        options.httpPort = port
        options.tcpPort = tcpPort
        options.ircPort = ircPort
        options.servers = try servers.map { text in
            let parts = text.split(separator: ":").map(String.init)
            guard parts.count == 3, let http = Int(parts[1]), let tcp = Int(parts[2]) else {
                throw ValidationError("--server is HOST:PORT:TCP_PORT, not \(text)")
            }
            return BenchServer(host: parts[0], httpPort: http, tcpPort: tcp)
        }
        options.clients = clients ?? (self.scenario == "soak" ? 2000 : 100)
        options.senders = senders
        options.rate = rate
        options.ladder = (ladder ?? "").split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        options.roomSize = roomSize
        options.duration = duration ?? (self.scenario == "soak" ? 7200 : 5)
        options.textSize = size
        options.serverPID = serverPid
        options.threads = threads
        if tls {
            do {
                options.tls = try BenchOptions.tlsContext(caFile: ca)
            } catch {
                throw ValidationError("--ca \(ca ?? ""): cannot read it as PEM certificates (\(error))")
            }
        }

        let runner = try await BenchRunner.make(options: options)
        if self.scenario == "soak" { return try await runSoak(runner) }
        let report: BenchReport
        do {
            report = try await runner.run { Terminal.write("\($0)\n") }
        } catch let error as BenchError {
            await runner.shutdown()
            throw fail(.unreachable(error.description))
        } catch {
            await runner.shutdown()
            throw fail(.unreachable("the benchmark failed: \(error)"))
        }
        await runner.shutdown()
        Terminal.write(String(format: "login: p50 %.2f ms, p99 %.2f ms\n", report.loginP50Ms, report.loginP99Ms))
        if let perConnection = report.serverKiBPerConnection {
            Terminal.write(String(format: "server memory: %d KiB → %d KiB, %.1f KiB per connection\n",
                                  report.serverRSSBeforeKiB ?? 0, report.serverRSSAfterKiB ?? 0, perConnection))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        Terminal.write(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
        if !report.ok { throw ExitCode(1) }
    }

    /// `soak`: the clients in small rooms, a busy room, guests coming and going, sampled until
    /// the duration is over; the samples go to `--samples` as they are taken (a run cut short
    /// keeps what it measured), the chart to `--chart` at the end.
    private func runSoak(_ runner: BenchRunner) async throws {
        var soak = SoakOptions()
        soak.rooms = rooms
        soak.roomRate = roomRate
        soak.busyMembers = busy
        soak.busyRate = busyRate
        soak.busySenders = busySenders
        soak.churn = churn
        soak.sampleSeconds = sampleEvery
        guard FileManager.default.createFile(atPath: samples, contents: nil), let file = FileHandle(forWritingAtPath: samples) else {
            await runner.shutdown()
            throw ValidationError("--samples \(samples): cannot write there")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let taken = SoakLog()
        let summary: SoakSummary
        do {
            summary = try await runner.soak(soak, progress: { Terminal.write("\($0)\n") }) { sample in
                taken.append(sample)
                file.write(try encoder.encode(sample) + Data("\n".utf8))
            }
        } catch let error as BenchError {
            await runner.shutdown()
            throw fail(.unreachable(error.description))
        } catch {
            await runner.shutdown()
            throw fail(.unreachable("the soak failed: \(error)"))
        }
        await runner.shutdown()
        try? file.close()
        let title = "salon bench soak: \(summary.clients) clients in \(summary.rooms) rooms + a \(summary.busyMembers)-member room, \(transport), "
            + (summary.seconds >= 300 ? String(format: "%.0f min", summary.seconds / 60) : String(format: "%.0f s", summary.seconds))
        do {
            try SoakChart.render(taken.all, title: title).write(toFile: chart, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("--chart \(chart): cannot write there (\(error))")
        }
        Terminal.write("samples in \(samples), chart in \(chart)\n")
        Terminal.write(String(decoding: try encoder.encode(summary), as: UTF8.self) + "\n")
        if !summary.ok { throw ExitCode(1) }
    }

    /// `chart`: the SVG of a soak's samples drawn again (a run that was cut short has its
    /// samples but no chart).
    private func drawChart() throws {
        guard let text = try? String(contentsOfFile: samples, encoding: .utf8) else {
            throw ValidationError("--samples \(samples): cannot read it")
        }
        let decoder = JSONDecoder()
        var taken: [SoakSample] = []
        for (number, line) in text.split(separator: "\n").enumerated() {
            do {
                taken.append(try decoder.decode(SoakSample.self, from: Data(line.utf8)))
            } catch {
                throw ValidationError("--samples \(samples), line \(number + 1): not a soak sample (\(error))")
            }
        }
        let seconds = taken.last?.seconds ?? 0
        let title = "salon bench soak: \(taken.count) samples over " + (seconds >= 300 ? String(format: "%.0f min", seconds / 60) : String(format: "%.0f s", seconds))
        do {
            try SoakChart.render(taken, title: title).write(toFile: chart, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("--chart \(chart): cannot write there (\(error))")
        }
        Terminal.write("chart of \(taken.count) samples in \(chart)\n")
    }

    /// `sync`: a client away while `--events` messages are written catches up on all of them
    /// (`sync`, pages of 1,000, following `has_more`); reports how long that takes.
    private func runSync() async throws {
        let address = transport == "tcp" ? "\(tls ? "tls" : "tcp")://\(host):\(tcpPort)" : "\(tls ? "wss" : "ws")://\(host):\(port)/ws"
        let trust: ClientTLS
        do {
            trust = try ClientTLS(caFile: ca)
        } catch {
            throw ValidationError("\(error)")
        }
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let reader: SalonClient
        let writer: SalonClient
        let start: Int64
        do {
            reader = try await SalonClient.connect(to: address, tls: trust)
            writer = try await SalonClient.connect(to: address, tls: trust)
            let auth: AuthResult = try await reader.request("login", LoginRequest(username: "sync-r\(tag)"))
            let _: AuthResult = try await writer.request("login", LoginRequest(username: "sync-w\(tag)"))
            start = auth.seq ?? 0
        } catch {
            throw fail(.unreachable("cannot log in at \(address): \(error)"))
        }
        Terminal.write("writing \(events) messages…\n")
        let text = String(repeating: "x", count: max(1, size))
        var written = 0
        while written < events {
            let window = min(200, events - written)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<window {
                    group.addTask {
                        let _: MessageResult = try await writer.request("send_message", SendMessageRequest(room: "general", text: text))
                    }
                }
                try await group.waitForAll()
            }
            written += window
        }
        let clock = ContinuousClock()
        let began = clock.now
        var since = start
        var received = 0
        var pages = 0
        while true {
            // Read with JSONSerialization, not Codable: the server's time is what is measured.
            let reply = try await reader.requestEnvelope("sync", SyncRequest(since: since, limit: 1000))
            guard let object = try JSONSerialization.jsonObject(with: Data(reply.raw)) as? [String: Any],
                  let data = object["data"] as? [String: Any], let seq = (data["seq"] as? NSNumber)?.int64Value else {
                throw fail(.unreachable("sync failed: \(String(decoding: reply.raw, as: UTF8.self).prefix(200))"))
            }
            received += (data["events"] as? [Any])?.count ?? 0
            pages += 1
            since = seq
            if data["has_more"] as? Bool != true { break }
        }
        let elapsed = clock.now - began
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        await reader.close()
        await writer.close()
        Terminal.write(String(format: "sync: %d events in %d pages in %.1f ms (%.0f events/s)\n", received, pages, ms, Double(received) / max(ms / 1000, 1e-9)))
        Terminal.write(#"{"scenario":"sync","events":\#(received),"pages":\#(pages),"ms":\#(String(format: "%.1f", ms)),"ok":\#(received >= events)}"# + "\n")
        if received < events { throw ExitCode(1) }
    }
}

/// The soak's samples as they come (from the runner's task), for the chart at the end.
final class SoakLog: Sendable {
    private let samples = Mutex<[SoakSample]>([])
    func append(_ sample: SoakSample) { samples.withLock { $0.append(sample) } }
    var all: [SoakSample] { samples.withLock { $0 } }
}
