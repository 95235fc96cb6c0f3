/// How many bytes a value takes once written as JSON: what lets a list reply stop before it
/// passes the reply budget (`Limits.replyBudget`) without encoding anything twice.
public enum JSONSize {
    /// A JSON string with its quotes: `"` and `\` take two bytes, control characters up to
    /// six (`\u0001`), everything else its UTF-8 length.
    public static func string(_ value: String) -> Int {
        var size = 2
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): size += 2
            case 0x00..<0x20: size += 6
            default: size += 1
            }
        }
        return size
    }

    /// A `Message`: its strings plus a generous allowance for keys, numbers and the timestamp.
    public static func message(_ m: Message) -> Int {
        var size = 200 + string(m.text) + string(m.from) + (m.room.map(string) ?? 0) + (m.to.map(string) ?? 0)
        for file in m.attachments ?? [] {
            size += 200 + string(file.id) * 3 + string(file.name) + string(file.type)
        }
        for reaction in m.reactions ?? [] {
            size += 48 + string(reaction.emoji) + reaction.users.reduce(0) { $0 + 1 + string($1) }
        }
        return size
    }

    public static func room(_ r: RoomInfo) -> Int {
        160 + string(r.name) + string(r.topic)
    }

    public static func member(_ m: MemberInfo) -> Int {
        64 + string(m.username) + string(m.role)
    }
}
