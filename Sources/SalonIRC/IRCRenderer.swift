import Foundation
import NIOCore
import SalonProtocol

/// The IRCv3 capabilities that change how an event is written (the others change what the
/// gateway sends, not how a line looks).
public struct IRCCapabilities: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let serverTime = IRCCapabilities(rawValue: 1 << 0)
    public static let messageTags = IRCCapabilities(rawValue: 1 << 1)
    public static let extendedJoin = IRCCapabilities(rawValue: 1 << 2)
    public static let messageRedaction = IRCCapabilities(rawValue: 1 << 3)
    public static let accountTag = IRCCapabilities(rawValue: 1 << 4)
    public static let awayNotify = IRCCapabilities(rawValue: 1 << 5)
}

/// Who a rendering is for: the nick the lines address and the capabilities that shape them.
/// Everyone with the same viewer gets the same lines, so a gateway can render an event once
/// per distinct viewer rather than once per connection.
public struct IRCViewer: Sendable, Hashable {
    public var nick: String
    public var capabilities: IRCCapabilities

    public init(nick: String, capabilities: IRCCapabilities) {
        self.nick = nick
        self.capabilities = capabilities
    }
}

/// The message a reply answers, as a reply's fallback quotes it.
public struct IRCQuote: Sendable, Equatable {
    /// How many characters of its first line are quoted.
    public static let length = 40
    public let from: String
    public let text: String

    public init(from: String, text: String) {
        self.from = from
        self.text = text
    }
}

/// Salon's pushes (PROTOCOL.md §8) as IRC lines (§9). Pure: the push's JSON in, lines out.
/// What needs more than the push (the room of a reaction, the text a reply quotes) is the
/// gateway's to add; this renders what the push itself says.
public struct IRCRenderer: Sendable {
    /// The server's name: the source of lines no person sent, and the host in masks.
    public let serverName: String

    public init(serverName: String) {
        self.serverName = serverName
    }

    /// `nick!nick@server`, the source of what a person did.
    public func mask(_ username: String) -> String {
        let nick = IRCNick.nick(for: username)
        return "\(nick)!\(nick)@\(serverName)"
    }

    /// The lines of one push (its whole JSON envelope) for `viewer`; none for a push IRC has
    /// no line for (presence, read markers, room updates) or that does not parse.
    public func lines(forPush json: ByteBuffer, viewer: IRCViewer) -> [IRCMessage] {
        let bytes = Data(json.readableBytesView)
        let decoder = JSONDecoder()
        guard let head = try? decoder.decode(ActionOnly.self, from: bytes) else { return [] }
        switch head.action {
        case "receive_message":
            guard let push = try? decoder.decode(Envelope<ReceiveMessagePush>.self, from: bytes) else { return [] }
            return message(push.data.message, seq: push.data.seq, viewer: viewer)
        case "message_updated":
            guard let push = try? decoder.decode(Envelope<ReceiveMessagePush>.self, from: bytes) else { return [] }
            return edited(push.data.message, viewer: viewer)
        case "message_deleted":
            guard let push = try? decoder.decode(Envelope<MessageDeletedPush>.self, from: bytes) else { return [] }
            return deleted(push.data, viewer: viewer)
        case "typing":
            guard let push = try? decoder.decode(Envelope<TypingPush>.self, from: bytes) else { return [] }
            return typing(push.data, viewer: viewer)
        case "system":
            guard let push = try? decoder.decode(Envelope<SystemPush>.self, from: bytes) else { return [] }
            return system(push.data, viewer: viewer)
        case "presence":
            // Salon has presence, not away messages: someone not connected is away.
            guard viewer.capabilities.contains(.awayNotify),
                let push = try? decoder.decode(Envelope<PresencePush>.self, from: bytes) else { return [] }
            return [IRCMessage(source: mask(push.data.username), command: "AWAY", parameters: push.data.online ? [] : ["not connected"])]
        case "kicked", "banned":
            guard let push = try? decoder.decode(Envelope<RemovedPush>.self, from: bytes) else { return [] }
            return removed(push.data, banned: head.action == "banned", viewer: viewer)
        default:
            return []
        }
    }

