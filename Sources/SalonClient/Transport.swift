import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import SalonProtocol
import Synchronization

/// Where a client connects: `ws://HOST:PORT/PATH` (or `wss://`), `tcp://HOST:PORT`, or
/// `tls://HOST:PORT` (the TCP frames inside TLS).
public enum ServerAddress: Sendable, Equatable {
    case webSocket(url: String)
    case tcp(host: String, port: Int, tls: Bool = false)

    public init(_ text: String) throws {
        if text.hasPrefix("ws://") || text.hasPrefix("wss://") {
            self = .webSocket(url: text)
        } else if let scheme = ["tcp://", "tls://"].first(where: text.hasPrefix) {
            let rest = text.dropFirst(scheme.count)
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                throw SalonClientError.invalidAddress(text)
            }
            var host = String(rest[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self = .tcp(host: host, port: port, tls: scheme == "tls://")
        } else {
            throw SalonClientError.invalidAddress(text)
        }
    }
}

/// How a client's frames reach the server: a raw frame out, whole frames in.
protocol FrameTransport: Sendable {
    /// Sends one envelope's JSON.
    func send(json: ByteBuffer) async throws
    /// Sends bytes exactly as given (tests of the server's handling of bad input).
    func sendRaw(_ bytes: ByteBuffer) async throws
    /// Sends a WebSocket frame as given (tests); TCP ignores it.
    func sendWebSocketFrame(_ frame: WebSocketFrame) async throws
    func close() async
}

/// TCP frames over a NIO channel.
final class TCPTransport: FrameTransport {
    let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    /// Connects (and with `tls`, finishes the handshake) and starts reading; each frame's JSON
    /// goes to `receive`, and `ended` is called once when the connection closes.
    static func connect(
        host: String, port: Int, tls: ClientTLS?, receive: @escaping @Sendable ([UInt8]) -> Void, ended: @escaping @Sendable (UInt16?) -> Void
    ) async throws -> TCPTransport {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let handshake = loop.makePromise(of: Void.self)
        let async: NIOAsyncChannel<InboundFrame, ByteBuffer>
        do {
            async = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandlers(tls.handler(host: host), TLSHandshakeWaiter(done: handshake))
                    } else {
                        handshake.succeed()
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LengthPrefixedFrameDecoder(maxFrameLength: 1 << 24), maximumBufferSize: 1 << 25)
                    )
                    return try NIOAsyncChannel<InboundFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        } catch {
            handshake.fail(error)
            throw error
        }
        do {
            try await handshake.futureResult.get()
        } catch {
            try? await async.channel.close()
            throw SalonClientError.tls(ClientTLS.explain(error, host: host))
        }
        let transport = TCPTransport(channel: async.channel)
        Task {
            do {
                try await async.executeThenClose { inbound, _ in
                    for try await frame in inbound {
                        if case .payload(let bytes) = frame { receive(Array(bytes.readableBytesView)) }
                    }
                }
            } catch {}
            ended(nil)
        }
        return transport
    }

    func send(json: ByteBuffer) async throws {
        var framed = channel.allocator.buffer(capacity: json.readableBytes + 4)
        framed.writeInteger(UInt32(json.readableBytes))
        framed.writeImmutableBuffer(json)
        try await sendRaw(framed)
    }

    func sendRaw(_ bytes: ByteBuffer) async throws {
        do {
            try await channel.writeAndFlush(bytes)
        } catch {
            throw SalonClientError.disconnected
        }
    }

    func sendWebSocketFrame(_ frame: WebSocketFrame) async throws {}

    func close() async {
        try? await channel.close()
    }
}

/// WebSocket text messages, through HummingbirdWSClient.
final class WebSocketTransport: FrameTransport {
    /// How long the server has to answer the upgrade request.
    static let upgradeDeadline = Duration.seconds(10)
    private let outbound: WebSocketOutboundWriter
    private let task: Task<Void, Never>

    private init(outbound: WebSocketOutboundWriter, task: Task<Void, Never>) {
        self.outbound = outbound
        self.task = task
    }

    static func connect(
        url: String, tls: ClientTLS, logger: Logger, receive: @escaping @Sendable ([UInt8]) -> Void, ended: @escaping @Sendable (UInt16?) -> Void
    ) async throws -> WebSocketTransport {
        let opened = OneShot<WebSocketOutboundWriter>()
        let task = Task {
            do {
                let closeFrame = try await WebSocketClient.connect(
                    url: url,
                    configuration: .init(maxFrameSize: 1 << 24, autoPing: .disabled),
                    tlsConfiguration: tls.configuration,
                    logger: logger
                ) { inbound, outbound, _ in
                    opened.fulfil(.success(outbound))
                    var iterator = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
                    while let message = try await iterator.next() {
                        switch message {
                        case .text(let text): receive(Array(text.utf8))
                        case .binary(let buffer): receive(Array(buffer.readableBytesView))
                        }
                    }
                }
                opened.fulfil(.failure(SalonClientError.unreachable("the WebSocket upgrade was refused")))
                ended(closeFrame.map { UInt16(webSocketErrorCode: $0.closeCode) })
            } catch {
                opened.fulfil(.failure(ClientTLS.failure(error, url: url)))
                ended(nil)
            }
        }
        // A server that closes before answering the upgrade (a plain ws:// to a TLS port
        // does) leaves WSClient waiting for good (the HTTP client upgrade handler does not
        // fail on close), so the wait is bounded here and the likely cause named.
        let deadline = Task {
            try await Task.sleep(for: Self.upgradeDeadline)
            let hint = url.hasPrefix("ws://") ? " (if the server uses TLS, the address is wss://)" : ""
            opened.fulfil(.failure(SalonClientError.unreachable("no WebSocket answer from \(url) within \(Self.upgradeDeadline)\(hint)")))
        }
        defer { deadline.cancel() }
        let outbound = try await opened.value()
        return WebSocketTransport(outbound: outbound, task: task)
    }

    func send(json: ByteBuffer) async throws {
        try await sendWebSocketFrame(WebSocketFrame(fin: true, opcode: .text, data: json))
    }

    func sendRaw(_ bytes: ByteBuffer) async throws {
        try await sendWebSocketFrame(WebSocketFrame(fin: true, opcode: .text, data: bytes))
    }

    func sendWebSocketFrame(_ frame: WebSocketFrame) async throws {
        do {
            try await outbound.write(.custom(frame))
        } catch {
            throw SalonClientError.disconnected
        }
    }

    func close() async {
        try? await outbound.close(.normalClosure, reason: nil)
        await task.value
    }
}

/// A value set once and awaited.
final class OneShot<Value: Sendable>: Sendable {
    private let state = Mutex<(Result<Value, any Error>?, [CheckedContinuation<Value, any Error>])>((nil, []))

    func fulfil(_ result: Result<Value, any Error>) {
        let waiters = state.withLock { s -> [CheckedContinuation<Value, any Error>] in
            guard s.0 == nil else { return [] }
            s.0 = result
            defer { s.1 = [] }
            return s.1
        }
        waiters.forEach { $0.resume(with: result) }
    }

    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { s -> Result<Value, any Error>? in
                if let r = s.0 { return r }
                s.1.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
