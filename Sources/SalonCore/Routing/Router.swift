import Logging
import NIOCore
import SalonProtocol
import ServiceLifecycle
import Synchronization

/// The domain core's front: transports hand it each request frame of a session and it
/// answers through the session's sink. It holds the in-memory state (`Hub`), the store and the
/// message log; it knows nothing of WebSocket or TCP.
///
/// As a `Service` it runs the event log's writer; on graceful shutdown it stops taking
/// changes, stores what is queued, and closes the store.
public final class Router: Service, Sendable {
    let store: any ChatStore
    let hub: Hub
    let log: EventLog
    let passwords: PasswordHasher
    let configuration: ChatConfiguration
    let logger: Logger
    let loginThrottle: LoginThrottle
    let guestIDs: GuestIDs
    /// Room creations per user (`roomsPerHour`, bursts of as many).
    let roomCreations: KeyedBuckets
    /// HTTP API calls, per account (per address before login): the socket's rate limit.
    let apiCalls: KeyedBuckets
    /// Presence and typing across the nodes sharing the database (nil: one node).
    let presence: ClusterPresence?
    private let connectionIDs = Atomic<UInt64>(0)
    /// When expired tokens were last deleted (ms since 1970).
    let lastTokenPurge = Atomic<Int64>(0)

    private init(store: any ChatStore, hub: Hub, configuration: ChatConfiguration, logger: Logger, seq: Int64) {
        self.store = store
        self.hub = hub
        self.configuration = configuration
        self.logger = logger
        self.passwords = PasswordHasher(cost: configuration.bcryptCost, maxPending: configuration.maxPendingPasswordChecks)
        self.loginThrottle = LoginThrottle(settings: configuration.loginThrottle, cluster: store.cluster)
        self.guestIDs = GuestIDs(store: store)
        self.roomCreations = KeyedBuckets(rate: Double(configuration.roomsPerHour) / 3600, burst: Double(configuration.roomsPerHour))
        self.apiCalls = KeyedBuckets(rate: Double(configuration.rateLimit), burst: Double(configuration.rateLimit) * 2)
        self.presence = store.cluster.map {
            ClusterPresence(node: configuration.nodeName, cluster: $0, hub: hub, presenceRoomLimit: configuration.presenceRoomLimit, logger: logger)
        }
        self.log = EventLog(store: store, maxBatch: configuration.maxBatch, logger: logger, deliveredSeq: seq, subscribers: [{ batch in hub.fanOut(batch) }])
    }

    /// Opens the core on a store: migrates it, makes sure `general` exists, and loads rooms,
    /// memberships and the user directory into memory.
    public static func start(store: any ChatStore, configuration: ChatConfiguration = .init(), logger: Logger) async throws -> Router {
        try await store.migrate()
        _ = try await store.ensureRoom(name: HubState.general, at: .now())
        let rooms = try await store.allRooms()
        let memberships = try await store.allMemberships()
        let users = try await store.allUsers()
        let seq = try await store.lastSeq()
        let sanctions = try await store.allSanctions()

        let hub = Hub()
        hub.withState { s in
            s.appliedSeq = seq
            for user in users {
                s.learn(user)
                s.addSkeleton(user.username)
            }
            for record in rooms {
                s.addRoom(record)
            }
            for sanction in sanctions { s.sanctions[sanction.key] = sanction }
            for m in memberships {
                if let name = s.roomNames[m.roomID] {
                    s.addMember(m.userID, name: m.username, to: name, role: m.role)
                }
            }
        }
        logger.info("loaded \(rooms.count) rooms, \(users.count) users, last seq \(seq)")
        let router = Router(store: store, hub: hub, configuration: configuration, logger: logger, seq: seq)
        try await router.purgeExpiredTokens()
        return router
    }

