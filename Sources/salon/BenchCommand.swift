import ArgumentParser
import Foundation
import SalonBench
import SalonTerminal

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

    @Argument(help: "idle, fanout, rooms, history or login.")
    var scenario: String = "fanout"

    @Option(help: "ws or tcp.")
    var transport: String = "ws"

    @Option var host = "127.0.0.1"
    @Option(help: "The server's HTTP/WebSocket port.") var port = 8080
    @Option(help: "The server's TCP port.") var tcpPort = 9090
    @Option(help: "Connections.") var clients = 100
    @Option(help: "fanout/history: how many clients send.") var senders = 1
    @Option(help: "Messages a second: in total (fanout, history), per client (rooms).") var rate = 100.0
    @Option(help: "fanout: comma-separated rates to climb until p99 > 100 ms or loss.") var ladder: String?
    @Option(help: "rooms: members per room.") var roomSize = 10
    @Option(help: "Seconds of load (or of holding, for idle).") var duration = 5.0
    @Option(help: "Bytes of text per message.") var size = 100
    @Option(help: "The server's PID, to report its memory per connection.") var serverPid: Int32?
    @Option(help: "Event loop threads of the generator.") var threads = 1

    func run() async throws {
        quietLogging()
        guard let scenario = Scenario(rawValue: scenario) else {
            throw ValidationError("scenario must be one of \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let transport = BenchTransport(rawValue: transport) else { throw ValidationError("--transport is ws or tcp") }
        var options = BenchOptions()
        options.scenario = scenario
        options.transport = transport
        options.host = host
        options.httpPort = port
        options.tcpPort = tcpPort
        options.clients = clients
        options.senders = senders
        options.rate = rate
        options.ladder = (ladder ?? "").split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        options.roomSize = roomSize
        options.duration = duration
        options.textSize = size
        options.serverPID = serverPid
        options.threads = threads

        let runner = try await BenchRunner.make(options: options)
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
}
