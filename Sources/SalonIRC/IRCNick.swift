/// The nick mapping of PROTOCOL.md §9, both ways. A Salon username (ASCII letters, digits,
/// `_`, `-`, `.`) is its nick, but `.` (not allowed in nicks) is shown as `|`, and a name that
/// starts with a digit or `-` (nicks may not) gets a leading `` ` ``. Neither `|` nor `` ` ``
/// may be in a username, so every nick maps back to at most one username.
public enum IRCNick {
    /// The nick IRC users see for `username`.
    ///
    /// Called for every name of a `NAMES` reply (a large room's, at every IRC login): most
    /// usernames map to themselves, returned as they are; the others are rewritten bytewise
    /// (`.` and the marks are ASCII, so no character is split).
    public static func nick(for username: String) -> String {
        let utf8 = username.utf8
        let leading = utf8.first.map { $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ?? false
        guard leading || utf8.contains(UInt8(ascii: ".")) else { return username }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count + 1)
        if leading { bytes.append(UInt8(ascii: "`")) }
        for byte in utf8 { bytes.append(byte == UInt8(ascii: ".") ? UInt8(ascii: "|") : byte) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The username a nick stands for, or nil when no username maps to it (a nick with
    /// characters Salon names cannot hold, or a `` ` `` that is not the mapping's).
    public static func username(for nick: String) -> String? {
        var scalars = Substring(nick).unicodeScalars[...]
        if scalars.first == "`" {
            scalars = scalars.dropFirst()
            guard let first = scalars.first, first == "-" || ("0"..."9").contains(first) else { return nil }
        } else if let first = scalars.first, first == "-" || ("0"..."9").contains(first) {
            return nil
        }
        var name = ""
        for scalar in scalars {
            switch scalar {
            case "|": name.append(".")
            case "a"..."z", "A"..."Z", "0"..."9", "_", "-": name.unicodeScalars.append(scalar)
            default: return nil
            }
        }
        return name.isEmpty ? nil : name
    }

    /// IRC's comparison under `CASEMAPPING=ascii`: A–Z and a–z are the same, nothing else.
    public static func folded(_ nick: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in nick.unicodeScalars {
            out.append(("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32)! : scalar)
        }
        return String(out)
    }
}
