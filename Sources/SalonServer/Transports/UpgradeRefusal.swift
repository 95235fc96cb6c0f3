import HTTPTypes

/// Why a WebSocket upgrade is refused, and its HTTP answer (RFC 6455 §4.2): the handshake's
/// rules, then the `Origin` check that keeps other web sites' pages from opening a socket with
/// a visitor's browser.
enum UpgradeRefusal: Sendable, Equatable {
    case badRequest(String)
    case wrongVersion
    case forbiddenOrigin
    case notFound

    var response: HTTPResponse {
        var fields: HTTPFields = [.connection: "close", .contentLength: "0"]
        let status: HTTPResponse.Status
        switch self {
        case .badRequest: status = .badRequest
        case .wrongVersion:
            status = .upgradeRequired
            fields[.secWebSocketVersion] = "13"
        case .forbiddenOrigin: status = .forbidden
        case .notFound: status = .notFound
        }
        SecurityHeaders.apply(to: &fields)
        return HTTPResponse(status: status, headerFields: fields)
    }

    /// nil when the request may be upgraded. `allowedOrigins` (lower-cased) may hold `*`.
    static func check(_ request: HTTPRequest, allowedOrigins: [String]) -> UpgradeRefusal? {
        guard request.method == .get else { return .badRequest("a WebSocket handshake is a GET") }
        guard let key = request.headerFields[.secWebSocketKey], isValidKey(key) else {
            return .badRequest("Sec-WebSocket-Key is missing or not 16 bytes in base64")
        }
        guard request.headerFields[.secWebSocketVersion]?.trimmingSpaces == "13" else { return .wrongVersion }
        // Only browsers' origins are checked: a page's origin is `http(s)://host[:port]` or
        // `null`, and a page cannot forge it; other clients may send anything (WSClient sends
        // `ws://host`) or nothing, and are not a cross-site risk.
        if let origin = request.headerFields[.origin]?.lowercased(),
           origin == "null" || origin.hasPrefix("http://") || origin.hasPrefix("https://"),
           !allowedOrigins.contains("*"), !allowedOrigins.contains(origin) {
            // The server's own origin: the same host and port as the request's Host.
            let host = (request.authority ?? "").lowercased()
            let originHost = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
            guard originHost == host, !host.isEmpty else { return .forbiddenOrigin }
        }
        return nil
    }

    /// 24 characters of base64 ending in `==`: 16 bytes.
    static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.trimmingSpaces.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        return bytes[0..<22].allSatisfy { b in
            (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 43 || b == 47
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
