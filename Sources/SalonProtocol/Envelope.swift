#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// One envelope already encoded to JSON, in the shapes the transports write, all slices of
/// one storage: `framed` (the 4-byte big-endian length, then the JSON: a TCP frame as it is
/// written), `webSocket` (a complete server text frame: header, then the JSON) and `json`
/// (the JSON alone).
///
/// Fan-out encodes a push once into an `EncodedFrame` and hands the same bytes to every
/// recipient; no transport copies, frames or re-encodes them per connection.
public struct EncodedFrame: Sendable {
    public let framed: ByteBuffer
    public let webSocket: ByteBuffer
    public let json: ByteBuffer
    /// A reply as the value itself, for a transport in the same process that renders replies
    /// in a format of its own (`TypedReply`); nil for every frame in JSON.
    public let typed: TypedReply?
    /// For a `receive_message` push: the message its JSON carries, for a transport in the
    /// same process that writes messages in a format of its own (IRC), which would otherwise
    /// decode the JSON again (Foundation's `JSONDecoder` was an eighth of the server's time in
    /// an IRC fan-out). Nil for every other frame.
    public let pushed: PushedMessage?

    /// A reply that is not encoded: `json` and the framings are empty.
    public init(typed: TypedReply) {
        self.framed = ByteBuffer()
        self.webSocket = ByteBuffer()
        self.json = ByteBuffer()
        self.typed = typed
        self.pushed = nil
    }

    /// Wraps JSON bytes that are already encoded (`pushed`: the message they carry, if they
    /// are a `receive_message` push).
    public init(json bytes: some Collection<UInt8>, pushed: PushedMessage? = nil) {
        let count = bytes.count
        let header = WebSocketFraming.headerSize(payload: count)
        var buffer = ByteBufferAllocator().buffer(capacity: 4 + count + header + count)
        buffer.writeInteger(UInt32(truncatingIfNeeded: count))
        buffer.writeBytes(bytes)
        let webSocketStart = buffer.writerIndex
        WebSocketFraming.writeHeader(opcode: .text, payload: count, into: &buffer)
        buffer.writeBytes(bytes)
        self.framed = buffer.getSlice(at: 0, length: 4 + count) ?? ByteBuffer()
        self.json = buffer.getSlice(at: 4, length: count) ?? ByteBuffer()
        self.webSocket = buffer.getSlice(at: webSocketStart, length: header + count) ?? ByteBuffer()
        self.typed = nil
        self.pushed = pushed
    }

    /// Length of the JSON payload in bytes.
    public var size: Int { json.readableBytes }
}

/// The message of a `receive_message` push, as the value its JSON was written from: one
/// reference in the frame rather than the message's fields, which fan-out would copy.
public final class PushedMessage: Sendable {
    public let message: Message

    public init(_ message: Message) {
        self.message = message
    }
}

/// A `success` reply as its result value, not encoded. The IRC gateway asks the same actions
/// as the other transports and renders their results as IRC lines: encoding a result to JSON
/// only to decode it again was most of what an IRC login cost (the names of a large room).
public final class TypedReply: Sendable {
    public let replyTo: String?
    public let value: any Encodable & Sendable

    public init(replyTo: String?, value: any Encodable & Sendable) {
        self.replyTo = replyTo
        self.value = value
    }
}

/// An envelope the server sends: a reply (`success`/`error` with `reply_to`) or a push.
public struct OutgoingEnvelope<Payload: Encodable>: Encodable {
    public var action: String
    public var replyTo: String?
    public var data: Payload
    public var timestamp: Timestamp

    enum CodingKeys: String, CodingKey {
        case action
        case replyTo = "reply_to"
        case data, timestamp
    }

    public init(action: String, replyTo: String? = nil, data: Payload, timestamp: Timestamp = .now()) {
        self.action = action
        self.replyTo = replyTo
        self.data = data
        self.timestamp = timestamp
    }
}

/// Encodes what the server sends. Encoding our own value types cannot fail in practice; if it
/// ever did, the recipient gets an `internal` error rather than nothing.
public enum EnvelopeEncoder {
    public static func encode<P: Encodable>(_ envelope: OutgoingEnvelope<P>) -> EncodedFrame {
        do {
            return EncodedFrame(json: try JSONEncoder().encode(envelope))
        } catch {
            let fallback = #"{"action":"error","data":{"code":"internal","message":"could not encode a reply"},"timestamp":""#
                + envelope.timestamp.iso8601 + #""}"#
            return EncodedFrame(json: Array(fallback.utf8))
        }
    }

    public static func push<P: Encodable>(_ action: String, _ data: P) -> EncodedFrame {
        encode(OutgoingEnvelope(action: action, data: data))
    }

    public static func success<P: Encodable>(replyTo: String?, _ data: P) -> EncodedFrame {
        encode(OutgoingEnvelope(action: "success", replyTo: replyTo, data: data))
    }

    public static func error(replyTo: String?, _ error: ProtocolError) -> EncodedFrame {
        encode(OutgoingEnvelope(action: "error", replyTo: replyTo, data: error.payload))
    }
}

/// Maps an action name to the type of its `data`, so that a request is parsed once, straight
/// into its typed payload. The domain core provides the one implementation (its action table).
public protocol PayloadRegistry {
    associatedtype Payload: Sendable
    /// Decodes `data` for `action` (`decoder` is nil when the request had no `data`, or `null`).
    /// Returns nil for an unknown action.
    static func decodePayload(action: String, from decoder: (any Decoder)?) throws -> Payload?
}

/// A request as received. Decoding never fails past the outer JSON object: whatever is wrong
/// with `action` or `data` lands in `payload` as the error to reply with, so that the reply
/// still carries the request's `id`.
public struct ClientEnvelope<Registry: PayloadRegistry>: Decodable {
    public var action: String
    public var id: String?
    public var payload: Result<Registry.Payload, ProtocolError>

