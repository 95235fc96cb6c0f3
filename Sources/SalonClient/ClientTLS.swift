import Foundation
import NIOCore
import NIOSSL
import NIOTLS

/// How a client checks a server's certificate on `wss://`, `https://` and `tls://`: against
/// the system's trusted roots, or against a private CA's certificate (`--ca PATH`, PEM) for a
/// server whose certificate no public authority signed. The host name (or IP address) the
/// client was given must be one the certificate names.
public struct ClientTLS: Sendable {
    let configuration: TLSConfiguration

    /// The system's roots.
    public init() {
        configuration = Self.base()
    }

    /// The certificates of `caFile` (PEM) as the only roots; nil: the system's.
    public init(caFile: String?) throws(SalonClientError) {
        var configuration = Self.base()
        if let caFile, !caFile.isEmpty {
            let roots: [NIOSSLCertificate]
            do {
                roots = try NIOSSLCertificate.fromPEMFile(caFile)
            } catch {
                let why = FileManager.default.fileExists(atPath: caFile) ? "it is not PEM certificates" : "no such file"
                throw SalonClientError.tls("cannot read the CA file \(caFile): \(why)")
            }
            guard !roots.isEmpty else { throw SalonClientError.tls("the CA file \(caFile) holds no PEM certificate") }
            configuration.trustRoots = .certificates(roots)
        }
        self.configuration = configuration
    }

    private static func base() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    /// The handler that opens a `tls://` connection to `host`: SNI and the name checked are
    /// the host's, unless it is an IP address (then the certificate must name that address).
    func handler(host: String) throws -> NIOSSLClientHandler {
        let context = try NIOSSLContext(configuration: configuration)
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host)
    }
}

extension ClientTLS {
    /// A failed connection's reason in words when TLS is at fault (NIOSSL's errors name
    /// BoringSSL's codes), else the error as it is.
    static func explain(_ error: any Error, host: String) -> String {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("unable to get local issuer") {
            return "the server's TLS certificate is not signed by a CA trusted here (a private CA: give its certificate with --ca PATH)"
        }
        if text.contains("failedToValidateHostname") {
            return "the server's TLS certificate does not name \(host)"
        }
        if text.contains("cannotUseIPAddressInSNI") || text.contains("IP addresses cannot validly be used") {
            return "a wss:// address needs the server's host name, not an IP address (use a name its certificate holds; tls:// and https:// take an IP address)"
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") || text.contains("HTTP_REQUEST") {
            return "the server does not speak TLS on this port (is it ws:// or tcp://?)"
        }
        return text
    }

    /// A WebSocket connection's failure: `.tls` when TLS is at fault, else `.unreachable`.
    static func failure(_ error: any Error, url: String) -> SalonClientError {
        let host = URL(string: url)?.host ?? url
        let why = explain(error, host: host)
        return why == String(describing: error) ? .unreachable(why) : .tls(why)
    }
}

/// Holds a new `tls://` connection's first bytes back until the handshake is done, and turns
/// its failure (an untrusted certificate, a name it does not cover) into the connect's error,
/// so that a client says why rather than that the connection closed.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let done: EventLoopPromise<Void>

    init(done: EventLoopPromise<Void>) { self.done = done }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if case TLSUserEvent.handshakeCompleted = event {
            done.succeed()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(SalonClientError.unreachable("the server closed the connection during the TLS handshake"))
        context.fireChannelInactive()
    }
}
