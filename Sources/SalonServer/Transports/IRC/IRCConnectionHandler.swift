import Foundation
import Logging
import NIOCore
import SalonCore
import SalonIRC
import SalonProtocol

/// One IRC connection, after `IRCLineDecoder`: a thin adapter onto the core (PROTOCOL.md §9).
/// IRC commands become the same requests a WebSocket client sends, through the same request
/// pump (so the same action table, permissions and rate limits apply); the core's replies and
/// pushes come back through the connection's `ChannelSink` as frames, which `IRCClient` turns
/// into IRC lines (replies by the command that asked, pushes by `IRCRenderer`).
final class IRCConnectionHandler: ChannelInboundHandler, PumpedHandler, KeepAliveChecked {
    typealias InboundIn = IRCInboundLine

    private let router: SalonCore.Router
    private let outboundQueueLimit: Int
    private let loginTimeout: TimeAmount?
    private let gateway: IRCGateway
    private let logger: Logger
    var connection: PumpedConnection?
    private var client: IRCClient?

    init(router: SalonCore.Router, outboundQueueLimit: Int, loginTimeout: TimeAmount?, gateway: IRCGateway, logger: Logger) {
        self.router = router
        self.outboundQueueLimit = outboundQueueLimit
        self.loginTimeout = loginTimeout
        self.gateway = gateway
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let client = IRCClient(gateway: gateway, router: router, loop: context.eventLoop)
        self.client = client
        attachPump(context, framing: .irc, router: router, outboundQueueLimit: outboundQueueLimit, loginTimeout: loginTimeout, logger: logger)
        connection?.sink.setRenderer(client)
        client.sink = connection?.sink
        client.pump = connection?.pump
        // Keep-alive: a silent client is pinged, then closed if it stays silent (one sweep
        // per event loop checks every connection).
        let keepAlive = KeepAliveSweep.of(context.eventLoop, interval: gateway.pingInterval)
        keepAlive.add(self)
        self.keepAlive = keepAlive
    }

    private var keepAlive: KeepAliveSweep?
    /// A line came since the last check.
    private var heard = true
    private var pinged = false

    func checkAlive() {
        guard let client else { return }
        if heard {
            heard = false
            pinged = false
        } else if !pinged {
            pinged = true
            client.ping()
        } else {
            client.timedOut()
            connection?.sink.close(.pingTimeout)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        keepAlive?.remove(self)
        keepAlive = nil
        connection?.sink.setRenderer(nil)
        connection = nil
        client?.sink = nil
        client?.pump = nil
        client = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let client else { return }
        heard = true
        switch unwrapInboundIn(data) {
        case .line(let bytes):
            client.received(bytes)
        case .tooLong:
            client.reply(IRCNumeric.inputTooLong, ["Input line was too long"])
        }
        // The requests the line made, in order (a pump of its own per connection).
        for request in client.takeRequests() { connection?.enqueue(.request(request)) }
        if let reason = client.closing {
            connection?.sink.close(reason)
        }
    }

    func read(context: ChannelHandlerContext) {
        passRead(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.pump.connectionClosed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            connection?.sink.close(.shutdown)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("IRC connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
