import Foundation
import NIOCore
import SalonCore
import SalonIRC
import SalonProtocol

/// One IRC client's state, on its connection's event loop: registration, capabilities, and
/// the requests in flight with what their replies should say.
final class IRCClient {
    let gateway: IRCGateway

    /// The connection's sink (lines out) and pump (requests in), set by the handler.
    var sink: ChannelSink?
    var pump: RequestPump?

    /// What the client said before registering.
    var nick: String?
    var userGiven = false
    var password: String?
    var negotiatingCapabilities = false
    var loginSent = false
    var registered = false
    var capabilities: IRCCapabilities = []
    var echoMessage = false

    /// Set by `QUIT` (or a refusal that ends the connection): closed after what is queued.
    var closing: CloseReason?

    /// What a reply answers.
    enum Pending {
        case login
        case sasl
        case join(String)
        case create(String)
        case rejoin(String)
        case members(String)
        case who(String)
        case names(String)
        case part(String)
        case topic(String)
        /// `LIST`, of every room or only of the channels named.
        case list(Set<String>?)
        case kick(channel: String, nick: String, reason: String)
        case invite(nick: String, channel: String)
        /// Nothing to say on success or failure (a typing notice, a reaction).
        case ignore
        case mode(channel: String, change: String, argument: String)
        /// A `CHATHISTORY` page: the target, and which messages of the page to keep.
        case history(target: String, keep: HistoryFilter)
        /// The latest message of one target of a `CHATHISTORY TARGETS` (query `query`).
        case target(query: Int, target: String)
        case send(target: String, notice: Bool)
    }

    var pending: [String: Pending] = [:]

    /// The channels this connection shows as joined (folded names): a second JOIN is ignored.
    var channels: Set<String> = []

    /// What the gateway knows of each joined room (from the join): its modes are said from it.
    var rooms: [String: RoomInfo] = [:]
    var nextID = 0
    var requests: [ByteBuffer] = []

    /// What a `list_users` was asked for.
    enum UserQuery {
        case whois(String)
        /// `WHO nick`: a `352` for that person, then `315`.
        case who(String)
        case ison([String])
        case userhost([String])
        case lusers
    }

    /// IRCv3 capabilities offered in `CAP LS`, and what each turns on.
    static let offered: [(name: String, capability: IRCCapabilities?)] = [
        ("echo-message", nil), ("extended-join", .extendedJoin), ("message-tags", .messageTags), ("server-time", .serverTime),
        ("draft/message-redaction", .messageRedaction), ("sasl", nil), ("away-notify", .awayNotify), ("multi-prefix", nil),
        ("userhost-in-names", nil), ("account-notify", nil), ("batch", nil), ("draft/chathistory", nil), ("account-tag", .accountTag),
        ("labeled-response", nil),
    ]

    /// Capabilities without a rendering flag of their own.
    var flags: Set<String> = []

    /// SASL (PLAIN only): the login it made, kept until registration ends.
    var sasl: AuthResult?
    var saslEnabled = false
    var saslMechanism = false
    var closeRequested = false

    /// For `OPER`, which checks a password without touching this connection's session.
    let router: SalonCore.Router
    let loop: any EventLoop

    /// Pushes decoded and rendered once for all of the loop's IRC connections.
    let cache: IRCFrameCache

    init(gateway: IRCGateway, router: SalonCore.Router, loop: any EventLoop) {
        self.gateway = gateway
        self.router = router
        self.loop = loop
        self.cache = IRCFrameCache.of(loop)
    }

    var me: String { nick ?? "*" }
    var viewer: IRCViewer { IRCViewer(nick: me, capabilities: capabilities) }

    func received(_ bytes: ByteBuffer) {
        let message: IRCMessage
        do {
            message = try IRCMessage.parse(bytes.readableBytesView)
        } catch .empty {
            return
        } catch .tooLong {
            return reply(IRCNumeric.inputTooLong, ["Input line was too long"])
        } catch .invalidUTF8 {
            return notice("Your line was not UTF-8: it was dropped (set your client's encoding to UTF-8)")
        } catch {
            return notice("Your line could not be read (\(error)): it was dropped")
        }
        // labeled-response: what this command answers is gathered under its label.
        let label = flags.contains("labeled-response") ? message.tag("label").flatMap { $0.isEmpty ? nil : $0 } : nil
        if let label {
            labeled[label] = Labeled()
            currentLabel = label
        }
        if registered {
            command(message)
        } else {
            registration(message)
        }
        if let label {
            currentLabel = nil
            finishLabel(label)
        }
    }

