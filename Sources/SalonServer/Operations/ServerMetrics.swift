import CoreMetrics
import Metrics
import Prometheus
import SalonCore

/// The transports' metrics, and the Prometheus side of every metric: `bootstrap` makes the
/// registry that `/metrics` renders (docs/operations.md lists the names).
public enum ServerMetrics {
    static let webSocketConnections = CoreMetrics.Meter(label: "salon_connections", dimensions: [("transport", "websocket")])
    static let tcpConnections = CoreMetrics.Meter(label: "salon_connections", dimensions: [("transport", "tcp")])
    static let ircConnections = CoreMetrics.Meter(label: "salon_connections", dimensions: [("transport", "irc")])
    static let slowConsumers = CoreMetrics.Counter(label: "salon_slow_consumers_total")
    /// Bytes on the wire by port: `http` (pages, API, files and WebSocket), `tcp` (frames).
    static let httpBytesReceived = CoreMetrics.Counter(label: "salon_bytes_received_total", dimensions: [("port", "http")])
    static let httpBytesSent = CoreMetrics.Counter(label: "salon_bytes_sent_total", dimensions: [("port", "http")])
    static let tcpBytesReceived = CoreMetrics.Counter(label: "salon_bytes_received_total", dimensions: [("port", "tcp")])
    static let tcpBytesSent = CoreMetrics.Counter(label: "salon_bytes_sent_total", dimensions: [("port", "tcp")])
    static let ircBytesReceived = CoreMetrics.Counter(label: "salon_bytes_received_total", dimensions: [("port", "irc")])
    static let ircBytesSent = CoreMetrics.Counter(label: "salon_bytes_sent_total", dimensions: [("port", "irc")])

    static func connections(_ framing: ChannelSink.Framing) -> CoreMetrics.Meter {
        switch framing {
        case .webSocket: return webSocketConnections
        case .lengthPrefixed: return tcpConnections
        case .irc: return ircConnections
        }
    }

    /// Once per process, before anything counts (MetricsSystem allows one bootstrap).
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { name, labels in (prometheusName(name), labels.map { (prometheusLabel($0.0), $0.1) }) }
        // A commit is an fsync: from half a millisecond up.
        factory.durationHistogramBuckets["salon_store_commit_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        factory.valueHistogramBuckets["salon_store_commit_batch_size"] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]
        MetricsSystem.bootstrap(factory)
        ChatMetrics.makeAll()
        _ = (webSocketConnections, tcpConnections, ircConnections, slowConsumers)
        _ = (httpBytesReceived, httpBytesSent, tcpBytesReceived, tcpBytesSent, ircBytesReceived, ircBytesSent)
        return registry
    }

    /// Hummingbird's HTTP metrics under Salon's names; any other name made valid for
    /// Prometheus (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    static func prometheusName(_ name: String) -> String {
        switch name {
        case "hb.requests": return "salon_http_requests_total"
        case "hb.request.errors": return "salon_http_request_errors_total"
        case "http.server.request.duration": return "salon_http_request_duration_seconds"
        case "http.server.active_requests": return "salon_http_active_requests"
        default: return valid(name)
        }
    }

    static func prometheusLabel(_ label: String) -> String {
        switch label {
        case "http.route": return "route"
        case "http.request.method": return "method"
        case "http.response.status_code", "error.type": return "status"
        default: return valid(label)
        }
    }

    private static func valid(_ name: String) -> String {
        var out = String(name.unicodeScalars.map { scalar -> Character in
            ("0"..."9").contains(scalar) || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_" || scalar == ":"
                ? Character(scalar) : "_"
        })
        if out.first?.isNumber ?? true { out = "_" + out }
        return out
    }
}
