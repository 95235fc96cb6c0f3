import Synchronization

/// Ids for guests, from the sequence that numbers accounts: each guest login gets a new one,
/// never given before, so that nothing a guest had (a private conversation) passes to the next
/// holder of its pseudonym. Taken from the store in blocks (one write per 256 guests); ids of
/// a block left unused at a restart are skipped, never reused.
final class GuestIDs: Sendable {
    static let block = 256

    private let store: any ChatStore
    private let range = Mutex<(next: Int64, end: Int64)>((1, 0))

    init(store: any ChatStore) {
        self.store = store
    }

    func next() async throws -> Int64 {
        while true {
            let id = range.withLock { r -> Int64? in
                guard r.next <= r.end else { return nil }
                defer { r.next += 1 }
                return r.next
            }
            if let id { return id }
            let block = try await store.reserveIDs(count: Self.block)
            // Two logins may both have reserved a block: one is kept, the other skipped.
            range.withLock { r in
                if r.next > r.end { r = (block.lowerBound, block.upperBound) }
            }
        }
    }
}
