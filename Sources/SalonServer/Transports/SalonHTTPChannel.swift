import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL
import NIOWebSocket
import SalonCore

/// The HTTP port's connections: HTTP/1.1 served by Hummingbird's responder (the web client,
/// `/healthz`), or a WebSocket at `/ws` handed to `WebSocketConnectionHandler`.
///
/// Modelled on HummingbirdWebSocket's `HTTP1WebSocketUpgradeChannel`, with one difference
/// that matters for memory: an upgraded connection is not served by a task reading a
/// `NIOAsyncChannel`, but by a plain channel handler; `handle` returns at once and the
/// connection lives on in NIO alone. Graceful shutdown still reaches it: Hummingbird's server
/// tells every child channel to quiesce and waits for them to close.
struct SalonHTTPChannel: HTTPChannelHandler {
    enum Negotiated: Sendable {
        case webSocket
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, UpgradeRefusal)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let router: SalonCore.Router
    let frameLimit: Int
    let outboundQueueLimit: Int
    let idleTimeout: Duration
    let headerTimeout: TimeAmount
    let guards: TransportGuards
    let allowedOrigins: [String]
    /// HTTPS and WSS when set: each connection starts with a TLS handshake.
    let tls: ServerTLS?
    let logger: Logger

    init(
        responder: @escaping HTTPChannelHandler.Responder, router: SalonCore.Router, frameLimit: Int, outboundQueueLimit: Int,
        idleTimeout: Duration, headerTimeout: TimeAmount, guards: TransportGuards, allowedOrigins: [String], tls: ServerTLS?, logger: Logger
    ) {
        self.responder = Self.redirectingLateUpgrades(responder)
        self.router = router
        self.frameLimit = frameLimit
        self.outboundQueueLimit = outboundQueueLimit
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.guards = guards
        self.allowedOrigins = allowedOrigins.map { $0.lowercased() }
        self.tls = tls
        self.logger = logger
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard guards.gate.admit(channel) else {
            return channel.close().flatMapThrowing { throw ChannelError.ioOnClosedChannel }
        }
        return channel.eventLoop.makeCompletedFuture {
            try channel.syncOptions?.setOption(.recvAllocator, value: TransportGuards.receiveAllocator)
            try channel.pipeline.syncOperations.addHandler(ByteCounter(received: ServerMetrics.httpBytesReceived, sent: ServerMetrics.httpBytesSent))
            // The TLS handshake, within the header timeout, then plain bytes as without TLS.
            if let tls {
                try channel.pipeline.syncOperations.addHandlers(NIOSSLServerHandler(context: tls.current), TLSHandshakeDeadline(timeout: headerTimeout))
            }
            // Raw bytes first: the head of the first request must come whole and in time.
            try channel.pipeline.syncOperations.addHandler(HeadGuardHandler(timeout: headerTimeout), name: HeadGuardHandler.name)
            let refusal = NIOLoopBoundBox<UpgradeRefusal?>(nil, eventLoop: channel.eventLoop)
            let (guards, allowedOrigins) = (self.guards, self.allowedOrigins)
            let upgrader = WebSocketUpgrader(
                handshake: NIOTypedWebSocketServerUpgrader<Negotiated>(
                    shouldUpgrade: { channel, head in
                        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first
                        guard path == "/ws" else {
                            refusal.value = .notFound
                            return channel.eventLoop.makeSucceededFuture(nil)
                        }
                        return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                    },
                    upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededFuture(.webSocket) }
                ),
                makeHandler: {
                    WebSocketConnectionHandler(
                        router: router, frameLimit: frameLimit, outboundQueueLimit: outboundQueueLimit, loginTimeout: guards.loginTimeout, logger: logger
                    )
                },
                // A single frame over the limit is refused from its header (and answered).
                maxFrameSize: frameLimit,
                meter: guards.meter,
                check: { head in UpgradeRefusal.check(head, allowedOrigins: allowedOrigins) },
                refusal: refusal
            )
            let (idleTimeout, secure) = (self.idleTimeout, tls != nil)
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration<Negotiated>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: secure))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        if let refused = refusal.value { return .failedUpgrade(http, refused) }
                        return .http(http)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(upgradeConfiguration: upgrades)
            configuration.enablePipelining = false  // NIOAsyncChannel serves one request at a time
            // Malformed requests (Transfer-Encoding with Content-Length, a head too large) are
            // answered 400, 431 or 414 before the connection closes (`HTTPParseErrorHandler`).
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validated them
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            try channel.pipeline.syncOperations.addHandler(HTTPParseErrorHandler(), name: HTTPParseErrorHandler.name)
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .webSocket:
                return  // the channel's handlers serve it from here on
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .failedUpgrade(let http, let refusal):
                try await http.executeThenClose { _, outbound in
                    try await outbound.write(contentsOf: [.head(refusal.response), .end(nil)])
                }
            }
        } catch {
            logger.debug("HTTP connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// NIO upgrades only on a connection's first request: a later request on a kept-alive
    /// connection that asks for a WebSocket is redirected to the same URL with the connection
    /// closed, so that the client retries on a new one (as HummingbirdWebSocket does).
    static func redirectingLateUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        struct RedirectedUpgrade: Error {}
        return { request, writer, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, writer, channel)
            }
            // An upgrade that NIO did not take (no key, another version): say why.
            if let refusal = UpgradeRefusal.check(request.head, allowedOrigins: ["*"]) {
                try await writer.writeResponse(refusal.response)
                throw RedirectedUpgrade()
            }
            var location = request.uri.path
            if let query = request.uri.query { location += "?\(query)" }
            try await writer.writeResponse(HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: location]))
            throw RedirectedUpgrade()
        }
    }
}

/// The WebSocket upgrade: NIOWebSocket's upgrader answers the handshake (the
/// `Sec-WebSocket-Accept` key), and the pipeline gets only the frame decoder and Salon's
/// handler. No frame encoder: Salon writes whole frames, built once per fan-out.
struct WebSocketUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = SalonHTTPChannel.Negotiated

    let handshake: NIOTypedWebSocketServerUpgrader<UpgradeResult>
    let makeHandler: @Sendable () -> WebSocketConnectionHandler
    let maxFrameSize: Int
    let meter: InputMeter
    /// RFC 6455's rules for the handshake, and the `Origin` check: NIO's upgrader fails
    /// without an answer, so the refusal is noted and answered as HTTP.
    let check: @Sendable (HTTPRequest) -> UpgradeRefusal?
    let refusal: NIOLoopBoundBox<UpgradeRefusal?>

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    struct Refused: Error {}

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        let request: HTTPRequest
        do {
            request = try HTTPRequest(upgradeRequest, secure: false, splitCookie: false)
        } catch {
            refusal.value = .badRequest("the request head is not valid")
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        if let refused = check(request) {
            refusal.value = refused
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        return handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandlers(
                ByteToMessageHandler(MeteredDecoder(WebSocketFrameDecoder(maxFrameSize: maxFrameSize), meter: meter)),
                makeHandler()
            )
            // The HTTP guards have nothing more to do: an idle WebSocket should not keep them
            // (nor pass each read through them).
            let operations = channel.pipeline.syncOperations
            _ = operations.removeHandler(name: HeadGuardHandler.name)
            _ = operations.removeHandler(name: HTTPParseErrorHandler.name)
            return .webSocket
        }
    }
}
