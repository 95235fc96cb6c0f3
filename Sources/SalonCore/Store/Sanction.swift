import SalonProtocol

/// What a moderator can hold against someone (PROTOCOL.md §7).
public enum SanctionKind: String, Sendable, Hashable {
    /// Out of a room (`login` or `join_room` answer `banned`), or of the whole server.
    case ban
    /// In a room, reading but not sending (`send_message` answers `muted`).
    case mute
}

/// Which ban or mute: one of each kind per person and room (`roomID` nil: the whole server).
public struct SanctionKey: Sendable, Hashable {
    public var kind: SanctionKind
    public var userID: Int64
    public var roomID: Int64?
    public init(kind: SanctionKind, userID: Int64, roomID: Int64?) {
        self.kind = kind
        self.userID = userID
        self.roomID = roomID
    }
}

/// A ban or a mute, kept in the database until lifted or until `until`, so that it survives
/// a restart; its end, lifted or run out, is an event like its start.
public struct Sanction: Sendable, Equatable {
    public var kind: SanctionKind
    public var user: Actor
    public var roomID: Int64?
    public var by: String?
    public var reason: String?
    /// When it ends by itself (nil: when lifted).
    public var until: Timestamp?
    public var createdAt: Timestamp

    public init(kind: SanctionKind, user: Actor, roomID: Int64?, by: String?, reason: String?, until: Timestamp?, createdAt: Timestamp) {
        self.kind = kind
        self.user = user
        self.roomID = roomID
        self.by = by
        self.reason = reason
        self.until = until
        self.createdAt = createdAt
    }

    public var key: SanctionKey { SanctionKey(kind: kind, userID: user.id, roomID: roomID) }

    /// Whether it still holds at `now` (one that ran out holds no more, even before the event
    /// that says so is committed).
    public func holds(at now: Timestamp) -> Bool {
        until.map { now < $0 } ?? true
    }

    /// As its subject is told of it.
    public var restriction: Restriction { Restriction(by: by, reason: reason, until: until) }
}

/// One line of the moderation log (PROTOCOL.md §7), written in the transaction of the change it
/// records; its `seq` is the change's first event's. Kept when the room is deleted (admins see
/// it; the room's id is never reused, so a new room of the name starts with an empty log).
public struct ModerationEntry: Sendable, Equatable {
    /// `kick`, `ban`, `unban`, `mute`, `unmute`, `set_room_role`, `set_role`, `delete_room`,
    /// `set_topic`.
    public var action: String
    /// Who acted (nil: the server, for a ban or mute that ran out, or `salon admin`).
    public var by: String?
    public var username: String
    public var roomID: Int64?
    public var room: String?
    public var reason: String?
    public var durationSeconds: Int64?
    /// `set_role`, `set_room_role`: the role given.
    public var role: String?

    public init(action: String, by: String?, username: String, roomID: Int64?, room: String?, reason: String? = nil, durationSeconds: Int64? = nil, role: String? = nil) {
        self.role = role
        self.action = action
        self.by = by
        self.username = username
        self.roomID = roomID
        self.room = room
        self.reason = reason
        self.durationSeconds = durationSeconds
    }
}

/// A stored line of the moderation log.
public struct ModerationRecord: Sendable, Equatable {
    public var seq: Int64
    public var entry: ModerationEntry
    public var createdAt: Timestamp
    public init(seq: Int64, entry: ModerationEntry, createdAt: Timestamp) {
        self.seq = seq
        self.entry = entry
        self.createdAt = createdAt
    }

    public var wire: ModerationLogEntry {
        ModerationLogEntry(seq: seq, action: entry.action, by: entry.by, username: entry.username, room: entry.room,
                           reason: entry.reason, durationSeconds: entry.durationSeconds, role: entry.role, timestamp: createdAt)
    }
}

/// An account as `salon admin users` lists it.
public struct AccountSummary: Sendable, Equatable {
    public var id: Int64
    public var username: String
    public var role: UserRole
    public var createdAt: Timestamp
    /// The last login or use of a token (nil: never since this was recorded).
    public var lastSeen: Timestamp?
    public init(id: Int64, username: String, role: UserRole, createdAt: Timestamp, lastSeen: Timestamp?) {
        self.id = id
        self.username = username
        self.role = role
        self.createdAt = createdAt
        self.lastSeen = lastSeen
    }
}
