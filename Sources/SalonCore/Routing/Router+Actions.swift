import SalonProtocol

/// Who may call an action: the check done in one place, before any handler runs.
enum Access: Sendable {
    /// Only before login (`register`, `login`).
    case anonymous
    /// Anyone (`ping`).
    case anyone
    /// A logged-in user, guest or not.
    case user

    func check(_ session: Session) throws {
        switch self {
        case .anonymous:
            if session.user != nil { throw ProtocolError(.forbidden, "already logged in on this connection") }
        case .anyone:
            break
        case .user:
            if session.user == nil { throw ProtocolError(.authRequired, "log in first: register, login or ping") }
        }
    }
}

/// The declarative table of actions: each name, who may call it, the type of its `data`, and
/// its handler. Decoding a request goes straight to the typed payload through this table.
enum Actions: PayloadRegistry {
    struct Spec: Sendable {
        let access: Access
        /// What the caller needs in the room the request names (`Permission`).
        var permission: Permission = .none
        let decode: @Sendable (_ data: (any Decoder)?) throws -> Bound
    }

    /// A request whose `data` is decoded, bound to its handler.
    struct Bound: Sendable {
        /// `logout`: the connection closes once the reply is written.
        let closesConnection: Bool
        /// The room the request names, for the permission check.
        var room: String? = nil
        /// The reply, or nil when the handler sends it later itself (`send_message`: once
        /// stored). `access`: the room and the caller's rank, as the check found them.
        let run: @Sendable (_ router: Router, _ session: Session, _ replyTo: String?, _ access: RoomAccess?) async throws -> EncodedFrame?
    }

    static let table: [String: Spec] = [
        // Session (§3)
        "register": action(.anonymous) { (r, p: RegisterRequest, s) in try await r.register(p, s) },
        "login": action(.anonymous) { (r, p: LoginRequest, s) in try await r.login(p, s) },
        "logout": action(.user, closes: true) { (r, _: EmptyPayload, s) in try await r.logout(s) },
        "ping": action(.anyone) { (_, _: EmptyPayload, _) in EmptyPayload() },
        // Rooms (§4)
        "list_rooms": action(.user) { (r, p: ListRoomsRequest, s) in try await r.listRooms(p, s) },
        "create_room": action(.user) { (r, p: CreateRoomRequest, s) in try await r.createRoom(p, s) },
        "join_room": action(.user) { (r, p: RoomRequest, s) in try await r.joinRoom(p, s) },
        "leave_room": action(.user) { (r, p: RoomRequest, s) in try await r.leaveRoom(p, s) },
        "members": roomAction(.visible) { (r, p: MembersRequest, s, room) in try r.members(p, s, room) },
        "set_topic": roomAction(.rank(.moderator)) { (r, p: SetTopicRequest, s, room) in try await r.setTopic(p, s, room) },
        "invite": roomAction(.rank(.member)) { (r, p: InviteRequest, s, room) in try await r.invite(p, s, room) },
        "delete_room": roomAction(.rank(.owner)) { (r, p: RoomRequest, s, room) in try await r.deleteRoom(p, s, room) },
        // Moderation (§7)
        "set_role": adminAction { (r, p: SetRoleRequest, s) in try await r.setRole(p, s) },
        "set_room_role": roomAction(.rank(.owner)) { (r, p: SetRoomRoleRequest, s, room) in try await r.setRoomRole(p, s, room) },
        "kick": roomAction(.rank(.moderator)) { (r, p: KickRequest, s, room) in try await r.kick(p, s, room) },
        "ban": optionalRoomAction(.rankOrAdmin(.moderator)) { (r, p: BanRequest, s, room) in try await r.ban(p, s, room) },
        "unban": optionalRoomAction(.rankOrAdmin(.moderator)) { (r, p: BanRequest, s, room) in try await r.unban(p, s, room) },
        "mute": roomAction(.rank(.moderator)) { (r, p: MuteRequest, s, room) in try await r.mute(p, s, room) },
        "unmute": roomAction(.rank(.moderator)) { (r, p: MuteRequest, s, room) in try await r.unmute(p, s, room) },
        "moderation_log": optionalRoomAction(.rankOrAdmin(.moderator)) { (r, p: ModerationLogRequest, s, room) in try await r.moderationLog(p, s, room) },
        // Messages (§5)
        "send_message": deferredAction(.user, .member) { (r, p: SendMessageRequest, s, replyTo) in try await r.sendMessage(p, s, replyTo: replyTo) },
        "history": action(.user, .member) { (r, p: HistoryRequest, s) in try await r.history(p, s) },
        "mark_read": action(.user, .member) { (r, p: MarkReadRequest, s) in try await r.markRead(p, s) },
        "edit_message": frameAction(.user) { (r, p: EditMessageRequest, s, replyTo) in try await r.editMessage(p, s, replyTo: replyTo) },
        "delete_message": action(.user) { (r, p: MessageIDRequest, s) in try await r.deleteMessage(p, s) },
        "react": action(.user) { (r, p: ReactRequest, s) in try await r.react(p, s) },
        "typing": action(.user, .member) { (r, p: TypingRequest, s) in try r.typing(p, s) },
        "search": action(.user) { (r, p: SearchRequest, s) in try await r.search(p, s) },
        // Events (§5a)
        "sync": frameAction(.user) { (r, p: SyncRequest, s, replyTo) in try await r.sync(p, s, replyTo: replyTo) },
        // Presence (§6)
        "list_users": action(.user) { (r, p: ListUsersRequest, s) in try r.listUsers(p, s) },
    ]

