import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `salon`: the server and, in later releases, its clients and tools.
@main
struct SalonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "salon",
        abstract: "Salon: a self-hosted chat server and its tools.",
        discussion: "Start a server with 'salon serve'; chat with 'salon chat'; script with 'salon send' and 'salon tail'. Each has --help.",
        subcommands: [ServeCommand.self, ChatCommand.self, SendCommand.self, TailCommand.self, DownloadCommand.self, BenchCommand.self, AdminCommand.self]
    )

    /// ArgumentParser's own entry point, except that help leaves in one write. Scripts probe
    /// for a flag with `salon serve --help | grep -q -- --flag`; under `set -o pipefail` that
    /// failed about one time in ten (19 of 200 here), because the 5 KiB help is more than the
    /// 4 KiB stdio buffer of a pipe, and grep, exiting at its first match between two writes,
    /// killed salon with SIGPIPE. One `write(2)` of the whole text fits the pipe's 64 KiB.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .success {
                let message = fullMessage(for: error)
                if !message.isEmpty, writeWhole(message + "\n", to: 1) {
                    Self.exit()
                }
            }
            exit(withError: error)
        }
    }

    /// Writes `text` to `descriptor` with as few `write(2)` calls as the kernel allows (one for
    /// a pipe with room); false when a write fails, so the caller can fall back.
    private static func writeWhole(_ text: String, to descriptor: Int32) -> Bool {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}