    // MARK: Messages

    /// A message as `viewer` sees it (the echo of its own, with `echo-message`).
    /// `quote`: the message it replies to, when the gateway still has it, for viewers
    /// without message-tags (they see a short quote before the text instead of the tag).
    public func lines(for message: Message, viewer: IRCViewer, quote: IRCQuote? = nil) -> [IRCMessage] {
        self.message(message, seq: nil, viewer: viewer, quote: quote)
    }

    /// Where a message goes in IRC: its channel, or for a private one the other person (the
    /// viewer's own messages, sent from another client, are shown as sent to the peer).
    private func target(room: String?, from: String, to: String?, viewer: IRCViewer) -> String {
        if let room { return "#" + room }
        let me = IRCNick.folded(viewer.nick)
        if IRCNick.folded(IRCNick.nick(for: from)) == me, let to { return IRCNick.nick(for: to) }
        return viewer.nick
    }

    /// A message: a `PRIVMSG` per line (split to fit 512 bytes with its prefix), its files as
    /// lines of their own, with `time`, `msgid` and `+draft/reply` for clients that take tags.
    func message(_ m: Message, seq: Int64?, viewer: IRCViewer, quote: IRCQuote? = nil) -> [IRCMessage] {
        let source = mask(m.from)
        let target = target(room: m.room, from: m.from, to: m.to, viewer: viewer)
        var tags: [IRCTag] = []
        if viewer.capabilities.contains(.serverTime) { tags.append(IRCTag("time", m.timestamp.description)) }
        if viewer.capabilities.contains(.messageTags) {
            tags.append(IRCTag("msgid", String(m.id)))
            if let reply = m.replyTo { tags.append(IRCTag("+draft/reply", String(reply))) }
        }
        var text = m.text
        if m.replyTo != nil, !viewer.capabilities.contains(.messageTags) { text = Self.replyPrefix(quote) + text }
        var texts = m.deleted == true ? ["(deleted)"] : IRCText.lines(text, maxBytes: budget(source: source, command: "PRIVMSG", target: target))
        for file in m.attachments ?? [] {
            texts.append("📎 \(file.name) (\(Self.size(file.size))) \(file.url)")
        }
        return texts.map { IRCMessage(tags: tags, source: source, command: "PRIVMSG", parameters: [target, $0]) }
    }

    /// A reply's fallback for clients without tags: `(re ana: "the first words…") `, or
    /// `(re an earlier message) ` when the message replied to is not at hand.
    static func replyPrefix(_ quote: IRCQuote?) -> String {
        guard let quote else { return "(re an earlier message) " }
        let firstLine = quote.text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let excerpt = firstLine.count > IRCQuote.length || firstLine.count < quote.text.count
            ? String(firstLine.prefix(IRCQuote.length)) + "…" : firstLine
        return "(re \(IRCNick.nick(for: quote.from)): \"\(excerpt)\") "
    }

    /// An edit: the new text as a `NOTICE` marked as a correction (IRC has no edit).
    func edited(_ m: Message, viewer: IRCViewer) -> [IRCMessage] {
        let source = mask(m.from)
        let target = target(room: m.room, from: m.from, to: m.to, viewer: viewer)
        var tags: [IRCTag] = []
        if viewer.capabilities.contains(.serverTime), let edited = m.edited { tags.append(IRCTag("time", edited.description)) }
        if viewer.capabilities.contains(.messageTags) { tags.append(IRCTag("+draft/reply", String(m.id))) }
        let prefix = "* correction: "
        let lines = IRCText.lines(m.text, maxBytes: budget(source: source, command: "NOTICE", target: target) - prefix.utf8.count)
        return lines.enumerated().map { i, line in
            IRCMessage(tags: tags, source: source, command: "NOTICE", parameters: [target, (i == 0 ? prefix : "  ") + line])
        }
    }

