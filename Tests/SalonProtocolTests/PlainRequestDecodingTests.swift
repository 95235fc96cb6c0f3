import Foundation
import NIOCore
import Testing
@testable import SalonProtocol

/// The fast request decoder must read the plain requests it accepts exactly as `JSONDecoder`
/// does, and must decline (so that `JSONDecoder` reads them) everything else.
@Suite struct PlainRequestDecodingTests {
    /// Decodes each action's real request type and re-encodes it canonically, so that two
    /// decodings can be compared as text.
    enum Canonical: PayloadRegistry {
        typealias Payload = String

        static func decodePayload(action: String, from decoder: (any Decoder)?) throws -> String? {
            switch action {
            case "register": return try canonical(RegisterRequest.self, decoder)
            case "login": return try canonical(LoginRequest.self, decoder)
            case "create_room": return try canonical(CreateRoomRequest.self, decoder)
            case "join_room": return try canonical(RoomRequest.self, decoder)
            case "send_message": return try canonical(SendMessageRequest.self, decoder)
            case "history": return try canonical(HistoryRequest.self, decoder)
            case "mark_read": return try canonical(MarkReadRequest.self, decoder)
            case "list_users": return try canonical(ListUsersRequest.self, decoder)
            case "ping": return try canonical(EmptyPayload.self, decoder)
            default: return nil
            }
        }

        static func canonical<P: Codable>(_ type: P.Type, _ decoder: (any Decoder)?) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return String(decoding: try encoder.encode(PayloadDecoding.decode(P.self, from: decoder)), as: UTF8.self)
        }
    }

    typealias Envelope = ClientEnvelope<Canonical>

    static let plain = [
        #"{"action":"send_message","id":"s1","data":{"room":"general","text":"hello"}}"#,
        #"{ "id" : "s2" , "data" : { "text" : "ünïcödé ✓ 🎉", "to" : "bob", "reply_to" : 42, "client_msg_id" : "c-1" }, "action" : "send_message" }"#,
        "{\n\t\"action\": \"send_message\",\r\n \"data\": {\"room\": \"r\", \"text\": \"x\", \"reply_to\": -7}\n}",
        #"{"action":"send_message","data":{"room":"r","text":"x","client_msg_id":null,"to":null}}"#,
        #"{"action":"send_message","id":null,"data":{"room":"r","text":"","attachments":null,"extra":"ignored","more":{"x":1}}}"#,
        #"{"action":"ping"}"#,
        #"{"action":"ping","id":"p","data":{}}"#,
        #"{"action":"ping","data":null}"#,
        #"{"action":"ping","data":{"unknown":{"deeper":true},"n":0}}"#,
        #"{"action":"login","id":"L","data":{"username":"ana"}}"#,
        #"{"action":"login","data":{"token":"abcdef0123"}}"#,
        #"{"action":"register","data":{"username":"ana","password":"correct horse"}}"#,
        #"{"action":"create_room","data":{"name":"lobby","topic":"chat","private":true}}"#,
        #"{"action":"join_room","data":{"room":"lobby"}}"#,
        #"{"action":"history","data":{"room":"general","before":9223372036854775807,"limit":50}}"#,
        #"{"action":"mark_read","data":{"room":"general","id":12}}"#,
        #"{"action":"list_users","data":{"room":"general"}}"#,
    ]

    /// Inputs the fast decoder must decline (unusual syntax) or that carry errors.
    static let declined = [
        #"{"action":"send_message","data":{"room":"r","text":"a \"quoted\" word"}}"#,
        #"{"action":"send_message","data":{"room":"r","text":"line\nbreak \u00e9"}}"#,
        #"{"action":"send_message","data":{"room":"r","text":"x","reply_to":1.5}}"#,
        #"{"action":"send_message","data":{"room":"r","text":"x","reply_to":1e3}}"#,
        #"{"action":"send_message","data":{"room":"r","text":"x","reply_to":012}}"#,
        #"{"action":"send_message","data":{"room":"r","text":"x","reply_to":99999999999999999999}}"#,
        #"{"action":"send_message","data":{"room":"r","text":"x","attachments":["a"]}}"#,
        #"{"action":"send_message","data":{"room":"r","text":5}}"#,
        #"{"action":"send_message","data":{"room":5,"text":"x"}}"#,
        #"{"action":"send_message","data":{"room":"r","text":"x","reply_to":"7"}}"#,
        #"{"action":"send_message","data":{"room":"r"}}"#,
        #"{"action":"send_message","data":{"room":"r","text":"x"},"action":"ping"}"#,
        #"{"action":"send_message","data":"text"}"#,
        #"{"action":"nope"}"#,
        #"{"id":"no action"}"#,
        #"{"action":"ping","id":"\#(String(repeating: "x", count: 65))"}"#,
        #"{"action":"ping",}"#,
        #"{"action":"ping"} trailing"#,
        #"["action","ping"]"#,
        #"{"action":"ping","data":{"a":{"b":{"c":{}}}}}"#,
        "{\"action\":\"ping\",\"id\":\"tab\there\"}",
        #"{"action":"login","data":{"username":true}}"#,
        #"{"action":"history","data":{"room":"general","limit":"50"}}"#,
    ]

    @Test(arguments: plain)
    func plainRequestsTakeTheFastPathAndReadAsJSONDecoderReadsThem(_ json: String) throws {
        let fast = try #require(Envelope.decodePlain(ByteBuffer(string: json)))
        let reference = try JSONDecoder().decode(Envelope.self, from: Data(json.utf8))
        #expect(fast.action == reference.action)
        #expect(fast.id == reference.id)
        #expect(try fast.payload.get() == reference.payload.get())
        // And through the public entry point.
        let decoded = Envelope.decode(ByteBuffer(string: json))
        #expect(try decoded.payload.get() == reference.payload.get())
    }

    @Test(arguments: declined)
    func everythingElseIsDeclinedOrReadTheSame(_ json: String) {
        let fast = Envelope.decodePlain(ByteBuffer(string: json))
        if let fast, case .success(let payload) = fast.payload {
            // Accepted: only if it means exactly what JSONDecoder makes of it.
            let reference = try? JSONDecoder().decode(Envelope.self, from: Data(json.utf8))
            #expect(reference?.action == fast.action)
            #expect((try? reference?.payload.get()) == payload)
        }
        // The public entry point refuses what is not strict JSON (duplicate keys included),
        // and otherwise gives JSONDecoder's answer, error or not.
        let decoded = Envelope.decode(ByteBuffer(string: json))
        if StrictJSON.problem(in: Array(json.utf8)) != nil {
            guard case .failure(let error) = decoded.payload else { Issue.record("accepted: \(json)"); return }
            #expect(error.code == .invalidJSON)
            return
        }
        let reference = try? JSONDecoder().decode(Envelope.self, from: Data(json.utf8))
        #expect(decoded.id == reference?.id)
        switch (decoded.payload, reference?.payload) {
        case (.success(let a), .success(let b)?): #expect(a == b)
        case (.failure(let a), .failure(let b)?): #expect(a.code == b.code && a.message == b.message)
        case (.failure(let a), nil): #expect(a.code == .invalidJSON)
        default: Issue.record("fast and reference decodings differ for \(json)")
        }
    }
}
