import Foundation
import NIOCore
import SalonIRC
import SalonProtocol
import Synchronization

/// A push as every IRC connection of one event loop needs it: decoded once, and its IRC
/// bytes rendered once per kind of viewer (capabilities, and the nick where the lines name
/// it). Fan-out hands the same frame to all the loop's connections in one go, so the first
/// one decodes and renders and the others take the bytes: an event costs one JSON decode per
/// loop, not one per IRC recipient.
final class IRCDecodedPush {
    /// The frame's JSON, kept: it holds the bytes' storage, which is how entries are found.
    let json: ByteBuffer
    let action: String
    let message: Message?
    let system: SystemPush?
    let reaction: ReactionPush?
    /// What each recipient would otherwise work out from the push again (and copy the
    /// message, field by field, to do it): whether the lines are shared by viewers alike
    /// (`IRCClient.rendered`), whether they name the viewer, who sent the message.
    let shared: Bool
    let personal: Bool
    let sender: String?
    /// A private message: the recipient notes the peer (`IRCClient.notePeer`).
    let isPrivateMessage: Bool
    /// A topic change: the recipient notes who set it.
    let isTopic: Bool
    /// The bytes for each kind of viewer rendered so far: a few kinds (most connections of
    /// a loop ask for the same capabilities), so a short list beats hashing a key per recipient.
    private var renderings: [(key: IRCRenderKey, bytes: ByteBuffer)] = []

    func rendered(for key: IRCRenderKey) -> ByteBuffer? {
        for rendering in renderings where rendering.key == key { return rendering.bytes }
        return nil
    }

    func store(_ bytes: ByteBuffer, for key: IRCRenderKey) {
        renderings.append((key, bytes))
    }

    init(json: ByteBuffer, action: String, message: Message?, system: SystemPush?, reaction: ReactionPush?) {
        self.json = json
        self.action = action
        self.message = message
        self.system = system
        self.reaction = reaction
        switch action {
        case "receive_message", "message_updated", "message_deleted", "typing", "presence", "system": shared = true
        default: shared = false
        }
        personal = action == "receive_message" ? message?.room == nil : action != "presence" && system?.room == nil
        sender = message?.from
        isPrivateMessage = message.map { $0.room == nil } ?? false
        isTopic = action == "system" && system?.event == "topic"
    }
}

/// What makes two connections' lines for one push differ.
struct IRCRenderKey: Hashable {
    let capabilities: UInt16
    /// The sender is an account and the viewer asked for account-tag.
    let account: Bool
    /// The viewer's nick, for pushes whose lines name it (private messages, notices to it).
    let nick: String?
}

/// The last pushes decoded on one event loop. Only that loop's connections use it.
final class IRCFrameCache {
    private var entries: [IRCDecodedPush] = []
    static let size = 16

    private static let caches = Mutex<[ObjectIdentifier: IRCFrameCache]>([:])

    /// The cache of `loop` (one per loop, made on first use; looked up once per connection).
    static func of(_ loop: any EventLoop) -> IRCFrameCache {
        let key = ObjectIdentifier(loop as AnyObject)
        return caches.withLock { caches in
            if let cache = caches[key] { return cache }
            let cache = IRCFrameCache()
            caches[key] = cache
            return cache
        }
    }

    private static let replyKey = Array(#""reply_to":""#.utf8)

    /// The decoded push of `frame`, or nil for a reply (one connection's own: not cached) or
    /// what does not decode.
    func push(_ frame: EncodedFrame) -> IRCDecodedPush? {
        let json = frame.json
        let identity = json.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        for entry in entries.reversed() where entry.json.readableBytes == json.readableBytes {
            if entry.json.withUnsafeReadableBytes({ UInt(bitPattern: $0.baseAddress) }) == identity { return entry }
        }
        // A message to a room or a person, the hottest push, comes with the message it was
        // written from: no JSON to decode.
        if let pushed = frame.pushed {
            return remember(IRCDecodedPush(json: json, action: "receive_message", message: pushed.message, system: nil, reaction: nil))
        }
        // A reply's envelope has `"reply_to":"ID"`; a message's own reply_to is a number.
        if json.readableBytesView.firstRange(of: Self.replyKey) != nil { return nil }
        let data = Data(json.readableBytesView)
        let decoder = JSONDecoder()
        guard let head = try? decoder.decode(Head.self, from: data) else { return nil }
        let entry = IRCDecodedPush(
            json: json, action: head.action,
            message: head.action == "receive_message" ? (try? decoder.decode(Body<ReceiveMessagePush>.self, from: data))?.data.message : nil,
            system: head.action == "system" ? (try? decoder.decode(Body<SystemPush>.self, from: data))?.data : nil,
            reaction: head.action == "reaction" ? (try? decoder.decode(Body<ReactionPush>.self, from: data))?.data : nil
        )
        return remember(entry)
    }

    /// Keeps `entry` among the last pushes (and its message among those seen).
    private func remember(_ entry: IRCDecodedPush) -> IRCDecodedPush {
        entries.append(entry)
        if entries.count > Self.size { entries.removeFirst() }
        if let message = entry.message { remember(message) }
        return entry
    }

    // MARK: Messages seen

    /// A message seen on this loop: what a reply to it quotes, and where a reaction to it
    /// goes (a reaction push names only the message).
    struct Seen {
        let quote: IRCQuote
        let room: String?
        let to: String?
    }

    /// The last messages seen on this loop, pushed to or sent by its IRC connections: one
    /// table for all of them, filled once per message (not per recipient).
    private var seen: [Int64: Seen] = [:]
    private var seenOrder: [Int64] = []
    private var seenNext = 0
    static let seenCount = 512

    func remember(_ message: Message) {
        guard message.deleted != true else {
            seen[message.id] = nil
            return
        }
        let entry = Seen(quote: IRCQuote(from: message.from, text: message.text), room: message.room, to: message.to)
        if seen.updateValue(entry, forKey: message.id) != nil { return }
        if seenOrder.count < Self.seenCount {
            seenOrder.append(message.id)
        } else {
            seen[seenOrder[seenNext]] = nil
            seenOrder[seenNext] = message.id
            seenNext = (seenNext + 1) % Self.seenCount
        }
    }

    func seen(_ id: Int64?) -> Seen? {
        id.flatMap { seen[$0] }
    }

    private struct Head: Decodable { let action: String }
    private struct Body<T: Decodable>: Decodable { let data: T }
}