    /// A labelled command's answer so far, and how many of its requests are still out.
    struct Labeled {
        var lines: [IRCMessage] = []
        var outstanding = 0
    }

    var labeled: [String: Labeled] = [:]

    /// The label of the command (or of the reply to it) being handled.
    var currentLabel: String?

    /// Which label each request in flight answers to.
    var requestLabels: [String: String] = [:]

    /// Sends a labelled answer once nothing of it is out: one line with the label, several
    /// in a `labeled-response` batch, none as `ACK`.
    func finishLabel(_ label: String) {
        guard let answer = labeled[label], answer.outstanding == 0 else { return }
        labeled[label] = nil
        for line in labelledLines(label, answer.lines) { write(line) }
    }

    func labelledLines(_ label: String, _ lines: [IRCMessage]) -> [IRCMessage] {
        switch lines.count {
        case 0:
            return [IRCMessage(tags: [IRCTag("label", label)], source: gateway.serverName, command: "ACK")]
        case 1:
            var line = lines[0]
            line.tags.insert(IRCTag("label", label), at: 0)
            return [line]
        default:
            return batch("labeled-response", [], lines, startTags: [IRCTag("label", label)])
        }
    }

    func registration(_ m: IRCMessage) {
        switch m.command {
        case "CAP": cap(m)
        case "PASS":
            guard let first = m.parameters.first else { return reply(IRCNumeric.needMoreParams, ["PASS", "Not enough parameters"]) }
            password = first
        case "NICK":
            guard let wanted = m.parameters.first, !wanted.isEmpty else { return reply(IRCNumeric.noNicknameGiven, ["No nickname given"]) }
            guard IRCNick.username(for: wanted) != nil, Limits.isValidUsername(IRCNick.username(for: wanted) ?? "") else {
                return reply(IRCNumeric.erroneousNickname, [wanted, "Erroneous nickname: 1 to 32 letters, digits, '_', '-' or '|'"])
            }
            nick = wanted
            tryToLogIn()
        case "USER":
            guard m.parameters.count >= 4 else { return reply(IRCNumeric.needMoreParams, ["USER", "Not enough parameters"]) }
            userGiven = true
            tryToLogIn()
        case "AUTHENTICATE": authenticate(m)
        case "PING": pong(m)
        case "PONG": return
        case "QUIT": quit(m.parameters.first)
        default: reply(IRCNumeric.notRegistered, ["You have not registered"])
        }
    }

    func tryToLogIn() {
        guard !loginSent, !negotiatingCapabilities, userGiven, let nick, let username = IRCNick.username(for: nick) else { return }
        if let sasl {
            // Logged in by SASL already: registration ends here, under the account's nick.
            loginSent = true
            let lines = completeRegistration(sasl)
            for line in lines { write(line) }
            return
        }
        loginSent = true
        request("login", LoginRequest(username: username, password: password), .login)
    }

    /// `AUTHENTICATE PLAIN`, then the base64 of `authzid NUL authcid NUL password` (one
    /// chunk: credentials fit in 400 bytes), checked by the same `login` as `PASS`.
    func authenticate(_ m: IRCMessage) {
        guard let argument = m.parameters.first else { return reply(IRCNumeric.needMoreParams, ["AUTHENTICATE", "Not enough parameters"]) }
        guard saslEnabled, sasl == nil else {
            return reply(sasl == nil ? IRCNumeric.saslFailed : IRCNumeric.saslAlready, [sasl == nil ? "SASL authentication failed: ask for the sasl capability first" : "You have already authenticated"])
        }
        if argument == "*" {
            saslMechanism = false
            return reply(IRCNumeric.saslAborted, ["SASL authentication aborted"])
        }
        if !saslMechanism {
            guard argument.uppercased() == "PLAIN" else {
                reply(IRCNumeric.saslMechanisms, ["PLAIN", "are available SASL mechanisms"])
                return reply(IRCNumeric.saslFailed, ["SASL authentication failed"])
            }
            saslMechanism = true
            return write(IRCMessage(command: "AUTHENTICATE", parameters: ["+"]))
        }
        saslMechanism = false
        guard argument.utf8.count <= 400, let decoded = Data(base64Encoded: argument),
            case let parts = decoded.split(separator: 0, omittingEmptySubsequences: false), parts.count == 3,
            let username = String(data: parts[1], encoding: .utf8), let secret = String(data: parts[2], encoding: .utf8), !username.isEmpty
        else {
            return reply(IRCNumeric.saslFailed, ["SASL authentication failed: PLAIN wants base64 of 'authzid NUL username NUL password'"])
        }
        request("login", LoginRequest(username: username, password: secret), .sasl)
    }

