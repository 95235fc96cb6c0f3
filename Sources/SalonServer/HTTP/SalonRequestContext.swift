import Hummingbird
import NIOCore

/// The context of every HTTP request: Hummingbird's basic one, plus the client's address
/// (the per-address limits of the API, as on the socket).
struct SalonRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
