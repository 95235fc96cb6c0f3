import Foundation
import SalonProtocol

/// An envelope from the server as a client sees it: a reply or a push.
public struct ServerEnvelope: Sendable {
    public let action: String
    public let replyTo: String?
    public let data: JSONValue
    public let timestamp: String?
    /// The JSON as received, to decode `data` into a typed value.
    public let raw: [UInt8]

    private struct Head: Decodable {
        var action: String
        var reply_to: String?
        var data: JSONValue?
        var timestamp: String?
    }

    private struct DataOnly<T: Decodable>: Decodable {
        var data: T
    }

    init(json: [UInt8]) throws {
        let head = try JSONDecoder().decode(Head.self, from: Data(json))
        self.action = head.action
        self.replyTo = head.reply_to
        self.data = head.data ?? .null
        self.timestamp = head.timestamp
        self.raw = json
    }

    /// Decodes `data` as `T`.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(DataOnly<T>.self, from: Data(raw)).data
    }

    /// For an `error` envelope, its code and message.
    public var error: ErrorPayload? {
        guard action == "error" else { return nil }
        return try? decode(ErrorPayload.self)
    }
}

/// What can go wrong for a client.
public enum SalonClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered `error`.
    case server(ErrorPayload)
    /// The connection is closed (by either side) before a reply came.
    case disconnected
    /// The address is not `ws://HOST:PORT/PATH`, `wss://…`, `tcp://HOST:PORT` or `tls://…`.
    case invalidAddress(String)
    /// The server could not be reached.
    case unreachable(String)
    /// TLS stood in the way: the CA file, or the server's certificate (the reason in words).
    case tls(String)

    public var description: String {
        switch self {
        case .server(let e): return "\(e.message) (\(e.code.rawValue))"
        case .disconnected: return "the connection to the server was closed"
        case .invalidAddress(let a): return "'\(a)' is not a server address: use ws://HOST:PORT/ws, wss://HOST:PORT/ws, tcp://HOST:PORT or tls://HOST:PORT"
        case .unreachable(let why): return "the server cannot be reached: \(why)"
        case .tls(let why): return why
        }
    }

    /// The reason alone, for a message that says what could not be done.
    public var reason: String {
        switch self {
        case .unreachable(let why), .tls(let why): return why
        default: return description
        }
    }

    public var code: ErrorCode? {
        if case .server(let e) = self { return e.code }
        return nil
    }
}
