import NIOCore

// A fast path for the plain shape nearly every request has: an object of strings without
// escapes, integers, booleans, nulls and objects of the same (`FlatJSONParser`), decoded by
// `ClientEnvelope.decodePlain` and `FlatDecoder`. Foundation's `JSONDecoder` cost about 8 µs
// per request (a fifth of the server's core at 20,000 messages a second).
//
// It only ever answers for input it fully understands, and only with success: anything else
// (an escape, a fraction, an array, a duplicate key, a value of the wrong type, any error)
// makes it decline, and `JSONDecoder` reads the request, so that every error and every
// unusual input is read exactly as before. Input must be valid UTF-8 (checked first).

/// A request type that can be read straight from a plain object, without `Decodable`: for
/// the one request sent far more than any other. `init(flat:)` returns nil for anything it
/// does not take as `Decodable` would (then `Decodable` runs, and reports any error).
protocol FlatDecodable {
    init?(flat fields: FlatObject)
}

extension SendMessageRequest: FlatDecodable {
    init?(flat fields: FlatObject) {
        var text: String?
        for (key, value) in fields.members {
            switch (key, value) {
            case ("text", .string(let s)): text = s
            case ("room", .string(let s)): room = s
            case ("to", .string(let s)): to = s
            case ("client_msg_id", .string(let s)): clientMsgID = s
            case ("reply_to", .integer(let i)): replyTo = i
            case ("room", .null), ("to", .null), ("client_msg_id", .null), ("reply_to", .null), ("attachments", .null): continue
            case ("text", _), ("room", _), ("to", _), ("client_msg_id", _), ("reply_to", _), ("attachments", _): return nil
            default: continue  // unknown fields are ignored, as by `Decodable`
            }
        }
        guard let text else { return nil }
        self.text = text
    }
}

/// A parsed value of the plain shape.
enum FlatValue {
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case null
    case object(FlatObject)
}

/// An object's members in order. Requests have a handful of keys: a linear search costs less
/// than hashing them into a dictionary.
struct FlatObject {
    private(set) var members: [(key: String, value: FlatValue)] = []

    subscript(key: String) -> FlatValue? {
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// Adds a member; false if the key is there already (a duplicate key).
    mutating func add(_ key: String, _ value: FlatValue) -> Bool {
        guard self[key] == nil else { return false }
        members.append((key, value))
        return true
    }
}

/// A strict parser for the plain shape; nil for anything else.
struct FlatJSONParser {
    let bytes: UnsafeRawBufferPointer
    var at = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func parseDocument() -> FlatValue? {
        skipSpace()
        guard peek == UInt8(ascii: "{"), let value = parseObject(depth: 0) else { return nil }
        skipSpace()
        return at == bytes.count ? value : nil
    }

    private var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

    private mutating func skipSpace() {
        while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { at += 1 }
    }

    private mutating func parseObject(depth: Int) -> FlatValue? {
        guard depth < 3 else { return nil }
        at += 1  // {
        var fields = FlatObject()
        skipSpace()
        if peek == UInt8(ascii: "}") {
            at += 1
            return .object(fields)
        }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\""), let key = parseString() else { return nil }
            skipSpace()
            guard peek == UInt8(ascii: ":") else { return nil }
            at += 1
            skipSpace()
            guard let value = parseValue(depth: depth), fields.add(key, value) else { return nil }
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): at += 1
            case UInt8(ascii: "}"):
                at += 1
                return .object(fields)
            default: return nil
            }
        }
    }

    private mutating func parseValue(depth: Int) -> FlatValue? {
        guard let next = peek else { return nil }
        switch next {
        case UInt8(ascii: "\""): return parseString().map(FlatValue.string)
        case UInt8(ascii: "{"): return parseObject(depth: depth + 1)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return parseInteger()
        default: return nil
        }
    }

    private mutating func literal(_ word: StaticString, _ value: FlatValue) -> FlatValue? {
        let count = word.utf8CodeUnitCount
        guard at + count <= bytes.count else { return nil }
        for i in 0..<count where bytes[at + i] != word.utf8Start[i] { return nil }
        at += count
        return value
    }

    /// A string with no escape and no control character (else nil).
    private mutating func parseString() -> String? {
        at += 1  // "
        let start = at
        while let b = peek {
            if b == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                at += 1
                return text
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { return nil }
            at += 1
        }
        return nil
    }

    /// An integer in JSON's syntax that fits in 64 bits, not followed by a fraction or an
    /// exponent (else nil).
    private mutating func parseInteger() -> FlatValue? {
        var negative = false
        if peek == UInt8(ascii: "-") {
            negative = true
            at += 1
        }
        let start = at
        var value: Int64 = 0
        while let b = peek, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int64(b - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = next
            at += 1
        }
        let digits = at - start
        guard digits > 0, !(digits > 1 && bytes[start] == UInt8(ascii: "0")) else { return nil }
        if let b = peek, b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") { return nil }
        return .integer(negative ? -value : value)
    }
}

