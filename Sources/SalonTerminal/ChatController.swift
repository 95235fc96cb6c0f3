import Foundation
import SalonClient
import SalonProtocol

/// `salon chat`: one event loop that owns the input line, the connection and the screen, so
/// nothing here needs a lock. Keys, server pushes and connection changes arrive as events, one
/// at a time; incoming messages are printed above the input line, which is then redrawn
/// beneath them, so typing is never garbled.
public final class ChatController {
    enum Target: Equatable {
        case room(String)
        case direct(String)

        var label: String {
            switch self {
            case .room(let r): return "#" + r
            case .direct(let u): return "@" + u
            }
        }

        var conversationKey: String {
            switch self {
            case .room(let r): return "#" + r
            case .direct(let u): return "@" + u.lowercased()
            }
        }
    }

    enum Event {
        case input([UInt8])
        case inputEnded
        case push(ServerEnvelope, generation: Int)
        case lost(generation: Int)
        case reconnected(SalonClient, AuthResult)
        case gaveUp(String)
        /// Time passed (someone's "typing" may have ended).
        case tick
    }

    static let commands = ["/join", "/create", "/leave", "/rooms", "/who", "/msg", "/query", "/history", "/reply", "/edit", "/delete",
                           "/react", "/unreact", "/search", "/me", "/topic", "/invite", "/kick", "/ban", "/unban", "/mute", "/unmute", "/modlog", "/op", "/deop", "/help", "/quit"]

    private let connector: Connector
    private let style: Style
    private let interactive: Bool
    private let terminal = Terminal()
    private var editor = LineEditor()
    private var keys = KeyDecoder()
    private var lineBuffer: [UInt8] = []
    private var client: SalonClient?
    private var generation = 0
    private var me = ""
    private var current: Target = .room("general")
    private var joined: [String] = []
    private var knownRooms: Set<String> = []
    private var knownUsers: Set<String> = []
    private var lastSeen: [String: Int64] = [:]
    /// The last event processed: what a reconnection catches up from (`sync`).
    private let cursor = EventCursor()
    /// Messages shown, by the number shown beside them (`/reply 3`, `/edit 3`…).
    private var numbered: [Int: Message] = [:]
    private var numberOf: [Int64: Int] = [:]
    private var nextNumber = 1
    /// The id of the last message this user sent (what `/edit` and `/delete` act on by default).
    private var lastOwn: Int64?
    /// Who is typing where, until when.
    private var typists: [String: (target: Target, until: Date)] = [:]
    private var lastTypingSent = Date.distantPast
    /// Who is known to be in each room (lower-cased): a join notice for someone already there
    /// is not news (a guest who reconnects joins again, as the new person it is).
    private var roomPeople: [String: Set<String>] = [:]
    /// Rooms where this user is muted (from login and the `mute` notices): the prompt says so.
    private var muted: [String: Restriction] = [:]
    private var peers: Set<String> = []
    private var outbox: [(target: Target, text: String, id: String)] = []
    private var quitting = false
    private var exitCode: Int32 = 0
    private let events: AsyncStream<Event>
    private let post: AsyncStream<Event>.Continuation
    private let clock = DateFormatter()

    public init(connector: Connector, style: Style, interactive: Bool) {
        self.connector = connector
        self.style = style
        self.interactive = interactive
        (events, post) = AsyncStream.makeStream(of: Event.self)
        clock.dateFormat = "HH:mm"
    }

    /// Runs the chat on an open, logged-in connection until `/quit`, Ctrl-D or end of input.
    public func run(_ connection: (SalonClient, AuthResult), input: AsyncStream<[UInt8]>) async -> Int32 {
        if interactive { terminal.enableRawMode() }
        defer { if interactive { terminal.restore() } }
        let post = self.post
        Task {
            for await bytes in input { post.yield(.input(bytes)) }
            post.yield(.inputEnded)
        }
        await attach(connection.0, connection.1, reconnected: false)
        show(style.dim("Logged in as \(me) on \(connector.server). Type /help for commands."))
        await welcome(connection.1)
        for await event in events {
            await handle(event)
            if quitting { break }
        }
        if interactive { Terminal.write("\r\u{1b}[2K") }
        if let client { await client.close() }
        return exitCode
    }

    // MARK: Events

    private func handle(_ event: Event) async {
        switch event {
        case .input(let bytes):
            if interactive {
                for key in keys.feed(bytes) where !quitting { await handle(key) }
            } else {
                lineBuffer += bytes
                while let newline = lineBuffer.firstIndex(of: 0x0a), !quitting {
                    let line = String(decoding: lineBuffer[..<newline], as: UTF8.self)
                    lineBuffer.removeFirst(newline + 1)
                    await submit(line)
                }
            }
        case .inputEnded:
            if !lineBuffer.isEmpty { await submit(String(decoding: lineBuffer, as: UTF8.self)) }
            quitting = true
        case .push(let envelope, let generation) where generation == self.generation:
            receive(envelope)
        case .lost(let generation) where generation == self.generation:
            client = nil
            show(style.error("! connection lost; reconnecting…"))
            reconnect()
        case .reconnected(let client, let auth):
            await attach(client, auth, reconnected: true)
        case .gaveUp(let why):
            show(style.error("! \(why)"))
            exitCode = 3
            quitting = true
        case .tick:
            let now = Date()
            let before = typists.count
            typists = typists.filter { $0.value.until > now }
            if typists.count != before { redrawInput() }
        default:
            break
        }
    }

