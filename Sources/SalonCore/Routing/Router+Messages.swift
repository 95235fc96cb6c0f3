import SalonProtocol

/// `send_message`, `history`, `mark_read`, `edit_message`, `delete_message`, `react`, `typing`
/// (PROTOCOL.md §5).
extension Router {
    /// Validates in order, then queues the message and returns without waiting for the commit:
    /// the reply goes out once the message is stored, while this connection's next requests
    /// are already being handled. Many messages in flight share one commit.
    func sendMessage(_ p: SendMessageRequest, _ session: Session, _ user: SessionUser, _ access: RoomAccess?, replyTo: String?) async throws {
        let files = p.attachments ?? []
        let text = files.isEmpty || p.text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) ? try Self.messageText(p.text) : ""
        if let cid = p.clientMsgID {
            guard !cid.isEmpty, cid.unicodeScalars.count <= Limits.clientMsgIDLength else {
                throw ProtocolError(.invalidField, "'client_msg_id' is 1 to \(Limits.clientMsgIDLength) characters")
            }
            try Self.checkNoControl(cid, field: "client_msg_id")
        }
        let target: Target
        if let access, p.to == nil {
            // The room as the table's check found it, the caller a member, in the same step.
            if let mute = access.mute { throw ProtocolError(.muted, "you are muted in #\(access.room.name)" + Self.terms(mute)) }
            target = Target(conversation: .room(access.room.id), room: access.room.name, roomID: access.room.id, peer: nil)
        } else {
            target = try await resolveTarget(room: p.room, with: p.to, field: "to", for: user)
        }

