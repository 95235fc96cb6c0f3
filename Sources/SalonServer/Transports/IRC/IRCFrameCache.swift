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
    var rendered: [IRCRenderKey: ByteBuffer] = [:]

    init(json: ByteBuffer, action: String, message: Message?, system: SystemPush?, reaction: ReactionPush?) {
        self.json = json
        self.action = action
        self.message = message
        self.system = system
        self.reaction = reaction
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
        entries.append(entry)
        if entries.count > Self.size { entries.removeFirst() }
        if let message = entry.message { remember(message) }
        return entry
    }

    // MARK: Quotes

    /// The last messages seen on this loop, for the quote of a reply to one of them shown to
    /// clients without message-tags (a push names only the id it replies to).
    private var quotes: [Int64: IRCQuote] = [:]
    private var quoteOrder: [Int64] = []
    private var quoteNext = 0
    static let quoteCount = 512

    /// A message pushed to, or sent by, one of this loop's IRC connections.
    func remember(_ message: Message) {
        guard message.deleted != true else {
            quotes[message.id] = nil
            return
        }
        if quotes.updateValue(IRCQuote(from: message.from, text: message.text), forKey: message.id) != nil { return }
        if quoteOrder.count < Self.quoteCount {
            quoteOrder.append(message.id)
        } else {
            quotes[quoteOrder[quoteNext]] = nil
            quoteOrder[quoteNext] = message.id
            quoteNext = (quoteNext + 1) % Self.quoteCount
        }
    }

    func quote(of id: Int64?) -> IRCQuote? {
        id.flatMap { quotes[$0] }
    }

    private struct Head: Decodable { let action: String }
    private struct Body<T: Decodable>: Decodable { let data: T }
}
