import SalonProtocol

/// `register`, `login`, `logout` (PROTOCOL.md §3).
extension Router {
    func register(_ p: RegisterRequest, _ session: Session) async throws -> AuthResult {
        guard Limits.isValidUsername(p.username) else {
            throw ProtocolError(.invalidUsername, "a username is 1 to 32 letters, digits, '_', '-' or '.'")
        }
        try Self.checkPassword(p.password)
        let key = UserKey.of(p.username)
        let refusal = hub.withState { s -> ProtocolError? in
            if s.isNameTaken(key) { return ProtocolError(.usernameTaken, "the name '\(p.username)' is taken") }
            if let other = s.lookAlike(of: p.username) {
                return ProtocolError(.usernameTaken, "'\(p.username)' looks too much like '\(other)', a name in use: choose another")
            }
            s.pendingRegistrations.insert(key)
            s.addSkeleton(p.username)
            return nil
        }
        if let refusal { throw refusal }
        var registered = false
        defer {
            hub.withState { s in
                s.pendingRegistrations.remove(key)
                if !registered { s.removeSkeleton(p.username) }
            }
        }

        let connection = session.connection
        let hash = try await passwordWork { try await passwords.hash(p.password, unless: { connection.isClosed }) }
        let generalID = hub.withState { $0.rooms[HubState.general]?.id } ?? 0
        guard let record = try await store.register(username: p.username, key: key, passwordHash: hash, role: .user, generalID: generalID, at: .now()) else {
            throw ProtocolError(.usernameTaken, "the name '\(p.username)' is taken")
        }
        registered = true
        hub.withState { s in
            s.directory[key] = DirectoryEntry(id: record.id, username: record.username, role: record.role)
            s.addMember(record.id, name: record.username, to: HubState.general, role: .member)
        }
        logger.info("registered \(record.username)")
        return try await beginSession(session, record)
    }

    func login(_ p: LoginRequest, _ session: Session) async throws -> AuthResult {
        if let token = p.token {
            let hash = SessionToken.hash(token)
            guard let record = try await store.user(tokenHash: hash, usedAt: .now(), unusedSince: tokenCutoff()) else {
                throw ProtocolError(.authFailed, "this token is not valid (it may have been revoked by logout, or have expired)")
            }
            session.tokenHash = hash
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
            return try await guestLogin(username, key: key, session)
        }
        try Self.checkPasswordCharacters(password)
        let reservation: LoginThrottle.Reservation
        switch try await loginThrottle.reserveAcrossNodes(account: key, address: session.connection.address) {
        case .success(let r): reservation = r
        case .failure(let wait):
            throw ProtocolError(.rateLimited, "too many failed logins: try again in \(wait.seconds) s")
        }
        let connection = session.connection
        let record: UserRecord
        do {
            let account = try await store.user(key: key)
            if let account, account.isBot {
                throw ProtocolError(.authFailed, "'\(account.username)' is a bot: it has no password, only tokens (salon admin bot token)")
            }
            guard let found = account else {
                // Spend the same time as a real check, so that timing does not reveal which names exist.
                _ = try await passwordWork { try await passwords.verify(password, hash: Self.dummyHash, unless: { connection.isClosed }) }
                throw ProtocolError(.authFailed, "wrong username or password")
            }
            guard try await passwordWork({ try await passwords.verify(password, hash: found.passwordHash, unless: { connection.isClosed }) }) else {
                throw ProtocolError(.authFailed, "wrong username or password")
            }
            record = found
        } catch let error as ProtocolError where error.code == .authFailed {
            throw error
        } catch {
            await loginThrottle.refund(reservation)  // not a failed guess: the server was busy, or the client left
            throw error
        }
        await loginThrottle.refund(reservation)
        try checkNotBanned(record.id)
        if PasswordHasher.needsRehash(record.passwordHash) {
            // An account from before passwords were pre-hashed: store the new kind of hash,
            // once (a second bcrypt on this one login). Failing that, the old one still works.
            do {
                try await store.updatePasswordHash(userID: record.id, hash: try await passwords.hash(password))
            } catch {
                logger.warning("could not rehash the password of \(record.username): \(error)")
            }
        }
        return try await beginSession(session, record)
    }

