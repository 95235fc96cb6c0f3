import NIOCore

/// The two envelopes sent for every message — the `receive_message` push and the sender's
/// `success` — written by hand. Profiles showed Foundation's `JSONEncoder` as the largest
/// cost per message on the server (about a quarter of a core at 10,000 messages a second);
/// these are a few appends. The output is ordinary JSON, checked against `JSONDecoder` in
/// the tests.
extension EnvelopeEncoder {
    /// `{"action":"receive_message","data":{"message":…},"timestamp":…}`
    public static func receiveMessage(_ message: Message) -> EncodedFrame {
        receiveMessage(EncodedMessage(message))
    }

    /// `{"action":"success","reply_to":…,"data":{"message":…},"timestamp":…}`
    public static func messageSuccess(replyTo: String?, _ message: Message) -> EncodedFrame {
        messageSuccess(replyTo: replyTo, EncodedMessage(message))
    }

    /// The same, around a message encoded once for both (its push and its sender's reply).
    public static func receiveMessage(_ message: EncodedMessage) -> EncodedFrame {
        envelope(action: "receive_message", replyTo: nil, message: message)
    }

    public static func messageSuccess(replyTo: String?, _ message: EncodedMessage) -> EncodedFrame {
        envelope(action: "success", replyTo: replyTo, message: message)
    }

    /// An envelope whose data is `{["seq":N,]"message":…}`: replies, and the pushes of message
    /// events (`messageEvent`).
    static func envelope(action: String, replyTo: String?, seq: Int64? = nil, message: EncodedMessage) -> EncodedFrame {
        var w = JSONWriter(capacity: 96 + message.bytes.count)
        w.raw("{\"action\":")
        w.string(action)
        if let replyTo {
            w.raw(",\"reply_to\":")
            w.string(replyTo)
        }
        w.raw(",\"data\":{")
        if let seq {
            w.raw("\"seq\":")
            w.int(seq)
            w.raw(",")
        }
        w.raw("\"message\":")
        w.bytes.append(contentsOf: message.bytes)
        w.raw("},\"timestamp\":")
        w.timestamp(.now())
        w.raw("}")
        let pushed = action == "receive_message" && replyTo == nil ? PushedMessage(message.message) : nil
        return EncodedFrame(json: w.bytes, pushed: pushed)
    }
}

/// A message's JSON object, written once and placed in each envelope that carries it.
public struct EncodedMessage: Sendable {
    public let bytes: [UInt8]
    /// What `bytes` were written from.
    public let message: Message

    public init(_ message: Message) {
        var w = JSONWriter(capacity: 96 + message.text.utf8.count)
        w.message(message)
        bytes = w.bytes
        self.message = message
    }
}

/// Appends JSON to a byte array.
public struct JSONWriter {
    public var bytes: [UInt8]

    public init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func int(_ value: Int64) {
        guard value >= 0 else {
            bytes.append(contentsOf: String(value).utf8)
            return
        }
        // Digits backwards into place, with no String in between.
        let start = bytes.count
        var v = value
        repeat {
            bytes.append(UInt8(48 + v % 10))
            v /= 10
        } while v > 0
        bytes[start...].reverse()
    }

    public mutating func timestamp(_ value: Timestamp) {
        bytes.append(UInt8(ascii: "\""))
        value.appendISO8601(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A JSON string: `"`, `\` and control characters escaped; everything else as UTF-8.
    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escape: copied in one go.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0a: raw("\\n")
            case 0x0d: raw("\\r")
            case 0x09: raw("\\t")
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                raw("\\u00")
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0f)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func message(_ m: Message) {
        raw("{\"id\":")
        int(m.id)
        if let room = m.room {
            raw(",\"room\":")
            string(room)
        }
        if let to = m.to {
            raw(",\"to\":")
            string(to)
        }
        raw(",\"from\":")
        string(m.from)
        if m.fromBot == true {
            raw(",\"from_bot\":true")
        }
        raw(",\"text\":")
        string(m.text)
        raw(",\"timestamp\":")
        timestamp(m.timestamp)
        if let replyTo = m.replyTo {
            raw(",\"reply_to\":")
            int(replyTo)
        }
        if let edited = m.edited {
            raw(",\"edited\":")
            timestamp(edited)
        }
        if m.deleted == true {
            raw(",\"deleted\":true")
        }
        if let attachments = m.attachments, !attachments.isEmpty {
            raw(",\"attachments\":[")
            for (index, file) in attachments.enumerated() {
                if index > 0 { raw(",") }
                self.file(file)
            }
            raw("]")
        }
        if let reactions = m.reactions, !reactions.isEmpty {
            raw(",\"reactions\":[")
            for (index, reaction) in reactions.enumerated() {
                if index > 0 { raw(",") }
                raw("{\"emoji\":")
                string(reaction.emoji)
                raw(",\"count\":")
                int(Int64(reaction.count))
                raw(",\"users\":[")
                for (u, user) in reaction.users.enumerated() {
                    if u > 0 { raw(",") }
                    string(user)
                }
                raw("]}")
            }
            raw("]")
        }
        raw("}")
    }

    mutating func file(_ f: FileInfo) {
        raw("{\"id\":")
        string(f.id)
        raw(",\"name\":")
        string(f.name)
        raw(",\"size\":")
        int(f.size)
        raw(",\"type\":")
        string(f.type)
        raw(",\"url\":")
        string(f.url)
        if let width = f.width, let height = f.height {
            raw(",\"width\":")
            int(Int64(width))
            raw(",\"height\":")
            int(Int64(height))
        }
        if let preview = f.previewURL {
            raw(",\"preview_url\":")
            string(preview)
        }
        raw("}")
    }
}
