import NIOCore

/// What both ports share to keep connections from holding what they should not: the cap per
/// client address, the bound on unfinished frames, and the login timeout.
struct TransportGuards: Sendable {
    let gate: ConnectionGate
    let meter: InputMeter
    let loginTimeout: TimeAmount?

    /// How every accepted connection reads: NIO keeps each channel's last read buffer for the
    /// next read, and its default first guess (2 KiB, kept by every idle connection) was a
    /// quarter of an idle connection's memory. Chat frames are small: start at 256 bytes; a
    /// connection whose reads fill the buffer (an upload, a fast sender) doubles it up to 64 KiB.
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65_536)
}
