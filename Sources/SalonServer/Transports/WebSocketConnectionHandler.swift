import Logging
import NIOCore
import NIOExtras
import NIOWebSocket
import SalonCore
import SalonProtocol

/// One WebSocket connection at `/ws`, after NIOWebSocket's frame decoder: one text message,
/// one envelope (PROTOCOL.md §1), handed to the core through the connection's `RequestPump`.
/// Plain NIO: nothing runs for the connection while it is idle but its loop's keep-alive sweep
/// (`KeepAliveSweep`, every 30 seconds: a silent client is pinged within 30–60 s, closed one
/// interval later).
///
/// Messages are reassembled here, so that an oversized one is first answered with
/// `frame_too_large`, then closed with 1009; a single frame over the limit is refused by the
/// decoder from its header and answered the same way. Invalid UTF-8 in a text message closes
/// with 1007, as RFC 6455 asks; a binary message gets `invalid_frame` and the connection stays.
/// Outgoing frames are written whole (`WebSocketFraming`): there is no frame encoder here.
final class WebSocketConnectionHandler: ChannelDuplexHandler, PumpedHandler, KeepAliveChecked {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let pingInterval = TimeAmount.seconds(30)

    private let router: SalonCore.Router
    private let frameLimit: Int
    private let outboundQueueLimit: Int
    private let loginTimeout: TimeAmount?
    private let logger: Logger
    var connection: PumpedConnection?
    /// The message being reassembled from its frames.
    private var message: ByteBuffer?
    private var isText = true
    /// Something arrived since the last ping.
    private var heard = true
    private var keepAlive: KeepAliveSweep?
    /// The connection is closing: frames that still arrive are ignored.
    private var closing = false

    init(router: SalonCore.Router, frameLimit: Int, outboundQueueLimit: Int, loginTimeout: TimeAmount?, logger: Logger) {
        self.router = router
        self.frameLimit = frameLimit
        self.outboundQueueLimit = outboundQueueLimit
        self.loginTimeout = loginTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        attachPump(context, framing: .webSocket, router: router, outboundQueueLimit: outboundQueueLimit, loginTimeout: loginTimeout, logger: logger)
        // One sweep per event loop rather than a repeated task per connection: an idle
        // connection holds no scheduled task, closure or promise.
        let keepAlive = KeepAliveSweep.of(context.eventLoop, interval: Self.pingInterval)
        keepAlive.add(self)
        self.keepAlive = keepAlive
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        keepAlive?.remove(self)
        keepAlive = nil
        connection = nil  // the pump and the sweep refer to this handler: let them go
    }

    /// Every interval: a connection that sent nothing since the last ping is gone.
    func checkAlive() {
        guard let sink = connection?.sink else { return }
        if !heard {
            sink.closeWebSocket(code: 1001, reason: "no answer to ping")
            return
        }
        heard = false
        sink.channel.writeAndFlush(WebSocketFraming.frame(.ping), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        heard = true
        guard !closing, connection != nil else { return }
        guard frame.maskKey != nil else {
            return fail(1002, "client frames must be masked")
        }
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else {
            return fail(1002, "reserved bits set, and no extension was negotiated")
        }
        switch frame.opcode {
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFraming.frame(.pong, payload: frame.unmaskedData)), promise: nil)
            return
        case .pong:
            return
        case .connectionClose:
            // The client is leaving: answer its close frame (RFC 6455 §5.5.1, §7.4), then close.
            return answerClose(frame.unmaskedData)
        case .text, .binary:
            guard message == nil else { return fail(1002, "a new message began before the last one ended") }
            isText = frame.opcode == .text
            message = frame.unmaskedData
        case .continuation:
            guard message != nil else { return fail(1002, "a continuation frame with no message") }
            var data = frame.unmaskedData
            message?.writeBuffer(&data)
        default:
            return fail(1002, "unknown opcode")
        }
        if let size = message?.readableBytes, size > frameLimit {
            return tooLarge()
        }
        guard frame.fin, let complete = message else { return }
        message = nil
        guard isText else {
            connection?.enqueue(.reject(ProtocolError(.invalidFrame, "binary messages are not part of the protocol: send JSON as text"), then: nil))
            return
        }
        guard String(validating: complete.readableBytesView, as: UTF8.self) != nil else {
            return fail(1007, "invalid UTF-8")
        }
        connection?.enqueue(.request(complete))
    }

    /// A close frame's payload is empty, or a valid status code with an optional UTF-8
    /// reason: answered with 1000, or 1002 for a bad code or a 1-byte payload, 1007 for a
    /// reason that is not UTF-8.
    private func answerClose(_ payload: ByteBuffer) {
        var payload = payload
        guard payload.readableBytes > 0 else { return fail(1000, "") }
        guard let code = payload.readInteger(as: UInt16.self) else { return fail(1002, "a close payload of one byte") }
        guard Self.isValidCloseCode(code) else { return fail(1002, "invalid close code") }
        guard String(validating: payload.readableBytesView, as: UTF8.self) != nil else { return fail(1007, "close reason is not UTF-8") }
        fail(1000, "")
    }

    /// Codes a peer may send (RFC 6455 §7.4.1, IANA registry): 1000–1003, 1007–1014, and
    /// 3000–4999; never 1004–1006, 1015 or the rest of 1000–2999.
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    /// Answers `frame_too_large` after the requests already queued, then closes with 1009.
    private func tooLarge() {
        closing = true
        message = nil
        connection?.enqueue(.reject(ProtocolError(.frameTooLarge, "a message of more than \(frameLimit) bytes is over the limit"), then: .frameTooLarge))
    }

    /// Closes with a status code and no further reading.
    private func fail(_ code: UInt16, _ reason: String) {
        closing = true
        connection?.sink.closeWebSocket(code: code, reason: reason)
    }

    func read(context: ChannelHandlerContext) {
        passRead(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.pump.connectionClosed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            closing = true
            connection?.sink.close(.shutdown)
        case ChannelEvent.inputClosed:
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !closing else { return }
        if let error = error as? NIOWebSocketError, error == .invalidFrameLength {
            // A single frame over the limit, refused by the decoder from its header.
            tooLarge()
        } else {
            logger.debug("WebSocket protocol error", metadata: ["error": "\(error)"])
            fail(1002, "protocol error")
        }
    }
}
