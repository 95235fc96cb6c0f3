"""Every action of PROTOCOL.md §5 and §5a over real sockets against the real binary: replies,
edits, deletions, reactions, typing, read markers, search, and `sync` catching a client up
after it was away, across a crash of the server, over WebSocket and TCP."""
import asyncio
import json
import os
import signal
import subprocess

import websockets

from conftest import BINARY, Server
from test_hardening import tcp_connect, tcp_request


class Client:
    """One WebSocket connection: requests with their replies, and the pushes kept in order."""

    def __init__(self, ws):
        self.ws = ws
        self.pushes = []
        self.replies = {}
        self.next_id = 0

    @classmethod
    async def connect(cls, server):
        return cls(await websockets.connect(server.ws_url))

    async def _read_until(self, done, timeout=10):
        while not done():
            envelope = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if "reply_to" in envelope:
                self.replies[envelope["reply_to"]] = envelope
            else:
                self.pushes.append(envelope)

    async def request(self, action, data=None):
        self.next_id += 1
        rid = f"r{self.next_id}"
        await self.ws.send(json.dumps({"action": action, "id": rid, "data": data or {}}))
        await self._read_until(lambda: rid in self.replies)
        return self.replies.pop(rid)

    async def ok(self, action, data=None):
        reply = await self.request(action, data)
        assert reply["action"] == "success", reply
        return reply["data"]

    async def push(self, action, match=lambda d: True, timeout=10):
        """The first push of `action` (received or still to come) that matches; it is used up."""
        def found():
            return any(p["action"] == action and match(p["data"]) for p in self.pushes)
        await self._read_until(found, timeout)
        for index, p in enumerate(self.pushes):
            if p["action"] == action and match(p["data"]):
                return self.pushes.pop(index)["data"]

    def seen(self, action):
        return [p["data"] for p in self.pushes if p["action"] == action]

    async def close(self):
        await self.ws.close()


async def account(server, name):
    c = await Client.connect(server)
    data = await c.ok("register", {"username": name, "password": f"{name} password"})
    return c, data


async def sync_all(client, since, limit=500):
    events = []
    while True:
        data = await client.ok("sync", {"since": since, "limit": limit})
        events += data["events"]
        since = data["seq"]
        if not data["has_more"]:
            return events, since


