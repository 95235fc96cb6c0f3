import Foundation
import SalonClient
import SalonProtocol
import SalonServer
import Testing

/// TLS on both ports with a CA and certificates each test makes: WSS and HTTPS on the HTTP
/// port, TLS frames on the TCP port, what a client says when it cannot trust the server, and
/// a certificate reload that leaves open connections alone.
@Suite(.timeLimit(.minutes(1))) struct TLSTests {
    /// A server on TLS with the certificates made in its data folder.
    func withTLSServer(_ body: (TestServer, TestCertificates) async throws -> Void) async throws {
        let directory = try TestServer.temporaryDirectory()
        let certificates = try TestCertificates.make(in: directory)
        let tls = try ServerTLS(certificatePath: certificates.certificatePath, keyPath: certificates.keyPath)
        try await withServer(directory: directory, { $0.tls = tls }) { server in
            try await body(server, certificates)
        }
    }

    @Test func webSocketAndTCPUsersChatOverTLS() async throws {
        try await withTLSServer { server, certificates in
            let trust = try ClientTLS(caFile: certificates.caPath)
            let web = try await SalonClient.connect(to: "wss://localhost:\(server.http)/ws", tls: trust)
            let term = try await SalonClient.connect(to: "tls://localhost:\(server.tcp)", tls: trust)
            let _: AuthResult = try await web.request("register", RegisterRequest(username: "web", password: "password-web"))
            let _: AuthResult = try await term.request("register", RegisterRequest(username: "term", password: "password-term"))
            let sent = try await web.send("hello over wss", room: "general")
            #expect(try await term.nextMessage() == sent)
            let back = try await term.send("hello over tls", room: "general")
            #expect(try await web.nextMessage() == back)
            await web.close()
            await term.close()
            // WebSocket clients send the host in SNI, where an IP address may not go: said so.
            await #expect(throws: SalonClientError.tls("a wss:// address needs the server's host name, not an IP address (use a name its certificate holds; tls:// and https:// take an IP address)")) {
                _ = try await SalonClient.connect(to: "wss://127.0.0.1:\(server.http)/ws", tls: trust)
            }
        }
    }

    @Test func filesTravelOverHTTPS() async throws {
        try await withTLSServer { server, certificates in
            let trust = try ClientTLS(caFile: certificates.caPath)
            let client = try await SalonClient.connect(to: "wss://localhost:\(server.http)/ws", tls: trust)
            let auth: AuthResult = try await client.request("register", RegisterRequest(username: "ana", password: "password-ana"))
            let token = try #require(auth.token)
            let source = server.directory.appendingPathComponent("notes.txt")
            try Data("over https\n".utf8).write(to: source)
            let transfer = FileTransfer(base: "https://127.0.0.1:\(server.http)", token: token, tls: trust)
            let file = try await transfer.upload(path: source.path)
            let copy = server.directory.appendingPathComponent("copy.txt")
            let (size, name) = try await transfer.download(file.id, to: copy.path)
            #expect(size == 11 && name == "notes.txt")
            #expect(try Data(contentsOf: copy) == Data("over https\n".utf8))
            // Without the CA the same transfer is refused by the client.
            await #expect(throws: SalonClientError.tls("the server's TLS certificate is not signed by a CA trusted here (a private CA: give its certificate with --ca PATH)")) {
                try await FileTransfer(base: "https://127.0.0.1:\(server.http)", token: token).upload(path: source.path)
            }
            await client.close()
        }
    }

    @Test(arguments: ["wss", "tls"])
    func anUntrustedCertificateIsRefusedWithTheReason(_ scheme: String) async throws {
        try await withTLSServer { server, _ in
            let address = scheme == "wss" ? "wss://localhost:\(server.http)/ws" : "tls://127.0.0.1:\(server.tcp)"
            do {
                _ = try await SalonClient.connect(to: address)
                Issue.record("a certificate of an unknown CA was accepted")
            } catch let error as SalonClientError {
                #expect(error == .tls("the server's TLS certificate is not signed by a CA trusted here (a private CA: give its certificate with --ca PATH)"))
            }
        }
    }

    @Test func aCertificateForAnotherNameIsRefused() async throws {
        let directory = try TestServer.temporaryDirectory()
        let certificates = try TestCertificates.make(in: directory, names: ["chat.example"], addresses: [])
        let tls = try ServerTLS(certificatePath: certificates.certificatePath, keyPath: certificates.keyPath)
        try await withServer(directory: directory, { $0.tls = tls }) { server in
            let trust = try ClientTLS(caFile: certificates.caPath)
            do {
                _ = try await SalonClient.connect(to: "tls://127.0.0.1:\(server.tcp)", tls: trust)
                Issue.record("a certificate for chat.example was accepted for 127.0.0.1")
            } catch let error as SalonClientError {
                guard case .tls(let why) = error else { throw error }
                #expect(why.contains("does not name") || why.contains("not signed"), "\(why)")
            }
        }
    }

    @Test func aPlainClientOnATLSPortGetsNothing() async throws {
        let directory = try TestServer.temporaryDirectory()
        let certificates = try TestCertificates.make(in: directory)
        let tls = try ServerTLS(certificatePath: certificates.certificatePath, keyPath: certificates.keyPath)
        try await withServer(directory: directory, { $0.tls = tls; $0.loginTimeout = 1 }) { server in
            // A TCP client without TLS: its frame is not a TLS record; the server closes.
            let plain = try await SalonClient.connect(to: "tcp://127.0.0.1:\(server.tcp)")
            await #expect(throws: SalonClientError.disconnected) {
                let _: AuthResult = try await plain.request("login", LoginRequest(username: "plain"))
            }
            let url = "ws://127.0.0.1:\(server.http)/ws"
            await #expect(throws: SalonClientError.unreachable("no WebSocket answer from \(url) within 10.0 seconds (if the server uses TLS, the address is wss://)")) {
                _ = try await SalonClient.connect(to: url)
            }
        }
    }

    @Test func aTLSClientOnAPlainPortIsToldSo() async throws {
        try await withServer { server in
            do {
                _ = try await SalonClient.connect(to: "tls://127.0.0.1:\(server.tcp)")
                Issue.record("a TLS handshake succeeded against a plain port")
            } catch let error as SalonClientError {
                guard case .tls = error else { throw error }
            }
        }
    }

    @Test func aReloadServesTheNewCertificateAndKeepsOpenConnections() async throws {
        try await withTLSServer { server, first in
            let tls = try #require(server.server.configuration.tls)
            let oldTrust = try ClientTLS(caFile: first.caPath)
            let open = try await SalonClient.connect(to: "tls://127.0.0.1:\(server.tcp)", tls: oldTrust)
            let _: AuthResult = try await open.request("login", LoginRequest(username: "early"))

            // The renewal: another CA's certificate in the same files, then the reload.
            let second = try TestCertificates.make(in: server.directory, tag: "-2")
            try tls.reload()
            let newTrust = try ClientTLS(caFile: second.caPath)
            for address in ["wss://localhost:\(server.http)/ws", "tls://127.0.0.1:\(server.tcp)"] {
                let fresh = try await SalonClient.connect(to: address, tls: newTrust)
                let _: AuthResult = try await fresh.request("login", LoginRequest(username: "late-\(address.prefix(3))"))
                await fresh.close()
                await #expect(throws: SalonClientError.self) { _ = try await SalonClient.connect(to: address, tls: oldTrust) }
            }
            // The connection made before the reload goes on with its session.
            let users: UsersResult = try await open.request("list_users", ListUsersRequest())
            #expect(users.users.contains { $0.username == "early" })

            // A broken key file: the reload fails and the certificate in use stays.
            try "not a key".write(toFile: second.keyPath, atomically: true, encoding: .utf8)
            #expect(throws: (any Error).self) { try tls.reload() }
            let still = try await SalonClient.connect(to: "tls://127.0.0.1:\(server.tcp)", tls: newTrust)
            await still.close()
            await open.close()
        }
    }

    @Test func badCertificateFilesAreNamedAtStart() throws {
        let directory = try TestServer.temporaryDirectory()
        let certificates = try TestCertificates.make(in: directory)
        let missing = directory.appendingPathComponent("missing.pem").path
        #expect(throws: (any Error).self) { try ServerTLS(certificatePath: missing, keyPath: certificates.keyPath) }
        do {
            _ = try ServerTLS(certificatePath: missing, keyPath: certificates.keyPath)
        } catch {
            #expect("\(error)" == "cannot read the TLS certificate \(missing): no such file")
        }
        // A key of another certificate.
        let other = directory.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let stranger = try TestCertificates.make(in: other)
        do {
            _ = try ServerTLS(certificatePath: certificates.certificatePath, keyPath: stranger.keyPath)
            Issue.record("a key that does not match the certificate was taken")
        } catch {
            #expect("\(error)".contains("does not match"), "\(error)")
        }
        // A key encrypted with a passphrase: said so.
        let encrypted = directory.appendingPathComponent("encrypted.pem").path
        try "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n".write(toFile: encrypted, atomically: true, encoding: .utf8)
        do {
            _ = try ServerTLS(certificatePath: certificates.certificatePath, keyPath: encrypted)
            Issue.record("an encrypted key was taken")
        } catch {
            #expect("\(error)".contains("encrypted with a passphrase"), "\(error)")
        }
        #expect(throws: SalonClientError.tls("cannot read the CA file \(missing): no such file")) { try ClientTLS(caFile: missing) }
    }
}