    private func handle(_ key: Key) async {
        switch editor.handle(key) {
        case .submit(let line):
            await submit(line)
        case .complete:
            complete()
        case .quit:
            quitting = true
        case .edited:
            redrawInput()
            noteTyping()
        case .redraw, .none:
            redrawInput()
        }
    }

    /// Tells the others that this user is typing, at most every 3 seconds, while the line
    /// holds a message (not a command).
    private func noteTyping() {
        let line = String(editor.text)
        guard let client, !line.isEmpty, !line.hasPrefix("/") || line.hasPrefix("//"),
              Date().timeIntervalSince(lastTypingSent) >= 3 else { return }
        lastTypingSent = Date()
        let request: TypingRequest
        switch current {
        case .room(let r): request = TypingRequest(room: r)
        case .direct(let u): request = TypingRequest(to: u)
        }
        Task { _ = try? await client.requestEnvelope("typing", request) }
    }

    // MARK: Connection

    private func attach(_ client: SalonClient, _ auth: AuthResult, reconnected: Bool) async {
        generation += 1
        let generation = self.generation
        self.client = client
        me = auth.user.username
        knownUsers.insert(me)
        let post = self.post
        Task {
            for await envelope in client.events { post.yield(.push(envelope, generation: generation)) }
            post.yield(.lost(generation: generation))
        }
        let serverRooms = auth.rooms.map(\.name)
        muted = Dictionary(auth.rooms.compactMap { room in room.muted.map { (room.name, $0) } }, uniquingKeysWith: { a, _ in a })
        for room in serverRooms where !joined.contains(room) { joined.append(room) }
        knownRooms.formUnion(serverRooms)
        for conversation in auth.conversations ?? [] { peers.insert(conversation.with) }
        for room in auth.rooms where room.members <= 200 && roomPeople[room.name] == nil {
            await learnMembers(of: room.name)
        }
        let missed = (try? await cursor.resume(client, at: auth.seq)) ?? []
        guard reconnected else { return }
        show(style.dim("— reconnected —"))
        if auth.user.role == .guest {
            // A guest is someone new at each login: its rooms are joined again, and what was
            // missed is asked of each room's and conversation's history.
            for room in joined where !serverRooms.contains(room) {
                let _: JoinResult? = try? await client.request("join_room", RoomRequest(room: room))
            }
            for room in joined { await catchUp(.room(room)) }
            for peer in peers.sorted() { await catchUp(.direct(peer)) }
        } else {
            // Exactly the events missed, everywhere, in order.
            for envelope in missed { receive(envelope, caughtUp: true) }
        }
        let pending = outbox
        outbox = []
        for item in pending { await send(item.text, to: item.target, id: item.id) }
    }

    private func catchUp(_ target: Target) async {
        guard let client, var after = lastSeen[target.conversationKey] else { return }
        for _ in 0..<20 {
            let request: HistoryRequest
            switch target {
            case .room(let r): request = HistoryRequest(room: r, after: after, limit: 200)
            case .direct(let u): request = HistoryRequest(with: u, after: after, limit: 200)
            }
            guard let page: HistoryResult = try? await client.request("history", request) else { return }
            page.messages.forEach(display)
            guard page.hasMore, let last = page.messages.last else { return }
            after = last.id
        }
    }

    /// Tries again with growing pauses (0.5 s to 15 s); only a refused login stops it.
    private func reconnect() {
        let connector = self.connector
        let post = self.post
        Task {
            var delay = 0.5
            while true {
                do {
                    let (client, auth) = try await connector.connect(interactive: false)
                    post.yield(.reconnected(client, auth))
                    return
                } catch {
                    if case .authentication(let why)? = error as? ClientFailure {
                        post.yield(.gaveUp("cannot log in again: \(why)"))
                        return
                    }
                    try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                    delay = min(delay * 2, 15)
                }
            }
        }
    }

    // MARK: Input

    private func submit(_ line: String) async {
        let text = String(line.trimmingWhitespace)
        guard !text.isEmpty else {
            redrawInput()
            return
        }
        if text.hasPrefix("/") && !text.hasPrefix("//") {
            await command(text)
        } else {
            await send(text.hasPrefix("//") ? String(text.dropFirst()) : text, to: current, id: nil)
        }
        redrawInput()
    }