def test_every_message_action(server):
    async def scenario():
        ana, _ = await account(server, "ana")
        bob, _ = await account(server, "bob")
        cy, _ = await account(server, "cy")
        await ana.ok("create_room", {"name": "books"})
        await bob.ok("join_room", {"room": "books"})
        joined = await ana.push("system", lambda d: d.get("event") == "join")
        assert joined["username"] == "bob" and isinstance(joined["seq"], int)

        # send_message and reply_to
        first = (await ana.ok("send_message", {"room": "books", "text": "a question"}))["message"]
        got = await bob.push("receive_message")
        assert got["message"] == first and got["seq"] == first["id"]
        answer = (await bob.ok("send_message", {"room": "books", "text": "an answer", "reply_to": first["id"]}))["message"]
        assert answer["reply_to"] == first["id"]
        elsewhere = (await cy.ok("send_message", {"room": "general", "text": "elsewhere"}))["message"]
        reply = await bob.request("send_message", {"room": "books", "text": "x", "reply_to": elsewhere["id"]})
        assert reply["data"]["code"] == "message_not_found"

        # edit_message: the author only
        edited = (await ana.ok("edit_message", {"id": first["id"], "text": "a better question"}))["message"]
        assert edited["text"] == "a better question" and "edited" in edited
        update = await bob.push("message_updated")
        assert update["message"]["text"] == "a better question" and update["seq"] > answer["id"]
        assert (await bob.request("edit_message", {"id": first["id"], "text": "no"}))["data"]["code"] == "forbidden"
        assert (await cy.request("edit_message", {"id": first["id"], "text": "no"}))["data"]["code"] == "message_not_found"

        # react: once per person, in order
        await bob.ok("react", {"id": first["id"], "emoji": "👍"})
        await bob.ok("react", {"id": first["id"], "emoji": "👍"})
        reaction = await ana.push("reaction")
        assert {k: reaction[k] for k in ("id", "emoji", "username", "added")} == {"id": first["id"], "emoji": "👍", "username": "bob", "added": True}
        await ana.ok("react", {"id": first["id"], "emoji": "🎉"})
        history = (await cy.ok("join_room", {"room": "books"}))["messages"]
        reactions = next(m for m in history if m["id"] == first["id"])["reactions"]
        assert reactions == [{"emoji": "👍", "count": 1, "users": ["bob"]}, {"emoji": "🎉", "count": 1, "users": ["ana"]}]
        await bob.ok("react", {"id": first["id"], "emoji": "👍", "remove": True})
        removed = await ana.push("reaction", lambda d: not d["added"])
        assert removed["username"] == "bob"
        assert (await bob.request("react", {"id": first["id"], "emoji": ""}))["data"]["code"] == "invalid_field"

        # delete_message: a tombstone; the owner may delete others' messages
        assert (await cy.request("delete_message", {"id": answer["id"]}))["data"]["code"] == "forbidden"
        await ana.ok("delete_message", {"id": answer["id"]})
        gone = await bob.push("message_deleted")
        assert gone["id"] == answer["id"] and gone["room"] == "books"
        page = (await bob.ok("history", {"room": "books"}))["messages"]
        tomb = next(m for m in page if m["id"] == answer["id"])
        assert tomb["deleted"] is True and tomb["text"] == "" and "reactions" not in tomb
        assert (await bob.request("edit_message", {"id": answer["id"], "text": "back"}))["data"]["code"] == "message_not_found"

        # typing: ephemeral, to the others only
        await bob.ok("typing", {"room": "books"})
        # A push to bob's own connection would have been written before his reply.
        assert bob.seen("typing") == []
        typing = await ana.push("typing")
        assert typing == {"room": "books", "username": "bob"}
        await ana.ok("typing", {"to": "bob"})
        assert await bob.push("typing") == {"to": "bob", "username": "ana"}

        # mark_read: the user's other devices follow
        phone = await Client.connect(server)
        login = await phone.ok("login", {"username": "bob", "password": "bob password"})
        books = next(r for r in login["rooms"] if r["name"] == "books")
        assert books["unread"] == 0  # bob's own message moved his marker; ana's later edit is no new message
        latest = (await ana.ok("send_message", {"room": "books", "text": "news"}))["message"]
        await phone.ok("mark_read", {"room": "books", "id": latest["id"]})
        read = await bob.push("read")
        assert read["room"] == "books" and read["id"] == latest["id"] and "seq" in read

        # search
        await ana.ok("send_message", {"room": "books", "text": "L'École des femmes"})
        found = (await bob.ok("search", {"query": "ecole"}))["messages"]
        assert [m["text"] for m in found] == ["L'École des femmes"]
        assert [m["text"] for m in (await bob.ok("search", {"query": "bett"}))["messages"]] == ["a better question"]
        assert (await cy.ok("search", {"query": "ecole", "room": "general"}))["messages"] == []
        assert (await bob.request("search", {"query": "   "}))["data"]["code"] == "invalid_field"

        for c in (ana, bob, cy, phone):
            await c.close()
    asyncio.run(scenario())


def test_conversations_follow_the_account(server):
    async def scenario():
        ana, _ = await account(server, "ana")
        bob, _ = await account(server, "bob")
        await ana.close()
        await bob.ok("send_message", {"to": "ana", "text": "are you there?"})
        last = (await bob.ok("send_message", {"to": "ana", "text": "call me"}))["message"]
        fresh = await Client.connect(server)
        login = await fresh.ok("login", {"username": "ana", "password": "ana password"})
        assert login["conversations"] == [{"with": "bob", "unread": 2, "last_message_id": last["id"]}]
        assert isinstance(login["seq"], int) and login["seq"] >= last["id"]
        await fresh.close()
        await bob.close()
    asyncio.run(scenario())


