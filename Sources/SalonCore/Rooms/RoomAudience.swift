/// The connections of a room's online members, grouped by delivery lane and kept up to date
/// as people come and go, so that fanning a message out to a room costs no work per
/// recipient where the message is committed: each lane is handed its list as it is (a copy of
/// an array is a reference count) and skips the sender's connection as it writes.
///
/// Insertion and removal are O(1) (swap with the last); the order of a lane's list is not
/// meaningful.
struct RoomAudience: Sendable {
    struct Group: Sendable {
        let lane: any DeliveryLane
        var sinks: [any ConnectionSink] = []
        var ids: [UInt64] = []
    }

    private(set) var groups: [ObjectIdentifier: Group] = [:]
    /// Connections with no lane (sinks written one by one), in the same structure.
    private(set) var unlaned: [Connection] = []
    /// Where each connection is: its lane's key (nil: `unlaned`) and its index there.
    private var positions: [UInt64: (lane: ObjectIdentifier?, index: Int)] = [:]

    var count: Int { positions.count }

    mutating func insert(_ connection: Connection) {
        guard positions[connection.id] == nil else { return }
        guard let lane = connection.sink.lane else {
            positions[connection.id] = (nil, unlaned.count)
            unlaned.append(connection)
            return
        }
        let key = ObjectIdentifier(lane)
        var group = groups.removeValue(forKey: key) ?? Group(lane: lane)
        positions[connection.id] = (key, group.sinks.count)
        group.sinks.append(connection.sink)
        group.ids.append(connection.id)
        groups[key] = group
    }

    mutating func remove(_ connection: Connection) {
        guard let (key, index) = positions.removeValue(forKey: connection.id) else { return }
        guard let key else {
            let last = unlaned.removeLast()
            if index < unlaned.count {
                unlaned[index] = last
                positions[last.id] = (nil, index)
            }
            return
        }
        guard var group = groups.removeValue(forKey: key) else { return }
        let lastSink = group.sinks.removeLast()
        let lastID = group.ids.removeLast()
        if index < group.sinks.count {
            group.sinks[index] = lastSink
            group.ids[index] = lastID
            positions[lastID] = (key, index)
        }
        if !group.sinks.isEmpty { groups[key] = group }
    }

    /// Every connection's id (for checks).
    var ids: Set<UInt64> { Set(positions.keys) }
}
