"""`salon chat`, `salon send` and `salon tail` as people and scripts use them: the chat runs in
a pseudo-terminal (pexpect) and what it shows is rendered by a terminal emulator (pyte), so the
assertions are about the screen a person sees."""
import asyncio
import json
import os
import stat
import subprocess
import time

import pexpect
import pyte
import websockets

from conftest import BINARY, ws_account, ws_request

COLUMNS, ROWS = 100, 30


class Chat:
    """`salon chat` in a pseudo-terminal, with the screen it draws."""

    def __init__(self, home, *args, env_extra=None):
        env = dict(os.environ, HOME=home, TERM="xterm")
        env.pop("NO_COLOR", None)
        env.update(env_extra or {})
        self.raw = ""
        self.child = pexpect.spawn(BINARY, ["chat", *args], env=env, dimensions=(ROWS, COLUMNS), encoding="utf-8")
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)

    def lines(self):
        return [line.rstrip() for line in self.screen.display]

    def text(self):
        return "\n".join(self.lines())

    def wait_for(self, predicate, timeout=20):
        """Reads what the program writes until the screen satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while not predicate(self.text()):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; the screen shows:\n{self.text()}"
            try:
                chunk = self.child.read_nonblocking(4096, timeout=remaining)
                self.raw += chunk
                self.stream.feed(chunk)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                assert predicate(self.text()), f"program ended; the screen shows:\n{self.text()}"
                return
        return self.text()

    def shows(self, text, timeout=20):
        return self.wait_for(lambda screen: text in screen, timeout)

    def type(self, keys):
        self.child.send(keys)

    def input_line(self):
        """The last non-empty line: where the prompt and the typed text are."""
        return [line for line in self.lines() if line][-1]

    def close(self):
        if self.child.isalive():
            self.child.sendcontrol("d")
            self.child.expect(pexpect.EOF, timeout=10)
        self.child.close()
        return self.child.exitstatus


def salon(home, *args, input=None):
    env = dict(os.environ, HOME=home)
    return subprocess.run([BINARY, *args], env=env, input=input, capture_output=True, text=True, timeout=30)



def test_typing_is_never_garbled_by_arriving_messages(server, home):
    chat = Chat(home, "--server", server.ws_url, "--guest", "--user", "ana")
    chat.shows("[#general]>")
    chat.type("half a sente")
    chat.wait_for(lambda s: chat.input_line().endswith("half a sente"))
    for i in range(1, 6):
        assert salon(home, "send", "--server", server.tcp_url, "--guest", "--user", f"bot{i}", "--room", "general", f"incoming number {i}").returncode == 0
    chat.shows("bot5: incoming number 5")
    lines = chat.lines()
    for i in range(1, 6):
        assert any(line.endswith(f"bot{i}: incoming number {i}") for line in lines), chat.text()
    # The half-typed line is still whole, below the messages, and can be finished.
    assert chat.input_line() == "[#general]> half a sente"
    chat.type("nce\r")
    chat.shows("ana: half a sentence")
    # The message line is drawn first, then the prompt beneath it: wait for both.
    chat.wait_for(lambda s: chat.input_line() == "[#general]>")
    # Names are coloured; a mention of ana rings the bell.
    assert "\x1b[" in chat.raw and "\x07" not in chat.raw
    assert salon(home, "send", "--server", server.tcp_url, "--guest", "--user", "eve", "--room", "general", "ana, look").returncode == 0
    chat.shows("eve: ana, look")
    assert "\x07" in chat.raw
    assert chat.close() == 0


def test_no_color_is_respected(server, home):
    chat = Chat(home, "--server", server.ws_url, "--guest", "--user", "ana", env_extra={"NO_COLOR": "1"})
    chat.shows("[#general]>")
    chat.type("plain\r")
    chat.shows("ana: plain")
    assert "\x1b[3" not in chat.raw and "\x1b[1m" not in chat.raw
    assert chat.close() == 0
    # Output that is not a terminal gets no colour either, and no input line.
    out = subprocess.run([BINARY, "chat", "--server", server.ws_url, "--guest", "--user", "piped"], input="hello from a pipe\n",
                         env=dict(os.environ, HOME=home), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert "\x1b" not in out.stdout
    assert "piped: hello from a pipe" in out.stdout


def test_commands(server, home):
    async def bob_registers():
        async with websockets.connect(server.ws_url) as ws:
            await ws_request(ws, "register", {"username": "bob", "password": "bob-password"})
    asyncio.run(bob_registers())

    chat = Chat(home, "--server", server.ws_url, "--guest", "--user", "ana")
    chat.shows("[#general]>")
    chat.type("/help\r")
    chat.shows("/query USER")
    chat.type("/create dev builds and tests\r")
    chat.shows("created #dev")
    chat.wait_for(lambda s: chat.input_line() == "[#dev]>")
    chat.type("/rooms\r")
    chat.shows("#dev 1 members, 1 online — builds and tests")
    chat.type("/who\r")
    chat.shows("1 here: ana [owner]")
    chat.type("first in dev\r")
    chat.shows("ana: first in dev")
    # Tab completes commands and names.
    chat.type("/ms\t")
    chat.wait_for(lambda s: chat.input_line() == "[#dev]> /msg")
    chat.type("bob hello bob\r")
    chat.shows("[@bob] ana: hello bob")
    chat.type("/query bob\r")
    chat.wait_for(lambda s: chat.input_line() == "[@bob]>")
    chat.type("and again\r")
    chat.shows("ana: and again")
    # bob received both private messages (asked while ana, a guest, is still here).
    async def bob_reads():
        async with websockets.connect(server.ws_url) as ws:
            await ws_request(ws, "login", {"username": "bob", "password": "bob-password"})
            history = await ws_request(ws, "history", {"with": "ana"})
            return [m["text"] for m in history["data"]["messages"]]
    assert asyncio.run(bob_reads()) == ["hello bob", "and again"]
    chat.type("/history 2\r")
    chat.wait_for(lambda s: s.count("hello bob") == 2)
    chat.type("/join general\r")
    chat.wait_for(lambda s: chat.input_line() == "[#general]>")
    chat.type("/leave dev\r")
    chat.shows("left #dev")
    chat.type("/leave general\r")
    chat.shows("! everyone stays in #general")
    chat.type("/frobnicate\r")
    chat.shows("! unknown command /frobnicate")
    chat.type("/quit\r")
    chat.child.expect(pexpect.EOF, timeout=10)
    chat.child.close()
    assert chat.child.exitstatus == 0



def test_password_is_asked_twice_without_echo_and_again_when_too_short(server, home):
    chat = Chat(home, "--server", server.ws_url, "--user", "carol", "--register")
    chat.child.expect("Choose a password for carol: ")
    chat.child.sendline("short")
    chat.child.expect("at least 8 characters")
    chat.child.expect("Choose a password for carol: ")
    chat.child.sendline("a long secret")
    chat.child.expect("The same password again: ")
    chat.child.sendline("a long secrex")
    chat.child.expect("differ")
    chat.child.expect("Choose a password for carol: ")
    chat.child.sendline("a long secret")
    chat.child.expect("The same password again: ")
    chat.child.sendline("a long secret")
    chat.shows("Logged in as carol")
    assert "a long secret" not in chat.text()
    assert chat.close() == 0
    sessions = os.path.join(home, ".config", "salon", "sessions.json")
    assert stat.S_IMODE(os.stat(sessions).st_mode) == 0o600
    # The next start needs no password, and no name either.
    again = Chat(home, "--server", server.ws_url)
    again.shows("Logged in as carol")
    assert again.close() == 0


def test_reconnects_after_a_server_restart_and_catches_up(server, home):
    chat = Chat(home, "--server", server.ws_url, "--guest", "--user", "ana")
    chat.shows("[#general]>")
    chat.type("before\r")
    chat.shows("ana: before")
    assert server.stop() == 0
    chat.shows("connection lost")
    chat.type("typed while offline\r")
    chat.shows("will send when reconnected")
    server.start()
    assert salon(home, "send", "--server", server.tcp_url, "--guest", "--user", "dan", "--room", "general", "sent during the outage").returncode == 0
    chat.shows("reconnected", timeout=30)
    chat.shows("dan: sent during the outage")
    chat.shows("ana: typed while offline")
    # Nothing shown twice, nothing stored twice.
    out = salon(home, "tail", "--server", server.tcp_url, "--guest", "--user", "checker", "--no-follow", "-n", "50")
    assert out.stdout.count("typed while offline") == 1
    assert chat.text().count("sent during the outage") == 1
    assert chat.close() == 0


def test_send_then_tail(server, home):
    assert salon(home, "send", "--server", server.ws_url, "--guest", "--user", "script", "--room", "general", "from an argument").returncode == 0
    assert salon(home, "send", "--server", server.tcp_url, "--guest", "--user", "script", "--room", "news", input="") .returncode == 64
    created = salon(home, "send", "--server", server.tcp_url, "--guest", "--user", "script", "--room", "general", input="line one\nline two\n")
    assert created.returncode == 0, created.stderr
    out = salon(home, "tail", "--server", server.ws_url, "--guest", "--user", "reader", "--no-follow", "-n", "5")
    lines = out.stdout.splitlines()
    assert out.returncode == 0
    assert lines[0].endswith("script: from an argument")
    assert lines[1].endswith("script: line one\\nline two")
    out = salon(home, "tail", "--server", server.tcp_url, "--guest", "--user", "reader", "--no-follow", "-n", "1", "--json")
    message = json.loads(out.stdout)
    assert message["text"] == "line one\nline two" and message["room"] == "general"

    # Following: a message sent now appears as one new line.
    env = dict(os.environ, HOME=home)

    async def follow():
        async with websockets.connect(server.ws_url) as watcher:
            await ws_request(watcher, "login", {"username": "watcher"})
            tail = subprocess.Popen([BINARY, "tail", "--server", server.tcp_url, "--guest", "--user", "follower", "-n", "0"],
                                    stdout=subprocess.PIPE, text=True, env=env)
            try:
                # The follower is listening once it is online (its pushes are kept from then on).
                while True:
                    envelope = json.loads(await asyncio.wait_for(watcher.recv(), 10))
                    if envelope["action"] == "presence" and envelope["data"] == {"username": "follower", "online": True}:
                        break
                await ws_request(watcher, "send_message", {"room": "general", "text": "live"})
                line = await asyncio.get_running_loop().run_in_executor(None, tail.stdout.readline)
                assert line.rstrip().endswith("watcher: live")
            finally:
                tail.terminate()
                tail.wait()
    asyncio.run(follow())


def test_clear_errors_and_exit_codes(server, home):
    gone = salon(home, "send", "--server", "tcp://127.0.0.1:1", "--guest", "--user", "x", "--room", "general", "hi")
    assert gone.returncode == 2
    assert gone.stderr.strip().startswith("salon: cannot reach the Salon server at tcp://127.0.0.1:1")
    assert len(gone.stderr.strip().splitlines()) == 1

    async def register():
        async with websockets.connect(server.ws_url) as ws:
            await ws_request(ws, "register", {"username": "erin", "password": "right-password"})
    asyncio.run(register())
    wrong = subprocess.run([BINARY, "send", "--server", server.ws_url, "--user", "erin", "--room", "general", "hi"],
                           env=dict(os.environ, HOME=home, SALON_PASSWORD="wrong-password"), capture_output=True, text=True, timeout=30)
    assert wrong.returncode == 3
    assert wrong.stderr.strip() == "salon: wrong username or password"

    bad_room = salon(home, "send", "--server", server.ws_url, "--guest", "--user", "x", "--room", "No Such Room!", "hi")
    assert bad_room.returncode == 1
    assert "invalid_room_name" in bad_room.stderr

    usage = salon(home, "send", "--server", server.ws_url, "hi")
    assert usage.returncode == 64

    not_an_address = salon(home, "chat", "--server", "http://example", "--guest", "--user", "x")
    assert not_an_address.returncode == 64
    assert "ws://HOST:PORT/ws" in not_an_address.stderr


def number_of(chat, text):
    """The number the chat shows beside the message with this text."""
    import re
    for line in chat.lines():
        m = re.search(r"\[(\d+)\] .*" + re.escape(text), line)
        if m:
            return m.group(1)
    raise AssertionError(f"no numbered line with {text!r}:\n{chat.text()}")


async def ws_push(ws, action, timeout=10):
    while True:
        envelope = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if envelope["action"] == action and "reply_to" not in envelope:
            return envelope["data"]


def test_replies_edits_deletions_reactions_typing_search(server, home):
    chat = Chat(home, "--server", server.ws_url, "--guest", "--user", "ana")
    chat.shows("[#general]>")

    async def scenario():
        bob = await ws_account(server.ws_url, "bob")
        hello = (await ws_request(bob, "send_message", {"room": "general", "text": "hello ana"}))["data"]["message"]
        chat.shows("bob: hello ana")
        n = number_of(chat, "bob: hello ana")
        # /reply N: an answer to that message.
        chat.type(f"/reply {n} thanks bob\r")
        got = await ws_push(bob, "receive_message")
        assert got["message"]["reply_to"] == hello["id"] and got["message"]["text"] == "thanks bob"
        chat.shows(f"↪ [{n}] ana: thanks bob")
        mine = number_of(chat, "ana: thanks bob")
        # /edit: the last message of one's own.
        chat.type("/edit thanks, bob\r")
        updated = await ws_push(bob, "message_updated")
        assert updated["message"]["text"] == "thanks, bob"
        chat.shows(f"[{mine}] edited: ana: thanks, bob")
        # /react N EMOJI
        chat.type(f"/react {n} 👍\r")
        reaction = await ws_push(bob, "reaction")
        assert reaction["emoji"] == "👍" and reaction["id"] == hello["id"]
        # What others do to lines on screen is shown as updates.
        await ws_request(bob, "edit_message", {"id": hello["id"], "text": "hello again ana"})
        chat.shows(f"[{n}] edited: bob: hello again ana")
        await ws_request(bob, "react", {"id": got["message"]["id"], "emoji": "🎉"})
        chat.shows(f"bob reacted 🎉 to [{mine}]")
        await ws_request(bob, "delete_message", {"id": hello["id"]})
        chat.shows(f"[{n}] was deleted")
        # Typing shows in the prompt line, and ends with the message.
        await ws_request(bob, "typing", {"room": "general"})
        chat.wait_for(lambda screen: "(bob is typing…) [#general]>" in chat.input_line())
        await ws_request(bob, "send_message", {"room": "general", "text": "done typing"})
        chat.wait_for(lambda screen: chat.input_line().startswith("[#general]>"))
        # Typing a message tells bob.
        chat.type("half")
        assert (await ws_push(bob, "typing")) == {"room": "general", "username": "ana"}
        chat.type("\x15")  # Ctrl-U: clear the line
        # Search, and history marked as history.
        chat.type("/search typ\r")
        chat.shows("— search \"typ\": 1 found")
        chat.shows("[#general] bob: done typing")
        chat.type("/history abc\r")
        chat.shows("! usage: /history [N]")
        chat.type("/history 3\r")
        chat.shows("— history of #general: the last 3 —")
        chat.shows("— end of history —")
        # /delete: one's last message.
        chat.type("/delete\r")
        deleted = await ws_push(bob, "message_deleted")
        assert deleted["id"] == got["message"]["id"]
        chat.shows(f"[{mine}] was deleted")
        await bob.close()
    asyncio.run(scenario())
    assert chat.close() == 0


def test_login_summary_and_what_changed_while_offline(server, home):
    env = {"SALON_PASSWORD": "ana password"}

    async def prepare():
        ana = await ws_account(server.ws_url, "ana")
        await ana.close()
        bob = await ws_account(server.ws_url, "bob")
        await ws_request(bob, "send_message", {"to": "ana", "text": "psst, ana"})
        await ws_request(bob, "send_message", {"room": "general", "text": "hello all"})
        return bob
    bob = asyncio.run(prepare())
    chat = Chat(home, "--server", server.ws_url, "--user", "ana", env_extra=env)
    chat.shows("Unread: 1 in #general, 1 from bob")
    chat.shows("— history of #general")
    chat.shows("bob: hello all")
    n = number_of(chat, "bob: hello all")

    async def later():
        bob = await websockets.connect(server.ws_url)
        await ws_request(bob, "login", {"username": "bob", "password": "bob password"})
        page = await ws_request(bob, "history", {"room": "general"})
        hello = next(m for m in page["data"]["messages"] if m["text"] == "hello all")
        return bob, hello["id"]

    # Offline while bob edits and reacts: it shows after the reconnection.
    assert server.stop() == 0
    chat.shows("connection lost")
    server.start()

    async def while_away():
        bob, hello = await later()
        await ws_request(bob, "edit_message", {"id": hello, "text": "hello everyone"})
        await ws_request(bob, "send_message", {"room": "general", "text": "are you back?"})
        await bob.close()
    asyncio.run(while_away())
    chat.shows("reconnected", timeout=30)
    chat.shows(f"[{n}] edited: bob: hello everyone")
    chat.shows("bob: are you back?")
    # Nothing shown twice, and no join notice for nobody's join.
    assert chat.text().count("are you back?") == 1
    assert "joined" not in chat.text()
    assert chat.close() == 0


def test_no_join_notice_for_people_already_there_after_a_restart(server, home):
    ana = Chat(home, "--server", server.ws_url, "--guest", "--user", "ana")
    ana.shows("[#general]>")
    ana.type("/create books\r")
    ana.shows("[#books]>")
    bob = Chat(home, "--server", server.ws_url, "--guest", "--user", "bob")
    bob.shows("[#general]>")
    bob.type("/join books\r")
    bob.shows("now in #books")
    ana.shows("bob joined #books")
    bob.type("hi ana\r")
    ana.shows("bob: hi ana")
    assert server.stop() == 0
    ana.shows("connection lost")
    bob.shows("connection lost")
    server.start()
    ana.shows("reconnected", timeout=30)
    bob.shows("reconnected", timeout=30)
    # Both are back in #books, as guests do, and say so to nobody.
    ana.type("still here\r")
    bob.shows("ana: still here")
    bob.type("me too\r")
    ana.shows("bob: me too")
    assert "ana joined" not in bob.text()
    assert ana.text().count("bob joined #books") == 1
    assert ana.close() == 0 and bob.close() == 0


def test_a_kick_is_shown_with_its_reason(server, home):
    async def run():
        ana = await ws_account(server.ws_url, "ana")
        await ws_request(ana, "create_room", {"name": "club"})
        chat = Chat(home, "--server", server.ws_url, "--guest", "--user", "bob")
        chat.shows("[#general]>")
        chat.type("/join club\r")
        chat.shows("[#club]>")
        await ws_request(ana, "kick", {"room": "club", "username": "bob", "reason": "too loud"}, id="k")
        chat.shows("You were kicked from #club by ana: too loud")
        chat.shows("[#general]>")
        assert chat.close() == 0
        await ana.close()
    asyncio.run(run())


def test_topic_op_and_kick_commands(server, home):
    async def run():
        bob = await ws_account(server.ws_url, "bob")
        chat = Chat(home, "--server", server.ws_url, "--guest", "--user", "ana")
        chat.shows("[#general]>")
        chat.type("/create club\r")
        chat.shows("[#club]>")
        await ws_request(bob, "join_room", {"room": "club"}, id="j")
        chat.shows("bob joined #club")
        chat.type("/topic books and tea\r")
        chat.shows("the topic of #club is now: books and tea")
        chat.type("/op bob\r")
        chat.shows("bob is now a moderator of #club")
        chat.type("/deop bob\r")
        chat.shows("bob is now a member of #club")
        chat.type("/kick bob too loud\r")
        chat.shows("bob was kicked from #club: too loud")
        chat.type("/kick nobody\r")
        chat.shows("no user named 'nobody'")
        chat.type("/invite bob\r")
        chat.shows("bob is now in #club")
        pushes = []
        while not any(p["action"] == "room_updated" and not p["data"].get("removed") and p["data"]["room"]["name"] == "club"
                      for p in pushes[next((i for i, p in enumerate(pushes) if p["action"] == "kicked"), len(pushes)):]):
            pushes.append(json.loads(await asyncio.wait_for(bob.recv(), 10)))
        events = [p["data"].get("event") for p in pushes if p["action"] == "system"]
        assert events[-3:] == ["topic", "role", "role"], events
        assert chat.close() == 0
        await bob.close()
    asyncio.run(run())


def test_ban_mute_and_modlog_commands(server, home):
    """/ban with a duration and a reason, /unban, /mute, /unmute and /modlog, and what the
    person acted on sees: the notice, and the prompt saying it is muted."""
    async def run():
        bob = await ws_account(server.ws_url, "bob")
        chat = Chat(home, "--server", server.ws_url, "--guest", "--user", "ana")
        chat.shows("[#general]>")
        chat.type("/create club\r")
        chat.shows("[#club]>")
        await ws_request(bob, "join_room", {"room": "club"}, id="j")
        chat.shows("bob joined #club")
        chat.type("/mute bob 10m calm down\r")
        chat.shows("bob is muted in #club for 10m: calm down")
        refused = await ws_request(bob, "send_message", {"room": "club", "text": "but"}, id="m")
        assert refused["data"]["code"] == "muted" and "calm down" in refused["data"]["message"], refused
        chat.type("/unmute bob\r")
        chat.shows("bob is no longer muted in #club")
        chat.type("/ban bob 2h spam\r")
        chat.shows("bob is banned from #club for 2h: spam")
        joined = await ws_request(bob, "join_room", {"room": "club"}, id="b")
        assert joined["data"]["code"] == "banned", joined
        chat.type("/unban bob\r")
        chat.shows("bob is no longer banned from #club")
        chat.type("/ban nobody\r")
        chat.shows("no user named 'nobody'")
        chat.type("/modlog\r")
        chat.shows("end of the log")
        log = chat.text()
        for line in ("ana unban bob", "ana ban bob for 2h: spam", "ana unmute bob", "ana mute bob for 10m: calm down"):
            assert line in log, log
        assert log.index("ana unban bob") < log.index("ana ban bob for 2h")  # newest first
        # The other side: a muted user's prompt says so; a ban's notice says why and until when.
        assert (await ws_request(bob, "join_room", {"room": "club"}, id="j2"))["action"] == "success"
        other = Chat(home, "--server", server.ws_url, "--guest", "--user", "cleo")
        other.shows("[#general]>")
        other.type("/join club\r")
        other.shows("[#club]>")
        chat.shows("cleo joined #club")
        chat.type("/mute bob\r")
        chat.shows("bob is muted in #club")
        other.shows("bob was muted in #club")
        assert "(muted)" not in other.input_line()
        chat.type("/mute cleo\r")
        other.shows("(muted) [#club]>")
        chat.type("/ban cleo 1h go away\r")
        other.shows("You were banned from #club by ana until")
        other.shows("go away")
        other.shows("[#general]>")
        assert chat.close() == 0 and other.close() == 0
        await bob.close()
    asyncio.run(run())


def test_files_from_the_terminal(server, home, tmp_path):
    """`salon send --file`, `/upload` in `salon chat`, files shown with their download command,
    and `salon download`."""
    env = dict(os.environ, HOME=home, SALON_PASSWORD="ana password")
    notes = tmp_path / "notes.txt"
    notes.write_text("the plan\n")
    spaced = tmp_path / "my report.txt"
    spaced.write_text("report\n")

    async def run():
        await (await ws_account(server.ws_url, "ana")).close()
        bob = await ws_account(server.ws_url, "bob")
        sent = subprocess.run([BINARY, "send", "--server", server.ws_url, "--user", "ana", "--room", "general", "--file", str(notes), "see this"],
                              env=env, capture_output=True, text=True, timeout=30)
        assert sent.returncode == 0, sent.stderr
        push = await ws_push(bob, "receive_message")
        message = push["message"]
        assert message["text"] == "see this" and [f["name"] for f in message["attachments"]] == ["notes.txt"]
        file_id = message["attachments"][0]["id"]
        # Over TCP the HTTP address is given; a file alone needs no text.
        alone = subprocess.run([BINARY, "send", "--server", server.tcp_url, "--http", f"http://127.0.0.1:{server.http_port}",
                                "--user", "ana", "--room", "general", "--file", str(notes)], env=env, capture_output=True, text=True, timeout=30)
        assert alone.returncode == 0, alone.stderr
        assert (await ws_push(bob, "receive_message"))["message"]["text"] == ""

        chat = Chat(home, "--server", server.ws_url, "--user", "ana", env_extra={"SALON_PASSWORD": "ana password"})
        try:
            chat.shows(f"salon download {file_id}")
            assert "📎 notes.txt (9 B)" in chat.text()
            chat.type(f"/upload {spaced} the report\r")
            chat.shows("📎 my report.txt (7 B)")
            assert "ana: the report" in chat.text()
            pushed = (await ws_push(bob, "receive_message"))["message"]
            assert pushed["attachments"][0]["name"] == "my report.txt"
            chat.type("/upload /no/such/file\r")
            chat.shows("! ")
        finally:
            chat.close()
        # The stored session downloads: under its own name, never over a file that is there.
        folder = tmp_path / "downloads"
        folder.mkdir()
        for expected in ("notes.txt", "notes (2).txt"):
            got = subprocess.run([BINARY, "download", "--server", server.ws_url, file_id], env=dict(os.environ, HOME=home), cwd=folder,
                                 capture_output=True, text=True, timeout=30)
            assert got.returncode == 0, got.stderr
            assert (folder / expected).read_text() == "the plan\n"
        out = subprocess.run([BINARY, "download", "--server", server.ws_url, file_id, "-o", "-"], env=dict(os.environ, HOME=home),
                             capture_output=True, timeout=30)
        assert out.stdout == b"the plan\n"
        missing = subprocess.run([BINARY, "download", "--server", server.ws_url, "aaaaaaaaaaaaaaaaaaaaaaaaaa"], env=dict(os.environ, HOME=home),
                                 cwd=folder, capture_output=True, text=True, timeout=30)
        assert missing.returncode == 1 and "file_not_found" in missing.stderr
        assert sorted(os.listdir(folder)) == ["notes (2).txt", "notes.txt"]
        await bob.close()
    asyncio.run(run())
