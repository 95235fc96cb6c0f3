import Foundation

// Writes a Swift source holding the given files, base64-encoded (a string literal compiles
// in no time; an array of byte literals would not): `salon-embed-web OUTPUT FILE...`.
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: salon-embed-web OUTPUT FILE...\n".utf8))
    exit(64)
}
var source = """
// Generated at build time by salon-embed-web from Sources/SalonServer/Web: do not edit.

/// The web client's files by name, base64-encoded.
enum EmbeddedWebFiles {
    static let files: [String: String] = [

"""
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let data = try Data(contentsOf: url)
    source += "        \"\(url.lastPathComponent)\": \"\(data.base64EncodedString())\",\n"
}
source += "    ]\n}\n"
try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
