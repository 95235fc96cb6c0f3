import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import SalonProtocol

/// Both transports reduced to "JSON in, JSON out" for the bench client: adapters below it
/// frame and unframe, so one handler drives WebSocket and TCP connections alike.

/// TCP: length-prefixed frames in, JSON up; JSON down, prefixed out.
final class TCPFrameAdapter: ChannelDuplexHandler {
    typealias InboundIn = InboundFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .payload(let json) = unwrapInboundIn(data) {
            context.fireChannelRead(wrapInboundOut(json))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let json = unwrapOutboundIn(data)
        var framed = context.channel.allocator.buffer(capacity: json.readableBytes + 4)
        framed.writeInteger(UInt32(json.readableBytes))
        framed.writeImmutableBuffer(json)
        context.write(wrapOutboundOut(framed), promise: promise)
    }
}

/// WebSocket: text frames in (answering pings), JSON up; JSON down as masked text frames.
final class WebSocketFrameAdapter: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            context.fireChannelRead(wrapInboundOut(frame.unmaskedData))
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: unwrapOutboundIn(data))
        context.write(wrapOutboundOut(frame), promise: promise)
    }
}

/// Sends the HTTP upgrade request once connected, then steps aside.
final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let host: String
    let path: String

    init(host: String, path: String) {
        self.host = host
        self.path = path
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
        // The upgrade adds the WebSocket handlers behind this one: leave before frames come.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

public enum BenchTransport: String, Sendable, CaseIterable {
    case ws, tcp
}

/// Opens one connection whose JSON goes to `handler`, on `loop`.
func openConnection(
    transport: BenchTransport, host: String, httpPort: Int, tcpPort: Int, on loop: any EventLoop,
    handler: @escaping @Sendable () -> any ChannelHandler
) -> EventLoopFuture<any Channel> {
    switch transport {
    case .tcp:
        return ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(LengthPrefixedFrameDecoder(maxFrameLength: 1 << 24)),
                        TCPFrameAdapter(),
                        handler()
                    )
                }
            }
            .connect(host: host, port: tcpPort)
    case .ws:
        return ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                let upgrader = NIOWebSocketClientUpgrader(
                    requestKey: NIOWebSocketClientUpgrader.randomRequestKey(), maxFrameSize: 1 << 24, automaticErrorHandling: true
                ) { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(WebSocketFrameAdapter(), handler())
                    }
                }
                let configuration: NIOHTTPClientUpgradeSendableConfiguration = (upgraders: [upgrader], completionHandler: { _ in })
                return channel.pipeline.addHTTPClientHandlers(withClientUpgrade: configuration).flatMap {
                    channel.pipeline.addHandler(UpgradeRequester(host: "\(host):\(httpPort)", path: "/ws"))
                }
            }
            .connect(host: host, port: httpPort)
    }
}
