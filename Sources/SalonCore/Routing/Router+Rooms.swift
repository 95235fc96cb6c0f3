import SalonProtocol

/// `list_rooms`, `create_room`, `join_room`, `leave_room`, `members` (PROTOCOL.md §4).
extension Router {
    func listRooms(_ p: ListRoomsRequest, _ session: Session) async throws -> RoomsResult {
        let user = try session.requireUser()
        let limit = try Paging.limit(p.limit)
        let after = try p.after.map { try Self.roomName($0) }
        let unread = user.isGuest ? [:] : try await store.unreadCounts(userKey: user.key)
        let (rooms, hasMore) = hub.withState { s in
            let names = s.rooms.values
                .filter { !$0.isPrivate || $0.members[user.key] != nil }
                .map(\.name)
                .sorted()
            let infos = names.compactMap { name in
                s.roomInfo(name, unread: s.rooms[name]?.members[user.key] == nil ? nil : unread[Conversation.room(name).key] ?? 0)
            }
            return Paging.page(infos, after: after, limit: limit, name: \.name, size: JSONSize.room)
        }
        return RoomsResult(rooms: rooms, hasMore: hasMore)
    }

    func createRoom(_ p: CreateRoomRequest, _ session: Session) async throws -> RoomResult {
        let user = try session.requireUser()
        let name = try Self.roomName(p.name)
        let topic = p.topic ?? ""
        try Self.checkTopic(topic)
        let record = RoomRecord(name: name, topic: topic, isPrivate: p.private ?? false, createdAt: .now())
        let (maxRooms, maxPerUser) = (configuration.maxRooms, configuration.maxRoomsPerUser)
        // Reserve the name in memory first, so that two creators cannot both win.
        let refusal = hub.withState { s -> ProtocolError? in
            guard s.rooms[name] == nil else { return ProtocolError(.roomExists, "a room named '\(name)' exists") }
            guard s.rooms.count < maxRooms else {
                return ProtocolError(.forbidden, "this server holds its most rooms (\(maxRooms)): no new room can be created")
            }
            guard (s.memberships[user.key]?.count ?? 0) < maxPerUser else {
                return ProtocolError(.forbidden, "you are in \(maxPerUser) rooms, the most allowed: leave one first")
            }
            return nil
        }
        if let refusal { throw refusal }
        if let wait = roomCreations.take(user.key) {
            throw ProtocolError(.rateLimited, "you have created many rooms lately: try again in \(wait) s")
        }
        let reserved = hub.withState { s -> Bool in
            guard s.rooms[name] == nil, s.rooms.count < maxRooms else { return false }
            s.rooms[name] = RoomState(record: record)
            s.addMember(user.key, to: name, role: .owner)
            return true
        }
        guard reserved else {
            roomCreations.giveBack(user.key)
            throw ProtocolError(.roomExists, "a room named '\(name)' exists")
        }
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
            roomCreations.giveBack(user.key)
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
        let maxPerUser = configuration.maxRoomsPerUser
        let joined = try hub.withState { s -> Joined in
            guard let room = s.rooms[name] else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
            if room.members[user.key] != nil { return .already }
            if room.isPrivate { throw ProtocolError(.forbidden, "'\(name)' is private: it takes an invitation") }
            guard (s.memberships[user.key]?.count ?? 0) < maxPerUser else {
                throw ProtocolError(.forbidden, "you are in \(maxPerUser) rooms, the most allowed: leave one first")
            }
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
        // The latest messages that fit in the reply budget (older ones: `history`).
        return JoinResult(room: info, messages: Paging.fit(messages.map(\.wire)[...], limit: Limits.joinHistory, fromEnd: true, size: JSONSize.message).items)
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

    func members(_ p: MembersRequest, _ session: Session) throws -> MembersResult {
        let user = try session.requireUser()
        let name = try Self.roomName(p.room)
        let limit = try Paging.limit(p.limit)
        return try hub.withState { s in
            guard let room = s.rooms[name] else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
            if room.isPrivate && room.members[user.key] == nil {
                throw ProtocolError(.forbidden, "'\(name)' is private")
            }
            let members = room.members
                .map { key, role in MemberInfo(username: s.displayName(key), role: role.rawValue, online: room.onlineMembers.contains(key)) }
                .sorted { $0.username.lowercased() < $1.username.lowercased() }
            let page = Paging.page(members, after: p.after?.lowercased(), limit: limit, name: { $0.username.lowercased() }, size: JSONSize.member)
            return MembersResult(members: page.items, hasMore: page.hasMore)
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

    /// A topic: at most 256 Unicode scalars (never grapheme clusters, which can be of any
    /// size), no control character.
    static func checkTopic(_ topic: String) throws {
        guard topic.unicodeScalars.count <= Limits.topicLength else {
            throw ProtocolError(.invalidField, "a topic has at most \(Limits.topicLength) characters")
        }
        try checkNoControl(topic, field: "topic")
    }

    /// The rooms of a user as `login` returns them, with unread counts: at most
    /// `maxRoomsPerUser` (joining more is refused; a user over it from before sees the first
    /// ones by name, and all of them with `list_rooms`).
    func roomsOf(_ user: SessionUser) async throws -> [RoomInfo] {
        let unread = user.isGuest ? [:] : try await store.unreadCounts(userKey: user.key)
        let limit = configuration.maxRoomsPerUser
        return hub.withState { s in
            (s.memberships[user.key] ?? []).sorted().prefix(limit).compactMap { s.roomInfo($0, unread: unread[Conversation.room($0).key] ?? 0) }
        }
    }
}

extension Session {
    func requireUser() throws -> SessionUser {
        guard let user else { throw ProtocolError(.authRequired, "log in first: register, login or ping") }
        return user
    }
}
