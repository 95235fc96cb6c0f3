#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The controlling terminal: raw mode on and off, its width, unbuffered writes, and reading
/// bytes from standard input on a thread of its own.
public final class Terminal: Sendable {
    private let saved = Mutex<termios?>(nil)

    public init() {}

    public static var isInteractive: Bool { isatty(0) == 1 && isatty(1) == 1 }

    /// Raw mode: no echo, no line buffering, no signals from Ctrl-C (the editor handles keys).
    public func enableRawMode() {
        var original = termios()
        guard tcgetattr(0, &original) == 0 else { return }
        saved.withLock { $0 = original }
        var raw = original
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL | INLCR)
        raw.c_oflag |= tcflag_t(OPOST)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        tcsetattr(0, TCSAFLUSH, &raw)
    }

    public func restore() {
        if var original = saved.withLock({ s -> termios? in defer { s = nil }; return s }) {
            tcsetattr(0, TCSAFLUSH, &original)
        }
    }

    /// Columns of the terminal (80 when unknown).
    public var width: Int {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Writes straight to the file descriptor: never held in a buffer.
    public static func write(_ text: String, to fd: Int32 = 1) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return systemWrite(fd, base + offset, raw.count - offset)
            }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return
            }
            offset += n
        }
    }

    /// Reads a line with echo off (for passwords) from the terminal.
    public static func readSecret(prompt: String) -> String? {
        write(prompt, to: 2)
        var original = termios()
        let isTTY = tcgetattr(0, &original) == 0
        if isTTY {
            var silent = original
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &silent)
        }
        let line = readLine(strippingNewline: true)
        if isTTY {
            tcsetattr(0, TCSAFLUSH, &original)
            write("\n", to: 2)
        }
        return line
    }

    /// Bytes from standard input as they come, until end of input.
    public static func inputBytes() -> AsyncStream<[UInt8]> {
        AsyncStream { continuation in
            // A thread of its own: the read blocks, which the cooperative pool must not.
            let thread = Foundation.Thread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { break }
                    continuation.yield(Array(buffer[0..<n]))
                }
                continuation.finish()
            }
            thread.start()
        }
    }
}

private func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, pointer, count)
}
