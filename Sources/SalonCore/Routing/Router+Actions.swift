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
        "register": anonymousAction(.anonymous) { (r, p: RegisterRequest, s) in try await r.register(p, s) },
        "login": anonymousAction(.anonymous) { (r, p: LoginRequest, s) in
            do {
                let result = try await r.login(p, s)
                ChatMetrics.loginsSucceeded.increment()
                return result
            } catch {
                ChatMetrics.loginsFailed.increment()
                throw error
            }
        },
        "logout": action(closes: true) { (r, _: EmptyPayload, s, _) in try await r.logout(s) },
        "ping": anonymousAction(.anyone) { (_, _: EmptyPayload, _) in EmptyPayload() },
        // Rooms (§4)
        "list_rooms": action { (r, p: ListRoomsRequest, s, u) in try await r.listRooms(p, s, u) },
        "create_room": action { (r, p: CreateRoomRequest, s, u) in try await r.createRoom(p, s, u) },
        "join_room": action { (r, p: RoomRequest, s, u) in try await r.joinRoom(p, s, u) },
        "leave_room": roomAction(.member) { (r, p: RoomRequest, s, u, room) in try await r.leaveRoom(p, s, u, room) },
        "members": roomAction(.visible) { (r, p: MembersRequest, s, u, room) in try r.members(p, s, u, room) },
        "set_topic": roomAction(.rank(.moderator)) { (r, p: SetTopicRequest, s, u, room) in try await r.setTopic(p, s, u, room) },
        "invite": roomAction(.rank(.member)) { (r, p: InviteRequest, s, u, room) in try await r.invite(p, s, u, room) },
        "delete_room": roomAction(.rank(.owner)) { (r, p: RoomRequest, s, u, room) in try await r.deleteRoom(p, s, u, room) },
        // Webhooks (docs/protocol.md, "Bots and webhooks")
        "create_webhook": roomAction(.rank(.owner)) { (r, p: CreateWebhookRequest, s, u, room) in try await r.createWebhook(p, s, u, room) },
        "list_webhooks": roomAction(.rank(.owner)) { (r, p: RoomRequest, s, u, room) in try await r.listWebhooks(p, s, u, room) },
        "delete_webhook": roomAction(.rank(.owner)) { (r, p: WebhookIDRequest, s, u, room) in try await r.deleteWebhook(p, s, u, room) },
        // Moderation (§7)
        "set_role": adminAction { (r, p: SetRoleRequest, s, u) in try await r.setRole(p, s, u) },
        "set_room_role": roomAction(.rank(.owner)) { (r, p: SetRoomRoleRequest, s, u, room) in try await r.setRoomRole(p, s, u, room) },
        "kick": roomAction(.rank(.moderator)) { (r, p: KickRequest, s, u, room) in try await r.kick(p, s, u, room) },
        "ban": optionalRoomAction(.rankOrAdmin(.moderator)) { (r, p: BanRequest, s, u, room) in try await r.ban(p, s, u, room) },
        "unban": optionalRoomAction(.rankOrAdmin(.moderator)) { (r, p: BanRequest, s, u, room) in try await r.unban(p, s, u, room) },
        "mute": roomAction(.rank(.moderator)) { (r, p: MuteRequest, s, u, room) in try await r.mute(p, s, u, room) },
        "unmute": roomAction(.rank(.moderator)) { (r, p: MuteRequest, s, u, room) in try await r.unmute(p, s, u, room) },
        "moderation_log": optionalRoomAction(.rankOrAdmin(.moderator)) { (r, p: ModerationLogRequest, s, u, room) in try await r.moderationLog(p, s, u, room) },
        // Messages (§5)
        "send_message": deferredAction(.member) { (r, p: SendMessageRequest, s, u, room, replyTo) in try await r.sendMessage(p, s, u, room, replyTo: replyTo) },
        "history": action(.member) { (r, p: HistoryRequest, s, u) in try await r.history(p, s, u) },
        "mark_read": action(.member) { (r, p: MarkReadRequest, s, u) in try await r.markRead(p, s, u) },
        "edit_message": frameAction { (r, p: EditMessageRequest, s, u, replyTo) in try await r.editMessage(p, s, u, replyTo: replyTo) },
        "delete_message": action { (r, p: MessageIDRequest, s, u) in try await r.deleteMessage(p, s, u) },
        "react": action { (r, p: ReactRequest, s, u) in try await r.react(p, s, u) },
        "typing": action(.member) { (r, p: TypingRequest, s, u) in try r.typing(p, s, u) },
        "search": action { (r, p: SearchRequest, s, u) in try await r.search(p, s, u) },
        // Events (§5a)
        "sync": frameAction { (r, p: SyncRequest, s, u, replyTo) in try await r.sync(p, s, u, replyTo: replyTo) },
        // Presence (§6)
        "list_users": optionalRoomAction(.visible) { (r, p: ListUsersRequest, s, u, room) in try r.listUsers(p, s, u, room) },
    ]

    static func decodePayload(action: String, from decoder: (any Decoder)?) throws -> Bound? {
        guard let spec = table[action] else { return nil }
        return try spec.decode(decoder)
    }

    /// An action before login, or for anyone (`register`, `login`, `ping`).
    private static func anonymousAction<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ access: Access,
        _ handler: @escaping @Sendable (Router, P, Session) async throws -> R
    ) -> Spec {
        Spec(access: access) { decoder in
            let payload = try PayloadDecoding.decode(P.self, from: decoder)
            return Bound(closesConnection: false, room: (payload as? any NamesRoom)?.roomName) { router, session, replyTo, _ in
                success(session, replyTo, try await handler(router, payload, session))
            }
        }
    }

    /// A handler's result as the reply: JSON, or the value itself for a session that takes
    /// typed replies (`Session.typedReplies`).
    static func success<R: Encodable & Sendable>(_ session: Session, _ replyTo: String?, _ result: R) -> EncodedFrame {
        session.typedReplies ? EncodedFrame(typed: TypedReply(replyTo: replyTo, value: result)) : EnvelopeEncoder.success(replyTo: replyTo, result)
    }

    /// The signed-in user, which `Access.user` checked before any handler runs: handlers
    /// get it as a parameter, never look for it themselves.
    static func signedIn(_ session: Session) throws -> SessionUser {
        guard let user = session.user else { throw ProtocolError(.authRequired, "log in first: register, login or ping") }
        return user
    }

    /// An action of a signed-in user, with what `permission` needs of the room it names.
    private static func action<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ permission: Permission = .none,
        closes: Bool = false,
        _ handler: @escaping @Sendable (Router, P, Session, SessionUser) async throws -> R
    ) -> Spec {
        Spec(access: .user, permission: permission) { decoder in
            let payload = try PayloadDecoding.decode(P.self, from: decoder)
            return Bound(closesConnection: closes, room: (payload as? any NamesRoom)?.roomName) { router, session, replyTo, _ in
                success(session, replyTo, try await handler(router, payload, session, try signedIn(session)))
            }
        }
    }

    /// An action for server admins only (`Permission.admin`, checked before the handler).
    private static func adminAction<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ handler: @escaping @Sendable (Router, P, Session, SessionUser) async throws -> R
    ) -> Spec {
        action(.admin, handler)
    }

    /// An action on a room that the table's `permission` guards: the handler gets the room
    /// and the caller's rank as the check found them.
    private static func roomAction<P: Decodable & Sendable & NamesRoom, R: Encodable & Sendable>(
        _ permission: Permission,
        _ handler: @escaping @Sendable (Router, P, Session, SessionUser, RoomAccess) async throws -> R
    ) -> Spec {
        Spec(access: .user, permission: permission) { decoder in
            let payload = try PayloadDecoding.decode(P.self, from: decoder)
            return Bound(closesConnection: false, room: payload.roomName) { router, session, replyTo, access in
                guard let access else { throw ProtocolError(.missingField, "missing field 'data.room'") }
                return success(session, replyTo, try await handler(router, payload, session, try signedIn(session), access))
            }
        }
    }

    /// An action on a room, or on the whole server when the request names none
    /// (`Permission.rankOrAdmin`): the handler gets the room and rank, or nil for the server.
    private static func optionalRoomAction<P: Decodable & Sendable & NamesRoom, R: Encodable & Sendable>(
        _ permission: Permission,
        _ handler: @escaping @Sendable (Router, P, Session, SessionUser, RoomAccess?) async throws -> R
    ) -> Spec {
        Spec(access: .user, permission: permission) { decoder in
            let payload = try PayloadDecoding.decode(P.self, from: decoder)
            return Bound(closesConnection: false, room: payload.roomName) { router, session, replyTo, access in
                success(session, replyTo, try await handler(router, payload, session, try signedIn(session), access))
            }
        }
    }

    /// An action whose reply is written by hand (`sync`, `edit_message`: JSON already
    /// encoded), or by the handler itself later (nil: `send_message`, once stored).
    private static func frameAction<P: Decodable & Sendable>(
        _ permission: Permission = .none,
        _ handler: @escaping @Sendable (Router, P, Session, SessionUser, String?) async throws -> EncodedFrame?
    ) -> Spec {
        Spec(access: .user, permission: permission) { decoder in
            let payload = try PayloadDecoding.decode(P.self, from: decoder)
            return Bound(closesConnection: false, room: (payload as? any NamesRoom)?.roomName) { router, session, replyTo, _ in
                try await handler(router, payload, session, try signedIn(session), replyTo)
            }
        }
    }

    /// An action that replies by itself, later: the connection goes on to its next request
    /// meanwhile. It gets the room the check found (nil: none named).
    private static func deferredAction<P: Decodable & Sendable>(
        _ permission: Permission = .none,
        _ handler: @escaping @Sendable (Router, P, Session, SessionUser, RoomAccess?, String?) async throws -> Void
    ) -> Spec {
        Spec(access: .user, permission: permission) { decoder in
            let payload = try PayloadDecoding.decode(P.self, from: decoder)
            return Bound(closesConnection: false, room: (payload as? any NamesRoom)?.roomName) { router, session, replyTo, access in
                try await handler(router, payload, session, try signedIn(session), access, replyTo)
                return nil
            }
        }
    }
}
