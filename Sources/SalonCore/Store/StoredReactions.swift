import SalonProtocol

/// One stored reaction: who reacted with what, and the `seq` of that event.
public typealias StoredReaction = (emoji: String, username: String, seq: Int64)

extension ReactionSummary {
    /// The summaries of the reactions made before `before` (all: nil), from rows in the order
    /// they were made: emojis in the order each was first used, people in the order they
    /// reacted, at most `Limits.reactionUsers` names per emoji. Every backend summarizes
    /// with this.
    public static func summaries(of rows: [StoredReaction], before: Int64?) -> [ReactionSummary] {
        var list: [ReactionSummary] = []
        for row in rows where before.map({ row.seq < $0 }) ?? true {
            if let index = list.firstIndex(where: { $0.emoji == row.emoji }) {
                list[index].count += 1
                if list[index].users.count < Limits.reactionUsers { list[index].users.append(row.username) }
            } else {
                list.append(ReactionSummary(emoji: row.emoji, count: 1, users: [row.username]))
            }
        }
        return list
    }
}

extension EventDraft {
    /// The event of a new message read back from the store (a new message's event is its row).
    public static func newMessage(_ message: StoredMessage) -> EventDraft {
        message.roomID == nil
            ? EventDraft(type: .receiveMessage, scope: .users, userID: message.senderID, peerID: message.recipientID, actorID: message.senderID, messageID: message.id)
            : EventDraft(type: .receiveMessage, scope: .room, roomID: message.roomID, actorID: message.senderID, messageID: message.id)
    }
}

extension StoredEvent {
    /// The messages of these events that can have reactions (not deleted).
    public static func messageIDs(_ events: [StoredEvent]) -> [Int64] {
        events.compactMap { $0.message?.deleted == false ? $0.message?.id : nil }
    }

    /// A message event shows the message's text as it is now (an edit replaces the whole
    /// text, so later events agree) and the reactions made before the event: those made after
    /// it come as their own events, and a client that applies them all ends with exactly the
    /// reactions there are.
    public static func withReactions(_ events: [StoredEvent], from rows: [Int64: [StoredReaction]]) -> [StoredEvent] {
        var events = events
        for index in events.indices {
            guard let id = events[index].message?.id else { continue }
            let seq = events[index].seq
            events[index].message?.reactions = ReactionSummary.summaries(of: rows[id] ?? [], before: seq)
        }
        return events
    }
}