    public func run() async throws {
        let log = self.log
        // Other nodes' commits (a shared PostgreSQL), heard of by their newest seq.
        let listener = store.commitNotifications().map { seqs in
            Task {
                for await seq in seqs { await log.otherNodeCommitted(through: seq) }
            }
        }
        let presenceTask = presence.map { presence in Task { await presence.run() } }
        // Bans and mutes that run out end on time (at most a second late), as events.
        let expiry = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await liftExpired()
            }
        }
        // Stop taking messages on graceful shutdown, and also on cancellation (another
        // service failed): either way the queue is written before the store closes.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await log.run()
            } onGracefulShutdown: {
                log.stop()
            }
        } onCancel: {
            log.stop()
        }
        expiry.cancel()
        await expiry.value
        listener?.cancel()
        await listener?.value
        presenceTask?.cancel()
        await presenceTask?.value
        await presence?.leave()
        try await store.close()
    }

    /// An account this node has not heard of yet (registered on another node since this one
    /// started: memory is a cache) is read from the store into the directory. Returns whether
    /// the directory knows the name now.
    @discardableResult
    func learnAccount(_ key: String) async throws -> Bool {
        if hub.withState({ $0.directory[key] != nil }) { return true }
        guard let record = try await store.user(key: key) else { return false }
        hub.withState { $0.learn(record) }
        return true
    }

    /// With other nodes: delivers here whatever they committed up to now (a request naming a
    /// room created, or joined, on another node a moment ago, before its notification came).
    func catchUpWithOtherNodes() async {
        guard store.cluster != nil, let newest = try? await store.lastSeq() else { return }
        await log.otherNodeCommitted(through: newest)
    }

    /// The newest `seq` applied (and fanned out) here.
    public var newestSeq: Int64 { hub.withState { $0.appliedSeq } }

    /// Stops the event log (for use without a ServiceGroup); `run()` then returns.
    public func shutdown() {
        log.stop()
    }

    // MARK: Connections

    /// A new connection: the transport keeps the session and passes it back with each frame.
    /// `address` is the client's IP address, for per-address limits.
    public func open(_ sink: any ConnectionSink, address: String? = nil) -> Session {
        let id = connectionIDs.wrappingAdd(1, ordering: .relaxed).newValue
        return Session(connection: Connection(id: id, sink: sink, address: address), rateLimit: configuration.rateLimit)
    }

    /// The session of one call without a connection (`call`): never attached to the hub.
    func openDetached(_ sink: any ConnectionSink, address: String?) -> Session {
        let id = connectionIDs.wrappingAdd(1, ordering: .relaxed).newValue
        return Session(connection: Connection(id: id, sink: sink, address: address, isDetached: true), rateLimit: 0)
    }

    /// The transport saw the connection end.
    public func close(_ session: Session) {
        session.connection.markClosed()
        guard !session.connection.isDetached, let user = session.user else { return }
        session.user = nil
        let limit = configuration.presenceRoomLimit
        let tokenHash = session.tokenHash
        let (gone, audience) = hub.withState { s -> (SessionUser?, [Connection]) in
            if let tokenHash {
                s.tokenConnections[tokenHash]?.removeAll { $0 == session.connection }
                if s.tokenConnections[tokenHash]?.isEmpty == true { s.tokenConnections[tokenHash] = nil }
            }
            // Only a user's last connection takes them offline; the audience is taken before
            // `detach`, which ends a guest's memberships.
            // (Online on another node too: still online for everyone, no push.)
            let last = s.connections(of: user.id).count == 1
            let audience = last && s.remote[user.id] == nil ? s.presenceAudience(of: user.id, roomLimit: limit) : []
            return (s.detach(session.connection, id: user.id), audience)
        }
        if let gone {
            if !audience.isEmpty {
                Hub.deliver(EnvelopeEncoder.push("presence", PresencePush(username: gone.username, online: false)), to: audience)
            }
            presence?.wentOffline(gone.actor)
        }
    }

    /// Replies with an error that no request caused as such (`frame_too_large`,
    /// `invalid_frame`): it has no `reply_to`.
    public func reject(_ session: Session, _ error: ProtocolError) {
        session.send(EnvelopeEncoder.error(replyTo: nil, error))
    }

    // MARK: Requests

    /// Handles one request frame: decode, the shared checks of the action table, the handler,
    /// and exactly one reply.
    public func handle(_ frame: ByteBuffer, from session: Session) async -> AfterRequest {
        let envelope = ClientEnvelope<Actions>.decode(frame)
        let replyTo = envelope.id
        guard session.bucket.take() else {
            ChatMetrics.rateLimited.increment()
            session.send(EnvelopeEncoder.error(replyTo: replyTo, ProtocolError(.rateLimited, "too many requests: at most \(configuration.rateLimit) a second")))
            return .keepOpen
        }
        let request: Actions.Bound
        let access: RoomAccess?
        do {
            let spec = Actions.table[envelope.action]
            try spec?.access.check(session)
            request = try envelope.payload.get()
        } catch {
            session.send(EnvelopeEncoder.error(replyTo: replyTo, error as? ProtocolError ?? ProtocolError(.internal, "internal error")))
            return .keepOpen
        }
        let permission = Actions.table[envelope.action]?.permission ?? .none
        do {
            do {
                access = try authorize(permission, room: request.room, session)
            } catch let error as ProtocolError where (error.code == .roomNotFound || error.code == .notMember) && store.cluster != nil {
                // Created or joined on another node a moment ago: its event may not be here yet.
                await catchUpWithOtherNodes()
                access = try authorize(permission, room: request.room, session)
            }
        } catch {
            session.send(EnvelopeEncoder.error(replyTo: replyTo, error as? ProtocolError ?? ProtocolError(.internal, "internal error")))
            return .keepOpen
        }
        do {
            if let frame = try await request.run(self, session, replyTo, access) {
                session.send(frame)
            }
            return request.closesConnection ? .close(.logout) : .keepOpen
        } catch let error as ProtocolError {
            session.send(EnvelopeEncoder.error(replyTo: replyTo, error))
        } catch {
            logger.error("request failed", metadata: ["action": "\(envelope.action)", "error": "\(error)"])
            session.send(EnvelopeEncoder.error(replyTo: replyTo, ProtocolError(.internal, "the server could not complete the request")))
        }
        return .keepOpen
    }
}
