import ArgumentParser
import Foundation
import SalonCore
import SalonProtocol

/// `salon admin rooms`: every room, with its members and topic.
struct RoomsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rooms", abstract: "List the rooms, with their members and topics.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await database.run { store in
            let rooms = try await store.allRooms().sorted { $0.name < $1.name }
            var counts: [Int64: Int] = [:]
            for m in try await store.allMemberships() { counts[m.roomID, default: 0] += 1 }
            var lines = [UsersCommand.row("ROOM", "MEMBERS", "KIND", "TOPIC")]
            var objects: [[String: Any]] = []
            for room in rooms {
                let members = counts[room.id] ?? 0
                lines.append(UsersCommand.row(room.name, "\(members)", room.isPrivate ? "private" : "public", room.topic))
                objects.append(["name": room.name, "members": members, "private": room.isPrivate, "topic": room.topic,
                                "created_at": room.createdAt.iso8601])
            }
            database.print(lines.joined(separator: "\n") + "\n\(rooms.count) room\(rooms.count == 1 ? "" : "s")", json: objects)
        }
    }
}

/// `salon admin delete-room NAME`: the room and its messages go; its members are told.
struct DeleteRoomCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete-room", abstract: "Delete a room and its messages (not general).")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The room.")
    var name: String

    func run() async throws {
        let name = name.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "#"))
        try await database.run { store in
            guard name != "general" else { throw AdminRefusal("#general cannot be deleted") }
            guard let room = try await store.allRooms().first(where: { $0.name == name }) else { throw AdminRefusal("no room named '\(name)'") }
            let members = try await store.allMemberships().filter { $0.roomID == room.id }.map(\.userID)
            let info = RoomInfo(name: room.name, topic: room.topic, members: 0, online: 0, private: room.isPrivate, unread: nil, lastMessageID: nil)
            _ = try await store.commitOne(AdminChanges.deleteRoom(info, id: room.id, members: members, by: AdminChanges.cliName, byID: nil))
            database.print("#\(room.name) was deleted", json: ["name": room.name])
        }
    }
}
