import Foundation
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The server's certificate chain and private key (`--tls-cert`, `--tls-key`, PEM), as the
/// TLS context every new connection on both ports starts from.
///
/// A reload (SIGHUP, `TLSReloader`) reads both files again and swaps the context: connections
/// already open keep the session they negotiated, new ones get the new certificate, and a
/// reload that fails (a half-written file, a key that does not match) keeps the old context
/// and says why — a renewal job's mistake never takes the server off the air.
public final class ServerTLS: Sendable {
    public let certificatePath: String
    public let keyPath: String
    private let context: Mutex<NIOSSLContext>

    /// Loads both files; throws a `ServerError` naming the file at fault.
    public init(certificatePath: String, keyPath: String) throws {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        context = Mutex(try Self.load(certificatePath: certificatePath, keyPath: keyPath))
    }

    /// The context for a connection accepted now.
    var current: NIOSSLContext { context.withLock { $0 } }

    /// Reads the files again; on success new connections use them.
    public func reload() throws {
        let fresh = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
        context.withLock { $0 = fresh }
    }

    static func load(certificatePath: String, keyPath: String) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw ServerError("cannot read the TLS certificate \(certificatePath): \(Self.reason(error, path: certificatePath, what: "PEM certificates"))")
        }
        guard !chain.isEmpty else { throw ServerError("the TLS certificate file \(certificatePath) holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw ServerError("cannot read the TLS private key \(keyPath): \(Self.reason(error, path: keyPath, what: "a PEM private key"))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ServerError("the TLS private key \(keyPath) does not match the certificate \(certificatePath) (\(error))")
        }
    }

    /// NIOSSL's errors name no file and no cause: say whether the file is missing or not PEM.
    private static func reason(_ error: any Error, path: String, what: String) -> String {
        if !FileManager.default.fileExists(atPath: path) { return "no such file" }
        if !FileManager.default.isReadableFile(atPath: path) { return "not readable by this user" }
        // A passphrase cannot be typed into a service: say so rather than "not PEM".
        if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("ENCRYPTED") {
            return "the key is encrypted with a passphrase; give an unencrypted copy (openssl pkey -in KEY -out PLAIN_KEY), readable only by Salon's user"
        }
        return "it is not \(what) (\(error))"
    }
}

/// Reloads the TLS certificate on SIGHUP, the signal certificate renewal tools send
/// (certbot's deploy hook, `systemctl reload`). Runs until the server stops.
struct TLSReloader: Service {
    let tls: ServerTLS
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                try tls.reload()
                logger.notice("TLS certificate reloaded: new connections use it", metadata: ["certificate": "\(tls.certificatePath)"])
            } catch {
                logger.error("TLS certificate not reloaded, the previous one stays in use: \(error)")
            }
        }
    }
}
