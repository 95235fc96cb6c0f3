/// The default limits of PROTOCOL.md §12, and the validation rules shared by the server and
/// clients (a client can check a name before it asks).
public enum Limits {
    public static let frameBytes = 65_536
    public static let usernameLength = 1...32
    public static let passwordMinLength = 8
    /// bcrypt reads at most 72 bytes; a much longer "password" is almost surely a mistake.
    public static let passwordMaxLength = 1024
    public static let roomNameLength = 1...64
    public static let topicLength = 256
    public static let textLength = 4000
    public static let historyPage = 200
    public static let historyDefault = 50
    public static let joinHistory = 50
    public static let clientMsgIDLength = 64

    /// Usernames: 1–32 ASCII letters, digits, `_`, `-`, `.`. ASCII only, so that names that
    /// look alike are alike, and so that every name is also a valid IRC nickname's letters.
    public static func isValidUsername(_ name: String) -> Bool {
        let scalars = name.unicodeScalars
        guard usernameLength.contains(scalars.count) else { return false }
        return scalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "_" || s == "-" || s == "."
        }
    }

    /// Room names, after lower-casing: 1–64 of `a-z 0-9 _ -`.
    public static func isValidRoomName(_ name: String) -> Bool {
        let scalars = name.unicodeScalars
        guard roomNameLength.contains(scalars.count) else { return false }
        return scalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "0" && s <= "9") || s == "_" || s == "-"
        }
    }
}
