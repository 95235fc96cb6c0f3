import NIOCore

/// What both ports share to keep connections from holding what they should not: the cap per
/// client address, the bound on unfinished frames, and the login timeout.
struct TransportGuards: Sendable {
    let gate: ConnectionGate
    let meter: InputMeter
    let loginTimeout: TimeAmount?
}
