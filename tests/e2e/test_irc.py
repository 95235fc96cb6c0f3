"""The IRC gateway (PROTOCOL.md §9) over raw sockets against the real server: registration
and the welcome, IRC and WebSocket users talking both ways in rooms and privately, a kick seen
by the IRC user, the nick mapping, and bad input answered by the numerics IRC servers use."""
import asyncio
import json
import re
import socket
import time

import pytest
import websockets

from conftest import Server, free_port, ws_request


class IRC:
    """A raw IRC client: lines out, lines awaited by pattern."""

    def __init__(self, server, nick=None, caps=()):
        self.sock = socket.create_connection(("127.0.0.1", server.irc_port), timeout=10)
        self.buffer = b""
        self.seen = []
        if nick:
            if caps:
                self.send("CAP LS 302")
                self.send("CAP REQ :" + " ".join(caps))
            self.send(f"NICK {nick}")
            self.send(f"USER {nick} 0 * :{nick}")
            if caps:
                self.send("CAP END")
            self.expect(r" 376 ")

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")

    def line(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection; seen: %r" % self.seen[-5:])
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\n", 1)
        text = raw.rstrip(b"\r").decode()
        self.seen.append(text)
        return text

    def expect(self, pattern, timeout=10):
        """The first line from now matching `pattern` (a regex), skipping the others."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no line matching {pattern!r}; seen: {self.seen[-10:]}"
            text = self.line(remaining)
            if re.search(pattern, text):
                return text

    def close(self):
        self.sock.close()


async def ws_user(server, name, register=False):
    ws = await websockets.connect(server.ws_url)
    if register:
        reply = await ws_request(ws, "register", {"username": name, "password": f"{name} password"})
    else:
        reply = await ws_request(ws, "login", {"username": name})
    assert reply["action"] == "success", reply
    return ws


async def ws_push(ws, action, timeout=10):
    while True:
        envelope = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if envelope.get("action") == action:
            return envelope["data"]


def test_registration_and_the_welcome(irc_server):
    irc = IRC(irc_server)
    irc.send("CAP LS 302")
    assert "message-tags" in irc.expect(r"CAP \* LS")
    irc.send("JOIN #general")
    assert irc.expect(r" 451 ").endswith(":You have not registered")
    irc.send("NICK ana")
    irc.send("USER ana 0 * :Ana Lima")
    irc.send("CAP END")
    assert irc.expect(r" 001 ana ").startswith(":salon 001 ana :Welcome")
    isupport = irc.expect(r" 005 ")
    for token in ["CASEMAPPING=ascii", "CHANTYPES=#", "PREFIX=(qo)~@", "NICKLEN=33"]:
        assert token in isupport
    irc.expect(r" 376 ")
    # A new user is in #general, so the gateway joins it for them, with its names.
    assert irc.expect(r"JOIN") == ":ana!ana@salon JOIN #general"
    assert "ana" in irc.expect(r" 353 ")
    irc.send("PING :token-1")
    assert irc.expect(r"PONG") == ":salon PONG salon token-1"
    irc.send("PING")
    assert irc.expect(r" 409 ") == ":salon 409 ana :No origin specified"
    irc.send("QUIT :bye")
    assert irc.expect(r"^ERROR") == "ERROR :Closing link: ana (Quit: bye)"
    with pytest.raises(EOFError):
        irc.line()


def test_irc_and_websocket_users_talk_both_ways(irc_server):
    async def run():
        bob = await ws_user(irc_server, "bob")
        irc = IRC(irc_server, "ana", caps=["server-time", "message-tags"])
        irc.expect(r" 366 ana #general ")
        # Web → IRC, in the room, with the tags the client asked for.
        reply = await ws_request(bob, "send_message", {"room": "general", "text": "hi from the web\nsecond line"})
        assert reply["action"] == "success"
        first = irc.expect(r"PRIVMSG #general")
        assert re.match(r"@time=\S+;msgid=\d+ :bob!bob@salon PRIVMSG #general :hi from the web$", first), first
        assert irc.line().endswith("PRIVMSG #general :second line")
        # IRC → web, with IRC bold as Salon's markup.
        irc.send("PRIVMSG #general :hello from \x02irc\x02")
        message = (await ws_push(bob, "receive_message"))["message"]
        assert message["from"] == "ana" and message["room"] == "general" and message["text"] == "hello from *irc*"
        # Private messages, both ways.
        assert (await ws_request(bob, "send_message", {"to": "ana", "text": "psst"}))["action"] == "success"
        assert irc.expect(r"PRIVMSG ana").endswith(":bob!bob@salon PRIVMSG ana psst")
        irc.send("PRIVMSG bob :back at you")
        message = (await ws_push(bob, "receive_message"))["message"]
        assert message["from"] == "ana" and message["to"] == "bob" and message["text"] == "back at you"
        # A web user joining a room shows as a JOIN.
        irc.send("JOIN #side")
        irc.expect(r" 366 ana #side ")
        assert (await ws_request(bob, "join_room", {"room": "side"}))["action"] == "success"
        assert irc.expect(r"JOIN #side") == ":bob!bob@salon JOIN #side"
        irc.close()
        await bob.close()
    asyncio.run(run())


def test_a_kick_reaches_the_irc_user(irc_server):
    async def run():
        owner = await ws_user(irc_server, "olga", register=True)
        assert (await ws_request(owner, "create_room", {"name": "club"}))["action"] == "success"
        irc = IRC(irc_server, "ana")
        irc.send("JOIN #club")
        irc.expect(r" 353 ana = #club :.*~olga")
        assert (await ws_request(owner, "kick", {"room": "club", "username": "ana", "reason": "too loud"}))["action"] == "success"
        assert irc.expect(r"KICK") == ":olga!olga@salon KICK #club ana :too loud"
        irc.send("PRIVMSG #club :still here?")
        assert " 404 ana #club :Cannot send" in irc.expect(r" 404 ")
        irc.close()
        await owner.close()
    asyncio.run(run())


def test_nicks_map_to_usernames_both_ways(irc_server):
    async def run():
        dotted = await ws_user(irc_server, "ana.lima")
        irc = IRC(irc_server)
        irc.send("NICK 7up")
        assert " 432 " in irc.expect(r" 432 ")
        irc.send("NICK `7up")
        irc.send("USER x 0 * :x")
        irc.expect(r" 001 `7up ")
        assert (await ws_request(dotted, "send_message", {"room": "general", "text": "dots"}))["action"] == "success"
        assert irc.expect(r"PRIVMSG #general") == ":ana|lima!ana|lima@salon PRIVMSG #general dots"
        irc.send("PRIVMSG ana|lima :hi dots")
        message = (await ws_push(dotted, "receive_message"))["message"]
        assert message["from"] == "7up" and message["to"] == "ana.lima"
        irc.close()
        await dotted.close()
    asyncio.run(run())


def test_bad_input_gets_the_numerics_and_the_connection_lives(irc_server):
    irc = IRC(irc_server, "ana")
    irc.send("FROB x")
    assert irc.expect(r" 421 ") == ":salon 421 ana FROB :Unknown command"
    irc.send("PRIVMSG #general :" + "x" * 9000)
    assert " 417 " in irc.expect(r" 417 ")
    irc.send(b"PRIVMSG #general :bad \xff\xfe bytes")
    assert "UTF-8" in irc.expect(r"NOTICE ana")
    irc.send(b"PRIVMSG #general :nul\x00here")
    assert "could not be read" in irc.expect(r"NOTICE ana")
    irc.send("PRIVMSG")
    assert " 411 " in irc.expect(r" 411 ")
    irc.send("PRIVMSG #general")
    assert " 412 " in irc.expect(r" 412 ")
    irc.send("PRIVMSG nosuchperson :hello")
    assert irc.expect(r" 401 ") == ":salon 401 ana nosuchperson :No such nick"
    irc.send("JOIN #Not_A*Room")
    assert " 403 " in irc.expect(r" 403 ")
    irc.send("PART #nowhere")
    irc.expect(r" 442 | 403 ")
    irc.send("NICK other")
    assert " 447 " in irc.expect(r" 447 ")
    # A flood of lines: every one answered in order, the connection still serves.
    for i in range(300):
        irc.send(f"PING :p{i}")
    assert irc.expect(r"PONG salon p299", timeout=20)
    irc.send("PING :alive")
    assert irc.expect(r"PONG") == ":salon PONG salon alive"
    irc.close()


def test_a_taken_nick_and_a_registered_one(irc_server):
    async def run():
        owner = await ws_user(irc_server, "reg", register=True)
        irc = IRC(irc_server)
        irc.send("NICK reg")
        irc.send("USER reg 0 * :reg")
        assert "registered account" in irc.expect(r" 433 ")
        irc.send("NICK reg2")
        irc.expect(r" 001 reg2 ")
        other = IRC(irc_server)
        other.send("PASS :reg password")
        other.send("NICK reg")
        other.send("USER reg 0 * :reg")
        other.expect(r" 001 reg ")
        wrong = IRC(irc_server)
        wrong.send("PASS not-the-password")
        wrong.send("NICK reg")
        wrong.send("USER reg 0 * :reg")
        assert " 464 " in wrong.expect(r" 464 ")
        for c in (irc, other, wrong):
            c.close()
        await owner.close()
    asyncio.run(run())


def test_channel_and_user_commands_with_their_numerics(irc_server):
    async def run():
        bob = await ws_user(irc_server, "bob", register=True)
        await (await ws_user(irc_server, "ana", register=True)).close()
        irc = IRC(irc_server)
        irc.send("PASS :ana password")
        irc.send("NICK ana")
        irc.send("USER ana 0 * :Ana")
        irc.expect(r" 376 ")
        # JOIN makes a room that does not exist, with the IRC user as its owner.
        irc.send("JOIN #den")
        assert irc.expect(r" 353 ana = #den") == ":salon 353 ana = #den ~ana"
        assert (await ws_request(bob, "join_room", {"room": "den"}))["action"] == "success"
        irc.expect(r":bob!bob@salon JOIN #den")
        irc.send("TOPIC #den :plans for \x02friday\x02")
        assert irc.expect(r" TOPIC ") == ":ana!ana@salon TOPIC #den :plans for *friday*"
        assert "plans for *friday*" in (await ws_push(bob, "system"))["text"]
        irc.send("TOPIC #den")
        assert irc.expect(r" 332 ") == ":salon 332 ana #den :plans for *friday*"
        # The owner makes bob a moderator from the web: IRC sees +o; bob sets the topic.
        assert (await ws_request(bob, "set_topic", {"room": "den", "topic": "from the web"}))["action"] == "error"
        olga = await ws_user(irc_server, "olga", register=True)
        irc.send("NAMES #den")
        assert irc.expect(r" 353 ana = #den") == ":salon 353 ana = #den :~ana bob"
        irc.expect(r" 366 ana #den ")
        irc.send("LIST")
        irc.expect(r" 321 ")
        assert irc.expect(r" 322 ana #den") == ":salon 322 ana #den 2 :plans for *friday*"
        irc.expect(r" 323 ")
        # LIST with channels: only those.
        irc.send("LIST #den,#nowhere")
        irc.expect(r" 321 ")
        assert irc.line() == ":salon 322 ana #den 2 :plans for *friday*"
        assert irc.line() == ":salon 323 ana :End of /LIST"
        # WHO of a nick: the person, if connected.
        irc.send("WHO bob")
        assert irc.expect(r" 352 ") == ":salon 352 ana * bob salon salon bob H :0 bob"
        irc.expect(r" 315 ana bob ")
        irc.send("WHO nobody")
        irc.expect(r" 315 ana nobody ")
        irc.send("WHOIS bob")
        assert irc.expect(r" 311 ") == ":salon 311 ana bob bob salon * bob"
        assert irc.expect(r" 330 ") == ":salon 330 ana bob bob :is logged in as"
        irc.expect(r" 318 ana bob ")
        irc.send("WHOIS nobody")
        irc.expect(r" 401 ana nobody ")
        irc.send("ISON bob nobody olga")
        assert irc.expect(r" 303 ") == ":salon 303 ana :bob olga"
        irc.send("USERHOST bob")
        assert irc.expect(r" 302 ") == ":salon 302 ana bob=+bob@salon"
        # An account that is not connected: WHOIS says so; ISON leaves it out.
        await (await ws_user(irc_server, "zed", register=True)).close()
        irc.send("WHOIS zed")
        irc.expect(r" 311 ana zed ")
        assert irc.expect(r" 301 ") == ":salon 301 ana zed :is not connected"
        irc.expect(r" 318 ana zed ")
        irc.send("ISON zed bob")
        assert irc.expect(r" 303 ") == ":salon 303 ana bob"
        irc.send("LUSERS")
        assert "There are 3 users" in irc.expect(r" 251 ")
        for command, numeric in [("VERSION", "351"), ("TIME", "391"), ("INFO", "374"), ("AWAY :lunch", "306"), ("AWAY", "305"),
                                 ("WHOWAS bob", "406"), ("MOTD", "376")]:
            irc.send(command)
            irc.expect(rf" {numeric} ana ")
        # KICK by the owner: the web user is told; INVITE to a private room.
        irc.send("KICK #den bob :enough")
        assert irc.expect(r" KICK ") == ":ana!ana@salon KICK #den bob enough"
        kicked = await ws_push(bob, "kicked")
        assert kicked["room"] == "den" and kicked["by"] == "ana" and kicked["reason"] == "enough"
        irc.send("KICK #den olga")
        assert irc.expect(r" 441 ") == ":salon 441 ana olga #den :They aren't on that channel"
        assert (await ws_request(olga, "create_room", {"name": "vault", "private": True}))["action"] == "success"
        irc.send("JOIN #vault")
        irc.expect(r" 473 ana #vault ")
        assert (await ws_request(olga, "invite", {"room": "vault", "username": "ana"}))["action"] == "success"
        irc.send("JOIN #vault")
        assert irc.expect(r" 353 ana = #vault") == ":salon 353 ana = #vault :ana ~olga"
        irc.send("MODE #vault")
        assert irc.expect(r" 324 ") == ":salon 324 ana #vault +nti"
        assert (await ws_request(olga, "set_room_role", {"room": "vault", "username": "ana", "role": "moderator"}))["action"] == "success"
        assert irc.expect(r" MODE #vault") == ":salon MODE #vault +o ana"
        assert (await ws_request(olga, "set_topic", {"room": "vault", "topic": "gold"}))["action"] == "success"
        assert irc.expect(r" TOPIC ") == ":olga!olga@salon TOPIC #vault gold"
        irc.send("INVITE bob #vault")
        assert irc.expect(r" 341 ") == ":salon 341 ana bob #vault"
        irc.close()
        for ws in (bob, olga):
            await ws.close()
    asyncio.run(run())


def test_join_of_a_list_and_join_0_parts_them_all(irc_server):
    irc = IRC(irc_server, "jo")
    irc.expect(r" 366 jo #general ")
    irc.send("JOIN #one,#two")
    irc.expect(r" 366 jo #one ")
    irc.expect(r" 366 jo #two ")
    irc.send("JOIN 0")
    # Every channel but #general, which nobody leaves.
    parted = {irc.expect(r" PART ").split()[-1] for _ in range(2)}
    assert parted == {"#one", "#two"}
    # Nothing is left: a message to one is refused as from someone not on it.
    irc.send("PRIVMSG #one :still here?")
    assert " 404 jo #one " in irc.expect(r" 404 ")
    irc.close()


def test_the_server_pings_and_a_silent_client_is_closed():
    port = free_port()
    server = Server(extra=["--irc-port", str(port), "--irc-ping-interval", "1"])
    server.irc_port = port
    try:
        lively = IRC(server, "ana")
        silent = IRC(server, "bob")
        # Ana answers the server's PINGs and stays; Bob does not, and is closed.
        for _ in range(3):
            token = lively.expect(r"^PING ", timeout=5).split(" ", 1)[1]
            lively.send(f"PONG {token}")
        silent.expect(r"^PING ", timeout=5)
        assert "Ping timeout" in silent.expect(r"^ERROR", timeout=5)
        with pytest.raises(EOFError):
            silent.line(timeout=5)
        lively.send("PING :still")
        assert lively.expect(r"PONG") == ":salon PONG salon still"
    finally:
        assert server.close() == 0


def test_replies_reactions_typing_and_edits_with_and_without_tags(irc_server):
    async def run():
        bob = await ws_user(irc_server, "bob")
        tagged = IRC(irc_server, "ana", caps=["message-tags", "echo-message", "draft/message-redaction"])
        plain = IRC(irc_server, "cy")
        for c in (tagged, plain):
            c.expect(r" 366 \S+ #general ")
        sent = (await ws_request(bob, "send_message", {"room": "general", "text": "question?"}))["data"]["message"]
        msgid = sent["id"]
        assert tagged.expect(r"PRIVMSG #general").startswith(f"@msgid={msgid} ")
        plain.expect(r"PRIVMSG #general :?question\?")
        # A reply from IRC carries +draft/reply; echo-message shows it back with its msgid.
        tagged.send(f"@+draft/reply={msgid} PRIVMSG #general :answer!")
        message = (await ws_push(bob, "receive_message"))["message"]
        assert message["reply_to"] == msgid and message["text"] == "answer!"
        assert re.match(rf"@msgid={message['id']};\+draft/reply={msgid} :ana!ana@salon PRIVMSG #general answer!", tagged.expect(r"answer!"))
        # Without tags, the reply reads with a short quote of what it answers.
        assert plain.expect(r"answer!") == ':ana!ana@salon PRIVMSG #general :(re bob: "question?") answer!'
        # A reaction from IRC, and one from the web seen both ways.
        tagged.send(f"@+draft/react=👍;+draft/reply={msgid} TAGMSG #general")
        reaction = await ws_push(bob, "reaction")
        assert reaction == {"id": msgid, "emoji": "👍", "username": "ana", "added": True, "seq": reaction["seq"]}
        assert (await ws_request(bob, "react", {"id": msgid, "emoji": "🎉"}))["action"] == "success"
        assert tagged.expect(r"TAGMSG") == f"@+draft/react=🎉;+draft/reply={msgid} :bob!bob@salon TAGMSG #general"
        assert "reacted 👍" in plain.expect(r"NOTICE #general")
        assert "reacted 🎉" in plain.expect(r"NOTICE #general")
        # Typing from IRC reaches the web; an edit and a deletion reach IRC.
        tagged.send("@+typing=active TAGMSG #general")
        assert (await ws_push(bob, "typing")) == {"room": "general", "username": "ana"}
        assert (await ws_request(bob, "edit_message", {"id": msgid, "text": "question, edited?"}))["action"] == "success"
        assert tagged.expect(r"NOTICE #general") == f"@+draft/reply={msgid} :bob!bob@salon NOTICE #general :* correction: question, edited?"
        assert plain.expect(r"NOTICE #general :\* correction") == ":bob!bob@salon NOTICE #general :* correction: question, edited?"
        assert (await ws_request(bob, "delete_message", {"id": msgid}))["action"] == "success"
        assert tagged.expect(r"REDACT") == f":salon REDACT #general {msgid}"
        assert plain.expect(r"deleted") == ":salon NOTICE #general :* a message was deleted"
        for c in (tagged, plain):
            c.close()
        await bob.close()
    asyncio.run(run())


def test_sasl_plain_logs_an_account_in(irc_server):
    import base64
    async def run():
        await (await ws_user(irc_server, "reg", register=True)).close()
        irc = IRC(irc_server)
        irc.send("CAP LS 302")
        assert "sasl=PLAIN" in irc.expect(r"CAP \* LS")
        irc.send("CAP REQ :sasl")
        irc.expect(r"CAP \* ACK :?sasl")
        irc.send("NICK someone")
        irc.send("USER reg 0 * :reg")
        irc.send("AUTHENTICATE SCRAM-SHA-256")
        assert irc.expect(r" 908 ") == ":salon 908 someone PLAIN :are available SASL mechanisms"
        irc.expect(r" 904 ")
        irc.send("AUTHENTICATE PLAIN")
        assert irc.expect(r"^AUTHENTICATE") == "AUTHENTICATE +"
        irc.send("AUTHENTICATE " + base64.b64encode(b"\0reg\0wrong password").decode())
        assert "SASL authentication failed" in irc.expect(r" 904 ")
        irc.send("AUTHENTICATE PLAIN")
        irc.expect(r"^AUTHENTICATE \+")
        irc.send("AUTHENTICATE " + base64.b64encode(b"reg\0reg\0reg password").decode())
        assert irc.expect(r" 900 ") == ":salon 900 someone reg!reg@salon reg :You are now logged in as reg"
        irc.expect(r" 903 ")
        irc.send("CAP END")
        # The account's nick is the one it gets.
        assert irc.expect(r" NICK ") == ":someone NICK reg"
        irc.expect(r" 001 reg ")
        irc.send("WHOIS reg")
        assert irc.expect(r" 330 ") == ":salon 330 reg reg reg :is logged in as"
        irc.close()
    asyncio.run(run())


def test_mode_changes_are_moderation_and_oper_is_for_admins(irc_server):
    import subprocess
    from conftest import BINARY
    async def run():
        await (await ws_user(irc_server, "ana", register=True)).close()
        bob = await ws_user(irc_server, "bob", register=True)
        # ana is made an admin in the database, as the README says the first admin is made.
        made = subprocess.run([BINARY, "admin", "set-role", "--data-dir", irc_server.data, "ana", "admin"], capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        irc = IRC(irc_server)
        irc.send("PASS :ana password")
        irc.send("NICK ana")
        irc.send("USER ana 0 * :Ana")
        irc.expect(r" 376 ")
        irc.send("JOIN #den")
        irc.expect(r" 366 ana #den ")
        assert (await ws_request(bob, "join_room", {"room": "den"}))["action"] == "success"
        irc.expect(r"bob!bob@salon JOIN #den")
        irc.send("MODE #den +o bob")
        assert irc.expect(r"MODE #den \+o") == ":ana!ana@salon MODE #den +o bob"
        assert (await ws_push(bob, "system"))["role"] == "moderator"
        irc.send("MODE #den -o+m bob bob")
        irc.expect(r"MODE #den -o bob")
        irc.expect(r"MODE #den \+m bob")
        muted = await ws_request(bob, "send_message", {"room": "den", "text": "can I talk?"})
        assert muted["action"] == "error" and muted["data"]["code"] == "muted"
        irc.send("MODE #den -m bob")
        irc.expect(r"MODE #den -m bob")
        irc.send("MODE #den +b bob!*@*")
        assert irc.expect(r"MODE #den \+b") == ":ana!ana@salon MODE #den +b bob!*@*"
        assert (await ws_push(bob, "banned"))["room"] == "den"
        rejoin = await ws_request(bob, "join_room", {"room": "den"})
        assert rejoin["action"] == "error" and rejoin["data"]["code"] == "banned"
        # The ban list: each ban that holds, then its end.
        irc.send("MODE #den b")
        assert re.match(r":salon 367 ana #den bob!\*@\* ana \d+$", irc.expect(r" 367 "))
        assert irc.expect(r" 368 ") == ":salon 368 ana #den :End of channel ban list"
        irc.send("MODE #den -b bob")
        irc.expect(r"MODE #den -b bob")
        irc.send("MODE #den +b")
        assert " 368 ana #den " in irc.expect(r" 36[78] ")
        assert (await ws_request(bob, "join_room", {"room": "den"}))["action"] == "success"
        irc.send("MODE #den +i")
        irc.expect(r" 472 ana i ")
        irc.send("MODE #den +v bob")
        irc.expect(r" 472 ana v ")
        # OPER: wrong password, another account, then the admin's own credentials.
        irc.send("OPER ana wrong")
        irc.expect(r" 464 ")
        irc.send("OPER bob :bob password")
        irc.expect(r" 491 ")
        irc.send("OPER ana :ana password")
        assert irc.expect(r" 381 ").startswith(":salon 381 ana :You are now an IRC operator")
        # A plain member may not moderate: 482.
        member = IRC(irc_server, "cy")
        member.send("JOIN #den")
        member.expect(r" 366 cy #den ")
        member.send("MODE #den +b ana")
        member.expect(r" 482 cy #den ")
        # The ban list is moderation: a plain member sees none of it (only its end).
        irc.send("MODE #den +b bob")
        irc.expect(r"MODE #den \+b bob")
        member.send("MODE #den b")
        assert member.expect(r" 36[78] ") == ":salon 368 cy #den :End of channel ban list"
        member.send("OPER cy x")
        member.expect(r" 464 | 491 ")
        for c in (irc, member):
            c.close()
        await bob.close()
    asyncio.run(run())


def test_chathistory_in_batches_and_the_other_capabilities(irc_server):
    async def run():
        bob = await ws_user(irc_server, "bob")
        ids = []
        for i in range(10):
            ids.append((await ws_request(bob, "send_message", {"room": "general", "text": f"m{i}"}))["data"]["message"]["id"])
        irc = IRC(irc_server, "ana", caps=["batch", "draft/chathistory", "message-tags", "server-time", "userhost-in-names", "away-notify",
                                           "multi-prefix", "account-notify"])
        assert "CHATHISTORY=200" in "\n".join(irc.seen)
        assert irc.expect(r" 353 ana = #general") == ":salon 353 ana = #general :ana!ana@salon bob!bob@salon"

        def history(command):
            irc.send(command)
            start = irc.expect(r"BATCH \+")
            batch_id = start.split()[2][1:]
            assert start.split()[3:] == ["chathistory", "#general"], start
            texts = []
            while True:
                line = irc.line()
                if line.startswith(f":salon BATCH -{batch_id}"):
                    return texts
                assert line.startswith(f"@batch={batch_id};time="), line
                texts.append(line.rsplit(" ", 1)[1].lstrip(":"))

        assert history("CHATHISTORY LATEST #general * 3") == ["m7", "m8", "m9"]
        assert history(f"CHATHISTORY BEFORE #general msgid={ids[5]} 2") == ["m3", "m4"]
        assert history(f"CHATHISTORY AFTER #general msgid={ids[5]} 2") == ["m6", "m7"]
        assert history(f"CHATHISTORY LATEST #general msgid={ids[7]} 50") == ["m8", "m9"]
        assert history(f"CHATHISTORY BETWEEN #general msgid={ids[1]} msgid={ids[4]} 50") == ["m2", "m3"]
        assert history(f"CHATHISTORY AROUND #general msgid={ids[5]} 4") == ["m3", "m4", "m5", "m6"]
        assert history("CHATHISTORY LATEST #general timestamp=2000-01-01T00:00:00.000Z 2") == ["m8", "m9"]
        irc.send("CHATHISTORY LATEST #nowhere * 5")
        assert irc.expect(r"^:salon FAIL").startswith(":salon FAIL CHATHISTORY INVALID_TARGET #nowhere")
        irc.send("CHATHISTORY SIDEWAYS #general * 5")
        assert " INVALID_PARAMS " in irc.expect(r"FAIL")
        # Private history with a nick.
        assert (await ws_request(bob, "send_message", {"to": "ana", "text": "private one"}))["action"] == "success"
        irc.expect(r"PRIVMSG ana")
        irc.send("CHATHISTORY LATEST bob * 5")
        irc.expect(r"BATCH \+\S+ chathistory bob")
        assert irc.expect(r"PRIVMSG").endswith("PRIVMSG ana :private one")
        # TARGETS: the channels and nicks with a latest message between two times, oldest first.
        irc.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z 10")
        start = irc.expect(r"BATCH \+")
        batch_id = start.split()[2][1:]
        assert start.split()[3:] == ["draft/chathistory-targets"], start
        targets = []
        while not (line := irc.line()).startswith(f":salon BATCH -{batch_id}"):
            assert re.match(rf"@batch={batch_id} :salon CHATHISTORY TARGETS \S+ timestamp=\d{{4}}-", line), line
            targets.append(line.split()[4])
        assert targets == ["#general", "bob"]
        irc.send("CHATHISTORY TARGETS timestamp=2100-01-01T00:00:00.000Z timestamp=2000-01-01T00:00:00.000Z 1")
        start = irc.expect(r"BATCH \+")
        assert irc.line().split()[4] == "#general"
        assert irc.line().startswith(":salon BATCH -")
        irc.send("CHATHISTORY TARGETS * * 5")
        assert " INVALID_PARAMS " in irc.expect(r"FAIL")
        # away-notify: someone who disconnects is away.
        await bob.close()
        assert irc.expect(r" AWAY ") == ":bob!bob@salon AWAY :not connected"
        # TARGETS still answers when a target's history is refused (bob was a guest: gone,
        # so `history` with him is user_not_found).
        irc.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z 10")
        batch_id = irc.expect(r"BATCH \+\S+ draft/chathistory-targets").split()[2][1:]
        left = []
        while not (line := irc.line()).startswith(f":salon BATCH -{batch_id}"):
            left.append(line.split()[4])
        assert left == ["#general"]
        irc.close()
    asyncio.run(run())


def test_account_tag_names_accounts_not_guests(irc_server):
    async def run():
        reg = await ws_user(irc_server, "reg", register=True)
        guest = await ws_user(irc_server, "visitor")
        irc = IRC(irc_server, "ana", caps=["account-tag"])
        irc.expect(r" 366 ana #general ")
        await ws_request(reg, "send_message", {"room": "general", "text": "from an account"})
        assert irc.expect(r"from an account") == "@account=reg :reg!reg@salon PRIVMSG #general :from an account"
        await ws_request(guest, "send_message", {"room": "general", "text": "from a guest"})
        assert irc.expect(r"from a guest") == ":visitor!visitor@salon PRIVMSG #general :from a guest"
        irc.close()
        await reg.close()
        await guest.close()
    asyncio.run(run())


def test_labeled_responses(irc_server):
    irc = IRC(irc_server, "ana", caps=["labeled-response", "batch", "message-tags"])
    irc.send("@label=p1 PING :x")
    assert irc.expect(r"PONG") == "@label=p1 :salon PONG salon x"
    irc.send("@label=j1 JOIN #den")
    start = irc.expect(r"BATCH \+")
    assert re.match(r"@label=j1 :salon BATCH \+(\S+) labeled-response$", start), start
    batch_id = start.split()[3][1:]
    inside = []
    while not (line := irc.line()).startswith(f":salon BATCH -{batch_id}"):
        inside.append(line)
    assert [l.split(" ", 1)[0] for l in inside] == [f"@batch={batch_id}"] * 3
    assert "JOIN #den" in inside[0] and " 353 " in inside[1] and " 366 " in inside[2]
    irc.send("@label=m1 PRIVMSG #den :no echo asked")
    assert irc.expect(r"ACK") == "@label=m1 :salon ACK"
    irc.send("@label=e1 FROB")
    assert irc.expect(r" 421 ") == "@label=e1 :salon 421 ana FROB :Unknown command"
    irc.close()


def test_irc_over_tls_and_the_login_timeout(tmp_path):
    import ssl
    from test_tls import Certificates
    certificates = Certificates(str(tmp_path))
    port, plain_port = free_port(), free_port()
    server = Server(extra=["--irc-tls-port", str(port), "--irc-port", str(plain_port), "--tls-cert", certificates.cert,
                           "--tls-key", certificates.key, "--login-timeout", "2"])
    server.irc_port = plain_port
    try:
        started = "".join(server.lines)
        assert f"IRC on 127.0.0.1:{plain_port}" in started and f"IRC over TLS on ircs://127.0.0.1:{port}" in started
        # Plain IRC beside it, on its own port.
        IRC(server, "cleartext").close()
        irc = IRC.__new__(IRC)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        irc.sock = certificates.context().wrap_socket(raw, server_hostname="localhost")
        irc.buffer, irc.seen = b"", []
        irc.send("NICK ana")
        irc.send("USER ana 0 * :Ana")
        irc.expect(r" 001 ana ")
        irc.send("PING :tls")
        assert irc.expect(r"PONG") == ":salon PONG salon tls"
        # Plain IRC on the TLS port gets nothing but a close.
        plain = socket.create_connection(("127.0.0.1", port), timeout=10)
        plain.sendall(b"NICK bob\r\nUSER bob 0 * :bob\r\n")
        assert b"001" not in plain.recv(4096)
        # A client that never registers is told so and closed at the login timeout.
        idle = IRC.__new__(IRC)
        idle.sock = certificates.context().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
        idle.buffer, idle.seen = b"", []
        idle.send("NICK slow")
        assert "no login within 2 s" in idle.expect(r"^ERROR", timeout=8)
        with pytest.raises((EOFError, ssl.SSLError, ConnectionError)):
            idle.line(timeout=5)
        irc.close()
    finally:
        assert server.close() == 0


def test_names_and_who_follow_every_page_of_a_large_room():
    port = free_port()
    server = Server(extra=["--irc-port", str(port), "--max-connections-per-ip", "0"])
    server.irc_port = port
    try:
        async def run():
            # 520 guests: more than one page of members (500).
            guests = await asyncio.gather(*(ws_user(server, f"g{i:03d}") for i in range(520)))
            irc = IRC(server, "ana")
            # The names of the join at login first (pages of them), then those asked for.
            irc.expect(r" 366 ana #general ")
            irc.send("NAMES #general")
            names = []
            while True:
                line = irc.expect(r" 353 ana = #general | 366 ana #general ")
                if " 366 " in line:
                    break
                names += line.split(" :", 1)[1].split() if " :" in line else [line.rsplit(" ", 1)[1]]
            assert len(set(names)) == len(names) and {f"g{i:03d}" for i in range(520)} <= set(names)
            irc.send("WHO #general")
            who = 0
            while " 315 " not in (line := irc.expect(r" 352 | 315 ")):
                who += 1
            assert who == len(names)
            irc.close()
            await asyncio.gather(*(g.close() for g in guests))
        asyncio.run(run())
    finally:
        assert server.close() == 0
