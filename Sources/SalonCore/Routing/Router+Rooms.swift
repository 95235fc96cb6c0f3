#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SalonProtocol

/// `list_rooms`, `create_room`, `join_room`, `leave_room`, `members` (PROTOCOL.md §4).
extension Router {
    func listRooms(_ p: ListRoomsRequest, _ session: Session, _ user: SessionUser) async throws -> RoomsResult {
        let limit = try Paging.limit(p.limit)
        let after = try p.after.map { try Self.roomName($0) }
        let unread = user.isGuest ? [:] : try await store.unreadCounts(userID: user.id)
        let (rooms, hasMore) = hub.withState { s in
            let names = s.rooms.values
                .filter { !$0.isPrivate || $0.members[user.id] != nil }
                .map(\.name)
                .sorted()
            let infos = names.compactMap { name -> RoomInfo? in
                guard let room = s.rooms[name] else { return nil }
                return s.roomInfo(name, unread: room.members[user.id] == nil ? nil : unread[Conversation.room(room.id).key] ?? 0, viewer: user.id)
            }
            return Paging.page(infos, after: after, limit: limit, name: \.name, size: JSONSize.room)
        }
        return RoomsResult(rooms: rooms, hasMore: hasMore)
    }

    func createRoom(_ p: CreateRoomRequest, _ session: Session, _ user: SessionUser) async throws -> RoomResult {
        let name = try Self.roomName(p.name)
        let topic = p.topic ?? ""
        try Self.checkTopic(topic)
        let record = RoomRecord(name: name, topic: topic, isPrivate: p.private ?? false, createdAt: .now())
        let (maxRooms, maxPerUser) = (configuration.maxRooms, configuration.maxRoomsPerUser)
        let refusal = hub.withState { s -> ProtocolError? in
            guard s.rooms[name] == nil else { return ProtocolError(.roomExists, "a room named '\(name)' exists") }
            guard s.rooms.count < maxRooms else {
                return ProtocolError(.forbidden, "this server holds its most rooms (\(maxRooms)): no new room can be created")
            }
            guard (s.memberships[user.id]?.count ?? 0) < maxPerUser else {
                return ProtocolError(.forbidden, "you are in \(maxPerUser) rooms, the most allowed: leave one first")
            }
            return nil
        }
        if let refusal { throw refusal }
        if let wait = roomCreations.take(user.key) {
            throw ProtocolError(.rateLimited, "you have created many rooms lately: try again in \(wait) s")
        }
        // The store decides between two creators of one name (`room_exists`).
        let info = RoomInfo(name: name, topic: topic, members: 1, online: 1, private: record.isPrivate, unread: nil, lastMessageID: nil)
        let event = EventDraft(
            type: .roomUpdated, scope: record.isPrivate ? .users : .everyone, userID: record.isPrivate ? user.id : nil,
            actorID: user.id, data: Self.eventData(RoomUpdatedPush(room: info))
        )
        let actor = user.actor
        do {
            _ = try await log.commit(.createRoom(record, owner: actor, events: [event]), origin: session.connection) { s, events in
                guard let id = events.first?.draft.roomID else { return }
                var stored = record
                stored.id = id
                s.addRoom(stored)
                s.addMember(actor.id, name: actor.username, to: name, role: .owner)
            }
        } catch {
            roomCreations.giveBack(user.key)
            throw error
        }
        logger.info("\(user.username) created #\(name)")
        guard var mine = hub.withState({ $0.roomInfo(name, unread: 0) }) else {
            throw ProtocolError(.roomNotFound, "the room '\(name)' was deleted")
        }
        mine.unread = 0
        return RoomResult(room: mine)
    }

    func joinRoom(_ p: RoomRequest, _ session: Session, _ user: SessionUser) async throws -> JoinResult {
        let name = try Self.roomName(p.room)
        let maxPerUser = configuration.maxRoomsPerUser
        if hub.withState({ $0.rooms[name] == nil }) { await catchUpWithOtherNodes() }
        let room = try hub.withState { s -> RoomState? in
            guard let room = s.rooms[name] else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
            if room.members[user.id] != nil { return nil }
            if let ban = s.sanction(.ban, of: user.id, in: room.id) {
                throw ProtocolError(.banned, "you are banned from #\(name)" + Self.terms(ban))
            }
            if room.isPrivate { throw ProtocolError(.forbidden, "'\(name)' is private: it takes an invitation") }
            guard (s.memberships[user.id]?.count ?? 0) < maxPerUser else {
                throw ProtocolError(.forbidden, "you are in \(maxPerUser) rooms, the most allowed: leave one first")
            }
            return room
        }
        if let room {
            let info = RoomInfo(name: name, topic: room.topic, members: room.members.count + 1, online: room.onlineMembers.count + 1,
                                private: room.isPrivate, unread: nil, lastMessageID: room.lastMessageID == 0 ? nil : room.lastMessageID)
            let events = [
                EventDraft(type: .system, scope: .roomButActor, roomID: room.id, actorID: user.id,
                           data: Self.eventData(SystemPush(room: name, event: "join", username: user.username, text: "\(user.username) joined #\(name)"))),
                EventDraft(type: .roomUpdated, scope: .users, roomID: room.id, userID: user.id, actorID: user.id,
                           data: Self.eventData(RoomUpdatedPush(room: info))),
            ]
            let actor = user.actor
            _ = try await log.commit(.join(roomID: room.id, user: actor, role: .member, readMarker: room.lastMessageID, events: events),
                                     origin: session.connection) { s, events in
                guard let first = events.first else { return }
                s.addMember(actor.id, name: actor.username, to: name, role: .member)
                s.notePeriod(of: actor.id, roomID: room.id, joined: first.seq, left: nil)
            }
        }
        guard let roomID = hub.withState({ $0.rooms[name]?.id }) else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
        let key = Conversation.room(roomID).key
        let messages = try await store.messages(conversation: key, before: nil, after: nil, limit: Limits.joinHistory)
        let unread = user.isGuest ? 0 : (try await store.unreadCounts(userID: user.id))[key] ?? 0
        guard let info = hub.withState({ $0.roomInfo(name, unread: unread, viewer: user.id) }) else {
            throw ProtocolError(.roomNotFound, "no room named '\(name)'")
        }
        // The latest messages that fit in the reply budget (older ones: `history`).
        return JoinResult(room: info, messages: Paging.fit(messages.map(\.wire)[...], limit: Limits.joinHistory, fromEnd: true, size: JSONSize.message).items)
    }