        if let cid = p.clientMsgID, let original = try await store.message(senderID: user.id, clientMsgID: cid) {
            session.send(Actions.success(session, replyTo, MessageResult(message: original.wire)))
            return
        }
        if let replyTo = p.replyTo {
            guard let original = try await store.message(id: replyTo), original.conversation == target.conversation.key, !original.deleted else {
                throw ProtocolError(.messageNotFound, "no message \(replyTo) in this conversation")
            }
        }
        let attachments = files.isEmpty ? [] : try await self.attachments(files, for: user)
        let message = NewMessage(
            conversation: target.conversation, roomID: target.roomID, room: target.room, sender: user.actor, recipient: target.peer,
            text: text, createdAt: log.timestamp(), replyTo: p.replyTo, clientMsgID: p.clientMsgID, attachments: attachments,
            senderIsBot: user.isBot
        )
        let connection = session.connection
        let inFlight = session.inFlight
        // An IRC sender's reply as the message itself: its lines are made from the value, and
        // decoding the JSON again was a few percent of an IRC fan-out.
        let typed = session.typedReplies
        @Sendable func success(_ message: EncodedMessage) -> EncodedFrame {
            typed ? EncodedFrame(typed: TypedReply(replyTo: replyTo, value: MessageResult(message: message.message)))
                : EnvelopeEncoder.messageSuccess(replyTo: replyTo, message)
        }
        await inFlight.acquire()
        log.submit(.message(message), origin: connection, dedupeKey: p.clientMsgID.map { "\(user.id)\u{0}" + $0 }) { outcome in
            inFlight.release()
            let frame: EncodedFrame
            switch outcome {
            case .committed(let events):
                if let encoded = events.first?.message {
                    frame = success(encoded)
                } else {
                    frame = EnvelopeEncoder.error(replyTo: replyTo, ProtocolError(.internal, "the message could not be stored"))
                }
            case .duplicate(let original):
                frame = success(EncodedMessage(original.wire))
            case .refused(let error):
                frame = EnvelopeEncoder.error(replyTo: replyTo, error)
            }
            return .init(connection: connection, frame: frame)
        }
    }

    func history(_ p: HistoryRequest, _ session: Session, _ user: SessionUser) async throws -> HistoryResult {
        if p.before != nil && p.after != nil {
            throw ProtocolError(.invalidField, "give 'before' or 'after', not both")
        }
        let limit = p.limit ?? Limits.historyDefault
        guard limit >= 1 else { throw ProtocolError(.invalidField, "'limit' must be at least 1") }
        let target = try await resolveTarget(room: p.room, with: p.with, field: "with", for: user)
        let page = min(limit, Limits.historyPage)
        let messages = try await store.messages(conversation: target.conversation.key, before: p.before, after: p.after, limit: page + 1)
        // One row more than asked tells whether there is more; the page keeps the messages
        // nearest where it starts (the oldest after `after`, else the newest), as many as fit
        // in `page` and in the reply budget.
        let (kept, hasMore) = Paging.fit(messages.map(\.wire)[...], limit: page, fromEnd: p.after == nil, size: JSONSize.message)
        return HistoryResult(messages: kept, hasMore: hasMore)
    }

    /// Moves the marker and tells the user's other connections (`read`). A guest has one
    /// connection and no stored markers: nothing to store or tell.
    func markRead(_ p: MarkReadRequest, _ session: Session, _ user: SessionUser) async throws -> EmptyPayload {
        guard p.id >= 0 else { throw ProtocolError(.invalidField, "'id' is a message id") }
        let target = try await resolveTarget(room: p.room, with: p.with, field: "with", for: user)
        guard !user.isGuest else { return EmptyPayload() }
        let event = EventDraft(type: .read, scope: .users, roomID: target.roomID, userID: user.id, actorID: user.id,
                               data: Self.eventData(ReadPush(room: target.room, with: target.peer?.username, id: p.id)))
        _ = try await log.commit(.markRead(user: user.actor, conversation: target.conversation.key, messageID: p.id, event: event), origin: session.connection)
        return EmptyPayload()
    }

    func editMessage(_ p: EditMessageRequest, _ session: Session, _ user: SessionUser, replyTo: String?) async throws -> EncodedFrame {
        let text = try Self.messageText(p.text)
        let message = try await readableMessage(p.id, for: user)
        guard message.senderID == user.id else { throw ProtocolError(.forbidden, "only its author can edit a message") }
        let event = EventDraft.about(message, type: .messageUpdated, actorID: user.id)
        let events = try await log.commit(.edit(messageID: message.id, authorID: user.id, text: text, at: .now(), event: event), origin: session.connection)
        guard let updated = events.first?.message else { throw ProtocolError(.messageNotFound, "no message \(p.id)") }
        return EnvelopeEncoder.messageSuccess(replyTo: replyTo, updated)
    }

    func deleteMessage(_ p: MessageIDRequest, _ session: Session, _ user: SessionUser) async throws -> EmptyPayload {
        // Admins moderate every room, also those they are not in (never others' private
        // conversations).
        let message: StoredMessage
        if hub.withState({ $0.serverRole(of: user) }) == .admin, let found = try await store.message(id: p.id), found.roomID != nil, !found.deleted {
            message = found
        } else {
            message = try await readableMessage(p.id, for: user)
        }
        let mayDelete = hub.withState { s -> Bool in
            if message.senderID == user.id || s.serverRole(of: user) == .admin { return true }
            guard let roomID = message.roomID, let role = s.room(id: roomID)?.members[user.id] else { return false }
            return role == .owner || role == .moderator
        }
        guard mayDelete else {
            throw ProtocolError(.forbidden, "only its author, the room's owner and moderators, and admins can delete a message")
        }
        let event = EventDraft.about(message, type: .messageDeleted, actorID: user.id,
                                     data: Self.eventData(MessageDeletedPush(id: message.id, room: message.room, to: message.roomID == nil ? message.recipient : nil)))
        _ = try await log.commit(.delete(messageID: message.id, event: event), origin: session.connection)
        return EmptyPayload()
    }

    func react(_ p: ReactRequest, _ session: Session, _ user: SessionUser) async throws -> EmptyPayload {
        let emoji = try Self.emoji(p.emoji)
        let message = try await readableMessage(p.id, for: user)
        let add = !(p.remove ?? false)
        let event = EventDraft.about(message, type: .reaction, actorID: user.id,
                                     data: Self.eventData(ReactionPush(id: message.id, emoji: emoji, username: user.username, added: add)))
        _ = try await log.commit(.react(messageID: message.id, user: user.actor, emoji: emoji, add: add, event: event), origin: session.connection)
        return EmptyPayload()
    }

    /// Ephemeral: straight to whoever is online, never stored, no `seq`.
    func typing(_ p: TypingRequest, _ session: Session, _ user: SessionUser) throws -> EmptyPayload {
        let target = try resolveTargetNow(room: p.room, with: p.to, field: "to", for: user)
        let recipients = hub.withState { s -> [Connection] in
            if let room = target.room {
                return s.connections(ofRoom: room, excluding: user.id)
            }
            guard let peer = target.peer, peer.id != user.id else { return [] }
            return s.connections(of: peer.id)
        }
        if !recipients.isEmpty {
            Hub.deliver(EnvelopeEncoder.push("typing", TypingPush(room: target.room, to: target.peer?.username, username: user.username)), to: recipients)
        }
        if target.peer?.id != user.id {
            presence?.typing(user.actor, roomID: target.roomID, peer: target.peer?.id)
        }
        return EmptyPayload()
    }

    // MARK: Helpers

    struct Target {
        var conversation: Conversation
        var room: String?
        var roomID: Int64?
        var peer: Actor?
    }

    /// A room the user is in, or a person: exactly one of the two must be given.
    /// `resolveTargetNow`, and for a name unknown here an account looked up in the store (one
    /// registered on another node since this one started: memory is a cache).
    func resolveTarget(room: String?, with peerName: String?, field: String, for user: SessionUser) async throws -> Target {
        do {
            return try resolveTargetNow(room: room, with: peerName, field: field, for: user)
        } catch let error as ProtocolError where (error.code == .roomNotFound || error.code == .notMember) && store.cluster != nil {
            // Created or joined on another node a moment ago: its event may not be here yet.
            await catchUpWithOtherNodes()
            return try resolveTargetNow(room: room, with: peerName, field: field, for: user)
        } catch let error as ProtocolError where error.code == .userNotFound {
            guard let peerName, try await learnAccount(UserKey.of(peerName)) else { throw error }
            return try resolveTargetNow(room: room, with: peerName, field: field, for: user)
        }
    }

    /// The room (the user a member) or the person (an account, or a guest connected here)
    /// a request names, from memory.
    func resolveTargetNow(room: String?, with peerName: String?, field: String, for user: SessionUser) throws -> Target {
        switch (room, peerName) {
        case (nil, nil):
            throw ProtocolError(.missingField, "missing field 'data.room' (or 'data.\(field)')")
        case (.some, .some):
            throw ProtocolError(.invalidField, "give 'room' or '\(field)', not both")
        case (.some(let raw), nil):
            let name = try Self.roomName(raw)
            let id = try hub.withState { s -> Int64 in
                guard let room = s.rooms[name] else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
                guard room.members[user.id] != nil else { throw ProtocolError(.notMember, "join #\(name) first") }
                return room.id
            }
            return Target(conversation: .room(id), room: name, roomID: id, peer: nil)
        case (nil, .some(let peer)):
            let key = UserKey.of(peer)
            // The person who holds the name now: an account, or a connected guest.
            guard let found = hub.withState({ $0.person(named: key) }) else { throw ProtocolError(.userNotFound, "no user named '\(peer)'") }
            return Target(conversation: .direct(between: user.id, and: found.id), room: nil, roomID: nil,
                          peer: Actor(id: found.id, username: found.username, isGuest: found.isGuest))
        }
    }

    /// A message the user may read (a member of its room, a party to its conversation), not
    /// deleted; anything else is `message_not_found`, so that ids reveal nothing.
    func readableMessage(_ id: Int64, for user: SessionUser) async throws -> StoredMessage {
        guard let message = try await store.message(id: id), !message.deleted, canRead(message, user) else {
            throw ProtocolError(.messageNotFound, "no message \(id)")
        }
        return message
    }

    func canRead(_ message: StoredMessage, _ user: SessionUser) -> Bool {
        if let roomID = message.roomID {
            return hub.withState { $0.room(id: roomID)?.members[user.id] != nil }
        }
        return message.isParty(user.id)
    }

    /// An emoji: 1–32 Unicode scalars, not only white space, no control character.
    static func emoji(_ raw: String) throws -> String {
        let count = raw.unicodeScalars.count
        guard Limits.emojiLength.contains(count), raw.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
            throw ProtocolError(.invalidField, "an emoji is 1 to \(Limits.emojiLength.upperBound) characters")
        }
        try checkNoControl(raw, field: "emoji")
        return raw
    }

    /// Text is trimmed of surrounding white space, then must be 1–4,000 Unicode scalars.
    static func messageText(_ raw: String) throws -> String {
        let scalars = raw.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else {
            throw ProtocolError(.emptyMessage, "a message needs some text")
        }
        let text = String(scalars[first...last])
        let count = text.unicodeScalars.count
        guard count <= Limits.textLength else {
            throw ProtocolError(.messageTooLong, "a message has at most \(Limits.textLength) characters (this one has \(count))")
        }
        try checkNoControl(text, field: "text")
        return text
    }

    /// Text that is stored (message text, topics, `client_msg_id`) holds no control
    /// character but newline and tab: what was acknowledged is what history returns, and no
    /// text can drive a terminal.
    static func checkNoControl(_ text: String, field: String) throws {
        if let bad = Limits.forbiddenControl(in: text) {
            let code = "U+" + String(bad.value, radix: 16, uppercase: true).leftPadded(to: 4)
            throw ProtocolError(.invalidField, "'\(field)' cannot contain the control character \(code) (only newline and tab are allowed)")
        }
    }


}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
