import ArgumentParser
import Foundation
import SalonCore
import SalonProtocol

/// `salon admin ban USERNAME [--duration SECONDS] [--reason TEXT]`: a server ban; the
/// account's open connections get `banned` and close.
struct BanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ban", abstract: "Ban an account from the server (for --duration seconds, or until unbanned).")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The account.")
    var username: String

    @Option(help: "How long, in seconds (none: until unbanned).")
    var duration: Int64?

    @Option(help: "Why (the account is told).")
    var reason: String?

    func validate() throws {
        if let duration, duration < 1 || duration > 315_360_000 { throw ValidationError("the duration is 1 to 315360000 seconds (ten years)") }
        if let reason, reason.count > Limits.topicLength { throw ValidationError("a reason has at most \(Limits.topicLength) characters") }
    }

    func run() async throws {
        try await database.run { store in
            let account = try await store.account(named: username)
            guard account.role != .admin else { throw AdminRefusal("\(account.username) is an admin: make them a user first (set-role)") }
            let now = Timestamp.now()
            let until = duration.map { Timestamp(milliseconds: now.milliseconds + $0 * 1000) }
            let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty
            _ = try await store.commitOne(AdminChanges.serverBan(account.actor, by: AdminChanges.cliName, byID: nil, reason: reason, until: until,
                                                                 durationSeconds: duration, at: now))
            database.print("\(account.username) is banned" + (until.map { " until \($0.iso8601)" } ?? ""),
                           json: ["username": account.username, "until": orNull(until?.iso8601)])
        }
    }
}

/// `salon admin unban USERNAME`: lifts a server ban.
struct UnbanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unban", abstract: "Lift an account's server ban.")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The account.")
    var username: String

    func run() async throws {
        try await database.run { store in
            let account = try await store.account(named: username)
            let events = try await store.commitOne(AdminChanges.serverUnban(account.actor, by: AdminChanges.cliName, byID: nil))
            database.print(events.isEmpty ? "\(account.username) was not banned" : "\(account.username) is no longer banned",
                           json: ["username": account.username, "lifted": !events.isEmpty])
        }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
