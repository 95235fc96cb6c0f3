import Metrics

/// The core's metrics, through swift-metrics: `salon serve` bootstraps a Prometheus factory
/// and `/metrics` renders them (names and meanings: docs/operations.md); elsewhere (tests,
/// `salon admin`) they go nowhere. Handles are made on first use, after the bootstrap.
/// Hot paths count once per batch or per fan-out, never once per recipient.
public enum ChatMetrics {
    /// Makes every handle now (after the bootstrap), so that each series is there from the
    /// start, at zero: a dashboard or an alert sees 0, not "no data".
    public static func makeAll() {
        _ = (eventsCommitted, messages, commitSeconds, commitBatchSize, commitFailures, deliveries)
        _ = (loginsSucceeded, loginsFailed, rateLimited)
    }

    static let eventsCommitted = Counter(label: "salon_events_committed_total")
    static let messages = Counter(label: "salon_messages_total")
    static let commitSeconds = Timer(label: "salon_store_commit_seconds")
    static let commitBatchSize = Recorder(label: "salon_store_commit_batch_size", aggregate: true)
    static let commitFailures = Counter(label: "salon_store_commit_failures_total")
    static let deliveries = Counter(label: "salon_fanout_deliveries_total")
    static let loginsSucceeded = Counter(label: "salon_logins_total", dimensions: [("result", "success")])
    static let loginsFailed = Counter(label: "salon_logins_total", dimensions: [("result", "failure")])
    static let rateLimited = Counter(label: "salon_rate_limited_total")
}
