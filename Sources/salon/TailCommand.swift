import ArgumentParser
import Foundation
import SalonClient
import SalonProtocol
import SalonTerminal

/// `salon tail`: messages as they arrive, one line each, for scripts.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print a room's or a conversation's messages, one line each, as they arrive.",
        discussion: """
            Each line is "TIMESTAMP NAME: TEXT" (new lines in a text are written \\n), or with \
            --json the message as one JSON object. The last --lines messages come first. It \
            follows until interrupted, reconnecting when needed without losing or repeating a \
            message; --no-follow stops after the last ones. A room you are not in is joined.

            """ + exitCodesHelp
    )

    @OptionGroup var options: ClientOptions

    @Option(help: "The room to follow (default: general).")
    var room: String?

    @Option(name: .customLong("with"), help: "Follow the private conversation with this person instead.")
    var peer: String?

    @Option(name: [.customShort("n"), .long], help: "How many past messages to print first.")
    var lines = 10

    @Flag(inversion: .prefixedNo, help: "Keep printing new messages as they arrive.")
    var follow = true

    @Flag(help: "One JSON object per line.")
    var json = false

    func validate() throws {
        guard room == nil || peer == nil else { throw ValidationError("give --room or --with, not both") }
        guard lines >= 0 else { throw ValidationError("--lines cannot be negative") }
    }

    func run() async throws {
        quietLogging()
        let connector = options.connector()
        let roomName = peer == nil ? (room ?? "general") : nil
        var last: Int64 = 0
        var first = true
        var delay = 0.5
        let cursor = EventCursor()
        while true {
            let client: SalonClient
            let auth: AuthResult
            do {
                (client, auth) = try await connector.connect(interactive: first && isatty(0) == 1)
            } catch {
                if first { throw fail(error) }
                if case .authentication = error { throw fail(error) }
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, 15)
                continue
            }
            delay = 0.5
            do {
                if let roomName {
                    let _: JoinResult = try await client.request("join_room", RoomRequest(room: roomName))
                }
                if first {
                    _ = try await cursor.resume(client, at: auth.seq)
                    if lines > 0 {
                        let page: HistoryResult = try await client.request("history", HistoryRequest(room: roomName, with: peer, limit: min(lines, 200)))
                        page.messages.forEach { printLine($0, &last) }
                    }
                    first = false
                    guard follow else {
                        await client.close()
                        return
                    }
                } else if auth.user.role != .guest {
                    // Back after a drop: exactly the events that came meanwhile.
                    for event in try await cursor.resume(client, at: auth.seq) where event.action == "receive_message" {
                        if let message = try? event.decode(ReceiveMessagePush.self).message, matches(message, roomName) { printLine(message, &last) }
                    }
                } else {
                    // A guest is someone new at each login: its sync starts now. What came
                    // meanwhile is in the history.
                    while true {
                        let page: HistoryResult = try await client.request("history", HistoryRequest(room: roomName, with: peer, after: last, limit: 200))
                        page.messages.forEach { printLine($0, &last) }
                        if !page.hasMore { break }
                    }
                }
            } catch SalonClientError.server(let e) {
                throw fail(.refused(e))
            } catch {
                continue
            }
            for await event in client.events where event.action == "receive_message" && cursor.accept(event) {
                guard let message = try? event.decode(ReceiveMessagePush.self).message else { continue }
                if matches(message, roomName) { printLine(message, &last) }
            }
        }
    }

    private func matches(_ message: Message, _ roomName: String?) -> Bool {
        roomName.map { message.room == $0 }
            ?? (message.room == nil && [message.from.lowercased(), message.to?.lowercased()].contains(peer?.lowercased()))
    }

    private func printLine(_ message: Message, _ last: inout Int64) {
        guard message.id > last else { return }
        last = message.id
        if json, let data = try? JSONEncoder().encode(message) {
            Terminal.write(String(decoding: data, as: UTF8.self) + "\n")
        } else {
            // Control characters shown visibly (`^[`), never raw: a message cannot drive the terminal.
            let text = VisibleText.of(message.text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))
            Terminal.write("\(message.timestamp.iso8601) \(VisibleText.of(message.from))\(message.fromBot == true ? " [bot]" : ""): \(text)\n")
        }
    }
}
