import Foundation
import NIOCore
import NIOWebSocket
import SalonClient
import SalonProtocol
import Testing

/// Every malformed, unknown, unauthorised or out-of-limit request gets its error code, and the
/// connection stays usable; only `frame_too_large` closes it.
@Suite(.timeLimit(.minutes(1))) struct BadInputTests {
    /// Sends raw JSON and returns the error code of the reply (which must come).
    private func rawError(_ client: SalonClient, _ json: String) async throws -> ErrorCode? {
        try await client.sendRaw(Array(json.utf8))
        let event = try #require(await client.nextReply())
        return event.error?.code
    }

    @Test(arguments: TestServer.Transport.allCases)
    func everyErrorKeepsTheConnectionUsable(_ transport: TestServer.Transport) async throws {
        try await withServer { server in
            let client = try await server.connect(transport)
            // Before login.
            #expect(try await client.errorCode("list_rooms") == .authRequired)
            #expect(try await rawError(client, "not json") == .invalidJSON)
            #expect(try await rawError(client, "[1,2]") == .invalidJSON)
            #expect(try await client.errorCode("dance") == .unknownAction)
            #expect(try await client.errorCode("register", RegisterRequest(username: "no spaces", password: "longenough")) == .invalidUsername)
            #expect(try await client.errorCode("register", RegisterRequest(username: "ana", password: "short")) == .weakPassword)
            #expect(try await client.errorCode("login", LoginRequest(username: "ana", password: "whatever1")) == .authFailed)
            #expect(try await client.errorCode("login", EmptyPayload()) == .missingField)
            let (other, _) = try await server.user("taken", transport)
            #expect(try await client.errorCode("register", RegisterRequest(username: "TAKEN", password: "longenough")) == .usernameTaken)
            #expect(try await client.errorCode("login", LoginRequest(username: "taken")) == .passwordRequired)

            let _: AuthResult = try await client.request("register", RegisterRequest(username: "ana", password: "longenough"))
            #expect(try await client.errorCode("login", LoginRequest(username: "ana", password: "longenough")) == .forbidden)
            #expect(try await client.errorCode("join_room", RoomRequest(room: "nowhere")) == .roomNotFound)
            #expect(try await client.errorCode("join_room", RoomRequest(room: "No Way")) == .invalidRoomName)
            let _: RoomResult = try await other.request("create_room", CreateRoomRequest(name: "theirs"))
            #expect(try await client.errorCode("create_room", CreateRoomRequest(name: "theirs")) == .roomExists)
            #expect(try await client.errorCode("send_message", SendMessageRequest(room: "theirs", text: "hi")) == .notMember)
            #expect(try await client.errorCode("send_message", SendMessageRequest(to: "ghost", text: "hi")) == .userNotFound)
            #expect(try await client.errorCode("send_message", SendMessageRequest(room: "general", text: "hi", replyTo: 424_242)) == .messageNotFound)
            #expect(try await client.errorCode("send_message", SendMessageRequest(room: "general", text: "   ")) == .emptyMessage)
            #expect(try await client.errorCode("send_message", SendMessageRequest(room: "general", text: String(repeating: "x", count: 4001))) == .messageTooLong)
            #expect(try await client.errorCode("leave_room", RoomRequest(room: "general")) == .forbidden)
            #expect(try await rawError(client, #"{"action":"send_message","data":{"room":"general"}}"#) == .missingField)
            #expect(try await rawError(client, #"{"action":"history","data":{"room":"general","limit":"all"}}"#) == .invalidField)
            #expect(try await rawError(client, #"{"action":"history","data":{"room":"general","before":1,"after":2}}"#) == .invalidField)
            #expect(try await rawError(client, #"{"action":"ping","id":"\#(String(repeating: "x", count: 65))"}"#) == .invalidField)

            // Still open, still answering, nothing lost.
            let _: EmptyPayload = try await client.request("ping")
            let sent = try await client.send("still here", room: "general")
            #expect(sent.text == "still here")
            await client.close()
            await other.close()
        }
    }

    @Test func repliesCarryTheRequestID() async throws {
        try await withServer { server in
            let client = try await server.connect(.tcp)
            try await client.sendRaw(Array(#"{"action":"nope","id":"mine-1"}"#.utf8))
            let event = try #require(await client.nextReply())
            #expect(event.replyTo == "mine-1")
            #expect(event.error?.code == .unknownAction)
            await client.close()
        }
    }

    @Test(arguments: TestServer.Transport.allCases)
    func rateLimited(_ transport: TestServer.Transport) async throws {
        try await withServer({ $0.chat.rateLimit = 1 }) { server in
            let client = try await server.connect(transport)
            // Three pings back to back: a burst of twice the rate (two) passes, the third is
            // refused (a token comes back only after a whole second: room for a busy machine).
            for i in 0..<3 {
                try await client.sendRaw(Array(#"{"action":"ping","id":"p\#(i)"}"#.utf8))
            }
            var codes: [String: ErrorCode?] = [:]
            while codes.count < 3, let reply = await client.nextReply() {
                codes.updateValue(reply.error?.code, forKey: reply.replyTo ?? "")
            }
            #expect((0..<2).allSatisfy { codes["p\($0)"] == .some(nil) })
            #expect(codes["p2"] == .some(.rateLimited))
            await client.close()
        }
    }

    @Test func guestsDisabled() async throws {
        try await withServer({ $0.chat.guestsAllowed = false }) { server in
            let client = try await server.connect(.webSocket)
            #expect(try await client.errorCode("login", LoginRequest(username: "guest")) == .guestsDisabled)
            let _: AuthResult = try await client.request("register", RegisterRequest(username: "member", password: "longenough"))
            await client.close()
        }
    }

    // MARK: Frames

    @Test func tcpFrameTooLargeIsAnsweredThenClosed() async throws {
        try await withServer { server in
            let client = try await server.connect(.tcp)
            // Only a header announcing 1 MiB: the server must answer without waiting for it.
            try await client.sendBytes([0, 0x10, 0, 0])
            let event = try #require(await client.nextReply())
            #expect(event.error?.code == .frameTooLarge)
            _ = await client.waitUntilClosed()
            #expect(client.isClosed)
            // Others are unaffected.
            let next = try await server.connect(.tcp)
            let _: EmptyPayload = try await next.request("ping")
            await next.close()
        }
    }

    @Test func tcpFrameAtTheLimitIsRead() async throws {
        try await withServer { server in
            let client = try await server.connect(.tcp)
            let prefix = #"{"action":"ping","id":"p","pad":""#
            let json = prefix + String(repeating: "x", count: 65_536 - prefix.utf8.count - 2) + #""}"#
            #expect(json.utf8.count == 65_536)
            try await client.sendRaw(Array(json.utf8))
            let event = try #require(await client.next())
            #expect(event.action == "success")
            #expect(event.replyTo == "p")
            await client.close()
        }
    }

    @Test func webSocketMessageTooLargeIsAnsweredThenClosedWith1009() async throws {
        try await withServer { server in
            let client = try await server.connect(.webSocket)
            try await client.sendRaw(Array(#"{"action":"ping","pad":""#.utf8) + [UInt8](repeating: 120, count: 70_000) + Array(#""}"#.utf8))
            let event = try #require(await client.nextReply())
            #expect(event.error?.code == .frameTooLarge)
            #expect(await client.waitUntilClosed() == 1009)
        }
    }

    @Test func webSocketFragmentsCountTowardTheLimit() async throws {
        try await withServer { server in
            let client = try await server.connect(.webSocket)
            let chunk = ByteBuffer(bytes: [UInt8](repeating: 32, count: 30_000))
            try await client.sendFrame(WebSocketFrame(fin: false, opcode: .text, data: chunk))
            try await client.sendFrame(WebSocketFrame(fin: false, opcode: .continuation, data: chunk))
            try await client.sendFrame(WebSocketFrame(fin: true, opcode: .continuation, data: chunk))
            let event = try #require(await client.nextReply())
            #expect(event.error?.code == .frameTooLarge)
            #expect(await client.waitUntilClosed() == 1009)
        }
    }

    @Test func webSocketFragmentedMessageIsReassembled() async throws {
        try await withServer { server in
            let client = try await server.connect(.webSocket)
            let json = Array(#"{"action":"ping","id":"frag"}"#.utf8)
            try await client.sendFrame(WebSocketFrame(fin: false, opcode: .text, data: ByteBuffer(bytes: json[..<5])))
            try await client.sendFrame(WebSocketFrame(fin: false, opcode: .continuation, data: ByteBuffer(bytes: json[5..<12])))
            try await client.sendFrame(WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(bytes: json[12...])))
            let event = try #require(await client.next())
            #expect(event.action == "success")
            #expect(event.replyTo == "frag")
            await client.close()
        }
    }

    @Test func webSocketBinaryFrameIsInvalidFrame() async throws {
        try await withServer { server in
            let client = try await server.connect(.webSocket)
            try await client.sendFrame(WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(string: #"{"action":"ping"}"#)))
            let event = try #require(await client.nextReply())
            #expect(event.error?.code == .invalidFrame)
            let _: EmptyPayload = try await client.request("ping")
            await client.close()
        }
    }

    @Test func webSocketInvalidUTF8ClosesWith1007() async throws {
        try await withServer { server in
            let client = try await server.connect(.webSocket)
            try await client.sendFrame(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: Array(#"{"action":"ping","x":""#.utf8) + [0xc3, 0x28] + Array(#""}"#.utf8))))
            #expect(await client.waitUntilClosed() == 1007)
        }
    }

    @Test func tcpInvalidUTF8IsInvalidJSON() async throws {
        try await withServer { server in
            let client = try await server.connect(.tcp)
            try await client.sendRaw(Array(#"{"action":"ping","x":""#.utf8) + [0xff, 0xfe] + Array(#""}"#.utf8))
            let event = try #require(await client.nextReply())
            #expect(event.error?.code == .invalidJSON)
            let _: EmptyPayload = try await client.request("ping")
            await client.close()
        }
    }

    @Test func garbageNeverHurtsTheServer() async throws {
        try await withServer { server in
            var rng = SystemRandomNumberGenerator()
            for round in 0..<40 {
                let client = try await server.connect(.tcp)
                let length = Int.random(in: 1..<2000, using: &rng)
                var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if round % 2 == 0 {
                    // A well-framed frame of random bytes, then a truncated one.
                    bytes = [0, 0, UInt8(length >> 8), UInt8(length & 0xff)] + bytes + [0, 0, 1]
                }
                try? await client.sendBytes(bytes)
                await client.close()
            }
            for transport in TestServer.Transport.allCases {
                let client = try await server.connect(transport)
                let _: EmptyPayload = try await client.request("ping")
                await client.close()
            }
        }
    }
}
