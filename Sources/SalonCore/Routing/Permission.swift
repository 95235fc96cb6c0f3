import SalonProtocol

/// Someone's standing in a room, for the rules of PROTOCOL.md §7: admin > room owner > room
/// moderator > member.
enum Rank: Int, Comparable, Sendable {
    case member = 0
    case moderator = 1
    case owner = 2
    case admin = 3

    static func < (a: Rank, b: Rank) -> Bool { a.rawValue < b.rawValue }

    init(_ role: RoomRole) {
        switch role {
        case .owner: self = .owner
        case .moderator: self = .moderator
        case .member: self = .member
        }
    }
}

/// What an action needs of the caller in the room its request names, declared in the action
/// table (`Actions.table`) and checked in one place (`Router.authorize`) before the handler
/// runs: the room must exist (`room_not_found`), the caller be in it (`not_member`; an admin
/// moderates any room, but takes part only in those it joined) and have the rank (`forbidden`).
enum Permission: Sendable {
    /// Nothing checked here (no room, or the handler decides: `join_room`, private messages).
    case none
    /// A member of the room (any rank). A request that names a person instead of a room
    /// (`to`, `with`: a private conversation) is not checked here.
    case member
    /// A public room, or a private room the caller is in (`members`, `list_users`): outsiders
    /// of a private room learn only `not_member`.
    case visible
    /// At least this rank in the room.
    case rank(Rank)
    /// A server admin (no room).
    case admin
    /// With a room, at least this rank in it; without one (the whole server), a server admin
    /// (`ban`, `unban`, `moderation_log`).
    case rankOrAdmin(Rank)
}

/// A request that names a room (`room`; nil for a private conversation).
protocol NamesRoom {
    var roomName: String? { get }
}

extension RoomRequest: NamesRoom { var roomName: String? { room } }
extension SetTopicRequest: NamesRoom { var roomName: String? { room } }
extension MembersRequest: NamesRoom { var roomName: String? { room } }
extension SetRoomRoleRequest: NamesRoom { var roomName: String? { room } }
extension KickRequest: NamesRoom { var roomName: String? { room } }
extension BanRequest: NamesRoom { var roomName: String? { room } }
extension MuteRequest: NamesRoom { var roomName: String? { room } }
extension CreateWebhookRequest: NamesRoom { var roomName: String? { room } }
extension WebhookIDRequest: NamesRoom { var roomName: String? { room } }
extension ModerationLogRequest: NamesRoom { var roomName: String? { room } }
extension InviteRequest: NamesRoom { var roomName: String? { room } }
extension SendMessageRequest: NamesRoom { var roomName: String? { room } }
extension HistoryRequest: NamesRoom { var roomName: String? { room } }
extension MarkReadRequest: NamesRoom { var roomName: String? { room } }
extension TypingRequest: NamesRoom { var roomName: String? { room } }
extension ListUsersRequest: NamesRoom { var roomName: String? { room } }

/// The caller as the check found them, handed to the handler: it need not look again.
struct RoomAccess: Sendable {
    var room: RoomState
    var rank: Rank
    /// The caller's mute there, if one holds (looked up in the same step: `send_message`
    /// needs no second look at the state).
    var mute: Sanction? = nil
}

extension Router {
    /// The check the table declares (`permission`), for the room the request names.
    /// Returns the room and the caller's rank in it (nil when nothing was checked).
    func authorize(_ permission: Permission, room raw: String?, _ session: Session) throws -> RoomAccess? {
        if case .rankOrAdmin(let minimum) = permission {
            return try authorize(raw == nil ? .admin : .rank(minimum), room: raw, session)
        }
        if case .admin = permission {
            let user = try Actions.signedIn(session)
            guard hub.withState({ $0.serverRole(of: user) }) == .admin else {
                throw ProtocolError(.forbidden, "this takes a server admin")
            }
            return nil
        }
        guard !permission.isNone, let raw else { return nil }
        let needed = permission
        let user = try Actions.signedIn(session)
        let name = try Self.roomName(raw)
        return try hub.withState { s -> RoomAccess in
            guard let room = s.rooms[name] else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
            let role = room.members[user.id]
            // An admin moderates any room; to take part (send, read, type) one joins it.
            let admin = s.serverRole(of: user) == .admin && !(role == nil && needed.isMemberOnly)
            guard let rank: Rank = admin ? .admin : role.map(Rank.init) else {
                if case .visible = needed, !room.isPrivate { return RoomAccess(room: room, rank: .member) }
                throw ProtocolError(.notMember, "you are not in #\(name)")
            }
            if case .rank(let minimum) = needed, rank < minimum {
                throw ProtocolError(.forbidden, "this takes a room \(minimum.word) or more in #\(name)")
            }
            let mute = s.sanctions.isEmpty ? nil : s.sanction(.mute, of: user.id, in: room.id)
            return RoomAccess(room: room, rank: rank, mute: mute)
        }
    }
}

extension Permission {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }

    var isMemberOnly: Bool {
        if case .member = self { return true }
        return false
    }
}

extension Rank {
    var word: String {
        switch self {
        case .member: return "member"
        case .moderator: return "moderator"
        case .owner: return "owner"
        case .admin: return "admin"
        }
    }
}