    /// The longest accepted `id`.
    public static var maxIDLength: Int { 64 }

    enum CodingKeys: String, CodingKey {
        case action, id, data
    }

    init(action: String, id: String?, payload: Result<Registry.Payload, ProtocolError>) {
        self.action = action
        self.id = id
        self.payload = payload
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.action = ""
        self.id = nil
        self.payload = .failure(ProtocolError(.internal, "not decoded"))
        do {
            let id = try c.decodeIfPresent(String.self, forKey: .id)
            guard (id?.count ?? 0) <= Self.maxIDLength else {
                throw ProtocolError(.invalidField, "'id' is longer than \(Self.maxIDLength) characters")
            }
            self.id = id
            self.action = try c.decode(String.self, forKey: .action)
            let dataDecoder: (any Decoder)? = try (c.contains(.data) && !c.decodeNil(forKey: .data))
                ? c.superDecoder(forKey: .data) : nil
            guard let payload = try Registry.decodePayload(action: action, from: dataDecoder) else {
                throw ProtocolError(.unknownAction, "unknown action '\(action)'")
            }
            self.payload = .success(payload)
        } catch let error as ProtocolError {
            self.payload = .failure(error)
        } catch let error as DecodingError {
            self.payload = .failure(Self.protocolError(for: error))
        }
    }

    /// Decodes one request. Never throws: a frame that is not a JSON object in valid UTF-8
    /// becomes an `invalid_json` failure with no `id`. (Foundation's decoder lets some invalid
    /// UTF-8 through inside strings, so it is checked first.)
    public static func decode(_ bytes: ByteBuffer) -> ClientEnvelope {
        do {
            guard String(validating: bytes.readableBytesView, as: UTF8.self) != nil else {
                throw ProtocolError(.invalidJSON, "invalid UTF-8")
            }
            // The common, plain request on the fast path; anything else (and every error)
            // as `JSONDecoder` reads it.
            if let fast = decodePlain(bytes) {
                return fast
            }
            // Foundation's decoder is lenient: strict JSON first, duplicate keys refused.
            if let problem = bytes.withUnsafeReadableBytes({ StrictJSON.problem(in: $0) }) {
                throw ProtocolError(.invalidJSON, "a request must be one JSON object: \(problem.description)")
            }
            return try JSONDecoder().decode(ClientEnvelope.self, from: Data(bytes.readableBytesView))
        } catch let error as ProtocolError where error.code == .invalidJSON {
            return ClientEnvelope(action: "", id: nil, payload: .failure(error))
        } catch {
            return ClientEnvelope(action: "", id: nil, payload: .failure(ProtocolError(.invalidJSON, "a request must be one JSON object in UTF-8")))
        }
    }

    /// The fast path: the envelope read straight from the parsed object (no `Decodable` for
    /// it), the payload through `FlatDecoder`. Nil, for `JSONDecoder` to read it, unless all
    /// is plain and correct.
    static func decodePlain(_ bytes: ByteBuffer) -> ClientEnvelope? {
        let parsed = bytes.withUnsafeReadableBytes { raw -> FlatValue? in
            var parser = FlatJSONParser(bytes: raw)
            return parser.parseDocument()
        }
        guard case .object(let fields)? = parsed, case .string(let action)? = fields["action"] else { return nil }
        var id: String?
        switch fields["id"] {
        case nil, .null?: id = nil
        case .string(let text)? where text.count <= maxIDLength: id = text
        default: return nil
        }
        let data: (any Decoder)?
        switch fields["data"] {
        case nil, .null?: data = nil
        case .object(let object)?: data = FlatDecoder(value: .object(object), codingPath: [CodingKeys.data])
        default: return nil
        }
        guard let payload = try? Registry.decodePayload(action: action, from: data) else { return nil }
        return ClientEnvelope(action: action, id: id, payload: .success(payload))
    }

    /// Turns a decoding error into the documented code: a missing key is `missing_field`, any
    /// other problem with a value is `invalid_field`; both name the field.
    static func protocolError(for error: DecodingError) -> ProtocolError {
        switch error {
        case .keyNotFound(let key, let context):
            return ProtocolError(.missingField, "missing field '\(path(context.codingPath + [key]))'")
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return ProtocolError(.invalidJSON, "a request must be one JSON object")
            }
            return ProtocolError(.invalidField, "field '\(path(context.codingPath))' has the wrong type or value")
        @unknown default:
            return ProtocolError(.invalidJSON, "the request could not be read")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue, key.stringValue.hasPrefix("Index") {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }
}

/// Helpers for `PayloadRegistry` implementations.
public enum PayloadDecoding {
    private static let emptyObject = Data("{}".utf8)

    /// Decodes `P` from `data`, or from an empty object when the request had no `data`, so that
    /// a missing required field is reported as `missing_field 'data.NAME'`.
    public static func decode<P: Decodable>(_ type: P.Type, from decoder: (any Decoder)?) throws -> P {
        if let flat = decoder as? FlatDecoder, case .object(let fields) = flat.value,
           let plain = P.self as? any FlatDecodable.Type, let payload = plain.init(flat: fields) as? P {
            return payload
        }
        if let decoder {
            return try P(from: decoder)
        }
        if let payload = try? P(from: FlatDecoder(value: .object(FlatObject()), codingPath: [])) {
            return payload  // no `data` and nothing required: no JSONDecoder needed
        }
        do {
            return try JSONDecoder().decode(P.self, from: emptyObject)
        } catch DecodingError.keyNotFound(let key, _) {
            throw ProtocolError(.missingField, "missing field 'data.\(key.stringValue)'")
        }
    }
}
