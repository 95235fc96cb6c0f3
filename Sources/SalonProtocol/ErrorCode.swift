/// Every error code of the protocol (PROTOCOL.md §11). `code` is for programs and never
/// changes meaning; the accompanying `message` is for people.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    case authRequired = "auth_required"
    case authFailed = "auth_failed"
    case passwordRequired = "password_required"
    case usernameTaken = "username_taken"
    case invalidUsername = "invalid_username"
    case weakPassword = "weak_password"
    case guestsDisabled = "guests_disabled"
    case banned
    case muted
    case forbidden
    case roomExists = "room_exists"
    case roomNotFound = "room_not_found"
    case invalidRoomName = "invalid_room_name"
    case notMember = "not_member"
    case userNotFound = "user_not_found"
    case messageNotFound = "message_not_found"
    case emptyMessage = "empty_message"
    case messageTooLong = "message_too_long"
    case invalidJSON = "invalid_json"
    case invalidFrame = "invalid_frame"
    case frameTooLarge = "frame_too_large"
    case unknownAction = "unknown_action"
    case missingField = "missing_field"
    case invalidField = "invalid_field"
    case rateLimited = "rate_limited"
    case fileTooLarge = "file_too_large"
    case fileNotFound = "file_not_found"
    case webhookNotFound = "webhook_not_found"
    case `internal`
}

/// The `data` of an `error` reply.
public struct ErrorPayload: Codable, Sendable, Equatable {
    public var code: ErrorCode
    public var message: String

    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }
}

/// An error that becomes an `error` reply: thrown by request handlers and by envelope decoding.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var payload: ErrorPayload { ErrorPayload(code: code, message: message) }
    public var description: String { "\(code.rawValue): \(message)" }
}
