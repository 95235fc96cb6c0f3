/// Settings of the domain core. The defaults are those of PROTOCOL.md §12.
public struct ChatConfiguration: Sendable {
    /// Whether `login` with a name alone (a guest) is allowed.
    public var guestsAllowed: Bool = true
    /// Requests a second per connection, bursts of twice that; 0 turns rate limiting off.
    public var rateLimit: Int = 20
    /// bcrypt cost for new passwords (12 ≈ 0.2 s of CPU). Tests lower it.
    public var bcryptCost: UInt8 = 12
    /// The most messages stored in one transaction.
    public var maxBatch: Int = 512
    /// Rooms with more members than this carry no `presence` pushes: in a room of N members
    /// a wave of N logins would cost N² pushes (a reconnect storm of 10,000 clients, all in
    /// `general`, would mean 50 million). Clients ask `list_users` instead, as in the large
    /// rooms of other chat systems.
    public var presenceRoomLimit: Int = 1_000

    public init(guestsAllowed: Bool = true, rateLimit: Int = 20, bcryptCost: UInt8 = 12, maxBatch: Int = 512, presenceRoomLimit: Int = 1_000) {
        self.guestsAllowed = guestsAllowed
        self.rateLimit = rateLimit
        self.bcryptCost = bcryptCost
        self.maxBatch = maxBatch
        self.presenceRoomLimit = presenceRoomLimit
    }
}
