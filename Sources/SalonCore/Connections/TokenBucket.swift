/// Per-connection rate limit: `rate` requests a second, bursts of `burst`.
struct TokenBucket {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = .now
    }

    /// Takes one token; false when the bucket is empty (or always true when `rate` is 0).
    mutating func take(now: ContinuousClock.Instant = .now) -> Bool {
        guard rate > 0 else { return true }
        let elapsed = last.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        tokens = min(burst, tokens + seconds * rate)
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
