/// A key press, decoded from the bytes a terminal sends in raw mode.
public enum Key: Equatable, Sendable {
    case character(Character)
    case enter, tab, backspace, delete
    case left, right, up, down, home, end
    case wordLeft, wordRight
    /// Ctrl-W or Alt-Backspace: delete the word before the cursor.
    case deleteWordBackward
    /// Ctrl-U: delete to the start of the line. Ctrl-K: to its end.
    case deleteToStart, deleteToEnd
    case interrupt      // Ctrl-C
    case endOfInput     // Ctrl-D
    case redraw         // Ctrl-L
    case unknown
}

/// Turns raw terminal input into keys: UTF-8 characters, control keys and the escape
/// sequences of common terminals (xterm, VT, rxvt, tmux). Bytes of an unfinished sequence are
/// kept for the next read.
public struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    public mutating func feed(_ bytes: [UInt8]) -> [Key] {
        pending += bytes
        var keys: [Key] = []
        var i = 0
        while i < pending.count {
            guard let (key, length) = Self.decodeOne(pending, at: i) else { break }
            keys.append(key)
            i += length
        }
        pending.removeFirst(i)
        return keys
    }

    /// One key at `i`, and how many bytes it took; nil when more bytes are needed.
    static func decodeOne(_ b: [UInt8], at i: Int) -> (Key, Int)? {
        let byte = b[i]
        switch byte {
        case 0x0d, 0x0a: return (.enter, 1)
        case 0x09: return (.tab, 1)
        case 0x7f, 0x08: return (.backspace, 1)
        case 0x01: return (.home, 1)
        case 0x05: return (.end, 1)
        case 0x02: return (.left, 1)
        case 0x06: return (.right, 1)
        case 0x10: return (.up, 1)
        case 0x0e: return (.down, 1)
        case 0x17: return (.deleteWordBackward, 1)
        case 0x15: return (.deleteToStart, 1)
        case 0x0b: return (.deleteToEnd, 1)
        case 0x03: return (.interrupt, 1)
        case 0x04: return (.endOfInput, 1)
        case 0x0c: return (.redraw, 1)
        case 0x1b: return decodeEscape(b, at: i)
        case 0x00..<0x20: return (.unknown, 1)
        default: return decodeUTF8(b, at: i)
        }
    }

    private static func decodeEscape(_ b: [UInt8], at i: Int) -> (Key, Int)? {
        guard i + 1 < b.count else { return nil }
        let next = b[i + 1]
        switch next {
        case UInt8(ascii: "["), UInt8(ascii: "O"):
            // CSI or SS3: parameters, then a final byte in 0x40–0x7e.
            var j = i + 2
            while j < b.count, !(0x40...0x7e).contains(b[j]) { j += 1 }
            guard j < b.count else { return nil }
            let params = String(decoding: b[(i + 2)..<j], as: UTF8.self)
            let length = j - i + 1
            switch (b[j], params) {
            case (UInt8(ascii: "A"), _): return (.up, length)
            case (UInt8(ascii: "B"), _): return (.down, length)
            case (UInt8(ascii: "C"), "1;5"), (UInt8(ascii: "C"), "1;3"): return (.wordRight, length)
            case (UInt8(ascii: "D"), "1;5"), (UInt8(ascii: "D"), "1;3"): return (.wordLeft, length)
            case (UInt8(ascii: "C"), _): return (.right, length)
            case (UInt8(ascii: "D"), _): return (.left, length)
            case (UInt8(ascii: "H"), _): return (.home, length)
            case (UInt8(ascii: "F"), _): return (.end, length)
            case (UInt8(ascii: "~"), "1"), (UInt8(ascii: "~"), "7"): return (.home, length)
            case (UInt8(ascii: "~"), "4"), (UInt8(ascii: "~"), "8"): return (.end, length)
            case (UInt8(ascii: "~"), "3"): return (.delete, length)
            default: return (.unknown, length)
            }
        case 0x7f, 0x08:
            return (.deleteWordBackward, 2)
        case UInt8(ascii: "b"): return (.wordLeft, 2)
        case UInt8(ascii: "f"): return (.wordRight, 2)
        default:
            return (.unknown, 2)
        }
    }

    private static func decodeUTF8(_ b: [UInt8], at i: Int) -> (Key, Int)? {
        let lead = b[i]
        let length: Int
        switch lead {
        case 0x00..<0x80: length = 1
        case 0xc2..<0xe0: length = 2
        case 0xe0..<0xf0: length = 3
        case 0xf0..<0xf5: length = 4
        default: return (.unknown, 1)
        }
        guard i + length <= b.count else { return nil }
        guard let text = String(validating: b[i..<(i + length)], as: UTF8.self), let c = text.first else {
            return (.unknown, 1)
        }
        return (.character(c), length)
    }
}