def test_sync_after_a_crash_catches_up_exactly():
    """Bob's laptop is away while things happen; the server is killed (-9) and started again;
    the laptop's sync from its last seq gets exactly the pushes a device that stayed connected
    received, and nothing twice."""
    server = Server()
    try:
        async def before_crash():
            ana, _ = await account(server, "ana")
            laptop, auth = await account(server, "bob")
            await ana.ok("create_room", {"name": "books"})
            await laptop.ok("join_room", {"room": "books"})
            m = (await ana.ok("send_message", {"room": "books", "text": "draft"}))["message"]
            await laptop.push("receive_message")
            last = m["id"]  # the newest event the laptop processed
            await laptop.close()
            watcher = await Client.connect(server)
            await watcher.ok("login", {"token": auth["token"]})
            await ana.ok("edit_message", {"id": m["id"], "text": "final"})
            await ana.ok("react", {"id": m["id"], "emoji": "👍"})
            await ana.ok("send_message", {"to": "bob", "text": "psst"})
            await ana.ok("send_message", {"room": "books", "text": "later"})
            newest = await watcher.push("receive_message", lambda d: d["message"]["text"] == "later")
            live = [p for p in watcher.pushes if "seq" in p["data"]] + [{"action": "receive_message", "data": newest}]
            return auth["token"], last, live
        token, last, live = asyncio.run(before_crash())
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        server.start()

        async def after():
            back = await Client.connect(server)
            await back.ok("login", {"token": token})
            events, seq = await sync_all(back, last, limit=2)
            assert [(e["seq"], e["action"]) for e in events] == [(p["data"]["seq"], p["action"]) for p in live]
            assert [e["action"] for e in events] == ["message_updated", "reaction", "receive_message", "receive_message"]
            for e, p in zip(events, live):
                assert e["data"]["seq"] == e["seq"]
                if e["action"] not in ("receive_message", "message_updated"):
                    assert e["data"] == p["data"]
            again = await back.ok("sync", {"since": seq})
            assert again["events"] == [] and again["has_more"] is False
            assert (await back.request("sync", {"since": seq + 1000}))["data"]["code"] == "invalid_field"
            await back.close()
        asyncio.run(after())
    finally:
        assert server.close() == 0


def test_sync_over_tcp(server):
    with tcp_connect(server) as sock:
        login = tcp_request(sock, "login", {"username": "tcpguest"}, id="1")
        start = login["data"]["seq"]
        sent = tcp_request(sock, "send_message", {"room": "general", "text": "over tcp"}, id="2")["data"]["message"]
        synced = tcp_request(sock, "sync", {"since": start}, id="3")["data"]
        assert [e["data"]["message"]["id"] for e in synced["events"]] == [sent["id"]]
        assert synced["seq"] == sent["id"] and synced["has_more"] is False


def test_tail_follows_across_a_restart_by_sync(server, home):
    """`salon tail` (an account) prints what came while it was away, once."""
    env = dict(os.environ, HOME=home, SALON_PASSWORD="tailer password")
    procs = []

    async def before():
        c, _ = await account(server, "tailer")
        await c.close()
        writer, _ = await account(server, "writer")
        procs.append(subprocess.Popen([BINARY, "tail", "--server", server.tcp_url, "--user", "tailer", "-n", "0"],
                                      stdout=subprocess.PIPE, text=True, env=env))
        # Following once it is online.
        await writer.push("presence", lambda d: d == {"username": "tailer", "online": True}, timeout=20)
        await writer.ok("send_message", {"room": "general", "text": "ping"})
        line = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, procs[0].stdout.readline), 20)
        assert line.rstrip().endswith("writer: ping")
        await writer.close()

    async def after():
        writer = await Client.connect(server)
        await writer.ok("login", {"username": "writer", "password": "writer password"})
        for i in range(3):
            await writer.ok("send_message", {"room": "general", "text": f"after {i}"})
        lines = []
        while len(lines) < 3:
            line = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, procs[0].stdout.readline), 30)
            if "after" in line:
                lines.append(line.rstrip())
        assert [line.split(": ", 1)[1] for line in lines] == ["after 0", "after 1", "after 2"]
        # Nothing twice: the next line is the next message.
        await writer.ok("send_message", {"room": "general", "text": "the end"})
        line = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, procs[0].stdout.readline), 20)
        assert line.rstrip().endswith("writer: the end")
        await writer.close()

    try:
        asyncio.run(before())
        assert server.stop() == 0
        server.start()
        asyncio.run(after())
    finally:
        for p in procs:
            p.terminate()
            p.wait()
