import Foundation
import Logging
import NIOCore
import NIOWebSocket
import SalonProtocol
import Synchronization

/// A connection to a Salon server over WebSocket or TCP frames, with async requests and a
/// stream of everything else the server sends (pushes, and errors not tied to a request).
///
/// ```swift
/// let client = try await SalonClient.connect(to: "ws://127.0.0.1:8080/ws")
/// let auth: AuthResult = try await client.request("login", LoginRequest(username: "ana"))
/// for await event in client.events where event.action == "receive_message" { … }
/// ```
public final class SalonClient: Sendable {
    private struct State {
        var nextID = 0
        var pending: [String: CheckedContinuation<ServerEnvelope, any Error>] = [:]
        var closed = false
        var closeCode: UInt16?
    }

    private let state = Mutex(State())
    private let transport: OneShot<any FrameTransport>
    private let eventsContinuation: AsyncStream<ServerEnvelope>.Continuation
    private let closedSignal = OneShot<Void>()
    /// Pushes and unsolicited errors, in the order received. Finishes when the connection ends.
    public let events: AsyncStream<ServerEnvelope>

    private init() {
        (events, eventsContinuation) = AsyncStream.makeStream(of: ServerEnvelope.self)
        transport = OneShot()
    }

    /// Connects to `ws://HOST:PORT/ws`, `wss://…`, `tcp://HOST:PORT` or `tls://HOST:PORT`;
    /// `tls` says which certificates to trust (the system's by default).
    public static func connect(to address: String, tls: ClientTLS = ClientTLS(), logger: Logger = Logger(label: "salon.client")) async throws -> SalonClient {
        try await connect(to: ServerAddress(address), tls: tls, logger: logger)
    }

    public static func connect(to address: ServerAddress, tls: ClientTLS = ClientTLS(), logger: Logger = Logger(label: "salon.client")) async throws -> SalonClient {
        let client = SalonClient()
        let receive: @Sendable ([UInt8]) -> Void = { [weak client] bytes in client?.received(bytes) }
        let ended: @Sendable (UInt16?) -> Void = { [weak client] code in client?.ended(code) }
        do {
            switch address {
            case .tcp(let host, let port, let secure):
                let transport = try await TCPTransport.connect(host: host, port: port, tls: secure ? tls : nil, receive: receive, ended: ended)
                client.transport.fulfil(.success(transport))
            case .webSocket(let url):
                client.transport.fulfil(.success(try await WebSocketTransport.connect(url: url, tls: tls, logger: logger, receive: receive, ended: ended)))
            }
        } catch let error as SalonClientError {
            throw error
        } catch {
            throw SalonClientError.unreachable("\(error)")
        }
        return client
    }

    /// Sends a request and waits for its reply: the `success` data decoded as `R`, or
    /// `SalonClientError.server` for an `error` reply.
    @discardableResult
    public func request<R: Decodable>(_ action: String, _ data: some Encodable & Sendable = EmptyPayload(), as: R.Type = R.self) async throws -> R {
        let reply = try await requestEnvelope(action, data)
        if let error = reply.error { throw SalonClientError.server(error) }
        return try reply.decode(R.self)
    }

    /// Sends a request and returns the reply envelope as it is (`success` or `error`).
    public func requestEnvelope(_ action: String, _ data: some Encodable & Sendable = EmptyPayload()) async throws -> ServerEnvelope {
        let id = state.withLock { s -> String in
            s.nextID += 1
            return "c\(s.nextID)"
        }
        let body = try JSONEncoder().encode(Outgoing(action: action, id: id, data: data))
        let transport = try await self.transport.value()
        return try await withCheckedThrowingContinuation { continuation in
            let closed = state.withLock { s -> Bool in
                if s.closed { return true }
                s.pending[id] = continuation
                return false
            }
            if closed {
                continuation.resume(throwing: SalonClientError.disconnected)
                return
            }
            Task {
                do {
                    try await transport.send(json: ByteBuffer(bytes: body))
                } catch {
                    let waiter = self.state.withLock { $0.pending.removeValue(forKey: id) }
                    waiter?.resume(throwing: SalonClientError.disconnected)
                }
            }
        }
    }

    /// Sends bytes as one frame's payload with no checks (for tests of bad input).
    public func sendRaw(_ bytes: [UInt8]) async throws {
        try await transport.value().send(json: ByteBuffer(bytes: bytes))
    }

    /// Sends bytes on the socket exactly as given, framing included (TCP), or as one text
    /// frame (WebSocket).
    public func sendBytes(_ bytes: [UInt8]) async throws {
        try await transport.value().sendRaw(ByteBuffer(bytes: bytes))
    }

    /// Sends one WebSocket frame as given (WebSocket only).
    public func sendFrame(_ frame: WebSocketFrame) async throws {
        try await transport.value().sendWebSocketFrame(frame)
    }

    /// Waits for the next event that satisfies `match`, skipping others.
    public func next(where match: (ServerEnvelope) -> Bool = { _ in true }) async -> ServerEnvelope? {
        for await event in events where match(event) { return event }
        return nil
    }

    /// Waits until the connection is closed; returns the WebSocket close code, if any.
    public func waitUntilClosed() async -> UInt16? {
        try? await closedSignal.value()
        return state.withLock { $0.closeCode }
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    public func close() async {
        guard let transport = try? await self.transport.value() else { return }
        await transport.close()
        _ = await waitUntilClosed()
    }

    // MARK: Inbound

    private func received(_ bytes: [UInt8]) {
        guard let envelope = try? ServerEnvelope(json: bytes) else { return }
        if let id = envelope.replyTo, let waiter = state.withLock({ $0.pending.removeValue(forKey: id) }) {
            waiter.resume(returning: envelope)
        } else {
            eventsContinuation.yield(envelope)
        }
    }

    private func ended(_ code: UInt16?) {
        let waiters = state.withLock { s -> [CheckedContinuation<ServerEnvelope, any Error>] in
            s.closed = true
            s.closeCode = code
            defer { s.pending = [:] }
            return Array(s.pending.values)
        }
        waiters.forEach { $0.resume(throwing: SalonClientError.disconnected) }
        eventsContinuation.finish()
        closedSignal.fulfil(.success(()))
    }

    private struct Outgoing<D: Encodable>: Encodable {
        var action: String
        var id: String
        var data: D
    }
}
