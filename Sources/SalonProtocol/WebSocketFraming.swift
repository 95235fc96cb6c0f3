import NIOCore

/// The server's side of RFC 6455 framing: unmasked, unfragmented frames, written whole.
///
/// Server frames carry no mask, so a frame is the same bytes for every recipient: fan-out
/// builds it once (`EncodedFrame.webSocket`) and each connection writes that buffer as it is,
/// with no frame encoder per connection. Client frames are read with NIOWebSocket's decoder.
public enum WebSocketFraming {
    public enum Opcode: UInt8, Sendable {
        case text = 0x1
        case close = 0x8
        case ping = 0x9
        case pong = 0xA
    }

    /// Bytes of the header of an unmasked frame with `payload` bytes.
    public static func headerSize(payload: Int) -> Int {
        payload < 126 ? 2 : payload <= 0xFFFF ? 4 : 10
    }

    /// Writes the header of a final, unmasked frame.
    public static func writeHeader(opcode: Opcode, payload: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(0x80 | opcode.rawValue)
        if payload < 126 {
            buffer.writeInteger(UInt8(payload))
        } else if payload <= 0xFFFF {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(payload))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(payload))
        }
    }

    /// A whole control or data frame around `payload`.
    public static func frame(_ opcode: Opcode, payload: ByteBuffer = ByteBuffer()) -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: headerSize(payload: payload.readableBytes) + payload.readableBytes)
        writeHeader(opcode: opcode, payload: payload.readableBytes, into: &out)
        var payload = payload
        out.writeBuffer(&payload)
        return out
    }

    /// A close frame with its status code and a reason (cut to fit the 125-byte limit of a
    /// control frame).
    public static func close(code: UInt16, reason: String) -> ByteBuffer {
        var reason = Substring(reason)
        while reason.utf8.count > 123 { reason = reason.dropLast() }
        var payload = ByteBufferAllocator().buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code)
        payload.writeBytes(reason.utf8)
        return frame(.close, payload: payload)
    }
}
