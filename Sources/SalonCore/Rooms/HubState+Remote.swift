/// Someone online on other nodes of the cluster (not here).
struct RemoteUser: Sendable {
    var username: String
    var isGuest: Bool
    var nodes: Set<String>
}

/// People online on other nodes: they count as online here (lists, members' dots, online
/// counts), and their presence changes reach this node's clients like local ones.
extension HubState {
    func isOnline(_ id: Int64) -> Bool {
        online[id] != nil || remote[id] != nil
    }

    /// `user` came online on `node`; true when that makes them online as this node sees it
    /// (not connected here, and on no other node known).
    mutating func remoteOnline(_ user: Actor, node: String) -> Bool {
        let wasOnline = isOnline(user.id)
        remote[user.id, default: RemoteUser(username: user.username, isGuest: user.isGuest, nodes: [])].nodes.insert(node)
        names[user.id] = names[user.id] ?? user.username
        if user.isGuest && !isMember(user.id, of: Self.general) {
            addMember(user.id, name: user.username, to: Self.general, role: .member)
        }
        for room in memberships[user.id] ?? [] {
            rooms[room]?.onlineMembers.insert(user.id)
        }
        return !wasOnline
    }

    /// `user` went offline on `node`; true when that makes them offline as this node sees it.
    mutating func remoteOffline(_ id: Int64, node: String) -> Bool {
        guard var entry = remote[id] else { return false }
        entry.nodes.remove(node)
        guard entry.nodes.isEmpty else {
            remote[id] = entry
            return false
        }
        remote[id] = nil
        guard online[id] == nil else { return false }
        for room in memberships[id] ?? [] {
            rooms[room]?.onlineMembers.remove(id)
        }
        if entry.isGuest {
            for room in memberships[id] ?? [] where rooms[room]?.members[id] != .owner {
                rooms[room]?.members.remove(id)
                memberships[id]?.remove(room)
            }
            if memberships[id]?.isEmpty ?? true {
                memberships[id] = nil
                names[id] = nil
            }
        }
        return true
    }
}
