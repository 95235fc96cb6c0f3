import NIOCore

/// One IRC line (RFC 1459/2812 with IRCv3 message tags), without its CR LF: what the IRC
/// transport reads and writes. No I/O here: `parse` takes the bytes of one line, `write`
/// appends one line to a buffer.
public struct IRCMessage: Sendable, Equatable {
    /// IRCv3 message tags (`@key=value;key2`), in order; a tag without a value has `nil`.
    public var tags: [IRCTag]
    /// The prefix (`:nick!user@host` or `:server`), without its colon.
    public var source: String?
    /// Upper-cased: `PRIVMSG`, or a three-digit numeric.
    public var command: String
    public var parameters: [String]

    public init(tags: [IRCTag] = [], source: String? = nil, command: String, parameters: [String] = []) {
        self.tags = tags
        self.source = source
        self.command = command
        self.parameters = parameters
    }

    /// The longest line without tags, CR LF included (RFC 1459 §2.3).
    public static let maxLine = 512
    /// The longest tags section a client may send, `@` and the space included (IRCv3).
    public static let maxClientTags = 4096
    /// The longest tags section a server sends.
    public static let maxServerTags = 8191
    /// RFC 2812: at most 15 parameters.
    public static let maxParameters = 15

    /// The value of tag `key`: nil when absent, `""` when present without a value.
    public func tag(_ key: String) -> String? {
        tags.first { $0.key == key }.map { $0.value ?? "" }
    }
}

/// An IRCv3 message tag.
public struct IRCTag: Sendable, Equatable {
    public var key: String
    public var value: String?

    public init(_ key: String, _ value: String? = nil) {
        self.key = key
        self.value = value
    }
}

/// Why a line was refused, in words the transport can send back.
public enum IRCParseError: Error, Equatable, Sendable {
    /// Nothing but spaces.
    case empty
    /// Longer than 512 bytes without its tags, or tags over 4096 bytes.
    case tooLong
    /// A NUL byte, or a CR or LF inside the line.
    case forbiddenByte
    /// Bytes that are not UTF-8.
    case invalidUTF8
    /// No command, or a command that is neither letters nor three digits.
    case badCommand
    /// A tags section without a message after it, or a tag without a key.
    case badTags
}

extension IRCMessage {
    /// Parses one line (CR LF already removed). Several spaces between parameters are one;
    /// a trailing parameter (after ` :`) keeps its spaces; more than 15 parameters: the rest
    /// of the line is the 15th, as RFC 2812 reads it.
    public static func parse(_ line: some Collection<UInt8>) throws(IRCParseError) -> IRCMessage {
        let bytes = Array(line)
        if bytes.contains(0) || bytes.contains(13) || bytes.contains(10) { throw .forbiddenByte }
        var index = 0
        func skipSpaces() { while index < bytes.count, bytes[index] == 32 { index += 1 } }
        func word() -> ArraySlice<UInt8> {
            let start = index
            while index < bytes.count, bytes[index] != 32 { index += 1 }
            return bytes[start..<index]
        }

        skipSpaces()
        var tags: [IRCTag] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: "@") {
            let start = index
            let section = word()
            guard index - start + 1 <= maxClientTags else { throw .tooLong }
            tags = try parseTags(section.dropFirst())
            skipSpaces()
            guard index < bytes.count else { throw .badTags }
        }
        guard bytes.count - index + 2 <= maxLine else { throw .tooLong }
        guard index < bytes.count else { throw .empty }

        var source: String?
        if bytes[index] == UInt8(ascii: ":") {
            index += 1
            source = try text(word())
            skipSpaces()
        }
        let command = word()
        guard !command.isEmpty,
            command.allSatisfy(isLetter) || (command.count == 3 && command.allSatisfy { $0 >= 48 && $0 <= 57 })
        else { throw .badCommand }

        var parameters: [String] = []
        while true {
            skipSpaces()
            guard index < bytes.count else { break }
            if bytes[index] == UInt8(ascii: ":") || parameters.count == maxParameters - 1 {
                if bytes[index] == UInt8(ascii: ":") { index += 1 }
                parameters.append(try text(bytes[index...]))
                break
            }
            parameters.append(try text(word()))
        }
        return IRCMessage(tags: tags, source: source, command: String(decoding: command, as: UTF8.self).uppercased(), parameters: parameters)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }

    private static func text(_ bytes: ArraySlice<UInt8>) throws(IRCParseError) -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
        return string
    }

    private static func parseTags(_ section: ArraySlice<UInt8>) throws(IRCParseError) -> [IRCTag] {
        var tags: [IRCTag] = []
        for item in section.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: true) {
            let parts = item.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let key = try text(parts[0])
            guard !key.isEmpty else { throw .badTags }
            let value = parts.count > 1 ? unescape(try text(parts[1])) : nil
            // A repeated key: the last one counts (IRCv3).
            tags.removeAll { $0.key == key }
            tags.append(IRCTag(key, value.flatMap { $0.isEmpty ? nil : $0 }))
        }
        return tags
    }

    /// IRCv3 tag value escaping: `\:` `;`, `\s` space, `\\` `\`, `\r`, `\n`; an unknown
    /// escape is the character itself; a lone trailing `\` is dropped.
    static func unescape(_ value: String) -> String {
        guard value.contains("\\") else { return value }
        var out = ""
        var escaping = false
        for character in value {
            if escaping {
                switch character {
                case ":": out.append(";")
                case "s": out.append(" ")
                case "r": out.append("\r")
                case "n": out.append("\n")
                default: out.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                out.append(character)
            }
        }
        return out
    }

    static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case ";": out += "\\:"
            case " ": out += "\\s"
            case "\\": out += "\\\\"
            case "\r": out += "\\r"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Appends the line and its CR LF. The last parameter is written as a trailing one
    /// (after ` :`) when it must be: empty, holding a space, or starting with `:`. The
    /// caller keeps parameters free of CR, LF and NUL (the text of messages is split first).
    public func write(into buffer: inout ByteBuffer) {
        if !tags.isEmpty {
            buffer.writeInteger(UInt8(ascii: "@"))
            for (i, tag) in tags.enumerated() {
                if i > 0 { buffer.writeInteger(UInt8(ascii: ";")) }
                buffer.writeString(tag.key)
                if let value = tag.value, !value.isEmpty {
                    buffer.writeInteger(UInt8(ascii: "="))
                    buffer.writeString(Self.escape(value))
                }
            }
            buffer.writeInteger(UInt8(ascii: " "))
        }
        if let source {
            buffer.writeInteger(UInt8(ascii: ":"))
            buffer.writeString(source)
            buffer.writeInteger(UInt8(ascii: " "))
        }
        buffer.writeString(command)
        for (i, parameter) in parameters.enumerated() {
            buffer.writeInteger(UInt8(ascii: " "))
            let last = i == parameters.count - 1
            if last && (parameter.isEmpty || parameter.utf8.first == UInt8(ascii: ":") || parameter.utf8.contains(32)) {
                buffer.writeInteger(UInt8(ascii: ":"))
            }
            buffer.writeString(parameter)
        }
        buffer.writeStaticString("\r\n")
    }

    /// The line as a string, without CR LF (for tests and logs).
    public var line: String {
        var buffer = ByteBuffer()
        write(into: &buffer)
        return String(buffer.readString(length: buffer.readableBytes - 2) ?? "")
    }
}
