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
        case .roomNotFound, .userNotFound, .messageNotFound, .fileNotFound: return .notFound
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

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":{"code":"internal","message":"the answer could not be written"}}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
