/// The default limits of PROTOCOL.md §12, and the validation rules shared by the server and
/// clients (a client can check a name before it asks).
public enum Limits {
    /// The room everyone is in, and nobody leaves or deletes (PROTOCOL.md §3).
    public static let generalRoom = "general"

    public static let frameBytes = 65_536
    /// The upload limit's default (a setting of the server).
    public static let uploadBytes: Int64 = 25 * 1024 * 1024
    /// Files one message may carry.
    public static let attachments = 10
    /// A file's name as stored (longer ones are shortened, keeping the extension).
    public static let fileNameLength = 255
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
    /// The most bytes a list reply is meant to take (`history`, `join_room`, `list_rooms`,
    /// `list_users`, `members`): a page stops early, with `has_more`, before passing it. Far
    /// below the outgoing queue bound (1 MiB), so that one reply never looks like a client
    /// that stopped reading.
    public static let replyBudget = 256 * 1024
    /// `list_rooms`, `list_users` and `members` pages: default and largest `limit`.
    public static let listDefault = 500
    public static let listPage = 1000
    /// An emoji of `react`: 1–32 Unicode scalars (a flag or a family is several).
    public static let emojiLength = 1...32
    /// `reactions[].users` lists at most this many people per emoji.
    public static let reactionUsers = 50
    /// `search`: default and largest `limit`.
    public static let searchDefault = 20
    public static let searchPage = 100
    /// A `search` query: at most this many scalars, and this many words.
    public static let queryLength = 256
    public static let queryWords = 16
    /// `sync`: default and largest `limit`.
    public static let syncDefault = 500
    public static let syncPage = 1000
    /// `conversations` at login: the newest this many.
    public static let loginConversations = 200

    /// A control character that text may not hold: C0 and C1 controls and DEL, but `\n` and
    /// `\t`. They would truncate stored text (NUL), or rewrite a terminal (ESC).
    public static func isForbiddenControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A: return false
        case 0x00...0x1F, 0x7F...0x9F: return true
        default: return false
        }
    }

    /// The first forbidden control character of `text`, if any.
    public static func forbiddenControl(in text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first(where: isForbiddenControl)
    }

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