    /// The end of registration once logged in: the welcome, and the rooms joined.
    func completeRegistration(_ auth: AuthResult) -> [IRCMessage] {
        registered = true
        let account = IRCNick.nick(for: auth.user.username)
        var lines: [IRCMessage] = []
        if let asked = nick, IRCNick.folded(asked) != IRCNick.folded(account) {
            // The client asked for another nick than its account's: it is told which it has.
            lines.append(IRCMessage(source: asked, command: "NICK", parameters: [account]))
        }
        nick = account
        for conversation in auth.conversations ?? [] { conversationPeers.insert(conversation.with) }
        lines += welcome()
        for room in auth.rooms {
            lines += joined(room, channel: "#" + room.name)
        }
        return lines
    }

    func cap(_ m: IRCMessage) {
        let sub = m.parameters.first?.uppercased() ?? ""
        switch sub {
        case "LS":
            if !registered { negotiatingCapabilities = true }
            let modern = m.parameters.count > 1 && (Int(m.parameters[1]) ?? 0) >= 302
            reply(command: "CAP", [me, "LS", Self.offered.map { modern && $0.name == "sasl" ? "sasl=PLAIN" : $0.name }.joined(separator: " ")])
        case "LIST":
            reply(command: "CAP", [me, "LIST", enabledNames().joined(separator: " ")])
        case "REQ":
            if !registered { negotiatingCapabilities = true }
            let asked = (m.parameters.count > 1 ? m.parameters[1] : "").split(separator: " ").map(String.init)
            let known = Set(Self.offered.map(\.name))
            guard !asked.isEmpty, asked.allSatisfy({ known.contains($0.hasPrefix("-") ? String($0.dropFirst()) : $0) }) else {
                return reply(command: "CAP", [me, "NAK", asked.joined(separator: " ")])
            }
            for name in asked {
                let off = name.hasPrefix("-")
                let bare = off ? String(name.dropFirst()) : name
                if bare == "echo-message" { echoMessage = !off }
                if bare == "sasl" { saslEnabled = !off }
                if off { flags.remove(bare) } else { flags.insert(bare) }
                if let capability = Self.offered.first(where: { $0.name == bare })?.capability {
                    if off { capabilities.remove(capability) } else { capabilities.insert(capability) }
                }
            }
            reply(command: "CAP", [me, "ACK", asked.joined(separator: " ")])
        case "END":
            negotiatingCapabilities = false
            tryToLogIn()
        default:
            reply("410", [sub, "Invalid CAP command"])
        }
    }

    func enabledNames() -> [String] {
        Self.offered.filter { entry in
            if let capability = entry.capability { return capabilities.contains(capability) }
            return flags.contains(entry.name)
        }.map(\.name)
    }

    /// Each channel of a comma-separated list with its room; `unknown` answers a name that
    /// is not a channel's.
    func eachChannel(_ list: String, unknown: (String) -> Void, _ body: (_ channel: String, _ room: String) -> Void) {
        for channel in list.split(separator: ",").map(String.init) {
            if let room = Self.room(channel) { body(channel, room) } else { unknown(channel) }
        }
    }

