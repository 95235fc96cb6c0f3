/// A validator of RFC 8259 JSON, run on every request the fast parser declines and before
/// Foundation's `JSONDecoder` reads it: that decoder lets through what is not JSON in values it
/// does not read (`-`, `1.`, `01`, `[1,]`, `{"k":1,}`, `"\x41"`, `"\uZZZZ"`, a raw TAB in a
/// string), and for a duplicate key takes the first where JavaScript and Python take the last.
/// Here a duplicate key is an error too: a request means one thing to every reader.
public enum StrictJSON {
    /// Nesting deeper than this is refused (a request has three levels).
    public static let maxDepth = 64

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func validate(_ bytes: UnsafeRawBufferPointer) throws(Invalid) {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.at == bytes.count else { throw Invalid(description: "text after the JSON value") }
    }

    /// nil when valid, else why not.
    public static func problem(in raw: UnsafeRawBufferPointer) -> Invalid? {
        do {
            try validate(raw)
            return nil
        } catch {
            return error
        }
    }

    public static func problem(in bytes: [UInt8]) -> Invalid? {
        bytes.withUnsafeBytes { problem(in: $0) }
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

        mutating func skipSpace() {
            while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { at += 1 }
        }

        func fail(_ what: String) -> Invalid { Invalid(description: "\(what) at byte \(at)") }

        mutating func value(depth: Int) throws(Invalid) {
            guard depth < StrictJSON.maxDepth else { throw fail("nesting too deep") }
            guard let b = peek else { throw fail("a value expected") }
            switch b {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): _ = try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw fail("not a JSON value")
            }
        }

        mutating func object(depth: Int) throws(Invalid) {
            at += 1
            skipSpace()
            if peek == UInt8(ascii: "}") { at += 1; return }
            var keys: Set<[UInt8]> = []
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw fail("a key expected") }
                let key = try string()
                guard keys.insert(key).inserted else {
                    throw Invalid(description: "duplicate key '\(String(decoding: key, as: UTF8.self))'")
                }
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw fail("':' expected") }
                at += 1
                skipSpace()
                try value(depth: depth + 1)
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): at += 1
                case UInt8(ascii: "}"): at += 1; return
                default: throw fail("',' or '}' expected")
                }
            }
        }

        mutating func array(depth: Int) throws(Invalid) {
            at += 1
            skipSpace()
            if peek == UInt8(ascii: "]") { at += 1; return }
            while true {
                skipSpace()
                try value(depth: depth + 1)
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): at += 1
                case UInt8(ascii: "]"): at += 1; return
                default: throw fail("',' or ']' expected")
                }
            }
        }

        mutating func literal(_ word: StaticString) throws(Invalid) {
            let count = word.utf8CodeUnitCount
            guard at + count <= bytes.count else { throw fail("unknown literal") }
            for i in 0..<count where bytes[at + i] != word.utf8Start[i] { throw fail("unknown literal") }
            at += count
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        mutating func number() throws(Invalid) {
            if peek == UInt8(ascii: "-") { at += 1 }
            guard let first = peek, isDigit(first) else { throw fail("a digit expected") }
            at += 1
            if first != UInt8(ascii: "0") {
                while let b = peek, isDigit(b) { at += 1 }
            }
            if peek == UInt8(ascii: ".") {
                at += 1
                guard let b = peek, isDigit(b) else { throw fail("a digit expected after '.'") }
                while let b = peek, isDigit(b) { at += 1 }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                at += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { at += 1 }
                guard let b = peek, isDigit(b) else { throw fail("a digit expected in the exponent") }
                while let b = peek, isDigit(b) { at += 1 }
            }
        }

        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

        func hexValue(_ b: UInt8) -> UInt32? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }

        /// A string; returns its decoded UTF-8 bytes (for comparing keys). Escapes are the
        /// eight of RFC 8259 and `\uXXXX`; no raw control character.
        mutating func string() throws(Invalid) -> [UInt8] {
            at += 1
            var out: [UInt8] = []
            while let b = peek {
                switch b {
                case UInt8(ascii: "\""):
                    at += 1
                    return out
                case UInt8(ascii: "\\"):
                    at += 1
                    guard let e = peek else { throw fail("an escape expected") }
                    at += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard at + 4 <= bytes.count else { throw fail("four hex digits expected") }
                        var code: UInt32 = 0
                        for i in 0..<4 {
                            guard let h = hexValue(bytes[at + i]) else { throw fail("four hex digits expected") }
                            code = code << 4 | h
                        }
                        at += 4
                        // For key comparison only: a lone surrogate is kept as its number.
                        if let scalar = Unicode.Scalar(code) {
                            out.append(contentsOf: Array(String(Character(scalar)).utf8))
                        } else {
                            out.append(contentsOf: [0xFF, UInt8(code >> 8), UInt8(code & 0xFF)])
                        }
                    default: throw fail("an unknown escape")
                    }
                case 0x00..<0x20:
                    throw fail("a raw control character in a string")
                default:
                    out.append(b)
                    at += 1
                }
            }
            throw fail("an unterminated string")
        }
    }
}
