import Foundation
import NIOCore
import SalonCore
import SalonIRC
import SalonProtocol

/// Frames from the core (replies to this connection's requests, and pushes) turned into IRC lines.
extension IRCClient: FrameRenderer {
    /// The pushes `rendered` leaves to each connection: rare, or different for each one.
    func ownLines(_ push: IRCDecodedPush) -> [IRCMessage] {
        switch push.action {
        case "error":
            // An error no request caused: the login timeout, say. The connection closes.
            let error = (try? JSONDecoder().decode(Reply<ErrorPayload>.self, from: Data(push.json.readableBytesView)))?.data.message ?? "closing"
            return [IRCMessage(command: "ERROR", parameters: ["Closing link: \(me) (\(error))"])]
        case "room_updated":
            return roomUpdated(Data(push.json.readableBytesView))
        case "reaction":
            return push.reaction.map(reaction) ?? []
        case "kicked", "banned":
            if let room = (try? JSONDecoder().decode(Reply<RemovedPush>.self, from: Data(push.json.readableBytesView)))?.data.room {
                channels.remove(room)
                rooms[room] = nil
            }
            return gateway.renderer.lines(forPush: push.json, viewer: viewer)
        default:
            return gateway.renderer.lines(forPush: push.json, viewer: viewer)
        }
    }

    /// A cached push as this connection's bytes, with the connection's own bookkeeping
    /// (reactions, topics); nil when this push takes the uncached path (room updates, kicks,
    /// reactions, errors: rare, or different for each connection).
    ///
    /// Called once per recipient of every push: it reads what the push worked out once
    /// (`IRCDecodedPush`) and this connection's capabilities and nick, and nothing else.
    func rendered(_ push: IRCDecodedPush) -> ByteBuffer? {
        guard push.shared else { return nil }
        if push.isTopic { topicSetter = push.system?.username }
        if push.isPrivateMessage, let message = push.message { notePeer(of: message) }
        let account = push.sender.map { capabilities.contains(.accountTag) && isAccount($0) } ?? false
        // Lines that name the viewer: a private message, a notice with no room.
        let key = IRCRenderKey(capabilities: capabilities.rawValue, account: account, nick: push.personal ? me : nil)
        if let bytes = push.rendered(for: key) { return bytes }
        let message = push.message
        var lines = message.map { gateway.renderer.lines(for: $0, viewer: viewer, quote: quote(for: $0)) }
            ?? gateway.renderer.lines(forPush: push.json, viewer: viewer)
        if let message { lines = tagAccount(lines, of: message.from) }
        var buffer = ByteBuffer()
        for line in lines { line.write(into: &buffer) }
        push.store(buffer, for: key)
        return buffer
    }

    /// What a reply quotes for a client without message-tags (which sees no `+draft/reply`):
    /// the message replied to, if this loop saw it lately (`IRCFrameCache.quote`).
    func quote(for message: Message) -> IRCQuote? {
        guard message.replyTo != nil, !capabilities.contains(.messageTags) else { return nil }
        return cache.seen(message.replyTo)?.quote
    }

    func isAccount(_ username: String) -> Bool {
        if let known = accounts[username] { return known }
        let answer = router.isAccount(username) ?? false
        if accounts.count > 1000 { accounts = [:] }
        accounts[username] = answer
        return answer
    }

    /// `account=NAME` on a message's lines when its sender is an account (account-tag).
    func tagAccount(_ lines: [IRCMessage], of username: String) -> [IRCMessage] {
        guard capabilities.contains(.accountTag), isAccount(username) else { return lines }
        return lines.map { line in
            var line = line
            line.tags.append(IRCTag("account", username))
            return line
        }
    }

    struct Head: Decodable {
        let action: String
        let replyTo: String?
        enum CodingKeys: String, CodingKey {
            case action
            case replyTo = "reply_to"
        }
    }

    struct Reply<T: Decodable>: Decodable { let data: T }

