import SalonProtocol

/// `register`, `login`, `logout` (PROTOCOL.md §3).
extension Router {
    func register(_ p: RegisterRequest, _ session: Session) async throws -> AuthResult {
        guard Limits.isValidUsername(p.username) else {
            throw ProtocolError(.invalidUsername, "a username is 1 to 32 letters, digits, '_', '-' or '.'")
        }
        try Self.checkPassword(p.password)
        let key = UserKey.of(p.username)
        let reserved = hub.withState { s -> Bool in
            guard !s.isNameTaken(key) else { return false }
            s.pendingRegistrations.insert(key)
            return true
        }
        guard reserved else { throw ProtocolError(.usernameTaken, "the name '\(p.username)' is taken") }
        defer { hub.withState { _ = $0.pendingRegistrations.remove(key) } }

        let hash = try await passwords.hash(p.password)
        let now = Timestamp.now()
        guard let record = try await store.insertUser(username: p.username, key: key, passwordHash: hash, role: .user, at: now) else {
            throw ProtocolError(.usernameTaken, "the name '\(p.username)' is taken")
        }
        try await store.insertMembership(MembershipRecord(room: HubState.general, userKey: key, role: .member), at: now)
        let lastGeneral = hub.withState { s -> Int64 in
            s.directory[key] = DirectoryEntry(username: record.username, role: record.role)
            return s.rooms[HubState.general]?.lastMessageID ?? 0
        }
        try await store.setReadMarker(userKey: key, conversation: Conversation.room(HubState.general).key, messageID: lastGeneral)
        logger.info("registered \(record.username)")
        return try await beginSession(session, record)
    }

    func login(_ p: LoginRequest, _ session: Session) async throws -> AuthResult {
        if let token = p.token {
            guard let record = try await store.user(tokenHash: SessionToken.hash(token)) else {
                throw ProtocolError(.authFailed, "this token is not valid (it may have been revoked by logout)")
            }
            session.tokenHash = SessionToken.hash(token)
            return try await attach(session, record, token: nil)
        }
        guard let username = p.username else {
            throw ProtocolError(.missingField, "missing field 'data.username' (or 'data.token')")
        }
        guard Limits.isValidUsername(username) else {
            throw ProtocolError(.invalidUsername, "a username is 1 to 32 letters, digits, '_', '-' or '.'")
        }
        let key = UserKey.of(username)
        guard let password = p.password else {
            return try guestLogin(username, key: key, session)
        }
        guard let record = try await store.user(key: key) else {
            // Spend the same time as a real check, so that timing does not reveal which names exist.
            _ = try await passwords.verify(password, hash: Self.dummyHash)
            throw ProtocolError(.authFailed, "wrong username or password")
        }
        guard try await passwords.verify(password, hash: record.passwordHash) else {
            throw ProtocolError(.authFailed, "wrong username or password")
        }
        return try await beginSession(session, record)
    }

    func logout(_ session: Session) async throws -> EmptyPayload {
        if let hash = session.tokenHash {
            try await store.deleteToken(hash: hash)
            session.tokenHash = nil
        }
        return EmptyPayload()
    }

    // MARK: Helpers

    static func checkPassword(_ password: String) throws {
        guard password.count >= Limits.passwordMinLength else {
            throw ProtocolError(.weakPassword, "a password needs at least \(Limits.passwordMinLength) characters")
        }
        guard password.count <= Limits.passwordMaxLength else {
            throw ProtocolError(.invalidField, "a password has at most \(Limits.passwordMaxLength) characters")
        }
    }

    /// A bcrypt hash of nothing in particular, for the unknown-user path of `login`.
    static let dummyHash = "$2b$12$C6UzMDM.H6dfI/f/IKcEeO5kLrSvbgeGqE1Sw2lZk4dIG4iKEUeWK"

    /// A new token for a password login or a registration, then the session.
    private func beginSession(_ session: Session, _ record: UserRecord) async throws -> AuthResult {
        let token = SessionToken.generate()
        let hash = SessionToken.hash(token)
        try await store.insertToken(hash: hash, userID: record.id, at: .now())
        session.tokenHash = hash
        return try await attach(session, record, token: token)
    }

    private func attach(_ session: Session, _ record: UserRecord, token: String?) async throws -> AuthResult {
        let user = SessionUser(username: record.username, key: record.key, role: record.role)
        comeOnline(session, as: user)
        return AuthResult(user: user.info, token: token, rooms: try await roomsOf(user))
    }

    private func guestLogin(_ username: String, key: String, _ session: Session) throws -> AuthResult {
        guard configuration.guestsAllowed else {
            throw ProtocolError(.guestsDisabled, "this server does not accept guests: register an account")
        }
        let user = SessionUser(username: username, key: key, role: .guest)
        let outcome = hub.withState { s -> ProtocolError? in
            if s.directory[key] != nil || s.pendingRegistrations.contains(key) {
                return ProtocolError(.passwordRequired, "'\(username)' is a registered account: give its password")
            }
            if s.online[key] != nil {
                return ProtocolError(.usernameTaken, "the name '\(username)' is in use by a connected guest")
            }
            return nil
        }
        if let outcome { throw outcome }
        // `comeOnline` re-checks under the lock: two guests racing for one name cannot both win.
        guard comeOnline(session, as: user, requireNew: true) else {
            throw ProtocolError(.usernameTaken, "the name '\(username)' is in use by a connected guest")
        }
        let rooms = hub.withState { s in (s.memberships[key] ?? []).sorted().compactMap { s.roomInfo($0, unread: 0) } }
        return AuthResult(user: user.info, token: nil, rooms: rooms)
    }

    /// Registers the connection as the user's and tells those who share a room when the
    /// user was offline until now.
    @discardableResult
    func comeOnline(_ session: Session, as user: SessionUser, requireNew: Bool = false) -> Bool {
        let limit = configuration.presenceRoomLimit
        let result = hub.withState { s -> (attached: Bool, first: Bool, audience: [Connection]) in
            if requireNew && (s.online[user.key] != nil || s.directory[user.key] != nil) { return (false, false, []) }
            let first = s.attach(session.connection, as: user)
            return (true, first, first ? s.presenceAudience(of: user.key, roomLimit: limit) : [])
        }
        guard result.attached else { return false }
        session.user = user
        if result.first {
            Hub.deliver(EnvelopeEncoder.push("presence", PresencePush(username: user.username, online: true)), to: result.audience)
        }
        return true
    }
}
