import CoreMetrics
import NIOCore

/// Counts a connection's bytes as they cross the socket (TLS records included), first in
/// its pipeline. The counts gather in the handler and reach the shared counters once per
/// read burst (`channelReadComplete`) and once per flush, not once per buffer: a fan-out
/// that writes a thousand frames to a connection and flushes once costs one increment.
final class ByteCounter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    let received: CoreMetrics.Counter
    let sent: CoreMetrics.Counter
    private var unreported = (in: 0, out: 0)

    init(received: CoreMetrics.Counter, sent: CoreMetrics.Counter) {
        self.received = received
        self.sent = sent
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        unreported.in += unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reportReceived()
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        unreported.out += unwrapOutboundIn(data).readableBytes
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        reportSent()
        context.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        reportReceived()
        reportSent()
        context.fireChannelInactive()
    }

    private func reportReceived() {
        guard unreported.in > 0 else { return }
        received.increment(by: Int64(unreported.in))
        unreported.in = 0
    }

    private func reportSent() {
        guard unreported.out > 0 else { return }
        sent.increment(by: Int64(unreported.out))
        unreported.out = 0
    }
}
