/// Text from the server made safe to write to a terminal: every control character is shown
/// visibly (`^[` for ESC, `^G` for BEL, `^?` for DEL, `<U+0085>` for a C1 control) and never
/// written raw, whatever the server stored, so that nobody's message can retitle or clear a
/// terminal, move its cursor, or overwrite a line to fake its author. Newlines are kept when
/// `keepNewlines` (the caller lays them out); a tab becomes a space.
public enum VisibleText {
    public static func of(_ text: String, keepNewlines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A where keepNewlines:
                out.append(scalar)
            case 0x09:
                out.append(" ")
            case 0x00...0x1F:
                out.append("^")
                out.append(Unicode.Scalar(UInt8(scalar.value + 0x40)))
            case 0x7F:
                out.append(contentsOf: "^?".unicodeScalars)
            case 0x80...0x9F, 0x202A...0x202E, 0x2066...0x2069:
                // C1 controls, and the bidirectional overrides that reorder what is shown.
                out.append(contentsOf: "<U+\(String(scalar.value, radix: 16, uppercase: true))>".unicodeScalars)
            default:
                out.append(scalar)
            }
        }
        return String(out)
    }

    static func needsEscape(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
