import SalonProtocol

/// Bans and mutes (PROTOCOL.md §7), and the moderation log. Who may call each is in the action
/// table; the rank rule on the target is checked here. A ban or mute is stored with its end
/// time, so it survives a restart; its end, lifted or run out (`liftExpired`), is an event like
/// its start, and every act has its line in the moderation log, written in the same
/// transaction.
extension Router {
    /// The longest ban or mute with a duration: ten years (none: until lifted).
    static let longestSanction: Int64 = 315_360_000

    /// A reason as given, trimmed (none when empty): the bounds of a topic.
    static func reason(_ raw: String?) throws -> String? {
        guard let raw else { return nil }
        let reason = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        try checkTopic(reason)
        try checkNoControl(reason, field: "reason")
        return reason.isEmpty ? nil : reason
    }

    /// `duration_seconds`: 1 second to ten years, or none.
    static func until(_ seconds: Int64?, from now: Timestamp) throws -> Timestamp? {
        guard let seconds else { return nil }
        guard seconds >= 1, seconds <= longestSanction else {
            throw ProtocolError(.invalidField, "'duration_seconds' is 1 to \(longestSanction) (ten years), or absent for no end")
        }
        return Timestamp(milliseconds: now.milliseconds + seconds * 1000)
    }

    /// " until 2026-12-02 10:00 UTC: reason", for the `message` of `banned` and `muted`.
    static func terms(_ sanction: Sanction) -> String {
        var out = sanction.until.map { " until \($0.readableUTC)" } ?? ""
        if let reason = sanction.reason { out += ": \(reason)" }
        return out
    }

    /// `login` of a banned account: `banned` (after the password or token was checked).
    func checkNotBanned(_ userID: Int64) throws {
        if let ban = hub.withState({ $0.sanction(.ban, of: userID, in: nil) }) {
            throw ProtocolError(.banned, "you are banned from this server" + Self.terms(ban))
        }
    }

    /// The person a ban names in a room: a member, or an account that is not one (a ban may
    /// come first). An admin outranks everyone in a room.
    func banTarget(_ username: String, in room: RoomState) async throws -> ModerationTarget {
        let key = UserKey.of(username)
        try await learnAccount(key)
        return try hub.withState { s in
            guard let person = s.person(named: key) else { throw ProtocolError(.userNotFound, "no user named '\(username)'") }
            let role = s.rooms[room.name]?.members[person.id]
            if role == nil && person.isGuest { throw ProtocolError(.notMember, "\(person.username) is not in #\(room.name)") }
            let admin = !person.isGuest && s.directory[key]?.role == .admin
            return ModerationTarget(actor: Actor(id: person.id, username: person.username, isGuest: person.isGuest),
                                    rank: admin ? .admin : role.map(Rank.init) ?? .member)
        }
    }

