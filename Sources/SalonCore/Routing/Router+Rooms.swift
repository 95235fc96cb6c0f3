import SalonProtocol

/// `list_rooms`, `create_room`, `join_room`, `leave_room`, `members` (PROTOCOL.md §4).
extension Router {
    func listRooms(_ session: Session) async throws -> RoomsResult {
        let user = try session.requireUser()
        let unread = user.isGuest ? [:] : try await store.unreadCounts(userKey: user.key)
        let rooms = hub.withState { s in
            s.rooms.values
                .filter { !$0.isPrivate || $0.members[user.key] != nil }
                .sorted { $0.name < $1.name }
                .compactMap { room in
                    s.roomInfo(room.name, unread: room.members[user.key] == nil ? nil : unread[Conversation.room(room.name).key] ?? 0)
                }
        }
        return RoomsResult(rooms: rooms)
    }

    func createRoom(_ p: CreateRoomRequest, _ session: Session) async throws -> RoomResult {
        let user = try session.requireUser()
        let name = try Self.roomName(p.name)
        let topic = p.topic ?? ""
        guard topic.count <= Limits.topicLength else {
            throw ProtocolError(.invalidField, "a topic has at most \(Limits.topicLength) characters")
        }
        let record = RoomRecord(name: name, topic: topic, isPrivate: p.private ?? false, createdAt: .now())
        // Reserve the name in memory first, so that two creators cannot both win.
        let reserved = hub.withState { s -> Bool in
            guard s.rooms[name] == nil else { return false }
            s.rooms[name] = RoomState(record: record)
            s.addMember(user.key, to: name, role: .owner)
            return true
        }
        guard reserved else { throw ProtocolError(.roomExists, "a room named '\(name)' exists") }
        do {
            guard try await store.insertRoom(record) else { throw ProtocolError(.roomExists, "a room named '\(name)' exists") }
            if !user.isGuest {
                try await store.insertMembership(MembershipRecord(room: name, userKey: user.key, role: .owner), at: record.createdAt)
                try await store.setReadMarker(userKey: user.key, conversation: Conversation.room(name).key, messageID: 0)
            }
        } catch {
            hub.withState { s in
                s.removeMember(user.key, from: name)
                s.rooms[name] = nil
            }
            throw error
        }
        let (info, audience) = hub.withState { s -> (RoomInfo?, [Connection]) in
            let audience = record.isPrivate ? s.connections(of: user.key) : s.allConnections()
            return (s.roomInfo(name, unread: nil), audience.filter { $0 != session.connection })
        }
        guard let info else { throw ProtocolError(.roomNotFound, "the room '\(name)' was deleted") }
        Hub.deliver(EnvelopeEncoder.push("room_updated", RoomUpdatedPush(room: info)), to: audience)
        logger.info("\(user.username) created #\(name)")
        var mine = info
        mine.unread = 0
        return RoomResult(room: mine)
    }

    func joinRoom(_ p: RoomRequest, _ session: Session) async throws -> JoinResult {
        let user = try session.requireUser()
        let name = try Self.roomName(p.room)
        enum Joined { case already, new(lastID: Int64) }
        let joined = try hub.withState { s -> Joined in
            guard let room = s.rooms[name] else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
            if room.members[user.key] != nil { return .already }
            if room.isPrivate { throw ProtocolError(.forbidden, "'\(name)' is private: it takes an invitation") }
            return .new(lastID: room.lastMessageID)
        }
        if case .new(let lastID) = joined {
            if !user.isGuest {
                try await store.insertMembership(MembershipRecord(room: name, userKey: user.key, role: .member), at: .now())
                try await store.setReadMarker(userKey: user.key, conversation: Conversation.room(name).key, messageID: lastID)
            }
            let (others, mine) = hub.withState { s -> ([Connection], [Connection]) in
                s.addMember(user.key, to: name, role: .member)
                return (s.connections(ofRoom: name).filter { !s.connections(of: user.key).contains($0) },
                        s.connections(of: user.key).filter { $0 != session.connection })
            }
            Hub.deliver(EnvelopeEncoder.push("system", SystemPush(room: name, event: "join", username: user.username, text: "\(user.username) joined #\(name)")), to: others)
            if let info = hub.withState({ $0.roomInfo(name, unread: nil) }) {
                Hub.deliver(EnvelopeEncoder.push("room_updated", RoomUpdatedPush(room: info)), to: mine)
            }
        }
        let messages = try await store.messages(conversation: Conversation.room(name).key, before: nil, after: nil, limit: Limits.joinHistory)
        let unread = user.isGuest ? 0 : (try await store.unreadCounts(userKey: user.key))[Conversation.room(name).key] ?? 0
        guard let info = hub.withState({ $0.roomInfo(name, unread: unread) }) else {
            throw ProtocolError(.roomNotFound, "no room named '\(name)'")
        }
        return JoinResult(room: info, messages: messages.map(\.wire))
    }

