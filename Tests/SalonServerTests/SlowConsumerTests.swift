import Foundation
import NIOCore
import NIOPosix
import SalonClient
import SalonProtocol
import Synchronization
import Testing

/// A client that stops reading is cut off once its queue passes the limit; everyone else
/// keeps receiving everything.
@Suite(.timeLimit(.minutes(2))) struct SlowConsumerTests {
    @Test func aStalledReaderIsDisconnectedWhileOthersReceiveEverything() async throws {
        try await withServer({ $0.outboundQueueLimit = 256 * 1024 }) { server in
            let (watcher, _) = try await server.user("watcher", .webSocket)
            let (talker, _) = try await server.user("talker", .tcp)

            // A raw TCP connection that logs in, then never reads again (small receive buffer).
            let staller = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.autoRead, value: false)
                .channelOption(.socketOption(.so_rcvbuf), value: 4096)
                .connect(host: "127.0.0.1", port: server.tcp).get()
            let login = EncodedFrame(json: Array(#"{"action":"login","data":{"username":"staller"}}"#.utf8))
            try await staller.writeAndFlush(login.framed)
            let online = try #require(await watcher.next {
                $0.action == "presence" && (try? $0.decode(PresencePush.self))?.username == "staller"
            })
            #expect(try online.decode(PresencePush.self).online)

            // The watcher counts messages and notices when the staller is gone.
            let stallerGone = Locked(false)
            let watching = Task { () -> Int in
                var messages = 0
                for await event in watcher.events {
                    if event.action == "receive_message" {
                        messages += 1
                        if (try? event.decode(ReceiveMessagePush.self))?.message.text == "last" { break }
                    }
                    if event.action == "presence", (try? event.decode(PresencePush.self)) == PresencePush(username: "staller", online: false) {
                        stallerGone.withLock { $0 = true }
                    }
                }
                return messages
            }
            let text = String(repeating: "long message ", count: 300)
            var sent = 0
            while !stallerGone.withLock({ $0 }) && sent < 20_000 {
                _ = try await talker.send(text, room: "general")
                sent += 1
            }
            #expect(stallerGone.withLock { $0 }, "the stalled reader was never disconnected")
            // After it is gone, a last message: the watcher must have received every one.
            let last = try await talker.send("last", room: "general")
            sent += 1
            #expect(await watching.value == sent)
            let history: HistoryResult = try await watcher.request("history", HistoryRequest(room: "general", limit: 1))
            #expect(history.messages.last?.id == last.id)
            try? await staller.close()
            await watcher.close()
            await talker.close()
        }
    }
}