    /// `ban`: with `room`, the room's owner, moderators and admins keep someone of lower rank
    /// out of it (removed at once if a member: `banned` and `room_updated` with `removed`; the
    /// members get `system` `ban`); without, an admin keeps an account out of the server (its
    /// connections get `banned` and close; `login` answers `banned`).
    func ban(_ p: BanRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess?) async throws -> EmptyPayload {
        let reason = try Self.reason(p.reason)
        let now = Timestamp.now()
        let until = try Self.until(p.durationSeconds, from: now)
        guard let access else { return try await serverBan(p.username, reason: reason, until: until, duration: p.durationSeconds, by: user, session) }
        let room = access.room
        guard room.name != HubState.general else {
            throw ProtocolError(.forbidden, "nobody is kept out of #general: a server ban keeps someone out of the server")
        }
        let target = try await banTarget(p.username, in: room)
        try Self.checkOutranks(access, target, doing: "ban")
        let who = target.actor
        let isMember = hub.withState { $0.isMember(who.id, of: room.name) }
        var info = hub.withState { $0.roomInfo(room.name, unread: nil) }
            ?? RoomInfo(name: room.name, topic: room.topic, members: 1, online: 1, private: room.isPrivate, unread: nil, lastMessageID: nil)
        if isMember {
            info.members = max(0, info.members - 1)
            info.online = max(0, info.online - (hub.withState { $0.online[who.id] != nil } ? 1 : 0))
        }
        let text = "\(who.username) was banned from #\(room.name) by \(user.username)"
            + (until.map { " until \($0.readableUTC)" } ?? "") + (reason.map { ": \($0)" } ?? "")
        var events = [EventDraft(type: .banned, scope: .users, roomID: room.id, userID: who.id, actorID: user.id,
                                 data: Self.eventData(RemovedPush(room: room.name, by: user.username, reason: reason, until: until)))]
        if isMember {
            events.append(EventDraft(type: .roomUpdated, scope: .users, roomID: room.id, userID: who.id, actorID: user.id,
                                     data: Self.eventData(RoomUpdatedPush(room: info, removed: true))))
        }
        events.append(EventDraft(type: .system, scope: .room, roomID: room.id, userID: who.id, actorID: user.id,
                                 data: Self.eventData(SystemPush(room: room.name, event: "ban", username: who.username, text: text, reason: reason, until: until))))
        let sanction = Sanction(kind: .ban, user: who, roomID: room.id, by: user.username, reason: reason, until: until, createdAt: now)
        let entry = ModerationEntry(action: "ban", by: user.username, username: who.username, roomID: room.id, room: room.name,
                                    reason: reason, durationSeconds: p.durationSeconds)
        let (name, roomID) = (room.name, room.id)
        _ = try await log.commit(.logged(.sanction(sanction, events: events), entry), origin: session.connection) { s, events in
            guard let first = events.first else { return }
            s.sanctions[sanction.key] = sanction
            if s.isMember(who.id, of: name) {
                s.removeMember(who.id, from: name)
                s.notePeriod(of: who.id, roomID: roomID, joined: nil, left: first.seq)
            }
        }
        logger.info("\(user.username) banned \(who.username) from #\(name)")
        return EmptyPayload()
    }

    /// A server ban (admins): an account, not an admin.
    private func serverBan(_ username: String, reason: String?, until: Timestamp?, duration: Int64?, by user: SessionUser, _ session: Session) async throws -> EmptyPayload {
        let key = UserKey.of(username)
        try await learnAccount(key)
        guard let entry = hub.withState({ $0.directory[key] }) else {
            throw ProtocolError(.userNotFound, "no account named '\(username)' (a server ban is for accounts; a guest is kicked or banned from rooms)")
        }
        guard entry.role != .admin else {
            throw ProtocolError(.forbidden, "\(entry.username) is an admin: their rank is not below yours")
        }
        let who = Actor(id: entry.id, username: entry.username, isGuest: false)
        let sanction = Sanction(kind: .ban, user: who, roomID: nil, by: user.username, reason: reason, until: until, createdAt: .now())
        let change = AdminChanges.serverBan(who, by: user.username, byID: user.id, reason: reason, until: until, durationSeconds: duration, at: sanction.createdAt)
        _ = try await log.commit(change, origin: session.connection) { s, events in
            if !events.isEmpty { s.sanctions[sanction.key] = sanction }
        }
        logger.info("\(user.username) banned \(who.username) from the server")
        return EmptyPayload()
    }

