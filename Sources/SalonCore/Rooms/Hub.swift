import Foundation
import SalonProtocol
import Synchronization

/// The in-memory state of the server behind one lock, and fan-out.
///
/// A lock rather than an actor: every step on the state is short and synchronous, and callers
/// on NIO event loops or in request tasks take it without a hop to another executor.
final class Hub: Sendable {
    private let state = Mutex(HubState())

    func withState<R>(_ body: (inout HubState) throws -> R) rethrows -> R {
        try state.withLock { try body(&$0) }
    }

    /// Sends one encoded envelope to each connection: the same bytes for all, handed once to
    /// each lane (event loop) with the list of its recipients.
    static func deliver(_ frame: EncodedFrame, to connections: [Connection]) {
        var lanes = Lanes()
        lanes.add(frame, for: connections)
        lanes.send()
    }

    /// The local subscriber of the event log: applies each committed change to the state, in
    /// `seq` order, and delivers its events to everyone concerned but the connection that
    /// made it, then the replies. Each event is rendered once (the same bytes for all), and the
    /// whole batch is handed to each lane in one go (one task per event loop, and a connection
    /// gets its share in one write).
    func fanOut(_ batch: EventLog.Batch) {
        var lanes = Lanes()
        // Under the lock: apply, then take the audiences as they are (room audiences are
        // arrays shared, not copied).
        var closing: [(Connection, CloseReason)] = []
        let targets = withState { s -> [Target] in
            var targets: [Target] = []
            for item in batch.items {
                item.apply?(&s, item.events)
                for event in item.events {
                    if let reason = Self.endsSessions(event.draft), let id = event.draft.userID {
                        closing += s.connections(of: id).map { ($0, reason) }
                    }
                    if event.seq > s.appliedSeq { s.appliedSeq = event.seq }
                    if event.draft.type == .receiveMessage, let roomID = event.draft.roomID, let name = s.roomNames[roomID],
                       event.seq > s.rooms[name]?.lastMessageID ?? 0 {
                        s.rooms[name]?.lastMessageID = event.seq
                    }
                    targets.append(Self.target(of: event.draft, in: s))
                }
            }
            return targets
        }
        var index = 0
        for item in batch.items {
            for committed in item.events {
                defer { index += 1 }
                switch targets[index] {
                case .room(let audience) where audience.count > 0:
                    lanes.add(committed.push, for: audience, excluding: item.origin)
                case .connections(let connections):
                    let recipients = connections.filter { $0 != item.origin }
                    if !recipients.isEmpty { lanes.add(committed.push, for: recipients) }
                default:
                    continue
                }
            }
        }
        for reply in batch.replies {
            lanes.add(reply.frame, for: reply.connection)
        }
        lanes.send()
        // After the push that says why: a connection closes behind what was queued on it.
        for (connection, reason) in closing { connection.sink.close(reason) }
    }

    /// Events after which the person's connections close: a server ban, and the end of all
    /// of an account's sessions (`salon admin revoke-tokens`, `reset-password`).
    private static func endsSessions(_ draft: EventDraft) -> CloseReason? {
        switch draft.type {
        case .banned where draft.roomID == nil: return .banned
        case .system where draft.roomID == nil && draft.scope == .users:
            // Rare (server roles, bans ending, sessions revoked): read to see which.
            let push = try? JSONDecoder().decode(SystemPush.self, from: Data(draft.data))
            return push?.event == "revoked" ? .logout : nil
        default: return nil
        }
    }

    /// Who an event reaches now.
    private static func target(of draft: EventDraft, in s: HubState) -> Target {
        switch draft.scope {
        case .room:
            guard let roomID = draft.roomID, let name = s.roomNames[roomID], let audience = s.rooms[name]?.audience else { return .connections([]) }
            return .room(audience)
        case .roomButActor:
            guard let roomID = draft.roomID, let room = s.room(id: roomID) else { return .connections([]) }
            return .connections(s.connections(ofRoom: room.name, excluding: draft.actorID))
        case .users:
            var out = draft.userID.map(s.connections(of:)) ?? []
            if let peer = draft.peerID, peer != draft.userID { out += s.connections(of: peer) }
            return .connections(out)
        case .everyone:
            return .connections(s.allConnections())
        }
    }

    private enum Target {
        case room(RoomAudience)
        case connections([Connection])
    }
}

/// Deliveries grouped by lane, in order. Lanes live in an array, mutated in place: a
/// dictionary of arrays copied out and back in cost a copy of the whole list per reply
/// (quadratic in the batch; 20 % of the core at 20,000 messages a second).
private struct Lanes {
    private var lanes: [(lane: any DeliveryLane, deliveries: [Delivery])] = []
    private var slots: [ObjectIdentifier: Int] = [:]

    private mutating func slot(of lane: any DeliveryLane) -> Int {
        let key = ObjectIdentifier(lane)
        if let slot = slots[key] { return slot }
        lanes.append((lane, []))
        slots[key] = lanes.count - 1
        return lanes.count - 1
    }

    /// One frame for one connection (a reply).
    mutating func add(_ frame: EncodedFrame, for connection: Connection) {
        guard let lane = connection.sink.lane else {
            connection.sink.send(frame)
            return
        }
        lanes[slot(of: lane)].deliveries.append(Delivery(frame: frame, sinks: [connection.sink]))
    }

    mutating func add(_ frame: EncodedFrame, for connections: [Connection]) {
        if connections.count == 1, let only = connections.first {
            return add(frame, for: only)
        }
        var current: [Int: Int] = [:]  // lane slot → this frame's delivery there
        for connection in connections {
            guard let lane = connection.sink.lane else {
                connection.sink.send(frame)
                continue
            }
            let slot = slot(of: lane)
            if let index = current[slot] {
                lanes[slot].deliveries[index].sinks.append(connection.sink)
            } else {
                current[slot] = lanes[slot].deliveries.count
                lanes[slot].deliveries.append(Delivery(frame: frame, sinks: [connection.sink]))
            }
        }
    }

    /// A room's whole audience, but the sender's connection.
    mutating func add(_ frame: EncodedFrame, for audience: RoomAudience, excluding origin: Connection?) {
        for connection in audience.unlaned where connection != origin {
            connection.sink.send(frame)
        }
        for group in audience.groups.values {
            lanes[slot(of: group.lane)].deliveries.append(Delivery(frame: frame, sinks: group.sinks, excluding: origin?.sink))
        }
    }

    func send() {
        var count = 0
        for (lane, deliveries) in lanes {
            for delivery in deliveries { count += delivery.sinks.count - (delivery.excluding == nil ? 0 : 1) }
            lane.deliver(deliveries)
        }
        if count > 0 { ChatMetrics.deliveries.increment(by: count) }
    }
}
