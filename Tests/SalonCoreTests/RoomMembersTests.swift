import SalonProtocol
import Testing
@testable import SalonCore

/// A room's members are kept sorted by name as they come and go (`RoomMembers`): the sorted
/// list must always be exactly the members, in the order a sort of them would give.
@Suite struct RoomMembersTests {
    @Test func staysSortedThroughRandomJoinsLeavesAndRoleChanges() {
        var members = RoomMembers()
        var model: [Int64: (name: String, role: RoomRole)] = [:]
        var generator = SystemRandomNumberGenerator()
        let roles: [RoomRole] = [.member, .moderator, .owner]
        for _ in 0..<3_000 {
            let id = Int64.random(in: 1...200, using: &generator)
            // Names that fold to the same key as another's (case) exercise the id tiebreak.
            let name = ["Ann", "ann", "Bob", "zed", "Émile", "ab", "a"][Int(id % 7)] + String(id / 7)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0, 1:
                let role = roles.randomElement(using: &generator) ?? .member
                members.set(id, name: model[id]?.name ?? name, role: role)
                model[id] = (model[id]?.name ?? name, role)
            case 2:
                members.remove(id)
                model[id] = nil
            default:
                let role = roles.randomElement(using: &generator) ?? .member
                members.setRole(id, role)
                if model[id] != nil { model[id]?.role = role }
            }
            #expect(members.count == model.count)
        }
        let expected = model.map { (key: $0.value.name.lowercased(), id: $0.key) }
            .sorted { $0.key != $1.key ? $0.key < $1.key : $0.id < $1.id }
        #expect(members.byName.map(\.id) == expected.map(\.id))
        #expect(members.byName.map(\.key) == expected.map(\.key))
        for (id, entry) in model { #expect(members[id] == entry.role) }
        #expect(members[999] == nil)
    }

    /// Paging the sorted members renders only the page and resumes after the last name.
    @Test func pagesResumeAfterTheLastName() {
        var members = RoomMembers()
        for id in 1...1_200 { members.set(Int64(id), name: "user\(id)", role: .member) }
        var seen: [Int64] = []
        var after: String?
        var rendered = 0
        repeat {
            let page = Paging.page(members.byName, after: after, limit: 500, name: \.key, render: { (entry: RoomMembers.Entry) -> RoomMembers.Entry in
                rendered += 1
                return entry
            }, size: { _ in 10 })
            seen += page.items.map(\.id)
            after = page.hasMore ? page.items.last?.key : nil
        } while after != nil
        #expect(seen == members.byName.map(\.id))
        #expect(seen.count == 1_200)
        #expect(rendered == 1_200)
    }
}
