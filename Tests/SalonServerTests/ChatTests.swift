import Foundation
import SalonClient
import SalonProtocol
import Testing

/// People chatting through real WebSocket and TCP connections.
@Suite(.timeLimit(.minutes(1))) struct ChatTests {
    @Test(arguments: TestServer.Transport.allCases)
    func twoUsersChatInARoom(_ transport: TestServer.Transport) async throws {
        try await withServer { server in
            let (ana, _) = try await server.user("ana", transport)
            let (bob, _) = try await server.user("bob", transport)
            let room: RoomResult = try await ana.request("create_room", CreateRoomRequest(name: "books", topic: "what we read"))
            #expect(room.room.name == "books")
            let joined: JoinResult = try await bob.request("join_room", RoomRequest(room: "books"))
            #expect(joined.room.members == 2)
            let notice = try #require(await ana.next { $0.action == "system" })
            var push = try notice.decode(SystemPush.self)
            #expect(push.seq ?? 0 > 0)
            push.seq = nil
            #expect(push == SystemPush(room: "books", event: "join", username: "bob", text: "bob joined #books"))

            for i in 1...5 {
                _ = try await ana.send("ana \(i)", room: "books")
                _ = try await bob.send("bob \(i)", room: "books")
            }
            var seenByBob: [String] = []
            var seenByAna: [String] = []
            for _ in 1...5 {
                seenByBob.append(try await bob.nextMessage().text)
                seenByAna.append(try await ana.nextMessage().text)
            }
            #expect(seenByBob == (1...5).map { "ana \($0)" })
            #expect(seenByAna == (1...5).map { "bob \($0)" })
            await ana.close()
            await bob.close()
        }
    }

    @Test(arguments: TestServer.Transport.allCases)
    func privateMessages(_ transport: TestServer.Transport) async throws {
        try await withServer { server in
            let (ana, _) = try await server.user("ana", transport)
            let (bob, _) = try await server.user("Bob", transport)
            let sent = try await ana.send("just between us", to: "bob")
            #expect(sent.to == "Bob")
            #expect(sent.room == nil)
            let got = try await bob.nextMessage()
            #expect(got == sent)
            #expect(got.from == "ana")
            let reply = try await bob.send("of course", to: "ana")
            #expect(try await ana.nextMessage().id == reply.id)
            let history: HistoryResult = try await ana.request("history", HistoryRequest(with: "BOB"))
            #expect(history.messages.map(\.text) == ["just between us", "of course"])
            await ana.close()
            await bob.close()
        }
    }

    @Test func webSocketAndTCPUsersShareARoom() async throws {
        try await withServer { server in
            let (web, _) = try await server.user("web", .webSocket)
            let (term, _) = try await server.user("term", .tcp)
            let fromWeb = try await web.send("hello from the browser", room: "general")
            #expect(try await term.nextMessage() == fromWeb)
            let fromTerm = try await term.send("hello from the terminal", room: "general")
            #expect(try await web.nextMessage() == fromTerm)
            #expect(fromTerm.id > fromWeb.id)
            await web.close()
            await term.close()
        }
    }

    @Test func noEchoToTheSenderButACopyToItsOtherConnection() async throws {
        try await withServer { server in
            let (phone, auth) = try await server.user("ana", .webSocket)
            let laptop = try await server.connect(.tcp)
            let _: AuthResult = try await laptop.request("login", LoginRequest(token: auth.token))
            let (bob, _) = try await server.user("bob", .tcp)
            let sent = try await phone.send("from my phone", room: "general")
            #expect(try await laptop.nextMessage() == sent)
            #expect(try await bob.nextMessage() == sent)
            // The phone got its reply and no push: the next push it sees is a later one.
            let later = try await bob.send("ok", room: "general")
            #expect(try await phone.nextMessage().id == later.id)
            await phone.close()
            await laptop.close()
            await bob.close()
        }
    }

    @Test func historyAfterReconnect() async throws {
        try await withServer { server in
            let (ana, auth) = try await server.user("ana")
            let (bob, _) = try await server.user("bob")
            let first = try await bob.send("before the tunnel", room: "general")
            _ = try await ana.nextMessage()
            await ana.close()
            var missed: [Message] = []
            for i in 1...60 {
                missed.append(try await bob.send("while away \(i)", room: "general"))
            }
            // Back online with the token, ana asks for what came after the last id she saw.
            let again = try await server.connect(.tcp)
            let login: AuthResult = try await again.request("login", LoginRequest(token: auth.token))
            #expect(login.user.username == "ana")
            let general = try #require(login.rooms.first { $0.name == "general" })
            #expect(general.lastMessageID == missed.last?.id)
            var caughtUp: [Message] = []
            var after = first.id
            while true {
                let page: HistoryResult = try await again.request("history", HistoryRequest(room: "general", after: after, limit: 25))
                caughtUp += page.messages
                guard page.hasMore, let last = page.messages.last else { break }
                after = last.id
            }
            #expect(caughtUp == missed)
            await again.close()
            await bob.close()
        }
    }

    @Test func presenceAndUserLists() async throws {
        try await withServer { server in
            let (ana, _) = try await server.user("ana")
            let bob = try await server.connect(.tcp)
            let _: AuthResult = try await bob.request("login", LoginRequest(username: "bob"))
            let online = try #require(await ana.next { $0.action == "presence" })
            #expect(try online.decode(PresencePush.self) == PresencePush(username: "bob", online: true))
            let users: UsersResult = try await ana.request("list_users")
            #expect(users.users.map(\.username) == ["ana", "bob"])
            #expect(users.users.map(\.role) == ["user", "guest"])
            await bob.close()
            let offline = try #require(await ana.next { $0.action == "presence" })
            #expect(try offline.decode(PresencePush.self) == PresencePush(username: "bob", online: false))
            await ana.close()
        }
    }

    @Test func logoutRevokesTheTokenAndClosesTheConnection() async throws {
        try await withServer { server in
            let (ana, auth) = try await server.user("ana", .webSocket)
            let _: EmptyPayload = try await ana.request("logout")
            #expect(await ana.waitUntilClosed() == 1000)
            let again = try await server.connect(.tcp)
            #expect(try await again.errorCode("login", LoginRequest(token: auth.token)) == .authFailed)
            await again.close()
        }
    }
}