    private func command(_ line: String) async {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
        let name = parts[0].lowercased()
        let arg = parts.count > 1 ? parts[1] : nil
        let rest = parts.count > 2 ? parts[2] : nil
        switch name {
        case "/help":
            help()
        case "/quit", "/exit":
            quitting = true
        case "/upload":
            guard arg != nil else { return usage("/upload PATH [TEXT]") }
            await upload(line.dropFirst(name.count).trimmingCharacters(in: .whitespaces))
        case "/join":
            guard let room = arg else { return usage("/join ROOM") }
            guard let result: JoinResult = await request("join_room", RoomRequest(room: room)) else { return }
            enter(result.room.name)
            show(style.dim("* now in #\(result.room.name)\(result.room.topic.isEmpty ? "" : ": \(result.room.topic)") (\(result.room.members) members, \(result.room.online) online)"))
            result.messages.suffix(10).forEach { display($0, again: true) }
            await learnMembers(of: result.room.name)
        case "/create":
            guard let room = arg else { return usage("/create ROOM [TOPIC]") }
            guard let result: RoomResult = await request("create_room", CreateRoomRequest(name: room, topic: rest)) else { return }
            enter(result.room.name)
            show(style.dim("* created #\(result.room.name)"))
        case "/leave":
            let room = arg ?? { if case .room(let r) = current { return r }; return "" }()
            guard !room.isEmpty else { return usage("/leave ROOM") }
            guard let _: EmptyPayload = await request("leave_room", RoomRequest(room: room)) else { return }
            let name = room.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "#"))
            joined.removeAll { $0 == name }
            if current == .room(name) { current = .room("general") }
            show(style.dim("* left #\(name)"))
        case "/rooms":
            guard let result: RoomsResult = await request("list_rooms", EmptyPayload()) else { return }
            knownRooms.formUnion(result.rooms.map(\.name))
            for room in result.rooms {
                let unread = (room.unread ?? 0) > 0 ? style.highlight(" \(room.unread ?? 0) unread") : ""
                let topic = room.topic.isEmpty ? "" : " — \(VisibleText.of(room.topic))"
                let mark = joined.contains(room.name) ? "*" : " "
                show("\(mark) \(style.room("#" + room.name)) \(room.members) members, \(room.online) online\(unread)\(topic)")
            }
        case "/who":
            let people: [MemberInfo]
            if case .room(let room) = current, arg == nil || arg?.hasPrefix("#") == true || arg != nil {
                let target = arg ?? room
                guard let result: MembersResult = await request("members", RoomRequest(room: target)) else { return }
                people = result.members
            } else {
                guard let result: UsersResult = await request("list_users", ListUsersRequest()) else { return }
                people = result.users
            }
            knownUsers.formUnion(people.map(\.username))
            let list = people.map { "\(style.user($0.username))\($0.online ? "" : style.dim(" (away)"))\($0.role == "member" || $0.role == "user" ? "" : style.dim(" [\($0.role)]"))" }
            show("\(people.count) here: " + list.joined(separator: ", "))
        case "/msg":
            guard let user = arg, let text = rest else { return usage("/msg USER TEXT") }
            await send(text, to: .direct(user), id: nil)
        case "/query":
            guard let user = arg else { return usage("/query USER") }
            current = .direct(user)
            peers.insert(user)
            show(style.dim("* talking privately with \(user) (/join ROOM to go back to a room)"))
        case "/history":
            let count: Int
            if let arg {
                guard let n = Int(arg), n >= 1 else { return usage("/history [N]   (N: how many messages, 1 to 200)") }
                count = min(n, 200)
            } else {
                count = 20
            }
            await history(count)
        case "/reply":
            guard let n = arg, let original = message(numbered: n), let text = rest else { return usage("/reply N TEXT   (N: a message's number on screen)") }
            await send(text, to: Self.target(of: original, me: me), id: nil, replyTo: original.id)
        case "/edit":
            let (message, text) = ownMessage(arg, rest)
            guard let message else { return show(style.error("! nothing to edit: /edit [N] TEXT edits your message N, or your last one")) }
            guard let text, !text.isEmpty else { return usage("/edit [N] TEXT") }
            guard let result: MessageResult = await request("edit_message", EditMessageRequest(id: message.id, text: text)) else { return }
            showUpdate(result.message)
        case "/delete":
            let (message, extra) = ownMessage(arg, rest, textAllowed: false)
            guard extra == nil else { return usage("/delete [N]") }
            guard let message else { return show(style.error("! nothing to delete: /delete [N] deletes message N, or your last one")) }
            guard let _: EmptyPayload = await request("delete_message", MessageIDRequest(id: message.id)) else { return }
            showDeleted(message.id)
        case "/react", "/unreact":
            guard let n = arg, let original = message(numbered: n), let emoji = rest?.trimmingCharacters(in: .whitespaces), !emoji.isEmpty else {
                return usage("\(name) N EMOJI   (N: a message's number on screen)")
            }
            guard let _: EmptyPayload = await request("react", ReactRequest(id: original.id, emoji: emoji, remove: name == "/unreact")) else { return }
            show(style.dim("* you \(name == "/unreact" ? "took back" : "reacted") \(VisibleText.of(emoji)) \(name == "/unreact" ? "from" : "to") \(label(original.id))"))
        case "/search":
            let query = [arg, rest].compactMap { $0 }.joined(separator: " ")
            guard !query.isEmpty else { return usage("/search WORDS   (\"quoted words\" for a phrase)") }
            guard let result: HistoryResult = await request("search", SearchRequest(query: query, limit: 20)) else { return }
            show(style.dim("— search \"\(VisibleText.of(query))\": \(result.messages.isEmpty ? "nothing found" : "\(result.messages.count)\(result.hasMore ? "+" : "") found, newest first") —"))
            result.messages.forEach { display($0, again: true, showPlace: true) }
            if !result.messages.isEmpty { show(style.dim("— end of search —")) }
        case "/me":
            guard arg != nil else { return usage("/me ACTION") }
            await send("/me " + line.dropFirst(4).trimmingCharacters(in: .whitespaces), to: current, id: nil)
        case "/topic":
            guard case .room(let room) = current else { return usage("/topic TEXT (in a room)") }
            let topic = [arg, rest].compactMap { $0 }.joined(separator: " ")
            guard let result: RoomResult = await request("set_topic", SetTopicRequest(room: room, topic: topic)) else { return }
            show(style.dim(result.room.topic.isEmpty ? "* the topic of #\(room) is cleared" : "* the topic of #\(room) is now: \(VisibleText.of(result.room.topic))"))
        case "/kick":
            guard case .room(let room) = current, let who = arg else { return usage("/kick USER [REASON] (in a room)") }
            guard let _: EmptyPayload = await request("kick", KickRequest(room: room, username: who, reason: rest)) else { return }
            roomPeople[room]?.remove(who.lowercased())
            show(style.dim("* \(VisibleText.of(who)) was kicked from #\(room)" + (rest.map { ": \(VisibleText.of($0))" } ?? "")))
        case "/invite":
            guard case .room(let room) = current, let who = arg else { return usage("/invite USER (in a room)") }
            guard let _: EmptyPayload = await request("invite", InviteRequest(room: room, username: who)) else { return }
            show(style.dim("* \(VisibleText.of(who)) is now in #\(room)"))
        case "/ban", "/mute":
            guard case .room(let room) = current, let who = arg else { return usage("\(name) USER [DURATION] [REASON] (in a room; DURATION like 30s, 10m, 2h, 7d)") }
            let (duration, reason) = Self.durationAndReason(rest)
            if name == "/ban" {
                guard let _: EmptyPayload = await request("ban", BanRequest(username: who, room: room, reason: reason, durationSeconds: duration)) else { return }
                roomPeople[room]?.remove(who.lowercased())
            } else {
                guard let _: EmptyPayload = await request("mute", MuteRequest(room: room, username: who, reason: reason, durationSeconds: duration)) else { return }
            }
            let verb = name == "/ban" ? "banned from" : "muted in"
            show(style.dim("* \(VisibleText.of(who)) is \(verb) #\(room)" + (duration.map { " for \(Self.spoken($0))" } ?? "") + (reason.map { ": \(VisibleText.of($0))" } ?? "")))
        case "/unban", "/unmute":
            guard case .room(let room) = current, let who = arg else { return usage("\(name) USER (in a room)") }
            if name == "/unban" {
                guard let _: EmptyPayload = await request("unban", BanRequest(username: who, room: room)) else { return }
            } else {
                guard let _: EmptyPayload = await request("unmute", MuteRequest(room: room, username: who)) else { return }
            }
            show(style.dim("* \(VisibleText.of(who)) is no longer \(name == "/unban" ? "banned from" : "muted in") #\(room)"))
        case "/modlog":
            // In a room: its log (its owner and moderators); `/modlog all`: the server's (admins).
            var room: String?
            if arg?.lowercased() != "all", case .room(let here) = current { room = here }
            guard let result: ModerationLogReply = await request("moderation_log", ModerationLogRequest(room: room, limit: 20)) else { return }
            show(style.dim("— moderation log of \(room.map { "#\($0)" } ?? "the server"), newest first —"))
            for entry in result.entries {
                var line = "\(Self.clock(entry.timestamp)) \(entry.by.map { VisibleText.of($0) } ?? "(time ran out)") \(entry.action) \(VisibleText.of(entry.username))"
                if room == nil, let place = entry.room { line += " in #\(place)" }
                if let role = entry.role { line += " → \(role)" }
                if let seconds = entry.durationSeconds { line += " for \(Self.spoken(seconds))" }
                if let reason = entry.reason { line += ": \(VisibleText.of(reason))" }
                show(style.dim(line))
            }
            show(style.dim(result.entries.isEmpty ? "— nothing yet —" : "— end of the log —"))
        case "/op", "/deop":
            guard case .room(let room) = current, let who = arg else { return usage("\(name) USER (in a room)") }
            let role = name == "/op" ? "moderator" : "member"
            guard let _: EmptyPayload = await request("set_room_role", SetRoomRoleRequest(room: room, username: who, role: role)) else { return }
            show(style.dim("* \(VisibleText.of(who)) is now a \(role) of #\(room)"))
        default:
            show(style.error("! unknown command \(name): /help lists them"))
        }
    }

    /// `10m spamming` → (600, "spamming"); `spamming` → (nil, "spamming").
    static func durationAndReason(_ rest: String?) -> (Int64?, String?) {
        guard let rest else { return (nil, nil) }
        let parts = rest.split(separator: " ", maxSplits: 1).map(String.init)
        guard let first = parts.first, let seconds = seconds(of: first) else { return (nil, rest) }
        return (seconds, parts.count > 1 ? parts[1] : nil)
    }

    /// `90`, `30s`, `10m`, `2h`, `7d`, `2w` in seconds (nil: not a duration).
    static func seconds(of text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        var digits = Substring(text.lowercased())
        var unit: Int64 = 1
        if let last = digits.last, let factor = units[last] {
            unit = factor
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int64(digits), value > 0, value < 1_000_000_000 else { return nil }
        return value * unit
    }

    /// 600 → "10m", 7200 → "2h".
    static func spoken(_ seconds: Int64) -> String {
        for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3600), ("m", 60)] where seconds >= size && seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }

