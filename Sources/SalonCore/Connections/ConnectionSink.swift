import SalonProtocol
import Synchronization

/// Why a connection is being closed by the server.
public enum CloseReason: Sendable, Equatable, CustomStringConvertible {
    /// The client asked (`logout`).
    case logout
    /// The client sent a frame over the limit.
    case frameTooLarge
    /// The client stopped reading and its outgoing queue passed the limit.
    case slowConsumer(queuedBytes: Int)
    /// The server is stopping.
    case shutdown
    /// The connection did not log in within the login timeout.
    case loginTimeout
    /// Its account was banned from the server.
    case banned
    /// An IRC client answered no `PING`.
    case pingTimeout

    public var description: String {
        switch self {
        case .logout: return "logout"
        case .frameTooLarge: return "frame too large"
        case .slowConsumer(let bytes): return "slow consumer (\(bytes) bytes queued)"
        case .shutdown: return "server shutting down"
        case .loginTimeout: return "no login in time"
        case .banned: return "banned"
        case .pingTimeout: return "ping timeout"
        }
    }
}

/// The one thing the core knows of a transport: somewhere to put encoded envelopes.
///
/// Implementations (WebSocket, TCP) write on their own event loop and never block the caller;
/// each keeps its outgoing queue bounded and cuts off a client that falls too far behind.
public protocol ConnectionSink: AnyObject, Sendable {
    /// Queues one envelope. The same `EncodedFrame` is handed to every recipient of a push.
    func send(_ frame: EncodedFrame)
    /// Closes the connection (after what was queued before, where the transport allows).
    func close(_ reason: CloseReason)
    /// The lane this sink is written from (its event loop), if it has one: fan-out hands a
    /// frame once to each lane with all of that lane's recipients, instead of once per sink.
    var lane: (any DeliveryLane)? { get }
    /// What the sink writes: fan-out renders each event once per format and hands every
    /// sink of a format the same bytes.
    var format: WireFormat { get }
}

extension ConnectionSink {
    public var format: WireFormat { .json }
}

/// How events are rendered for a sink. The JSON envelope (`EncodedFrame`, with its WebSocket
/// and TCP framings in one storage) is the only one so far; the IRC gateway will add its own
/// rendering of the same events.
public enum WireFormat: Sendable, Hashable {
    case json
}

/// Where several sinks are written together (a NIO event loop, for the server's transports).
public protocol DeliveryLane: AnyObject, Sendable {
    /// Writes each delivery's frame to each of its sinks (all of this lane), in order, in one
    /// go: a whole commit batch of messages reaches each connection in one write.
    func deliver(_ deliveries: [Delivery])
}

/// One frame for some sinks of one lane, but not for `excluding` (the sender's connection,
/// when the list is a room's whole audience).
public struct Delivery: Sendable {
    public let frame: EncodedFrame
    public var sinks: [any ConnectionSink]
    public var excluding: (any ConnectionSink)?

    public init(frame: EncodedFrame, sinks: [any ConnectionSink], excluding: (any ConnectionSink)? = nil) {
        self.frame = frame
        self.sinks = sinks
        self.excluding = excluding
    }
}

/// A connection as the core sees it: an identity, a sink, the client's address, and whether
/// it has ended (work queued for it, such as a password check, is then dropped).
public final class Connection: Sendable, Hashable {
    public let id: UInt64
    public let sink: any ConnectionSink
    /// The client's IP address, when the transport knows it (per-address limits).
    public let address: String?
    /// A request without a connection (an HTTP API call): its session acts as its user but
    /// is never attached to the hub, so it gets no pushes and makes no one online.
    let isDetached: Bool
    private let ended = Atomic<Bool>(false)

    init(id: UInt64, sink: any ConnectionSink, address: String?, isDetached: Bool = false) {
        self.id = id
        self.sink = sink
        self.address = address
        self.isDetached = isDetached
    }

    private let loggedIn = Atomic<Bool>(false)

    public var isClosed: Bool { ended.load(ordering: .relaxed) }
    func markClosed() { ended.store(true, ordering: .relaxed) }
    /// Whether a login or registration succeeded on it (the transport's login timeout).
    public var hasLoggedIn: Bool { loggedIn.load(ordering: .relaxed) }
    func markLoggedIn() { loggedIn.store(true, ordering: .relaxed) }

    public static func == (a: Connection, b: Connection) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}
