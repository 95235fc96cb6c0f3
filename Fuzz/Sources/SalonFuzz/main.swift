#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import SalonIRC
@testable import SalonProtocol

// libFuzzer drives one of four targets, chosen by SALON_FUZZ_TARGET: `frames`, `json`,
// `envelope` or `irc`. Each must never crash, hang or leak on any input; `json` also checks
// the fast parser against the strict validator (it may never accept what is not JSON),
// `frames` that no frame over the limit is ever handed on, and `irc` that a line read is
// written back as the same message, that text split for IRC loses nothing and stays within
// the limit, and that IRC formatting never leaves a control character in Salon text.

/// Decodes the payloads of a few real request types, so that envelope decoding reaches the
/// typed fields (and `FlatDecoder`).
enum FuzzRegistry: PayloadRegistry {
    typealias Payload = String
    static func decodePayload(action: String, from decoder: (any Decoder)?) throws -> String? {
        switch action {
        case "send_message": return try "\(PayloadDecoding.decode(SendMessageRequest.self, from: decoder))"
        case "history": return try "\(PayloadDecoding.decode(HistoryRequest.self, from: decoder))"
        case "login": return try "\(PayloadDecoding.decode(LoginRequest.self, from: decoder))"
        case "list_users": return try "\(PayloadDecoding.decode(ListUsersRequest.self, from: decoder))"
        case "ping": return try "\(PayloadDecoding.decode(EmptyPayload.self, from: decoder))"
        default: return nil
        }
    }
}

func fuzzFrames(_ bytes: UnsafeBufferPointer<UInt8>) {
    let limit = 1_024
    var decoder = LengthPrefixedFrameDecoder(maxFrameLength: limit)
    // The input arrives in two reads, split where its first byte says.
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var buffer = ByteBuffer()
    for part in [bytes[..<split], bytes[split...]] {
        buffer.writeBytes(UnsafeBufferPointer(rebasing: part))
        do {
            while let frame = try decoder.decode(buffer: &buffer) {
                if case .payload(let payload) = frame, payload.readableBytes > limit { fatalError("a frame over the limit was handed on") }
                if case .tooLarge = frame { return }
            }
        } catch {
            return
        }
    }
}

func fuzzJSON(_ bytes: UnsafeBufferPointer<UInt8>) {
    let raw = UnsafeRawBufferPointer(bytes)
    var parser = FlatJSONParser(bytes: raw)
    let fast = parser.parseDocument()
    let strict = StrictJSON.problem(in: Array(bytes))
    if fast != nil, let strict { fatalError("the fast parser accepted what is not JSON: \(strict)") }
}

func fuzzEnvelope(_ bytes: UnsafeBufferPointer<UInt8>) {
    let envelope = ClientEnvelope<FuzzRegistry>.decode(ByteBuffer(bytes: bytes))
    if case .success = envelope.payload, StrictJSON.problem(in: Array(bytes)) != nil {
        fatalError("a request that is not JSON was accepted")
    }
}

func fuzzIRC(_ bytes: UnsafeBufferPointer<UInt8>) {
    if let message = try? IRCMessage.parse(bytes) {
        do {
            let again = try IRCMessage.parse(Array(message.line.utf8))
            if again != message { fatalError("a line written back reads as another message: \(message) → \(again)") }
        } catch IRCParseError.tooLong {
            // Marking a fifteenth parameter as trailing may add a byte to a line at the limit.
        } catch {
            fatalError("a line written back is refused: \(error)")
        }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    let limit = 4 + Int(bytes.first ?? 0) % 200
    let pieces = IRCText.lines(text, maxBytes: limit)
    if pieces.joined() != String(text.filter { $0 != "\n" && $0 != "\r\n" && $0 != "\r" }) {
        fatalError("splitting for IRC changed the text")
    }
    if let wide = pieces.first(where: { $0.utf8.count > limit && $0.count > 1 }) { fatalError("a piece over the limit: \(wide.utf8.count) bytes") }
    let salon = IRCText.fromIRC(text)
    if let control = salon.unicodeScalars.first(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
        fatalError("IRC formatting left a control character: \(control.value)")
    }
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The target named by SALON_FUZZ_TARGET.
enum Chosen {
    static let target: @Sendable (UnsafeBufferPointer<UInt8>) -> Void = {
        switch getenv("SALON_FUZZ_TARGET").map({ String(cString: $0) }) ?? "" {
        case "frames": return fuzzFrames
        case "json": return fuzzJSON
        case "envelope": return fuzzEnvelope
        case "irc": return fuzzIRC
        default:
            print("set SALON_FUZZ_TARGET to frames, json, envelope or irc")
            exit(64)
        }
    }()
}

// libFuzzer's driver, linked without its own `main` (libclang_rt.fuzzer_no_main).
_ = Chosen.target
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    Chosen.target(UnsafeBufferPointer(start: data, count: size))
    return 0
})
