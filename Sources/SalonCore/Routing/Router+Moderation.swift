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
    func setRoomRole(_ p: SetRoomRoleRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> EmptyPayload {
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
        let entry = ModerationEntry(action: "set_room_role", by: user.username, username: target.actor.username, roomID: room.id, room: room.name,
                                    role: role.rawValue)
        _ = try await log.commit(.logged(.setRoomRole(roomID: room.id, userID: id, role: role, events: [event]), entry), origin: session.connection) { s, _ in
            s.rooms[name]?.members.setRole(id, role)
        }
        return EmptyPayload()
    }

    /// `kick`: the room's owner, its moderators and admins remove a member of lower rank. The
    /// member gets `kicked` (and `room_updated` with `removed`), the others `system` (`kick`);
    /// the member may join again at once.
    func kick(_ p: KickRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> EmptyPayload {
        let room = access.room
        guard room.name != HubState.general else {
            throw ProtocolError(.forbidden, "everyone stays in #general: a server ban keeps someone out")
        }
        let reason = try Self.reason(p.reason)
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
        let entry = ModerationEntry(action: "kick", by: user.username, username: who, roomID: roomID, room: name, reason: reason)
        _ = try await log.commit(.logged(.leave(roomID: roomID, user: actor, events: events), entry), origin: session.connection) { s, events in
            guard let first = events.first else { return }
            s.removeMember(actor.id, from: name)
            s.notePeriod(of: actor.id, roomID: roomID, joined: nil, left: first.seq)
        }
        logger.info("\(user.username) kicked \(who) from #\(name)")
        return EmptyPayload()
    }

    /// `invite`: any member adds someone (an account, or a connected guest) to the room at
    /// once; private rooms take one. The invitee's connections get `room_updated` with the
    /// room, the members `system` (`join`).
    func invite(_ p: InviteRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> EmptyPayload {
        let room = access.room
        let key = UserKey.of(p.username)
        if hub.withState({ $0.person(named: key) == nil }) { try await learnAccount(key) }
        guard let person = hub.withState({ $0.person(named: key) }) else {
            throw ProtocolError(.userNotFound, "no user named '\(p.username)'")
        }
        if hub.withState({ $0.rooms[room.name]?.members[person.id] != nil }) { return EmptyPayload() }
        if hub.withState({ $0.sanction(.ban, of: person.id, in: room.id) != nil }) {
            throw ProtocolError(.banned, "\(person.username) is banned from #\(room.name): unban them first")
        }
        let invitee = Actor(id: person.id, username: person.username, isGuest: person.isGuest)
        var info = hub.withState { $0.roomInfo(room.name, unread: nil) }
            ?? RoomInfo(name: room.name, topic: room.topic, members: 0, online: 0, private: room.isPrivate, unread: nil, lastMessageID: nil)
        info.members += 1
        // The invitee is the event's actor: joining is what happens to them (every node adds
        // the actor of a `join` to the room).
        let events = [
            EventDraft(type: .system, scope: .roomButActor, roomID: room.id, actorID: invitee.id,
                       data: Self.eventData(SystemPush(room: room.name, event: "join", username: invitee.username,
                                                       text: "\(user.username) invited \(invitee.username) to #\(room.name)"))),
            EventDraft(type: .roomUpdated, scope: .users, roomID: room.id, userID: invitee.id, actorID: invitee.id,
                       data: Self.eventData(RoomUpdatedPush(room: info, invitedBy: user.username))),
        ]
        let (name, roomID) = (room.name, room.id)
        _ = try await log.commit(.join(roomID: roomID, user: invitee, role: .member, readMarker: room.lastMessageID, events: events),
                                 origin: session.connection) { s, events in
            guard let first = events.first else { return }
            s.addMember(invitee.id, name: invitee.username, to: name, role: .member)
            s.notePeriod(of: invitee.id, roomID: roomID, joined: first.seq, left: nil)
        }
        return EmptyPayload()
    }

    /// `delete_room`: the owner or an admin; `general` stays. The room, its messages and its
    /// history go; its members get `room_updated` with `removed` (a private room's name reaches
    /// only them), and a room created later with the name starts empty.
    func deleteRoom(_ p: RoomRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> EmptyPayload {
        let room = access.room
        guard room.name != HubState.general else { throw ProtocolError(.forbidden, "#general cannot be deleted") }
        let info = hub.withState { $0.roomInfo(room.name, unread: nil) }
            ?? RoomInfo(name: room.name, topic: room.topic, members: 0, online: 0, private: room.isPrivate, unread: nil, lastMessageID: nil)
        let members = hub.withState { $0.rooms[room.name].map { Array($0.members.ids) } ?? [] }
        let name = room.name
        _ = try await log.commit(AdminChanges.deleteRoom(info, id: room.id, members: members, by: user.username, byID: user.id), origin: session.connection) { s, _ in
            s.removeRoom(name)
        }
        logger.info("\(user.username) deleted #\(name)")
        return EmptyPayload()
    }

    /// `set_role`: an admin makes an account an admin or a user again. It applies at once, on
    /// every node, to the account's open connections too; the account is told (`system`
    /// `role` with `user_role`). The rank rule holds: an admin's role is changed only with
    /// `salon admin set-role`.
    func setRole(_ p: SetRoleRequest, _ session: Session, _ user: SessionUser) async throws -> EmptyPayload {
        guard let role = UserRole(rawValue: p.role), role != .guest else {
            throw ProtocolError(.invalidField, "'role' is admin or user")
        }
        let key = UserKey.of(p.username)
        try await learnAccount(key)
        guard let entry = hub.withState({ $0.directory[key] }) else {
            throw ProtocolError(.userNotFound, "no account named '\(p.username)'")
        }
        guard entry.role != .admin else {
            throw ProtocolError(.forbidden, "\(entry.username) is an admin: an admin's role is changed with `salon admin set-role`")
        }
        let text = role == .admin ? "\(user.username) made you an admin" : "\(user.username) made you a user"
        let event = EventDraft(type: .system, scope: .users, userID: entry.id, actorID: user.id,
                               data: Self.eventData(SystemPush(room: nil, event: "role", username: entry.username, text: text, userRole: role)))
        let id = entry.id
        let line = ModerationEntry(action: "set_role", by: user.username, username: entry.username, roomID: nil, room: nil, role: role.rawValue)
        _ = try await log.commit(.logged(.setRole(userID: id, role: role, events: [event]), line), origin: session.connection) { s, _ in
            s.setRole(of: id, key: key, to: role)
        }
        logger.info("\(user.username) made \(entry.username) \(role == .admin ? "an admin" : "a user")")
        return EmptyPayload()
    }
}