    /// A frame for this connection as IRC lines (nil: none).
    func render(_ frame: EncodedFrame) -> ByteBuffer? {
        var lines: [IRCMessage]
        if let typed = frame.typed {
            // A success reply to one of this connection's requests, as its value.
            guard let id = typed.replyTo, let what = pending.removeValue(forKey: id) else { return nil }
            lines = answer(id, what, error: false, .value(typed.value))
        } else if let push = cache.push(frame) {
            // The common case, a push (most of all a message to a room): rendered once a loop.
            if let bytes = rendered(push) { return bytes.readableBytes > 0 ? bytes : nil }
            lines = ownLines(push)
        } else {
            // A reply in JSON (an error).
            let json = Data(frame.json.readableBytesView)
            guard let head = try? JSONDecoder().decode(Head.self, from: json), let id = head.replyTo,
                let what = pending.removeValue(forKey: id)
            else { return nil }
            lines = answer(id, what, error: head.action == "error", .json(json))
        }
        // A dictionary keeps its capacity when emptied: an idle connection (everything
        // answered) holds none of the tables its login filled.
        if pending.isEmpty, pending.capacity > 0 { pending = [:] }
        if requestLabels.isEmpty, requestLabels.capacity > 0 { requestLabels = [:] }
        if labeled.isEmpty, labeled.capacity > 0 { labeled = [:] }
        // The requests a reply made (members after a join) go to the pump after it.
        for request in takeRequests() { pump?.enqueue(.request(request)) }
        // A reply that ends the connection (a banned account): closed behind these lines.
        if let closing, !closeRequested {
            closeRequested = true
            sink?.close(closing)
        }
        guard !lines.isEmpty else { return nil }
        var buffer = ByteBuffer()
        for line in lines { line.write(into: &buffer) }
        return buffer
    }

    /// A reply's result: decoded from JSON, or the value itself (`TypedReply`: this
    /// connection's session takes typed replies, so a success comes unencoded).
    enum ReplyBody {
        case json(Data)
        case value(any Encodable & Sendable)

        /// The result as `T`: a value of another type that carries `T`'s fields (a
        /// `JoinResult` read as a `RoomResult`) goes through JSON, as it would have.
        func result<T: Decodable>(_ type: T.Type) -> T? {
            switch self {
            case .json(let data):
                return try? JSONDecoder().decode(Reply<T>.self, from: data).data
            case .value(let value):
                if let value = value as? T { return value }
                return (try? JSONEncoder().encode(value)).flatMap { try? JSONDecoder().decode(T.self, from: $0) }
            }
        }
    }

    /// The lines of the reply to request `id`; those of a labelled command are held until
    /// every reply of it is in.
    func answer(_ id: String, _ what: Pending, error: Bool, _ body: ReplyBody) -> [IRCMessage] {
        let label = requestLabels.removeValue(forKey: id)
        currentLabel = label
        var lines: [IRCMessage]
        if error, case .json(let json) = body { lines = refused(what, json) } else { lines = answered(what, body) }
        currentLabel = nil
        guard let label else { return lines }
        labeled[label]?.lines += lines
        labeled[label]?.outstanding -= 1
        lines = []
        if let answer = labeled[label], answer.outstanding == 0 {
            labeled[label] = nil
            lines = labelledLines(label, answer.lines)
        }
        return lines
    }

