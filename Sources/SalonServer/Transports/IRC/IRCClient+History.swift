import Foundation
import NIOCore
import SalonCore
import SalonIRC
import SalonProtocol

/// `CHATHISTORY` (draft/chathistory): pages of a channel's or a conversation's history, and `TARGETS`, in batches.
extension IRCClient {
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

    /// The most messages one `CHATHISTORY` returns (Salon's `history` page).
    static let historyLimit = 200

    /// `CHATHISTORY LATEST|BEFORE|AFTER|AROUND|BETWEEN target ref… limit` (draft/chathistory),
    /// with `msgid=` references (a message id) or `timestamp=` ones (within the latest 200
    /// messages: Salon's history is paged by id), answered in a `chathistory` batch.
    func chatHistory(_ m: IRCMessage) {
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

    /// A `CHATHISTORY TARGETS` under way: the latest message of each joined channel and
    /// private conversation is asked for; the answer lists those between the two times.
    struct TargetsQuery {
        var outstanding: Int
        let after: Timestamp
        let before: Timestamp
        let limit: Int
        var found: [(target: String, time: Timestamp)] = []
    }

    /// `CHATHISTORY TARGETS timestamp=A timestamp=B limit`: the channels and nicks whose
    /// latest message falls between A and B (in either order), oldest first, at most `limit`,
    /// as `CHATHISTORY TARGETS <target> timestamp=T` lines in a `draft/chathistory-targets`
    /// batch.
    func chatHistoryTargets(_ m: IRCMessage, fail: (String, String) -> Void) {
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
    func targetAnswered(_ id: Int, _ target: String, latest: Message?) -> [IRCMessage] {
        guard var query = targetsQueries[id] else { return [] }
        if let latest, latest.timestamp > query.after, latest.timestamp < query.before {
            query.found.append((target, latest.timestamp))
        }
        query.outstanding -= 1
        targetsQueries[id] = query
        return query.outstanding > 0 ? [] : targetsAnswer(id)
    }

    func targetsAnswer(_ id: Int) -> [IRCMessage] {
        guard let query = targetsQueries.removeValue(forKey: id) else { return [] }
        let lines = query.found.sorted { $0.time < $1.time }.prefix(query.limit).map { found in
            IRCMessage(source: gateway.serverName, command: "CHATHISTORY", parameters: ["TARGETS", found.target, "timestamp=\(found.time)"])
        }
        return batch("draft/chathistory-targets", [], Array(lines))
    }

    /// Someone this user has a private conversation with (for `TARGETS`).
    func notePeer(of message: Message) {
        guard message.room == nil else { return }
        let peer = IRCNick.folded(IRCNick.nick(for: message.from)) == IRCNick.folded(me) ? message.to : message.from
        if let peer, conversationPeers.count < 1000 { conversationPeers.insert(peer) }
    }

    /// A `CHATHISTORY` answer: the messages the filter keeps (the newest `limit` of them),
    /// oldest first, in a batch.
    func historyLines(_ target: String, _ filter: HistoryFilter, _ messages: [Message]) -> [IRCMessage] {
        let kept = messages.filter(filter.keeps)
        let chosen = kept.count > filter.limit ? Array(kept.suffix(filter.limit)) : kept
        for message in chosen { cache.remember(message) }
        return batch("chathistory", [target], chosen.flatMap { tagAccount(gateway.renderer.lines(for: $0, viewer: viewer, quote: quote(for: $0)), of: $0.from) })
    }

    /// `lines` in a batch of `type` when the client takes batches (else as they are).
    func batch(_ type: String, _ parameters: [String], _ lines: [IRCMessage], startTags: [IRCTag] = []) -> [IRCMessage] {
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
}