    /// `unban`: the ban ends now (nothing happens when there is none). The person is told
    /// (`system` `unban`); a room's moderators see it in the moderation log.
    func unban(_ p: BanRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess?) async throws -> EmptyPayload {
        let key = UserKey.of(p.username)
        try await learnAccount(key)
        guard let person = hub.withState({ $0.person(named: key) }) else {
            throw ProtocolError(.userNotFound, "no user named '\(p.username)'")
        }
        let who = Actor(id: person.id, username: person.username, isGuest: person.isGuest)
        let room = access?.room
        if let access, let room {
            let admin = !who.isGuest && hub.withState { $0.directory[key]?.role == .admin }
            let rank = admin ? Rank.admin : hub.withState { $0.rooms[room.name]?.members[who.id] }.map(Rank.init) ?? .member
            try Self.checkOutranks(access, ModerationTarget(actor: who, rank: rank), doing: "unban")
        }
        let sanctionKey = SanctionKey(kind: .ban, userID: who.id, roomID: room?.id)
        guard hub.withState({ $0.sanctions[sanctionKey] != nil }) else { return EmptyPayload() }
        try await lift(sanctionKey, who: who, room: room.map { ($0.id, $0.name) }, by: user, endingBy: nil, origin: session.connection)
        return EmptyPayload()
    }

