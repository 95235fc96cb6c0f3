import NIOCore

/// What the TCP framing yields: a frame's JSON bytes, or the news that the peer announced a
/// frame over the limit (after which the decoder discards everything: the connection is to
/// be closed once `frame_too_large` is sent).
public enum InboundFrame: Sendable, Equatable {
    case payload(ByteBuffer)
    case tooLarge(declaredLength: Int)
}

/// Decodes the TCP transport: a 4-byte unsigned big-endian length `N`, then `N` bytes of JSON;
/// `N = 0` is a keep-alive and yields nothing.
///
/// Written here rather than taken from NIOExtras' `LengthFieldBasedFrameDecoder` because that
/// decoder cannot reject a frame from its header: it would buffer up to the limit before
/// failing, and could not tell the peer why. This one answers as soon as the 4 bytes arrive.
/// Wrap it in `ByteToMessageHandler(_:maximumBufferSize:)` all the same.
public struct LengthPrefixedFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = InboundFrame

    public let maxFrameLength: Int
    private var discarding = false

    public init(maxFrameLength: Int) {
        self.maxFrameLength = maxFrameLength
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> InboundFrame? {
        while true {
            if discarding {
                buffer.moveReaderIndex(to: buffer.writerIndex)
                return nil
            }
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
            if length == 0 {
                buffer.moveReaderIndex(forwardBy: 4)
                continue
            }
            if Int(length) > maxFrameLength {
                discarding = true
                buffer.moveReaderIndex(to: buffer.writerIndex)
                return .tooLarge(declaredLength: Int(length))
            }
            guard buffer.readableBytes >= 4 + Int(length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 4)
            guard let payload = buffer.readSlice(length: Int(length)) else { return nil }
            return .payload(payload)
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> InboundFrame? {
        try decode(buffer: &buffer)
    }
}
