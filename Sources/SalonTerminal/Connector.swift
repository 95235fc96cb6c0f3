import Foundation
import SalonClient
import SalonProtocol
import Synchronization

/// Why a command-line client gives up, with the exit code scripts can rely on.
public enum ClientFailure: Error, CustomStringConvertible, Sendable {
    /// The server cannot be reached (exit 2).
    case unreachable(String)
    /// Wrong password, revoked token, name taken… (exit 3).
    case authentication(String)
    /// The server refused a request (exit 1).
    case refused(ErrorPayload)
    /// The command was used wrongly (exit 64, as for bad arguments).
    case usage(String)

    public var description: String {
        switch self {
        case .unreachable(let why): return why
        case .authentication(let why): return why
        case .refused(let e): return "\(e.message) (\(e.code.rawValue))"
        case .usage(let why): return why
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .refused: return 1
        case .unreachable: return 2
        case .authentication: return 3
        case .usage: return 64
        }
    }
}

/// Who to be on which server, and how to get in: a stored token, a password (asked without
/// echo, or `SALON_PASSWORD`), or a guest name. Keeps the token once it has one, so that a
/// reconnection never asks again.
///
/// `server` may name several nodes of one cluster, separated by commas
/// (`ws://a:8080/ws,ws://b:8080/ws`): a connection goes to the node that answered last, and to
/// the next ones in turn when it does not (the token is good on every node: they share the
/// database).
public final class Connector: Sendable {
    /// The address as given (one, or several separated by commas): sessions are remembered
    /// under it.
    public let server: String
    /// The nodes, in order.
    public let addresses: [String]
    /// The node tried first (the one that answered last).
    private let current = Mutex(0)
    public let guest: Bool
    private let register: Bool
    private let store: SessionStore
    private let state: Mutex<(username: String?, token: String?)>
    /// A private CA's certificate (`--ca`) for `wss://`, `tls://` and `https://`.
    private let caFile: String?

    public init(server: String, username: String?, guest: Bool, register: Bool = false, caFile: String? = nil, store: SessionStore = SessionStore()) {
        self.server = server
        self.caFile = caFile
        let addresses = server.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        self.addresses = addresses.isEmpty ? [server] : addresses
        self.guest = guest
        self.register = register
        self.store = store
        let saved = guest || register ? nil : store.find(server: server, username: username)
        state = Mutex((username ?? saved?.username, saved?.token))
    }

    public var username: String? { state.withLock { $0.username } }

    /// Uploads and downloads with this session's token on the node that answered last
    /// (`http`, or SALON_HTTP, names the HTTP address when the socket is TCP); nil for a guest.
    public func files(http: String? = ProcessInfo.processInfo.environment["SALON_HTTP"]) -> FileTransfer? {
        guard let token = state.withLock({ $0.token }) else { return nil }
        let address = addresses[current.withLock { $0 } % addresses.count]
        return FileTransfer(base: FileTransfer.base(for: address, http: http), token: token, tls: (try? ClientTLS(caFile: caFile)) ?? ClientTLS())
    }

    /// Connects and logs in. `interactive` allows asking for a name or password.
    public func connect(interactive: Bool) async throws(ClientFailure) -> (SalonClient, AuthResult) {
        let client = try await reachANode()
        do {
            let auth = try await login(client, interactive: interactive)
            return (client, auth)
        } catch {
            await client.close()
            throw error
        }
    }