    static func decodePayload(action: String, from decoder: (any Decoder)?) throws -> Bound? {
        guard let spec = table[action] else { return nil }
        return try spec.decode(decoder)
    }

    private static func action<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ access: Access,
        _ permission: Permission = .none,
        closes: Bool = false,
        _ handler: @escaping @Sendable (Router, P, Session) async throws -> R
    ) -> Spec {
        Spec(access: access, permission: permission) { decoder in
            let payload = try PayloadDecoding.decode(P.self, from: decoder)
            return Bound(closesConnection: closes, room: (payload as? any NamesRoom)?.roomName) { router, session, replyTo, _ in
                EnvelopeEncoder.success(replyTo: replyTo, try await handler(router, payload, session))
            }
        }
    }

    /// An action for server admins only (`Permission.admin`, checked before the handler).
    private static func adminAction<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ handler: @escaping @Sendable (Router, P, Session) async throws -> R
    ) -> Spec {
        action(.user, .admin, handler)
    }

    /// An action on a room that the table's `permission` guards: the handler gets the room
    /// and the caller's rank as the check found them.
    private static func roomAction<P: Decodable & Sendable & NamesRoom, R: Encodable & Sendable>(
        _ permission: Permission,
        _ handler: @escaping @Sendable (Router, P, Session, RoomAccess) async throws -> R
    ) -> Spec {
        Spec(access: .user, permission: permission) { decoder in
            let payload = try PayloadDecoding.decode(P.self, from: decoder)
            return Bound(closesConnection: false, room: payload.roomName) { router, session, replyTo, access in
                guard let access else { throw ProtocolError(.missingField, "missing field 'data.room'") }
                return EnvelopeEncoder.success(replyTo: replyTo, try await handler(router, payload, session, access))
            }
        }
    }

    /// An action on a room, or on the whole server when the request names none
    /// (`Permission.rankOrAdmin`): the handler gets the room and rank, or nil for the server.
    private static func optionalRoomAction<P: Decodable & Sendable & NamesRoom, R: Encodable & Sendable>(
        _ permission: Permission,
        _ handler: @escaping @Sendable (Router, P, Session, RoomAccess?) async throws -> R
    ) -> Spec {
        Spec(access: .user, permission: permission) { decoder in
            let payload = try PayloadDecoding.decode(P.self, from: decoder)
            return Bound(closesConnection: false, room: payload.roomName) { router, session, replyTo, access in
                EnvelopeEncoder.success(replyTo: replyTo, try await handler(router, payload, session, access))
            }
        }
    }

    /// An action whose reply is written by hand (`sync`, `edit_message`: JSON already
    /// encoded), or by the handler itself later (nil: `send_message`, once stored).
    private static func frameAction<P: Decodable & Sendable>(
        _ access: Access,
        _ permission: Permission = .none,
        _ handler: @escaping @Sendable (Router, P, Session, String?) async throws -> EncodedFrame?
    ) -> Spec {
        Spec(access: access, permission: permission) { decoder in
            let payload = try PayloadDecoding.decode(P.self, from: decoder)
            return Bound(closesConnection: false, room: (payload as? any NamesRoom)?.roomName) { router, session, replyTo, _ in
                try await handler(router, payload, session, replyTo)
            }
        }
    }

    /// An action that replies by itself, later: the connection goes on to its next request
    /// meanwhile.
    private static func deferredAction<P: Decodable & Sendable>(
        _ access: Access,
        _ permission: Permission = .none,
        _ handler: @escaping @Sendable (Router, P, Session, String?) async throws -> Void
    ) -> Spec {
        frameAction(access, permission) { router, payload, session, replyTo in
            try await handler(router, payload, session, replyTo)
            return nil
        }
    }
}
