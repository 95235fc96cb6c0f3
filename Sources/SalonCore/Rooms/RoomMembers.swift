import SalonProtocol

/// A room's members: each one's role by id, and the same people kept sorted by name as they
/// come and go. `members` and `list_users` page a room's people by name; sorting them for
/// every page (every login of an IRC client asks for #general's names, every member of it)
/// cost O(n log n) comparisons of lower-cased copies under the hub's lock and left large
/// transient arrays behind. Kept sorted, a page is a binary search and a slice.
///
/// A member's name never changes while they are a member (a name belongs to one id), so the
/// sort key is taken once, when they join.
struct RoomMembers: Sendable {
    /// One member in name order: the key compared (`name.lowercased()`), then the id, so
    /// that the order is total even if two names were ever to fold to the same key.
    struct Entry: Sendable {
        var key: String
        var id: Int64
    }

    private var roles: [Int64: (role: RoomRole, key: String)] = [:]
    /// Every member, sorted by `key` then `id`.
    private(set) var byName: [Entry] = []

    var count: Int { roles.count }
    var isEmpty: Bool { roles.isEmpty }
    var ids: Dictionary<Int64, (role: RoomRole, key: String)>.Keys { roles.keys }

    subscript(id: Int64) -> RoomRole? { roles[id]?.role }

    /// Adds `id` as `name` with `role`, or gives an existing member `role`.
    mutating func set(_ id: Int64, name: String, role: RoomRole) {
        if roles[id] != nil {
            roles[id]?.role = role
            return
        }
        let entry = Entry(key: name.lowercased(), id: id)
        roles[id] = (role, entry.key)
        byName.insert(entry, at: insertionIndex(of: entry))
    }

    /// Gives `id` `role` if they are a member; nothing otherwise.
    mutating func setRole(_ id: Int64, _ role: RoomRole) {
        roles[id]?.role = role
    }

    mutating func remove(_ id: Int64) {
        guard let (_, key) = roles.removeValue(forKey: id) else { return }
        let entry = Entry(key: key, id: id)
        let index = insertionIndex(of: entry)
        if index < byName.count, byName[index].id == id { byName.remove(at: index) }
    }

    /// The first index whose entry does not sort before `entry`.
    private func insertionIndex(of entry: Entry) -> Int {
        var low = 0, high = byName.count
        while low < high {
            let mid = (low + high) / 2
            let other = byName[mid]
            if other.key < entry.key || (other.key == entry.key && other.id < entry.id) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
