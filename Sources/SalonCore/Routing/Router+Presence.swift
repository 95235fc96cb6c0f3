import SalonProtocol

/// `list_users` (PROTOCOL.md §6). Presence pushes are sent as users come online and go
/// offline (`comeOnline`, `close`).
extension Router {
    /// With `room`: the room's members, with their server role. Without: everyone online.
    func listUsers(_ p: ListUsersRequest, _ session: Session) throws -> UsersResult {
        let user = try session.requireUser()
        let limit = try Paging.limit(p.limit)
        return try hub.withState { s in
            let keys: [String]
            if let raw = p.room {
                let name = try Self.roomName(raw)
                guard let room = s.rooms[name] else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
                if room.isPrivate && room.members[user.key] == nil { throw ProtocolError(.forbidden, "'\(name)' is private") }
                keys = Array(room.members.keys)
            } else {
                keys = Array(s.online.keys)
            }
            let users = keys.map { key -> MemberInfo in
                let role = s.directory[key]?.role ?? s.online[key]?.user.role ?? .guest
                return MemberInfo(username: s.displayName(key), role: role.rawValue, online: s.online[key] != nil)
            }
            let sorted = users.sorted { $0.username.lowercased() < $1.username.lowercased() }
            let page = Paging.page(sorted, after: p.after?.lowercased(), limit: limit, name: { $0.username.lowercased() }, size: JSONSize.member)
            return UsersResult(users: page.items, hasMore: page.hasMore)
        }
    }
}
