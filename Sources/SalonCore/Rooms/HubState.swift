import SalonProtocol

/// A registered user as the directory knows it.
struct DirectoryEntry: Sendable {
    var id: Int64
    var username: String
    var role: UserRole
}

/// A room in memory: its members by id (registered members are also stored; guests, but a
/// guest owner, only live here) and which of them are online now, kept up to date so that
/// fan-out walks only the online.
struct RoomState: Sendable {
    var id: Int64
    var name: String
    var topic: String
    var isPrivate: Bool
    var members = RoomMembers()
    var onlineMembers: Set<Int64> = []
    /// The online members' connections, by lane: what a message to the room is written to.
    var audience = RoomAudience()
    var lastMessageID: Int64 = 0

    init(record: RoomRecord) {
        self.id = record.id
        self.name = record.name
        self.topic = record.topic
        self.isPrivate = record.isPrivate
        self.lastMessageID = record.lastMessageID
    }
}

/// A user with at least one open connection.
struct OnlineUser: Sendable {
    var user: SessionUser
    var connections: [Connection]
    /// A guest's membership history (for its `sync`): a guest's memberships are not stored.
    var periods: [MembershipPeriod] = []
}

/// Everything the server holds in memory, behind one lock (`Hub`): a cache of the database,
/// kept in step with it by applying every committed change in `seq` order. Each method is a
/// short, synchronous step: handlers do their storage I/O outside the lock.
///
/// People are their ids; names are attributes (`names`), and `onlineKeys` tells who holds a
/// name among those connected.
struct HubState: Sendable {
    static let general = Limits.generalRoom

    var directory: [String: DirectoryEntry] = [:]
    /// Display names by id, of everyone who is online or a member of a room.
    var names: [Int64: String] = [:]
    /// The ids of bots' accounts, so that member and user lists can say which are bots.
    var bots: Set<Int64> = []
    var online: [Int64: OnlineUser] = [:]
    /// The id of the connected person holding each name key.
    var onlineKeys: [String: Int64] = [:]
    var rooms: [String: RoomState] = [:]
    var roomNames: [Int64: String] = [:]
    /// Room names by member id: the inverse of `RoomState.members`.
    var memberships: [Int64: Set<String>] = [:]
    /// People online on other nodes only (`HubState+Remote`).
    var remote: [Int64: RemoteUser] = [:]
    /// Names being registered right now, so that a guest cannot take one meanwhile.
    var pendingRegistrations: Set<String> = []
    /// The keys of names in use (accounts, registrations under way, connected guests) by
    /// their `NameSkeleton`: a new name may not look like one of them.
    var skeletons: [String: Set<String>] = [:]
    /// Connections by the SHA-256 of the token they logged in with: `logout` ends them all.
    var tokenConnections: [String: [Connection]] = [:]
    /// The newest `seq` applied here: every event up to it has been fanned out, every later
    /// one will be, to whoever is attached when it is.
    var appliedSeq: Int64 = 0
    /// Bans and mutes, as stored (`sanctions`): those that ran out stay until their end is
    /// committed, but no longer hold (`sanction(_:…)`).
    var sanctions: [SanctionKey: Sanction] = [:]

    // MARK: Names

    func displayName(_ id: Int64) -> String {
        names[id] ?? online[id]?.user.username ?? "#\(id)"
    }

    /// A person as user lists show them: name, server role, online, bot.
    func userInfo(_ id: Int64) -> MemberInfo {
        let name = displayName(id)
        let role = online[id]?.user.role ?? directory[UserKey.of(name)].flatMap { $0.id == id ? $0.role : nil } ?? .guest
        return MemberInfo(username: name, role: role.rawValue, online: isOnline(id), bot: botMark(id))
    }

    /// An account, into the directory (at start, at registration, or when another node
    /// registered it and it is first named here).
    /// An account acting without a connection (an API call, a webhook's bot): known by
    /// name, and a member of `general` as at any login (an account made by `salon admin`
    /// while the server ran is a member there in the store, not yet here).
    mutating func noteCaller(_ user: SessionUser) {
        guard !user.isGuest else { return }
        if directory[user.key] == nil { directory[user.key] = DirectoryEntry(id: user.id, username: user.username, role: user.role) }
        names[user.id] = user.username
        if user.isBot { bots.insert(user.id) }
        if !isMember(user.id, of: Self.general) { addMember(user.id, name: user.username, to: Self.general, role: .member) }
    }