    func leaveRoom(_ p: RoomRequest, _ session: Session) async throws -> EmptyPayload {
        let user = try session.requireUser()
        let name = try Self.roomName(p.room)
        guard name != HubState.general else {
            throw ProtocolError(.forbidden, "everyone stays in #general: it cannot be left")
        }
        try hub.withState { s in
            guard s.rooms[name] != nil else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
            guard s.isMember(user.key, of: name) else { throw ProtocolError(.notMember, "you are not in #\(name)") }
        }
        if !user.isGuest {
            try await store.deleteMembership(room: name, userKey: user.key)
        }
        let (others, mine, info) = hub.withState { s -> ([Connection], [Connection], RoomInfo?) in
            s.removeMember(user.key, from: name)
            return (s.connections(ofRoom: name), s.connections(of: user.key).filter { $0 != session.connection }, s.roomInfo(name, unread: nil))
        }
        Hub.deliver(EnvelopeEncoder.push("system", SystemPush(room: name, event: "leave", username: user.username, text: "\(user.username) left #\(name)")), to: others)
        if let info {
            Hub.deliver(EnvelopeEncoder.push("room_updated", RoomUpdatedPush(room: info, removed: true)), to: mine)
        }
        return EmptyPayload()
    }

    func members(_ p: RoomRequest, _ session: Session) throws -> MembersResult {
        let user = try session.requireUser()
        let name = try Self.roomName(p.room)
        return try hub.withState { s in
            guard let room = s.rooms[name] else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
            if room.isPrivate && room.members[user.key] == nil {
                throw ProtocolError(.forbidden, "'\(name)' is private")
            }
            let members = room.members
                .map { key, role in MemberInfo(username: s.displayName(key), role: role.rawValue, online: room.onlineMembers.contains(key)) }
                .sorted { $0.username.lowercased() < $1.username.lowercased() }
            return MembersResult(members: members)
        }
    }

    // MARK: Helpers

    /// Room names are lower-cased, then must be 1–64 of `a-z 0-9 _ -`. A leading `#` is
    /// accepted and dropped, as people type it.
    static func roomName(_ raw: String) throws -> String {
        var name = raw.lowercased()
        if name.hasPrefix("#") { name.removeFirst() }
        guard Limits.isValidRoomName(name) else {
            throw ProtocolError(.invalidRoomName, "a room name is 1 to 64 of a-z, 0-9, '_' and '-'")
        }
        return name
    }

    /// The rooms of a user as `login` returns them, with unread counts.
    func roomsOf(_ user: SessionUser) async throws -> [RoomInfo] {
        let unread = user.isGuest ? [:] : try await store.unreadCounts(userKey: user.key)
        return hub.withState { s in
            (s.memberships[user.key] ?? []).sorted().compactMap { s.roomInfo($0, unread: unread[Conversation.room($0).key] ?? 0) }
        }
    }
}

extension Session {
    func requireUser() throws -> SessionUser {
        guard let user else { throw ProtocolError(.authRequired, "log in first: register, login or ping") }
        return user
    }
}