    /// `leave_room`: members (the table's permission); `general` is never left.
    func leaveRoom(_ p: RoomRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> EmptyPayload {
        let room = access.room
        let name = room.name
        guard name != HubState.general else {
            throw ProtocolError(.forbidden, "everyone stays in #general: it cannot be left")
        }
        let info = RoomInfo(name: name, topic: room.topic, members: max(0, room.members.count - 1), online: max(0, room.onlineMembers.count - 1),
                            private: room.isPrivate, unread: nil, lastMessageID: room.lastMessageID == 0 ? nil : room.lastMessageID)
        let events = [
            EventDraft(type: .system, scope: .roomButActor, roomID: room.id, actorID: user.id,
                       data: Self.eventData(SystemPush(room: name, event: "leave", username: user.username, text: "\(user.username) left #\(name)"))),
            EventDraft(type: .roomUpdated, scope: .users, roomID: room.id, userID: user.id, actorID: user.id,
                       data: Self.eventData(RoomUpdatedPush(room: info, removed: true))),
        ]
        let actor = user.actor
        _ = try await log.commit(.leave(roomID: room.id, user: actor, events: events), origin: session.connection) { s, events in
            guard let first = events.first else { return }
            s.removeMember(actor.id, from: name)
            s.notePeriod(of: actor.id, roomID: room.id, joined: nil, left: first.seq)
        }
        return EmptyPayload()
    }

    /// `set_topic`: the room's owner, its moderators and admins (the table's permission).
    /// The members get `system` (`topic`) and `room_updated`; the caller the room as it is now.
    func setTopic(_ p: SetTopicRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) async throws -> RoomResult {
        let topic = p.topic.trimmingCharacters(in: .whitespacesAndNewlines)
        try Self.checkTopic(topic)
        try Self.checkNoControl(topic, field: "topic")
        let room = access.room
        var info = hub.withState { $0.roomInfo(room.name, unread: nil) }
        info?.topic = topic
        let text = topic.isEmpty ? "\(user.username) cleared the topic" : "\(user.username) set the topic: \(topic)"
        let events = [
            EventDraft(type: .system, scope: .room, roomID: room.id, actorID: user.id,
                       data: Self.eventData(SystemPush(room: room.name, event: "topic", username: user.username, text: text))),
            EventDraft(type: .roomUpdated, scope: .room, roomID: room.id, actorID: user.id,
                       data: Self.eventData(RoomUpdatedPush(room: info ?? RoomInfo(name: room.name, topic: topic, members: 0, online: 0,
                                                                                    private: room.isPrivate, unread: nil, lastMessageID: nil)))),
        ]
        let name = room.name
        _ = try await log.commit(.setTopic(roomID: room.id, topic: topic, events: events), origin: session.connection) { s, _ in
            s.rooms[name]?.topic = topic
        }
        guard let now = hub.withState({ $0.roomInfo(name, unread: nil) }) else {
            throw ProtocolError(.roomNotFound, "the room '\(name)' was deleted")
        }
        return RoomResult(room: now)
    }

    /// `members`: anyone may see a public room's; a private room's only its members
    /// (`Permission.visible`).
    func members(_ p: MembersRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess) throws -> MembersResult {
        let name = access.room.name
        let limit = try Paging.limit(p.limit)
        return hub.withState { s in
            let room = s.rooms[name] ?? access.room
            let page = Paging.page(room.members.byName, after: p.after?.lowercased(), limit: limit, name: \.key, render: { entry in
                MemberInfo(username: s.displayName(entry.id), role: (room.members[entry.id] ?? .member).rawValue,
                           online: room.onlineMembers.contains(entry.id), bot: s.botMark(entry.id))
            }, size: JSONSize.member)
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
        let unread = user.isGuest ? [:] : try await store.unreadCounts(userID: user.id)
        let limit = configuration.maxRoomsPerUser
        return hub.withState { s in
            (s.memberships[user.id] ?? []).sorted().prefix(limit).compactMap { name in
                s.rooms[name].flatMap { room in s.roomInfo(name, unread: unread[Conversation.room(room.id).key] ?? 0, viewer: user.id) }
            }
        }
    }

    /// An event's push data (without `seq`), as JSON.
    static func eventData<T: Encodable>(_ value: T) -> [UInt8] {
        (try? Array(JSONEncoder().encode(value))) ?? Array("{}".utf8)
    }
}

extension SessionUser {
    /// The user as the store records who acted.
    var actor: Actor { Actor(id: id, username: username, isGuest: isGuest) }
}

