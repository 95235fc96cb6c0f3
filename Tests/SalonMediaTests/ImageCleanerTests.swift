import NIOCore
import Testing

@testable import SalonMedia

/// The cleaners on images built byte by byte, fed in small chunks (3 bytes) so that every
/// segment, chunk and marker straddles a chunk boundary somewhere.
@Suite struct ImageCleanerTests {
    static func run(_ bytes: [UInt8], chunk: Int = 3) async throws -> (CleanedImage, [UInt8]) {
        guard let kind = ImageKind.sniff(Array(bytes.prefix(ImageKind.signatureLength))) else { throw ImageError.malformed("not sniffed") }
        var position = 0
        var input = ByteStream {
            guard position < bytes.count else { return nil }
            let end = min(bytes.count, position + chunk)
            defer { position = end }
            return ByteBuffer(bytes: bytes[position..<end])
        }
        let collected = Collected()
        var output = ByteSink { collected.bytes += Array(buffer: $0) }
        let result = try await ImageCleaner.clean(kind, from: &input, to: &output)
        var out = collected.bytes
        for patch in result.patches {
            out.replaceSubrange(Int(patch.offset)..<(Int(patch.offset) + patch.bytes.count), with: patch.bytes)
        }
        return (result, out)
    }

    final class Collected { var bytes: [UInt8] = [] }