    /// Revokes the token and ends every connection logged in with it (this one closes once
    /// the reply is written).
    func logout(_ session: Session) async throws -> EmptyPayload {
        if let hash = session.tokenHash {
            try await store.deleteToken(hash: hash)
            session.tokenHash = nil
            let others = hub.withState { s -> [Connection] in
                let all = s.tokenConnections.removeValue(forKey: hash) ?? []
                return all.filter { $0 != session.connection }
            }
            for connection in others { connection.sink.close(.logout) }
        }
        return EmptyPayload()
    }

    // MARK: Helpers

    /// A password's rules, counted in Unicode scalars: 8 to 1,024, and no NUL.
    static func checkPassword(_ password: String) throws {
        try checkPasswordCharacters(password)
        guard password.unicodeScalars.count >= Limits.passwordMinLength else {
            throw ProtocolError(.weakPassword, "a password needs at least \(Limits.passwordMinLength) characters")
        }
    }

    /// What any password given must be (also at login): every byte counts, so none may be
    /// one that a C string would stop at.
    static func checkPasswordCharacters(_ password: String) throws {
        guard !password.unicodeScalars.contains("\u{0}") else {
            throw ProtocolError(.invalidField, "a password cannot contain the NUL character")
        }
        guard password.unicodeScalars.count <= Limits.passwordMaxLength else {
            throw ProtocolError(.invalidField, "a password has at most \(Limits.passwordMaxLength) characters")
        }
    }

