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
///
/// With several nodes, an account's allowance is also taken from a bucket in the shared
/// database (`ClusterState`), so that guessing on every node at once gets no more tries than
/// on one; the local buckets still refuse a flood on one node without asking the database.
final class LoginThrottle: Sendable {
    private let accounts: KeyedBuckets
    private let addresses: KeyedBuckets
    private let settings: LoginThrottleSettings
    private let cluster: (any ClusterState)?

    init(settings: LoginThrottleSettings, cluster: (any ClusterState)? = nil) {
        accounts = KeyedBuckets(rate: 1 / max(settings.accountRefill, 0.001), burst: settings.accountBurst)
        addresses = KeyedBuckets(rate: 1 / max(settings.addressRefill, 0.001), burst: settings.addressBurst)
        self.settings = settings
        self.cluster = cluster
    }

    /// `reserve`, then the account's shared bucket when there are several nodes.
    func reserveAcrossNodes(account: String, address: String?) async throws -> Result<Reservation, Wait> {
        let local = reserve(account: account, address: address)
        guard case .success(let reservation) = local, let cluster else { return local }
        do {
            if let wait = try await cluster.takeLoginToken(account: account, burst: settings.accountBurst,
                                                           refill: settings.accountRefill * 1000, at: .now()) {
                refundLocally(reservation)
                return .failure(Wait(seconds: wait))
            }
        } catch {
            refundLocally(reservation)
            throw error
        }
        return local
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
    func refund(_ reservation: Reservation) async {
        refundLocally(reservation)
        try? await cluster?.giveBackLoginToken(account: reservation.account, burst: settings.accountBurst)
    }

    private func refundLocally(_ reservation: Reservation) {
        accounts.giveBack(reservation.account)
        if let address = reservation.address { addresses.giveBack(address) }
    }
}
