import SalonProtocol

/// What nodes sharing one database tell each other besides the event log: who is online on
/// which node (presence across nodes, guest names unique across nodes) and short notices
/// (presence changes, typing) that are never stored. A store that one process uses alone
/// (SQLite) has none.
///
/// A node is alive while it beats (`heartbeat`); one silent past the deadline is removed by
/// whichever node notices first, with everyone who was online only there.
public protocol ClusterState: Sendable {
    /// Notes `user` online on `node`. For a guest this claims its name across the cluster:
    /// false when a guest of another id holds the name on another node (on `node` itself, the
    /// caller has checked that nobody holds it: an older claim there is taken over).
    func online(node: String, user: Actor, key: String, at: Timestamp) async throws -> Bool
    /// The user's last connection on `node` closed; returns whether the user is still online
    /// on another node that is alive (since `aliveSince`).
    func offline(node: String, userID: Int64, aliveSince: Timestamp) async throws -> Bool
    /// Everyone online on the other nodes alive since `aliveSince`, with those nodes.
    func onlineElsewhere(node: String, aliveSince: Timestamp) async throws -> [(user: Actor, node: String)]
    /// `node` is alive at `now`; nodes silent since `deadline` are removed, and the people
    /// who were online on them are returned with them (the caller tells everyone).
    func heartbeat(node: String, now: Timestamp, deadline: Timestamp) async throws -> [(user: Actor, node: String)]
    /// Forgets what `node` noted before (a restart under the same name).
    func forget(node: String) async throws -> [Actor]
    /// Takes a token from the account's bucket of failed-login allowances, shared by all
    /// nodes (`burst` tokens, one more every `refill` ms): nil when one was taken, or the
    /// seconds until the next one.
    func takeLoginToken(account: String, burst: Double, refill: Double, at: Timestamp) async throws -> Int?
    /// The check did not fail: the token goes back.
    func giveBackLoginToken(account: String, burst: Double) async throws
    /// A notice to the other nodes (a few hundred bytes at most).
    func publish(_ notice: String) async throws
    /// The notices of all nodes (this one's too: the caller skips its own).
    func notices() -> AsyncStream<String>
}
