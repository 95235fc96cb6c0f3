import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import SalonCore
import SalonProtocol
import ServiceLifecycle

/// The WebSocket transport at `/ws`: one text message, one envelope (PROTOCOL.md §1).
///
/// Messages are reassembled here rather than with `messages(maxSize:)`, which closes the
/// connection on an oversized message without a word: this endpoint first answers
/// `frame_too_large`, then closes with 1009. Invalid UTF-8 in a text message closes with
/// 1007, as RFC 6455 asks; a binary message gets `invalid_frame` and the connection stays.
struct WebSocketEndpoint: Sendable {
    let router: SalonCore.Router
    let frameLimit: Int
    let outboundQueueLimit: Int

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel, logger: Logger) async {
        let sink = ChannelSink(channel: channel, framing: .webSocket, maxQueuedBytes: outboundQueueLimit, logger: logger)
        let session = router.open(sink)
        defer { router.close(session) }
        do {
            try await withGracefulShutdownHandler {
                if let (code, reason) = try await readLoop(inbound, session) {
                    try await outbound.close(code, reason: reason)
                }
            } onGracefulShutdown: {
                sink.close(.shutdown)
            }
        } catch {
            logger.debug("WebSocket connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Returns the close code and reason when the server ends the connection.
    private func readLoop(_ inbound: WebSocketInboundStream, _ session: Session) async throws -> (WebSocketErrorCode, String)? {
        var message: ByteBuffer?
        var isText = true
        for try await frame in inbound {
            switch frame.opcode {
            case .text, .binary:
                guard message == nil else { return (.protocolError, "a new message began before the last one ended") }
                isText = frame.opcode == .text
                message = frame.data
            case .continuation:
                guard message != nil else { return (.protocolError, "a continuation frame with no message") }
                var data = frame.data
                message?.writeBuffer(&data)
            }
            if let size = message?.readableBytes, size > frameLimit {
                router.reject(session, ProtocolError(.frameTooLarge, "a message of more than \(frameLimit) bytes is over the limit"))
                return (.messageTooLarge, "frame too large")
            }
            guard frame.fin, let complete = message else { continue }
            message = nil
            guard isText else {
                router.reject(session, ProtocolError(.invalidFrame, "binary messages are not part of the protocol: send JSON as text"))
                continue
            }
            guard String(validating: complete.readableBytesView, as: UTF8.self) != nil else {
                return (.dataInconsistentWithMessage, "invalid UTF-8")
            }
            if case .close = await router.handle(complete, from: session) {
                return (.normalClosure, "logged out")
            }
        }
        return nil
    }
}
