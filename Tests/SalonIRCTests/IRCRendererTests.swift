import NIOCore
import SalonIRC
import SalonProtocol
import Testing

/// Salon's pushes as IRC clients see them, with and without the capabilities that add tags.
@Suite struct IRCRendererTests {
    let renderer = IRCRenderer(serverName: "salon.test")
    let plain = IRCViewer(nick: "bob", capabilities: [])
    let tagged = IRCViewer(nick: "bob", capabilities: [.serverTime, .messageTags, .extendedJoin, .messageRedaction])

    func lines(_ json: String, _ viewer: IRCViewer) -> [String] {
        renderer.lines(forPush: ByteBuffer(string: json), viewer: viewer).map(\.line)
    }

    let time = "2026-12-03T12:00:00.000Z"

    @Test func aRoomMessageLineByLineWithItsTags() {
        let push = #"{"action":"receive_message","data":{"seq":9,"message":{"id":42,"room":"general","from":"ana.lima","text":"hello\nworld","timestamp":"\#(time)","reply_to":7}}}"#
        // A reply: without tags, marked as one (the message it answers is not at hand here).
        #expect(lines(push, plain) == [
            ":ana|lima!ana|lima@salon.test PRIVMSG #general :(re an earlier message) hello",
            ":ana|lima!ana|lima@salon.test PRIVMSG #general world",
        ])
        #expect(lines(push, tagged).first == "@time=\(time);msgid=42;+draft/reply=7 :ana|lima!ana|lima@salon.test PRIVMSG #general hello")
    }

    @Test func aReplyWithoutTagsQuotesTheFirstWordsOfWhatItAnswers() {
        let reply = Message(id: 9, room: "general", to: nil, from: "bob", text: "yes", timestamp: Timestamp(milliseconds: 0), replyTo: 7)
        let short = IRCQuote(from: "ana.lima", text: "lunch?")
        #expect(renderer.lines(for: reply, viewer: plain, quote: short).map(\.line) == [#":bob!bob@salon.test PRIVMSG #general :(re ana|lima: "lunch?") yes"#])
        let long = IRCQuote(from: "ana", text: String(repeating: "é", count: 50) + "\nsecond line")
        let quoted = renderer.lines(for: reply, viewer: plain, quote: long).map(\.line)
        #expect(quoted == [":bob!bob@salon.test PRIVMSG #general :(re ana: \"" + String(repeating: "é", count: 40) + "…\") yes"])
        let twoLines = IRCQuote(from: "ana", text: "short\nmore")
        #expect(renderer.lines(for: reply, viewer: plain, quote: twoLines).first?.line == #":bob!bob@salon.test PRIVMSG #general :(re ana: "short…") yes"#)
        // With message-tags the tag says it, and the text is as written.
        #expect(renderer.lines(for: reply, viewer: tagged, quote: short).first?.parameters.last == "yes")
    }

    @Test func aLongLineIsSplitToFit512BytesWithItsPrefix() {
        let text = String(repeating: "mot ", count: 300)
        let push = #"{"action":"receive_message","data":{"message":{"id":1,"room":"general","from":"ana","text":"\#(text)","timestamp":"\#(time)"}}}"#
        let out = renderer.lines(forPush: ByteBuffer(string: push), viewer: plain)
        #expect(out.count > 2)
        var joined = ""
        for message in out {
            var buffer = ByteBuffer()
            message.write(into: &buffer)
            #expect(buffer.readableBytes <= 512)
            joined += message.parameters[1]
        }
        #expect(joined == text)
    }

    @Test func privateMessagesAddressTheViewerOrThePeer() {
        let toBob = #"{"action":"receive_message","data":{"message":{"id":3,"to":"bob","from":"7up","text":"psst","timestamp":"\#(time)"}}}"#
        #expect(lines(toBob, plain) == [":`7up!`7up@salon.test PRIVMSG bob psst"])
        // Bob's own message, sent from the web client, shown in his conversation with 7up.
        let fromBob = #"{"action":"receive_message","data":{"message":{"id":4,"to":"7up","from":"bob","text":"ok then","timestamp":"\#(time)"}}}"#
        #expect(lines(fromBob, plain) == [":bob!bob@salon.test PRIVMSG `7up :ok then"])
    }

    @Test func filesEditsDeletionsAndTyping() {
        let withFile = #"{"action":"receive_message","data":{"message":{"id":5,"room":"r","from":"ana","text":"","timestamp":"\#(time)","attachments":[{"id":"f1","name":"plan.pdf","size":2048,"type":"application/pdf","url":"/api/files/f1"}]}}}"#
        #expect(lines(withFile, plain) == [":ana!ana@salon.test PRIVMSG #r :📎 plan.pdf (2 KiB) /api/files/f1"])
        let edit = #"{"action":"message_updated","data":{"message":{"id":5,"room":"r","from":"ana","text":"fixed","timestamp":"\#(time)","edited":"\#(time)"}}}"#
        #expect(lines(edit, plain) == [":ana!ana@salon.test NOTICE #r :* correction: fixed"])
        #expect(lines(edit, tagged) == ["@time=\(time);+draft/reply=5 :ana!ana@salon.test NOTICE #r :* correction: fixed"])
        let deleted = #"{"action":"message_deleted","data":{"id":5,"room":"r","seq":3}}"#
        #expect(lines(deleted, tagged) == [":salon.test REDACT #r 5"])
        #expect(lines(deleted, plain) == [":salon.test NOTICE #r :* a message was deleted"])
        let typing = #"{"action":"typing","data":{"room":"r","username":"ana"}}"#
        #expect(lines(typing, tagged) == ["@+typing=active :ana!ana@salon.test TAGMSG #r"])
        #expect(lines(typing, plain).isEmpty)
    }

    @Test func joinsLeavesKicksAndNotices() {
        let join = #"{"action":"system","data":{"room":"r","event":"join","username":"ana","text":"ana joined"}}"#
        #expect(lines(join, plain) == [":ana!ana@salon.test JOIN #r"])
        #expect(lines(join, tagged) == [":ana!ana@salon.test JOIN #r ana ana"])
        let leave = #"{"action":"system","data":{"room":"r","event":"leave","username":"ana","text":"ana left"}}"#
        #expect(lines(leave, plain) == [":ana!ana@salon.test PART #r"])
        let topic = #"{"action":"system","data":{"room":"r","event":"topic","username":"ana","text":"ana set the topic"}}"#
        #expect(lines(topic, plain).isEmpty)
        let notice = #"{"action":"system","data":{"room":"r","event":"notice","text":"maintenance at noon"}}"#
        #expect(lines(notice, plain) == [":salon.test NOTICE #r :maintenance at noon"])
        let othersKicked = #"{"action":"system","data":{"room":"r","event":"kick","username":"eve","text":"eve was kicked from #r by mod"}}"#
        #expect(lines(othersKicked, plain) == [":salon.test KICK #r eve :eve was kicked from #r by mod"])
        let promoted = #"{"action":"system","data":{"room":"r","event":"role","username":"eve","text":"mod made eve a moderator","role":"moderator"}}"#
        #expect(lines(promoted, plain) == [":salon.test MODE #r +o eve"])
        let kicked = #"{"action":"kicked","data":{"room":"r","by":"mod","reason":"spam"}}"#
        #expect(lines(kicked, plain) == [":mod!mod@salon.test KICK #r bob spam"])
        let banned = #"{"action":"banned","data":{"room":"r","by":"mod"}}"#
        #expect(lines(banned, plain) == [":mod!mod@salon.test KICK #r bob banned"])
        #expect(lines(#"{"action":"presence","data":{"username":"ana","online":true}}"#, plain).isEmpty)
        let away = IRCViewer(nick: "bob", capabilities: [.awayNotify])
        #expect(lines(#"{"action":"presence","data":{"username":"ana","online":false}}"#, away) == [":ana!ana@salon.test AWAY :not connected"])
        #expect(lines(#"{"action":"presence","data":{"username":"ana","online":true}}"#, away) == [":ana!ana@salon.test AWAY"])
        #expect(lines("not json", plain).isEmpty)
    }
}