    /// A list entry's `bot`: true for a bot's account, absent (nil) for everyone else.
    func botMark(_ id: Int64) -> Bool? {
        bots.contains(id) ? true : nil
    }

    mutating func learn(_ record: UserRecord) {
        directory[record.key] = DirectoryEntry(id: record.id, username: record.username, role: record.role)
        names[record.id] = record.username
        if record.isBot { bots.insert(record.id) }
    }

    /// The server role of a signed-in user as it is now (a role change applies at once, to
    /// open connections too): a session keeps the role it logged in with.
    func serverRole(of user: SessionUser) -> UserRole {
        guard !user.isGuest else { return .guest }
        return directory[user.key].flatMap { $0.id == user.id ? $0.role : nil } ?? user.role
    }

    /// An account's new server role, in the directory and on its open connections.
    mutating func setRole(of id: Int64, key: String, to role: UserRole) {
        directory[key]?.role = role
        online[id]?.user.role = role
    }

    /// Whether a name is in use: a registered account, a registration under way, or someone
    /// connected (a guest).
    func isNameTaken(_ key: String) -> Bool {
        directory[key] != nil || pendingRegistrations.contains(key) || onlineKeys[key] != nil
    }

    /// The name in use that `name` looks like (same skeleton, other key), if any.
    func lookAlike(of name: String) -> String? {
        let key = UserKey.of(name)
        guard let keys = skeletons[NameSkeleton.of(name)] else { return nil }
        return keys.first { $0 != key }.map { other in
            directory[other]?.username ?? onlineKeys[other].map(displayName) ?? other
        }
    }

    mutating func addSkeleton(_ name: String) {
        skeletons[NameSkeleton.of(name), default: []].insert(UserKey.of(name))
    }

    mutating func removeSkeleton(_ name: String) {
        let skeleton = NameSkeleton.of(name)
        skeletons[skeleton]?.remove(UserKey.of(name))
        if skeletons[skeleton]?.isEmpty == true { skeletons[skeleton] = nil }
    }

    /// The person who holds a name now: an account, or a connected guest.
    func person(named key: String) -> (id: Int64, username: String, isGuest: Bool)? {
        if let entry = directory[key] { return (entry.id, entry.username, false) }
        if let id = onlineKeys[key], let user = online[id]?.user { return (id, user.username, user.isGuest) }
        return nil
    }

    // MARK: Rooms and membership

    mutating func addRoom(_ record: RoomRecord) {
        rooms[record.name] = RoomState(record: record)
        roomNames[record.id] = record.name
    }

    /// A room deleted: gone from memory, and from its members' memberships.
    mutating func removeRoom(_ name: String) {
        guard let room = rooms.removeValue(forKey: name) else { return }
        roomNames[room.id] = nil
        for id in room.members.ids { memberships[id]?.remove(name) }
    }

    func room(id: Int64) -> RoomState? {
        roomNames[id].flatMap { rooms[$0] }
    }

    mutating func addMember(_ id: Int64, name: String, to room: String, role: RoomRole) {
        guard rooms[room] != nil else { return }
        names[id] = names[id] ?? name
        let display = displayName(id)
        rooms[room]?.members.set(id, name: display, role: role)
        if let user = online[id] {
            rooms[room]?.onlineMembers.insert(id)
            for connection in user.connections { rooms[room]?.audience.insert(connection) }
        }
        memberships[id, default: []].insert(room)
    }

    mutating func removeMember(_ id: Int64, from room: String) {
        rooms[room]?.members.remove(id)
        rooms[room]?.onlineMembers.remove(id)
        for connection in online[id]?.connections ?? [] { rooms[room]?.audience.remove(connection) }
        memberships[id]?.remove(room)
    }

    func isMember(_ id: Int64, of room: String) -> Bool {
        rooms[room]?.members[id] != nil
    }

    /// A room as its members see it; with `viewer`, as that person sees it (`muted` there).
    func roomInfo(_ name: String, unread: Int?, viewer: Int64? = nil) -> RoomInfo? {
        guard let room = rooms[name] else { return nil }
        var info = RoomInfo(
            name: room.name, topic: room.topic, members: room.members.count, online: room.onlineMembers.count,
            private: room.isPrivate, unread: unread, lastMessageID: room.lastMessageID == 0 ? nil : room.lastMessageID
        )
        if let viewer { info.muted = sanction(.mute, of: viewer, in: room.id)?.restriction }
        return info
    }

    // MARK: Bans and mutes

