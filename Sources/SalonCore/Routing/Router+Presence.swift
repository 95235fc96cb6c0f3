import SalonProtocol

/// `list_users` (PROTOCOL.md §6). Presence pushes are sent as users come online and go
/// offline (`comeOnline`, `close`).
extension Router {
    /// With `room`: the room's members, with their server role. Without: everyone online.
    /// A private room's only for its members (`Permission.visible`, checked by the table).
    func listUsers(_ p: ListUsersRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess?) throws -> UsersResult {
        let limit = try Paging.limit(p.limit)
        return hub.withState { s in
            func info(_ id: Int64) -> MemberInfo { s.userInfo(id) }
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
    /// One person by name, as `list_users` shows them: someone connected, or an account;
    /// nil for nobody. For the IRC gateway's `WHOIS`, `WHO nick`, `ISON` and `USERHOST`, which
    /// ask about a few names (a page of everyone online would miss people on a large server).
    public func user(named username: String) -> MemberInfo? {
        let key = UserKey.of(username)
        return hub.withState { s in s.person(named: key).map { s.userInfo($0.id) } }
    }

    /// How many people are connected, on any node (`LUSERS`).
    public func onlineCount() -> Int {
        hub.withState { s in s.online.count + s.remote.keys.filter { s.online[$0] == nil }.count }
    }

    /// Whether `username` is held by an account (true) or a connected guest (false) now;
    /// nil when nobody holds it (or an account made by `salon admin` not yet seen). For the
    /// IRC gateway's `account-tag`, which names the account a message came from.
    public func isAccount(_ username: String) -> Bool? {
        let key = UserKey.of(username)
        return hub.withState { $0.person(named: key).map { !$0.isGuest } }
    }
}
