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
    /// The address is not `ws://HOST:PORT/PATH`, `wss://…` or `tcp://HOST:PORT`.
    case invalidAddress(String)
    /// The server could not be reached.
    case unreachable(String)

    public var description: String {
        switch self {
        case .server(let e): return "\(e.message) (\(e.code.rawValue))"
        case .disconnected: return "the connection to the server was closed"
        case .invalidAddress(let a): return "'\(a)' is not a server address: use ws://HOST:PORT/ws or tcp://HOST:PORT"
        case .unreachable(let why): return "the server cannot be reached: \(why)"
        }
    }

    public var code: ErrorCode? {
        if case .server(let e) = self { return e.code }
        return nil
    }
}
