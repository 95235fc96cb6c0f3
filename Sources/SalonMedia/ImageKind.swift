/// The raster formats Salon recognizes by their first bytes (never by a name or a declared
/// type): the only uploads served inline, and only once their metadata is removed.
public enum ImageKind: String, Sendable, CaseIterable {
    case jpeg, png, gif, webp

    /// How many first bytes `sniff` needs.
    public static let signatureLength = 12

    /// The format these first bytes begin, if any.
    public static func sniff(_ head: [UInt8]) -> ImageKind? {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + prefix.count && Array(head[offset..<(offset + prefix.count)]) == prefix
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        return nil
    }

    /// The media type it is served with.
    public var mediaType: String { "image/\(rawValue)" }
}

/// Why an image could not be cleaned: the upload is refused rather than served with what it
/// may hide.
public enum ImageError: Error, Equatable, CustomStringConvertible {
    case truncated
    case malformed(String)

    public var description: String {
        switch self {
        case .truncated: return "the image ends too early"
        case .malformed(let why): return "the image is damaged: \(why)"
        }
    }
}

/// A cleaned image: its size as shown (EXIF orientation applied), and bytes to write again
/// once everything is out (WebP's container size, known only at the end).
public struct CleanedImage: Sendable, Equatable {
    public var kind: ImageKind
    public var width: Int
    public var height: Int
    public var patches: [Patch]

    public struct Patch: Sendable, Equatable {
        public var offset: Int64
        public var bytes: [UInt8]
    }
}

/// Removes what an image carries besides its picture — EXIF (with GPS location, camera,
/// dates), XMP, IPTC, comments, text chunks, embedded thumbnails, data after the end — and
/// reads its width and height, in one pass from `input` to `output`. What is kept is what is
/// needed to show the picture as its author saw it: the coded image, colour profiles, and for
/// JPEG the orientation (rewritten as a minimal EXIF of that one field).
public enum ImageCleaner {
    public static func clean(_ kind: ImageKind, from input: inout ByteStream, to output: inout ByteSink) async throws -> CleanedImage {
        let result: CleanedImage
        switch kind {
        case .jpeg: result = try await JPEGCleaner.clean(&input, &output)
        case .png: result = try await PNGCleaner.clean(&input, &output)
        case .gif: result = try await GIFCleaner.clean(&input, &output)
        case .webp: result = try await WebPCleaner.clean(&input, &output)
        }
        try await output.flush()
        guard result.width > 0, result.height > 0 else { throw ImageError.malformed("it has no size") }
        return result
    }
}

extension Array where Element == UInt8 {
    func bigEndian(_ at: Int, _ count: Int) -> Int {
        (at..<(at + count)).reduce(0) { $0 << 8 | Int(self[$1]) }
    }

    func littleEndian(_ at: Int, _ count: Int) -> Int {
        (at..<(at + count)).reversed().reduce(0) { $0 << 8 | Int(self[$1]) }
    }
}