    func answered(_ what: Pending, _ body: ReplyBody) -> [IRCMessage] {
        switch what {
        case .login:
            guard let auth = body.result(AuthResult.self) else { return [] }
            return completeRegistration(auth)
        case .sasl:
            guard let auth = body.result(AuthResult.self) else { return [] }
            sasl = auth
            let account = IRCNick.nick(for: auth.user.username)
            return [
                numeric(IRCNumeric.loggedIn, ["\(account)!\(account)@\(gateway.serverName)", auth.user.username, "You are now logged in as \(auth.user.username)"]),
                numeric(IRCNumeric.saslSuccess, ["SASL authentication successful"]),
            ]
        case .join(let channel), .create(let channel), .rejoin(let channel):
            guard let room = body.result(JoinResult.self)?.room ?? body.result(RoomResult.self)?.room else { return [] }
            return joined(room, channel: channel)
        case .members(let channel), .names(let channel):
            guard let page = body.result(MembersResult.self) else { return [] }
            let more = nextMembersPage(page, channel: channel, then: what)
            return names(channel, page.members, last: !more)
        case .who(let channel):
            guard let page = body.result(MembersResult.self) else { return [] }
            let server = gateway.serverName
            let more = nextMembersPage(page, channel: channel, then: what)
            return page.members.map { member in
                let nick = IRCNick.nick(for: member.username)
                let flags = (member.online ? "H" : "G") + (member.role == "owner" ? "~" : member.role == "moderator" ? "@" : "")
                return numeric(IRCNumeric.whoReply, [channel, nick, server, server, nick, flags, "0 \(member.username)"])
            } + (more ? [] : [numeric(IRCNumeric.endOfWho, [channel, "End of /WHO list"])])
        case .topic(let channel):
            guard let room = body.result(RoomResult.self)?.room else { return [] }
            rooms[room.name] = room
            return [IRCMessage(source: myMask, command: "TOPIC", parameters: [channel, room.topic])]
        case .list(let named):
            guard let list = body.result(RoomsResult.self)?.rooms.filter({ named?.contains($0.name) ?? true }) else { return [] }
            return [numeric(IRCNumeric.listStart, ["Channel", "Users  Name"])]
                + list.map { numeric(IRCNumeric.list, ["#" + $0.name, String($0.members), $0.topic]) }
                + [numeric(IRCNumeric.listEnd, ["End of /LIST"])]
        case .kick(let channel, let nick, let reason):
            return [IRCMessage(source: myMask, command: "KICK", parameters: [channel, nick, reason.isEmpty ? me : reason])]
        case .invite(let nick, let channel):
            return [numeric(IRCNumeric.inviting, [nick, channel])]
        case .ignore:
            return []
        case .mode(let channel, let change, let argument):
            return [IRCMessage(source: myMask, command: "MODE", parameters: [channel, change, argument])]
        case .history(let target, var filter):
            guard let page = body.result(HistoryResult.self)?.messages else { return [] }
            if let id = filter.around {
                // The first half came: ask for the rest, after the message.
                filter.around = nil
                filter.earlier = page
                let rest = max(0, filter.limit - page.count)
                guard rest > 0 else { return historyLines(target, filter, page) }
                let room = Self.room(target)
                let person = room == nil ? IRCNick.username(for: target) : nil
                request("history", HistoryRequest(room: room, with: person, after: id, limit: rest), .history(target: target, keep: filter))
                return []
            }
            return historyLines(target, filter, filter.earlier + page)
        case .target(let query, let target):
            return targetAnswered(query, target, latest: body.result(HistoryResult.self)?.messages.last)
        case .part(let channel):
            if let room = Self.room(channel) {
                channels.remove(room)
                rooms[room] = nil
            }
            return [IRCMessage(source: gateway.renderer.mask(IRCNick.username(for: me) ?? me), command: "PART", parameters: [channel])]
        case .send(_, _):
            guard let message = body.result(MessageResult.self)?.message else { return [] }
            cache.remember(message)
            notePeer(of: message)
            return echoMessage ? tagAccount(gateway.renderer.lines(for: message, viewer: viewer, quote: quote(for: message)), of: message.from) : []
        }
    }

    /// The lines of a channel joined: the JOIN, its topic, then its names (asked for).
    func joined(_ room: RoomInfo, channel: String) -> [IRCMessage] {
        channels.insert(room.name)
        rooms[room.name] = room
        let source = gateway.renderer.mask(IRCNick.username(for: me) ?? me)
        var lines = [IRCMessage(source: source, command: "JOIN", parameters: capabilities.contains(.extendedJoin) ? [channel, me, me] : [channel])]
        // The topic when there is one (servers send nothing on a join when there is none).
        if !room.topic.isEmpty {
            lines.append(numeric(IRCNumeric.topic, [channel, IRCText.lines(room.topic, maxBytes: 390).first ?? ""]))
        }
        request("members", MembersRequest(room: room.name), .members(channel))
        return lines
    }

