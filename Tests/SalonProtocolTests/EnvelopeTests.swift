import Foundation
import NIOCore
import SalonProtocol
import Testing

/// A registry like the core's, for decoding tests.
private enum TestRegistry: PayloadRegistry {
    enum Payload: Sendable {
        case ping
        case send(SendMessageRequest)
        case history(HistoryRequest)
    }

    static func decodePayload(action: String, from decoder: (any Decoder)?) throws -> Payload? {
        switch action {
        case "ping": return .ping
        case "send_message": return .send(try PayloadDecoding.decode(SendMessageRequest.self, from: decoder))
        case "history": return .history(try PayloadDecoding.decode(HistoryRequest.self, from: decoder))
        default: return nil
        }
    }
}

@Suite struct EnvelopeTests {
    private func decode(_ text: String) -> ClientEnvelope<TestRegistry> {
        ClientEnvelope<TestRegistry>.decode(ByteBuffer(string: text))
    }

    private func errorCode(_ text: String) -> ErrorCode? {
        if case .failure(let e) = decode(text).payload { return e.code }
        return nil
    }

    @Test func decodesATypedPayloadInOnePass() throws {
        let envelope = decode(#"{"action":"send_message","id":"c42","data":{"room":"general","text":"salut","client_msg_id":"x1","extra":true}}"#)
        #expect(envelope.action == "send_message")
        #expect(envelope.id == "c42")
        guard case .success(.send(let p)) = envelope.payload else {
            Issue.record("expected a send_message payload")
            return
        }
        #expect(p.room == "general")
        #expect(p.text == "salut")
        #expect(p.clientMsgID == "x1")
    }

    @Test func namesTheMissingField() {
        let envelope = decode(#"{"action":"send_message","id":"a","data":{"room":"general"}}"#)
        #expect(envelope.id == "a")
        guard case .failure(let error) = envelope.payload else {
            Issue.record("expected an error")
            return
        }
        #expect(error.code == .missingField)
        #expect(error.message.contains("data.text"))
    }

    @Test func missingDataIsLikeAnEmptyObject() {
        #expect(errorCode(#"{"action":"send_message"}"#) == .missingField)
        #expect(errorCode(#"{"action":"send_message","data":null}"#) == .missingField)
        #expect(errorCode(#"{"action":"ping"}"#) == nil)
        #expect(errorCode(#"{"action":"history","data":{}}"#) == nil)
    }

    @Test func wrongTypesAreInvalidField() {
        #expect(errorCode(#"{"action":"history","data":{"room":"general","limit":"ten"}}"#) == .invalidField)
        #expect(errorCode(#"{"action":"send_message","data":5}"#) == .invalidField)
        #expect(errorCode(#"{"action":5}"#) == .invalidField)
        #expect(errorCode(#"{"action":"ping","id":7}"#) == .invalidField)
    }

    @Test func unknownAndMissingActions() {
        #expect(errorCode(#"{"action":"dance"}"#) == .unknownAction)
        #expect(errorCode(#"{"id":"x"}"#) == .missingField)
    }

    @Test func anIDOver64CharactersIsRefused() {
        let long = String(repeating: "i", count: 65)
        let envelope = decode(#"{"action":"ping","id":"\#(long)"}"#)
        #expect(envelope.id == nil)
        if case .failure(let e) = envelope.payload { #expect(e.code == .invalidField) } else { Issue.record("expected an error") }
        #expect(errorCode(#"{"action":"ping","id":"\#(String(repeating: "i", count: 64))"}"#) == nil)
    }

    @Test func whatIsNotAJSONObjectIsInvalidJSON() {
        for text in ["", "null", "[]", "\"ping\"", "42", "{", "{\"action\":\"ping\"", "{action:ping}", "\u{0}"] {
            #expect(errorCode(text) == .invalidJSON, "\(text)")
        }
    }

    @Test(arguments: [[0xff, 0xfe], [0xc3], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]] as [[UInt8]])
    func invalidUTF8IsInvalidJSON(_ bad: [UInt8]) {
        let bytes = Array(#"{"action":"ping","id":""#.utf8) + bad + Array(#""}"#.utf8)
        let envelope = ClientEnvelope<TestRegistry>.decode(ByteBuffer(bytes: bytes))
        if case .failure(let e) = envelope.payload { #expect(e.code == .invalidJSON) } else { Issue.record("expected invalid_json") }
    }

    @Test func encodesRepliesAndPushes() throws {
        let frame = EnvelopeEncoder.error(replyTo: "c1", ProtocolError(.roomNotFound, "no room"))
        let object = try JSONSerialization.jsonObject(with: Data(frame.json.readableBytesView)) as? [String: Any]
        #expect(object?["action"] as? String == "error")
        #expect(object?["reply_to"] as? String == "c1")
        let data = object?["data"] as? [String: Any]
        #expect(data?["code"] as? String == "room_not_found")
        let timestamp = try #require(object?["timestamp"] as? String)
        #expect(Timestamp(iso8601: timestamp) != nil)
        // The framed form is the same JSON behind a 4-byte big-endian length.
        #expect(frame.framed.getInteger(at: frame.framed.readerIndex, as: UInt32.self) == UInt32(frame.size))
        #expect(frame.framed.getSlice(at: frame.framed.readerIndex + 4, length: frame.size) == frame.json)
    }

    @Test func pushesHaveNoReplyTo() throws {
        let frame = EnvelopeEncoder.push("presence", PresencePush(username: "ana", online: true))
        let object = try JSONSerialization.jsonObject(with: Data(frame.json.readableBytesView)) as? [String: Any]
        #expect(object?["reply_to"] == nil)
        #expect(object?["action"] as? String == "presence")
    }

    @Test func messagesRoundTrip() throws {
        let message = Message(id: 7, room: nil, to: "bob", from: "ana", text: "<b>hi</b> \u{1F600}", timestamp: Timestamp(milliseconds: 1_795_000_000_123), replyTo: 3)
        let data = try JSONEncoder().encode(message)
        #expect(try JSONDecoder().decode(Message.self, from: data) == message)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"reply_to\":3"))
        #expect(!text.contains("\"room\""))
    }
}

@Suite struct TimestampTests {
    @Test func formatsISO8601WithMilliseconds() {
        #expect(Timestamp(milliseconds: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(milliseconds: 1_795_257_000_123).iso8601 == "2026-11-21T10:30:00.123Z")
        #expect(Timestamp(milliseconds: 951_782_400_000).iso8601 == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp(milliseconds: -1).iso8601 == "1969-12-31T23:59:59.999Z")
    }

    @Test func parsesWhatItFormats() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            let t = Timestamp(milliseconds: Int64.random(in: 0...4_102_444_800_000, using: &rng))
            #expect(Timestamp(iso8601: t.iso8601) == t)
        }
        #expect(Timestamp(iso8601: "2026-11-21T10:30:00Z")?.milliseconds == 1_795_257_000_000)
        for bad in ["", "2026-11-21", "2026-11-21T10:30:00.123", "2026-13-21T10:30:00.123Z", "x026-11-21T10:30:00.123Z"] {
            #expect(Timestamp(iso8601: bad) == nil, "\(bad)")
        }
    }
}

@Suite struct LimitsTests {
    @Test func usernames() {
        #expect(Limits.isValidUsername("ana"))
        #expect(Limits.isValidUsername("Ana.B-2_x"))
        #expect(Limits.isValidUsername(String(repeating: "a", count: 32)))
        #expect(!Limits.isValidUsername(String(repeating: "a", count: 33)))
        #expect(!Limits.isValidUsername(""))
        #expect(!Limits.isValidUsername("a b"))
        #expect(!Limits.isValidUsername("zoé"))
        #expect(!Limits.isValidUsername("<script>"))
    }

    @Test func roomNames() {
        #expect(Limits.isValidRoomName("general"))
        #expect(Limits.isValidRoomName("dev-ops_2"))
        #expect(!Limits.isValidRoomName("Dev"))
        #expect(!Limits.isValidRoomName(""))
        #expect(!Limits.isValidRoomName(String(repeating: "a", count: 65)))
        #expect(!Limits.isValidRoomName("a.b"))
    }
}

@Suite struct MessageJSONTests {
    private struct Envelope<D: Decodable>: Decodable {
        var action: String
        var reply_to: String?
        var data: D
        var timestamp: Timestamp
    }

    static let texts = [
        "salut", "quote \" and backslash \\ and slash /", "lines\nand\ttabs\r", "\u{0}\u{1}\u{1f} controls",
        "émoji 😀 and 中文", "<img src=x onerror=alert(1)>", "\u{2028}\u{2029}", String(repeating: "long ", count: 800),
    ]

    @Test(arguments: texts)
    func handWrittenEnvelopesAreTheSameJSON(_ text: String) throws {
        for message in [
            Message(id: 42, room: "general", to: nil, from: "ana", text: text, timestamp: Timestamp(milliseconds: 1_795_257_000_123), replyTo: nil),
            Message(id: 43, room: nil, to: "bob", from: "Ana.B-2", text: text, timestamp: Timestamp(milliseconds: 0), replyTo: 7),
        ] {
            let push = EnvelopeEncoder.receiveMessage(message)
            let decoded = try JSONDecoder().decode(Envelope<ReceiveMessagePush>.self, from: Data(push.json.readableBytesView))
            #expect(decoded.action == "receive_message")
            #expect(decoded.reply_to == nil)
            #expect(decoded.data.message == message)
            // The message a transport in the process takes instead of decoding is the same.
            #expect(push.pushed?.message == decoded.data.message)
            let reply = EnvelopeEncoder.messageSuccess(replyTo: "c\"1", message)
            let decodedReply = try JSONDecoder().decode(Envelope<MessageResult>.self, from: Data(reply.json.readableBytesView))
            #expect(decodedReply.action == "success")
            #expect(decodedReply.reply_to == "c\"1")
            #expect(decodedReply.data.message == message)
            #expect(reply.framed.getInteger(at: reply.framed.readerIndex, as: UInt32.self) == UInt32(reply.size))
            #expect(reply.pushed == nil)
        }
    }

    /// Only a `receive_message` push carries its message as a value: IRC renders those
    /// without decoding, and decodes the rest (an edit's lines differ from a new message's).
    @Test func onlyReceiveMessagePushesCarryTheirMessage() throws {
        let message = Message(id: 9, room: "general", to: nil, from: "ana", text: "salut", timestamp: Timestamp(milliseconds: 5), replyTo: nil)
        let encoded = EncodedMessage(message)
        let event = EnvelopeEncoder.messageEvent(action: "receive_message", seq: 12, message: encoded)
        let decoded = try JSONDecoder().decode(Envelope<ReceiveMessagePush>.self, from: Data(event.json.readableBytesView))
        #expect(event.pushed?.message == decoded.data.message)
        #expect(EnvelopeEncoder.messageEvent(action: "message_updated", seq: 13, message: encoded).pushed == nil)
        #expect(EnvelopeEncoder.event(action: "presence", seq: 14, data: Array("{}".utf8)).pushed == nil)
    }
}
