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
        if connections.count == 1, let only = connections.first {
            only.sink.send(frame)
            return
        }
        var lanes: [ObjectIdentifier: (lane: any DeliveryLane, sinks: [any ConnectionSink])] = [:]
        for connection in connections {
            guard let lane = connection.sink.lane else {
                connection.sink.send(frame)
                continue
            }
            lanes[ObjectIdentifier(lane), default: (lane, [])].sinks.append(connection.sink)
        }
        for (lane, sinks) in lanes.values {
            lane.deliver(frame, to: sinks)
        }
    }

    /// Delivers a stored message to everyone concerned but the connection that sent it:
    /// encoded once, the same bytes for all.
    func fanOut(_ committed: MessageLog.Committed) {
        let message = committed.message
        let recipients = withState { s -> [Connection] in
            if let room = message.room {
                if message.id > s.rooms[room]?.lastMessageID ?? 0 { s.rooms[room]?.lastMessageID = message.id }
                return s.connections(ofRoom: room, excluding: committed.origin)
            }
            var out = s.connections(of: message.senderKey).filter { $0 != committed.origin }
            if let peer = committed.recipientKey, peer != message.senderKey {
                out += s.connections(of: peer)
            }
            return out
        }
        guard !recipients.isEmpty else { return }
        Self.deliver(EnvelopeEncoder.receiveMessage(message.wire), to: recipients)
    }
}
