import Histogram
import NIOCore

/// What one event loop's connections measure. Confined to that loop (reached through
/// `NIOLoopBound`), so nothing is locked on the hot path.
final class Shard {
    let loop: any EventLoop
    var delivery = Shard.histogram()   // µs from send to receipt, per recipient
    var crossNodeDelivery = Shard.histogram()  // the same, for recipients on another node than the sender
    var ack = Shard.histogram()        // µs from send to `success` (durably stored)
    var login = Shard.histogram()      // µs from connect to logged in (and joined)
    var history = Shard.histogram()    // µs per history page
    var sent = 0
    /// Deliveries the messages sent so far should make (`BenchClient.recipients` each).
    var expectedDeliveries = 0
    var acked = 0
    var delivered = 0
    var historyPages = 0
    var errors = 0
    var disconnects = 0
    var ready = 0
    var failed = 0
    var expected = 0
    var clients: [BenchClient] = []
    var tokens: [Int: String] = [:]
    var readyPromise: EventLoopPromise<Void>?
    var historyRunning = false
    /// The soak's worst send-tick lateness since its last sample, in ns.
    var tickLagWorst: UInt64 = 0

    init(loop: any EventLoop) {
        self.loop = loop
    }

    static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
    }

    func clientSettled(ok: Bool) {
        if ok { ready += 1 } else { failed += 1 }
        if ready + failed == expected { readyPromise?.succeed() }
    }

    /// The latency histograms since the last call, replaced by empty ones (the soak's samples);
    /// the counters go on.
    func takeWindow() -> (delivery: Histogram<UInt64>, ack: Histogram<UInt64>) {
        defer {
            delivery = Self.histogram()
            ack = Self.histogram()
        }
        return (delivery, ack)
    }

    func resetMeasurements() {
        delivery = Self.histogram()
        crossNodeDelivery = Self.histogram()
        ack = Self.histogram()
        history = Self.histogram()
        sent = 0
        expectedDeliveries = 0
        acked = 0
        delivered = 0
        historyPages = 0
        errors = 0
    }
}

/// Monotonic nanoseconds, the same clock in every process of this machine.
@inline(__always)
func nowNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
