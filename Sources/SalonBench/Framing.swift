import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import SalonProtocol

/// Both transports reduced to "JSON in, JSON out" for the bench client: adapters below it
/// frame and unframe, so one handler drives WebSocket and TCP connections alike.

/// Splits what a connection reads into messages and hands each straight to its client: no
/// decoder, no pipeline step and no allocation per message (a slice of the read buffer). The
/// generator must cost far less per message than the server it measures; this was most of
/// its cost per delivery when each message went through `ByteToMessageHandler` and an adapter.
final class FrameSplitter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    enum Framing { case lengthPrefixed, webSocket, lines }

    let framing: Framing
    let client: BenchClient
    /// The start of a message that is not complete yet.
    private var pending: ByteBuffer?

    init(framing: Framing, client: BenchClient) {
        self.framing = framing
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var start = pending {
            pending = nil
            start.writeBuffer(&buffer)
            buffer = start
        }
        while buffer.readableBytes > 0 {
            let consumed: Int?
            switch framing {
            case .lengthPrefixed: consumed = nextFrame(&buffer)
            case .webSocket: consumed = nextWebSocketFrame(&buffer, context: context)
            case .lines: consumed = nextLine(&buffer)
            }
            guard let consumed else { break }
            buffer.moveReaderIndex(forwardBy: consumed)
        }
        if buffer.readableBytes > 0 { pending = buffer }
    }

    /// One length-prefixed frame at the reader index: delivered, and its size returned.
    private func nextFrame(_ buffer: inout ByteBuffer) -> Int? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
              let json = buffer.getSlice(at: buffer.readerIndex + 4, length: Int(length))
        else { return nil }
        if length > 0 { client.receive(json) }
        return 4 + Int(length)
    }

    /// One IRC line at the reader index, without its CR LF.
    private func nextLine(_ buffer: inout ByteBuffer) -> Int? {
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let length = end - buffer.readerIndex
        let content = length > 0 && buffer.getInteger(at: end - 1, as: UInt8.self) == UInt8(ascii: "\r") ? length - 1 : length
        if content > 0, let line = buffer.getSlice(at: buffer.readerIndex, length: content) { client.receive(line) }
        return length + 1
    }

    /// One server WebSocket frame (unmasked, whole) at the reader index.
    private func nextWebSocketFrame(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) -> Int? {
        let at = buffer.readerIndex
        guard let first = buffer.getInteger(at: at, as: UInt8.self), let second = buffer.getInteger(at: at + 1, as: UInt8.self) else { return nil }
        var header = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: at + 2, as: UInt16.self) else { return nil }
            header = 4
            length = Int(extended)
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: at + 2, as: UInt64.self) else { return nil }
            header = 10
            length = Int(truncatingIfNeeded: extended)
        }
        guard let payload = buffer.getSlice(at: at + header, length: length) else { return nil }
        switch first & 0x0F {
        case 0x1, 0x2:
            client.receive(payload)
        case 0x9:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: payload)
            context.writeAndFlush(NIOAny(pong), promise: nil)
        case 0x8:
            context.close(promise: nil)
        default:
            break
        }
        return header + length
    }
}

/// TCP: JSON down, length-prefixed out.
final class TCPFrameEncoder: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let json = unwrapOutboundIn(data)
        var framed = context.channel.allocator.buffer(capacity: json.readableBytes + 4)
        framed.writeInteger(UInt32(json.readableBytes))
        framed.writeImmutableBuffer(json)
        context.write(wrapOutboundOut(framed), promise: promise)
    }
}

/// WebSocket: JSON down as masked text frames (NIOWebSocket's encoder writes them).
final class WebSocketTextEncoder: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: unwrapOutboundIn(data))
        context.write(wrapOutboundOut(frame), promise: promise)
    }
}

/// The WebSocket upgrade: NIOWebSocket's upgrader makes and checks the handshake keys; the
/// pipeline then gets its frame encoder (outbound) and the `FrameSplitter` (inbound).
struct BenchWebSocketUpgrader: NIOHTTPClientProtocolUpgrader {
    let handshake = NIOWebSocketClientUpgrader(requestKey: NIOWebSocketClientUpgrader.randomRequestKey()) { _, _ in
        preconditionFailure("not used: `upgrade` below sets the pipeline up")
    }
    let makeClient: () -> BenchClient

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        handshake.addCustom(upgradeRequestHeaders: &upgradeRequestHeaders)
    }

    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        handshake.shouldAllowUpgrade(upgradeResponse: upgradeResponse)
    }

    func upgrade(context: ChannelHandlerContext, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<Void> {
        context.eventLoop.makeCompletedFuture {
            let client = makeClient()
            if let watch = try? context.pipeline.syncOperations.handler(type: ClosedBeforeUpgrade.self) {
                context.pipeline.syncOperations.removeHandler(watch, promise: nil)
            }
            try context.pipeline.syncOperations.addHandlers(
                WebSocketFrameEncoder(), FrameSplitter(framing: .webSocket, client: client), WebSocketTextEncoder(), client
            )
        }
    }
}

/// Until the upgrade: a connection that closes first (a refused TLS handshake, a server that
/// drops the request) is counted as a client that failed, since no `BenchClient` exists yet
/// to count itself. The upgrade removes it.
final class ClosedBeforeUpgrade: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let failed: () -> Void

    init(failed: @escaping () -> Void) {
        self.failed = failed
    }

    func channelInactive(context: ChannelHandlerContext) {
        failed()
        context.fireChannelInactive()
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
    case ws, tcp, irc
}

/// Opens one connection whose JSON goes to the client `make` builds, on `loop`; with `tls`,
/// inside TLS (NIOSSL holds the first writes until the handshake is done).
func openConnection(
    transport: BenchTransport, host: String, httpPort: Int, tcpPort: Int, ircPort: Int, tls: NIOSSLContext?, on loop: any EventLoop,
    failed: @escaping @Sendable () -> Void, make: @escaping @Sendable () -> BenchClient
) -> EventLoopFuture<any Channel> {
    let addTLS: @Sendable (any Channel) throws -> Void = { channel in
        guard let tls else { return }
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : host))
    }
    switch transport {
    case .irc, .tcp:
        // IRC lines or length-prefixed frames straight on the socket (TCP frames also need
        // their encoder on the way out).
        let irc = transport == .irc
        return ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try addTLS(channel)
                    let client = make()
                    let splitter = FrameSplitter(framing: irc ? .lines : .lengthPrefixed, client: client)
                    try channel.pipeline.syncOperations.addHandlers(irc ? [splitter, client] : [splitter, TCPFrameEncoder(), client])
                }
            }
            .connect(host: host, port: irc ? ircPort : tcpPort)
    case .ws:
        return ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                let configuration: NIOHTTPClientUpgradeConfiguration = (
                    upgraders: [BenchWebSocketUpgrader(makeClient: make)], completionHandler: { _ in }
                )
                return channel.eventLoop.makeCompletedFuture {
                    try addTLS(channel)
                    try channel.pipeline.syncOperations.addHandler(ClosedBeforeUpgrade(failed: failed))
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(withClientUpgrade: configuration)
                    try channel.pipeline.syncOperations.addHandler(UpgradeRequester(host: "\(host):\(httpPort)", path: "/ws"))
                }
            }
            .connect(host: host, port: httpPort)
    }
}
