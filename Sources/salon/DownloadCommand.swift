import ArgumentParser
import Foundation
import SalonClient
import SalonProtocol
import SalonTerminal

/// `salon download FILE`: a file of a message (the id `salon chat` shows beside it), saved
/// under its name or `--output`.
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a file shared in a message.",
        discussion: """
            FILE is the id shown beside a file in `salon chat` (or its /api/files/… URL). The \
            file is saved in the current folder under its own name, unless --output says where \
            ("-" writes it to standard output). Uses the stored session, as `salon chat` does.

            """ + exitCodesHelp
    )

    @OptionGroup var options: ClientOptions

    @Option(name: .shortAndLong, help: "Where to save it (default: its name, in the current folder; - for standard output).")
    var output: String?

    @Option(help: "The server's HTTP address when --server is tcp:// (SALON_HTTP; default: port 8080 of the same host).")
    var http: String?

    @Argument(help: "The file's id.")
    var file: String

    func run() async throws {
        quietLogging()
        do {
            let connector = options.connector()
            let (client, _) = try await connector.connect(interactive: isatty(0) == 1)
            await client.close()
            guard let transfer = connector.files(http: http ?? ProcessInfo.processInfo.environment["SALON_HTTP"]) else {
                throw fail(.usage("files need an account: guests have none"))
            }
            if output == "-" {
                try await transfer.download(file) { FileHandle.standardOutput.write(Data($0.readableBytesView)) }
                return
            }
            // Written beside its place, then named: its own name (no folders), never over a file.
            let temporary = ".salon-download-\(UUID().uuidString)"
            do {
                let (size, name) = try await transfer.download(file, to: temporary)
                var chosen = output ?? name
                var n = 1
                while output == nil && FileManager.default.fileExists(atPath: chosen) {
                    n += 1
                    let ext = (name as NSString).pathExtension
                    let stem = (name as NSString).deletingPathExtension
                    chosen = ext.isEmpty ? "\(stem) (\(n))" : "\(stem) (\(n)).\(ext)"
                }
                if output != nil { try? FileManager.default.removeItem(atPath: chosen) }
                try FileManager.default.moveItem(atPath: temporary, toPath: chosen)
                Terminal.write("saved \(chosen) (\(ChatController.byteCount(size)))\n", to: 2)
            } catch {
                try? FileManager.default.removeItem(atPath: temporary)
                throw error
            }
        } catch let failure as ClientFailure {
            throw fail(failure)
        } catch SalonClientError.server(let e) {
            throw fail(.refused(e))
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw fail(.unreachable("the download from \(options.server) failed: \(error)"))
        }
    }
}
