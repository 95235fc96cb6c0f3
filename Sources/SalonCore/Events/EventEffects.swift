import Foundation
import SalonProtocol

/// What an event does to the in-memory state when it was committed by another node (the
/// node that committed it applies the `Apply` its handler wrote). The state is a cache of
/// the database, so every event that changes it says enough to change it: who joined or left
/// which room (`system` join/leave, `kicked`), a member's room role (`system` role), which room
/// was created, by whom (`room_updated` of a room not known here), a room's topic
/// (`room_updated` to the room's members), bans and mutes and their ends (`banned`, `system`
/// mute/unmute/unban, with the person as `userID`).
enum EventEffects {
    static func apply(for event: EventLog.Committed) -> EventLog.Apply? {
        let draft = event.draft
        switch draft.type {
        case .system:
            guard let push = try? JSONDecoder().decode(SystemPush.self, from: Data(draft.data)), let username = push.username else { return nil }
            if let effect = sanctionEffect(of: push, draft) { return effect }
            guard let roomID = draft.roomID else {
                // A server role (`set_role`), to the account itself.
                guard let id = draft.userID, push.event == "role", let role = push.userRole else { return nil }
                return { s, _ in s.setRole(of: id, key: UserKey.of(username), to: role) }
            }
            guard let actor = draft.actorID else { return nil }
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
                    s.rooms[name]?.members.setRole(id, role)
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
        case .banned:
            // To the person banned (`userID`): from a room (removed from it, as a kick) or
            // from the server (its connections close, `Hub.fanOut`).
            guard let id = draft.userID, let push = try? JSONDecoder().decode(RemovedPush.self, from: Data(draft.data)) else { return nil }
            let (roomID, seq, at) = (draft.roomID, event.seq, Timestamp.now())
            return { s, _ in
                let who = Actor(id: id, username: s.displayName(id), isGuest: s.directory[UserKey.of(s.displayName(id))] == nil)
                s.sanctions[SanctionKey(kind: .ban, userID: id, roomID: roomID)] =
                    Sanction(kind: .ban, user: who, roomID: roomID, by: push.by, reason: push.reason, until: push.until, createdAt: at)
                guard let roomID, let name = s.roomNames[roomID], s.isMember(id, of: name) else { return }
                s.removeMember(id, from: name)
                s.notePeriod(of: id, roomID: roomID, joined: nil, left: seq)
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

    /// A mute begun, a mute or a ban ended (`userID` is the person): the cache of bans and
    /// mutes follows.
    private static func sanctionEffect(of push: SystemPush, _ draft: EventDraft) -> EventLog.Apply? {
        guard let id = draft.userID else { return nil }
        let roomID = draft.roomID
        switch push.event {
        case "mute":
            guard let roomID, let username = push.username else { return nil }
            let (actor, at) = (draft.actorID, Timestamp.now())
            return { s, _ in
                let who = Actor(id: id, username: username, isGuest: s.directory[UserKey.of(username)] == nil)
                s.sanctions[SanctionKey(kind: .mute, userID: id, roomID: roomID)] =
                    Sanction(kind: .mute, user: who, roomID: roomID, by: actor.map(s.displayName), reason: push.reason, until: push.until, createdAt: at)
            }
        case "unmute":
            return { s, _ in s.sanctions[SanctionKey(kind: .mute, userID: id, roomID: roomID)] = nil }
        case "unban":
            return { s, _ in s.sanctions[SanctionKey(kind: .ban, userID: id, roomID: roomID)] = nil }
        default:
            return nil
        }
    }
}
