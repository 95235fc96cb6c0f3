import HummingbirdBcrypt
import NIOPosix

/// bcrypt on a thread pool: at cost 12 one hash takes about 0.2 s of CPU, which must never run
/// on an event loop or in the cooperative pool that serves requests.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    let pool: NIOThreadPool

    public init(cost: UInt8, pool: NIOThreadPool = .singleton) {
        self.cost = cost
        self.pool = pool
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await pool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await pool.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
