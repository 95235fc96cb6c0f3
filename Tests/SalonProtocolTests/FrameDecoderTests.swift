import NIOCore
import SalonProtocol
import Testing

/// The TCP framing: 4-byte big-endian length, then the JSON.
@Suite struct FrameDecoderTests {
    private func decodeAll(_ chunks: [[UInt8]], limit: Int = 100) throws -> [InboundFrame] {
        let processor = NIOSingleStepByteToMessageProcessor(LengthPrefixedFrameDecoder(maxFrameLength: limit))
        var out: [InboundFrame] = []
        for chunk in chunks {
            try processor.process(buffer: ByteBuffer(bytes: chunk)) { out.append($0) }
        }
        return out
    }

    private func frame(_ text: String) -> [UInt8] {
        Array(EncodedFrame(json: Array(text.utf8)).framed.readableBytesView)
    }

    @Test func roundTripsOneFrame() throws {
        let frames = try decodeAll([frame(#"{"action":"ping"}"#)])
        #expect(frames == [.payload(ByteBuffer(string: #"{"action":"ping"}"#))])
    }

    @Test func reassemblesAFrameSplitAcrossReads() throws {
        let bytes = frame(#"{"action":"ping","id":"1"}"#)
        // Every split point, including inside the length prefix.
        for split in 1..<bytes.count {
            let frames = try decodeAll([Array(bytes[..<split]), Array(bytes[split...])])
            #expect(frames == [.payload(ByteBuffer(string: #"{"action":"ping","id":"1"}"#))], "split at \(split)")
        }
    }

    @Test func readsSeveralFramesFromOneRead() throws {
        let frames = try decodeAll([frame("{}") + frame("[]") + frame("{\"a\":1}")])
        #expect(frames.count == 3)
        #expect(frames[1] == .payload(ByteBuffer(string: "[]")))
    }

    @Test func skipsKeepAlives() throws {
        let frames = try decodeAll([[0, 0, 0, 0] + frame("{}") + [0, 0, 0, 0, 0, 0, 0, 0]])
        #expect(frames == [.payload(ByteBuffer(string: "{}"))])
    }

    @Test func truncatedFrameYieldsNothing() throws {
        let bytes = frame(#"{"action":"ping"}"#)
        #expect(try decodeAll([Array(bytes.dropLast(3))]).isEmpty)
        #expect(try decodeAll([[0, 0]]).isEmpty)
    }

    @Test func rejectsAnOversizedFrameFromItsHeaderAlone() throws {
        // Only the 4-byte header: the decoder must not wait for the body.
        let frames = try decodeAll([[0, 0, 0, 101]], limit: 100)
        #expect(frames == [.tooLarge(declaredLength: 101)])
        // A frame exactly at the limit is fine.
        let ok = try decodeAll([[0, 0, 0, 100] + [UInt8](repeating: 32, count: 100)], limit: 100)
        #expect(ok.count == 1)
    }

    @Test func discardsEverythingAfterAnOversizedFrame() throws {
        let frames = try decodeAll([[0xff, 0xff, 0xff, 0xff] + frame("{}"), frame("{}")], limit: 100)
        #expect(frames == [.tooLarge(declaredLength: 0xffff_ffff)])
    }

    @Test func survivesRandomGarbage() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let frames = try decodeAll([bytes], limit: 64)
            for case .payload(let payload) in frames {
                #expect(payload.readableBytes <= 64)
            }
        }
    }
}
