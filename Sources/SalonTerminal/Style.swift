/// Colours for the terminal, or none: `NO_COLOR` set, or output that is not a terminal.
public struct Style: Sendable {
    public let enabled: Bool

    public init(enabled: Bool) { self.enabled = enabled }

    /// Colour on when standard output is a terminal and `NO_COLOR` is not set (no-color.org).
    public static func detect(environment: [String: String]) -> Style {
        Style(enabled: environment["NO_COLOR"].map(\.isEmpty) ?? true && isatty(1) == 1)
    }

    private func wrap(_ text: String, _ code: String) -> String {
        enabled ? "\u{1b}[\(code)m\(text)\u{1b}[0m" : text
    }

    public func dim(_ t: String) -> String { wrap(t, "2") }
    public func bold(_ t: String) -> String { wrap(t, "1") }
    public func error(_ t: String) -> String { wrap(t, "31") }
    public func room(_ t: String) -> String { wrap(t, "36") }
    public func highlight(_ t: String) -> String { wrap(t, "1;33") }

    /// The same colour for the same name, every time (FNV-1a of the lower-cased name).
    public func user(_ name: String) -> String {
        let palette = ["32", "33", "34", "35", "36", "91", "92", "94", "95", "96"]
        var hash: UInt32 = 2_166_136_261
        for byte in name.lowercased().utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return wrap(name, palette[Int(hash % UInt32(palette.count))])
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