    /// A time as `HH:MM` (UTC) for log lines.
    static func clock(_ t: Timestamp) -> String {
        String(t.iso8601.dropFirst(5).prefix(11)).replacingOccurrences(of: "T", with: " ")
    }

    private func enter(_ room: String) {
        if !joined.contains(room) { joined.append(room) }
        knownRooms.insert(room)
        current = .room(room)
    }

    private func usage(_ text: String) {
        show(style.error("! usage: \(text)"))
    }

    private func help() {
        let lines = [
            "Plain text goes to the current room or person (shown in the prompt).",
            "/join ROOM            join a room and make it current",
            "/create ROOM [TOPIC]  create a room",
            "/leave [ROOM]         leave a room (not #general)",
            "/rooms                list rooms (* = joined)",
            "/who [ROOM]           who is in the room",
            "/msg USER TEXT        send a private message",
            "/query USER           talk privately with USER",
            "/history [N]          show the last N messages here",
            "/reply N TEXT         answer message N (the number shown beside it)",
            "/edit [N] TEXT        change your message N, or your last one",
            "/delete [N]           delete your message N, or your last one",
            "/react N EMOJI        react to message N (/unreact N EMOJI takes it back)",
            "/upload PATH [TEXT]   send a file here (images lose their location and other metadata)",
            "/search WORDS         find messages (\"quoted words\" for a phrase)",
            "/me ACTION            say what you do",
            "/topic TEXT           set the room's topic (room owner, moderators, admins)",
            "/invite USER          add someone to the room (private rooms take an invitation)",
            "/kick USER [REASON]   remove someone from the room (they may come back)",
            "/ban USER [DUR] [WHY] keep someone out of the room (DUR like 30s, 10m, 2h, 7d; none: until /unban)",
            "/mute USER [DUR] [WHY] let someone read but not write here (until /unmute, or DUR)",
            "/unban USER, /unmute USER  lift a ban or a mute",
            "/modlog [all]         the room's moderation log (all: the server's, for admins)",
            "/op USER, /deop USER  make a member a room moderator, or a member again (room owner)",
            "/quit                 leave (also Ctrl-D or Ctrl-C)",
            "Keys: ←/→ Home/End, Ctrl-W deletes a word, ↑/↓ history, Tab completes commands, rooms and names.",
        ]
        lines.forEach { show(style.dim($0)) }
    }

