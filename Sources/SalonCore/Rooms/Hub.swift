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

    /// Delivers a committed batch of messages to everyone concerned but the connection that
    /// sent each one, then the senders' replies: each message encoded once, the same bytes for
    /// all, and the whole of it handed to each lane in one go (one task per event loop, and a
    /// connection gets its share in one write).
    func fanOut(_ batch: [MessageLog.Committed], replies: [MessageLog.Reply] = []) {
        var lanes = Lanes()
        // Under the lock only what is needed: room audiences are taken as they are (arrays
        // shared, not copied); direct messages are listed.
        let targets = withState { s -> [Target] in
            batch.map { committed in
                let message = committed.message
                if let room = message.room {
                    if message.id > s.rooms[room]?.lastMessageID ?? 0 { s.rooms[room]?.lastMessageID = message.id }
                    return .room(s.rooms[room]?.audience ?? RoomAudience())
                }
                // By name, then checked by id: a guest's pseudonym may have passed to someone
                // else since the message was sent.
                var out = s.connections(of: message.senderKey, id: message.senderID).filter { $0 != committed.origin }
                if let peer = committed.recipientKey, peer != message.senderKey {
                    out += s.connections(of: peer, id: committed.recipientID)
                }
                return .connections(out)
            }
        }
        for (committed, target) in zip(batch, targets) {
            switch target {
            case .room(let audience) where audience.count > 0:
                lanes.add(EnvelopeEncoder.receiveMessage(committed.encodedMessage), for: audience, excluding: committed.origin)
            case .connections(let connections) where !connections.isEmpty:
                lanes.add(EnvelopeEncoder.receiveMessage(committed.encodedMessage), for: connections)
            default:
                continue
            }
        }
        for reply in replies {
            lanes.add(reply.frame, for: reply.connection)
        }
        lanes.send()
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
        for (lane, deliveries) in lanes {
            lane.deliver(deliveries)
        }
    }
}
