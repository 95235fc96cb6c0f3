import NIOCore
import SalonIRC
import Testing

/// The IRC line format: what is read (tags, prefix, parameters, the limits) and what is
/// written (escapes, the trailing parameter), and that every bad line is refused by name.
@Suite struct IRCMessageTests {
    func parse(_ line: String) throws(IRCParseError) -> IRCMessage {
        try IRCMessage.parse(Array(line.utf8))
    }

    @Test func commandsParametersAndTrailing() throws {
        let m = try parse("privmsg #general :hello  there :)")
        #expect(m.command == "PRIVMSG" && m.parameters == ["#general", "hello  there :)"] && m.source == nil && m.tags.isEmpty)
        #expect(try parse("NICK   ana").parameters == ["ana"])
        #expect(try parse("USER ana 0 * :Ana Lima").parameters == ["ana", "0", "*", "Ana Lima"])
        #expect(try parse("PING :").parameters == [""])
        #expect(try parse("JOIN #a,#b key").parameters == ["#a,#b", "key"])
        #expect(try parse("001 ana :Welcome").command == "001")
        let prefixed = try parse(":ana!ana@salon PRIVMSG bob :hi")
        #expect(prefixed.source == "ana!ana@salon" && prefixed.parameters == ["bob", "hi"])
        // Fifteen parameters at most: the rest of the line is the fifteenth.
        let many = try parse("CMD " + (1...17).map(String.init).joined(separator: " "))
        #expect(many.parameters.count == 15 && many.parameters.last == "15 16 17")
    }

    @Test func tagsAreUnescapedAndWrittenBack() throws {
        let m = try parse(#"@label=a\sb\:c\\d\n;+draft/reply=42;flag;empty= TAGMSG #room"#)
        #expect(m.tag("label") == "a b;c\\d\n")
        #expect(m.tag("+draft/reply") == "42" && m.tag("flag") == "" && m.tag("empty") == "" && m.tag("none") == nil)
        var written = IRCMessage(tags: [IRCTag("msgid", "x y;z\\")], source: "salon", command: "PRIVMSG", parameters: ["#room", "hi"])
        #expect(written.line == #"@msgid=x\sy\:z\\ :salon PRIVMSG #room hi"#)
        #expect(try parse(written.line) == written)
        written.tags = []
        written.parameters = ["#room", ":-)"]
        #expect(written.line == ":salon PRIVMSG #room ::-)")
        #expect(try parse(written.line).parameters == ["#room", ":-)"])
    }

    @Test func theTrailingParameterIsMarkedOnlyWhenItMustBe() {
        #expect(IRCMessage(command: "PONG", parameters: ["salon"]).line == "PONG salon")
        #expect(IRCMessage(command: "PRIVMSG", parameters: ["#a", "two words"]).line == "PRIVMSG #a :two words")
        #expect(IRCMessage(command: "TOPIC", parameters: ["#a", ""]).line == "TOPIC #a :")
        var buffer = ByteBuffer()
        IRCMessage(command: "PING", parameters: ["x"]).write(into: &buffer)
        #expect(buffer.readString(length: buffer.readableBytes) == "PING x\r\n")
    }

    @Test func badLinesAreRefusedByName() {
        #expect(throws: IRCParseError.empty) { try parse("   ") }
        #expect(throws: IRCParseError.forbiddenByte) { try parse("PRIVMSG #a :x\u{0}y") }
        #expect(throws: IRCParseError.forbiddenByte) { try parse("PRIVMSG #a :x\ry") }
        #expect(throws: IRCParseError.invalidUTF8) { try IRCMessage.parse([80, 32, 0xff, 0xfe]) }
        #expect(throws: IRCParseError.badCommand) { try parse("PRIV-MSG x") }
        #expect(throws: IRCParseError.badCommand) { try parse("12 x") }
        #expect(throws: IRCParseError.badCommand) { try parse(":ana") }
        #expect(throws: IRCParseError.badTags) { try parse("@a=b") }
        #expect(throws: IRCParseError.badTags) { try parse("@=b PING x") }
        #expect(throws: IRCParseError.tooLong) { try parse("PRIVMSG #a :" + String(repeating: "x", count: 500)) }
        #expect(throws: IRCParseError.tooLong) { try parse("@a=" + String(repeating: "x", count: 5000) + " PING x") }
        // 510 bytes of line (512 with CR LF) are fine, with 4,000 bytes of tags before them.
        let full = "PRIVMSG #a :" + String(repeating: "x", count: 510 - 12)
        #expect((try? parse(full)) != nil)
        #expect((try? parse("@a=" + String(repeating: "y", count: 4000) + " " + full)) != nil)
    }
}

@Suite struct IRCNickTests {
    @Test func namesMapBothWays() {
        for (name, nick) in [("ana", "ana"), ("ana.lima", "ana|lima"), ("7up", "`7up"), ("-x-", "`-x-"), ("Bob_2", "Bob_2"), ("a.b.c", "a|b|c")] {
            #expect(IRCNick.nick(for: name) == nick)
            #expect(IRCNick.username(for: nick) == name)
        }
    }

