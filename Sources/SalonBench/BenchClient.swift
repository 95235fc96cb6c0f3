import Histogram
import NIOCore

/// One simulated user on one connection: logs in, joins its room, then sends messages or asks
/// for history when told, and records every delivery's latency from the send time carried in
/// the message text. Replies are recognised by scanning bytes, not by decoding JSON: the
/// generator must cost far less per message than the server it measures.
final class BenchClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Login {
        case guest
        case register(password: String)
        case token(String)
    }

    let shard: Shard
    let index: Int
    /// Which of the servers this client is on (`BenchOptions.servers`): messages carry the
    /// sender's, so that deliveries between nodes are measured apart.
    let node: Int
    let name: String
    let room: String?
    let login: Login
    let padding: String
    /// How many others receive what this client sends (the soak's loss count).
    var recipients = 0
    private var context: ChannelHandlerContext?
    private var started = false
    private var settled = false
    private var closing = false
    private var connectedAt: UInt64 = 0

    /// IRC lines instead of JSON (`--transport irc`): a guest by `NICK`, the room by
    /// `JOIN`, messages by `PRIVMSG`, acknowledged by `labeled-response`'s `ACK`.
    let irc: Bool

    init(shard: Shard, index: Int, node: Int = 0, name: String, room: String?, login: Login, textSize: Int, irc: Bool = false) {
        self.irc = irc
        self.shard = shard
        self.index = index
        self.node = node
        self.name = name
        self.room = room
        self.login = login
        self.padding = String(repeating: "x", count: max(0, textSize - 30))
        self.connectedAt = nowNanos()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        shard.clients.append(self)
        if context.channel.isActive { start() }
    }

    func channelActive(context: ChannelHandlerContext) {
        start()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !closing { shard.disconnects += 1 }
        settle(ok: false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func start() {
        guard !started else { return }
        started = true
        if irc {
            return sendLine("CAP REQ :labeled-response\r\nNICK \(name)\r\nUSER \(name) 0 * :\(name)\r\nCAP END\r\n")
        }
        switch login {
        case .guest: send(#"{"action":"login","id":"L","data":{"username":"\#(name)"}}"#)
        case .register(let password): send(#"{"action":"register","id":"L","data":{"username":"\#(name)","password":"\#(password)"}}"#)
        case .token(let token): send(#"{"action":"login","id":"L","data":{"token":"\#(token)"}}"#)
        }
    }

    private func settle(ok: Bool) {
        guard !settled else { return }
        settled = true
        if ok { shard.login.recordUS(nowNanos() - connectedAt) }
        shard.clientSettled(ok: ok)
    }

    // MARK: Actions

    func sendMessage() {
        guard let room else { return }
        let now = nowNanos()
        shard.sent += 1
        shard.expectedDeliveries += recipients
        if irc { return sendLine("@label=s\(now) PRIVMSG #\(room) :bench \(now) n\(node) \(padding)\r\n") }
        send(#"{"action":"send_message","id":"s\#(now)","data":{"room":"\#(room)","text":"bench \#(now) n\#(node) \#(padding)"}}"#)
    }

    func requestHistory(before: Int64?) {
        guard let room else { return }
        let now = nowNanos()
        let position = before.map { #","before":\#($0)"# } ?? ""
        send(#"{"action":"history","id":"h\#(now)","data":{"room":"\#(room)","limit":50\#(position)}}"#)
    }

    func close() {
        closing = true
        context?.close(promise: nil)
    }

    /// Completes when the connection is closed.
    var closeFuture: EventLoopFuture<Void> {
        context?.channel.closeFuture ?? shard.loop.makeSucceededVoidFuture()
    }

    /// IRC: the bytes as they are (no framing below this handler).
    private func sendLine(_ line: String) {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: line)), promise: nil)
    }

    /// One IRC line from the server: a bench message, the ACK of a sent one, the end of the
    /// room's names (logged in and joined), or an error numeric.
    private func receiveLine(_ bytes: ByteBufferView) {
        if let at = Scan.find(Scan.ircBenchText, in: bytes) {
            if let sentAt = Scan.number(in: bytes, from: at + Scan.ircBenchText.count) {
                shard.delivered += 1
                shard.delivery.recordUS(nowNanos() &- sentAt)
            }
            return
        }
        if let at = Scan.find(Scan.ircAckLabel, in: bytes), at == bytes.startIndex, Scan.find(Scan.ircAck, in: bytes) != nil {
            if let sentAt = Scan.number(in: bytes, from: at + Scan.ircAckLabel.count) {
                shard.acked += 1
                shard.ack.recordUS(nowNanos() &- sentAt)
            }
            return
        }
        let room = "#" + (self.room ?? "general")
        if Scan.find(Array(" 366 \(name) \(room) ".utf8), in: bytes) != nil {
            settle(ok: true)
        } else if Scan.find(Scan.ircWelcomeEnd, in: bytes) != nil, room != "#general" {
            sendLine("JOIN \(room)\r\n")
        } else if Scan.isErrorNumeric(bytes) {
            shard.errors += 1
            if !settled { settle(ok: false) }
        }
    }

    private func send(_ json: String) {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: json)), promise: nil)
    }

    // MARK: Inbound

    /// One message from the server (a slice of what was read, from `FrameSplitter`).
    func receive(_ buffer: ByteBuffer) {
        let bytes = buffer.readableBytesView
        if irc { return receiveLine(bytes) }
        if let at = Scan.find(Scan.benchText, in: bytes), Scan.find(Scan.receiveMessage, in: bytes) != nil {
            let start = at + Scan.benchText.count
            if let sentAt = Scan.number(in: bytes, from: start) {
                let latency = nowNanos() &- sentAt
                shard.delivered += 1
                shard.delivery.recordUS(latency)
                // "bench SENT_AT nNODE …": the sender's node.
                var i = start
                while i < bytes.endIndex, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
                if i + 1 < bytes.endIndex, bytes[i + 1] == UInt8(ascii: "n"), let from = Scan.number(in: bytes, from: i + 2), from != UInt64(node) {
                    shard.crossNodeDelivery.recordUS(latency)
                }
            }
            return
        }
        guard let replyTo = Scan.replyTo(in: bytes), let tag = replyTo.first else { return }
        let isError = Scan.find(Scan.errorAction, in: bytes) != nil
        switch tag {
        case UInt8(ascii: "L"):
            if isError {
                shard.errors += 1
                settle(ok: false)
                return
            }
            if case .register = login, let token = Scan.string(after: Scan.tokenKey, in: bytes) {
                shard.tokens[index] = token
            }
            if let room, room != "general" {
                // Create the room; whoever comes second joins it.
                send(#"{"action":"create_room","id":"C","data":{"name":"\#(room)"}}"#)
            } else {
                settle(ok: true)
            }
        case UInt8(ascii: "C"):
            if isError {
                send(#"{"action":"join_room","id":"J","data":{"room":"\#(room ?? "general")"}}"#)
            } else {
                settle(ok: true)
            }
        case UInt8(ascii: "J"):
            if isError { shard.errors += 1 }
            settle(ok: !isError)
        case UInt8(ascii: "s"):
            if isError {
                shard.errors += 1
            } else if let sentAt = Scan.number(in: replyTo, from: 1) {
                shard.acked += 1
                shard.ack.recordUS(nowNanos() &- sentAt)
            }
        case UInt8(ascii: "h"):
            if isError {
                shard.errors += 1
            } else if let sentAt = Scan.number(in: replyTo, from: 1) {
                shard.historyPages += 1
                shard.history.recordUS(nowNanos() &- sentAt)
            }
            if shard.historyRunning {
                // Closed loop: page further back from the oldest message of this page, or
                // start again from the newest when there is nothing older.
                let oldest = Scan.minID(in: bytes)
                requestHistory(before: (oldest ?? 0) > 1 ? oldest : nil)
            }
        default:
            break
        }
    }
}

extension Histogram<UInt64> {
    mutating func recordUS(_ nanos: UInt64) {
        _ = record(Swift.min(nanos / 1000, 119_000_000))
    }
}

/// Byte scanning for the few things the generator needs from the server's JSON.
enum Scan {
    static let benchText = Array("\"bench ".utf8)
    static let ircBenchText = Array(" :bench ".utf8)
    static let ircAckLabel = Array("@label=s".utf8)
    static let ircAck = Array(" ACK".utf8)
    static let ircWelcomeEnd = Array(" 376 ".utf8)

    /// Whether an IRC line is an error numeric (`[@tags] :server 4xx …`).
    static func isErrorNumeric(_ line: ByteBufferView) -> Bool {
        var words = line.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: true)[...]
        if words.first?.first == UInt8(ascii: "@") { words = words.dropFirst() }
        if words.first?.first == UInt8(ascii: ":") { words = words.dropFirst() }
        guard let code = words.first, code.count == 3, code.first == UInt8(ascii: "4") else { return false }
        return code.allSatisfy { $0 >= 48 && $0 <= 57 }
    }
    static let receiveMessage = Array("\"receive_message\"".utf8)
    static let errorAction = Array("\"action\":\"error\"".utf8)
    static let replyKey = Array("\"reply_to\":\"".utf8)
    static let tokenKey = Array("\"token\":\"".utf8)

    static func find<C: Collection>(_ needle: [UInt8], in haystack: C) -> Int? where C.Element == UInt8, C.Index == Int {
        // A plain scan: needles are short and frames small.
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var i = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    static func number<C: Collection>(in bytes: C, from start: Int) -> UInt64? where C.Element == UInt8, C.Index == Int {
        var value: UInt64 = 0
        var i = start
        var digits = 0
        while i < bytes.endIndex, bytes[i] >= 48, bytes[i] <= 57 {
            value = value &* 10 &+ UInt64(bytes[i] - 48)
            i += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// The bytes of the JSON string value after `key` (up to its closing quote).
    static func bytes<C: Collection>(after key: [UInt8], in bytes: C) -> [UInt8]? where C.Element == UInt8, C.Index == Int {
        guard let at = find(key, in: bytes) else { return nil }
        var i = at + key.count
        var out: [UInt8] = []
        while i < bytes.endIndex, bytes[i] != UInt8(ascii: "\"") {
            out.append(bytes[i])
            i += 1
        }
        return out
    }

    static func string<C: Collection>(after key: [UInt8], in bytes: C) -> String? where C.Element == UInt8, C.Index == Int {
        Self.bytes(after: key, in: bytes).map { String(decoding: $0, as: UTF8.self) }
    }

    static let idKey = Array("\"id\":".utf8)

    /// The smallest `"id":N` in a history reply: its oldest message.
    static func minID<C: Collection>(in bytes: C) -> Int64? where C.Element == UInt8, C.Index == Int {
        var best: Int64?
        var from = bytes.startIndex
        while let at = find(idKey, in: bytes[from...]) {
            if let n = number(in: bytes, from: at + idKey.count) { best = Swift.min(best ?? Int64(n), Int64(n)) }
            from = at + idKey.count
        }
        return best
    }

    static func replyTo<C: Collection>(in bytes: C) -> [UInt8]? where C.Element == UInt8, C.Index == Int {
        Self.bytes(after: replyKey, in: bytes)
    }
}
