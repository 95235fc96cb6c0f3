"""`salon admin` against the database of a running server: the change is applied at once."""
import asyncio
import json
import os
import subprocess

import websockets

from conftest import BINARY, Server, postgres_database, ws_account, ws_request


async def until_role(ws, role):
    while True:
        envelope = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if envelope["action"] == "system" and envelope["data"].get("user_role") == role:
            return envelope


def admin(*args):
    return subprocess.run([BINARY, "admin", *args], capture_output=True, text=True, timeout=60)


def test_set_role_makes_the_first_admin_on_a_running_server(server):
    async def run():
        root = await ws_account(server.ws_url, "root")
        bob = await ws_account(server.ws_url, "bob")
        assert (await ws_request(root, "set_role", {"username": "bob", "role": "admin"}))["data"]["code"] == "forbidden"
        done = admin("set-role", "root", "admin", "--data-dir", server.data)
        assert done.returncode == 0 and "root is now an admin" in done.stdout, done.stderr
        await until_role(root, "admin")  # the open connection, at once
        assert (await ws_request(root, "set_role", {"username": "bob", "role": "admin"}, id="2"))["action"] == "success"
        await until_role(bob, "admin")
        missing = admin("set-role", "nobody", "admin", "--data-dir", server.data)
        assert missing.returncode == 1 and "no account named 'nobody'" in missing.stderr
        assert admin("set-role", "root", "king", "--data-dir", server.data).returncode == 64
        # The server goes on writing with the right sequence after the outside write.
        reply = await ws_request(bob, "send_message", {"room": "general", "text": "after"}, id="m")
        assert reply["action"] == "success"
        page = await ws_request(bob, "sync", {"since": 0}, id="s")
        seqs = [e["seq"] for e in page["data"]["events"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
        await root.close()
        await bob.close()
    asyncio.run(run())


def test_set_role_reaches_every_node_of_a_cluster():
    url = postgres_database()
    nodes = [Server(extra=["--db", url, "--node-name", name]) for name in ("alpha", "beta")]
    try:
        async def run():
            ana = await ws_account(nodes[1].ws_url, "ana")
            done = admin("set-role", "ana", "admin", "--db", url)
            assert done.returncode == 0, done.stderr
            await until_role(ana, "admin")
            await ana.close()
        asyncio.run(run())
    finally:
        for node in nodes:
            node.close()


async def until_push(ws, action, **fields):
    """The next push `action` whose data has `fields` (pushes in between are skipped)."""
    while True:
        envelope = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if envelope["action"] == action and all(envelope["data"].get(k) == v for k, v in fields.items()):
            return envelope


async def until_closed(ws):
    """Reads until the server closes the connection; returns the close code."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def login(url, **data):
    ws = await websockets.connect(url)
    reply = await ws_request(ws, "login", data)
    return ws, reply


def test_admin_subcommands_on_a_running_server(server):
    """users, create-user, ban/unban, rooms, delete-room, revoke-tokens, reset-password: each
    applies at once to the running server, and says what it did (--json for scripts)."""
    data = ["--data-dir", server.data]

    async def run():
        root = await ws_account(server.ws_url, "root")
        bob = await ws_account(server.ws_url, "bob")
        # users: both, with roles and a last login.
        listed = admin("users", "--json", *data)
        assert listed.returncode == 0, listed.stderr
        users = {u["username"]: u for u in json.loads(listed.stdout)}
        assert users["bob"]["role"] == "user" and users["bob"]["last_seen"], users
        text = admin("users", *data)
        assert "bob" in text.stdout and "LAST SEEN" in text.stdout
        # create-user: the password from SALON_PASSWORD; the name must be free.
        env = {**os.environ, "SALON_PASSWORD": "carol's password"}
        made = subprocess.run([BINARY, "admin", "create-user", "carol", "--role", "admin", *data], capture_output=True, text=True, env=env, timeout=60)
        assert made.returncode == 0 and "created carol (admin)" in made.stdout, made.stderr
        carol, reply = await login(server.ws_url, username="carol", password="carol's password")
        assert reply["action"] == "success" and reply["data"]["user"]["role"] == "admin", reply
        taken = subprocess.run([BINARY, "admin", "create-user", "Bob", *data], capture_output=True, text=True, env=env, timeout=60)
        assert taken.returncode == 1 and "taken" in taken.stderr
        short = subprocess.run([BINARY, "admin", "create-user", "dave", *data], capture_output=True, text=True,
                               env={**os.environ, "SALON_PASSWORD": "short"}, timeout=60)
        assert short.returncode == 64 and "8 characters" in short.stderr
        # ban: bob's open connection is told and closed; login answers banned; unban.
        banned = admin("ban", "bob", "--reason", "spam", *data)
        assert banned.returncode == 0 and "bob is banned" in banned.stdout, banned.stderr
        push = await until_push(bob, "banned")
        assert push["data"]["reason"] == "spam" and push["data"]["by"] == "salon admin"
        assert await until_closed(bob) == 1008
        again, reply = await login(server.ws_url, username="bob", password="bob password")
        assert reply["data"]["code"] == "banned" and "spam" in reply["data"]["message"], reply
        await again.close()
        assert "banned" in {u["username"]: u for u in json.loads(admin("users", "--json", *data).stdout)}["bob"]
        assert admin("ban", "carol", *data).returncode == 1  # an admin
        assert admin("ban", "nobody", *data).returncode == 1
        lifted = admin("unban", "bob", *data)
        assert lifted.returncode == 0 and "no longer banned" in lifted.stdout
        assert "was not banned" in admin("unban", "bob", *data).stdout
        log = await ws_request(carol, "moderation_log", {}, id="log")
        assert [e["action"] for e in log["data"]["entries"]][:2] == ["unban", "ban"], log
        # The server applies outside commits in seq order: once carol hears of a later one,
        # it has the unban too, and bob logs in.
        assert admin("set-role", "carol", "admin", *data).returncode == 0
        await until_role(carol, "admin")
        bob, reply = await login(server.ws_url, username="bob", password="bob password")
        assert reply["action"] == "success", reply
        token = reply["data"]["token"]
        # rooms and delete-room: the members are told at once.
        assert (await ws_request(root, "create_room", {"name": "club", "topic": "t"}, id="c"))["action"] == "success"
        rooms = {r["name"]: r for r in json.loads(admin("rooms", "--json", *data).stdout)}
        assert rooms["club"]["members"] == 1 and rooms["club"]["topic"] == "t" and "general" in rooms
        assert admin("delete-room", "general", *data).returncode == 1
        assert admin("delete-room", "nowhere", *data).returncode == 1
        deleted = admin("delete-room", "club", *data)
        assert deleted.returncode == 0 and "#club was deleted" in deleted.stdout
        gone = await until_push(root, "room_updated", removed=True)
        assert gone["data"]["room"]["name"] == "club"
        # revoke-tokens: bob's connection closes and its token no longer works.
        assert admin("revoke-tokens", "bob", *data).returncode == 0
        await until_push(bob, "system", event="revoked")
        assert await until_closed(bob) == 1000
        stale, reply = await login(server.ws_url, token=token)
        assert reply["data"]["code"] == "auth_failed", reply
        await stale.close()
        # reset-password: a new password, shown once; the old one fails.
        reset = admin("reset-password", "bob", "--json", *data)
        assert reset.returncode == 0, reset.stderr
        password = json.loads(reset.stdout)["password"]
        old, reply = await login(server.ws_url, username="bob", password="bob password")
        assert reply["data"]["code"] == "auth_failed"
        await old.close()
        new, reply = await login(server.ws_url, username="bob", password=password)
        assert reply["action"] == "success", reply
        for ws in (root, carol, new):
            await ws.close()
    asyncio.run(run())
