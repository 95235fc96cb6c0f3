/// JPEG: segments are copied or dropped one by one; the entropy-coded data after each start
/// of scan is streamed on until the next marker. Kept: the frame, tables, scans, restart
/// markers, Adobe's APP14 (it says how to read the colours), ICC profiles (APP2), JFIF's APP0
/// without its thumbnail, and the orientation from EXIF. Dropped: every other APPn (EXIF,
/// XMP, IPTC, maker notes, thumbnails), comments, and anything after the end of image.
enum JPEGCleaner {
    static func clean(_ input: inout ByteStream, _ output: inout ByteSink) async throws -> CleanedImage {
        guard try await input.read(2) == [0xFF, 0xD8] else { throw ImageError.malformed("no JPEG start") }
        try await output.write([0xFF, 0xD8])
        var size: (width: Int, height: Int)?
        var orientation = 1
        var wroteOrientation = false
        loop: while true {
            guard try await input.readByte() == 0xFF else { throw ImageError.malformed("a segment does not start with a marker") }
            var marker = try await input.readByte()
            while marker == 0xFF { marker = try await input.readByte() }  // fill bytes
            switch marker {
            case 0xD9:
                break loop
            case 0xD0...0xD7, 0x01:
                try await output.write([0xFF, marker])
                continue loop
            case 0x00:
                throw ImageError.malformed("a stray 0xFF00")
            default:
                break
            }
            let lengthBytes = try await input.read(2)
            let length = lengthBytes.bigEndian(0, 2)
            guard length >= 2 else { throw ImageError.malformed("a segment shorter than its length field") }
            let body = Int64(length - 2)
            switch marker {
            case 0xE0:
                let data = try await input.read(length - 2)
                if data.count >= 14, Array(data[0..<5]) == Array("JFIF\u{0}".utf8) {
                    var kept = Array(data[0..<14])
                    kept[12] = 0  // no thumbnail
                    kept[13] = 0
                    try await output.write([0xFF, 0xE0, 0, 16] + kept)
                }
            case 0xE1:
                let data = try await input.read(length - 2)
                // The first EXIF's orientation, where it was: the rest of EXIF goes.
                if !wroteOrientation, let value = exifOrientation(data) {
                    orientation = value
                    wroteOrientation = true
                    if value != 1 { try await output.write(orientationSegment(value)) }
                }
            case 0xE2, 0xEE:
                // ICC_PROFILE, Adobe: kept as they are.
                try await output.write([0xFF, marker] + lengthBytes)
                try await input.copy(body, to: &output)
            case 0xE3...0xEF, 0xFE:
                try await input.skip(body)
            case 0xC0...0xCF where marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
                let data = try await input.read(length - 2)
                guard data.count >= 5 else { throw ImageError.malformed("a short frame header") }
                if size == nil { size = (data.bigEndian(3, 2), data.bigEndian(1, 2)) }
                try await output.write([0xFF, marker] + lengthBytes + data)
            case 0xDA:
                try await output.write([0xFF, marker] + lengthBytes)
                try await input.copy(body, to: &output)
                // Entropy-coded data: 0xFF is followed by 0x00 (a stuffed byte) or a restart
                // marker inside it; anything else is the next marker.
                let more = try await input.copy(to: &output) { a, b in a == 0xFF && b != 0x00 && !(0xD0...0xD7).contains(b) }
                if !more { break loop }  // a truncated file: what there is, then an end
            default:
                try await output.write([0xFF, marker] + lengthBytes)
                try await input.copy(body, to: &output)
            }
        }
        try await output.write([0xFF, 0xD9])
        guard let size else { throw ImageError.malformed("no frame header") }
        // Orientations 5 to 8 turn the picture a quarter: it is shown with its sides swapped.
        let turned = (5...8).contains(orientation)
        return CleanedImage(kind: .jpeg, width: turned ? size.height : size.width, height: turned ? size.width : size.height, patches: [])
    }

    /// The Orientation tag (0x0112) of IFD0 in an APP1 `Exif` segment, when it is 1–8.
    static func exifOrientation(_ data: [UInt8]) -> Int? {
        guard data.count >= 14, Array(data[0..<6]) == Array("Exif\u{0}\u{0}".utf8) else { return nil }
        let tiff = Array(data[6...])
        let little: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func value(_ at: Int, _ count: Int) -> Int? {
            guard at >= 0, at + count <= tiff.count else { return nil }
            return little ? tiff.littleEndian(at, count) : tiff.bigEndian(at, count)
        }
        guard let ifd = value(4, 4), let entries = value(ifd, 2) else { return nil }
        for index in 0..<min(entries, 1_000) {
            let entry = ifd + 2 + index * 12
            guard let tag = value(entry, 2) else { return nil }
            if tag == 0x0112, value(entry + 2, 2) == 3, let orientation = value(entry + 8, 2), (1...8).contains(orientation) {
                return orientation
            }
        }
        return nil
    }

    /// An APP1 `Exif` segment with the orientation alone: big-endian TIFF, IFD0 of one entry.
    static func orientationSegment(_ orientation: Int) -> [UInt8] {
        let tiff: [UInt8] = [0x4D, 0x4D, 0, 42, 0, 0, 0, 8]
            + [0, 1]  // one entry
            + [0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, UInt8(orientation), 0, 0]
            + [0, 0, 0, 0]  // no next IFD
        let data = Array("Exif\u{0}\u{0}".utf8) + tiff
        let length = data.count + 2
        return [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + data
    }
}
