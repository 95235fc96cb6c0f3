import Foundation
import Logging
import SalonCore
import SalonProtocol
import SalonStore
import Testing

/// What every `ChatStore` must do, whatever the database behind it: each backend runs every
/// test here. PostgreSQL runs when `SALON_TEST_POSTGRES` names a server (`./scripts/test`
/// starts one); without it, `postgresIsTested` fails, so that a run without PostgreSQL never
/// looks complete.
@Suite struct StoreContractTests {
    typealias Backend = StoreBackend

    @Test func postgresIsTested() {
        #expect(TestPostgres.serverURL != nil, "set SALON_TEST_POSTGRES=postgres://USER:PASSWORD@HOST:PORT/postgres (./scripts/test starts a server and sets it)")
    }

    /// A store with `general` and two accounts.
    struct Fixture {
        let store: any ChatStore
        let general: RoomRecord
        let ana: Actor
        let bob: Actor

        /// Where the store is, to open it again (another node).
        let place: String

        static func make(_ backend: Backend) async throws -> Fixture {
            let (store, place) = try await backend.openPlace(nil)
            try await store.migrate()
            let general = try await store.ensureRoom(name: "general", at: .now())
            let ana = try #require(try await store.register(username: "ana", key: "ana", passwordHash: "x", role: .user, generalID: general.id, at: .now()))
            let bob = try #require(try await store.register(username: "bob", key: "bob", passwordHash: "x", role: .user, generalID: general.id, at: .now()))
            return Fixture(store: store, general: general,
                           ana: Actor(id: ana.id, username: "ana", isGuest: false), bob: Actor(id: bob.id, username: "bob", isGuest: false), place: place)
        }

        func message(_ text: String, from sender: Actor? = nil, cid: String? = nil, to peer: Actor? = nil) -> Change {
            let sender = sender ?? ana
            if let peer {
                return .message(NewMessage(conversation: .direct(between: sender.id, and: peer.id), roomID: nil, room: nil, sender: sender,
                                           recipient: peer, text: text, createdAt: .now(), replyTo: nil, clientMsgID: cid))
            }
            return .message(NewMessage(conversation: .room(general.id), roomID: general.id, room: "general", sender: sender, recipient: nil,
                                       text: text, createdAt: .now(), replyTo: nil, clientMsgID: cid))
        }

