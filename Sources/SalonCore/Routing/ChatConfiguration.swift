import SalonProtocol

/// Settings of the domain core. The defaults are those of PROTOCOL.md §12.
public struct ChatConfiguration: Sendable {
    /// Whether `login` with a name alone (a guest) is allowed.
    /// This node's name among the nodes sharing a database (presence across nodes).
    public var nodeName: String = "salon"
    public var guestsAllowed: Bool = true
    /// Requests a second per connection, bursts of twice that; 0 turns rate limiting off.
    public var rateLimit: Int = 20
    /// bcrypt cost for new passwords (12 ≈ 0.2 s of CPU). Tests lower it.
    public var bcryptCost: UInt8 = 12
    /// The most messages stored in one transaction.
    public var maxBatch: Int = 2048
    /// Rooms with more members than this carry no `presence` pushes: in a room of N members
    /// a wave of N logins would cost N² pushes (a reconnect storm of 10,000 clients, all in
    /// `general`, would mean 50 million). Clients ask `list_users` instead, as in the large
    /// rooms of other chat systems.
    public var presenceRoomLimit: Int = 1_000
    /// The most rooms one user may be a member of (`general` included): what bounds the
    /// `rooms` of a `login` reply.
    public var maxRoomsPerUser: Int = 500
    /// The most rooms the server holds; past it `create_room` is refused.
    public var maxRooms: Int = 10_000
    /// Rooms one user may create an hour (bursts of that many); 0 turns the limit off.
    public var roomsPerHour: Int = 20
    /// Days a token may go unused before it expires (and is deleted); 0 = never.
    public var tokenExpiryDays: Int = 90
    /// The largest file one may upload, in bytes.
    public var maxUploadBytes: Int64 = Limits.uploadBytes
    /// Failed password logins: bursts and refill per account and per client address.
    public var loginThrottle = LoginThrottleSettings()
    /// The most password checks (bcrypt) queued or running at once, server-wide; past it a
    /// login is told to retry (`rate_limited`).
    public var maxPendingPasswordChecks: Int = 64

    public init(guestsAllowed: Bool = true, rateLimit: Int = 20, bcryptCost: UInt8 = 12, maxBatch: Int = 2048, presenceRoomLimit: Int = 1_000) {
        self.guestsAllowed = guestsAllowed
        self.rateLimit = rateLimit
        self.bcryptCost = bcryptCost
        self.maxBatch = maxBatch
        self.presenceRoomLimit = presenceRoomLimit
    }
}
