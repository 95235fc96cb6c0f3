import Foundation
import Hummingbird
import HTTPTypes
import SalonProtocol

/// The HTTP API's answers (PROTOCOL.md §10): JSON bodies, and errors as
/// `{"error": {"code", "message"}}` with the status that fits the code — the same codes as
/// on the socket.
enum APIResponse {
    static func status(for code: ErrorCode) -> HTTPResponse.Status {
        switch code {
        case .authRequired, .authFailed: return .unauthorized
        case .forbidden, .notMember, .banned, .muted, .guestsDisabled, .passwordRequired: return .forbidden
        case .roomNotFound, .userNotFound, .messageNotFound, .fileNotFound, .webhookNotFound: return .notFound
        case .usernameTaken, .roomExists: return .conflict
        case .fileTooLarge, .frameTooLarge: return .contentTooLarge
        case .rateLimited: return .tooManyRequests
        case .internal: return .internalServerError
        default: return .badRequest
        }
    }

    private struct ErrorBody: Encodable {
        let error: ErrorPayload
    }

    static func error(_ error: ProtocolError, headers: HTTPFields = [:]) -> Response {
        var response = json(ErrorBody(error: ErrorPayload(code: error.code, message: error.message)), status: status(for: error.code))
        response.headers.append(contentsOf: headers)
        if error.code == .authRequired || error.code == .authFailed {
            response.headers[.wwwAuthenticate] = "Bearer"
        }
        return response
    }

    /// The response for a reply envelope of the core (`Router.call`): its `data` with
    /// `status` for `success`, `{"error": data}` with the code's status for `error`.
    static func reply(_ frame: EncodedFrame, status: HTTPResponse.Status) -> Response {
        guard let envelope = try? JSONSerialization.jsonObject(with: Data(frame.json.readableBytesView)) as? [String: Any],
              let data = envelope["data"] as? [String: Any] else {
            return error(ProtocolError(.internal, "the server could not complete the request"))
        }
        var body: [String: Any] = data
        var answer = status
        if envelope["action"] as? String == "error" {
            let code = (data["code"] as? String).flatMap(ErrorCode.init(rawValue:)) ?? .internal
            body = ["error": data]
            answer = Self.status(for: code)
        }
        guard let bytes = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return error(ProtocolError(.internal, "the answer could not be written"))
        }
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"]
        if answer == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: answer, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// 405, with the methods the path takes. Its code, `method_not_allowed`, is HTTP's own
    /// (no socket request can have a method).
    static func methodNotAllowed(_ message: String, allow: String) -> Response {
        struct Body: Encodable { let error: [String: String] }
        var response = json(Body(error: ["code": "method_not_allowed", "message": message]), status: .methodNotAllowed)
        response.headers[.allow] = allow
        return response
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":{"code":"internal","message":"the answer could not be written"}}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
