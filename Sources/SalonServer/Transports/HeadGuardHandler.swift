import NIOCore
import NIOHTTP1

/// The first handler of the HTTP port's pipeline, on raw bytes, guarding the head of a
/// connection's first request before NIO's parser sees it:
/// - it must arrive whole within `timeout` (slowloris clients that trickle a header line every
///   few seconds, or send nothing, are closed);
/// - a request line over `maxRequestLine` bytes is answered 414, a head over `maxHead` bytes
///   or of more than `maxHeaderLines` lines 431, and the connection closed.
/// Later requests on a kept-alive connection fall under Hummingbird's idle timeout and NIO's
/// own head limit; a WebSocket under the login timeout. The handler also writes the answers
/// that `HTTPParseErrorHandler` gives to requests NIO cannot parse: being first, it can write
/// raw bytes, past the HTTP encoder.
final class HeadGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// Its name in the pipeline: a WebSocket upgrade removes it (and `HTTPParseErrorHandler`),
    /// since a WebSocket connection has no more HTTP heads to guard.
    static let name = "salon.head-guard"
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let maxRequestLine = 8 * 1024
    static let maxHead = 64 * 1024
    static let maxHeaderLines = 100

    let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// Bytes of the first head seen so far, and its lines.
    private var seen = 0
    private var lines = 0
    private var lineLength = 0
    private var previous: UInt8 = 0
    private var previousLineEmpty = false
    private var done = false
    private var answered = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil, !done else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            bound.value.respond(408, "Request Timeout")
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        if !done {
            let buffer = unwrapInboundIn(data)
            for byte in buffer.readableBytesView {
                seen += 1
                if byte == UInt8(ascii: "\n") {
                    let empty = lineLength == 0 || (lineLength == 1 && previous == UInt8(ascii: "\r"))
                    if empty && lines > 0 {
                        done = true
                        timer?.cancel()
                        timer = nil
                        break
                    }
                    lines += 1
                    lineLength = 0
                    if lines > Self.maxHeaderLines + 1 { return respond(431, "Request Header Fields Too Large") }
                } else {
                    lineLength += 1
                    if lines == 0 && lineLength > Self.maxRequestLine { return respond(414, "URI Too Long") }
                }
                previous = byte
                if seen > Self.maxHead { return respond(431, "Request Header Fields Too Large") }
            }
        }
        context.fireChannelRead(data)
    }

    /// Writes a whole response of its own and closes (the parser's state no longer matters).
    func respond(_ code: Int, _ reason: String) {
        guard !answered, let context, context.channel.isActive else { return }
        answered = true
        timer?.cancel()
        timer = nil
        let head = "HTTP/1.1 \(code) \(reason)\r\nContent-Length: 0\r\nConnection: close\r\n"
            + "X-Content-Type-Options: nosniff\r\nContent-Security-Policy: \(SecurityHeaders.policy)\r\n"
            + "Referrer-Policy: no-referrer\r\n\r\n"
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: head))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

/// At the end of the HTTP pipeline: a request NIO's parser refuses gets a status line
/// (431 for a head too large, 400 for the rest: Transfer-Encoding with Content-Length, a
/// malformed line…) instead of a silent close.
final class HTTPParseErrorHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    static let name = "salon.parse-errors"

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError else {
            return context.fireErrorCaught(error)
        }
        let guardHandler = try? context.pipeline.syncOperations.handler(type: HeadGuardHandler.self)
        switch parse {
        case .headerOverflow: guardHandler?.respond(431, "Request Header Fields Too Large")
        default: guardHandler?.respond(400, "Bad Request")
        }
        if guardHandler == nil { context.close(promise: nil) }
    }
}
