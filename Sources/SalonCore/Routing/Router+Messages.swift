import SalonProtocol

/// `send_message`, `history`, `mark_read` (PROTOCOL.md §5).
extension Router {
    /// Validates in order, then queues the message and returns without waiting for the commit:
    /// the reply goes out once the message is stored, while this connection's next requests
    /// are already being handled. Many messages in flight share one commit.
    func sendMessage(_ p: SendMessageRequest, _ session: Session, replyTo: String?) async throws {
        let user = try session.requireUser()
        let text = try Self.messageText(p.text)
        if let cid = p.clientMsgID {
            guard !cid.isEmpty, cid.unicodeScalars.count <= Limits.clientMsgIDLength else {
                throw ProtocolError(.invalidField, "'client_msg_id' is 1 to \(Limits.clientMsgIDLength) characters")
            }
            try Self.checkNoControl(cid, field: "client_msg_id")
        }
        if let attachments = p.attachments, !attachments.isEmpty {
            throw ProtocolError(.invalidField, "attachments are not supported by this server yet")
        }
        let target = try resolveTarget(room: p.room, with: p.to, field: "to", for: user)

        if let cid = p.clientMsgID, let original = try await store.message(senderID: user.id, clientMsgID: cid) {
            session.send(EnvelopeEncoder.success(replyTo: replyTo, MessageResult(message: original.wire)))
            return
        }
        if let replyTo = p.replyTo {
            guard let original = try await store.message(id: replyTo), original.conversation == target.conversation.key else {
                throw ProtocolError(.messageNotFound, "no message \(replyTo) in this conversation")
            }
        }
        let draft = MessageLog.Draft(
            conversation: target.conversation, room: target.room, sender: user.username, senderKey: user.key, senderID: user.id,
            recipient: target.peer?.username, recipientKey: target.peer?.key, recipientID: target.peer?.id,
            text: text, replyTo: p.replyTo, clientMsgID: p.clientMsgID
        )
        let connection = session.connection
        let inFlight = session.inFlight
        await inFlight.acquire()
        log.append(draft, origin: connection) { result in
            inFlight.release()
            switch result {
            case .success(let committed):
                return .init(connection: connection, frame: EnvelopeEncoder.messageSuccess(replyTo: replyTo, committed.encodedMessage))
            case .failure(let error):
                let error = error as? ProtocolError ?? ProtocolError(.internal, "the message could not be stored")
                return .init(connection: connection, frame: EnvelopeEncoder.error(replyTo: replyTo, error))
            }
        }
    }

    func history(_ p: HistoryRequest, _ session: Session) async throws -> HistoryResult {
        let user = try session.requireUser()
        if p.before != nil && p.after != nil {
            throw ProtocolError(.invalidField, "give 'before' or 'after', not both")
        }
        let limit = p.limit ?? Limits.historyDefault
        guard limit >= 1 else { throw ProtocolError(.invalidField, "'limit' must be at least 1") }
        let target = try resolveTarget(room: p.room, with: p.with, field: "with", for: user)
        let page = min(limit, Limits.historyPage)
        let messages = try await store.messages(conversation: target.conversation.key, before: p.before, after: p.after, limit: page + 1)
        // One row more than asked tells whether there is more; the page keeps the messages
        // nearest where it starts (the oldest after `after`, else the newest), as many as fit
        // in `page` and in the reply budget.
        let (kept, hasMore) = Paging.fit(messages.map(\.wire)[...], limit: page, fromEnd: p.after == nil, size: JSONSize.message)
        return HistoryResult(messages: kept, hasMore: hasMore)
    }

    func markRead(_ p: MarkReadRequest, _ session: Session) async throws -> EmptyPayload {
        let user = try session.requireUser()
        let target = try resolveTarget(room: p.room, with: p.with, field: "with", for: user)
        if !user.isGuest {
            try await store.setReadMarker(userKey: user.key, conversation: target.conversation.key, messageID: p.id)
        }
        return EmptyPayload()
    }

    // MARK: Helpers

    struct Target {
        var conversation: Conversation
        var room: String?
        var peer: (username: String, key: String, id: Int64)?
    }

    /// A room the user is in, or a person: exactly one of the two must be given.
    func resolveTarget(room: String?, with peerName: String?, field: String, for user: SessionUser) throws -> Target {
        switch (room, peerName) {
        case (nil, nil):
            throw ProtocolError(.missingField, "missing field 'data.room' (or 'data.\(field)')")
        case (.some, .some):
            throw ProtocolError(.invalidField, "give 'room' or '\(field)', not both")
        case (.some(let raw), nil):
            let name = try Self.roomName(raw)
            try hub.withState { s in
                guard let room = s.rooms[name] else { throw ProtocolError(.roomNotFound, "no room named '\(name)'") }
                guard room.members[user.key] != nil else { throw ProtocolError(.notMember, "join #\(name) first") }
            }
            return Target(conversation: .room(name), room: name, peer: nil)
        case (nil, .some(let peer)):
            let key = UserKey.of(peer)
            // The person who holds the name now: an account, or a connected guest.
            let found = hub.withState { s -> (String, Int64)? in
                if let entry = s.directory[key] { return (entry.username, entry.id) }
                return s.online[key].map { ($0.user.username, $0.user.id) }
            }
            guard let (display, id) = found else { throw ProtocolError(.userNotFound, "no user named '\(peer)'") }
            return Target(conversation: .direct(between: user.id, and: id), room: nil, peer: (display, key, id))
        }
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
