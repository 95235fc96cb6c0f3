import Foundation
import NIOCore
import SalonCore
import SalonIRC
import SalonProtocol

/// `OPER`, `MODE` (queries, bans, mutes, roles) and `TAGMSG`: what moderators and rich clients send.
extension IRCClient {
    /// `OPER NAME PASSWORD`: an admin account says so with its own credentials (checked as a
    /// login would, by a call of its own whose token is revoked at once); the session's rights
    /// are the account's either way, so this changes what the client shows, not what it may do.
    func oper(_ m: IRCMessage) {
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
    func tagMessage(_ m: IRCMessage) {
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
    func mode(_ m: IRCMessage) {
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
    /// `368`; empty for a channel the user is not in, and for anyone who may not read the
    /// room's moderation (`Router.roomBans`).
    func banList(_ channel: String, room: String) {
        let viewer = IRCNick.username(for: me) ?? me
        let bans = channels.contains(room) ? router.roomBans(room, viewer: viewer) ?? [] : []
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
    func changeModes(channel: String, room: String, _ modes: String, arguments: [String]) {
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
}
