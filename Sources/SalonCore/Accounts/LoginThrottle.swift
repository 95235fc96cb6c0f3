import Synchronization

/// How many failed password logins `LoginThrottle` allows.
public struct LoginThrottleSettings: Sendable {
    /// Failures allowed in a row on one account, then one more every `accountRefill` s.
    public var accountBurst: Double = 5
    public var accountRefill: Double = 30
    /// The same per client address (many accounts guessed from one place).
    public var addressBurst: Double = 50
    public var addressRefill: Double = 2
    public init() {}
}


/// Limits password guessing: every password check takes a token from the account's bucket
/// and from the client address's bucket before bcrypt runs, and a successful login gives them
/// back, so only failures count. An empty bucket refuses at once, without bcrypt, with the
/// seconds until the next try is allowed: a flood of guesses costs the server almost nothing
/// and cannot delay anybody else's login.
///
/// Taking the token before the check (not after a failure) matters: 200 connections guessing
/// at once would otherwise all pass the check before the first failure was counted.
final class LoginThrottle: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private struct State {
        var accounts: [String: Bucket] = [:]
        var addresses: [String: Bucket] = [:]
    }

    /// Entries kept before full buckets are forgotten (memory stays bounded under a flood of
    /// names or addresses).
    static let maxEntries = 100_000

    let settings: LoginThrottleSettings
    private let state = Mutex(State())

    init(settings: LoginThrottleSettings) {
        self.settings = settings
    }

    /// What one check took, to give back if the password was right.
    struct Reservation: Sendable {
        let account: String
        let address: String?
    }

    /// Takes a token for `account` and for `address`, or says how many seconds to wait.
    func reserve(account: String, address: String?, now: ContinuousClock.Instant = .now) -> Result<Reservation, Wait> {
        let s = settings
        return state.withLock { state in
            var accountBucket = Self.refilled(state.accounts[account], burst: s.accountBurst, refill: s.accountRefill, now: now)
            var addressBucket = address.map { Self.refilled(state.addresses[$0], burst: s.addressBurst, refill: s.addressRefill, now: now) }
            var wait = 0.0
            if accountBucket.tokens < 1 { wait = max(wait, (1 - accountBucket.tokens) * s.accountRefill) }
            if let b = addressBucket, b.tokens < 1 { wait = max(wait, (1 - b.tokens) * s.addressRefill) }
            guard wait == 0 else { return .failure(Wait(seconds: Int(wait.rounded(.up)))) }
            accountBucket.tokens -= 1
            addressBucket?.tokens -= 1
            Self.prune(&state.accounts, burst: s.accountBurst, refill: s.accountRefill, now: now)
            state.accounts[account] = accountBucket
            if let address, let addressBucket {
                Self.prune(&state.addresses, burst: s.addressBurst, refill: s.addressRefill, now: now)
                state.addresses[address] = addressBucket
            }
            return .success(Reservation(account: account, address: address))
        }
    }

    /// The password was right: the check does not count as a failure.
    func refund(_ reservation: Reservation) {
        let s = settings
        state.withLock { state in
            if var b = state.accounts[reservation.account] {
                b.tokens = min(s.accountBurst, b.tokens + 1)
                state.accounts[reservation.account] = b
            }
            if let address = reservation.address, var b = state.addresses[address] {
                b.tokens = min(s.addressBurst, b.tokens + 1)
                state.addresses[address] = b
            }
        }
    }

    struct Wait: Error, Sendable {
        let seconds: Int
    }

    private static func refilled(_ bucket: Bucket?, burst: Double, refill: Double, now: ContinuousClock.Instant) -> Bucket {
        guard var bucket else { return Bucket(tokens: burst, updated: now) }
        let elapsed = bucket.updated.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        bucket.tokens = min(burst, bucket.tokens + seconds / max(refill, 0.001))
        bucket.updated = now
        return bucket
    }

    /// Past `maxEntries`, forgets the buckets that have filled up again (they hold nothing).
    private static func prune(_ table: inout [String: Bucket], burst: Double, refill: Double, now: ContinuousClock.Instant) {
        guard table.count >= maxEntries else { return }
        table = table.filter { refilled($0.value, burst: burst, refill: refill, now: now).tokens < burst }
        if table.count >= maxEntries { table.removeAll(keepingCapacity: true) }
    }
}