    /// The ban or mute of `userID` in the room (nil: server-wide) that holds now, if any.
    func sanction(_ kind: SanctionKind, of userID: Int64, in roomID: Int64?, at now: Timestamp = .now()) -> Sanction? {
        sanctions[SanctionKey(kind: kind, userID: userID, roomID: roomID)].flatMap { $0.holds(at: now) ? $0 : nil }
    }

    /// Those whose time is up at `now` (their end is to be committed).
    func expiredSanctions(at now: Timestamp) -> [Sanction] {
        sanctions.values.filter { !$0.holds(at: now) }
    }

    // MARK: Connections

    /// Adds a connection for `user`; true when it is the user's first (the user comes online).
    /// Everyone is a member of `general` (a guest from now: its period starts here).
    mutating func attach(_ connection: Connection, as user: SessionUser) -> Bool {
        if online[user.id] != nil {
            online[user.id]?.connections.append(connection)
            for room in memberships[user.id] ?? [] {
                rooms[room]?.audience.insert(connection)
            }
            return false
        }
        online[user.id] = OnlineUser(user: user, connections: [connection])
        onlineKeys[user.key] = user.id
        names[user.id] = user.username
        if user.isGuest { addSkeleton(user.username) }
        if !isMember(user.id, of: Self.general) {
            addMember(user.id, name: user.username, to: Self.general, role: .member)
            if user.isGuest, let general = rooms[Self.general] {
                online[user.id]?.periods.append(MembershipPeriod(roomID: general.id, from: appliedSeq, to: nil))
            }
        }
        for room in memberships[user.id] ?? [] {
            rooms[room]?.onlineMembers.insert(user.id)
            rooms[room]?.audience.insert(connection)
        }
        return true
    }

    /// Removes a connection; returns the user when that was its last one (the user goes
    /// offline). A guest's memberships end with its last connection, but the rooms it owns:
    /// those keep their owner.
    mutating func detach(_ connection: Connection, id: Int64) -> SessionUser? {
        guard var entry = online[id] else { return nil }
        entry.connections.removeAll { $0 == connection }
        for room in memberships[id] ?? [] {
            rooms[room]?.audience.remove(connection)
        }
        guard entry.connections.isEmpty else {
            online[id] = entry
            return nil
        }
        online[id] = nil
        if onlineKeys[entry.user.key] == id { onlineKeys[entry.user.key] = nil }
        // Still online on another node: still online here, in every room.
        guard remote[id] == nil else { return entry.user }
        for room in memberships[id] ?? [] {
            rooms[room]?.onlineMembers.remove(id)
        }
        if entry.user.isGuest {
            removeSkeleton(entry.user.username)
            for room in memberships[id] ?? [] where rooms[room]?.members[id] != .owner {
                rooms[room]?.members.remove(id)
                memberships[id]?.remove(room)
            }
            if memberships[id]?.isEmpty ?? true {
                memberships[id] = nil
                names[id] = nil
            }
        }
        return entry.user
    }

    /// A guest's membership history changes with its joins and leaves.
    mutating func notePeriod(of id: Int64, roomID: Int64, joined: Int64?, left: Int64?) {
        guard online[id]?.user.isGuest == true else { return }
        if let joined { online[id]?.periods.append(MembershipPeriod(roomID: roomID, from: joined, to: nil)) }
        if let left, let index = online[id]?.periods.lastIndex(where: { $0.roomID == roomID && $0.to == nil }) {
            online[id]?.periods[index].to = left
        }
    }

    func connections(of id: Int64) -> [Connection] {
        online[id]?.connections ?? []
    }

    /// Connections of the room's online members, but those of the person `excluding` (the
    /// one a notice or a typing push is about).
    func connections(ofRoom name: String, excluding: Int64? = nil) -> [Connection] {
        guard let room = rooms[name] else { return [] }
        var out: [Connection] = []
        out.reserveCapacity(room.onlineMembers.count)
        for id in room.onlineMembers where id != excluding {
            out.append(contentsOf: online[id]?.connections ?? [])
        }
        return out
    }

    /// Connections of everyone online who shares a room of at most `roomLimit` members with
    /// `id` (not `id` itself): larger rooms carry no presence (`ChatConfiguration`).
    func presenceAudience(of id: Int64, roomLimit: Int) -> [Connection] {
        var seen: Set<Int64> = [id]
        var out: [Connection] = []
        for name in memberships[id] ?? [] {
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