    /// The node that answered last, else the next ones in turn.
    private func reachANode() async throws(ClientFailure) -> SalonClient {
        let tls: ClientTLS
        do {
            tls = try ClientTLS(caFile: caFile)
        } catch {
            throw .usage(error.reason)
        }
        let first = current.withLock { $0 }
        var failure = ClientFailure.unreachable("cannot reach the Salon server at \(server): is it running?")
        for step in 0..<addresses.count {
            let index = (first + step) % addresses.count
            do {
                let client = try await SalonClient.connect(to: addresses[index], tls: tls)
                current.withLock { $0 = index }
                return client
            } catch let error as SalonClientError {
                if case .invalidAddress = error { throw .usage(error.description) }
                switch error {
                case .tls(let why): failure = .unreachable("cannot reach the Salon server at \(server): \(why)")
                // A refused or failed TCP connect keeps "is it running?"; anything else
                // (no WebSocket answer, a close during the handshake) is said as it is.
                case .unreachable(let why) where !why.contains("NIOConnectionError") && !why.localizedCaseInsensitiveContains("refused"):
                    failure = .unreachable("cannot reach the Salon server at \(server): \(why)")
                default: break
                }
            } catch {
                failure = .unreachable("cannot reach the Salon server at \(server): \(error)")
            }
        }
        throw failure
    }

    private func login(_ client: SalonClient, interactive: Bool) async throws(ClientFailure) -> AuthResult {
        let (knownName, knownToken) = state.withLock { ($0.username, $0.token) }
        if guest {
            guard let name = knownName ?? (interactive ? ask("Guest name: ") : nil) else {
                throw .usage("a guest needs a name: --user NAME")
            }
            state.withLock { $0.username = name }
            return try await request(client, "login", LoginRequest(username: name))
        }
        if let token = knownToken {
            do {
                return try await request(client, "login", LoginRequest(token: token))
            } catch .refused(let e) where e.code == .authFailed {
                // Revoked or unknown here: forget it and fall back to the password.
                state.withLock { $0.token = nil }
                if let name = knownName { try? store.remove(server: server, username: name) }
            }
        }
        guard let name = knownName ?? (interactive ? ask("Username: ") : nil), !name.isEmpty else {
            throw .usage("who are you? give --user NAME (or --guest)")
        }
        guard let password = ProcessInfo.processInfo.environment["SALON_PASSWORD"]
                ?? (interactive ? (register ? newPassword(for: name) : Terminal.readSecret(prompt: "Password for \(name): ")) : nil) else {
            throw .authentication("no password: run interactively, or set SALON_PASSWORD")
        }
        let auth: AuthResult
        do {
            auth = try await register
                ? request(client, "register", RegisterRequest(username: name, password: password))
                : request(client, "login", LoginRequest(username: name, password: password))
        } catch .refused(let e) {
            switch e.code {
            case .authFailed: throw .authentication("wrong username or password")
            case .usernameTaken, .weakPassword, .invalidUsername, .guestsDisabled, .passwordRequired, .banned: throw .authentication(e.message)
            default: throw .refused(e)
            }
        }
        state.withLock { $0 = (auth.user.username, auth.token) }
        if let token = auth.token {
            try? store.save(.init(server: server, username: auth.user.username, token: token))
        }
        return auth
    }

    private func request<R: Decodable>(_ client: SalonClient, _ action: String, _ data: some Encodable & Sendable) async throws(ClientFailure) -> R {
        do {
            return try await client.request(action, data, as: R.self)
        } catch let error as SalonClientError {
            if case .server(let e) = error { throw .refused(e) }
            throw .unreachable("the connection to \(server) was lost")
        } catch {
            throw .unreachable("unexpected reply from \(server): \(error)")
        }
    }

    /// A new account's password: asked twice, and again while it is too short or the two
    /// differ (nil when input ends).
    private func newPassword(for name: String) -> String? {
        while true {
            guard let first = Terminal.readSecret(prompt: "Choose a password for \(name): ") else { return nil }
            guard first.unicodeScalars.count >= Limits.passwordMinLength else {
                Terminal.write("A password needs at least \(Limits.passwordMinLength) characters. Try again.\n", to: 2)
                continue
            }
            guard let second = Terminal.readSecret(prompt: "The same password again: ") else { return nil }
            guard first == second else {
                Terminal.write("The two passwords differ. Try again.\n", to: 2)
                continue
            }
            return first
        }
    }

    private func ask(_ prompt: String) -> String? {
        Terminal.write(prompt, to: 2)
        return readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces)
    }
}
