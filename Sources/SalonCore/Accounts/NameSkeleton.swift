/// What a name looks like, for telling apart names that only look different: two names with
/// the same skeleton are confusable (`liam`, `Iiam`, `1iam`, `Iiarn`, `li4m`).
///
/// The table is small and documented (docs/security.md): usernames are ASCII letters, digits
/// and `_ - .`, so only ASCII look-alikes matter. Applied in order:
/// 1. each of `I i l 1 | !` becomes `l`; each of `O o 0` becomes `o`; then everything is
///    lower-cased;
/// 2. digits that stand for letters: `2` z, `3` e, `4` a, `5` s, `7` t, `8` b, `9` g;
/// 3. pairs that read as one letter: `rn` m, `vv` w, `cl` d;
/// 4. `_`, `-` and `.` are dropped (`li_am` reads as `liam`).
public enum NameSkeleton {
    public static func of(_ name: String) -> String {
        var letters: [UInt8] = []
        letters.reserveCapacity(name.utf8.count)
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "I"), UInt8(ascii: "i"), UInt8(ascii: "l"), UInt8(ascii: "1"), UInt8(ascii: "|"), UInt8(ascii: "!"):
                letters.append(UInt8(ascii: "l"))
            case UInt8(ascii: "O"), UInt8(ascii: "o"), UInt8(ascii: "0"):
                letters.append(UInt8(ascii: "o"))
            case UInt8(ascii: "2"): letters.append(UInt8(ascii: "z"))
            case UInt8(ascii: "3"): letters.append(UInt8(ascii: "e"))
            case UInt8(ascii: "4"): letters.append(UInt8(ascii: "a"))
            case UInt8(ascii: "5"): letters.append(UInt8(ascii: "s"))
            case UInt8(ascii: "7"): letters.append(UInt8(ascii: "t"))
            case UInt8(ascii: "8"): letters.append(UInt8(ascii: "b"))
            case UInt8(ascii: "9"): letters.append(UInt8(ascii: "g"))
            case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
                continue
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                letters.append(byte + 32)
            default:
                letters.append(byte)
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(letters.count)
        var index = 0
        while index < letters.count {
            let byte = letters[index]
            if index + 1 < letters.count {
                let pair = (byte, letters[index + 1])
                let merged: UInt8? = switch pair {
                case (UInt8(ascii: "r"), UInt8(ascii: "n")): UInt8(ascii: "m")
                case (UInt8(ascii: "v"), UInt8(ascii: "v")): UInt8(ascii: "w")
                case (UInt8(ascii: "c"), UInt8(ascii: "l")): UInt8(ascii: "d")
                default: nil
                }
                if let merged {
                    out.append(merged)
                    index += 2
                    continue
                }
            }
            out.append(byte)
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