    /// Sends a message now, or keeps it for when the connection is back. Every message carries
    /// a `client_msg_id`, so that a retry after a reconnection is never stored twice.
    private func send(_ text: String, to target: Target, id: String?, replyTo: Int64? = nil) async {
        let id = id ?? "t-" + UUID().uuidString
        guard let client else {
            outbox.append((target, text, id))
            show(style.dim("(offline: will send when reconnected) ") + text)
            return
        }
        let request: SendMessageRequest
        switch target {
        case .room(let r): request = SendMessageRequest(room: r, text: text, replyTo: replyTo, clientMsgID: id)
        case .direct(let u): request = SendMessageRequest(to: u, text: text, replyTo: replyTo, clientMsgID: id)
        }
        do {
            let result: MessageResult = try await client.request("send_message", request)
            display(result.message)
        } catch SalonClientError.server(let e) {
            show(style.error("! \(e.message)"))
        } catch {
            outbox.append((target, text, id))
            show(style.dim("(offline: will send when reconnected) ") + text)
        }
    }

    private func request<R: Decodable>(_ action: String, _ data: some Encodable & Sendable) async -> R? {
        guard let client else {
            show(style.error("! not connected: try again once reconnected"))
            return nil
        }
        do {
            return try await client.request(action, data, as: R.self)
        } catch SalonClientError.server(let e) {
            show(style.error("! \(e.message)"))
        } catch {
            show(style.error("! not connected: try again once reconnected"))
        }
        return nil
    }

