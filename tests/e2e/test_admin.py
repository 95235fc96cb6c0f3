"""`salon admin` against the database of a running server: the change is applied at once."""
import asyncio
import json
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
