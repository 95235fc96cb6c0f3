import ArgumentParser

/// `salon`: the server and, in later releases, its clients and tools.
@main
struct SalonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "salon",
        abstract: "Salon: a self-hosted chat server and its tools.",
        discussion: "Start a server with 'salon serve'; chat with 'salon chat'; script with 'salon send' and 'salon tail'. Each has --help.",
        subcommands: [ServeCommand.self, ChatCommand.self, SendCommand.self, TailCommand.self, DownloadCommand.self, BenchCommand.self, AdminCommand.self]
    )
}
