import Foundation
import Logging
import NIOCore
import SalonCore
import SalonIRC
import SalonProtocol

/// One IRC connection, after `IRCLineDecoder`: a thin adapter onto the core (PROTOCOL.md §9).
/// IRC commands become the same requests a WebSocket client sends, through the same request
/// pump (so the same action table, permissions and rate limits apply); the core's replies and
/// pushes come back through the connection's `ChannelSink` as frames, which `IRCClient` turns
/// into IRC lines (replies by the command that asked, pushes by `IRCRenderer`).
final class IRCConnectionHandler: ChannelInboundHandler, PumpedHandler, IRCKeepAliveChecked {
    typealias InboundIn = IRCInboundLine

    private let router: SalonCore.Router
    private let outboundQueueLimit: Int
    private let loginTimeout: TimeAmount?
    private let gateway: IRCGateway
    private let logger: Logger
    var connection: PumpedConnection?
    private var client: IRCClient?

    init(router: SalonCore.Router, outboundQueueLimit: Int, loginTimeout: TimeAmount?, gateway: IRCGateway, logger: Logger) {
        self.router = router
        self.outboundQueueLimit = outboundQueueLimit
        self.loginTimeout = loginTimeout
        self.gateway = gateway
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let client = IRCClient(gateway: gateway, router: router, loop: context.eventLoop)
        self.client = client
        let bound = NIOLoopBound(client, eventLoop: context.eventLoop)
        attachPump(context, framing: .irc, router: router, outboundQueueLimit: outboundQueueLimit, loginTimeout: loginTimeout, logger: logger) { frame in
            bound.value.render(frame)
        }
        client.sink = connection?.sink
        client.pump = connection?.pump
        // Keep-alive: a silent client is pinged, then closed if it stays silent (one sweep
        // per event loop checks every connection).
        let keepAlive = IRCKeepAlive.of(context.eventLoop, interval: gateway.pingInterval)
        keepAlive.add(self)
        self.keepAlive = keepAlive
    }

    private var keepAlive: IRCKeepAlive?
    /// A line came since the last check.
    private var heard = true
    private var pinged = false

