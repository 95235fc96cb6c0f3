import Logging
import NIOCore
import NIOExtras
import SalonCore
import SalonProtocol

/// One TCP connection, after `LengthPrefixedFrameDecoder`: each frame goes to the request pump.
/// Plain NIO: nothing runs for the connection while it is idle.
final class TCPConnectionHandler: ChannelDuplexHandler, PumpedHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: SalonCore.Router
    private let frameLimit: Int
    private let outboundQueueLimit: Int
    private let loginTimeout: TimeAmount?
    private let logger: Logger
    var connection: PumpedConnection?

    init(router: SalonCore.Router, frameLimit: Int, outboundQueueLimit: Int, loginTimeout: TimeAmount?, logger: Logger) {
        self.router = router
        self.frameLimit = frameLimit
        self.outboundQueueLimit = outboundQueueLimit
        self.loginTimeout = loginTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        attachPump(context, framing: .lengthPrefixed, router: router, outboundQueueLimit: outboundQueueLimit, loginTimeout: loginTimeout, logger: logger)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connection = nil  // the pump's `resume` refers to this handler: let both go
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .payload(let bytes):
            connection?.enqueue(.request(bytes))
        case .tooLarge(let length):
            let error = ProtocolError(.frameTooLarge, "a frame of \(length) bytes is over the limit of \(frameLimit)")
            connection?.enqueue(.reject(error, then: .frameTooLarge))
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
        if error is InputLimitReached {
            logger.warning("closing a connection: unfinished frames of all connections are at the input buffer limit")
        } else {
            logger.debug("TCP connection error", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }
}