    func command(_ m: IRCMessage) {
        switch m.command {
        case "PING": pong(m)
        case "PONG": return
        case "CAP": cap(m)
        case "QUIT": quit(m.parameters.first)
        case "NICK": reply(IRCNumeric.cannotChangeNick, [m.parameters.first ?? me, "Nicknames are usernames here: log in again to be someone else"])
        case "USER", "PASS": reply(IRCNumeric.alreadyRegistered, ["You may not reregister"])
        case "MOTD": motd()
        case "JOIN":
            guard let list = m.parameters.first else { return reply(IRCNumeric.needMoreParams, ["JOIN", "Not enough parameters"]) }
            // `JOIN 0` (RFC 2812): leave every channel, but #general, which nobody leaves.
            if list == "0" {
                for room in channels.sorted() where room != Limits.generalRoom {
                    request("leave_room", RoomRequest(room: room), .part("#" + room))
                }
                return
            }
            eachChannel(list, unknown: { reply(IRCNumeric.noSuchChannel, [$0, "No such channel: names are # and 1 to 64 of a-z 0-9 _ -"]) }) { channel, room in
                if !channels.contains(room) { request("join_room", RoomRequest(room: room), .join(channel)) }
            }
        case "PART":
            guard let list = m.parameters.first else { return reply(IRCNumeric.needMoreParams, ["PART", "Not enough parameters"]) }
            eachChannel(list, unknown: { reply(IRCNumeric.noSuchChannel, [$0, "No such channel"]) }) { channel, room in
                request("leave_room", RoomRequest(room: room), .part(channel))
            }
        case "PRIVMSG", "NOTICE":
            let notice = m.command == "NOTICE"
            guard let target = m.parameters.first else {
                if !notice { reply(IRCNumeric.noRecipient, ["No recipient given (PRIVMSG)"]) }
                return
            }
            let text = IRCText.fromIRC(Self.unwrapAction(m.parameters.count > 1 ? m.parameters[1] : ""))
            guard !text.isEmpty else {
                if !notice { reply(IRCNumeric.noTextToSend, ["No text to send"]) }
                return
            }
            // `+draft/reply=ID` (message-tags): the message answers that one.
            let replyTo = m.tag("+draft/reply").flatMap { Int64($0) }
            for each in target.split(separator: ",").map(String.init) {
                if each.hasPrefix("#") {
                    guard let room = Self.room(each) else {
                        if !notice { reply(IRCNumeric.noSuchChannel, [each, "No such channel"]) }
                        continue
                    }
                    request("send_message", SendMessageRequest(room: room, text: text, replyTo: replyTo), .send(target: each, notice: notice))
                } else if let username = IRCNick.username(for: each) {
                    request("send_message", SendMessageRequest(to: username, text: text, replyTo: replyTo), .send(target: each, notice: notice))
                } else if !notice {
                    reply(IRCNumeric.noSuchNick, [each, "No such nick"])
                }
            }
        case "CHATHISTORY": chatHistory(m)
        case "OPER": oper(m)
        case "TAGMSG": tagMessage(m)
        case "MODE": mode(m)
        case "TOPIC":
            guard let channel = m.parameters.first else { return reply(IRCNumeric.needMoreParams, ["TOPIC", "Not enough parameters"]) }
            guard let room = Self.room(channel) else { return reply(IRCNumeric.noSuchChannel, [channel, "No such channel"]) }
            if m.parameters.count > 1 {
                request("set_topic", SetTopicRequest(room: room, topic: IRCText.fromIRC(m.parameters[1])), .topic(channel))
            } else if let info = rooms[room] {
                reply(info.topic.isEmpty ? IRCNumeric.noTopic : IRCNumeric.topic, [channel, info.topic.isEmpty ? "No topic is set" : info.topic])
            } else {
                reply(IRCNumeric.notOnChannel, [channel, "You're not on that channel"])
            }
        case "NAMES":
            guard let list = m.parameters.first else { return reply(IRCNumeric.endOfNames, ["*", "End of /NAMES list"]) }
            eachChannel(list, unknown: { reply(IRCNumeric.endOfNames, [$0, "End of /NAMES list"]) }) { channel, room in
                request("members", MembersRequest(room: room), .names(channel))
            }
        case "LIST":
            // `LIST #a,#b`: only those; `LIST` (or a filter like `>5`, not supported): all.
            let named = m.parameters.first.map { $0.split(separator: ",").compactMap { Self.room(String($0)) } } ?? []
            request("list_rooms", ListRoomsRequest(), .list(named.isEmpty ? nil : Set(named)))
        case "WHOIS":
            // `WHOIS nick` or `WHOIS server nick`: the last parameter is the nick.
            guard let nick = m.parameters.last, !nick.isEmpty else { return reply(IRCNumeric.noNicknameGiven, ["No nickname given"]) }
            userLines(.whois(nick)).forEach(write)
        case "WHOWAS":
            guard let nick = m.parameters.first else { return reply(IRCNumeric.noNicknameGiven, ["No nickname given"]) }
            reply(IRCNumeric.wasNoSuchNick, [nick, "There was no such nickname (no history of nicks is kept: try WHOIS)"])
            reply(IRCNumeric.endOfWhowas, [nick, "End of WHOWAS"])
        case "ISON":
            guard !m.parameters.isEmpty else { return reply(IRCNumeric.needMoreParams, ["ISON", "Not enough parameters"]) }
            let nicks = m.parameters.flatMap { $0.split(separator: " ").map(String.init) }
            userLines(.ison(nicks)).forEach(write)
        case "USERHOST":
            guard !m.parameters.isEmpty else { return reply(IRCNumeric.needMoreParams, ["USERHOST", "Not enough parameters"]) }
            userLines(.userhost(Array(m.parameters.prefix(5)))).forEach(write)
        case "LUSERS": userLines(.lusers).forEach(write)
        case "VERSION": reply(IRCNumeric.version, ["salon-2", gateway.serverName, "Salon's IRC gateway (PROTOCOL.md v2)"])
        case "TIME":
            let now = ISO8601DateFormatter().string(from: Date())
            reply(IRCNumeric.time, [gateway.serverName, now])
        case "INFO":
            for line in ["Salon: a self-hosted chat server.", "Its rooms are these channels; the web and terminal clients share them."] {
                reply(IRCNumeric.info, [line])
            }
            reply(IRCNumeric.endOfInfo, ["End of /INFO list"])
        case "AWAY":
            // Salon has presence, not away messages: answered, not shown to others.
            if let text = m.parameters.first, !text.isEmpty {
                reply(IRCNumeric.nowAway, ["You have been marked as being away"])
            } else {
                reply(IRCNumeric.unAway, ["You are no longer marked as being away"])
            }
        case "KICK":
            guard m.parameters.count >= 2 else { return reply(IRCNumeric.needMoreParams, ["KICK", "Not enough parameters"]) }
            let channel = m.parameters[0]
            guard let room = Self.room(channel) else { return reply(IRCNumeric.noSuchChannel, [channel, "No such channel"]) }
            let reason = m.parameters.count > 2 ? IRCText.fromIRC(m.parameters[2]) : ""
            for nick in m.parameters[1].split(separator: ",").map(String.init) {
                guard let username = IRCNick.username(for: nick) else {
                    reply(IRCNumeric.noSuchNick, [nick, "No such nick"])
                    continue
                }
                request("kick", KickRequest(room: room, username: username, reason: reason.isEmpty ? nil : reason), .kick(channel: channel, nick: nick, reason: reason))
            }
        case "INVITE":
            guard m.parameters.count >= 2 else { return reply(IRCNumeric.needMoreParams, ["INVITE", "Not enough parameters"]) }
            let (nick, channel) = (m.parameters[0], m.parameters[1])
            guard let room = Self.room(channel) else { return reply(IRCNumeric.noSuchChannel, [channel, "No such channel"]) }
            guard let username = IRCNick.username(for: nick) else { return reply(IRCNumeric.noSuchNick, [nick, "No such nick"]) }
            request("invite", InviteRequest(room: room, username: username), .invite(nick: nick, channel: channel))
        case "WHO":
            guard let mask = m.parameters.first else { return reply(IRCNumeric.needMoreParams, ["WHO", "Not enough parameters"]) }
            if let room = Self.room(mask) {
                request("members", MembersRequest(room: room), .who(mask))
            } else if IRCNick.username(for: mask) != nil {
                userLines(.who(mask)).forEach(write)
            } else {
                reply(IRCNumeric.endOfWho, [mask, "End of /WHO list"])
            }
        default:
            reply(IRCNumeric.unknownCommand, [m.command, "Unknown command"])
        }
    }