/// Decodes `Decodable` types from a `FlatValue`. Any mismatch throws (and the caller falls
/// back to `JSONDecoder`, whose errors are the ones reported).
struct FlatDecoder: Decoder {
    let value: FlatValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    struct Unsupported: Error {}

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else { throw Unsupported() }
        return KeyedDecodingContainer(Keyed<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw Unsupported() }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(value: value, codingPath: codingPath) }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: FlatObject
        let codingPath: [any CodingKey]
        var allKeys: [Key] { fields.members.compactMap { Key(stringValue: $0.key) } }

        func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

        private func value(_ key: Key) throws -> FlatValue {
            guard let value = fields[key.stringValue] else { throw Unsupported() }
            return value
        }

        func decodeNil(forKey key: Key) throws -> Bool {
            if case .null = try value(key) { return true }
            return false
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try Single(value: value(key), codingPath: codingPath + [key]).decode(type)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try FlatDecoder(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw Unsupported() }
        func superDecoder() throws -> any Decoder { throw Unsupported() }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            FlatDecoder(value: try value(key), codingPath: codingPath + [key])
        }
    }

    struct Single: SingleValueDecodingContainer {
        let value: FlatValue
        let codingPath: [any CodingKey]

        func decodeNil() -> Bool {
            if case .null = value { return true }
            return false
        }

        func decode(_ type: String.Type) throws -> String {
            guard case .string(let s) = value else { throw Unsupported() }
            return s
        }

        func decode(_ type: Bool.Type) throws -> Bool {
            guard case .bool(let b) = value else { throw Unsupported() }
            return b
        }

        func decode(_ type: Int64.Type) throws -> Int64 {
            guard case .integer(let i) = value else { throw Unsupported() }
            return i
        }

        func decode(_ type: Int.Type) throws -> Int {
            guard let i = Int(exactly: try decode(Int64.self)) else { throw Unsupported() }
            return i
        }

        func decode(_ type: Int32.Type) throws -> Int32 {
            guard let i = Int32(exactly: try decode(Int64.self)) else { throw Unsupported() }
            return i
        }

        func decode(_ type: UInt64.Type) throws -> UInt64 {
            guard let i = UInt64(exactly: try decode(Int64.self)) else { throw Unsupported() }
            return i
        }

        func decode(_ type: Double.Type) throws -> Double { Double(try decode(Int64.self)) }

        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Int64.self)) }
        func decode(_ type: Int8.Type) throws -> Int8 { try exactly(Int8.self) }
        func decode(_ type: Int16.Type) throws -> Int16 { try exactly(Int16.self) }
        func decode(_ type: UInt.Type) throws -> UInt { try exactly(UInt.self) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try exactly(UInt8.self) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try exactly(UInt16.self) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try exactly(UInt32.self) }

        private func exactly<I: BinaryInteger>(_ type: I.Type) throws -> I {
            guard let i = I(exactly: try decode(Int64.self)) else { throw Unsupported() }
            return i
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let scalar: Any?
            switch type {
            case is String.Type: scalar = try decode(String.self)
            case is Int64.Type: scalar = try decode(Int64.self)
            case is Int.Type: scalar = try decode(Int.self)
            case is Bool.Type: scalar = try decode(Bool.self)
            case is Int32.Type: scalar = try decode(Int32.self)
            case is UInt64.Type: scalar = try decode(UInt64.self)
            case is Double.Type: scalar = try decode(Double.self)
            default: scalar = nil
            }
            if let scalar {
                guard let typed = scalar as? T else { throw Unsupported() }
                return typed
            }
            return try T(from: FlatDecoder(value: value, codingPath: codingPath))
        }
    }
}
