import NIOCore

/// Reads a file's bytes in order, from chunks as they come (a file read in 64 KiB chunks, an
/// upload's body), holding only what is being looked at: the image cleaners read headers and
/// segments through it and stream everything else on, so a 25 MiB image is never whole in
/// memory.
public struct ByteStream {
    private var next: () async throws -> ByteBuffer?
    private var buffer = ByteBuffer()
    private var ended = false
    /// Bytes consumed so far.
    public private(set) var offset: Int64 = 0

    /// `next` gives the following chunk, or nil at the end.
    public init(next: @escaping () async throws -> ByteBuffer?) {
        self.next = next
    }

    /// Whether there is nothing more to read.
    public mutating func atEnd() async throws -> Bool {
        try await fill(1)
        return buffer.readableBytes == 0
    }

    /// Buffers at least `count` bytes, fewer only at the end.
    private mutating func fill(_ count: Int) async throws {
        while buffer.readableBytes < count, !ended {
            guard var chunk = try await next() else {
                ended = true
                return
            }
            if buffer.readableBytes == 0 {
                buffer = chunk
            } else {
                buffer.discardReadBytes()
                buffer.writeBuffer(&chunk)
            }
        }
    }

    /// Exactly `count` bytes (a header, a small segment), or `truncated`.
    public mutating func read(_ count: Int) async throws -> [UInt8] {
        try await fill(count)
        guard let bytes = buffer.readBytes(length: count) else { throw ImageError.truncated }
        offset += Int64(count)
        return bytes
    }

    public mutating func readByte() async throws -> UInt8 {
        try await read(1)[0]
    }

    /// The next byte, left unread; nil at the end.
    public mutating func peekByte() async throws -> UInt8? {
        try await fill(1)
        return buffer.getInteger(at: buffer.readerIndex, as: UInt8.self)
    }

    /// Passes `count` bytes on to `output` as they come, or throws `truncated`.
    public mutating func copy(_ count: Int64, to output: inout ByteSink) async throws {
        var left = count
        while left > 0 {
            try await fill(1)
            guard buffer.readableBytes > 0 else { throw ImageError.truncated }
            let take = Int(min(Int64(buffer.readableBytes), left))
            if let slice = buffer.readSlice(length: take) { try await output.write(slice) }
            left -= Int64(take)
            offset += Int64(take)
        }
    }

    /// Drops `count` bytes, or throws `truncated`.
    public mutating func skip(_ count: Int64) async throws {
        var left = count
        while left > 0 {
            try await fill(1)
            guard buffer.readableBytes > 0 else { throw ImageError.truncated }
            let take = Int(min(Int64(buffer.readableBytes), left))
            buffer.moveReaderIndex(forwardBy: take)
            left -= Int64(take)
            offset += Int64(take)
        }
    }

    /// Passes bytes on until `stop` says a pair of bytes begins where the run ends; the pair is
    /// left unread. Returns false when the stream ended first (everything passed on).
    public mutating func copy(to output: inout ByteSink, until stop: (UInt8, UInt8) -> Bool) async throws -> Bool {
        while true {
            try await fill(2)
            let count = buffer.readableBytes
            guard count >= 2 else {
                if count == 1, let last = buffer.readSlice(length: 1) {
                    offset += 1
                    try await output.write(last)
                }
                return false
            }
            // The first pair that stops, or how much can go on (all but a last byte, which
            // may begin a pair with the next chunk's first).
            let (take, stopped) = buffer.withUnsafeReadableBytes { raw -> (Int, Bool) in
                for i in 0..<(count - 1) where stop(raw[i], raw[i + 1]) { return (i, true) }
                return (count - 1, false)
            }
            if take > 0, let slice = buffer.readSlice(length: take) {
                offset += Int64(take)
                try await output.write(slice)
            }
            if stopped { return true }
        }
    }
}

/// Where cleaned bytes go: gathered into chunks of about 64 KiB before they are handed on.
public struct ByteSink {
    private let deliver: (ByteBuffer) async throws -> Void
    private var pending = ByteBuffer()
    /// Bytes written so far.
    public private(set) var count: Int64 = 0

    public init(_ deliver: @escaping (ByteBuffer) async throws -> Void) {
        self.deliver = deliver
    }

    public mutating func write(_ bytes: ByteBuffer) async throws {
        var bytes = bytes
        count += Int64(bytes.readableBytes)
        if pending.readableBytes == 0 && bytes.readableBytes >= 65_536 {
            try await deliver(bytes)
            return
        }
        pending.writeBuffer(&bytes)
        if pending.readableBytes >= 65_536 { try await flush() }
    }

    public mutating func write(_ bytes: [UInt8]) async throws {
        try await write(ByteBuffer(bytes: bytes))
    }

    public mutating func flush() async throws {
        guard pending.readableBytes > 0 else { return }
        let chunk = pending
        pending = ByteBuffer()
        try await deliver(chunk)
    }
}
