import SalonProtocol

/// Moderation (PROTOCOL.md §7): room roles and kicks. Who may call each is in the action table
/// (`Permission`); the rank rule on the target (nobody acts on someone of equal or higher
/// rank) is checked here, against the state as it is now. Every act is an event, so clients
/// that were away learn of it through `sync` and every node applies it.
extension Router {
    /// The member a moderation request names: an account or a connected guest, in the room.
    struct ModerationTarget {
        var actor: Actor
        var rank: Rank
    }

    func target(_ username: String, in room: RoomState, accountsOnly: Bool = false) throws -> ModerationTarget {
        let key = UserKey.of(username)
        return try hub.withState { s in
            guard let person = s.person(named: key), !(accountsOnly && person.isGuest) else {
                throw ProtocolError(.userNotFound, "no user named '\(username)'")
            }
            guard let role = s.rooms[room.name]?.members[person.id] else {
                throw ProtocolError(.notMember, "\(person.username) is not in #\(room.name)")
            }
            let admin = !person.isGuest && s.directory[key]?.role == .admin
            return ModerationTarget(actor: Actor(id: person.id, username: person.username, isGuest: person.isGuest), rank: admin ? .admin : Rank(role))
        }
    }

    /// The rank rule: the caller outranks the target.
    static func checkOutranks(_ access: RoomAccess, _ target: ModerationTarget, doing what: String) throws {
        guard access.rank > target.rank else {
            throw ProtocolError(.forbidden, "you cannot \(what) \(target.actor.username): their rank in #\(access.room.name) is not below yours")
        }
    }

    /// `set_room_role`: the room's owner and admins make a member a moderator, or a
    /// moderator a member again. The members get `system` (`role`).
    func setRoomRole(_ p: SetRoomRoleRequest, _ session: Session, _ access: RoomAccess) async throws -> EmptyPayload {
        let user = try session.requireUser()
        guard let role = RoomRole(rawValue: p.role), role != .owner else {
            throw ProtocolError(.invalidField, "'role' is moderator or member")
        }
        let room = access.room
        let target = try target(p.username, in: room, accountsOnly: true)
        try Self.checkOutranks(access, target, doing: "change the role of")
        let text = role == .moderator ? "\(user.username) made \(target.actor.username) a moderator"
            : "\(user.username) made \(target.actor.username) a member"
        let event = EventDraft(type: .system, scope: .room, roomID: room.id, actorID: user.id,
                               data: Self.eventData(SystemPush(room: room.name, event: "role", username: target.actor.username, text: text, role: role)))
        let (name, id) = (room.name, target.actor.id)
        _ = try await log.commit(.setRoomRole(roomID: room.id, userID: id, role: role, events: [event]), origin: session.connection) { s, _ in
            if s.rooms[name]?.members[id] != nil { s.rooms[name]?.members[id] = role }
        }
        return EmptyPayload()
    }

    /// `kick`: the room's owner, its moderators and admins remove a member of lower rank. The
    /// member gets `kicked` (and `room_updated` with `removed`), the others `system` (`kick`);
    /// the member may join again at once.
    func kick(_ p: KickRequest, _ session: Session, _ access: RoomAccess) async throws -> EmptyPayload {
        let user = try session.requireUser()
        let room = access.room
        guard room.name != HubState.general else {
            throw ProtocolError(.forbidden, "everyone stays in #general: a server ban keeps someone out")
        }
        let reason = try p.reason.map { raw -> String in
            let reason = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            try Self.checkTopic(reason)  // the same bounds as a topic: 256 characters, no control
            try Self.checkNoControl(reason, field: "reason")
            return reason
        }.flatMap { $0.isEmpty ? nil : $0 }
        let target = try target(p.username, in: room)
        try Self.checkOutranks(access, target, doing: "kick")
        // The room as it is once the member is out.
        var info = hub.withState { $0.roomInfo(room.name, unread: nil) }
            ?? RoomInfo(name: room.name, topic: room.topic, members: 1, online: 1, private: room.isPrivate, unread: nil, lastMessageID: nil)
        info.members = max(0, info.members - 1)
        info.online = max(0, info.online - (hub.withState { $0.online[target.actor.id] != nil } ? 1 : 0))
        let who = target.actor.username
        let text = "\(who) was kicked from #\(room.name) by \(user.username)" + (reason.map { ": \($0)" } ?? "")
        let events = [
            EventDraft(type: .kicked, scope: .users, roomID: room.id, userID: target.actor.id, actorID: user.id,
                       data: Self.eventData(RemovedPush(room: room.name, by: user.username, reason: reason))),
            EventDraft(type: .roomUpdated, scope: .users, roomID: room.id, userID: target.actor.id, actorID: user.id,
                       data: Self.eventData(RoomUpdatedPush(room: info, removed: true))),
            EventDraft(type: .system, scope: .room, roomID: room.id, actorID: user.id,
                       data: Self.eventData(SystemPush(room: room.name, event: "kick", username: who, text: text))),
        ]
        let (name, roomID, actor) = (room.name, room.id, target.actor)
        _ = try await log.commit(.leave(roomID: roomID, user: actor, events: events), origin: session.connection) { s, events in
            guard let first = events.first else { return }
            s.removeMember(actor.id, from: name)
            s.notePeriod(of: actor.id, roomID: roomID, joined: nil, left: first.seq)
        }
        logger.info("\(user.username) kicked \(who) from #\(name)")
        return EmptyPayload()
    }
}
