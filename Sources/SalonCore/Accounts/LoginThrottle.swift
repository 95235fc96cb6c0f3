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
    private let accounts: KeyedBuckets
    private let addresses: KeyedBuckets

    init(settings: LoginThrottleSettings) {
        accounts = KeyedBuckets(rate: 1 / max(settings.accountRefill, 0.001), burst: settings.accountBurst)
        addresses = KeyedBuckets(rate: 1 / max(settings.addressRefill, 0.001), burst: settings.addressBurst)
    }

    /// What one check took, to give back if the password was right.
    struct Reservation: Sendable {
        let account: String
        let address: String?
    }

    struct Wait: Error, Sendable {
        let seconds: Int
    }

    /// Takes a token for `account` and for `address`, or says how many seconds to wait.
    func reserve(account: String, address: String?) -> Result<Reservation, Wait> {
        if let wait = accounts.take(account) { return .failure(Wait(seconds: wait)) }
        if let address, let wait = addresses.take(address) {
            accounts.giveBack(account)
            return .failure(Wait(seconds: wait))
        }
        return .success(Reservation(account: account, address: address))
    }

    /// The password was right (or was never checked): the check does not count.
    func refund(_ reservation: Reservation) {
        accounts.giveBack(reservation.account)
        if let address = reservation.address { addresses.giveBack(address) }
    }
}