    private func complete() {
        let (word, isFirst) = editor.wordAtCursor
        let firstWord = editor.line.split(separator: " ").first.map { String($0).lowercased() } ?? ""
        let candidates: [String]
        if isFirst && word.hasPrefix("/") {
            candidates = Self.commands
        } else if word.hasPrefix("#") {
            candidates = knownRooms.map { "#" + $0 }
        } else if ["/join", "/leave"].contains(firstWord) {
            candidates = Array(knownRooms)
        } else {
            candidates = Array(knownUsers)
        }
        let matches = editor.complete(from: candidates)
        if !matches.isEmpty { show(style.dim(matches.joined(separator: "  "))) }
        redrawInput()
    }

    // MARK: Output

    /// A push, or (`caughtUp`) an event of the catch-up after a reconnection, which the
    /// cursor has already counted.
    private func receive(_ envelope: ServerEnvelope, caughtUp: Bool = false) {
        guard caughtUp || cursor.accept(envelope) else { return }
        switch envelope.action {
        case "receive_message":
            if let push = try? envelope.decode(ReceiveMessagePush.self) {
                if typists.removeValue(forKey: push.message.from.lowercased()) != nil { redrawInput() }
                display(push.message)
            }
        case "message_updated":
            if let push = try? envelope.decode(ReceiveMessagePush.self) { showUpdate(push.message) }
        case "message_deleted":
            if let push = try? envelope.decode(MessageDeletedPush.self) { showDeleted(push.id) }
        case "reaction":
            if let push = try? envelope.decode(ReactionPush.self), numberOf[push.id] != nil {
                let verb = push.added ? "reacted \(VisibleText.of(push.emoji)) to" : "took back \(VisibleText.of(push.emoji)) from"
                show(style.dim("* \(VisibleText.of(push.username)) \(verb) \(label(push.id))"))
            }
        case "typing":
            if let push = try? envelope.decode(TypingPush.self) {
                let target: Target = push.room.map { .room($0) } ?? .direct(push.username)
                typists[push.username.lowercased()] = (target, Date().addingTimeInterval(6))
                redrawInput()
                let post = self.post
                Task {
                    try? await Task.sleep(for: .milliseconds(6_100))
                    post.yield(.tick)
                }
            }
        case "read":
            break
        case "system":
            if let push = try? envelope.decode(SystemPush.self) {
                if let user = push.username { knownUsers.insert(user) }
                if let room = push.room, let user = push.username?.lowercased() {
                    switch push.event {
                    case "join":
                        guard roomPeople[room, default: []].insert(user).inserted else { return }
                    case "leave", "kick", "ban":
                        roomPeople[room]?.remove(user)
                    case "mute" where user == me.lowercased():
                        muted[room] = Restriction(by: nil, reason: push.reason, until: push.until)
                    case "unmute" where user == me.lowercased():
                        muted[room] = nil
                    default:
                        break
                    }
                }
                show(style.dim("* \(VisibleText.of(push.text))"))
            }
        case "presence":
            if let push = try? envelope.decode(PresencePush.self), push.online { knownUsers.insert(push.username) }
        case "room_updated":
            if let push = try? envelope.decode(RoomUpdatedPush.self) {
                knownRooms.insert(push.room.name)
                if push.removed == true { joined.removeAll { $0 == push.room.name } }
                if let by = push.invitedBy, !joined.contains(push.room.name) {
                    joined.append(push.room.name)
                    show(style.dim("* \(VisibleText.of(by)) added you to #\(push.room.name)\(push.room.private ? " (private)" : ""): /join \(push.room.name) to go there"))
                }
            }
        case "kicked", "banned":
            if let push = try? envelope.decode(RemovedPush.self) {
                let place = push.room.map { "#\($0)" } ?? "this server"
                let verb = envelope.action == "kicked" ? "kicked from" : "banned from"
                if let room = push.room {
                    joined.removeAll { $0 == room }
                    if current == .room(room) { current = .room("general") }
                }
                show(style.error("! You were \(verb) \(place) by \(VisibleText.of(push.by))"
                    + (push.until.map { " until \(Self.clock($0)) UTC" } ?? "") + (push.reason.map { ": \(VisibleText.of($0))" } ?? "")))
            }
        case "error":
            if let e = envelope.error { show(style.error("! \(VisibleText.of(e.message))")) }
        default:
            break
        }
    }

    /// One message on one line (or several, for a text that has several): time, where (when
    /// it is not the current room or conversation), who, what. A message already shown is
    /// shown `again` only when asked for (`/history`), never twice by accident (catching up).
    private func display(_ message: Message) {
        display(message, again: false)
    }

