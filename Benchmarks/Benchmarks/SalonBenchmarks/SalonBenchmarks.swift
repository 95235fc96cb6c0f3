import Benchmark
import Foundation
import Logging
import NIOCore
import SalonCore
import SalonProtocol
import SalonStore
import Synchronization

/// A registry like the core's, to decode requests as the server does.
enum Registry: PayloadRegistry {
    typealias Payload = SendMessageRequest
    static func decodePayload(action: String, from decoder: (any Decoder)?) throws -> SendMessageRequest? {
        action == "send_message" ? try PayloadDecoding.decode(SendMessageRequest.self, from: decoder) : nil
    }
}

/// Counts what it is sent; stands in for a connection.
final class CountingSink: ConnectionSink {
    func send(_ frame: EncodedFrame) {}
    func close(_ reason: CloseReason) {}
    var lane: (any DeliveryLane)? { nil }
}

/// The sender's sink: lets the benchmark wait for the reply that comes after the commit.
final class ReplySink: ConnectionSink {
    private let state = Mutex<(count: Int, waiter: (target: Int, continuation: CheckedContinuation<Void, Never>)?)>((0, nil))
    var lane: (any DeliveryLane)? { nil }
    func close(_ reason: CloseReason) {}

    func send(_ frame: EncodedFrame) {
        let ready = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.count += 1
            guard let waiter = s.waiter, s.count >= waiter.target else { return nil }
            s.waiter = nil
            return waiter.continuation
        }
        ready?.resume()
    }

    var count: Int { state.withLock { $0.count } }

    /// Waits until `target` frames have come.
    func wait(until target: Int) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { s -> Bool in
                if s.count >= target { return true }
                s.waiter = (target, continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}

let message = Message(id: 123_456, room: "general", to: nil, from: "ana", text: "salut, tout le monde ! On se retrouve à midi ?",
                      timestamp: Timestamp(milliseconds: 1_795_257_000_123), replyTo: nil)
let request = ByteBuffer(string: #"{"action":"send_message","id":"c42","data":{"room":"general","text":"salut, tout le monde ! On se retrouve à midi ?","client_msg_id":"m-1"}}"#)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2))

    Benchmark("decode a send_message request") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(ClientEnvelope<Registry>.decode(request))
        }
    }

    Benchmark("encode a receive_message push (hand-written)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(EnvelopeEncoder.receiveMessage(message))
        }
    }

    Benchmark("encode a receive_message push (JSONEncoder)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(EnvelopeEncoder.push("receive_message", ReceiveMessagePush(message: message)))
        }
    }

    Benchmark("unframe 100 TCP frames") { benchmark in
        let frame = EncodedFrame(json: Array(request.readableBytesView)).framed
        var many = ByteBuffer()
        for _ in 0..<100 { many.writeImmutableBuffer(frame) }
        for _ in benchmark.scaledIterations {
            let processor = NIOSingleStepByteToMessageProcessor(LengthPrefixedFrameDecoder(maxFrameLength: 65_536))
            var count = 0
            try processor.process(buffer: many) { _ in count += 1 }
            blackHole(count)
        }
    }

    Benchmark("store a batch of 100 messages (SQLite, one transaction)", configuration: .init(maxDuration: .seconds(3))) { benchmark in
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salon-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try await SQLiteChatStore.open(path: dir.appendingPathComponent("salon.sqlite").path, logger: Logger(label: "bench"))
        try await store.migrate()
        var next: Int64 = 1
        for _ in benchmark.scaledIterations {
            let batch = (0..<100).map { i in
                StoredMessage(id: next + Int64(i), conversation: "#general", room: "general", sender: "ana", senderKey: "ana", recipient: nil,
                              text: message.text, createdAt: message.timestamp, replyTo: nil, clientMsgID: nil)
            }
            next += 100
            try await store.insertMessages(batch)
        }
        try await store.close()
    }

    Benchmark("send to a 1,000-member room and wait for the ack (validated, committed, fanned out)", configuration: .init(maxDuration: .seconds(3))) { benchmark in
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salon-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let store = try await SQLiteChatStore.open(path: dir.appendingPathComponent("salon.sqlite").path, logger: logger)
        let router = try await Router.start(store: store, configuration: ChatConfiguration(rateLimit: 0, bcryptCost: 4), logger: logger)
        let running = Task { try await router.run() }
        var sessions: [Session] = []
        for i in 1..<1000 {
            let session = router.open(CountingSink())
            _ = await router.handle(ByteBuffer(string: #"{"action":"login","data":{"username":"member\#(i)"}}"#), from: session)
            sessions.append(session)
        }
        let replies = ReplySink()
        let sender = router.open(replies)
        _ = await router.handle(ByteBuffer(string: #"{"action":"login","data":{"username":"sender"}}"#), from: sender)
        let send = ByteBuffer(string: #"{"action":"send_message","data":{"room":"general","text":"hello, 999 people"}}"#)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let target = replies.count + 1
            _ = await router.handle(send, from: sender)
            await replies.wait(until: target)
        }
        benchmark.stopMeasurement()
        blackHole(sessions)
        router.shutdown()
        try await running.value
    }
}
