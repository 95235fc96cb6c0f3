/// Message text between Salon and IRC: Salon's text may hold several lines and any length
/// up to its limit; IRC's is one line within 512 bytes, and may carry formatting codes
/// (control characters Salon's text may not hold).
public enum IRCText {
    /// `text` as IRC lines of at most `maxBytes` UTF-8 bytes each: one per line of the text
    /// (empty lines left out: IRC cannot send them), a long line split between characters —
    /// after a space when there is one in the second half of the piece — never inside one,
    /// so that the pieces put together are the line.
    public static func lines(_ text: String, maxBytes: Int) -> [String] {
        let limit = max(maxBytes, 4)  // room for any one character
        var out: [String] = []
        // "\r\n" is one Character in Swift, so each ending is named.
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            if line.utf8.count <= limit {
                out.append(String(line))
                continue
            }
            var piece = ""
            var pieceBytes = 0
            var afterSpace: Int?  // bytes of `piece` up to and including its last space
            for character in line {
                let size = character.utf8.count
                // After a cut at a space, what followed it may still leave no room: then it
                // goes too.
                while pieceBytes + size > limit, !piece.isEmpty {
                    if let cut = afterSpace, cut >= limit / 2 {
                        let index = piece.utf8.index(piece.startIndex, offsetBy: cut)
                        out.append(String(piece[..<index]))
                        piece = String(piece[index...])
                    } else {
                        out.append(piece)
                        piece = ""
                    }
                    pieceBytes = piece.utf8.count
                    afterSpace = nil
                }
                // A single character wider than the limit (a long emoji sequence) goes alone.
                piece.append(character)
                pieceBytes += size
                if character == " " { afterSpace = pieceBytes }
            }
            if !piece.isEmpty { out.append(piece) }
        }
        return out
    }

    /// Text an IRC user typed, as Salon text: bold (`^B`), italic (`^]`) and monospace
    /// (`^Q`) become Salon's `*bold*`, `_italic_` and `` `code` `` markup; colours (`^C` with
    /// their numbers, `^D` with hex), underline, strike-through, reverse and reset are removed
    /// (reset closes what is open); any other control character but tab is dropped.
    public static func fromIRC(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        var out: [Unicode.Scalar] = []
        var open: [(marker: Unicode.Scalar, at: Int)] = []
        func toggle(_ marker: Unicode.Scalar) {
            if let i = open.lastIndex(where: { $0.marker == marker }) {
                close(from: i)
            } else {
                open.append((marker, out.count))
                out.append(marker)
            }
        }
        // Closes the spans from `i` on, innermost first; an empty one leaves no markers.
        func close(from i: Int) {
            for span in open[i...].reversed() {
                if out.count == span.at + 1 {
                    out.removeLast()
                } else {
                    out.append(span.marker)
                }
            }
            open.removeSubrange(i...)
        }
        let scalars = Array(text.unicodeScalars)
        var k = 0
        func skipDigits(_ most: Int) {
            var n = 0
            while n < most, k < scalars.count, ("0"..."9").contains(scalars[k]) { k += 1; n += 1 }
        }
        func skipHex(_ most: Int) {
            var n = 0
            while n < most, k < scalars.count, scalars[k].properties.isASCIIHexDigit { k += 1; n += 1 }
        }
        while k < scalars.count {
            let s = scalars[k]
            k += 1
            switch s.value {
            case 0x02: toggle("*")
            case 0x1D: toggle("_")
            case 0x11: toggle("`")
            case 0x03:  // ^C[N[,M]]
                skipDigits(2)
                if k + 1 < scalars.count, scalars[k] == ",", ("0"..."9").contains(scalars[k + 1]) {
                    k += 1
                    skipDigits(2)
                }
            case 0x04:  // ^D[RRGGBB[,RRGGBB]]
                skipHex(6)
                if k + 1 < scalars.count, scalars[k] == ",", scalars[k + 1].properties.isASCIIHexDigit {
                    k += 1
                    skipHex(6)
                }
            case 0x0F: if !open.isEmpty { close(from: 0) }
            case 0x09: out.append(s)
            case 0x00..<0x20, 0x7F: break
            default: out.append(s)
            }
        }
        if !open.isEmpty { close(from: 0) }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: out)
        return String(result)
    }
}
