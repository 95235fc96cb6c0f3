import Foundation
import SalonTerminal
import Testing

@Suite struct KeyDecoderTests {
    @Test func decodesCharactersControlKeysAndEscapes() {
        var d = KeyDecoder()
        #expect(d.feed(Array("hé".utf8)) == [.character("h"), .character("é")])
        #expect(d.feed([0x0d, 0x7f, 0x17, 0x01, 0x05, 0x03, 0x04, 0x09]) == [.enter, .backspace, .deleteWordBackward, .home, .end, .interrupt, .endOfInput, .tab])
        #expect(d.feed(Array("\u{1b}[A\u{1b}[B\u{1b}[C\u{1b}[D\u{1b}[H\u{1b}[F\u{1b}[3~\u{1b}OH\u{1b}[1;5D".utf8))
                == [.up, .down, .right, .left, .home, .end, .delete, .home, .wordLeft])
        #expect(d.feed([0x1b, 0x7f]) == [.deleteWordBackward])
    }

    @Test func keepsAnUnfinishedSequenceForTheNextRead() {
        var d = KeyDecoder()
        #expect(d.feed([0x1b, UInt8(ascii: "[")]).isEmpty)
        #expect(d.feed([UInt8(ascii: "C")]) == [.right])
        let smile = Array("😀".utf8)
        #expect(d.feed(Array(smile[0..<2])).isEmpty)
        #expect(d.feed(Array(smile[2...])) == [.character("😀")])
    }

    @Test func garbageBecomesUnknownKeysNotACrash() {
        var d = KeyDecoder()
        let keys = d.feed([0xff, 0xc3, 0x28, 0x80])
        #expect(keys.contains(.unknown))
        #expect(keys.contains(.character("(")))
    }
}

@Suite struct LineEditorTests {
    private func type(_ e: inout LineEditor, _ text: String) {
        for c in text { _ = e.handle(.character(c)) }
    }

    @Test func editsInTheMiddle() {
        var e = LineEditor()
        type(&e, "helo world")
        for _ in 0..<7 { _ = e.handle(.left) }
        _ = e.handle(.character("l"))
        #expect(e.line == "hello world")
        _ = e.handle(.end)
        _ = e.handle(.deleteWordBackward)
        #expect(e.line == "hello ")
        _ = e.handle(.home)
        _ = e.handle(.delete)
        #expect(e.line == "ello ")
        _ = e.handle(.deleteToEnd)
        #expect(e.line == "")
        #expect(e.handle(.endOfInput) == .quit)
    }

    @Test func submitsAndRecallsHistory() {
        var e = LineEditor()
        type(&e, "first")
        #expect(e.handle(.enter) == .submit("first"))
        type(&e, "second")
        _ = e.handle(.enter)
        type(&e, "draft")
        _ = e.handle(.up)
        #expect(e.line == "second")
        _ = e.handle(.up)
        #expect(e.line == "first")
        _ = e.handle(.up)
        #expect(e.line == "first")
        _ = e.handle(.down)
        _ = e.handle(.down)
        #expect(e.line == "draft")
    }

    @Test func completesTheWordAtTheCursor() {
        var e = LineEditor()
        type(&e, "/jo")
        #expect(e.wordAtCursor == ("/jo", true))
        #expect(e.complete(from: ["/join", "/quit"]).isEmpty)
        #expect(e.line == "/join ")
        type(&e, "#de")
        let several = e.complete(from: ["#dev", "#design", "#general"])
        #expect(several == ["#design", "#dev"])
        #expect(e.line == "/join #de")
        type(&e, "v")
        e.complete(from: ["#dev", "#design"])
        #expect(e.line == "/join #dev ")
    }
}

@Suite struct SessionStoreTests {
    @Test func keepsTokensReadableByTheOwnerOnly() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("salon-home-\(UUID().uuidString)")
        let store = SessionStore(environment: ["HOME": home.path])
        try store.save(.init(server: "ws://a/ws", username: "Ana", token: "t1"))
        try store.save(.init(server: "ws://b/ws", username: "bob", token: "t2"))
        try store.save(.init(server: "ws://a/ws", username: "ana", token: "t3"))
        #expect(store.find(server: "ws://a/ws", username: nil)?.token == "t3")
        #expect(store.find(server: "ws://a/ws", username: "ANA")?.token == "t3")
        #expect(store.find(server: "ws://c/ws", username: nil) == nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: store.file.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let folder = try FileManager.default.attributesOfItem(atPath: store.file.deletingLastPathComponent().path)
        #expect((folder[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        try store.remove(server: "ws://a/ws", username: "ana")
        #expect(store.find(server: "ws://a/ws", username: nil) == nil)
    }

    @Test func followsXDGConfigHome() {
        let store = SessionStore(environment: ["HOME": "/home/x", "XDG_CONFIG_HOME": "/cfg"])
        #expect(store.file.path == "/cfg/salon/sessions.json")
    }
}

@Suite struct MentionTests {
    @Test func findsTheNameAsAWord() {
        #expect(ChatController.mentions("hey ana!", "ana"))
        #expect(ChatController.mentions("ANA: look", "ana"))
        #expect(!ChatController.mentions("banana", "ana"))
        #expect(!ChatController.mentions("anna", "ana"))
    }
}

@Suite struct VisibleTextTests {
    @Test func controlCharactersAreShownNeverWritten() {
        let attack = "innocent\u{1b}]0;PWNED\u{07}\u{1b}[2J\rmallory: hi\u{7f}\u{85}\u{202e}"
        let shown = VisibleText.of(attack)
        #expect(shown == "innocent^[]0;PWNED^G^[[2J^Mmallory: hi^?<U+85><U+202E>")
        #expect(!shown.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        #expect(VisibleText.of("two\nlines", keepNewlines: true) == "two\nlines")
        #expect(VisibleText.of("two\nlines") == "two^Jlines")
        #expect(VisibleText.of("plain é 😀") == "plain é 😀")
    }
}
