import Foundation
import NIOCore
import Testing
@testable import SalonProtocol

/// Requests must be JSON by RFC 8259, duplicate keys refused, whichever decoder reads them.
@Suite struct StrictJSONTests {
    enum Ping: PayloadRegistry {
        typealias Payload = String
        static func decodePayload(action: String, from decoder: (any Decoder)?) throws -> String? {
            action == "ping" ? "ping" : nil
        }
    }

    static func isInvalidJSON(_ text: String) -> Bool {
        let envelope = ClientEnvelope<Ping>.decode(ByteBuffer(string: text))
        if case .failure(let error) = envelope.payload { return error.code == .invalidJSON }
        return false
    }

    @Test(arguments: [
        #"{"action":"ping","data":{"x":-}}"#, #"{"action":"ping","data":{"x":1.}}"#, #"{"action":"ping","data":{"x":01}}"#,
        #"{"action":"ping","data":{"x":[1,]}}"#, #"{"action":"ping","data":{"k":1,}}"#, #"{"action":"ping","data":{"x":"\x41"}}"#,
        #"{"action":"ping","data":{"x":"\uZZZZ"}}"#, "{\"action\":\"ping\",\"data\":{\"x\":\"a\tb\"}}",
        #"{"action":"ping","action":"logout"}"#, #"{"action":"ping","data":{"a":1,"\u0061":2}}"#,
        #"{"action":"ping","data":{"x":.5}}"#, #"{"action":"ping","data":{"x":1e}}"#, #"{"action":"ping","data":{"x":+1}}"#,
        #"{"action":"ping","data":{"x":NaN}}"#, #"{"action":"ping","data":{"x":tru}}"#, #"{"action":"ping"} x"#,
        #"{"action":"ping",}"#, #"{'action':'ping'}"#,
    ])
    func notJSONIsInvalidJSON(_ text: String) {
        #expect(Self.isInvalidJSON(text), "\(text)")
    }

    @Test(arguments: [
        #"{"action":"ping","data":{"x":-0.5e+3,"y":[1,{"z":null}],"w":"\u00e9\n"}}"#,
        #"{"action":"ping","data":{"a":{"k":1},"b":{"k":2}}}"#, #" {"action" : "ping"} "#,
    ])
    func jsonIsRead(_ text: String) {
        #expect(!Self.isInvalidJSON(text), "\(text)")
    }

    /// Differential: random documents and mutations of them; the fast parser never accepts
    /// what the strict validator refuses, and the envelope decoder says `invalid_json`
    /// exactly when the strict validator refuses.
    @Test func theFastParserNeverAcceptsWhatIsNotJSON() {
        var rng = SeededGenerator(seed: 0x5A10)
        let alphabet = Array(#"{}[]:,"\ -+.0123456789eEtrufalsn x\u0041"#.utf8) + [0x09, 0x0A, 0x00, 0xC3, 0xA9]
        var strictlyRefused = 0
        for _ in 0..<20_000 {
            var bytes = Array(Self.document(&rng).utf8)
            for _ in 0..<Int.random(in: 0...3, using: &rng) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(alphabet.randomElement(using: &rng) ?? 0x20, at: at)
                default: bytes[at] = alphabet.randomElement(using: &rng) ?? 0x20
                }
            }
            let strictProblem = StrictJSON.problem(in: bytes)
            let fastAccepts = bytes.withUnsafeBytes { raw -> Bool in
                var parser = FlatJSONParser(bytes: raw)
                return parser.parseDocument() != nil
            }
            if strictProblem != nil {
                strictlyRefused += 1
                #expect(!fastAccepts, "\(String(decoding: bytes, as: UTF8.self))")
            }
            guard String(validating: bytes, as: UTF8.self) != nil else { continue }
            let invalid = Self.isInvalidJSON(String(decoding: bytes, as: UTF8.self))
            if strictProblem != nil {
                #expect(invalid, "\(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(strictlyRefused > 1_000)  // the mutations do reach invalid input
    }

    static func document(_ rng: inout SeededGenerator) -> String {
        var members = [#""action":"ping""#]
        for i in 0..<Int.random(in: 0...3, using: &rng) {
            members.append("\"k\(i)\":\(value(&rng, depth: 0))")
        }
        return "{" + members.shuffled(using: &rng).joined(separator: ",") + "}"
    }

    static func value(_ rng: inout SeededGenerator, depth: Int) -> String {
        switch Int.random(in: 0..<(depth > 2 ? 5 : 7), using: &rng) {
        case 0: return String(Int.random(in: -1000...1000, using: &rng))
        case 1: return ["1.5", "-0.25e3", "0", "2E-2"].randomElement(using: &rng) ?? "0"
        case 2: return [#""plain""#, #""esc\"aped\n""#, #""\u00e9""#, #""""#].randomElement(using: &rng) ?? #""""#
        case 3: return ["true", "false", "null"].randomElement(using: &rng) ?? "null"
        case 4: return #""text""#
        case 5: return "[" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in value(&rng, depth: depth + 1) }.joined(separator: ",") + "]"
        default: return "{" + (0..<Int.random(in: 0...3, using: &rng)).map { "\"m\($0)\":" + value(&rng, depth: depth + 1) }.joined(separator: ",") + "}"
        }
    }
}

/// A small deterministic generator (SplitMix64), so that a failure can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
