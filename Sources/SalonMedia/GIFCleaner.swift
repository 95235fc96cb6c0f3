/// GIF: blocks are walked to the trailer. Kept: the screen and colour tables, images, graphic
/// control and plain-text extensions, and the looping application extensions (NETSCAPE2.0,
/// ANIMEXTS1.0). Dropped: comments, every other application extension (XMP hides there), and
/// anything after the trailer.
enum GIFCleaner {
    static let keptApplications: Set<String> = ["NETSCAPE2.0", "ANIMEXTS1.0"]

    static func clean(_ input: inout ByteStream, _ output: inout ByteSink) async throws -> CleanedImage {
        let header = try await input.read(13)
        try await output.write(header)
        let size = (header.littleEndian(6, 2), header.littleEndian(8, 2))
        if header[10] & 0x80 != 0 { try await input.copy(3 << (Int64(header[10] & 0x07) + 1), to: &output) }
        while true {
            let introducer = try await input.readByte()
            switch introducer {
            case 0x3B:
                try await output.write([0x3B])
                return CleanedImage(kind: .gif, width: size.0, height: size.1, patches: [])
            case 0x2C:
                let descriptor = try await input.read(9)
                try await output.write([0x2C] + descriptor)
                if descriptor[8] & 0x80 != 0 { try await input.copy(3 << (Int64(descriptor[8] & 0x07) + 1), to: &output) }
                try await input.copy(1, to: &output)  // LZW minimum code size
                try await subBlocks(&input, &output, keep: true)
            case 0x21:
                let label = try await input.readByte()
                switch label {
                case 0xF9, 0x01:
                    try await output.write([0x21, label])
                    try await subBlocks(&input, &output, keep: true)
                case 0xFF:
                    let length = Int(try await input.readByte())
                    let identifier = try await input.read(length)
                    let keep = length == 11 && keptApplications.contains(String(decoding: identifier, as: UTF8.self))
                    if keep { try await output.write([0x21, 0xFF, UInt8(length)] + identifier) }
                    try await subBlocks(&input, &output, keep: keep)
                default:
                    try await subBlocks(&input, &output, keep: false)
                }
            default:
                throw ImageError.malformed("an unknown GIF block")
            }
        }
    }

    /// Data sub-blocks up to and with the empty one that ends them.
    private static func subBlocks(_ input: inout ByteStream, _ output: inout ByteSink, keep: Bool) async throws {
        while true {
            let length = try await input.readByte()
            if keep { try await output.write([length]) }
            if length == 0 { return }
            if keep {
                try await input.copy(Int64(length), to: &output)
            } else {
                try await input.skip(Int64(length))
            }
        }
    }
}
