import Foundation
import PackagePlugin

/// Embeds the web client (`Sources/SalonServer/Web`) in the server at build time: the files
/// become one generated Swift source, so that the `salon` binary alone is the whole server
/// (`cp salon /usr/local/bin` works; no resource folder beside it).
@main
struct EmbedWeb: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let source = target as? SourceModuleTarget else { return [] }
        let web = source.directoryURL.appending(path: "Web")
        let names = try FileManager.default.contentsOfDirectory(atPath: web.path(percentEncoded: false))
            .filter { !$0.hasPrefix(".") }
            .sorted()
        let inputs = names.map { web.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "WebFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding the web client (\(names.count) files)",
                executable: try context.tool(named: "salon-embed-web").url,
                arguments: [output.path(percentEncoded: false)] + inputs.map { $0.path(percentEncoded: false) },
                inputFiles: inputs,
                outputFiles: [output]
            ),
        ]
    }
}
