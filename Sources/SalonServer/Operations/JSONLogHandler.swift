#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOConcurrencyHelpers
import SalonProtocol

/// Logs as JSON lines (`salon serve --log-format json`), for log collectors: one object per
/// entry, `{"timestamp", "level", "label", "message", "source", …metadata}`, metadata keys
/// at the top level (a key that would clash with one of those is prefixed `meta_`). Strings
/// are escaped by the protocol's `JSONWriter`, so that no logged input (a name, a reason)
/// can break a line or forge a field.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    /// One line is one `write(2)` under this lock: lines from several threads never mix.
    private static let output = NIOLock()
    static let reserved: Set<String> = ["timestamp", "level", "label", "message", "source"]

    public init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let line = Self.line(timestamp: .now(), level: event.level, label: label, message: "\(event.message)", source: event.source, metadata: all)
        Self.output.withLock {
            line.withUnsafeBufferPointer { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(STDOUT_FILENO, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { break }  // stdout is gone: nothing to tell
                    offset += written
                }
            }
        }
    }

    /// The line's bytes, newline included (separate for tests).
    static func line(timestamp: Timestamp, level: Logger.Level, label: String, message: String, source: String,
                     metadata: Logger.Metadata) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + message.utf8.count)
        w.raw("{\"timestamp\":")
        w.timestamp(timestamp)
        w.raw(",\"level\":")
        w.string(level.rawValue)
        w.raw(",\"label\":")
        w.string(label)
        w.raw(",\"message\":")
        w.string(message)
        w.raw(",\"source\":")
        w.string(source)
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            w.raw(",")
            w.string(reserved.contains(key) ? "meta_" + key : key)
            w.raw(":")
            append(value, to: &w)
        }
        w.raw("}\n")
        return w.bytes
    }

    private static func append(_ value: Logger.Metadata.Value, to w: inout JSONWriter) {
        switch value {
        case .string(let text): w.string(text)
        case .stringConvertible(let convertible): w.string(convertible.description)
        case .array(let values):
            w.raw("[")
            for (i, element) in values.enumerated() {
                if i > 0 { w.raw(",") }
                append(element, to: &w)
            }
            w.raw("]")
        case .dictionary(let entries):
            w.raw("{")
            for (i, key) in entries.keys.sorted().enumerated() {
                if i > 0 { w.raw(",") }
                w.string(key)
                w.raw(":")
                if let element = entries[key] { append(element, to: &w) }
            }
            w.raw("}")
        }
    }
}