    /// Password work, with the hasher's refusals told as protocol errors.
    func passwordWork<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch is PasswordHasher.Busy {
            throw ProtocolError(.rateLimited, "the server is busy checking passwords: try again in 1 s")
        }
    }

    /// A bcrypt hash (of the pre-hashed kind) of nothing in particular, for the unknown-user
    /// path of `login`.
    static let dummyHash = "sha256+$2b$12$C6UzMDM.H6dfI/f/IKcEeO5kLrSvbgeGqE1Sw2lZk4dIG4iKEUeWK"

    /// Tokens unused since before this have expired (nil: they never do).
    func tokenCutoff(now: Timestamp = .now()) -> Timestamp? {
        let days = configuration.tokenExpiryDays
        guard days > 0 else { return nil }
        return Timestamp(milliseconds: now.milliseconds - Int64(days) * 86_400_000)
    }

    /// Deletes expired tokens: at start, then at most once an hour (on password logins).
    func purgeExpiredTokens(now: Timestamp = .now()) async throws {
        guard let cutoff = tokenCutoff(now: now) else { return }
        let last = lastTokenPurge.load(ordering: .relaxed)
        guard now.milliseconds - last >= 3_600_000,
              lastTokenPurge.compareExchange(expected: last, desired: now.milliseconds, ordering: .relaxed).exchanged
        else { return }
        let deleted = try await store.deleteTokens(unusedSince: cutoff)
        if deleted > 0 { logger.info("deleted \(deleted) expired tokens") }
    }

    /// A new token for a password login or a registration, then the session.
    private func beginSession(_ session: Session, _ record: UserRecord) async throws -> AuthResult {
        let token = SessionToken.generate()
        let hash = SessionToken.hash(token)
        let now = Timestamp.now()
        try await store.insertToken(hash: hash, userID: record.id, at: now)
        try await purgeExpiredTokens(now: now)
        session.tokenHash = hash
        return try await attach(session, record, token: token)
    }

    private func attach(_ session: Session, _ record: UserRecord, token: String?) async throws -> AuthResult {
        try checkNotBanned(record.id)
        let user = SessionUser(id: record.id, username: record.username, key: record.key, role: record.role, isBot: record.isBot)
        let seq = comeOnline(session, as: user) ?? 0
        let conversations = try await conversationsOf(user)
        return AuthResult(user: user.info, token: token, rooms: try await roomsOf(user), conversations: conversations, seq: seq)
    }

    private func guestLogin(_ username: String, key: String, _ session: Session) async throws -> AuthResult {
        guard !session.connection.isDetached else {
            // A guest lives as long as its connection: an API call has none.
            throw ProtocolError(.missingField, "missing field 'password' (guests use the WebSocket or TCP protocol)")
        }
        guard configuration.guestsAllowed else {
            throw ProtocolError(.guestsDisabled, "this server does not accept guests: register an account")
        }
        // An account registered on another node since this one started is not in memory yet.
        try await learnAccount(key)
        let outcome = hub.withState { s -> ProtocolError? in
            if s.directory[key] != nil || s.pendingRegistrations.contains(key) {
                return ProtocolError(.passwordRequired, "'\(username)' is a registered account: give its password")
            }
            if s.onlineKeys[key] != nil || s.remote.values.contains(where: { $0.isGuest && UserKey.of($0.username) == key }) {
                return ProtocolError(.usernameTaken, "the name '\(username)' is in use by a connected guest")
            }
            if let other = s.lookAlike(of: username) {
                return ProtocolError(.usernameTaken, "'\(username)' looks too much like '\(other)', a name in use: choose another")
            }
            return nil
        }
        if let outcome { throw outcome }
        let user = SessionUser(id: try await guestIDs.next(), username: username, key: key, role: .guest)
        // Across nodes, the shared state decides between two guests racing for one name.
        if let presence, !(try await presence.claimGuestName(user.actor, key: key)) {
            throw ProtocolError(.usernameTaken, "the name '\(username)' is in use by a connected guest")
        }
        // `comeOnline` re-checks under the lock: two guests racing for one name cannot both win.
        guard let seq = comeOnline(session, as: user, requireNew: true) else {
            presence?.wentOffline(user.actor)
            throw ProtocolError(.usernameTaken, "the name '\(username)' is in use")
        }
        let rooms = hub.withState { s in (s.memberships[user.id] ?? []).sorted().compactMap { s.roomInfo($0, unread: 0, viewer: user.id) } }
        return AuthResult(user: user.info, token: nil, rooms: rooms, conversations: [], seq: seq)
    }

    /// The user's private conversations at login, newest first, with the other person's name
    /// as it is now.
    func conversationsOf(_ user: SessionUser) async throws -> [ConversationInfo] {
        guard !user.isGuest else { return [] }
        let found = try await store.conversations(userID: user.id, limit: Limits.loginConversations)
        return hub.withState { s in
            found.map { c in
                ConversationInfo(with: c.peerID.flatMap { s.names[$0] } ?? c.peerName, unread: c.unread, lastMessageID: c.lastMessageID)
            }
        }
    }

    /// Registers the connection as the user's and tells those who share a room when the
    /// user was offline until now. Returns the newest `seq` applied when it attached (every
    /// later event reaches this connection), or nil when a new guest's name was taken.
    @discardableResult
    func comeOnline(_ session: Session, as user: SessionUser, requireNew: Bool = false) -> Int64? {
        if session.connection.isDetached {
            session.user = user
            return hub.withState { s in
                s.noteCaller(user)
                return s.appliedSeq
            }
        }
        let limit = configuration.presenceRoomLimit
        let tokenHash = session.tokenHash
        let result = hub.withState { s -> (seq: Int64?, first: Bool, audience: [Connection]) in
            if requireNew && (s.onlineKeys[user.key] != nil || s.directory[user.key] != nil || s.lookAlike(of: user.username) != nil) {
                return (nil, false, [])
            }
            // Online on another node already: online for everyone already, no push.
            let elsewhere = s.remote[user.id] != nil
            let first = s.attach(session.connection, as: user)
            if let tokenHash { s.tokenConnections[tokenHash, default: []].append(session.connection) }
            return (s.appliedSeq, first, first && !elsewhere ? s.presenceAudience(of: user.id, roomLimit: limit) : [])
        }
        guard let seq = result.seq else { return nil }
        session.user = user
        session.connection.markLoggedIn()
        if result.first {
            if !result.audience.isEmpty {
                Hub.deliver(EnvelopeEncoder.push("presence", PresencePush(username: user.username, online: true)), to: result.audience)
            }
            presence?.cameOnline(user.actor, key: user.key)
        }
        return seq
    }
}