    var targetsQueries: [Int: TargetsQuery] = [:]
    var nextTargetsQuery = 0

    /// The people this user has private conversations with (their usernames): from the
    /// login, then every private message shown or sent. For `TARGETS`.
    var conversationPeers: Set<String> = []

    /// Who is an account, as asked of the core once per sender (account-tag).
    var accounts: [String: Bool] = [:]

    var nextBatch = 0

    /// A CTCP ACTION (`/me waves`) as Salon's italic text; other CTCP is left as text.
    static func unwrapAction(_ text: String) -> String {
        let prefix = "\u{1}ACTION "
        guard text.hasPrefix(prefix) else { return text }
        var body = text.dropFirst(prefix.count)
        if body.hasSuffix("\u{1}") { body = body.dropLast() }
        return "_\(body)_"
    }

    /// `#name` as a room name (lower-cased), or nil when it cannot be one.
    static func room(_ channel: String) -> String? {
        guard channel.hasPrefix("#") else { return nil }
        let name = channel.dropFirst().lowercased()
        return Limits.isValidRoomName(name) ? name : nil
    }

    func pong(_ m: IRCMessage) {
        guard let token = m.parameters.last else { return reply(IRCNumeric.noOrigin, ["No origin specified"]) }
        write(IRCMessage(source: gateway.serverName, command: "PONG", parameters: [gateway.serverName, token]))
    }

