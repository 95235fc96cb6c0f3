import ArgumentParser
import Foundation
import SalonClient
import SalonProtocol
import SalonTerminal

/// `salon chat`: the terminal client.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat from the terminal.",
        discussion: """
            Messages arrive above the input line; type a line and press Enter to send it to the \
            current room (shown in the prompt). /help lists the commands (/join, /msg, /query, \
            /history…). The first time, you are asked for your password; the session is then \
            kept in ~/.config/salon/ (readable by you only), so the next start needs none. \
            If the connection drops, salon chat reconnects and shows what you missed.

            """ + exitCodesHelp
    )

    @OptionGroup var options: ClientOptions

    @Flag(help: "Create the account --user first (asks for a new password).")
    var register = false

    func run() async throws {
        quietLogging()
        let connector = options.connector(register: register)
        let connection: (SalonClient, AuthResult)
        do {
            connection = try await connector.connect(interactive: isatty(0) == 1)
        } catch {
            throw fail(error)
        }
        let controller = ChatController(
            connector: connector,
            style: Style.detect(environment: ProcessInfo.processInfo.environment),
            interactive: Terminal.isInteractive
        )
        let code = await controller.run(connection, input: Terminal.inputBytes())
        if code != 0 { throw ExitCode(code) }
    }
}
