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

    public init(guestsAllowed: Bool = true, rateLimit: Int = 20, bcryptCost: UInt8 = 12, maxBatch: Int = 512) {
        self.guestsAllowed = guestsAllowed
        self.rateLimit = rateLimit
        self.bcryptCost = bcryptCost
        self.maxBatch = maxBatch
    }
}
