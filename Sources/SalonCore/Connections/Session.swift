import SalonProtocol

/// The logged-in identity of a session.
public struct SessionUser: Sendable, Equatable {
    /// The person's id: an account's, or a guest's own, new at each guest login.
    public var id: Int64
    public var username: String
    public var key: String
    public var role: UserRole
    /// A bot's account (`salon admin bot create`, or a webhook's).
    public var isBot = false
    public var isGuest: Bool { role == .guest }
    public var info: UserInfo { UserInfo(username: username, role: role, bot: isBot ? true : nil) }
}

/// One client connection's state, owned by the transport's read loop: requests on one
/// connection are handled one after the other, so nothing here needs a lock.
public final class Session {
    public let connection: Connection
    public internal(set) var user: SessionUser?
    /// SHA-256 of the token this session logged in with (revoked by `logout`).
    var tokenHash: String?
    var bucket: TokenBucket
    /// Messages sent on this connection and not yet stored.
    let inFlight = InFlightLimit(limit: Session.maxMessagesInFlight)

    /// Whether `success` replies come as their values (`TypedReply`), not JSON: set by a
    /// transport in this process that renders them itself (IRC). Errors and pushes are JSON.
    public var typedReplies = false

    /// How many messages one connection may have waiting for their commit.
    static let maxMessagesInFlight = 256

    init(connection: Connection, rateLimit: Int) {
        self.connection = connection
        // In floating point: a huge setting must not overflow (it is range-checked at start too).
        self.bucket = TokenBucket(rate: Double(rateLimit), burst: Double(rateLimit) * 2)
    }

    /// Sends one envelope to this connection only.
    func send(_ frame: EncodedFrame) { connection.sink.send(frame) }
}

/// What the transport does after a request.
public enum AfterRequest: Sendable, Equatable {
    case keepOpen
    case close(CloseReason)
}
