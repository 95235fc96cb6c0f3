import SalonProtocol
import Testing
@testable import SalonCore

/// A room's audience (its online members' connections by lane, kept up to date for fan-out)
/// must always be exactly the connections of its online members, whatever happens.
@Suite struct RoomAudienceTests {
    final class Lane: DeliveryLane {
        func deliver(_ deliveries: [Delivery]) {}
    }

    final class Sink: ConnectionSink {
        let lane: (any DeliveryLane)?
        init(lane: (any DeliveryLane)?) { self.lane = lane }
        func send(_ frame: EncodedFrame) {}
        func close(_ reason: CloseReason) {}
    }

    @Test func followsLoginsLogoutsJoinsAndLeaves() {
        let lanes: [Lane?] = [Lane(), Lane(), nil]
        var state = HubState()
        for (id, name) in [HubState.general, "small"].enumerated() {
            state.addRoom(RoomRecord(id: Int64(id + 1), name: name, topic: "", isPrivate: false, createdAt: .now()))
        }
        var generator = SystemRandomNumberGenerator()
        var open: [(Connection, SessionUser)] = []
        var nextID: UInt64 = 0
        for step in 0..<2_000 {
            switch Int.random(in: 0..<5, using: &generator) {
            case 0, 1:  // a connection logs in (registered users may have several)
                nextID += 1
                let name = "u\(Int.random(in: 0..<20, using: &generator))"
                let user = SessionUser(id: Int64(name.dropFirst()) ?? 0, username: name, key: name, role: Bool.random(using: &generator) ? .user : .guest)
                if user.isGuest && state.online[user.id] != nil { continue }
                if let existing = state.online[user.id], existing.user.role != user.role { continue }
                let connection = Connection(id: nextID, sink: Sink(lane: lanes.randomElement(using: &generator) ?? nil), address: nil)
                _ = state.attach(connection, as: user)
                open.append((connection, user))
            case 2:  // a connection closes
                guard !open.isEmpty else { continue }
                let (connection, user) = open.remove(at: Int.random(in: 0..<open.count, using: &generator))
                _ = state.detach(connection, id: user.id)
            case 3:  // someone joins `small`
                guard let (_, user) = open.randomElement(using: &generator) else { continue }
                state.addMember(user.id, name: user.username, to: "small", role: .member)
            default:  // someone leaves `small`
                guard let (_, user) = open.randomElement(using: &generator) else { continue }
                state.removeMember(user.id, from: "small")
            }
            for name in [HubState.general, "small"] {
                let expected = Set(state.connections(ofRoom: name).map(\.id))
                let audience = state.rooms[name]?.audience
                #expect(audience?.ids == expected, "room \(name) after step \(step)")
                let listed = (audience?.groups.values.flatMap(\.ids) ?? []) + (audience?.unlaned.map(\.id) ?? [])
                #expect(listed.count == expected.count && Set(listed) == expected, "room \(name) after step \(step)")
            }
        }
    }
}