    func checkAlive() {
        guard let client else { return }
        if heard {
            heard = false
            pinged = false
        } else if !pinged {
            pinged = true
            client.ping()
        } else {
            client.timedOut()
            connection?.sink.close(.pingTimeout)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        keepAlive?.remove(self)
        keepAlive = nil
        connection = nil
        client?.sink = nil
        client?.pump = nil
        client = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let client else { return }
        heard = true
        switch unwrapInboundIn(data) {
        case .line(let bytes):
            client.received(bytes)
        case .tooLong:
            client.reply(IRCNumeric.inputTooLong, ["Input line was too long"])
        }
        // The requests the line made, in order (a pump of its own per connection).
        for request in client.takeRequests() { connection?.enqueue(.request(request)) }
        if let reason = client.closing {
            connection?.sink.close(reason)
        }
    }

    func read(context: ChannelHandlerContext) {
        passRead(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.pump.connectionClosed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            connection?.sink.close(.shutdown)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("IRC connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

/// What every IRC connection of a server shares: its name, the renderer, its start.
struct IRCGateway: Sendable {
    let serverName: String
    let renderer: IRCRenderer
    let created: Date
    let pingInterval: TimeAmount

    init(serverName: String, pingInterval: TimeAmount = .seconds(120)) {
        self.serverName = serverName
        self.renderer = IRCRenderer(serverName: serverName)
        self.created = Date()
        self.pingInterval = pingInterval
    }
}

/// Numerics used by name (RFC 1459/2812 and the IRCv3 registry).
enum IRCNumeric {
    static let welcome = "001", yourHost = "002", created = "003", myInfo = "004", isupport = "005"
    static let topic = "332", noTopic = "331", namesReply = "353", endOfNames = "366"
    static let motdStart = "375", motd = "372", endOfMotd = "376"
    static let noSuchNick = "401", noSuchChannel = "403", cannotSendToChannel = "404", noRecipient = "411", noTextToSend = "412"
    static let inputTooLong = "417", unknownCommand = "421", noNicknameGiven = "431", erroneousNickname = "432", nicknameInUse = "433"
    static let notOnChannel = "442", notRegistered = "451", needMoreParams = "461", alreadyRegistered = "462", passwordMismatch = "464"
    static let channelModeIs = "324", banList = "367", endOfBanList = "368", userModeIs = "221", unknownMode = "472", usersDontMatch = "502"
    static let whoReply = "352", endOfWho = "315", chanOpPrivsNeeded = "482", userNotInChannel = "441", inviting = "341"
    static let listStart = "321", list = "322", listEnd = "323", wasNoSuchNick = "406", endOfWhowas = "369"
    static let whoisUser = "311", whoisServer = "312", whoisOperator = "313", endOfWhois = "318", whoisAccount = "330", away = "301"
    static let isOn = "303", userHost = "302", luserClient = "251", luserMe = "255", version = "351", time = "391"
    static let info = "371", endOfInfo = "374", nowAway = "306", unAway = "305"
    static let youreOper = "381", noOperHost = "491"
    static let loggedIn = "900", saslSuccess = "903", saslFailed = "904", saslAborted = "906", saslAlready = "907", saslMechanisms = "908"
    static let youAreBanned = "465", inviteOnlyChannel = "473", bannedFromChannel = "474", badChannelName = "479", cannotChangeNick = "447"
}

/// One IRC client's state, on its connection's event loop: registration, capabilities, and
/// the requests in flight with what their replies should say.
final class IRCClient {
    let gateway: IRCGateway
    /// The connection's sink (lines out) and pump (requests in), set by the handler.
    var sink: ChannelSink?
    var pump: RequestPump?

    /// What the client said before registering.
    private var nick: String?
    private var userGiven = false
    private var password: String?
    private var negotiatingCapabilities = false
    private var loginSent = false
    private(set) var registered = false
    private var capabilities: IRCCapabilities = []
    private var echoMessage = false
    /// Set by `QUIT` (or a refusal that ends the connection): closed after what is queued.
    private(set) var closing: CloseReason?

    /// What a reply answers.
    private enum Pending {
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
        case list
        case users(UserQuery)
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

    private var pending: [String: Pending] = [:]
    /// The channels this connection shows as joined (folded names): a second JOIN is ignored.
    private var channels: Set<String> = []
    /// What the gateway knows of each joined room (from the join): its modes are said from it.
    private var rooms: [String: RoomInfo] = [:]
    private var nextID = 0
    private var requests: [ByteBuffer] = []

    /// What a `list_users` was asked for.
    enum UserQuery {
        case whois(String)
        case ison([String])
        case userhost([String])
        case lusers
    }

    /// What of a `history` page a `CHATHISTORY` request wants (Salon pages by id; IRC also
    /// asks by time, and for "the latest after X").
    struct HistoryFilter {
        var afterID: Int64?
        var beforeID: Int64?
        var afterTime: Timestamp?
        var beforeTime: Timestamp?
        var limit: Int
        /// AROUND: after this page (up to and with the message) comes the page after it.
        var around: Int64?
        var earlier: [Message] = []

        func keeps(_ m: Message) -> Bool {
            if let afterID, m.id <= afterID { return false }
            if let beforeID, m.id >= beforeID { return false }
            if let afterTime, m.timestamp <= afterTime { return false }
            if let beforeTime, m.timestamp >= beforeTime { return false }
            return true
        }
    }


    /// IRCv3 capabilities offered in `CAP LS`, and what each turns on.
    static let offered: [(name: String, capability: IRCCapabilities?)] = [
        ("echo-message", nil), ("extended-join", .extendedJoin), ("message-tags", .messageTags), ("server-time", .serverTime),
        ("draft/message-redaction", .messageRedaction), ("sasl", nil), ("away-notify", .awayNotify), ("multi-prefix", nil),
        ("userhost-in-names", nil), ("account-notify", nil), ("batch", nil), ("draft/chathistory", nil), ("account-tag", .accountTag),
        ("labeled-response", nil),
    ]
    /// Capabilities without a rendering flag of their own.
    private var flags: Set<String> = []
    /// SASL (PLAIN only): the login it made, kept until registration ends.
    private var sasl: AuthResult?
    private var saslEnabled = false
    private var saslMechanism = false
    private var closeRequested = false

    /// For `OPER`, which checks a password without touching this connection's session.
    private let router: SalonCore.Router
    private let loop: any EventLoop

    /// Pushes decoded and rendered once for all of the loop's IRC connections.
    private let cache: IRCFrameCache

    init(gateway: IRCGateway, router: SalonCore.Router, loop: any EventLoop) {
        self.gateway = gateway
        self.router = router
        self.loop = loop
        self.cache = IRCFrameCache.of(loop)
    }

    fileprivate var me: String { nick ?? "*" }
    private var viewer: IRCViewer { IRCViewer(nick: me, capabilities: capabilities) }

    // MARK: Lines in

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

    // MARK: labeled-response

    /// A labelled command's answer so far, and how many of its requests are still out.
    private struct Labeled {
        var lines: [IRCMessage] = []
        var outstanding = 0
    }

    private var labeled: [String: Labeled] = [:]
    /// The label of the command (or of the reply to it) being handled.
    private var currentLabel: String?
    /// Which label each request in flight answers to.
    private var requestLabels: [String: String] = [:]

    /// Sends a labelled answer once nothing of it is out: one line with the label, several
    /// in a `labeled-response` batch, none as `ACK`.
    private func finishLabel(_ label: String) {
        guard let answer = labeled[label], answer.outstanding == 0 else { return }
        labeled[label] = nil
        for line in labelledLines(label, answer.lines) { write(line) }
    }

    private func labelledLines(_ label: String, _ lines: [IRCMessage]) -> [IRCMessage] {
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

    private func registration(_ m: IRCMessage) {
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
        case "QUIT": quit()
        default: reply(IRCNumeric.notRegistered, ["You have not registered"])
        }
    }

    private func tryToLogIn() {
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
    private func authenticate(_ m: IRCMessage) {
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
    private func completeRegistration(_ auth: AuthResult) -> [IRCMessage] {
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

    private func cap(_ m: IRCMessage) {
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

    private func enabledNames() -> [String] {
        Self.offered.filter { entry in
            if let capability = entry.capability { return capabilities.contains(capability) }
            return flags.contains(entry.name)
        }.map(\.name)
    }

    private func command(_ m: IRCMessage) {
        switch m.command {
        case "PING": pong(m)
        case "PONG": return
        case "CAP": cap(m)
        case "QUIT": quit()
        case "NICK": reply(IRCNumeric.cannotChangeNick, [m.parameters.first ?? me, "Nicknames are usernames here: log in again to be someone else"])
        case "USER", "PASS": reply(IRCNumeric.alreadyRegistered, ["You may not reregister"])
        case "MOTD": motd()
        case "JOIN":
            guard let list = m.parameters.first else { return reply(IRCNumeric.needMoreParams, ["JOIN", "Not enough parameters"]) }
            for channel in list.split(separator: ",").map(String.init) {
                guard let room = Self.room(channel) else {
                    reply(IRCNumeric.noSuchChannel, [channel, "No such channel: names are # and 1 to 64 of a-z 0-9 _ -"])
                    continue
                }
                guard !channels.contains(room) else { continue }
                request("join_room", RoomRequest(room: room), .join(channel))
            }
        case "PART":
            guard let list = m.parameters.first else { return reply(IRCNumeric.needMoreParams, ["PART", "Not enough parameters"]) }
            for channel in list.split(separator: ",").map(String.init) {
                guard let room = Self.room(channel) else {
                    reply(IRCNumeric.noSuchChannel, [channel, "No such channel"])
                    continue
                }
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
            for channel in list.split(separator: ",").map(String.init) {
                guard let room = Self.room(channel) else {
                    reply(IRCNumeric.endOfNames, [channel, "End of /NAMES list"])
                    continue
                }
                request("members", MembersRequest(room: room), .names(channel))
            }
        case "LIST": request("list_rooms", ListRoomsRequest(), .list)
        case "WHOIS":
            // `WHOIS nick` or `WHOIS server nick`: the last parameter is the nick.
            guard let nick = m.parameters.last, !nick.isEmpty else { return reply(IRCNumeric.noNicknameGiven, ["No nickname given"]) }
            request("list_users", ListUsersRequest(limit: 1000), .users(.whois(nick)))
        case "WHOWAS":
            guard let nick = m.parameters.first else { return reply(IRCNumeric.noNicknameGiven, ["No nickname given"]) }
            reply(IRCNumeric.wasNoSuchNick, [nick, "There was no such nickname (no history of nicks is kept: try WHOIS)"])
            reply(IRCNumeric.endOfWhowas, [nick, "End of WHOWAS"])
        case "ISON":
            guard !m.parameters.isEmpty else { return reply(IRCNumeric.needMoreParams, ["ISON", "Not enough parameters"]) }
            let nicks = m.parameters.flatMap { $0.split(separator: " ").map(String.init) }
            request("list_users", ListUsersRequest(limit: 1000), .users(.ison(nicks)))
        case "USERHOST":
            guard !m.parameters.isEmpty else { return reply(IRCNumeric.needMoreParams, ["USERHOST", "Not enough parameters"]) }
            request("list_users", ListUsersRequest(limit: 1000), .users(.userhost(Array(m.parameters.prefix(5)))))
        case "LUSERS": request("list_users", ListUsersRequest(limit: 1000), .users(.lusers))
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
            } else {
                reply(IRCNumeric.endOfWho, [mask, "End of /WHO list"])
            }
        default:
            reply(IRCNumeric.unknownCommand, [m.command, "Unknown command"])
        }
    }

    /// The most messages one `CHATHISTORY` returns (Salon's `history` page).
    static let historyLimit = 200

    /// `CHATHISTORY LATEST|BEFORE|AFTER|AROUND|BETWEEN target ref… limit` (draft/chathistory),
    /// with `msgid=` references (a message id) or `timestamp=` ones (within the latest 200
    /// messages: Salon's history is paged by id), answered in a `chathistory` batch.
    private func chatHistory(_ m: IRCMessage) {
        func fail(_ code: String, _ text: String) {
            write(IRCMessage(source: gateway.serverName, command: "FAIL", parameters: ["CHATHISTORY", code] + Array(m.parameters.prefix(2)) + [text]))
        }
        guard m.parameters.count >= 4 || (m.parameters.first?.uppercased() == "TARGETS") else { return fail("INVALID_PARAMS", "Not enough parameters") }
        let sub = m.parameters[0].uppercased()
        if sub == "TARGETS" { return chatHistoryTargets(m, fail: fail) }
        let target = m.parameters[1]
        let room = Self.room(target)
        let person = target.hasPrefix("#") ? nil : IRCNick.username(for: target)
        guard room != nil || person != nil else { return fail("INVALID_TARGET", "No such channel or nick") }
        guard let limit = Int(m.parameters.last ?? ""), limit > 0 else { return fail("INVALID_PARAMS", "The limit is a positive number") }
        let n = min(limit, Self.historyLimit)
        enum Ref { case none, id(Int64), time(Timestamp) }
        func ref(_ text: String) -> Ref? {
            if text == "*" { return Ref.none }
            if text.hasPrefix("msgid="), let id = Int64(text.dropFirst(6)) { return .id(id) }
            if text.hasPrefix("timestamp="), let time = Timestamp(iso8601: String(text.dropFirst(10))) { return .time(time) }
            return nil
        }
        guard let first = ref(m.parameters[2]) else { return fail("INVALID_PARAMS", "A reference is *, msgid=ID or timestamp=ISO-8601") }
        var filter = HistoryFilter(limit: n)
        var request = HistoryRequest(room: room, with: person, limit: n)
        switch (sub, first) {
        case ("LATEST", .none): break
        case ("LATEST", .id(let id)): filter.afterID = id
        case ("LATEST", .time(let t)): filter.afterTime = t; request.limit = Self.historyLimit
        case ("BEFORE", .id(let id)): request.before = id
        case ("BEFORE", .time(let t)): filter.beforeTime = t; request.limit = Self.historyLimit
        case ("AFTER", .id(let id)): request.after = id
        case ("AFTER", .time(let t)): filter.afterTime = t; request.limit = Self.historyLimit
        case ("AROUND", .id(let id)):
            // Ids are not consecutive in a room: the half before it and it, then what follows.
            request.before = id + 1
            request.limit = max(1, n / 2 + 1)
            filter.around = id
        case ("AROUND", .time(let t)): filter.afterTime = Timestamp(milliseconds: t.milliseconds - 1); request.limit = Self.historyLimit
        case ("BETWEEN", _):
            guard m.parameters.count >= 5, let second = ref(m.parameters[3]) else { return fail("INVALID_PARAMS", "BETWEEN takes two references") }
            switch (first, second) {
            case (.id(let a), .id(let b)):
                request.after = min(a, b)
                filter.beforeID = max(a, b)
            case (.time(let a), .time(let b)):
                filter.afterTime = min(a, b)
                filter.beforeTime = max(a, b)
                request.limit = Self.historyLimit
            default: return fail("INVALID_PARAMS", "BETWEEN takes two references of one kind")
            }
        default: return fail("INVALID_PARAMS", "Unknown subcommand or reference for it")
        }
        self.request("history", request, .history(target: target, keep: filter))
    }

    // MARK: CHATHISTORY TARGETS

    /// A `CHATHISTORY TARGETS` under way: the latest message of each joined channel and
    /// private conversation is asked for; the answer lists those between the two times.
    private struct TargetsQuery {
        var outstanding: Int
        let after: Timestamp
        let before: Timestamp
        let limit: Int
        var found: [(target: String, time: Timestamp)] = []
    }

    private var targetsQueries: [Int: TargetsQuery] = [:]
    private var nextTargetsQuery = 0
    /// The people this user has private conversations with (their usernames): from the
    /// login, then every private message shown or sent. For `TARGETS`.
    private var conversationPeers: Set<String> = []

    /// `CHATHISTORY TARGETS timestamp=A timestamp=B limit`: the channels and nicks whose
    /// latest message falls between A and B (in either order), oldest first, at most `limit`,
    /// as `CHATHISTORY TARGETS <target> timestamp=T` lines in a `draft/chathistory-targets`
    /// batch.
    private func chatHistoryTargets(_ m: IRCMessage, fail: (String, String) -> Void) {
        func time(_ text: String) -> Timestamp? {
            text.hasPrefix("timestamp=") ? Timestamp(iso8601: String(text.dropFirst(10))) : nil
        }
        guard m.parameters.count >= 4, let a = time(m.parameters[1]), let b = time(m.parameters[2]) else {
            return fail("INVALID_PARAMS", "TARGETS takes two timestamp= references and a limit")
        }
        guard let limit = Int(m.parameters[3]), limit > 0 else { return fail("INVALID_PARAMS", "The limit is a positive number") }
        let targets = channels.sorted().map { "#" + $0 } + conversationPeers.sorted().map(IRCNick.nick(for:))
        nextTargetsQuery += 1
        let id = nextTargetsQuery
        targetsQueries[id] = TargetsQuery(outstanding: targets.count, after: min(a, b), before: max(a, b), limit: min(limit, Self.historyLimit))
        guard !targets.isEmpty else { return targetsAnswer(id).forEach(write) }
        for target in targets {
            let room = Self.room(target)
            request("history", HistoryRequest(room: room, with: room == nil ? IRCNick.username(for: target) : nil, limit: 1), .target(query: id, target: target))
        }
    }

    /// One target's latest message came (or nothing, or an error): the answer once all are in.
    private func targetAnswered(_ id: Int, _ target: String, latest: Message?) -> [IRCMessage] {
        guard var query = targetsQueries[id] else { return [] }
        if let latest, latest.timestamp > query.after, latest.timestamp < query.before {
            query.found.append((target, latest.timestamp))
        }
        query.outstanding -= 1
        targetsQueries[id] = query
        return query.outstanding > 0 ? [] : targetsAnswer(id)
    }

    private func targetsAnswer(_ id: Int) -> [IRCMessage] {
        guard let query = targetsQueries.removeValue(forKey: id) else { return [] }
        let lines = query.found.sorted { $0.time < $1.time }.prefix(query.limit).map { found in
            IRCMessage(source: gateway.serverName, command: "CHATHISTORY", parameters: ["TARGETS", found.target, "timestamp=\(found.time)"])
        }
        return batch("draft/chathistory-targets", [], Array(lines))
    }

    /// Someone this user has a private conversation with (for `TARGETS`).
    private func notePeer(of message: Message) {
        guard message.room == nil else { return }
        let peer = IRCNick.folded(IRCNick.nick(for: message.from)) == IRCNick.folded(me) ? message.to : message.from
        if let peer, conversationPeers.count < 1000 { conversationPeers.insert(peer) }
    }

    /// The pushes `rendered` leaves to each connection: rare, or different for each one.
    private func ownLines(_ push: IRCDecodedPush) -> [IRCMessage] {
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
    private func rendered(_ push: IRCDecodedPush) -> ByteBuffer? {
        switch push.action {
        case "receive_message", "message_updated", "message_deleted", "typing", "presence":
            break
        case "system":
            if push.system?.event == "topic" { topicSetter = push.system?.username }
        default:
            return nil
        }
        let message = push.message
        if let message, message.room == nil { notePeer(of: message) }
        let account = message.map { capabilities.contains(.accountTag) && isAccount($0.from) } ?? false
        // Lines that name the viewer: a private message, a notice with no room.
        let personal = push.action == "receive_message" ? message?.room == nil : push.action != "presence" && push.system?.room == nil
        let key = IRCRenderKey(capabilities: capabilities.rawValue, account: account, nick: personal ? me : nil)
        if let bytes = push.rendered(for: key) { return bytes }
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
    private func quote(for message: Message) -> IRCQuote? {
        guard message.replyTo != nil, !capabilities.contains(.messageTags) else { return nil }
        return cache.seen(message.replyTo)?.quote
    }

    /// Who is an account, as asked of the core once per sender (account-tag).
    private var accounts: [String: Bool] = [:]

    private func isAccount(_ username: String) -> Bool {
        if let known = accounts[username] { return known }
        let answer = router.isAccount(username) ?? false
        if accounts.count > 1000 { accounts = [:] }
        accounts[username] = answer
        return answer
    }

    /// `account=NAME` on a message's lines when its sender is an account (account-tag).
    private func tagAccount(_ lines: [IRCMessage], of username: String) -> [IRCMessage] {
        guard capabilities.contains(.accountTag), isAccount(username) else { return lines }
        return lines.map { line in
            var line = line
            line.tags.append(IRCTag("account", username))
            return line
        }
    }

    /// A `CHATHISTORY` answer: the messages the filter keeps (the newest `limit` of them),
    /// oldest first, in a batch.
    private func historyLines(_ target: String, _ filter: HistoryFilter, _ messages: [Message]) -> [IRCMessage] {
        let kept = messages.filter(filter.keeps)
        let chosen = kept.count > filter.limit ? Array(kept.suffix(filter.limit)) : kept
        for message in chosen { cache.remember(message) }
        return batch("chathistory", [target], chosen.flatMap { tagAccount(gateway.renderer.lines(for: $0, viewer: viewer, quote: quote(for: $0)), of: $0.from) })
    }

    private var nextBatch = 0

    /// `lines` in a batch of `type` when the client takes batches (else as they are).
    private func batch(_ type: String, _ parameters: [String], _ lines: [IRCMessage], startTags: [IRCTag] = []) -> [IRCMessage] {
        guard flags.contains("batch") else { return lines }
        nextBatch += 1
        let id = "b\(nextBatch)"
        let inside = lines.map { line -> IRCMessage in
            var line = line
            line.tags.insert(IRCTag("batch", id), at: 0)
            return line
        }
        return [IRCMessage(tags: startTags, source: gateway.serverName, command: "BATCH", parameters: ["+\(id)", type] + parameters)]
            + inside + [IRCMessage(source: gateway.serverName, command: "BATCH", parameters: ["-\(id)"])]
    }

    /// `OPER NAME PASSWORD`: an admin account says so with its own credentials (checked as a
    /// login would, by a call of its own whose token is revoked at once); the session's rights
    /// are the account's either way, so this changes what the client shows, not what it may do.
    private func oper(_ m: IRCMessage) {
        guard m.parameters.count >= 2 else { return reply(IRCNumeric.needMoreParams, ["OPER", "Not enough parameters"]) }
        let (name, secret) = (m.parameters[0], m.parameters[1])
        guard let username = IRCNick.username(for: me), username.lowercased() == name.lowercased() || IRCNick.username(for: name)?.lowercased() == username.lowercased() else {
            return reply(IRCNumeric.noOperHost, ["OPER is for your own account: log in as \(name) first"])
        }
        let (router, address) = (self.router, sink?.channel.remoteAddress?.ipAddress)
        let bound = NIOLoopBound(self, eventLoop: loop)
        let loop = self.loop
        let body = (try? JSONEncoder().encode(LoginRequest(username: username, password: secret))).map { ByteBuffer(bytes: $0) }
        Task {
            let answer = await router.call("login", data: body, token: nil, address: address)
            let auth = try? JSONDecoder().decode(Reply<AuthResult>.self, from: Data(answer.json.readableBytesView)).data
            if let token = auth?.token { _ = await router.call("logout", data: nil, token: token, address: address) }
            let role = auth?.user.role
            loop.execute {
                let client = bound.value
                guard let role else { return client.reply(IRCNumeric.passwordMismatch, ["Password incorrect"]) }
                guard role == .admin else { return client.reply(IRCNumeric.noOperHost, ["No O-lines for your host: \(username) is not a Salon admin"]) }
                client.reply(IRCNumeric.youreOper, ["You are now an IRC operator (a Salon admin)"])
                client.write(IRCMessage(source: client.me, command: "MODE", parameters: [client.me, "+o"]))
            }
        }
    }

    /// `TAGMSG` (message-tags): `+typing=active` is Salon's typing notice, `+draft/react`
    /// (or `+draft/unreact`) with `+draft/reply=ID` a reaction to that message. Other tags
    /// are dropped, as servers drop client tags they do not relay.
    private func tagMessage(_ m: IRCMessage) {
        guard let target = m.parameters.first else { return reply(IRCNumeric.needMoreParams, ["TAGMSG", "Not enough parameters"]) }
        let room = Self.room(target)
        let person = target.hasPrefix("#") ? nil : IRCNick.username(for: target)
        guard room != nil || person != nil else { return }
        if m.tag("+typing") == "active" {
            request("typing", TypingRequest(room: room, to: person), .ignore)
        }
        if let id = m.tag("+draft/reply").flatMap({ Int64($0) }) {
            if let emoji = m.tag("+draft/react"), !emoji.isEmpty {
                request("react", ReactRequest(id: id, emoji: emoji), .ignore)
            } else if let emoji = m.tag("+draft/unreact"), !emoji.isEmpty {
                request("react", ReactRequest(id: id, emoji: emoji, remove: true), .ignore)
            }
        }
    }

    /// `MODE`: a channel's modes as they are (`+nt`, `+i` for a private room), its ban list,
    /// the user's own modes; changes (`changeModes`).
    private func mode(_ m: IRCMessage) {
        guard let target = m.parameters.first else { return reply(IRCNumeric.needMoreParams, ["MODE", "Not enough parameters"]) }
        if target.hasPrefix("#") {
            guard let room = Self.room(target) else { return reply(IRCNumeric.noSuchChannel, [target, "No such channel"]) }
            if m.parameters.count == 1 {
                let modes = "+nt" + (rooms[room]?.private == true ? "i" : "")
                return reply(IRCNumeric.channelModeIs, [target, modes])
            }
            if m.parameters.count == 2, ["b", "+b"].contains(m.parameters[1]) { return banList(target, room: room) }
            return changeModes(channel: target, room: room, m.parameters[1], arguments: Array(m.parameters.dropFirst(2)))
        }
        guard IRCNick.folded(target) == IRCNick.folded(me) else {
            return reply(IRCNumeric.usersDontMatch, ["Can't change mode for other users"])
        }
        reply(IRCNumeric.userModeIs, ["+"])
    }

    /// The room's bans that hold now as `367` lines (`nick!*@*`, who set it, when), then
    /// `368`; empty for a channel the user is not in.
    private func banList(_ channel: String, room: String) {
        let bans = channels.contains(room) ? router.roomBans(room) ?? [] : []
        for ban in bans {
            let mask = IRCNick.nick(for: ban.user.username) + "!*@*"
            reply(IRCNumeric.banList, [channel, mask, ban.by.map(IRCNick.nick(for:)) ?? gateway.serverName, String(ban.createdAt.milliseconds / 1000)])
        }
        reply(IRCNumeric.endOfBanList, [channel, "End of channel ban list"])
    }

    /// Channel mode changes, each the moderation action it stands for: `+b`/`-b MASK` a room
    /// ban (the nick before any `!`), `+m`/`-m NICK` a mute, `+o`/`-o NICK` the moderator
    /// role. A room's privacy is set when it is made (`+i`/`-i`: refused), and Salon has no
    /// voice (`+v`).
    private func changeModes(channel: String, room: String, _ modes: String, arguments: [String]) {
        var adding = true
        var rest = arguments[...]
        for letter in modes {
            switch letter {
            case "+": adding = true
            case "-": adding = false
            case "b", "m", "o":
                guard let argument = rest.popFirst() else {
                    if letter == "b" { banList(channel, room: room) } else {
                        reply(IRCNumeric.needMoreParams, ["MODE", "+\(letter) needs a nick"])
                    }
                    continue
                }
                let nick = String(argument.split(separator: "!", maxSplits: 1).first ?? "")
                guard let username = IRCNick.username(for: nick) else {
                    reply(IRCNumeric.noSuchNick, [nick, "No such nick"])
                    continue
                }
                let change = (adding ? "+" : "-") + String(letter)
                let done = Pending.mode(channel: channel, change: change, argument: argument)
                switch (letter, adding) {
                case ("b", true): request("ban", BanRequest(username: username, room: room), done)
                case ("b", false): request("unban", BanRequest(username: username, room: room), done)
                case ("m", true): request("mute", MuteRequest(room: room, username: username), done)
                case ("m", false): request("unmute", MuteRequest(room: room, username: username), done)
                default: request("set_room_role", SetRoomRoleRequest(room: room, username: username, role: adding ? "moderator" : "member"), done)
                }
            case "i":
                reply(IRCNumeric.unknownMode, ["i", "is set when a room is made (private rooms are +i), not changed"])
            default:
                reply(IRCNumeric.unknownMode, [String(letter), "is unknown mode char to me"])
            }
        }
    }

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

    private func pong(_ m: IRCMessage) {
        guard let token = m.parameters.last else { return reply(IRCNumeric.needMoreParams, ["PING", "Not enough parameters"]) }
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

    private func quit() {
        write(IRCMessage(command: "ERROR", parameters: ["Closing link: \(me) (quit)"]))
        closing = .logout
    }

    // MARK: Requests out

    private func request(_ action: String, _ data: some Encodable, _ then: Pending) {
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

    // MARK: Frames in (replies and pushes) → lines

    private struct Head: Decodable {
        let action: String
        let replyTo: String?
        enum CodingKeys: String, CodingKey {
            case action
            case replyTo = "reply_to"
        }
    }

    private struct Reply<T: Decodable>: Decodable { let data: T }

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
    private enum ReplyBody {
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
    private func answer(_ id: String, _ what: Pending, error: Bool, _ body: ReplyBody) -> [IRCMessage] {
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

    private func answered(_ what: Pending, _ body: ReplyBody) -> [IRCMessage] {
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
        case .list:
            guard let list = body.result(RoomsResult.self)?.rooms else { return [] }
            return [numeric(IRCNumeric.listStart, ["Channel", "Users  Name"])]
                + list.map { numeric(IRCNumeric.list, ["#" + $0.name, String($0.members), $0.topic]) }
                + [numeric(IRCNumeric.listEnd, ["End of /LIST"])]
        case .users(let query):
            guard let users = body.result(UsersResult.self)?.users else { return [] }
            return userLines(query, users)
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
    private func joined(_ room: RoomInfo, channel: String) -> [IRCMessage] {
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
    private func nextMembersPage(_ page: MembersResult, channel: String, then what: Pending) -> Bool {
        guard page.hasMore == true, let last = page.members.last?.username, let room = Self.room(channel) else { return false }
        request("members", MembersRequest(room: room, after: last), what)
        return true
    }

    /// `353` lines of at most about 400 bytes of names, then `366` after the last page.
    private func names(_ channel: String, _ members: [MemberInfo], last: Bool = true) -> [IRCMessage] {
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

    private func refused(_ what: Pending, _ json: Data) -> [IRCMessage] {
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
        case .list, .users:
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
    private func target(of id: Int64) -> String? {
        guard let message = cache.seen(id) else { return nil }
        if let room = message.room { return "#" + room }
        let from = IRCNick.nick(for: message.quote.from)
        return IRCNick.folded(from) == IRCNick.folded(me) ? message.to.map(IRCNick.nick(for:)) : from
    }

    /// A reaction: a `TAGMSG` with `+draft/react` (or `+draft/unreact`) for clients that take
    /// tags, else a line saying it; nothing for a message this connection has not shown.
    private func reaction(_ push: ReactionPush) -> [IRCMessage] {
        guard let target = self.target(of: push.id) else { return [] }
        let source = gateway.renderer.mask(push.username)
        if capabilities.contains(.messageTags) {
            let tags = [IRCTag(push.added ? "+draft/react" : "+draft/unreact", push.emoji), IRCTag("+draft/reply", String(push.id))]
            return [IRCMessage(tags: tags, source: source, command: "TAGMSG", parameters: [target])]
        }
        guard push.added else { return [] }
        return [IRCMessage(source: source, command: "NOTICE", parameters: [target, "* reacted \(push.emoji) to message \(push.id)"])]
    }

    /// Who set the topic, from the `system` push that comes before its `room_updated`.
    private var topicSetter: String?

    /// A room's new state: a new topic is a `TOPIC` from whoever set it.
    private func roomUpdated(_ json: Data) -> [IRCMessage] {
        guard let push = try? JSONDecoder().decode(Reply<RoomUpdatedPush>.self, from: json).data, push.removed != true else { return [] }
        let room = push.room
        defer { topicSetter = nil }
        guard let known = rooms[room.name] else { return [] }
        rooms[room.name] = room
        guard known.topic != room.topic else { return [] }
        let source = topicSetter.map(gateway.renderer.mask) ?? gateway.serverName
        return [IRCMessage(source: source, command: "TOPIC", parameters: ["#" + room.name, room.topic])]
    }

    /// WHOIS, ISON, USERHOST and LUSERS from the list of users.
    private func userLines(_ query: UserQuery, _ users: [MemberInfo]) -> [IRCMessage] {
        let server = gateway.serverName
        func find(_ nick: String) -> MemberInfo? {
            guard let username = IRCNick.username(for: nick) else { return nil }
            return users.first { $0.username.lowercased() == username.lowercased() }
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
            let online = users.filter(\.online).count
            return [
                numeric(IRCNumeric.luserClient, ["There are \(online) users and 0 invisible on 1 servers"]),
                numeric(IRCNumeric.luserMe, ["I have \(online) clients and 1 servers"]),
            ]
        }
    }

    private var myMask: String { gateway.renderer.mask(IRCNick.username(for: me) ?? me) }

    // MARK: Lines out

    private func welcome() -> [IRCMessage] {
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

    private func motd() {
        for line in motdLines() { write(line) }
    }

    private func motdLines() -> [IRCMessage] {
        [
            numeric(IRCNumeric.motdStart, ["- \(gateway.serverName) Message of the day -"]),
            numeric(IRCNumeric.motd, ["- A Salon server: its rooms are these channels, shared with the web and terminal clients."]),
            numeric(IRCNumeric.endOfMotd, ["End of /MOTD command."]),
        ]
    }

    private func numeric(_ code: String, _ parameters: [String]) -> IRCMessage {
        IRCMessage(source: gateway.serverName, command: code, parameters: [me] + parameters)
    }

    func reply(_ code: String, _ parameters: [String]) {
        write(numeric(code, parameters))
    }

    private func reply(command: String, _ parameters: [String]) {
        write(IRCMessage(source: gateway.serverName, command: command, parameters: parameters))
    }

    private func notice(_ text: String) {
        write(IRCMessage(source: gateway.serverName, command: "NOTICE", parameters: [me, text]))
    }

    /// A line of the gateway's own, queued behind what the connection already has.
    fileprivate func write(_ line: IRCMessage) {
        if let label = currentLabel, labeled[label] != nil {
            labeled[label]?.lines.append(line)
            return
        }
        var buffer = ByteBuffer()
        line.write(into: &buffer)
        sink?.write(bytes: buffer)
    }
}
