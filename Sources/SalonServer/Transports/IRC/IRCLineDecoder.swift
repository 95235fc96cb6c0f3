import NIOCore

/// What the IRC line decoder hands on.
enum IRCInboundLine {
    /// One line, without its CR LF.
    case line(ByteBuffer)
    /// A line over the limit: it was dropped (up to its end) and is answered with an error.
    case tooLong
}

/// Splits the byte stream into lines at LF (a CR before it is dropped), bounded: a line
/// longer than `maxLength` is never buffered whole; it is reported once and skipped to its
/// end, so that a client sending bytes without a line break holds at most `maxLength`.
struct IRCLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = IRCInboundLine
    let maxLength: Int
    private var discarding = false

    init(maxLength: Int) {
        self.maxLength = maxLength
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = end - buffer.readerIndex
            if discarding {
                discarding = false
                buffer.moveReaderIndex(forwardBy: length + 1)
                return .continue
            }
            guard var line = buffer.readSlice(length: length) else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
            context.fireChannelRead(wrapInboundOut(length > maxLength ? .tooLong : .line(line)))
            return .continue
        }
        if buffer.readableBytes > maxLength {
            if !discarding { context.fireChannelRead(wrapInboundOut(.tooLong)) }
            discarding = true
            buffer.moveReaderIndex(to: buffer.writerIndex)
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
