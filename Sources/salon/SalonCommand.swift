import ArgumentParser

/// `salon`: the server and, in later releases, its clients and tools.
@main
struct SalonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "salon",
        abstract: "Salon: a self-hosted chat server and its tools.",
        discussion: "Start a server with 'salon serve'; every option can also be set with an environment variable SALON_… (see 'salon serve --help').",
        subcommands: [ServeCommand.self]
    )
}
