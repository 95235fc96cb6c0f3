import SalonProtocol

/// `list_users` (PROTOCOL.md §6). Presence pushes are sent as users come online and go
/// offline (`comeOnline`, `close`).
extension Router {
    /// With `room`: the room's members, with their server role. Without: everyone online.
    /// A private room's only for its members (`Permission.visible`, checked by the table).
    func listUsers(_ p: ListUsersRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess?) throws -> UsersResult {
        let limit = try Paging.limit(p.limit)
        return hub.withState { s in
            func info(_ id: Int64) -> MemberInfo {
                let name = s.displayName(id)
                let role = s.online[id]?.user.role ?? s.directory[UserKey.of(name)].flatMap { $0.id == id ? $0.role : nil } ?? .guest
                return MemberInfo(username: name, role: role.rawValue, online: s.isOnline(id), bot: s.botMark(id))
            }
            let after = p.after?.lowercased()
            let page: (items: [MemberInfo], hasMore: Bool)
            if let access {
                // A room's people are kept sorted (`RoomMembers`): only the page is rendered.
                let members = (s.rooms[access.room.name] ?? access.room).members.byName
                page = Paging.page(members, after: after, limit: limit, name: \.key, render: { info($0.id) }, size: JSONSize.member)
            } else {
                let ids = Array(s.online.keys) + s.remote.keys.filter { s.online[$0] == nil }
                let sorted = ids.map { id in (key: s.displayName(id).lowercased(), id: id) }.sorted { $0.key < $1.key }
                page = Paging.page(sorted, after: after, limit: limit, name: \.key, render: { info($0.id) }, size: JSONSize.member)
            }
            return UsersResult(users: page.items, hasMore: page.hasMore)
        }
    }
}

extension Router {
    /// Whether `username` is held by an account (true) or a connected guest (false) now;
    /// nil when nobody holds it (or an account made by `salon admin` not yet seen). For the
    /// IRC gateway's `account-tag`, which names the account a message came from.
    public func isAccount(_ username: String) -> Bool? {
        let key = UserKey.of(username)
        return hub.withState { $0.person(named: key).map { !$0.isGuest } }
    }
}
