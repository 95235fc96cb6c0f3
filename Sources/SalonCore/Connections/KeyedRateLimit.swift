import Synchronization

/// A rate limit per key (a user), counted per hour with bursts of the hourly amount: what
/// `create_room` is held to. Memory is bounded: buckets that have filled up again are
/// forgotten when the table grows large.
final class KeyedRateLimit: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let perHour: Int
    private let buckets = Mutex<[String: Bucket]>([:])
    static let maxEntries = 100_000

    /// `perHour` 0 turns the limit off.
    init(perHour: Int) {
        self.perHour = perHour
    }

    /// Takes one; nil when allowed, else the seconds until the next one is.
    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        guard perHour > 0 else { return nil }
        let burst = Double(perHour)
        let perSecond = burst / 3600
        return buckets.withLock { table in
            var bucket = Self.refill(table[key], burst: burst, perSecond: perSecond, now: now)
            guard bucket.tokens >= 1 else { return Int(((1 - bucket.tokens) / perSecond).rounded(.up)) }
            bucket.tokens -= 1
            if table.count >= Self.maxEntries {
                table = table.filter { Self.refill($0.value, burst: burst, perSecond: perSecond, now: now).tokens < burst }
            }
            table[key] = bucket
            return nil
        }
    }

    /// Gives one back (the creation it was taken for failed).
    func refund(_ key: String) {
        buckets.withLock { table in
            if var bucket = table[key] {
                bucket.tokens = min(Double(perHour), bucket.tokens + 1)
                table[key] = bucket
            }
        }
    }

    private static func refill(_ bucket: Bucket?, burst: Double, perSecond: Double, now: ContinuousClock.Instant) -> Bucket {
        guard var bucket else { return Bucket(tokens: burst, updated: now) }
        let elapsed = bucket.updated.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        bucket.tokens = min(burst, bucket.tokens + seconds * perSecond)
        bucket.updated = now
        return bucket
    }
}