    @Test func nicksNoUsernameCouldHaveMapToNone() {
        for nick in ["", "`ana", "7up", "-x", "a[b]", "a^", "{x}", "a\\b", "é", "`"] {
            #expect(IRCNick.username(for: nick) == nil, "\(nick)")
        }
        #expect(IRCNick.folded("AnA|X") == "ana|x")
    }
}

@Suite struct IRCTextTests {
    @Test func linesAreSplitNeverCut() {
        #expect(IRCText.lines("one\ntwo\r\n\nthree", maxBytes: 100) == ["one", "two", "three"])
        let words = String(repeating: "word ", count: 60)  // 300 bytes
        let pieces = IRCText.lines(words, maxBytes: 100)
        #expect(pieces.joined() == words)
        #expect(pieces.allSatisfy { $0.utf8.count <= 100 } && pieces.dropLast().allSatisfy { $0.hasSuffix(" ") })
        // Multi-byte characters and a family emoji are never split inside.
        let wide = String(repeating: "é", count: 150) + "👨‍👩‍👧‍👦" + String(repeating: "ß", count: 10)
        let split = IRCText.lines(wide, maxBytes: 51)
        #expect(split.joined() == wide && split.allSatisfy { $0.utf8.count <= 51 || $0 == "👨‍👩‍👧‍👦" })
        #expect(split.allSatisfy { String(validating: Array($0.utf8), as: UTF8.self) != nil })
    }

    /// Inputs the fuzzer found.
    @Test(arguments: ["\u{1} be 0 *.h%\u{6e3}neR,o \u{2}tel,o \u{2}theke\u{2}"])
    func splittingKeepsEveryCharacterWithinTheLimit(_ text: String) {
        let pieces = IRCText.lines(text, maxBytes: 5)
        #expect(pieces.joined() == text)
        #expect(pieces.allSatisfy { $0.utf8.count <= 5 || $0.count == 1 }, "\(pieces.map { ($0, $0.utf8.count) })")
    }

    @Test func ircFormattingBecomesMarkupOrGoes() {
        #expect(IRCText.fromIRC("plain") == "plain")
        #expect(IRCText.fromIRC("\u{2}bold\u{2} and \u{1D}it\u{1D}") == "*bold* and _it_")
        #expect(IRCText.fromIRC("\u{3}04,12red\u{3} \u{3}5x\u{3},y") == "red x,y")
        #expect(IRCText.fromIRC("\u{4}ff00aaHEX\u{4}") == "HEX")
        #expect(IRCText.fromIRC("\u{2}\u{1D}open\u{F} closed") == "*_open_* closed")
        #expect(IRCText.fromIRC("\u{2}\u{2}empty \u{1F}under\u{1F} \u{16}rev\u{1E}s\u{1}") == "empty under revs")
        #expect(IRCText.fromIRC("tab\tstays \u{11}code\u{11} \u{2}unclosed") == "tab\tstays `code` *unclosed*")
    }
}
