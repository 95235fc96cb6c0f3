import ArgumentParser
import Foundation
import SalonClient
import SalonProtocol
import SalonTerminal

/// `salon send`: one message, for scripts.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send one message to a room or a person.",
        discussion: """
            The text is the argument, or standard input when there is none. A room you are not \
            in is joined first. Without a stored session, set SALON_PASSWORD (or use --guest).

            """ + exitCodesHelp
    )

    @OptionGroup var options: ClientOptions

    @Option(help: "The room to send to.")
    var room: String?

    @Option(help: "The person to send a private message to.")
    var to: String?

    @Option(name: .customLong("file"), help: "A file to send with the message (repeat for several); the text may then be empty.")
    var files: [String] = []

    @Option(help: "The server's HTTP address for files when --server is tcp:// (SALON_HTTP; default: port 8080 of the same host).")
    var http: String?

    @Argument(help: "The message (default: read from standard input; none with --file).")
    var text: String?

    func validate() throws {
        guard (room == nil) != (to == nil) else { throw ValidationError("give --room ROOM or --to USER") }
    }

    func run() async throws {
        quietLogging()
        let body = text ?? (files.isEmpty ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : "")
        guard !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || !files.isEmpty else {
            throw fail(.usage("nothing to send: give the text as an argument or on standard input"))
        }
        do {
            let connector = options.connector()
            let (client, _) = try await connector.connect(interactive: (text != nil || !files.isEmpty) && isatty(0) == 1)
            defer { Task { await client.close() } }
            var attachments: [String] = []
            if !files.isEmpty {
                guard let transfer = connector.files(http: http ?? ProcessInfo.processInfo.environment["SALON_HTTP"]) else {
                    throw fail(.usage("files need an account: guests cannot upload"))
                }
                for path in files { attachments.append(try await transfer.upload(path: path).id) }
            }
            let request = SendMessageRequest(room: room, to: to, text: body, attachments: attachments.isEmpty ? nil : attachments,
                                             clientMsgID: "send-" + UUID().uuidString)
            do {
                let _: MessageResult = try await client.request("send_message", request)
            } catch SalonClientError.server(let e) where e.code == .notMember {
                let _: JoinResult = try await client.request("join_room", RoomRequest(room: room ?? ""))
                let _: MessageResult = try await client.request("send_message", request)
            }
            await client.close()
        } catch let failure as ClientFailure {
            throw fail(failure)
        } catch SalonClientError.server(let e) {
            throw fail(.refused(e))
        } catch {
            throw fail(.unreachable("the connection to \(options.server) was lost"))
        }
    }
}