    /// The keep-alive's question.
    func ping() {
        write(IRCMessage(command: "PING", parameters: [gateway.serverName]))
    }

    /// The keep-alive's end: said before the connection closes.
    func timedOut() {
        write(IRCMessage(command: "ERROR", parameters: ["Closing link: \(me) (Ping timeout: \(gateway.pingInterval.nanoseconds / 1_000_000_000 * 2) seconds)"]))
    }

    func quit(_ message: String? = nil) {
        let reason = message.map { $0.isEmpty ? "Quit" : "Quit: \($0)" } ?? "Quit"
        write(IRCMessage(command: "ERROR", parameters: ["Closing link: \(me) (\(reason))"]))
        closing = .logout
    }

    func request(_ action: String, _ data: some Encodable, _ then: Pending) {
        nextID += 1
        let id = "i\(nextID)"
        pending[id] = then
        if let label = currentLabel {
            requestLabels[id] = label
            labeled[label]?.outstanding += 1
        }
        guard let body = try? JSONEncoder().encode(data) else { return }
        var frame = ByteBuffer(string: #"{"id":"\#(id)","action":"\#(action)","data":"#)
        frame.writeBytes(body)
        frame.writeString("}")
        requests.append(frame)
    }

    /// The requests made since the last call (the handler hands them to the pump).
    func takeRequests() -> [ByteBuffer] {
        defer { requests = [] }
        return requests
    }

    /// Who set the topic, from the `system` push that comes before its `room_updated`.
    var topicSetter: String?

    var myMask: String { gateway.renderer.mask(IRCNick.username(for: me) ?? me) }

    func welcome() -> [IRCMessage] {
        let server = gateway.serverName
        let created = ISO8601DateFormatter().string(from: gateway.created)
        var lines = [
            numeric(IRCNumeric.welcome, ["Welcome to the Salon IRC gateway, \(me)"]),
            numeric(IRCNumeric.yourHost, ["Your host is \(server), running Salon"]),
            numeric(IRCNumeric.created, ["This server was created \(created)"]),
            numeric(IRCNumeric.myInfo, [server, "salon", "i", "o"]),
            numeric(IRCNumeric.isupport, [
                "CASEMAPPING=ascii", "CHANTYPES=#", "PREFIX=(qo)~@", "NICKLEN=33", "CHANNELLEN=65",
                "TOPICLEN=\(Limits.topicLength)", "NETWORK=Salon", "CHATHISTORY=\(Self.historyLimit)", "MSGREFTYPES=msgid,timestamp",
                "are supported by this server",
            ]),
        ]
        lines += motdLines()
        return lines
    }

    func motd() {
        for line in motdLines() { write(line) }
    }

    func motdLines() -> [IRCMessage] {
        [
            numeric(IRCNumeric.motdStart, ["- \(gateway.serverName) Message of the day -"]),
            numeric(IRCNumeric.motd, ["- A Salon server: its rooms are these channels, shared with the web and terminal clients."]),
            numeric(IRCNumeric.endOfMotd, ["End of /MOTD command."]),
        ]
    }

    func numeric(_ code: String, _ parameters: [String]) -> IRCMessage {
        IRCMessage(source: gateway.serverName, command: code, parameters: [me] + parameters)
    }

    func reply(_ code: String, _ parameters: [String]) {
        write(numeric(code, parameters))
    }

    func reply(command: String, _ parameters: [String]) {
        write(IRCMessage(source: gateway.serverName, command: command, parameters: parameters))
    }

    func notice(_ text: String) {
        write(IRCMessage(source: gateway.serverName, command: "NOTICE", parameters: [me, text]))
    }

    /// A line of the gateway's own, queued behind what the connection already has.
    func write(_ line: IRCMessage) {
        if let label = currentLabel, labeled[label] != nil {
            labeled[label]?.lines.append(line)
            return
        }
        var buffer = ByteBuffer()
        line.write(into: &buffer)
        sink?.write(bytes: buffer)
    }
}
