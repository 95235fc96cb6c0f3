import Foundation
import SalonProtocol

/// What an event does to the in-memory state when it was committed by another node (the
/// node that committed it applies the `Apply` its handler wrote). The state is a cache of
/// the database, so every event that changes it says enough to change it: who joined or left
/// which room (`system` join/leave, `kicked`), a member's room role (`system` role), which room
/// was created, by whom (`room_updated` of a room not known here), a room's topic
/// (`room_updated` to the room's members).
enum EventEffects {
    static func apply(for event: EventLog.Committed) -> EventLog.Apply? {
        let draft = event.draft
        switch draft.type {
        case .system where draft.roomID == nil:
            // A server role (`set_role`), to the account itself.
            guard let id = draft.userID, let push = try? JSONDecoder().decode(SystemPush.self, from: Data(draft.data)),
                  push.event == "role", let role = push.userRole, let username = push.username else { return nil }
            return { s, _ in s.setRole(of: id, key: UserKey.of(username), to: role) }
        case .system:
            guard let roomID = draft.roomID, let actor = draft.actorID,
                  let push = try? JSONDecoder().decode(SystemPush.self, from: Data(draft.data)), let username = push.username else { return nil }
            let seq = event.seq
            switch push.event {
            case "join":
                return { s, _ in
                    guard let name = s.roomNames[roomID] else { return }
                    s.addMember(actor, name: username, to: name, role: .member)
                    s.notePeriod(of: actor, roomID: roomID, joined: seq, left: nil)
                }
            case "role":
                // The member is named (the actor is who changed the role): an account.
                guard let role = push.role else { return nil }
                return { s, _ in
                    guard let name = s.roomNames[roomID], let id = s.person(named: UserKey.of(username))?.id,
                          s.rooms[name]?.members[id] != nil else { return }
                    s.rooms[name]?.members[id] = role
                }
            case "leave":
                return { s, _ in
                    guard let name = s.roomNames[roomID] else { return }
                    s.removeMember(actor, from: name)
                    s.notePeriod(of: actor, roomID: roomID, joined: nil, left: seq)
                }
            default:
                return nil
            }
        case .kicked:
            // To the member removed (`userID`), before the room's `system` notice.
            guard let roomID = draft.roomID, let id = draft.userID else { return nil }
            let seq = event.seq
            return { s, _ in
                guard let name = s.roomNames[roomID] else { return }
                s.removeMember(id, from: name)
                s.notePeriod(of: id, roomID: roomID, joined: nil, left: seq)
            }
        case .roomUpdated:
            guard let push = try? JSONDecoder().decode(RoomUpdatedPush.self, from: Data(draft.data)) else { return nil }
            // A deleted room's notice names it and has no room id (the room is gone).
            if push.removed == true && draft.roomID == nil {
                let name = push.room.name
                return { s, _ in s.removeRoom(name) }
            }
            guard let roomID = draft.roomID, let actor = draft.actorID, push.removed != true else { return nil }
            let info = push.room
            let createdAt = Timestamp.now()
            return { s, _ in
                if let name = s.roomNames[roomID] {
                    // A room known here: its topic as the event says it is now.
                    if draft.scope == .room { s.rooms[name]?.topic = info.topic }
                    return
                }
                // A room this node does not know yet: it was just created, by the actor.
                guard s.rooms[info.name] == nil else { return }
                s.addRoom(RoomRecord(id: roomID, name: info.name, topic: info.topic, isPrivate: info.private, createdAt: createdAt))
                s.addMember(actor, name: s.displayName(actor), to: info.name, role: .owner)
            }
        default:
            return nil
        }
    }
}
