import SalonProtocol

/// A registered user as the directory knows it.
struct DirectoryEntry: Sendable {
    var id: Int64
    var username: String
    var role: UserRole
}

/// A room in memory: its members (registered members are also stored; guests only live here)
/// and which of them are online now, kept up to date so that fan-out walks only the online.
struct RoomState: Sendable {
    var name: String
    var topic: String
    var isPrivate: Bool
    var members: [String: RoomRole] = [:]
    var onlineMembers: Set<String> = []
    /// The online members' connections, by lane: what a message to the room is written to.
    var audience = RoomAudience()
    var lastMessageID: Int64 = 0

    init(record: RoomRecord) {
        self.name = record.name
        self.topic = record.topic
        self.isPrivate = record.isPrivate
    }
}

/// A user with at least one open connection.
struct OnlineUser: Sendable {
    var user: SessionUser
    var connections: [Connection]
}

/// Everything the server holds in memory, behind one lock (`Hub`). Each method is a short,
/// synchronous step: handlers do their storage I/O outside the lock and then apply it here.
struct HubState: Sendable {
    static let general = "general"

    var directory: [String: DirectoryEntry] = [:]
    var online: [String: OnlineUser] = [:]
    var rooms: [String: RoomState] = [:]
    /// Room names by member key: the inverse of `RoomState.members`.
    var memberships: [String: Set<String>] = [:]
    /// Names being registered right now, so that a guest cannot take one meanwhile.
    var pendingRegistrations: Set<String> = []
    /// The keys of names in use (accounts, registrations under way, connected guests) by
    /// their `NameSkeleton`: a new name may not look like one of them.
    var skeletons: [String: Set<String>] = [:]
    /// Connections by the SHA-256 of the token they logged in with: `logout` ends them all.
    var tokenConnections: [String: [Connection]] = [:]

    // MARK: Names

    func displayName(_ key: String) -> String {
        directory[key]?.username ?? online[key]?.user.username ?? key
    }

    /// Whether a name is in use: a registered account, a registration under way, or someone
    /// connected (a guest).
    func isNameTaken(_ key: String) -> Bool {
        directory[key] != nil || pendingRegistrations.contains(key) || online[key] != nil
    }

    /// The name in use that `name` looks like (same skeleton, other key), if any.
    func lookAlike(of name: String) -> String? {
        let key = UserKey.of(name)
        guard let keys = skeletons[NameSkeleton.of(name)] else { return nil }
        return keys.first { $0 != key }.map(displayName)
    }

    mutating func addSkeleton(_ name: String) {
        skeletons[NameSkeleton.of(name), default: []].insert(UserKey.of(name))
    }

    mutating func removeSkeleton(_ name: String) {
        let skeleton = NameSkeleton.of(name)
        skeletons[skeleton]?.remove(UserKey.of(name))
        if skeletons[skeleton]?.isEmpty == true { skeletons[skeleton] = nil }
    }

    // MARK: Membership

    mutating func addMember(_ key: String, to room: String, role: RoomRole) {
        guard rooms[room] != nil else { return }
        rooms[room]?.members[key] = role
        if let user = online[key] {
            rooms[room]?.onlineMembers.insert(key)
            for connection in user.connections { rooms[room]?.audience.insert(connection) }
        }
        memberships[key, default: []].insert(room)
    }

    mutating func removeMember(_ key: String, from room: String) {
        rooms[room]?.members[key] = nil
        rooms[room]?.onlineMembers.remove(key)
        for connection in online[key]?.connections ?? [] { rooms[room]?.audience.remove(connection) }
        memberships[key]?.remove(room)
    }

    func isMember(_ key: String, of room: String) -> Bool {
        rooms[room]?.members[key] != nil
    }

    func roomInfo(_ name: String, unread: Int?) -> RoomInfo? {
        guard let room = rooms[name] else { return nil }
        return RoomInfo(
            name: room.name, topic: room.topic, members: room.members.count, online: room.onlineMembers.count,
            private: room.isPrivate, unread: unread, lastMessageID: room.lastMessageID == 0 ? nil : room.lastMessageID
        )
    }

    // MARK: Connections

    /// Adds a connection for `user`; true when it is the user's first (the user comes online).
    /// Everyone is a member of `general`.
    mutating func attach(_ connection: Connection, as user: SessionUser) -> Bool {
        if online[user.key] != nil {
            online[user.key]?.connections.append(connection)
            for room in memberships[user.key] ?? [] {
                rooms[room]?.audience.insert(connection)
            }
            return false
        }
        online[user.key] = OnlineUser(user: user, connections: [connection])
        if user.isGuest { addSkeleton(user.username) }
        if !isMember(user.key, of: Self.general) {
            addMember(user.key, to: Self.general, role: .member)
        }
        for room in memberships[user.key] ?? [] {
            rooms[room]?.onlineMembers.insert(user.key)
            rooms[room]?.audience.insert(connection)
        }
        return true
    }

    /// Removes a connection; returns the user when that was its last one (the user goes
    /// offline). A guest's memberships end with its last connection.
    mutating func detach(_ connection: Connection, key: String) -> SessionUser? {
        guard var entry = online[key] else { return nil }
        entry.connections.removeAll { $0 == connection }
        for room in memberships[key] ?? [] {
            rooms[room]?.audience.remove(connection)
        }
        guard entry.connections.isEmpty else {
            online[key] = entry
            return nil
        }
        online[key] = nil
        for room in memberships[key] ?? [] {
            rooms[room]?.onlineMembers.remove(key)
        }
        if entry.user.isGuest {
            removeSkeleton(entry.user.username)
            for room in memberships[key] ?? [] {
                rooms[room]?.members[key] = nil
            }
            memberships[key] = nil
        }
        return entry.user
    }

    func connections(of key: String) -> [Connection] {
        online[key]?.connections ?? []
    }

    /// The connections of the person with this name, if that person has this id.
    func connections(of key: String, id: Int64?) -> [Connection] {
        guard let entry = online[key], entry.user.id == id else { return [] }
        return entry.connections
    }

    /// Connections of the room's online members, but `excluding`.
    func connections(ofRoom name: String, excluding: Connection? = nil) -> [Connection] {
        guard let room = rooms[name] else { return [] }
        var out: [Connection] = []
        out.reserveCapacity(room.onlineMembers.count)
        for key in room.onlineMembers {
            for c in online[key]?.connections ?? [] where c != excluding {
                out.append(c)
            }
        }
        return out
    }

    /// Connections of everyone online who shares a room of at most `roomLimit` members with
    /// `key` (not `key` itself): larger rooms carry no presence (`ChatConfiguration`).
    func presenceAudience(of key: String, roomLimit: Int) -> [Connection] {
        var seen: Set<String> = [key]
        var out: [Connection] = []
        for name in memberships[key] ?? [] {
            guard let room = rooms[name], room.members.count <= roomLimit else { continue }
            for other in room.onlineMembers where seen.insert(other).inserted {
                out.append(contentsOf: online[other]?.connections ?? [])
            }
        }
        return out
    }

    /// Connections of everyone online.
    func allConnections() -> [Connection] {
        online.values.flatMap(\.connections)
    }
}
