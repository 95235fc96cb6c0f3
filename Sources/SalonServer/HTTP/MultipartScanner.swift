#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// An incremental `multipart/form-data` parser (RFC 7578 over RFC 2046): bytes go in as they
/// arrive, in chunks of any size; out come each part's headers, its body in pieces, and its
/// end. Memory holds one chunk and a few bytes carried over (a delimiter cut in two, a header
/// block of at most `headerLimit`).
///
/// Written for Salon instead of using multipart-kit's parser, which crashed the server on a
/// header name holding a byte over 127 (an index past its 128-entry table) and copied the body
/// byte run by byte run. Here the body is searched for the delimiter with `memchr`, and every
/// byte sequence is either parsed or refused with `Failure`.
struct MultipartScanner {
    enum Event: Equatable {
        case header(String, String)
        case body(ByteBuffer)
        case end
    }

    struct Failure: Error, Equatable {
        let reason: String
    }

    /// At most this much of headers per part (Content-Disposition, Content-Type, …).
    static let headerLimit = 8 * 1024
    /// At most this much before the first boundary (a preamble is allowed, and ignored).
    static let preambleLimit = 16 * 1024

    private enum State {
        case preamble
        /// Just after a delimiter: `--` ends the body, CRLF begins a part (white space may come
        /// first).
        case afterDelimiter
        case headers
        case body
        case epilogue
    }

    /// `CRLF--boundary`: the body begins with a virtual CRLF, so that the first boundary line
    /// is found by the same search as the others.
    private let delimiter: [UInt8]
    private var state = State.preamble
    private var carry: [UInt8] = [13, 10]
    private var preambleSeen = 0

    init(boundary: String) {
        delimiter = [13, 10, UInt8(ascii: "-"), UInt8(ascii: "-")] + Array(boundary.utf8)
    }

    /// Whether the closing delimiter (`--boundary--`) was seen.
    var isComplete: Bool {
        if case .epilogue = state { return true }
        return false
    }

    /// Parses `chunk`, appending what it completes to `events`.
    mutating func feed(_ chunk: ByteBuffer, into events: inout [Event]) throws(Failure) {
        if case .epilogue = state { return }  // after the close delimiter: ignored
        var bytes = carry
        bytes.append(contentsOf: chunk.readableBytesView)
        carry = []
        var at = 0
        loop: while at < bytes.count {
            switch state {
            case .preamble:
                if let found = Self.find(delimiter, in: bytes, from: at) {
                    preambleSeen += found - at
                    at = found + delimiter.count
                    state = .afterDelimiter
                } else {
                    let keep = min(bytes.count - at, delimiter.count - 1)
                    preambleSeen += bytes.count - at - keep
                    at = bytes.count - keep
                    if preambleSeen > Self.preambleLimit { throw Failure(reason: "no boundary where the body begins") }
                    break loop
                }
                if preambleSeen > Self.preambleLimit { throw Failure(reason: "no boundary where the body begins") }
            case .afterDelimiter:
                var i = at
                while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
                guard i + 2 <= bytes.count else {
                    guard i - at < 256 else { throw Failure(reason: "white space after a boundary") }
                    break loop
                }
                if bytes[i] == UInt8(ascii: "-") && bytes[i + 1] == UInt8(ascii: "-") {
                    state = .epilogue
                    return
                }
                guard bytes[i] == 13 && bytes[i + 1] == 10 else { throw Failure(reason: "a boundary line goes on after the boundary") }
                at = i + 2
                state = .headers
            case .headers:
                if bytes.count - at >= 2 && bytes[at] == 13 && bytes[at + 1] == 10 {  // no headers
                    at += 2
                    state = .body
                    continue
                }
                guard let end = Self.find([13, 10, 13, 10], in: bytes, from: at) else {
                    guard bytes.count - at <= Self.headerLimit else { throw Failure(reason: "a part's headers are over \(Self.headerLimit) bytes") }
                    break loop
                }
                guard end - at <= Self.headerLimit else { throw Failure(reason: "a part's headers are over \(Self.headerLimit) bytes") }
                try Self.headers(bytes[at..<end], into: &events)
                at = end + 4
                state = .body
            case .body:
                if let found = Self.find(delimiter, in: bytes, from: at) {
                    if found > at { events.append(.body(ByteBuffer(bytes: bytes[at..<found]))) }
                    events.append(.end)
                    at = found + delimiter.count
                    state = .afterDelimiter
                } else {
                    // Keep what could be the start of a delimiter cut by the chunk's end.
                    let keep = min(bytes.count - at, delimiter.count - 1)
                    let cut = bytes.count - keep
                    if cut > at { events.append(.body(ByteBuffer(bytes: bytes[at..<cut]))) }
                    at = cut
                    break loop
                }
            case .epilogue:
                return
            }
        }
        carry = Array(bytes[at...])
    }

    /// `Name: value` lines. A name is an RFC 9110 token; a value is any text but CR, LF and NUL
    /// (UTF-8 in a filename is common; invalid UTF-8 is replaced).
    private static func headers(_ block: ArraySlice<UInt8>, into events: inout [Event]) throws(Failure) {
        var lineStart = block.startIndex
        while lineStart < block.endIndex {
            var lineEnd = lineStart
            while lineEnd < block.endIndex && block[lineEnd] != 13 { lineEnd += 1 }
            if lineEnd < block.endIndex {
                guard lineEnd + 1 < block.endIndex, block[lineEnd + 1] == 10 else { throw Failure(reason: "a bare CR in a part's headers") }
            }
            let line = block[lineStart..<lineEnd]
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[..<colon].allSatisfy(isTokenByte) else { throw Failure(reason: "a part's header line is not 'Name: value'") }
            let value = line[(colon + 1)...]
            guard !value.contains(where: { $0 == 0 || $0 == 10 }) else { throw Failure(reason: "a control character in a part's header") }
            let name = String(decoding: line[..<colon], as: UTF8.self)
            let text = String(decoding: value, as: UTF8.self).trimmingSpaces
            events.append(.header(name, text))
            lineStart = lineEnd + 2
        }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// The first index of `needle` in `hay` at or after `from`.
    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, hay.count - from >= needle.count else { return nil }
        return hay.withUnsafeBufferPointer { h -> Int? in
            needle.withUnsafeBufferPointer { n -> Int? in
                guard let base = h.baseAddress, let nBase = n.baseAddress else { return nil }
                var i = from
                let last = h.count - n.count
                while i <= last {
                    guard let hit = memchr(base + i, Int32(first), last - i + 1) else { return nil }
                    let index = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + index, nBase, n.count) == 0 { return index }
                    i = index + 1
                }
                return nil
            }
        }
    }
}