    static func segment(_ marker: UInt8, _ data: [UInt8]) -> [UInt8] {
        let length = data.count + 2
        return [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)] + data
    }

    /// EXIF with an orientation (6: turned a quarter), a GPS IFD and a camera model.
    static func exif(orientation: UInt8) -> [UInt8] {
        var tiff: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0]  // little-endian, IFD0 at 8
        tiff += [3, 0]  // three entries
        tiff += [0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0]  // Orientation
        tiff += [0x10, 0x01, 2, 0, 6, 0, 0, 0, 50, 0, 0, 0]  // Model -> offset 50
        tiff += [0x25, 0x88, 4, 0, 1, 0, 0, 0, 56, 0, 0, 0]  // GPS IFD -> offset 56
        tiff += [0, 0, 0, 0]
        tiff += Array("Phone\u{0}".utf8)  // at 50
        tiff += [1, 0, 0x02, 0, 2, 0, 2, 0, 0, 0] + Array("N4851E0221".utf8)  // GPS at 56
        return Array("Exif\u{0}\u{0}".utf8) + tiff
    }

    static let scan: [UInt8] = [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0x00]

    static func jpeg(orientation: UInt8 = 6, trailer: [UInt8] = Array("TRAILER".utf8)) -> [UInt8] {
        var b: [UInt8] = [0xFF, 0xD8]
        b += segment(0xE0, Array("JFIF\u{0}".utf8) + [1, 2, 0, 0, 72, 0, 72, 1, 1] + [9, 9, 9])  // a 1×1 thumbnail
        b += segment(0xE1, exif(orientation: orientation))
        b += segment(0xE1, Array("http://ns.adobe.com/xap/1.0/\u{0}<x:xmpmeta>GPS</x:xmpmeta>".utf8))
        b += segment(0xED, Array("Photoshop 3.0\u{0}8BIM iptc".utf8))
        b += segment(0xFE, Array("a secret comment".utf8))
        b += segment(0xDB, [0] + Array(repeating: 1, count: 64))
        b += segment(0xC0, [8, 0, 20, 0, 10, 1, 1, 0x11, 0])  // 10 wide, 20 high
        b += segment(0xC4, [0] + Array(repeating: 0, count: 16))
        b += segment(0xDA, [1, 1, 0, 0, 63, 0])
        b += scan
        b += [0xFF, 0xD9] + trailer
        return b
    }

    @Test func jpegLosesEverythingButThePictureAndItsOrientation() async throws {
        let (result, out) = try await Self.run(Self.jpeg())
        #expect(result.kind == .jpeg)
        #expect(result.width == 20 && result.height == 10)  // turned: sides swapped
        var expected: [UInt8] = [0xFF, 0xD8]
        expected += Self.segment(0xE0, Array("JFIF\u{0}".utf8) + [1, 2, 0, 0, 72, 0, 72, 0, 0])
        expected += JPEGCleaner.orientationSegment(6)
        expected += Self.segment(0xDB, [0] + Array(repeating: 1, count: 64))
        expected += Self.segment(0xC0, [8, 0, 20, 0, 10, 1, 1, 0x11, 0])
        expected += Self.segment(0xC4, [0] + Array(repeating: 0, count: 16))
        expected += Self.segment(0xDA, [1, 1, 0, 0, 63, 0])
        expected += Self.scan + [0xFF, 0xD9]
        #expect(out == expected)
        let text = String(decoding: out, as: UTF8.self)
        for secret in ["Phone", "N4851", "GPS", "iptc", "secret", "TRAILER"] { #expect(!text.contains(secret)) }
        #expect(JPEGCleaner.exifOrientation(Array(JPEGCleaner.orientationSegment(6)[4...])) == 6)
    }

    @Test func jpegWithoutOrientationKeepsNoExifAndItsOwnSides() async throws {
        let (result, out) = try await Self.run(Self.jpeg(orientation: 1), chunk: 1)
        #expect(result.width == 10 && result.height == 20)
        #expect(!out.contains(0xE1) || !String(decoding: out, as: UTF8.self).contains("Exif"))
    }

    @Test func truncatedScanStillEndsTheImage() async throws {
        let whole = Self.jpeg()
        let cut = Array(whole[..<(whole.count - 11)])  // inside the scan data
        let (_, out) = try await Self.run(cut)
        #expect(out.suffix(2) == [0xFF, 0xD9])
    }

    @Test func damagedJPEGsAreRefused() async throws {
        await #expect(throws: ImageError.self) { try await Self.run([0xFF, 0xD8, 0xFF, 0xE0, 0x00]) }
        await #expect(throws: ImageError.self) { try await Self.run([0xFF, 0xD8, 0xFF, 0xD9]) }  // no frame: no size
        await #expect(throws: ImageError.self) { try await Self.run([0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x01]) }
    }

    static func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let n = data.count
        return [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + Array(type.utf8) + data + [1, 2, 3, 4]
    }

    @Test func pngKeepsImageChunksOnly() async throws {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let ihdr = Self.pngChunk("IHDR", [0, 0, 1, 44, 0, 0, 0, 200, 8, 6, 0, 0, 0])  // 300 × 200
        let kept = Self.pngChunk("gAMA", [0, 0, 0xB1, 0x8F]) + Self.pngChunk("IDAT", Array(repeating: 7, count: 40)) + Self.pngChunk("IEND", [])
        let png = signature + ihdr + Self.pngChunk("tEXt", Array("GPS\u{0}48.85N".utf8)) + Self.pngChunk("eXIf", Self.exif(orientation: 1))
            + Self.pngChunk("gAMA", [0, 0, 0xB1, 0x8F]) + Self.pngChunk("iTXt", Array("XML:com.adobe.xmp\u{0}".utf8))
            + Self.pngChunk("IDAT", Array(repeating: 7, count: 40)) + Self.pngChunk("tIME", [7, 234, 1, 1, 0, 0, 0]) + Self.pngChunk("IEND", []) + [9, 9]
        let (result, out) = try await Self.run(png)
        #expect(result.width == 300 && result.height == 200)
        #expect(out == signature + ihdr + kept)
    }

    @Test func pngMustStartWithItsHeader() async throws {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        await #expect(throws: ImageError.self) { try await Self.run(signature + Self.pngChunk("IDAT", [1])) }
        await #expect(throws: ImageError.self) { try await Self.run(signature + [0xFF, 0xFF, 0xFF, 0xFF] + Array("IDAT".utf8)) }
    }

    static func riff(_ chunks: [(String, [UInt8])], extra: [UInt8] = []) -> [UInt8] {
        var body: [UInt8] = Array("WEBP".utf8)
        for (fourCC, data) in chunks {
            let n = data.count
            body += Array(fourCC.utf8) + [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), 0, 0] + data + (n % 2 == 1 ? [0] : [])
        }
        let n = body.count
        return Array("RIFF".utf8) + [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), 0] + body + extra
    }

    @Test func webpLosesExifAndXmpAndItsFlags() async throws {
        let vp8x: [UInt8] = [0x08 | 0x04 | 0x10, 0, 0, 0, 0x3F, 0x01, 0, 0xC7, 0, 0]  // 320 × 200, alpha, EXIF, XMP
        let vp8: [UInt8] = [0, 0, 0, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xC8, 0x00, 5, 5, 5]
        let webp = Self.riff([("VP8X", vp8x), ("VP8 ", vp8), ("EXIF", Self.exif(orientation: 1)), ("XMP ", Array("<x:xmpmeta/>".utf8))], extra: [1, 2, 3])
        let (result, out) = try await Self.run(webp)
        #expect(result.width == 320 && result.height == 200)
        var cleanX = vp8x
        cleanX[0] = 0x10
        #expect(out == Self.riff([("VP8X", cleanX), ("VP8 ", vp8)]))
    }

    @Test func webpLosslessSize() async throws {
        // VP8L: 0x2F, then width-1 (14 bits) and height-1 (14 bits), little-endian.
        let bits = (99) | (49 << 14)
        let vp8l: [UInt8] = [0x2F, UInt8(bits & 0xFF), UInt8((bits >> 8) & 0xFF), UInt8((bits >> 16) & 0xFF), UInt8(bits >> 24), 0]
        let (result, _) = try await Self.run(Self.riff([("VP8L", vp8l)]))
        #expect(result.width == 100 && result.height == 50)
    }

    @Test func gifLosesCommentsAndXmp() async throws {
        let screen: [UInt8] = Array("GIF89a".utf8) + [16, 0, 8, 0, 0x80, 0, 0] + [0, 0, 0, 255, 255, 255]  // 16 × 8, 2 colours
        let loop: [UInt8] = [0x21, 0xFF, 11] + Array("NETSCAPE2.0".utf8) + [3, 1, 0, 0, 0]
        let control: [UInt8] = [0x21, 0xF9, 4, 0, 10, 0, 0, 0]
        let image: [UInt8] = [0x2C, 0, 0, 0, 0, 16, 0, 8, 0, 0, 2, 2, 0x44, 0x01, 0]
        let gif = screen + loop + [0x21, 0xFE, 6] + Array("secret".utf8) + [0]
            + [0x21, 0xFF, 11] + Array("XMP DataXMP".utf8) + [4] + Array("GPS!".utf8) + [0]
            + control + image + [0x3B] + Array("after".utf8)
        let (result, out) = try await Self.run(gif)
        #expect(result.width == 16 && result.height == 8)
        #expect(out == screen + loop + control + image + [0x3B])
    }

    @Test func sniffingIgnoresNamesAndTypes() {
        #expect(ImageKind.sniff(Array("<svg xmlns=".utf8)) == nil)
        #expect(ImageKind.sniff(Array("<html><script>".utf8)) == nil)
        #expect(ImageKind.sniff([0xFF, 0xD8, 0xFF, 0xE0]) == .jpeg)
        #expect(ImageKind.sniff(Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVE".utf8)) == nil)
    }
}
