import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import SalonCore
import SalonProtocol

/// The HTTP API for bots and tools (PROTOCOL.md §10): each route is one socket action, run by
/// the core exactly as a socket request (`Router.call`), so the rules, the limits and the
/// error codes are the socket's; this adapter only moves the room or person of the path, the
/// query and the body into the action's `data`, and the reply's `data` (or error) into the
/// response with the status §10 gives it.
///
/// The routes are described by `openapi.yaml` (served at `/api/openapi.yaml`); the test
/// script runs schemathesis against that document and the running server.
struct APIRoutes: Sendable {
    let router: SalonCore.Router
    /// The OpenAPI document, embedded with the web client's files.
    let document: WebClientFiles.File?

    func add(to routes: Hummingbird.Router<SalonRequestContext>) {
        routes.get("/api/openapi.yaml") { _, _ in openAPIDocument() }
        routes.post("/api/register") { request, context in
            await respond(to: request, context, "register", status: .created) { try await Self.body(request) }
        }
        routes.post("/api/login") { request, context in
            await respond(to: request, context, "login") { try await Self.body(request) }
        }
        routes.get("/api/rooms") { request, context in
            await respond(to: request, context, "list_rooms") {
                let query = request.uri.queryParameters
                return try Self.encode(ListRoomsRequest(limit: try Self.integer(query, "limit"), after: Self.string(query, "after")))
            }
        }
        for (path, key) in [("/api/rooms/{name}/messages", "room"), ("/api/users/{name}/messages", "to")] {
            routes.get(RouterPath(path)) { request, context in
                await respond(to: request, context, "history") {
                    let name = context.parameters.get("name") ?? ""
                    let query = request.uri.queryParameters
                    let (before, after) = (try Self.integer(query, "before").map(Int64.init), try Self.integer(query, "after").map(Int64.init))
                    let limit = try Self.integer(query, "limit")
                    return try Self.encode(key == "room"
                        ? HistoryRequest(room: name, before: before, after: after, limit: limit)
                        : HistoryRequest(with: name, before: before, after: after, limit: limit))
                }
            }
            routes.post(RouterPath(path)) { request, context in
                await respond(to: request, context, "send_message", status: .created) {
                    try Self.adding(key, context.parameters.get("name") ?? "", to: try await Self.body(request))
                }
            }
        }
        routes.post("/api/webhooks/{token}") { request, context in await webhook(request, context) }
        routes.get("/api/sync") { request, context in
            await respond(to: request, context, "sync") {
                let query = request.uri.queryParameters
                guard let since = try Self.integer(query, "since") else {
                    throw ProtocolError(.missingField, "missing query parameter 'since' (the last seq processed, 0 for everything)")
                }
                return try Self.encode(SyncRequest(since: Int64(since), limit: try Self.integer(query, "limit")))
            }
        }
    }

    /// The API's paths and their methods: any other method on them is 405 with `Allow`.
    static let paths: [(String, [HTTPRequest.Method])] = [
        ("/api/openapi.yaml", [.get]), ("/api/register", [.post]), ("/api/login", [.post]), ("/api/rooms", [.get]),
        ("/api/rooms/{name}/messages", [.get, .post]), ("/api/users/{name}/messages", [.get, .post]), ("/api/sync", [.get]),
        ("/api/files", [.post]), ("/api/files/{id}", [.get, .head]), ("/api/files/{id}/preview", [.get, .head]),
        ("/api/files/cookie", [.post, .delete]), ("/api/webhooks/{token}", [.post]),
    ]

    /// `POST /api/webhooks/TOKEN` with `{"text": "…"}` (Slack's incoming-webhook payload, also
    /// as the form field `payload`): posts into the webhook's room as its bot. Answers `ok`
    /// as Slack does, so that existing tools work unchanged; errors as the rest of the API.
    /// The URL is the credential: no Authorization header.
    private func webhook(_ request: Request, _ context: SalonRequestContext) async -> Response {
        let token = context.parameters.get("token") ?? ""
        let text: String
        do {
            text = try await Self.webhookText(request)
        } catch let error as ProtocolError {
            return APIResponse.error(error)
        } catch {
            return APIResponse.error(ProtocolError(.invalidJSON, "the request body could not be read"))
        }
        let reply = await router.postFromWebhook(token: token, text: text, address: context.remoteAddress?.ipAddress)
        var response = APIResponse.reply(reply, status: .ok)
        if response.status == .ok {
            response = Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                                body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }
        return response
    }