    private func display(_ message: Message, again: Bool, showPlace: Bool = false) {
        let target = Self.target(of: message, me: me)
        if case .direct(let peer) = target { peers.insert(peer) }
        let seen = lastSeen[target.conversationKey] ?? 0
        if message.id <= seen && !again { return }
        lastSeen[target.conversationKey] = max(seen, message.id)
        knownUsers.insert(message.from)
        if let room = message.room { roomPeople[room, default: []].insert(message.from.lowercased()) }
        let mine = message.from.lowercased() == me.lowercased()
        if mine && message.deleted != true { lastOwn = max(lastOwn ?? 0, message.id) }
        guard message.deleted != true else {
            show(style.dim("\(label(number(for: message))) (deleted)"))
            return
        }
        let time = style.dim(clock.string(from: Date(timeIntervalSince1970: Double(message.timestamp.milliseconds) / 1000)))
        let tag = style.dim("[\(number(for: message))]")
        let place = target == current && !showPlace ? "" : style.room("[\(target.label)]") + " "
        let reply = message.replyTo.map { style.dim("↪ \(label($0)) ") } ?? ""
        let edited = message.edited == nil ? "" : style.dim(" (edited)")
        let mentioned = !mine && Self.mentions(message.text, me)
        let isPrivateToMe = !mine && message.room == nil
        // Shown visibly, never raw: no message can drive the terminal.
        var text = VisibleText.of(message.text, keepNewlines: true)
        if mentioned { text = style.highlight(text) }
        // A bot's or a webhook's message says so, as the web client's badge does.
        let from = style.user(VisibleText.of(message.from)) + (message.fromBot == true ? style.dim(" [bot]") : "")
        let body = text.hasPrefix("/me ")
            ? "* \(from) \(text.dropFirst(4))"
            : "\(from): \(text)"
        show("\(time) \(tag) \(place)\(reply)\(body)\(edited)")
        for file in message.attachments ?? [] { show("      " + attachmentLine(file)) }
        if interactive && !again && (mentioned || isPrivateToMe) { Terminal.write("\u{7}") }
    }

    /// A file as a line: its name, size (and picture size), and the command that downloads it.
    func attachmentLine(_ file: FileInfo) -> String {
        let size = [Self.byteCount(file.size), file.width.flatMap { w in file.height.map { "\(w)×\($0)" } }].compactMap { $0 }.joined(separator: ", ")
        return "📎 \(VisibleText.of(file.name)) (\(size)) " + style.dim("salon download \(VisibleText.of(file.id))")
    }

