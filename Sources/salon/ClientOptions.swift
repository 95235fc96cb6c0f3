import ArgumentParser
import Foundation
import Logging
import SalonTerminal

/// Options shared by the client commands.
struct ClientOptions: ParsableArguments {
    @Option(help: "Server address: ws://HOST:PORT/ws, wss://…, tcp://HOST:PORT or tls://HOST:PORT; several nodes of one cluster separated by commas, tried in turn (SALON_SERVER).")
    var server: String = ProcessInfo.processInfo.environment["SALON_SERVER"] ?? "ws://127.0.0.1:8080/ws"

    @Option(help: "Your username (default: the last one used on this server).")
    var user: String?

    @Flag(help: "Join as a guest, with --user as your name; nothing is remembered.")
    var guest = false

    @Option(help: "PEM certificate of a private CA that signed the server's certificate, for wss://, tls:// and https:// (SALON_CA).")
    var ca: String = ProcessInfo.processInfo.environment["SALON_CA"] ?? ""

    func connector(register: Bool = false) -> Connector {
        Connector(server: server, username: user, guest: guest, register: register, caFile: ca.isEmpty ? nil : ca)
    }
}

/// The client commands log only errors, to standard error, so that their output stays theirs.
func quietLogging() {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .error
        return handler
    }
}

/// Prints a failure as one line and exits with its code.
func fail(_ failure: ClientFailure) -> ExitCode {
    Terminal.write("salon: \(failure.description)\n", to: 2)
    return ExitCode(failure.exitCode)
}

let exitCodesHelp = """
    Exit codes: 0 done; 1 the server refused (the reason is printed); 2 the server cannot be \
    reached; 3 login failed; 64 wrong usage.
    """
