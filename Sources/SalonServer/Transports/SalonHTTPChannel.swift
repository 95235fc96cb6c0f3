import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
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
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
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
    let logger: Logger

    init(responder: @escaping HTTPChannelHandler.Responder, router: SalonCore.Router, frameLimit: Int, outboundQueueLimit: Int, idleTimeout: Duration, logger: Logger) {
        self.responder = Self.redirectingLateUpgrades(responder)
        self.router = router
        self.frameLimit = frameLimit
        self.outboundQueueLimit = outboundQueueLimit
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let attempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let upgrader = WebSocketUpgrader(
                handshake: NIOTypedWebSocketServerUpgrader<Negotiated>(
                    shouldUpgrade: { channel, head in
                        attempted.value = true
                        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first
                        return channel.eventLoop.makeSucceededFuture(path == "/ws" ? HTTPHeaders() : nil)
                    },
                    upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededFuture(.webSocket) }
                ),
                makeHandler: {
                    WebSocketConnectionHandler(router: router, frameLimit: frameLimit, outboundQueueLimit: outboundQueueLimit, logger: logger)
                },
                // A single frame over the limit is refused from its header (and answered).
                maxFrameSize: frameLimit
            )
            let idleTimeout = self.idleTimeout
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration<Negotiated>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        return attempted.value ? .failedUpgrade(http) : .http(http)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(upgradeConfiguration: upgrades)
            configuration.enablePipelining = false  // NIOAsyncChannel serves one request at a time
            configuration.enableErrorHandling = false  // Hummingbird's responder handles errors
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validated them
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
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
            case .failedUpgrade(let http):
                try await http.executeThenClose { _, outbound in
                    try await outbound.write(contentsOf: [
                        .head(HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])),
                        .end(nil),
                    ])
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

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandlers(
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxFrameSize)),
                makeHandler()
            )
            return .webSocket
        }
    }
}
