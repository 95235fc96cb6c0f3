import Foundation
import Logging
import SalonProtocol

/// What a node's clients see of the other nodes beyond the event log: who is online there
/// (presence pushes, online dots and counts, `list_users`) and who is typing. Each node notes
/// its own people in the shared `ClusterState` (in order: one worker takes this node's
/// changes one after the other), tells the others with a notice, and applies theirs. A node
/// that stops beating is removed after `deadline` by the first node to notice, which tells the
/// others that its people went offline.
final class ClusterPresence: Sendable {
    /// A notice between nodes: presence or typing. Small (a few hundred bytes).
    struct Notice: Codable, Sendable {
        enum Kind: String, Codable, Sendable { case online, offline, typing }
        var kind: Kind
        /// The node that sends it (its own notices are skipped).
        var from: String
        /// The node the person is (or was) online on.
        var node: String
        var user: Int64
        var name: String
        var guest: Bool
        var room: Int64?
        var peer: Int64?
    }

    private enum Work: Sendable {
        case online(Actor, key: String)
        case offline(Actor)
        case publish(Notice)
    }

    static let beat: Duration = .seconds(5)
    /// A node silent this long is dead.
    static let deadline: Int64 = 15_000

    let node: String
    private let cluster: any ClusterState
    private let hub: Hub
    private let presenceRoomLimit: Int
    private let logger: Logger
    private let work: AsyncStream<Work>.Continuation
    private let queue: AsyncStream<Work>

    init(node: String, cluster: any ClusterState, hub: Hub, presenceRoomLimit: Int, logger: Logger) {
        self.node = node
        self.cluster = cluster
        self.hub = hub
        self.presenceRoomLimit = presenceRoomLimit
        self.logger = logger
        (queue, work) = AsyncStream<Work>.makeStream()
    }

    // MARK: This node's changes

    /// A guest's name, claimed across the cluster before the guest is let in: false when a
    /// guest on another node holds it.
    func claimGuestName(_ guest: Actor, key: String) async throws -> Bool {
        try await cluster.online(node: node, user: guest, key: key, at: .now())
    }

    func cameOnline(_ user: Actor, key: String) {
        work.yield(.online(user, key: key))
    }

    func wentOffline(_ user: Actor) {
        work.yield(.offline(user))
    }

    func typing(_ user: Actor, roomID: Int64?, peer: Int64?) {
        work.yield(.publish(Notice(kind: .typing, from: node, node: node, user: user.id, name: user.username, guest: user.isGuest, room: roomID, peer: peer)))
    }

    // MARK: Running

    /// Runs until cancelled: forgets what this node noted in a previous run, learns who is
    /// online elsewhere, then works through this node's changes, beats, and applies the
    /// other nodes' notices.
    func run() async {
        let notices = cluster.notices()
        await leave()  // what this node noted in a previous run
        do {
            let elsewhere = try await cluster.onlineElsewhere(node: node, aliveSince: Self.aliveSince())
            hub.withState { s in
                for (user, node) in elsewhere { _ = s.remoteOnline(user, node: node) }
            }
        } catch is CancellationError {
            return
        } catch {
            logger.error("could not learn who is online on the other nodes", metadata: ["error": "\(error)"])
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.work(through: self.queue) }
            group.addTask { await self.beat() }
            group.addTask {
                for await text in notices { self.apply(text) }
            }
            await withTaskCancellationHandler {
                await group.next()
            } onCancel: {
                work.finish()
            }
            group.cancelAll()
        }
    }

    private func work(through queue: AsyncStream<Work>) async {
        for await item in queue {
            do {
                switch item {
                case .online(let user, let key):
                    _ = try await cluster.online(node: node, user: user, key: key, at: .now())
                    try await cluster.publish(encode(Notice(kind: .online, from: node, node: node, user: user.id, name: user.username, guest: user.isGuest)))
                case .offline(let user):
                    _ = try await cluster.offline(node: node, userID: user.id, aliveSince: Self.aliveSince())
                    try await cluster.publish(encode(Notice(kind: .offline, from: node, node: node, user: user.id, name: user.username, guest: user.isGuest)))
                case .publish(let notice):
                    try await cluster.publish(encode(notice))
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("telling the other nodes failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The node stops: its people are offline here now, for every other node at once (not
    /// only when its beat is missed).
    func leave() async {
        do {
            for user in try await cluster.forget(node: node) {
                try await cluster.publish(encode(Notice(kind: .offline, from: node, node: node, user: user.id, name: user.username, guest: user.isGuest)))
            }
        } catch is CancellationError {
            return
        } catch {
            logger.warning("could not tell the other nodes that this one stops", metadata: ["error": "\(error)"])
        }
    }

    private func beat() async {
        while !Task.isCancelled {
            do {
                let now = Timestamp.now()
                let gone = try await cluster.heartbeat(node: node, now: now, deadline: Timestamp(milliseconds: now.milliseconds - Self.deadline))
                for (user, dead) in gone {
                    logger.notice("node \(dead) stopped: \(user.username) is offline there")
                    let notice = Notice(kind: .offline, from: node, node: dead, user: user.id, name: user.username, guest: user.isGuest)
                    apply(notice)
                    try await cluster.publish(encode(notice))
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("the cluster heartbeat failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: Self.beat)
        }
    }

    // MARK: Other nodes' notices

    private func apply(_ text: String) {
        guard let notice = try? JSONDecoder().decode(Notice.self, from: Data(text.utf8)) else {
            logger.warning("a notice from another node could not be read")
            return
        }
        guard notice.from != node else { return }
        apply(notice)
    }

    private func apply(_ notice: Notice) {
        let actor = Actor(id: notice.user, username: notice.name, isGuest: notice.guest)
        let limit = presenceRoomLimit
        switch notice.kind {
        case .online, .offline:
            let online = notice.kind == .online
            let audience = hub.withState { s -> [Connection] in
                let changed = online ? s.remoteOnline(actor, node: notice.node) : s.remoteOffline(actor.id, node: notice.node)
                // Taken after an online change, before an offline one ends a guest's rooms:
                // remoteOffline already did, so a guest's offline goes to #general.
                guard changed else { return [] }
                let audience = s.presenceAudience(of: actor.id, roomLimit: limit)
                return audience.isEmpty && actor.isGuest ? s.connections(ofRoom: HubState.general, excluding: actor.id) : audience
            }
            if !audience.isEmpty {
                Hub.deliver(EnvelopeEncoder.push("presence", PresencePush(username: actor.username, online: online)), to: audience)
            }
        case .typing:
            let (recipients, room, to) = hub.withState { s -> ([Connection], String?, String?) in
                if let roomID = notice.room, let room = s.room(id: roomID) {
                    return (s.connections(ofRoom: room.name, excluding: actor.id), room.name, nil)
                }
                if let peer = notice.peer {
                    return (s.connections(of: peer), nil, s.displayName(peer))
                }
                return ([], nil, nil)
            }
            if !recipients.isEmpty {
                Hub.deliver(EnvelopeEncoder.push("typing", TypingPush(room: room, to: to, username: actor.username)), to: recipients)
            }
        }
    }

    private func encode(_ notice: Notice) throws -> String {
        String(decoding: try JSONEncoder().encode(notice), as: UTF8.self)
    }

    private static func aliveSince() -> Timestamp {
        Timestamp(milliseconds: Timestamp.now().milliseconds - deadline)
    }
}