    /// `mute`: a member of lower rank stays in the room and reads, but its `send_message` there
    /// is `muted`. The members get `system` `mute` (with `reason` and `until`).
    func mute(_ p: MuteRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> EmptyPayload {
        let reason = try Self.reason(p.reason)
        let now = Timestamp.now()
        let until = try Self.until(p.durationSeconds, from: now)
        let room = access.room
        let target = try target(p.username, in: room)
        try Self.checkOutranks(access, target, doing: "mute")
        let who = target.actor
        let text = "\(who.username) was muted in #\(room.name) by \(user.username)"
            + (until.map { " until \($0.readableUTC)" } ?? "") + (reason.map { ": \($0)" } ?? "")
        let event = EventDraft(type: .system, scope: .room, roomID: room.id, userID: who.id, actorID: user.id,
                               data: Self.eventData(SystemPush(room: room.name, event: "mute", username: who.username, text: text, reason: reason, until: until)))
        let sanction = Sanction(kind: .mute, user: who, roomID: room.id, by: user.username, reason: reason, until: until, createdAt: now)
        let entry = ModerationEntry(action: "mute", by: user.username, username: who.username, roomID: room.id, room: room.name,
                                    reason: reason, durationSeconds: p.durationSeconds)
        _ = try await log.commit(.logged(.sanction(sanction, events: [event]), entry), origin: session.connection) { s, events in
            if !events.isEmpty { s.sanctions[sanction.key] = sanction }
        }
        return EmptyPayload()
    }

    /// `unmute`: the mute ends now (nothing happens when there is none); the members get
    /// `system` `unmute`.
    func unmute(_ p: MuteRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> EmptyPayload {
        let room = access.room
        let key = UserKey.of(p.username)
        guard let person = hub.withState({ $0.person(named: key) }) else {
            throw ProtocolError(.userNotFound, "no user named '\(p.username)'")
        }
        let who = Actor(id: person.id, username: person.username, isGuest: person.isGuest)
        let admin = !who.isGuest && hub.withState { $0.directory[key]?.role == .admin }
        let rank = admin ? Rank.admin : hub.withState { $0.rooms[room.name]?.members[who.id] }.map(Rank.init) ?? .member
        try Self.checkOutranks(access, ModerationTarget(actor: who, rank: rank), doing: "unmute")
        let sanctionKey = SanctionKey(kind: .mute, userID: who.id, roomID: room.id)
        guard hub.withState({ $0.sanctions[sanctionKey] != nil }) else { return EmptyPayload() }
        try await lift(sanctionKey, who: who, room: (room.id, room.name), by: user, endingBy: nil, origin: session.connection)
        return EmptyPayload()
    }

    /// Ends a ban or a mute: lifted by `by`, or run out (`by` nil, `endingBy` the time: the
    /// store ends it only if it still ends by then, so that of several nodes one commits it).
    /// A ban's end goes to the person (`system` `unban`), a mute's to the room (`unmute`).
    func lift(_ key: SanctionKey, who: Actor, room: (id: Int64, name: String)?, by: SessionUser?, endingBy: Timestamp?, origin: Connection?) async throws {
        let action = key.kind == .ban ? "unban" : "unmute"
        let place = room.map { " in #\($0.name)" } ?? " on this server"
        let text: String
        switch (key.kind, by) {
        case (.ban, let by?): text = "\(by.username) lifted the ban on \(who.username)\(place)"
        case (.ban, nil): text = "the ban on \(who.username)\(place) ended"
        case (.mute, let by?): text = "\(by.username) unmuted \(who.username)\(place)"
        case (.mute, nil): text = "\(who.username)'s mute\(place) ended"
        }
        let push = Self.eventData(SystemPush(room: room?.name, event: action, username: who.username, text: text))
        let event = key.kind == .ban
            ? EventDraft(type: .system, scope: .users, roomID: room?.id, userID: who.id, actorID: by?.id, data: push)
            : EventDraft(type: .system, scope: .room, roomID: room?.id, userID: who.id, actorID: by?.id, data: push)
        let entry = ModerationEntry(action: action, by: by?.username, username: who.username, roomID: room?.id, room: room?.name,
                                    reason: by == nil ? "its time ran out" : nil)
        let ended = hub.withState { $0.sanctions[key]?.until }
        _ = try await log.commit(.logged(.lift(key, endingBy: endingBy, events: [event]), entry), origin: origin) { s, events in
            // Nothing committed when run out: another node ended it first (its event removes
            // it too), or it was renewed meanwhile (kept: its end moved).
            if !events.isEmpty || (endingBy != nil && s.sanctions[key]?.until == ended) { s.sanctions[key] = nil }
        }
    }

    /// Commits the end of every ban and mute whose time is up (every second, from `run`).
    func liftExpired(now: Timestamp = .now()) async {
        let expired = hub.withState { s in
            s.expiredSanctions(at: now).map { sanction in
                (sanction, sanction.roomID.flatMap { id in s.roomNames[id].map { (id, $0) } })
            }
        }
        for (sanction, room) in expired {
            if sanction.roomID != nil && room == nil {
                hub.withState { $0.sanctions[sanction.key] = nil }  // its room is gone, and the row with it
                continue
            }
            do {
                try await lift(sanction.key, who: sanction.user, room: room, by: nil, endingBy: now, origin: nil)
            } catch {
                logger.warning("could not end a \(sanction.kind.rawValue) of \(sanction.user.username): \(error)")
            }
        }
    }

    /// `moderation_log`: a room's (its owner and moderators, admins), or the whole server's
    /// (admins), newest first.
    func moderationLog(_ p: ModerationLogRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess?) async throws -> ModerationLogReply {
        let limit = min(p.limit ?? Limits.searchDefault, Limits.searchPage)
        guard limit >= 1 else { throw ProtocolError(.invalidField, "'limit' must be at least 1") }
        let records = try await store.moderationLog(roomID: access?.room.id, before: p.before, limit: limit)
        return ModerationLogReply(entries: records.map(\.wire))
    }
}

extension Router {
    /// The bans from room `name` that hold now, oldest first, for `viewer`: as
    /// `moderation_log`, only its owner and moderators and the admins see them (an empty list
    /// for anyone else); nil for no such room. For the IRC gateway's ban list (`MODE #room b`).
    public func roomBans(_ name: String, viewer: String) -> [Sanction]? {
        let now = Timestamp.now()
        return hub.withState { s in
            guard let room = s.rooms[name] else { return nil }
            guard let person = s.person(named: UserKey.of(viewer)) else { return [] }
            let admin = s.online[person.id]?.user.role == .admin
            guard admin || room.members[person.id].map(Rank.init).map({ $0 >= .moderator }) == true else { return [] }
            return s.sanctions.values
                .filter { $0.kind == .ban && $0.roomID == room.id && $0.holds(at: now) }
                .sorted { $0.createdAt < $1.createdAt }
        }
    }
}