        func event(_ type: EventType, room: Int64? = nil, user: Int64? = nil, actor: Actor? = nil, scope: EventScope = .room) -> EventDraft {
            EventDraft(type: type, scope: scope, roomID: room ?? general.id, userID: user, actorID: (actor ?? ana).id, data: Array(#"{"x":1}"#.utf8))
        }
    }

    static func events(_ outcome: ChangeOutcome) -> [StoredEvent] {
        if case .committed(let events) = outcome { return events }
        return []
    }

    @Test(arguments: Backend.allCases) func seqIsOneIncreasingSequenceAndMessageIDsAreSeqs(_ backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        let start = try await f.store.lastSeq()
        let first = try await f.store.commit([f.message("one"), f.message("two")])
        let second = try await f.store.commit([
            .join(roomID: f.general.id, user: Actor(id: 999_001, username: "gus", isGuest: true), role: .member, readMarker: 0,
                  events: [f.event(.system, scope: .roomButActor), f.event(.roomUpdated, scope: .users)]),
            f.message("three"),
        ])
        let seqs = (first + second).flatMap(Self.events).map(\.seq)
        #expect(seqs == Array(start + 1...start + 5))
        #expect(try await f.store.lastSeq() == start + 5)
        let stored = try await f.store.messages(conversation: Conversation.room(f.general.id).key, before: nil, after: nil, limit: 10)
        #expect(stored.map(\.id) == [start + 1, start + 2, start + 5])
        #expect(stored.map(\.text) == ["one", "two", "three"])
        try await f.store.close()
    }

    @Test(arguments: Backend.allCases) func oneFailingChangeNeverFailsItsBatch(_ backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        let outcomes = try await f.store.commit([
            f.message("kept"),
            .edit(messageID: 123_456, authorID: f.ana.id, text: "x", at: .now(), event: f.event(.messageUpdated)),
            .createRoom(RoomRecord(name: "general", topic: "", isPrivate: false, createdAt: .now()), owner: f.ana, events: []),
            f.message("kept too"),
        ])
        guard case .committed = outcomes[0], case .refused(let notFound) = outcomes[1], case .refused(let exists) = outcomes[2], case .committed = outcomes[3] else {
            Issue.record("outcomes: \(outcomes)")
            return
        }
        #expect(notFound.code == .messageNotFound && exists.code == .roomExists)
        let stored = try await f.store.messages(conversation: Conversation.room(f.general.id).key, before: nil, after: nil, limit: 10)
        #expect(stored.map(\.text) == ["kept", "kept too"])
        try await f.store.close()
    }

    @Test(arguments: Backend.allCases) func aRetryIsNeverStoredTwice(_ backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        let outcomes = try await f.store.commit([f.message("once", cid: "c1"), f.message("once", cid: "c1"), f.message("other sender", from: f.bob, cid: "c1")])
        let original = try #require(Self.events(outcomes[0]).first?.message)
        guard case .duplicate(let again) = outcomes[1] else {
            Issue.record("the retry was \(outcomes[1])")
            return
        }
        #expect(again.id == original.id)
        #expect(!Self.events(outcomes[2]).isEmpty)
        guard case .duplicate(let later) = try await f.store.commit([f.message("once", cid: "c1")])[0] else {
            Issue.record("a later retry was stored")
            return
        }
        #expect(later.id == original.id)
        #expect(try await f.store.message(senderID: f.ana.id, clientMsgID: "c1")?.id == original.id)
        try await f.store.close()
    }

    @Test(arguments: Backend.allCases) func editsDeletionsAndReactionsChangeTheMessage(_ backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        let id = try #require(Self.events(try await f.store.commit([f.message("draft")])[0]).first?.seq)
        let reactions: [Change] = [
            .react(messageID: id, user: f.bob, emoji: "👍", add: true, event: f.event(.reaction)),
            .react(messageID: id, user: f.ana, emoji: "🎉", add: true, event: f.event(.reaction)),
            .react(messageID: id, user: f.ana, emoji: "👍", add: true, event: f.event(.reaction)),
            .react(messageID: id, user: f.ana, emoji: "👍", add: true, event: f.event(.reaction)),
            .react(messageID: id, user: f.bob, emoji: "🎉", add: false, event: f.event(.reaction)),
        ]
        let outcomes = try await f.store.commit(reactions)
        #expect(outcomes.map { Self.events($0).count } == [1, 1, 1, 0, 0])
        let edited = try await f.store.commit([.edit(messageID: id, authorID: f.ana.id, text: "final", at: .now(), event: f.event(.messageUpdated))])
        let message = try #require(Self.events(edited[0]).first?.message)
        #expect(message.text == "final" && message.editedAt != nil)
        #expect(message.reactions == [ReactionSummary(emoji: "👍", count: 2, users: ["bob", "ana"]), ReactionSummary(emoji: "🎉", count: 1, users: ["ana"])])
        // Only the author edits.
        guard case .refused = try await f.store.commit([.edit(messageID: id, authorID: f.bob.id, text: "x", at: .now(), event: f.event(.messageUpdated))])[0] else {
            Issue.record("bob edited ana's message")
            return
        }
        _ = try await f.store.commit([.delete(messageID: id, event: f.event(.messageDeleted))])
        let tomb = try #require(try await f.store.message(id: id))
        #expect(tomb.deleted && tomb.text.isEmpty && tomb.reactions.isEmpty)
        #expect(tomb.wire.deleted == true && tomb.wire.text == "")
        for change in [Change.delete(messageID: id, event: f.event(.messageDeleted)),
                       .react(messageID: id, user: f.bob, emoji: "👍", add: true, event: f.event(.reaction))] {
            guard case .refused(let e) = try await f.store.commit([change])[0] else {
                Issue.record("\(change) on a deleted message")
                continue
            }
            #expect(e.code == .messageNotFound)
        }
        try await f.store.close()
    }

    @Test(arguments: Backend.allCases) func membershipsKeepTheirHistory(_ backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        let created = try await f.store.commit([.createRoom(RoomRecord(name: "books", topic: "t", isPrivate: false, createdAt: .now()), owner: f.ana,
                                                            events: [EventDraft(type: .roomUpdated, scope: .everyone, actorID: f.ana.id)])])
        let room = try #require(Self.events(created[0]).first?.draft.roomID)
        let join = { Change.join(roomID: room, user: f.bob, role: .member, readMarker: 0, events: [f.event(.system, room: room, actor: f.bob, scope: .roomButActor)]) }
        let leave = { Change.leave(roomID: room, user: f.bob, events: [f.event(.system, room: room, actor: f.bob, scope: .roomButActor)]) }
        let j1 = try await f.store.commit([join()])
        #expect(Self.events(try await f.store.commit([join()])[0]).isEmpty)  // already a member
        let m1 = try await f.store.commit([.message(NewMessage(conversation: .room(room), roomID: room, room: "books", sender: f.ana, recipient: nil, text: "for bob", createdAt: .now(), replyTo: nil, clientMsgID: nil))])
        let l1 = try await f.store.commit([leave()])
        guard case .refused(let e) = try await f.store.commit([leave()])[0] else {
            Issue.record("left twice")
            return
        }
        #expect(e.code == .notMember)
        let m2 = try await f.store.commit([.message(NewMessage(conversation: .room(room), roomID: room, room: "books", sender: f.ana, recipient: nil, text: "not for bob", createdAt: .now(), replyTo: nil, clientMsgID: nil))])
        let periods = try await f.store.membershipPeriods(userID: f.bob.id, after: 0)
        let booksPeriod = try #require(periods.first { $0.roomID == room })
        #expect(booksPeriod.from == Self.events(j1[0]).first?.seq && booksPeriod.to == Self.events(l1[0]).first?.seq)
        #expect(periods.contains { $0.roomID == f.general.id && $0.to == nil })
        let seen = try await f.store.events(userID: f.bob.id, periods: periods, after: 0, through: try await f.store.lastSeq(), limit: 100)
        let ids = seen.map(\.seq)
        #expect(ids.contains(Self.events(m1[0])[0].seq))
        #expect(!ids.contains(Self.events(m2[0])[0].seq))
        // Bob's own join and leave notices (to others) are not his.
        #expect(!ids.contains(Self.events(j1[0])[0].seq) && !ids.contains(Self.events(l1[0])[0].seq))
        #expect(ids == ids.sorted())
        // The room keeps its owner; memberships are stored by id.
        let members = try await f.store.allMemberships().filter { $0.roomID == room }
        #expect(members.map(\.userID) == [f.ana.id] && members.first?.role == .owner)
        try await f.store.close()
    }

    @Test(arguments: Backend.allCases) func accountsConversationsAndUnreadCounts(_ backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        #expect(try await f.store.register(username: "ANA", key: "ana", passwordHash: "x", role: .user, generalID: f.general.id, at: .now()) == nil)
        _ = try await f.store.commit([f.message("hi", from: f.bob, to: f.ana), f.message("there", from: f.bob, to: f.ana), f.message("note", to: f.ana)])
        let conversations = try await f.store.conversations(userID: f.ana.id, limit: 10)
        #expect(conversations.map(\.peerName) == ["ana", "bob"])
        #expect(conversations.map(\.unread) == [0, 2])
        let unread = try await f.store.unreadCounts(userID: f.ana.id)
        #expect(unread[Conversation.room(f.general.id).key] == 0)
        _ = try await f.store.commit([f.message("to all", from: f.bob)])
        #expect(try await f.store.unreadCounts(userID: f.ana.id)[Conversation.room(f.general.id).key] == 1)
        // A guest who acted has a row of its own; it is no account.
        _ = try await f.store.commit([f.message("guest here", from: Actor(id: 999_002, username: "gus", isGuest: true))])
        #expect(try await f.store.user(key: "gus") == nil)
        #expect(try await f.store.allUsers().map(\.username).sorted() == ["ana", "bob"])
        try await f.store.close()
    }

    @Test(arguments: Backend.allCases) func searchIgnoresCaseAndAccentsAndSkipsTombstones(_ backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        let outcomes = try await f.store.commit([f.message("Crème brûlée"), f.message("creme fraiche"), f.message("private creme", to: f.bob)])
        let ids = outcomes.flatMap(Self.events).map(\.seq)
        func search(_ query: String, rooms: [Int64]? = nil, user: Actor? = nil, direct: Bool = true) async throws -> [Int64] {
            try await f.store.search(SearchQuery(terms: try SearchSyntax.terms(for: query), roomIDs: rooms ?? [f.general.id], userID: (user ?? f.ana).id, includeDirect: direct,
                                                 conversation: nil, before: nil, limit: 10)).map(\.id)
        }
        #expect(try await search("creme") == ids.reversed())
        #expect(try await search("CRÈME", rooms: [], user: f.bob) == [ids[2]])
        #expect(try await search("bru") == [ids[0]])
        #expect(try await search("\"bru\"").isEmpty)  // a quoted word is whole
        #expect(try await search("creme", direct: false) == [ids[1], ids[0]])
        _ = try await f.store.commit([.delete(messageID: ids[1], event: f.event(.messageDeleted))])
        #expect(try await search("fraiche").isEmpty)
        try await f.store.close()
    }

    @Test(arguments: Backend.allCases) func searchTakesWordsPhrasesAndALastPrefixAlike(_ backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        let ids = try await f.store.commit([
            f.message("L'École est fermée aujourd'hui"), f.message("snake_case_name and x<y>"),
            f.message("est-ce fermé ? Oui, l'école."), f.message("Ünïcödé ÇA VA"),
        ]).flatMap(Self.events).map(\.seq)
        func search(_ query: String) async throws -> [Int64] {
            try await f.store.search(SearchQuery(terms: try SearchSyntax.terms(for: query), roomIDs: [f.general.id], userID: f.ana.id,
                                                 includeDirect: true, conversation: nil, before: nil, limit: 10)).map(\.id)
        }
        #expect(try await search("ecole ferm") == [ids[2], ids[0]])
        #expect(try await search("\"est fermee\"") == [ids[0]])  // words next to each other, in order
        #expect(try await search("\"fermee est\"").isEmpty)
        #expect(try await search("case") == [ids[1]])
        #expect(try await search("(ecole) l") == [ids[2], ids[0]])  // punctuation is no syntax; "l" a prefix
        #expect(try await search("unicode ca") == [ids[3]])
        #expect(try await search("ferm ecole").isEmpty)  // only the last word is a prefix
        #expect(try await search("y") == [ids[1]])
        try await f.store.close()
    }

    /// Two nodes on one PostgreSQL database: batches committed at the same time from both
    /// get one strictly increasing sequence, with no gap and no number twice.
    @Test(arguments: Backend.allCases.filter { $0 == .postgres }) func twoNodesShareOneSequence(_ backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        let (other, _) = try await backend.openPlace(f.place)
        let start = try await f.store.lastSeq()
        let seqs = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for (node, store) in [f.store, other].enumerated() {
                for batch in 0..<10 {
                    group.addTask {
                        let changes = (0..<10).map { f.message("node \(node) batch \(batch) #\($0)") }
                        return try await store.commit(changes).flatMap(Self.events).map(\.seq)
                    }
                }
            }
            var all: [Int64] = []
            for try await batch in group {
                #expect(batch == batch.sorted() && Set(batch).count == batch.count)
                all += batch
            }
            return all
        }
        #expect(seqs.sorted() == Array(start + 1...start + 200))
        #expect(try await other.lastSeq() == start + 200)
        let stored = try await other.messages(conversation: Conversation.room(f.general.id).key, before: nil, after: start, limit: 500)
        #expect(stored.map(\.id) == Array(start + 1...start + 200))
        try await other.close()
        try await f.store.close()
    }
}