    /// A deletion: `REDACT` for clients with `draft/message-redaction`, else a notice.
    func deleted(_ push: MessageDeletedPush, viewer: IRCViewer) -> [IRCMessage] {
        let target = push.room.map { "#" + $0 } ?? push.to.map(IRCNick.nick(for:)) ?? viewer.nick
        if viewer.capabilities.contains(.messageRedaction) {
            return [IRCMessage(source: serverName, command: "REDACT", parameters: [target, String(push.id)])]
        }
        return [IRCMessage(source: serverName, command: "NOTICE", parameters: [target, "* a message was deleted"])]
    }

    /// Typing: a `TAGMSG` with `+typing=active` for clients that take tags; nothing else.
    func typing(_ push: TypingPush, viewer: IRCViewer) -> [IRCMessage] {
        guard viewer.capabilities.contains(.messageTags) else { return [] }
        let target = push.room.map { "#" + $0 } ?? viewer.nick
        return [IRCMessage(tags: [IRCTag("+typing", "active")], source: mask(push.username), command: "TAGMSG", parameters: [target])]
    }

    // MARK: Rooms

    /// Joins and leaves as `JOIN`/`PART` from the person; anything else as a notice from
    /// the server in the room (or to the viewer).
    func system(_ push: SystemPush, viewer: IRCViewer) -> [IRCMessage] {
        let channel = push.room.map { "#" + $0 }
        switch (push.event, channel, push.username) {
        case ("join", let channel?, let user?):
            if viewer.capabilities.contains(.extendedJoin) {
                return [IRCMessage(source: mask(user), command: "JOIN", parameters: [channel, user, user])]
            }
            return [IRCMessage(source: mask(user), command: "JOIN", parameters: [channel])]
        case ("leave", let channel?, let user?):
            return [IRCMessage(source: mask(user), command: "PART", parameters: [channel])]
        case ("kick", let channel?, let user?), ("ban", let channel?, let user?):
            // The moderator is only in the sentence: the server kicks, with the sentence.
            return [IRCMessage(source: serverName, command: "KICK", parameters: [channel, IRCNick.nick(for: user), push.text])]
        case ("role", let channel?, let user?) where push.role != nil:
            let sign = push.role == .moderator ? "+o" : "-o"
            return [IRCMessage(source: serverName, command: "MODE", parameters: [channel, sign, IRCNick.nick(for: user)])]
        case ("topic", _?, _):
            // The gateway says the new topic from the `room_updated` push that follows.
            return []
        default:
            let target = channel ?? viewer.nick
            return IRCText.lines(push.text, maxBytes: budget(source: serverName, command: "NOTICE", target: target)).map {
                IRCMessage(source: serverName, command: "NOTICE", parameters: [target, $0])
            }
        }
    }

    /// The viewer removed from a room: a `KICK` of the viewer by the moderator, so that the
    /// client leaves the channel; a server ban is the server's notice (the connection closes).
    func removed(_ push: RemovedPush, banned: Bool, viewer: IRCViewer) -> [IRCMessage] {
        let reason = [banned ? "banned" : nil, push.reason].compactMap { $0 }.joined(separator: ": ")
        guard let room = push.room else {
            return [IRCMessage(source: serverName, command: "NOTICE", parameters: [viewer.nick, "you are banned from the server" + (push.reason.map { ": " + $0 } ?? "")])]
        }
        return [IRCMessage(source: mask(push.by), command: "KICK", parameters: ["#" + room, viewer.nick, reason.isEmpty ? IRCNick.nick(for: push.by) : reason])]
    }

    // MARK: Helpers

    /// The bytes left for the text of `:source COMMAND target :text` within 512 with CR LF.
    func budget(source: String, command: String, target: String) -> Int {
        IRCMessage.maxLine - 2 - (1 + source.utf8.count + 1 + command.utf8.count + 1 + target.utf8.count + 2)
    }

    static func size(_ bytes: Int64) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        if bytes < 1024 * 1024 { return "\(bytes / 1024) KiB" }
        return String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }

    private struct ActionOnly: Decodable { let action: String }
    private struct Envelope<T: Decodable>: Decodable { let data: T }
}
