import ArgumentParser
import Foundation
import SalonCore
import SalonProtocol

/// `salon admin users`: every account, with its role, when it was last seen, and its ban.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "users", abstract: "List the accounts, with their roles and when they were last seen.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await database.run { store in
            let accounts = try await store.accounts()
            let now = Timestamp.now()
            let bans = Dictionary(try await store.allSanctions().filter { $0.kind == .ban && $0.roomID == nil && $0.holds(at: now) }.map { ($0.user.id, $0) },
                                  uniquingKeysWith: { a, _ in a })
            var lines = [Self.row("USERNAME", "ROLE", "LAST SEEN", "BANNED")]
            var objects: [[String: Any]] = []
            for account in accounts {
                let ban = bans[account.id]
                lines.append(Self.row(account.username, account.role.rawValue, account.lastSeen.map(\.readableUTC) ?? "never",
                                      ban.map { $0.until.map { "until \($0.readableUTC)" } ?? "yes" } ?? ""))
                var object: [String: Any] = ["username": account.username, "role": account.role.rawValue, "created_at": account.createdAt.iso8601]
                object["last_seen"] = orNull(account.lastSeen?.iso8601)
                if let ban { object["banned"] = ["until": orNull(ban.until?.iso8601), "reason": orNull(ban.reason)] }
                objects.append(object)
            }
            database.print(lines.joined(separator: "\n") + "\n\(accounts.count) account\(accounts.count == 1 ? "" : "s")", json: objects)
        }
    }

    static func row(_ columns: String...) -> String {
        let widths = [24, 7, 18]
        return columns.enumerated().map { i, c in i < widths.count ? c.padding(toLength: max(widths[i], c.count), withPad: " ", startingAt: 0) : c }
            .joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }
}

/// `salon admin create-user NAME [--role admin]`: the password from `SALON_PASSWORD`, or asked
/// twice on the terminal.
struct CreateUserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-user", abstract: "Create an account (the password from SALON_PASSWORD, or asked twice).")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The new account's name.")
    var username: String

    @Option(help: "admin or user.")
    var role: String = "user"

    func validate() throws {
        guard Limits.isValidUsername(username) else { throw ValidationError("a username is 1 to 32 letters, digits, '_', '-' or '.'") }
        guard let role = UserRole(rawValue: role.lowercased()), role != .guest else { throw ValidationError("the role is admin or user, not \(role)") }
    }

    func run() async throws {
        let role = UserRole(rawValue: role.lowercased()) ?? .user
        let password = try Passwords.new(for: username)
        try await database.run { store in
            let general = try await store.ensureRoom(name: "general", at: .now())
            let hash = try await Passwords.hasher.hash(password)
            guard let record = try await store.register(username: username, key: UserKey.of(username), passwordHash: hash, role: role,
                                                        generalID: general.id, at: .now()) else {
                throw AdminRefusal("the name '\(username)' is taken")
            }
            database.print("created \(record.username) (\(role.rawValue))", json: ["username": record.username, "role": role.rawValue])
        }
    }
}

/// `salon admin set-role USERNAME admin|user`: how the first admin is made.
struct SetRoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set-role", abstract: "Make an account an admin, or a user again.")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The account.")
    var username: String

    @Argument(help: "admin or user.")
    var role: String

    func validate() throws {
        guard let role = UserRole(rawValue: role.lowercased()), role != .guest else {
            throw ValidationError("the role is admin or user, not \(role)")
        }
    }

    func run() async throws {
        let role = UserRole(rawValue: role.lowercased()) ?? .user
        try await database.run { store in
            let account = try await store.account(named: username)
            let notice = SystemPush(room: nil, event: "role", username: account.username,
                                    text: role == .admin ? "you are an admin now" : "you are a user now", userRole: role)
            let event = EventDraft(type: .system, scope: .users, userID: account.id, data: Array(try JSONEncoder().encode(notice)))
            let line = ModerationEntry(action: "set_role", by: AdminChanges.cliName, username: account.username, roomID: nil, room: nil, role: role.rawValue)
            _ = try await store.commitOne(.logged(.setRole(userID: account.id, role: role, events: [event]), line))
            database.print("\(account.username) is now \(role == .admin ? "an admin" : "a user")", json: ["username": account.username, "role": role.rawValue])
        }
    }
}

/// `salon admin reset-password USERNAME`: a new password, made up and printed once (or, with
/// `--ask` or `SALON_PASSWORD`, the one given); every session of the account ends.
struct ResetPasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset-password",
        abstract: "Give an account a new password (printed once, or asked with --ask); its sessions end."
    )

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The account.")
    var username: String

    @Flag(help: "Ask for the new password (twice) instead of making one up.")
    var ask = false

    func run() async throws {
        let given = ProcessInfo.processInfo.environment["SALON_PASSWORD"] != nil || ask
        let password = given ? try Passwords.new(for: username) : Passwords.random()
        try await database.run { store in
            let account = try await store.account(named: username)
            let hash = try await Passwords.hasher.hash(password)
            _ = try await store.commitOne(AdminChanges.revokeTokens(account.actor, passwordHash: hash))
            var object: [String: Any] = ["username": account.username]
            if !given { object["password"] = password }
            database.print(given ? "\(account.username) has a new password; their sessions were ended"
                                 : "new password for \(account.username): \(password)\n(shown once; their sessions were ended)", json: object)
        }
    }
}

/// `salon admin revoke-tokens USERNAME`: every session of the account ends (its tokens are
/// revoked, its open connections closed).
struct RevokeTokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke-tokens", abstract: "End every session of an account: its tokens are revoked, its connections closed.")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The account.")
    var username: String

    func run() async throws {
        try await database.run { store in
            let account = try await store.account(named: username)
            _ = try await store.commitOne(AdminChanges.revokeTokens(account.actor))
            database.print("every session of \(account.username) was ended", json: ["username": account.username])
        }
    }
}

/// New passwords: given in `SALON_PASSWORD`, or asked twice on the terminal, or made up.
enum Passwords {
    static let hasher = PasswordHasher(cost: ChatConfiguration().bcryptCost)

    static func new(for username: String) throws -> String {
        let password: String
        if let given = ProcessInfo.processInfo.environment["SALON_PASSWORD"] {
            password = given
        } else {
            guard let first = ask("New password for \(username): "), let second = ask("Once more: ") else {
                throw ValidationError("no password: set SALON_PASSWORD, or run this on a terminal")
            }
            guard first == second else { throw ValidationError("the two passwords differ") }
            password = first
        }
        guard password.count >= Limits.passwordMinLength else {
            throw ValidationError("a password needs at least \(Limits.passwordMinLength) characters")
        }
        guard password.count <= Limits.passwordMaxLength, !password.unicodeScalars.contains("\u{0}") else {
            throw ValidationError("a password has at most \(Limits.passwordMaxLength) characters, and no NUL")
        }
        return password
    }

    /// One line from the terminal, not echoed (nil: no terminal).
    private static func ask(_ prompt: String) -> String? {
        guard let line = getpass(prompt) else { return nil }
        return String(cString: line)
    }

    /// 20 letters and digits (about 100 bits), none that look alike.
    static func random() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var rng = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(rng.next(upperBound: UInt64(alphabet.count)))] })
    }
}
