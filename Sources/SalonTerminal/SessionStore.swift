import Foundation

/// Remembers session tokens per server and user in `~/.config/salon/sessions.json` (or under
/// `$XDG_CONFIG_HOME`), readable by the owner only (0600, folder 0700), so that the next
/// start needs no password.
public struct SessionStore: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var server: String
        public var username: String
        public var token: String

        public init(server: String, username: String, token: String) {
            self.server = server
            self.username = username
            self.token = token
        }
    }

    public let file: URL

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let base: URL
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
            base = URL(fileURLWithPath: xdg)
        } else {
            base = URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".config")
        }
        file = base.appendingPathComponent("salon").appendingPathComponent("sessions.json")
    }

    public func entries() -> [Entry] {
        guard let data = try? Data(contentsOf: file) else { return [] }
        return (try? JSONDecoder().decode([Entry].self, from: data)) ?? []
    }

    /// The token for `username` on `server`, or for the user last used there.
    public func find(server: String, username: String?) -> Entry? {
        entries().last { $0.server == server && (username == nil || $0.username.lowercased() == username?.lowercased()) }
    }

    public func save(_ entry: Entry) throws {
        var all = entries().filter { !($0.server == entry.server && $0.username.lowercased() == entry.username.lowercased()) }
        all.append(entry)
        try write(all)
    }

    public func remove(server: String, username: String) throws {
        try write(entries().filter { !($0.server == server && $0.username.lowercased() == username.lowercased()) })
    }

    private func write(_ entries: [Entry]) throws {
        let folder = file.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let data = try JSONEncoder().encode(entries)
        // Created empty with its permissions first, so that the token is never readable by others.
        if !FileManager.default.fileExists(atPath: file.path),
           !FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]) {
            throw CocoaError(.fileWriteUnknown)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        try data.write(to: file)
    }
}