    public static func byteCount(_ bytes: Int64) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        var value = Double(bytes) / 1024
        for unit in ["KiB", "MiB"] {
            if value < 1024 { return value < 10 ? String(format: "%.1f %@", value, unit) : "\(Int(value.rounded())) \(unit)" }
            value /= 1024
        }
        return String(format: "%.1f GiB", value)
    }

    /// `/upload PATH [TEXT]`: the longest start of the argument that names a file (a path may
    /// hold spaces), the rest as the message's text; else its first word.
    private func upload(_ argument: String) async {
        let expand = { (p: String) in p.hasPrefix("~/") ? FileManager.default.homeDirectoryForCurrentUser.path + p.dropFirst(1) : p }
        let argument = argument.trimmingCharacters(in: .whitespaces)
        let ends = argument.indices.filter { argument[$0] == " " } + [argument.endIndex]
        let split = ends.reversed().first { FileManager.default.fileExists(atPath: expand(String(argument[..<$0]))) }
            ?? ends.first ?? argument.endIndex
        let path = expand(String(argument[..<split]))
        let text = String(argument[split...]).trimmingCharacters(in: .whitespaces)
        guard let files = connector.files() else { return show(style.error("! uploads need an account (guests cannot upload)")) }
        guard let client else { return show(style.error("! not connected: try again once reconnected")) }
        let name = String(path.split(separator: "/").last ?? "")
        show(style.dim("* uploading \(VisibleText.of(name))…"))
        do {
            let file = try await files.upload(path: path)
            let request: SendMessageRequest
            switch current {
            case .room(let r): request = SendMessageRequest(room: r, text: text, attachments: [file.id], clientMsgID: "t-" + UUID().uuidString)
            case .direct(let u): request = SendMessageRequest(to: u, text: text, attachments: [file.id], clientMsgID: "t-" + UUID().uuidString)
            }
            let result: MessageResult = try await client.request("send_message", request)
            display(result.message)
        } catch SalonClientError.server(let e) {
            show(style.error("! \(e.message)"))
        } catch {
            show(style.error("! the upload failed: \(error)"))
        }
    }

    public static func mentions(_ text: String, _ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        let lower = text.lowercased()
        var search = lower.startIndex..<lower.endIndex
        while let range = lower.range(of: name.lowercased(), range: search) {
            let before = range.lowerBound == lower.startIndex ? nil : lower[lower.index(before: range.lowerBound)]
            let after = range.upperBound == lower.endIndex ? nil : lower[range.upperBound]
            let isBoundary: (Character?) -> Bool = { c in c.map { !($0.isLetter || $0.isNumber || $0 == "_") } ?? true }
            if isBoundary(before) && isBoundary(after) { return true }
            search = range.upperBound..<lower.endIndex
        }
        return false
    }

    /// Where a message belongs: its room, or the private conversation with the other person.
    static func target(of message: Message, me: String) -> Target {
        if let room = message.room { return .room(room) }
        return .direct(message.from.lowercased() == me.lowercased() ? (message.to ?? message.from) : message.from)
    }

    /// The number shown beside a message (given the first time it is shown).
    private func number(for message: Message) -> Int {
        if let n = numberOf[message.id] {
            numbered[n] = message
            return n
        }
        let n = nextNumber
        nextNumber += 1
        numbered[n] = message
        numberOf[message.id] = n
        return n
    }

    /// `[N]` for a message shown here, "a message" otherwise.
    private func label(_ id: Int64) -> String {
        numberOf[id].map { "[\($0)]" } ?? "a message"
    }

    private func label(_ n: Int) -> String { "[\(n)]" }

    private func message(numbered raw: String) -> Message? {
        Int(raw.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))).flatMap { numbered[$0] }
    }

    /// `/edit [N] TEXT`, `/delete [N]`: message N if the first word is a number shown here
    /// (and the message is this user's), else the user's last message; and the rest.
    private func ownMessage(_ arg: String?, _ rest: String?, textAllowed: Bool = true) -> (Message?, String?) {
        if let arg, let chosen = message(numbered: arg) {
            return (chosen.from.lowercased() == me.lowercased() ? chosen : nil, rest)
        }
        let text = [arg, rest].compactMap { $0 }.joined(separator: " ")
        let last = lastOwn.flatMap { id in numberOf[id].flatMap { numbered[$0] } }
        return (last, text.isEmpty ? nil : text)
    }

    /// An edited message, as a line of its own (lines above cannot be rewritten).
    private func showUpdate(_ message: Message) {
        if numberOf[message.id] == nil {
            display(message, again: true)
            return
        }
        let n = number(for: message)
        let text = VisibleText.of(message.text, keepNewlines: true)
        show(style.dim("\(label(n)) edited: ") + "\(style.user(VisibleText.of(message.from))): \(text)")
    }

    private func showDeleted(_ id: Int64) {
        if lastOwn == id { lastOwn = nil }
        guard let n = numberOf[id] else { return }
        if var message = numbered[n] {
            message.deleted = true
            message.text = ""
            numbered[n] = message
        }
        show(style.dim("* \(label(n)) was deleted"))
    }

    /// Who is in a room now (to tell real arrivals from people joining again).
    private func learnMembers(of room: String) async {
        guard let client, let result: MembersResult = try? await client.request("members", MembersRequest(room: room)) else { return }
        roomPeople[room, default: []].formUnion(result.members.map { $0.username.lowercased() })
    }

    /// The last `count` messages of the current room or conversation, marked as history.
    private func history(_ count: Int, quietWhenEmpty: Bool = false) async {
        let request: HistoryRequest
        switch current {
        case .room(let r): request = HistoryRequest(room: r, limit: count)
        case .direct(let u): request = HistoryRequest(with: u, limit: count)
        }
        guard let page: HistoryResult = await self.request("history", request) else { return }
        guard !page.messages.isEmpty else {
            if !quietWhenEmpty { show(style.dim("* no messages yet in \(current.label)")) }
            return
        }
        show(style.dim("— history of \(current.label): the last \(page.messages.count) —"))
        page.messages.forEach { display($0, again: true) }
        show(style.dim("— end of history —"))
    }

    /// At login: what waits (unread counts, private messages included), then the last few
    /// messages here.
    private func welcome(_ auth: AuthResult) async {
        var waiting: [String] = []
        for room in auth.rooms where (room.unread ?? 0) > 0 {
            waiting.append("\(room.unread ?? 0) in #\(room.name)")
        }
        for conversation in auth.conversations ?? [] where conversation.unread > 0 {
            waiting.append("\(conversation.unread) from \(VisibleText.of(conversation.with))")
        }
        if !waiting.isEmpty { show(style.highlight("Unread: " + waiting.joined(separator: ", "))) }
        await history(5, quietWhenEmpty: true)
    }

    /// A line above the input line.
    private func show(_ line: String) {
        if interactive {
            Terminal.write("\r\u{1b}[2K" + line.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
            redrawInput()
        } else {
            Terminal.write(line + "\n")
        }
    }

    private var prompt: String {
        let typing = typists.filter { $0.value.target == current && $0.value.until > Date() }.keys.sorted()
        let status = typing.isEmpty ? "" : "(\(typing.joined(separator: ", ")) \(typing.count == 1 ? "is" : "are") typing…) "
        var mute = ""
        if case .room(let room) = current, let restriction = muted[room], restriction.until.map({ $0 > Timestamp.now() }) ?? true {
            mute = "(muted" + (restriction.until.map { " until \(Self.clock($0))" } ?? "") + ") "
        }
        return (client == nil ? "(offline) " : "") + status + mute + "[\(current.label)]> "
    }

    /// The input line, scrolled sideways so that the cursor is always visible.
    private func redrawInput() {
        guard interactive else { return }
        let plainPrompt = prompt
        let room = max(10, terminal.width - plainPrompt.count - 1)
        let text = editor.text
        let start = max(0, editor.cursor - room + 1)
        let visible = String(text[start..<min(text.count, start + room)])
        let column = plainPrompt.count + editor.cursor - start
        var out = "\r\u{1b}[2K" + style.bold(plainPrompt) + visible + "\r"
        if column > 0 { out += "\u{1b}[\(column)C" }
        Terminal.write(out)
    }
}