    /// A room's members come in pages (`has_more`): asks for the next one, for the same
    /// answer; true when there is one (the end-of-list numeric waits for it).
    func nextMembersPage(_ page: MembersResult, channel: String, then what: Pending) -> Bool {
        guard page.hasMore == true, let last = page.members.last?.username, let room = Self.room(channel) else { return false }
        request("members", MembersRequest(room: room, after: last), what)
        return true
    }

    /// `353` lines of at most about 400 bytes of names, then `366` after the last page.
    func names(_ channel: String, _ members: [MemberInfo], last: Bool = true) -> [IRCMessage] {
        var lines: [IRCMessage] = []
        var current: [String] = []
        var size = 0
        for member in members {
            // One room role each, so multi-prefix has only ever one prefix to show.
            let prefix = member.role == "owner" ? "~" : member.role == "moderator" ? "@" : ""
            let nick = IRCNick.nick(for: member.username)
            let name = prefix + (flags.contains("userhost-in-names") ? "\(nick)!\(nick)@\(gateway.serverName)" : nick)
            if size + name.utf8.count + 1 > 400, !current.isEmpty {
                lines.append(numeric(IRCNumeric.namesReply, ["=", channel, current.joined(separator: " ")]))
                current = []
                size = 0
            }
            current.append(name)
            size += name.utf8.count + 1
        }
        if !current.isEmpty { lines.append(numeric(IRCNumeric.namesReply, ["=", channel, current.joined(separator: " ")])) }
        if last { lines.append(numeric(IRCNumeric.endOfNames, [channel, "End of /NAMES list"])) }
        return lines
    }

