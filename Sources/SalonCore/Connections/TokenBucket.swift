import Synchronization

/// A token bucket: `rate` tokens a second, at most `burst` kept. A rate of 0 means no limit.
/// The one bucket behind every rate limit of the server: requests per connection, failed
/// logins per account and per address, room creations per user (`KeyedBuckets`).
struct TokenBucket {
    let rate: Double
    let burst: Double
    private(set) var tokens: Double
    private var last: ContinuousClock.Instant

    init(rate: Double, burst: Double, now: ContinuousClock.Instant = .now) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now
    }

    /// Takes one token; false when the bucket is empty (or always true when `rate` is 0).
    mutating func take(now: ContinuousClock.Instant = .now) -> Bool {
        guard rate > 0 else { return true }
        refill(now: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Gives one token back (what it was taken for did not count).
    mutating func giveBack() {
        tokens = min(burst, tokens + 1)
    }

    /// Whole seconds until a token is there again (0 when one is).
    var secondsUntilNext: Int {
        tokens >= 1 || rate <= 0 ? 0 : Int(((1 - tokens) / rate).rounded(.up))
    }

    /// Full again: it holds nothing worth remembering.
    func isFull(now: ContinuousClock.Instant) -> Bool {
        var copy = self
        copy.refill(now: now)
        return copy.tokens >= burst
    }

    private mutating func refill(now: ContinuousClock.Instant) {
        let elapsed = last.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        tokens = min(burst, tokens + seconds * rate)
        last = now
    }
}

/// Token buckets by key (an account, an address, a user), all of one rate and burst. Memory
/// stays bounded under a flood of keys: past `maxEntries` the buckets that have filled up
/// again are forgotten (they hold nothing), and if that is not enough, all of them.
final class KeyedBuckets: Sendable {
    static let maxEntries = 100_000

    let rate: Double
    let burst: Double
    private let buckets = Mutex<[String: TokenBucket]>([:])

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// Takes a token for `key`: nil when allowed, else the seconds until the next one is.
    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        guard rate > 0 else { return nil }
        return buckets.withLock { table in
            var bucket = table[key] ?? TokenBucket(rate: rate, burst: burst, now: now)
            guard bucket.take(now: now) else { return max(1, bucket.secondsUntilNext) }
            if table.count >= Self.maxEntries {
                table = table.filter { !$0.value.isFull(now: now) }
                if table.count >= Self.maxEntries { table.removeAll(keepingCapacity: true) }
            }
            table[key] = bucket
            return nil
        }
    }

    /// Gives back the token taken for `key`.
    func giveBack(_ key: String) {
        buckets.withLock { table in table[key]?.giveBack() }
    }
}
