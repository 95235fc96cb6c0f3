import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// bcrypt on a thread pool: at cost 12 one hash takes about 0.2 s of CPU, which must never run
/// on an event loop or in the cooperative pool that serves requests.
///
/// bcrypt reads its input as a C string (it stops at the first NUL) and ignores every byte
/// after the 72nd, so two passwords sharing their first 72 bytes would be one password. Salon
/// therefore hashes `base64(SHA-256(password))` (44 bytes, no NUL) with bcrypt: every byte of
/// the password counts. Such hashes are stored as `sha256+` followed by the bcrypt hash; a
/// hash without the prefix (an account made before this scheme) is checked the old way, and
/// the caller rehashes it after a successful login (`needsRehash`).
///
/// The work is bounded: at most `maxPending` hashes wait or run at once (past that the caller
/// is told the server is busy, `PasswordHasher.Busy`), and a check whose connection has closed
/// by the time a thread takes it up is dropped without running.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    let pool: NIOThreadPool
    let maxPending: Int
    private let pending = Pending()

    static let prefix = "sha256+"

    public init(cost: UInt8, maxPending: Int = 64, pool: NIOThreadPool = .singleton) {
        self.cost = cost
        self.maxPending = maxPending
        self.pool = pool
    }

    /// Too many password checks are waiting: try again in a moment.
    public struct Busy: Error {}
    /// The connection that asked has gone: the work was not done.
    public struct Dropped: Error {}

    private final class Pending: Sendable {
        let count = Atomic<Int>(0)
    }

    public func hash(_ password: String, unless gone: @escaping @Sendable () -> Bool = { false }) async throws -> String {
        let cost = self.cost
        let input = Self.prehash(password)
        return try await run(unless: gone) { Self.prefix + Bcrypt.hash(input, cost: cost) }
    }

    public func verify(_ password: String, hash: String, unless gone: @escaping @Sendable () -> Bool = { false }) async throws -> Bool {
        if hash.hasPrefix(Self.prefix) {
            let input = Self.prehash(password)
            let bcrypt = String(hash.dropFirst(Self.prefix.count))
            return try await run(unless: gone) { Bcrypt.verify(input, hash: bcrypt) }
        }
        // A legacy hash of the raw password: only meaningful for passwords without NUL (the
        // caller refuses those) and of at most 72 bytes.
        return try await run(unless: gone) { Bcrypt.verify(password, hash: hash) }
    }

    private func run<T: Sendable>(unless gone: @escaping @Sendable () -> Bool, _ work: @escaping @Sendable () -> T) async throws -> T {
        let counter = pending
        guard counter.count.wrappingAdd(1, ordering: .relaxed).newValue <= maxPending else {
            counter.count.wrappingSubtract(1, ordering: .relaxed)
            throw Busy()
        }
        defer { counter.count.wrappingSubtract(1, ordering: .relaxed) }
        let result: T? = try await pool.runIfActive { gone() ? nil : work() }
        guard let result else { throw Dropped() }
        return result
    }

    /// Whether a stored hash is of the old scheme (to be replaced after a successful login).
    public static func needsRehash(_ hash: String) -> Bool {
        !hash.hasPrefix(prefix)
    }

    /// What bcrypt is given: the password's SHA-256, in base64 (no NUL, 44 bytes).
    static func prehash(_ password: String) -> String {
        let digest = SHA256.hash(data: Array(password.utf8))
        return Data(digest).base64EncodedString()
    }
}