    func refused(_ what: Pending, _ json: Data) -> [IRCMessage] {
        guard let error = (try? JSONDecoder().decode(Reply<ErrorPayload>.self, from: json))?.data else { return [] }
        switch what {
        case .sasl:
            return [numeric(IRCNumeric.saslFailed, ["SASL authentication failed: \(error.message)"])]
        case .login:
            loginSent = false
            switch error.code {
            case .usernameTaken, .passwordRequired:
                let why = error.code == .passwordRequired ? "Nickname is a registered account: give its password with PASS" : "Nickname is already in use"
                return [numeric(IRCNumeric.nicknameInUse, [me, why])]
            case .invalidUsername:
                return [numeric(IRCNumeric.erroneousNickname, [me, error.message])]
            case .banned:
                closing = .banned
                return [numeric(IRCNumeric.youAreBanned, [error.message]), IRCMessage(command: "ERROR", parameters: ["Closing link: \(me) (banned)"])]
            default:
                return [numeric(IRCNumeric.passwordMismatch, [error.message])]
            }
        case .join(let channel):
            switch error.code {
            case .roomNotFound:
                // IRC's JOIN makes a channel that does not exist: the room is created.
                if let room = Self.room(channel) { request("create_room", CreateRoomRequest(name: room), .create(channel)) }
                return []
            case .forbidden: return [numeric(IRCNumeric.inviteOnlyChannel, [channel, "Cannot join channel (+i): \(error.message)"])]
            case .banned: return [numeric(IRCNumeric.bannedFromChannel, [channel, "Cannot join channel (+b): \(error.message)"])]
            case .invalidRoomName: return [numeric(IRCNumeric.badChannelName, [channel, error.message])]
            default: return [numeric(IRCNumeric.noSuchChannel, [channel, error.message])]
            }
        case .create(let channel):
            // Someone made it first (two JOINs at once): join theirs.
            if error.code == .roomExists, let room = Self.room(channel) {
                request("join_room", RoomRequest(room: room), .rejoin(channel))
                return []
            }
            return [numeric(IRCNumeric.noSuchChannel, [channel, error.message])]
        case .rejoin(let channel):
            return [numeric(IRCNumeric.noSuchChannel, [channel, error.message])]
        case .members:
            return []
        case .who(let channel), .names(let channel):
            return [numeric(IRCNumeric.noSuchChannel, [channel, error.message])]
        case .kick(let channel, let nick, _) where error.code == .notMember || error.code == .userNotFound:
            // The core says whom it means in its message: the kicker or the one kicked.
            if error.code == .notMember, !error.message.contains(IRCNick.username(for: nick) ?? nick) {
                return [numeric(IRCNumeric.notOnChannel, [channel, "You're not on that channel"])]
            }
            return [numeric(IRCNumeric.userNotInChannel, [nick, channel, "They aren't on that channel"])]
        case .topic(let channel), .kick(let channel, _, _):
            switch error.code {
            case .forbidden: return [numeric(IRCNumeric.chanOpPrivsNeeded, [channel, "You're not channel operator: \(error.message)"])]
            case .notMember: return [numeric(IRCNumeric.notOnChannel, [channel, "You're not on that channel"])]
            case .roomNotFound: return [numeric(IRCNumeric.noSuchChannel, [channel, "No such channel"])]
            default: return [IRCMessage(source: gateway.serverName, command: "NOTICE", parameters: [me, "\(channel): \(error.message)"])]
            }
        case .invite(let nick, let channel):
            switch error.code {
            case .forbidden: return [numeric(IRCNumeric.chanOpPrivsNeeded, [channel, "You're not channel operator: \(error.message)"])]
            case .userNotFound: return [numeric(IRCNumeric.noSuchNick, [nick, "No such nick"])]
            case .roomNotFound: return [numeric(IRCNumeric.noSuchChannel, [channel, "No such channel"])]
            default: return [IRCMessage(source: gateway.serverName, command: "NOTICE", parameters: [me, "\(channel): \(error.message)"])]
            }
        case .list:
            return [IRCMessage(source: gateway.serverName, command: "NOTICE", parameters: [me, error.message])]
        case .ignore:
            return []
        case .mode(let channel, let change, let argument):
            switch error.code {
            case .forbidden: return [numeric(IRCNumeric.chanOpPrivsNeeded, [channel, "You're not channel operator: \(error.message)"])]
            case .userNotFound: return [numeric(IRCNumeric.noSuchNick, [argument, "No such nick"])]
            case .notMember: return [numeric(IRCNumeric.userNotInChannel, [argument, channel, "They aren't on that channel"])]
            case .roomNotFound: return [numeric(IRCNumeric.noSuchChannel, [channel, "No such channel"])]
            default: return [IRCMessage(source: gateway.serverName, command: "NOTICE", parameters: [me, "\(channel) \(change) \(argument): \(error.message)"])]
            }
        case .target(let query, let target):
            return targetAnswered(query, target, latest: nil)
        case .history(let target, _):
            let code = [.notMember, .roomNotFound, .userNotFound, .forbidden].contains(error.code) ? "INVALID_TARGET" : "MESSAGE_ERROR"
            return [IRCMessage(source: gateway.serverName, command: "FAIL", parameters: ["CHATHISTORY", code, target, error.message])]
        case .part(let channel):
            if error.code == .notMember { return [numeric(IRCNumeric.notOnChannel, [channel, "You're not on that channel"])] }
            if error.code == .roomNotFound { return [numeric(IRCNumeric.noSuchChannel, [channel, "No such channel"])] }
            return [IRCMessage(source: gateway.serverName, command: "NOTICE", parameters: [me, "\(channel): \(error.message)"])]
        case .send(let target, let notice):
            guard !notice else { return [] }
            switch error.code {
            case .roomNotFound: return [numeric(IRCNumeric.noSuchChannel, [target, "No such channel"])]
            case .userNotFound: return [numeric(IRCNumeric.noSuchNick, [target, "No such nick"])]
            case .emptyMessage: return [numeric(IRCNumeric.noTextToSend, ["No text to send"])]
            default: return [numeric(IRCNumeric.cannotSendToChannel, [target, "Cannot send: \(error.message)"])]
            }
        }
    }

    /// Where a message this loop saw lately is shown to this connection: its channel, or
    /// for a private one the other person.
    func target(of id: Int64) -> String? {
        guard let message = cache.seen(id) else { return nil }
        if let room = message.room { return "#" + room }
        let from = IRCNick.nick(for: message.quote.from)
        return IRCNick.folded(from) == IRCNick.folded(me) ? message.to.map(IRCNick.nick(for:)) : from
    }

