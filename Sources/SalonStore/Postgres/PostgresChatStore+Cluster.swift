import PostgresNIO
import SalonCore
import SalonProtocol

/// `ClusterState` on PostgreSQL: tables `nodes` (each node's last beat) and `online` (who is
/// online on which node; a guest's name unique across nodes by a partial unique index), and
/// the channel `salon_notices` for what is never stored (presence changes, typing).
extension PostgresChatStore: ClusterState {
    public var cluster: (any ClusterState)? { self }

    /// Who is online is not worth an fsync: after a crash of the database it is rebuilt as
    /// people connect, and a lost row is at worst someone shown online until their node's
    /// next change (a commit then waits for nothing but the server's memory).
    static let ephemeral = "SET LOCAL synchronous_commit = off"

    public func online(node: String, user: Actor, key: String, at: Timestamp) async throws -> Bool {
        try await transaction { tx -> Bool in
            try await tx.run(Self.ephemeral)
            // DO NOTHING, not an update: an update would lock the node's row, and every login
            // on the node would wait for the one before (the beat keeps `seen_at`).
            try await tx.run("INSERT INTO nodes (name, seen_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [.text(node), .int(at.milliseconds)])
            if user.isGuest {
                // A guest of this name that left this node a moment ago (its row goes in the
                // node's own time): this node knows it is not here any more.
                try await tx.run("DELETE FROM online WHERE node = $1 AND username_key = $2 AND is_guest AND user_id <> $3",
                                 [.text(node), .text(key), .int(user.id)])
            }
            try await tx.run("""
                INSERT INTO online (node, user_id, username, username_key, is_guest) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING
                """, [.text(node), .int(user.id), .text(user.username), .text(key), .bool(user.isGuest)])
            return try await !tx.run("SELECT 1 FROM online WHERE node = $1 AND user_id = $2", [.text(node), .int(user.id)]).isEmpty
        }
    }

    public func offline(node: String, userID: Int64, aliveSince: Timestamp) async throws -> Bool {
        try await transaction { tx in
            try await tx.run(Self.ephemeral)
            try await tx.run("DELETE FROM online WHERE node = $1 AND user_id = $2", [.text(node), .int(userID)])
        }
        return try await !read("""
            SELECT 1 FROM online o JOIN nodes n ON n.name = o.node WHERE o.user_id = $1 AND o.node <> $2 AND n.seen_at >= $3 LIMIT 1
            """, [.int(userID), .text(node), .int(aliveSince.milliseconds)]).isEmpty
    }

    public func onlineElsewhere(node: String, aliveSince: Timestamp) async throws -> [(user: Actor, node: String)] {
        try await read("""
            SELECT o.node AS node, o.user_id AS user_id, o.username AS username, o.is_guest AS is_guest
            FROM online o JOIN nodes n ON n.name = o.node WHERE o.node <> $1 AND n.seen_at >= $2
            """, [.text(node), .int(aliveSince.milliseconds)]).compactMap(Self.onlineRow)
    }

    public func heartbeat(node: String, now: Timestamp, deadline: Timestamp) async throws -> [(user: Actor, node: String)] {
        try await transaction { tx -> [(user: Actor, node: String)] in
            try await tx.run(Self.ephemeral)
            try await tx.run("""
                INSERT INTO nodes (name, seen_at) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at
                """, [.text(node), .int(now.milliseconds)])
            // Whoever removes a dead node's rows tells the others (DELETE … RETURNING hands
            // each row to one node only).
            let gone = try await tx.run("""
                DELETE FROM online WHERE node IN (SELECT name FROM nodes WHERE seen_at < $1 AND name <> $2)
                RETURNING node, user_id, username, is_guest
                """, [.int(deadline.milliseconds), .text(node)]).compactMap(Self.onlineRow)
            try await tx.run("DELETE FROM nodes WHERE seen_at < $1 AND name <> $2", [.int(deadline.milliseconds), .text(node)])
            return gone
        }
    }

    public func forget(node: String) async throws -> [Actor] {
        try await read("DELETE FROM online WHERE node = $1 RETURNING node, user_id, username, is_guest", [.text(node)])
            .compactMap(Self.onlineRow).map(\.user)
    }

    public func takeLoginToken(account: String, burst: Double, refill: Double, at: Timestamp) async throws -> Int? {
        // The bucket refilled since its last use, then one token taken if there is one; the
        // row lock makes two nodes' checks of one account take turns.
        try await transaction { tx -> Int? in
            let now = at.milliseconds
            let row = try await tx.run("""
                INSERT INTO login_buckets (account, tokens, at) VALUES ($1, $2, $3)
                ON CONFLICT (account) DO UPDATE SET
                    tokens = LEAST($2, login_buckets.tokens + GREATEST(0, $3 - login_buckets.at) / $4), at = GREATEST(login_buckets.at, $3)
                RETURNING tokens
                """, [.text(account), .double(burst), .int(now), .double(refill)]).first
            let tokens = row?.double("tokens") ?? 0
            guard tokens >= 1 else { return max(1, Int(((1 - tokens) * refill / 1000).rounded(.up))) }
            try await tx.run("UPDATE login_buckets SET tokens = tokens - 1 WHERE account = $1", [.text(account)])
            return nil
        }
    }

    public func giveBackLoginToken(account: String, burst: Double) async throws {
        _ = try await read("UPDATE login_buckets SET tokens = LEAST($2, tokens + 1) WHERE account = $1", [.text(account), .double(burst)])
    }

    public func publish(_ notice: String) async throws {
        _ = try await read("SELECT pg_notify('salon_notices', $1)", [.text(notice)])
    }

    public func notices() -> AsyncStream<String> {
        listen(on: "salon_notices", onConnect: { _ in nil })
    }

    private static func onlineRow(_ row: PGRow) -> (user: Actor, node: String)? {
        guard let node = row.text("node"), let id = row.int("user_id"), let name = row.text("username") else { return nil }
        return (Actor(id: id, username: name, isGuest: row.flag("is_guest") ?? false), node)
    }
}
