/// WebP: a RIFF file of chunks. Kept: the image (VP8, VP8L, alpha, animation, frames), the
/// extended header (its EXIF and XMP flags cleared) and the ICC profile. Dropped: EXIF, XMP and
/// unknown chunks, and anything after the RIFF's own length. The RIFF length is written again
/// once the cleaned length is known (a patch).
enum WebPCleaner {
    static let kept: Set<String> = ["VP8 ", "VP8L", "VP8X", "ALPH", "ANIM", "ANMF", "ICCP"]

    static func clean(_ input: inout ByteStream, _ output: inout ByteSink) async throws -> CleanedImage {
        let header = try await input.read(12)
        let riffLength = Int64(header.littleEndian(4, 4))
        guard riffLength >= 4 else { throw ImageError.malformed("a RIFF length too short") }
        try await output.write(header)
        var left = riffLength - 4
        var size: (Int, Int)?
        while left >= 8 {
            let chunk = try await input.read(8)
            let fourCC = String(decoding: chunk[0..<4], as: UTF8.self)
            let length = Int64(chunk.littleEndian(4, 4))
            let padded = length + length % 2
            guard padded + 8 <= left else { throw ImageError.malformed("a chunk past the file's end") }
            left -= padded + 8
            switch fourCC {
            case "VP8X" where length >= 10, "VP8 " where length >= 10, "VP8L" where length >= 5:
                var data = try await input.read(Int(padded))
                if fourCC == "VP8X" {
                    data[0] &= ~(0x08 | 0x04)  // no EXIF, no XMP
                    size = (data.littleEndian(4, 3) + 1, data.littleEndian(7, 3) + 1)
                } else if size == nil, fourCC == "VP8 " {
                    guard data[3] == 0x9D, data[4] == 0x01, data[5] == 0x2A else { throw ImageError.malformed("no VP8 start code") }
                    size = (data.littleEndian(6, 2) & 0x3FFF, data.littleEndian(8, 2) & 0x3FFF)
                } else if size == nil {
                    guard data[0] == 0x2F else { throw ImageError.malformed("no VP8L signature") }
                    let bits = data.littleEndian(1, 4)
                    size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
                }
                try await output.write(chunk + data)
            case _ where kept.contains(fourCC):
                try await output.write(chunk)
                try await input.copy(padded, to: &output)
            default:
                try await input.skip(padded)
            }
        }
        guard let size else { throw ImageError.malformed("no image chunk") }
        try await output.flush()
        let cleanedLength = UInt32(clamping: output.count - 8)
        let patch = CleanedImage.Patch(offset: 4, bytes: [UInt8(cleanedLength & 0xFF), UInt8((cleanedLength >> 8) & 0xFF),
                                                          UInt8((cleanedLength >> 16) & 0xFF), UInt8(cleanedLength >> 24)])
        return CleanedImage(kind: .webp, width: size.0, height: size.1, patches: [patch])
    }
}
