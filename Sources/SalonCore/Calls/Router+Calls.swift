import NIOCore
import SalonProtocol

/// Calls without a connection: the HTTP API (PROTOCOL.md §10) hands the core the same
/// action with the same `data` as a socket request, and gets the same reply. Every rule —
/// the action table's access and permission checks, the handlers, the error codes — is the
/// socket's, because it is the socket's code that runs; only the session is different: it
/// acts as the token's account without being attached to the hub (no pushes, no presence),
/// and the rate limit is kept per account (per address before authentication) instead of
/// per connection.
extension Router {
    /// The actions that take no token (`register`, `login`): the session starts anonymous.
    private static let anonymousCalls: Set<String> = ["register", "login"]

    /// Runs `action` with `data` (the JSON of its `data` object, or nil) as the holder of
    /// `token`, and returns the reply envelope (`success` or `error`, as on the socket).
    public func call(_ action: String, data: ByteBuffer?, token: String?, address: String?) async -> EncodedFrame {
        // Action names are lowercase words joined by '_': nothing to escape.
        guard !action.isEmpty, action.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }) else {
            return EnvelopeEncoder.error(replyTo: Self.callID, ProtocolError(.unknownAction, "no such action"))
        }
        let catcher = ReplyCatcher()
        let session = openDetached(catcher, address: address)
        let anonymous = Self.anonymousCalls.contains(action)
        if !anonymous, let token {
            do {
                session.user = try await authenticate(token: token)
                session.tokenHash = SessionToken.hash(token)
            } catch {
                if let refusal = takeCall(key: "address:\(address ?? "")") { return refusal }
                return EnvelopeEncoder.error(replyTo: Self.callID, error as? ProtocolError ?? ProtocolError(.internal, "internal error"))
            }
        }
        return await perform(action, data: data, session: session, catcher: catcher)
    }

    /// Runs `action` as `user` (a webhook's bot): the same path as a call with its token.
    func call(_ action: String, data: ByteBuffer?, as user: SessionUser, address: String?) async -> EncodedFrame {
        let catcher = ReplyCatcher()
        let session = openDetached(catcher, address: address)
        session.user = user
        return await perform(action, data: data, session: session, catcher: catcher)
    }

    private func perform(_ action: String, data: ByteBuffer?, session: Session, catcher: ReplyCatcher) async -> EncodedFrame {
        let key = session.user.map { "user:\($0.id)" } ?? "address:\(session.connection.address ?? "")"
        if let refusal = takeCall(key: key) { return refusal }
        if let user = session.user { hub.withState { $0.noteCaller(user) } }

        var frame = ByteBufferAllocator().buffer(capacity: 48 + action.utf8.count + (data?.readableBytes ?? 0))
        frame.writeString(#"{"id":"\#(Self.callID)","action":"#)
        frame.writeString("\"\(action)\"")
        if var data {
            frame.writeString(#","data":"#)
            frame.writeBuffer(&data)
        }
        frame.writeString("}")
        _ = await handle(frame, from: session)
        return await catcher.reply()
    }

    /// The request id of every call (its reply's `reply_to`).
    static let callID = "api"

    /// nil when the call may go on, else the `rate_limited` reply.
    private func takeCall(key: String) -> EncodedFrame? {
        guard let wait = apiCalls.take(key) else { return nil }
        ChatMetrics.rateLimited.increment()
        return EnvelopeEncoder.error(replyTo: Self.callID, ProtocolError(
            .rateLimited, "too many requests: at most \(configuration.rateLimit) a second (try again in \(wait) s)"))
    }
}
