import Logging
import NIOCore
import Synchronization

/// Caps the connections open at once from one client address, on both ports together
/// (`--max-connections-per-ip`, 0 = off): one address cannot take every file descriptor, nor
/// make thousands of guests. Checked when a connection is accepted, before any byte is read;
/// a connection over the cap is closed at once.
final class ConnectionGate: Sendable {
    let maxPerAddress: Int
    private let counts = Mutex<[String: Int]>([:])
    private let logger: Logger

    init(maxPerAddress: Int, logger: Logger) {
        self.maxPerAddress = maxPerAddress
        self.logger = logger
    }

    /// In a child channel's initializer: true when the connection may stay. Its slot is given
    /// back when it closes.
    func admit(_ channel: any Channel) -> Bool {
        guard maxPerAddress > 0, let address = channel.remoteAddress?.ipAddress else { return true }
        let admitted = counts.withLock { counts -> Bool in
            let count = counts[address, default: 0]
            guard count < maxPerAddress else { return false }
            counts[address] = count + 1
            return true
        }
        guard admitted else {
            logger.warning("refusing a connection: too many from one address", metadata: ["address": "\(address)", "limit": "\(maxPerAddress)"])
            return false
        }
        channel.closeFuture.whenComplete { _ in
            self.counts.withLock { counts in
                let left = counts[address, default: 1] - 1
                counts[address] = left > 0 ? left : nil
            }
        }
        return true
    }
}
