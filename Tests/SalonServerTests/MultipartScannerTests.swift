import NIOCore
@testable import SalonServer
import Testing

/// The upload parser on its own: every split of a body into chunks gives the same parts, and
/// bad bodies are refused, never crash (multipart-kit's parser, used before, crashed on a
/// header name holding a byte over 127).
struct MultipartScannerTests {
    static let boundary = "xYz-123"

    /// All events of `body` fed in chunks of `size` bytes, with body pieces joined.
    static func parse(_ body: [UInt8], chunk size: Int) throws(MultipartScanner.Failure) -> (events: [String], complete: Bool) {
        var scanner = MultipartScanner(boundary: boundary)
        var events: [MultipartScanner.Event] = []
        var at = 0
        while at < body.count {
            let end = min(body.count, at + size)
            try scanner.feed(ByteBuffer(bytes: body[at..<end]), into: &events)
            at = end
        }
        var out: [String] = []
        for event in events {
            switch event {
            case .header(let name, let value): out.append("\(name)=\(value)")
            case .body(let bytes):
                let text = String(decoding: bytes.readableBytesView, as: UTF8.self)
                if let last = out.last, last.hasPrefix("body:") { out[out.count - 1] = last + text } else { out.append("body:" + text) }
            case .end: out.append("end")
            }
        }
        return (out, scanner.isComplete)
    }

    static let twoParts = Array((
        "preamble\r\n--xYz-123\r\nContent-Disposition: form-data; name=\"file\"; filename=\"é.txt\"\r\nContent-Type: text/plain\r\n\r\n"
        + "line one\r\n--xYz-12 not yet\r\n\r\n--xYz-123 \r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n\r\n--xYz-123--\r\nepilogue"
    ).utf8)

    @Test func everySplitGivesTheSameParts() throws {
        let expected = [
            "Content-Disposition=form-data; name=\"file\"; filename=\"é.txt\"", "Content-Type=text/plain",
            "body:line one\r\n--xYz-12 not yet\r\n", "end", "Content-Disposition=form-data; name=\"n\"", "end",
        ]
        for size in [1, 2, 3, 5, 7, 64, 4096] {
            let (events, complete) = try Self.parse(Self.twoParts, chunk: size)
            #expect(events == expected, "chunks of \(size)")
            #expect(complete)
        }
    }

    @Test func aPartWithoutHeadersAndABodyThatEndsEarly() throws {
        let noHeaders = try Self.parse(Array("--xYz-123\r\n\r\nabc\r\n--xYz-123--".utf8), chunk: 2)
        #expect(noHeaders.events == ["body:abc", "end"] && noHeaders.complete)
        let early = try Self.parse(Array("--xYz-123\r\nA: b\r\n\r\nabc".utf8), chunk: 4)
        #expect(!early.complete)
    }

    @Test(arguments: [
        "--xYz-123\r\nN\u{e9}me: v\r\n\r\nx\r\n--xYz-123--",  // a byte over 127 in a header name
        "--xYz-123\r\nNo colon\r\n\r\nx\r\n--xYz-123--",
        "--xYz-123\r\n: empty name\r\n\r\nx\r\n--xYz-123--",
        "--xYz-123\r\nA: b\rc\r\n\r\nx\r\n--xYz-123--",  // a bare CR
        "--xYz-123\r\nA: b\u{0}\r\n\r\nx\r\n--xYz-123--",  // NUL in a value
        "--xYz-123junk\r\n\r\nx\r\n--xYz-123--",
    ])
    func badBodiesAreRefused(_ body: String) {
        for size in [1, 3, 100] {
            #expect(throws: MultipartScanner.Failure.self) { _ = try Self.parse(Array(body.utf8), chunk: size) }
        }
    }

    @Test func limitsBoundWhatIsHeld() {
        let longHeaders = Array(("--xYz-123\r\nA: " + String(repeating: "v", count: MultipartScanner.headerLimit + 1)).utf8)
        #expect(throws: MultipartScanner.Failure.self) { _ = try Self.parse(longHeaders, chunk: 1000) }
        let noBoundary = [UInt8](repeating: UInt8(ascii: "a"), count: MultipartScanner.preambleLimit + 100)
        #expect(throws: MultipartScanner.Failure.self) { _ = try Self.parse(noBoundary, chunk: 1000) }
    }

    /// Random bytes, and random cuts of a valid body: parsed or refused, never a crash.
    @Test func randomBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<2000 {
            var body = round % 2 == 0 ? Self.twoParts : []
            let extra = Int.random(in: 0..<200, using: &generator)
            body += (0..<extra).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if !body.isEmpty, round % 3 == 0 { body[Int.random(in: 0..<body.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            _ = try? Self.parse(body, chunk: Int.random(in: 1...50, using: &generator))
        }
    }
}