    /// The `text` of a webhook's payload: a JSON body, or a form with `payload=JSON`.
    static func webhookText(_ request: Request) async throws -> String {
        var body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Limits.frameBytes)
        } catch {
            throw ProtocolError(.frameTooLarge, "the body is over \(Limits.frameBytes) bytes")
        }
        let type = request.headers[.contentType]?.lowercased() ?? ""
        // `curl -d '{"text":…}'` says it is a form: a body that starts as JSON is JSON.
        if type.hasPrefix("application/x-www-form-urlencoded"), body.readableBytesView.first(where: { $0 > 0x20 }) != UInt8(ascii: "{") {
            let form = String(buffer: body)
            let payload = form.split(separator: "&").first { $0.hasPrefix("payload=") }
                .flatMap { String($0.dropFirst("payload=".count)).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let payload else { throw ProtocolError(.missingField, "missing form field 'payload' (a JSON object with 'text')") }
            body = ByteBuffer(string: payload)
        }
        let bytes = Array(body.readableBytesView)
        if let problem = StrictJSON.problem(in: bytes) { throw ProtocolError(.invalidJSON, "the payload is not JSON: \(problem)") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw ProtocolError(.invalidJSON, "the payload is a JSON object with 'text'")
        }
        guard let value = object["text"] else { throw ProtocolError(.missingField, "missing field 'text'") }
        guard let text = value as? String else { throw ProtocolError(.invalidField, "'text' is a string") }
        return text
    }

    private func openAPIDocument() -> Response {
        guard let document else {
            return APIResponse.error(ProtocolError(.internal, "the OpenAPI document is missing from this build"))
        }
        return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8", .cacheControl: "no-cache"],
                        body: .init(byteBuffer: document.bytes))
    }

    /// Makes the action's `data`, runs the action as the bearer token's account, and turns the
    /// reply into the response.
    private func respond(
        to request: Request, _ context: SalonRequestContext, _ action: String, status: HTTPResponse.Status = .ok,
        data: () async throws -> ByteBuffer
    ) async -> Response {
        let reply: EncodedFrame
        do {
            let token = try FileRoutes.bearerToken(request)
            let payload = try await data()
            reply = await router.call(action, data: payload, token: token, address: context.remoteAddress?.ipAddress)
        } catch let error as ProtocolError {
            return APIResponse.error(error)
        } catch {
            return APIResponse.error(ProtocolError(.invalidJSON, "the request body could not be read"))
        }
        return APIResponse.reply(reply, status: status)
    }

    // MARK: What the request says

    /// The body: one JSON object of at most a frame's size (the socket's limit).
    static func body(_ request: Request) async throws -> ByteBuffer {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Limits.frameBytes)
        } catch {
            throw ProtocolError(.frameTooLarge, "the body is over \(Limits.frameBytes) bytes")
        }
        let problem = body.readableBytesView.withContiguousStorageIfAvailable { StrictJSON.problem(in: UnsafeRawBufferPointer($0)) }
            ?? StrictJSON.problem(in: Array(body.readableBytesView))
        if let problem { throw ProtocolError(.invalidJSON, "the body is not JSON: \(problem)") }
        guard body.readableBytesView.first(where: { !Self.isSpace($0) }) == UInt8(ascii: "{") else {
            throw ProtocolError(.invalidJSON, "the body is a JSON object")
        }
        return body
    }

    /// `body` (a valid JSON object) with `key` set to `value` from the path. The same key in the
    /// body too is a duplicate key, refused as on the socket.
    static func adding(_ key: String, _ value: String, to body: ByteBuffer) throws -> ByteBuffer {
        let bytes = Array(body.readableBytesView)
        guard let open = bytes.firstIndex(of: UInt8(ascii: "{")) else { throw ProtocolError(.invalidJSON, "the body is a JSON object") }
        var out = ByteBufferAllocator().buffer(capacity: bytes.count + key.utf8.count + value.utf8.count + 16)
        out.writeString("{\"\(key)\":")
        out.writeBytes(try JSONEncoder().encode(value))
        let rest = bytes[(open + 1)...]
        if rest.first(where: { !isSpace($0) }) != UInt8(ascii: "}") { out.writeString(",") }
        out.writeBytes(rest)
        return out
    }

    static func encode(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONEncoder().encode(value))
    }

    /// An integer query parameter; nil when absent, `invalid_field` when not an integer.
    static func integer(_ query: Parameters, _ name: String) throws -> Int? {
        guard let raw = query[name[...]] else { return nil }
        guard let value = Int(raw), String(value) == raw else {
            throw ProtocolError(.invalidField, "query parameter '\(name)' is an integer")
        }
        return value
    }

    static func string(_ query: Parameters, _ name: String) -> String? {
        query[name[...]].map(String.init)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}

/// 405 with `Allow` for a method that an API path does not take (any method, also ones the
/// router does not know, such as `QUERY`), instead of the router's 404.
struct APIMethodMiddleware<Context: RequestContext>: RouterMiddleware {
    private let templates: [([Substring], [HTTPRequest.Method])] = APIRoutes.paths.map { ($0.0.split(separator: "/"), $0.1) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/api/") else { return try await next(request, context) }
        let segments = path.split(separator: "/")
        let matching = templates.filter { template, _ in
            template.count == segments.count && zip(template, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }
        guard !matching.isEmpty else { return try await next(request, context) }
        // `/api/files/cookie` is also `/api/files/{id}`: the methods of either.
        let allowed = matching.flatMap { $0.1 }
        if allowed.contains(request.method) || (request.method == .head && allowed.contains(.get)) {
            return try await next(request, context)
        }
        var names: [String] = []
        for method in allowed where !names.contains(method.rawValue) { names.append(method.rawValue) }
        let allow = names.joined(separator: ", ")
        return APIResponse.methodNotAllowed("\(request.method.rawValue) is not a method of \(path): \(allow)", allow: allow)
    }
}
