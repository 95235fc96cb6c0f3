/// The envelopes of events (PROTOCOL.md §5a), written by hand like `MessageJSON`: an event's
/// push data is kept as a JSON object without its `seq`, and the `seq` is placed first in it
/// when the push is written, live or in a `sync` answer. The same bytes serve every recipient.
extension EnvelopeEncoder {
    /// `{"action":…,"data":{"seq":N,…},"timestamp":…}`
    public static func event(action: String, seq: Int64, data: [UInt8]) -> EncodedFrame {
        var w = JSONWriter(capacity: 80 + data.count)
        w.raw("{\"action\":")
        w.string(action)
        w.raw(",\"data\":")
        w.eventData(seq: seq, data: data)
        w.raw(",\"timestamp\":")
        w.timestamp(.now())
        w.raw("}")
        return EncodedFrame(json: w.bytes)
    }

    /// `{"action":…,"data":{"seq":N,"message":…},"timestamp":…}`, written straight from the
    /// message's JSON (`receive_message`, `message_updated`: the hottest push).
    public static func messageEvent(action: String, seq: Int64, message: EncodedMessage) -> EncodedFrame {
        envelope(action: action, replyTo: nil, seq: seq, message: message)
    }

    /// The `success` of `sync`: each event as `{"seq","action","data"}`, oldest first.
    public static func syncSuccess(replyTo: String?, events: [(seq: Int64, action: String, data: [UInt8])], hasMore: Bool, seq: Int64) -> EncodedFrame {
        var w = JSONWriter(capacity: 128 + events.reduce(0) { $0 + 48 + $1.data.count })
        w.raw("{\"action\":\"success\"")
        if let replyTo {
            w.raw(",\"reply_to\":")
            w.string(replyTo)
        }
        w.raw(",\"data\":{\"events\":[")
        for (index, event) in events.enumerated() {
            if index > 0 { w.raw(",") }
            w.raw("{\"seq\":")
            w.int(event.seq)
            w.raw(",\"action\":")
            w.string(event.action)
            w.raw(",\"data\":")
            w.eventData(seq: event.seq, data: event.data)
            w.raw("}")
        }
        w.raw("],\"has_more\":")
        w.raw(hasMore ? "true" : "false")
        w.raw(",\"seq\":")
        w.int(seq)
        w.raw("},\"timestamp\":")
        w.timestamp(.now())
        w.raw("}")
        return EncodedFrame(json: w.bytes)
    }

    /// `{"message":…}`: the data of `receive_message` and `message_updated`, without `seq`.
    public static func messageData(_ message: EncodedMessage) -> [UInt8] {
        var w = JSONWriter(capacity: 16 + message.bytes.count)
        w.raw("{\"message\":")
        w.bytes.append(contentsOf: message.bytes)
        w.raw("}")
        return w.bytes
    }
}

extension JSONWriter {
    /// `data` (a JSON object) with `"seq":N` as its first member.
    mutating func eventData(seq: Int64, data: [UInt8]) {
        raw("{\"seq\":")
        int(seq)
        // `data` is `{…}`: everything after its `{`, with a comma unless it was empty.
        if data.count > 2 {
            raw(",")
            bytes.append(contentsOf: data[1...])
        } else {
            raw("}")
        }
    }
}
