import Logging
import NIOCore
import Synchronization

/// Bounds the memory held for unfinished frames across all connections
/// (`--input-buffer-limit`). Each connection may buffer up to a frame (64 KiB) while it
/// arrives; 2,000 connections that each send all but the last byte of a frame would hold
/// 128 MiB. The meter counts what every connection's decoder holds; a connection that would
/// take the total past the limit is closed instead.
final class InputMeter: Sendable {
    let limit: Int
    private let held = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    var total: Int { held.load(ordering: .relaxed) }

    /// Changes one connection's share from `old` to `new`; false (and no change) when the
    /// growth would pass the limit.
    func update(from old: Int, to new: Int) -> Bool {
        let delta = new - old
        guard delta != 0 else { return true }
        if delta < 0 {
            held.wrappingAdd(delta, ordering: .relaxed)
            return true
        }
        let after = held.wrappingAdd(delta, ordering: .relaxed).newValue
        guard limit > 0, after > limit else { return true }
        held.wrappingSubtract(delta, ordering: .relaxed)
        return false
    }
}

/// The buffer of unfinished frames is over the server-wide limit: the connection is closed.
struct InputLimitReached: Error {}

/// A frame decoder whose buffered bytes count toward the `InputMeter`.
struct MeteredDecoder<Inner: ByteToMessageDecoder>: ByteToMessageDecoder {
    typealias InboundOut = Inner.InboundOut

    var inner: Inner
    let meter: InputMeter
    private var share = 0

    init(_ inner: Inner, meter: InputMeter) {
        self.inner = inner
        self.meter = meter
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let state = try inner.decode(context: context, buffer: &buffer)
        try account(buffer.readableBytes)
        return state
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        let state = try inner.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
        try account(seenEOF ? 0 : buffer.readableBytes)
        return state
    }

    mutating func decoderRemoved(context: ChannelHandlerContext) {
        _ = meter.update(from: share, to: 0)
        share = 0
        inner.decoderRemoved(context: context)
    }

    private mutating func account(_ bytes: Int) throws {
        guard meter.update(from: share, to: bytes) else {
            _ = meter.update(from: share, to: 0)
            share = 0
            throw InputLimitReached()
        }
        share = bytes
    }
}
