import Logging
import Prometheus
import SalonCore
import SalonProtocol

/// Everything `salon serve` can be told, with the defaults of the README.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// HTTP and WebSocket port; 0 picks a free one (tests).
    public var port: Int = 8080
    /// TCP framed port; nil disables the listener, 0 picks a free one.
    public var tcpPort: Int? = 9090
    /// The IRC gateway's port (PROTOCOL.md §9), plain IRC; nil: none. 0 binds any free port.
    public var ircPort: Int?
    /// The IRC gateway over TLS, on a port of its own (IRC's custom: 6667 plain, 6697 TLS);
    /// needs `tls`. nil: none.
    public var ircTLSPort: Int?
    /// The name the IRC gateway gives itself (the source of its numerics, `001`…).
    public var ircServerName = "salon"
    /// An IRC connection silent this long is sent a `PING`; one that stays silent as long
    /// again is closed ("Ping timeout"), as IRC servers do. Seconds.
    public var ircPingInterval = 120
    public var dataDirectory: String = "./salon-data"
    /// A database URL (`sqlite:PATH` or `postgres://…`); nil means `salon.sqlite` in
    /// `dataDirectory`.
    public var databaseURL: String?
    /// This node's name, in `/healthz` (several nodes can share one PostgreSQL database).
    public var nodeName: String = "salon"
    public var chat = ChatConfiguration()
    /// The largest request frame, in bytes (WebSocket: the whole reassembled message).
    public var frameLimit: Int = Limits.frameBytes
    /// How many bytes may wait in one connection's outgoing queue before the client is
    /// considered stalled and cut off.
    public var outboundQueueLimit: Int = 1 << 20
    /// Connections the kernel may hold waiting for `accept`. With the usual 128 or 256, a
    /// reconnect storm overflows the queue and the dropped SYNs come back only after the
    /// client's retransmission backoff (1 s, 3 s, 7 s…). Linux caps it at `net.core.somaxconn`.
    public var listenBacklog: Int = 4096
    /// Seconds a WebSocket or TCP connection has to log in (0 = no limit).
    public var loginTimeout: Int = 10
    /// Seconds an HTTP connection has to send the head of its first request.
    public var headerTimeout: Int = 10
    /// Seconds a kept-alive HTTP connection may stay idle between requests.
    public var httpIdleTimeout: Int = 60
    /// Connections open at once from one client address, both ports together (0 = no cap).
    public var maxConnectionsPerAddress: Int = 256
    /// Bytes of unfinished frames held for all connections together; a connection that
    /// would pass it is closed (0 = no bound).
    public var inputBufferLimit: Int = 64 << 20
    /// Origins a browser may open the WebSocket from (`Origin` header), besides the
    /// server's own; `*` allows any. Clients that send no `Origin` (not browsers) are let in.
    public var allowedOrigins: [String] = []
    /// The registry `GET /metrics` renders (`ServerMetrics.bootstrap()`); nil: no `/metrics`
    /// (in-process tests, where the metrics system is not bootstrapped).
    public var metrics: PrometheusCollectorRegistry?
    /// The certificate and key both ports serve with (`--tls-cert`, `--tls-key`): HTTPS and
    /// WSS on `port`, TLS on `tcpPort`; nil: plain connections. Reloaded on SIGHUP.
    public var tls: ServerTLS?

    public init() {}
}