    /// A reaction: a `TAGMSG` with `+draft/react` (or `+draft/unreact`) for clients that take
    /// tags, else a line saying it; nothing for a message this connection has not shown.
    func reaction(_ push: ReactionPush) -> [IRCMessage] {
        guard let target = self.target(of: push.id) else { return [] }
        let source = gateway.renderer.mask(push.username)
        if capabilities.contains(.messageTags) {
            let tags = [IRCTag(push.added ? "+draft/react" : "+draft/unreact", push.emoji), IRCTag("+draft/reply", String(push.id))]
            return [IRCMessage(tags: tags, source: source, command: "TAGMSG", parameters: [target])]
        }
        guard push.added else { return [] }
        return [IRCMessage(source: source, command: "NOTICE", parameters: [target, "* reacted \(push.emoji) to message \(push.id)"])]
    }

    /// A room's new state: a new topic is a `TOPIC` from whoever set it.
    func roomUpdated(_ json: Data) -> [IRCMessage] {
        guard let push = try? JSONDecoder().decode(Reply<RoomUpdatedPush>.self, from: json).data, push.removed != true else { return [] }
        let room = push.room
        defer { topicSetter = nil }
        guard let known = rooms[room.name] else { return [] }
        rooms[room.name] = room
        guard known.topic != room.topic else { return [] }
        let source = topicSetter.map(gateway.renderer.mask) ?? gateway.serverName
        return [IRCMessage(source: source, command: "TOPIC", parameters: ["#" + room.name, room.topic])]
    }

    /// WHOIS, WHO nick, ISON, USERHOST and LUSERS: each name looked up in the core.
    func userLines(_ query: UserQuery) -> [IRCMessage] {
        let server = gateway.serverName
        func find(_ nick: String) -> MemberInfo? {
            IRCNick.username(for: nick).flatMap(router.user(named:))
        }
        switch query {
        case .whois(let nick):
            guard let user = find(nick) else {
                return [numeric(IRCNumeric.noSuchNick, [nick, "No such nick"]), numeric(IRCNumeric.endOfWhois, [nick, "End of /WHOIS list"])]
            }
            let shown = IRCNick.nick(for: user.username)
            var lines = [
                numeric(IRCNumeric.whoisUser, [shown, shown, server, "*", user.username]),
                numeric(IRCNumeric.whoisServer, [shown, server, "Salon"]),
            ]
            if user.role != "guest" { lines.append(numeric(IRCNumeric.whoisAccount, [shown, user.username, "is logged in as"])) }
            if user.role == "admin" { lines.append(numeric(IRCNumeric.whoisOperator, [shown, "is a Salon admin"])) }
            if !user.online { lines.append(numeric(IRCNumeric.away, [shown, "is not connected"])) }
            lines.append(numeric(IRCNumeric.endOfWhois, [shown, "End of /WHOIS list"]))
            return lines
        case .who(let nick):
            guard let user = find(nick), user.online else { return [numeric(IRCNumeric.endOfWho, [nick, "End of /WHO list"])] }
            let shown = IRCNick.nick(for: user.username)
            let flags = "H" + (user.role == "admin" ? "*" : "")
            return [
                numeric(IRCNumeric.whoReply, ["*", shown, server, server, shown, flags, "0 \(user.username)"]),
                numeric(IRCNumeric.endOfWho, [nick, "End of /WHO list"]),
            ]
        case .ison(let nicks):
            return [numeric(IRCNumeric.isOn, [nicks.filter { find($0)?.online == true }.joined(separator: " ")])]
        case .userhost(let nicks):
            let found = nicks.compactMap { nick -> String? in
                guard let user = find(nick) else { return nil }
                let shown = IRCNick.nick(for: user.username)
                return "\(shown)\(user.role == "admin" ? "*" : "")=\(user.online ? "+" : "-")\(shown)@\(server)"
            }
            return [numeric(IRCNumeric.userHost, [found.joined(separator: " ")])]
        case .lusers:
            let online = router.onlineCount()
            return [
                numeric(IRCNumeric.luserClient, ["There are \(online) users and 0 invisible on 1 servers"]),
                numeric(IRCNumeric.luserMe, ["I have \(online) clients and 1 servers"]),
            ]
        }
    }
}
