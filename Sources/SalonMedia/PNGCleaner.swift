/// PNG: chunks are copied or dropped by type. Kept: the image's own (IHDR, PLTE, IDAT, IEND),
/// those that say how to show it (transparency, gamma, chromaticities, colour profiles,
/// significant bits, background, histogram, pixel size, palettes, HDR metadata) and APNG's
/// animation chunks. Dropped: text (tEXt, zTXt, iTXt, where XMP lives too), eXIf, tIME, every
/// unknown chunk, and anything after IEND.
enum PNGCleaner {
    static let kept: Set<String> = [
        "IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "cHRM", "iCCP", "sRGB", "sBIT", "bKGD", "hIST", "pHYs", "sPLT",
        "cICP", "mDCV", "cLLI", "acTL", "fcTL", "fdAT",
    ]

    static func clean(_ input: inout ByteStream, _ output: inout ByteSink) async throws -> CleanedImage {
        let signature = try await input.read(8)
        try await output.write(signature)
        var size: (Int, Int)?
        while true {
            let header = try await input.read(8)
            let length = header.bigEndian(0, 4)
            guard length <= 0x7FFF_FFFF else { throw ImageError.malformed("a chunk longer than PNG allows") }
            guard header[4..<8].allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                throw ImageError.malformed("a chunk with a bad type")
            }
            let type = String(decoding: header[4..<8], as: UTF8.self)
            if size == nil {
                guard type == "IHDR", length == 13 else { throw ImageError.malformed("no header chunk first") }
                let data = try await input.read(13 + 4)
                size = (data.bigEndian(0, 4), data.bigEndian(4, 4))
                try await output.write(header + data)
                continue
            }
            if kept.contains(type) {
                try await output.write(header)
                try await input.copy(Int64(length) + 4, to: &output)
            } else {
                try await input.skip(Int64(length) + 4)
            }
            if type == "IEND" { break }
        }
        guard let size, size.0 > 0, size.1 > 0, size.0 <= 0x7FFF_FFFF, size.1 <= 0x7FFF_FFFF else {
            throw ImageError.malformed("no size")
        }
        return CleanedImage(kind: .png, width: size.0, height: size.1, patches: [])
    }
}
