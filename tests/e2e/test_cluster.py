"""Several `salon serve` nodes sharing one PostgreSQL behave as one server: what one node's
clients do reaches the other's, once and in seq order; losing a node loses nothing."""
import asyncio
import json
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import websockets

from conftest import BINARY, Server, postgres_database, ws_account, ws_request
from test_hardening import tcp_connect, tcp_recv, tcp_send


@pytest.fixture
def cluster():
    """Two nodes on one new database, started at the same moment (they migrate it once,
    under PostgreSQL's advisory lock)."""
    url = postgres_database()
    with ThreadPoolExecutor(2) as pool:
        nodes = list(pool.map(lambda name: Server(extra=["--db", url, "--node-name", name]), ["alpha", "beta"]))
    yield nodes
    for node in nodes:
        node.close()


def seq_of(envelope):
    return (envelope.get("data") or {}).get("seq")


class TcpClient:
    """A TCP-frames client that keeps the pushes arriving while it waits for replies."""

    def __init__(self, node):
        self.sock = tcp_connect(node)
        self.sock.settimeout(10)
        self.pushes = []

    def request(self, action, data=None, id="r"):
        tcp_send(self.sock, {"action": action, "id": id, "data": data or {}})
        while True:
            envelope = tcp_recv(self.sock)
            if envelope.get("reply_to") == id:
                return envelope
            self.pushes.append(envelope)

    def push(self):
        envelope = tcp_recv(self.sock)
        self.pushes.append(envelope)
        return envelope


def test_two_nodes_are_one_server(cluster):
    alpha, beta = cluster
    for node, name in ((alpha, "alpha"), (beta, "beta")):
        with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/healthz", timeout=10) as response:
            assert response.read().decode() == f"ok node={name}\n"

    async def run():
        ana = await ws_account(alpha.ws_url, "ana")  # WebSocket on alpha
        eye = await websockets.connect(alpha.ws_url)  # a guest on alpha that only reads
        assert (await ws_request(eye, "login", {"username": "eye"}))["action"] == "success"
        bob = TcpClient(beta)                         # TCP frames on beta
        assert bob.request("register", {"username": "bob", "password": "bob password"})["action"] == "success"
        # Interleaved senders on both nodes.
        ids = []
        for i in range(10):
            reply = await ws_request(ana, "send_message", {"room": "general", "text": f"ana {i}"}, id=f"a{i}")
            ids.append(reply["data"]["message"]["id"])
            reply = bob.request("send_message", {"room": "general", "text": f"bob {i}"}, id=f"b{i}")
            ids.append(reply["data"]["message"]["id"])
        assert ids == sorted(ids) and len(set(ids)) == 20, ids
        # Bob (TCP, beta) received ana's ten messages as pushes, in order.
        def texts_of(envelopes):
            return [e["data"]["message"]["text"] for e in envelopes if e["action"] == "receive_message"]
        while len(texts_of(bob.pushes)) < 10:
            bob.push()
        assert texts_of(bob.pushes) == [f"ana {i}" for i in range(10)], bob.pushes
        seen = [seq_of(e) for e in bob.pushes if seq_of(e) is not None]
        assert seen == sorted(seen) and len(set(seen)) == len(seen), seen
        # A WebSocket client on alpha received everything, in order, once.
        received = []
        while len(texts_of(received)) < 20:
            received.append(json.loads(await asyncio.wait_for(eye.recv(), 10)))
        assert texts_of(received) == [f"{who} {i}" for i in range(10) for who in ("ana", "bob")], texts_of(received)
        seen = [seq_of(e) for e in received if seq_of(e) is not None]
        assert seen == sorted(seen) and len(set(seen)) == len(seen), seen
        await eye.close()
        # A private message from beta to someone who registered on alpha.
        assert bob.request("send_message", {"to": "ana", "text": "psst"}, id="dm")["action"] == "success"
        while True:
            envelope = json.loads(await asyncio.wait_for(ana.recv(), 10))
            if envelope["action"] == "receive_message" and envelope["data"]["message"].get("to") == "ana":
                break
        # A guest on beta cannot take a name registered on alpha.
        async with websockets.connect(beta.ws_url) as ws:
            assert (await ws_request(ws, "login", {"username": "ana"}))["data"]["code"] == "password_required"
        await ana.close()
        bob.sock.close()
    asyncio.run(run())


def test_killing_a_node_under_load_loses_nothing_and_its_clients_catch_up_elsewhere(cluster):
    alpha, beta = cluster

    async def run():
        watcher = await websockets.connect(beta.ws_url)  # stays on beta throughout
        registered = await ws_request(watcher, "register", {"username": "watcher", "password": "watcher password"})
        token = registered["data"]["token"]
        senders = [await ws_account(alpha.ws_url, f"s{i}") for i in range(4)]
        reader = await websockets.connect(alpha.ws_url)  # the watcher's second device, on alpha
        last_seq = (await ws_request(reader, "login", {"token": token}))["data"]["seq"]
        acked = {}          # client_msg_id → id
        under_load = asyncio.Event()  # set once 300 messages are acknowledged
        sent = {}           # client_msg_id → (sender index, text)

        async def send_loop(index, ws, count):
            for n in range(count):
                cid = f"s{index}-{n}"
                sent[cid] = (index, f"s{index} #{n}")
                try:
                    reply = await ws_request(ws, "send_message", {"room": "general", "text": f"s{index} #{n}", "client_msg_id": cid}, id=cid)
                except (websockets.ConnectionClosed, asyncio.TimeoutError, OSError):
                    return n
                if reply["action"] == "success":
                    acked[cid] = reply["data"]["message"]["id"]
                    if len(acked) >= 300:
                        under_load.set()
            return count

        async def read_loop():
            nonlocal last_seq
            try:
                while True:
                    envelope = json.loads(await reader.recv())
                    if seq_of(envelope) is not None and "reply_to" not in envelope:
                        last_seq = max(last_seq, seq_of(envelope))
            except (websockets.ConnectionClosed, OSError):
                return

        reading = asyncio.create_task(read_loop())
        sending = [asyncio.create_task(send_loop(i, ws, 400)) for i, ws in enumerate(senders)]
        # Under load: kill -9 alpha once a good part is acknowledged.
        await asyncio.wait_for(under_load.wait(), 60)
        alpha.process.kill()
        alpha.process.wait(timeout=10)
        stopped_at = await asyncio.gather(*sending)
        await reading
        # The senders reconnect to beta and send again what was not acknowledged (the same
        # client_msg_id: stored once), then the rest.
        for index in range(4):
            async with websockets.connect(beta.ws_url) as ws:
                reply = await ws_request(ws, "login", {"username": f"s{index}", "password": f"s{index} password"})
                assert reply["action"] == "success", reply
                for n in range(400):
                    cid = f"s{index}-{n}"
                    if cid in acked:
                        continue
                    reply = await ws_request(ws, "send_message", {"room": "general", "text": f"s{index} #{n}", "client_msg_id": cid}, id=cid)
                    assert reply["action"] == "success", reply
                    acked[cid] = reply["data"]["message"]["id"]
        assert len(acked) == 1600 and stopped_at != [400] * 4
        # Every acknowledged message is in the history once, with its id.
        history = []
        before = None
        while True:
            page = await ws_request(watcher, "history", {"room": "general", "limit": 200, **({"before": before} if before else {})}, id="h")
            messages = page["data"]["messages"]
            history = messages + history
            if not page["data"]["has_more"] or not messages:
                break
            before = messages[0]["id"]
        ids = [m["id"] for m in history]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert sorted(acked.values()) == sorted(i for i, m in zip(ids, history) if m["text"].startswith("s"))
        # The device that was on alpha catches up on beta by sync from its last seq: exactly
        # the messages it had not seen, once each, in order.
        async with websockets.connect(beta.ws_url) as ws:
            assert (await ws_request(ws, "login", {"token": token}))["action"] == "success"
            events = []
            since = last_seq
            while True:
                page = await ws_request(ws, "sync", {"since": since, "limit": 500}, id="s")
                assert page["action"] == "success", page
                events += page["data"]["events"]
                since = page["data"]["seq"]
                if not page["data"]["has_more"]:
                    break
            seqs = [e["seq"] for e in events]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
            got = {e["data"]["message"]["id"] for e in events if e["action"] == "receive_message"}
            assert got == {i for i in acked.values() if i > last_seq}
        await watcher.close()
    asyncio.run(run())


def test_an_unreachable_database_is_a_clear_error_at_start():
    result = subprocess.run([BINARY, "serve", "--port", "0", "--tcp-port", "0", "--db", "postgres://salon:x@127.0.0.1:1/salon"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "cannot use the PostgreSQL database at postgres://salon:***@127.0.0.1:1/salon" in result.stdout + result.stderr
    assert "Connection refused" in result.stdout + result.stderr


@pytest.fixture
def proxied(cluster, tmp_path):
    """nginx in front of both nodes, with deploy/nginx/salon.conf (the documented file) and
    only the addresses changed."""
    import os
    import re
    import shutil
    import time
    from conftest import ROOT, free_port
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.path.exists(nginx), "nginx is not installed (./scripts/test installs it)"
    alpha, beta = cluster
    port = free_port()
    site = open(os.path.join(ROOT, "deploy", "nginx", "salon.conf")).read()
    site = site.replace("127.0.0.1:8081", f"127.0.0.1:{alpha.http_port}").replace("127.0.0.1:8082", f"127.0.0.1:{beta.http_port}")
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{port};", site)
    (tmp_path / "salon.conf").write_text(site)
    for folder in ("logs", "temp"):
        (tmp_path / folder).mkdir()
    (tmp_path / "nginx.conf").write_text(f"""
daemon off;
master_process off;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/temp/body;
    proxy_temp_path {tmp_path}/temp/proxy;
    fastcgi_temp_path {tmp_path}/temp/fastcgi;
    uwsgi_temp_path {tmp_path}/temp/uwsgi;
    scgi_temp_path {tmp_path}/temp/scgi;
    include {tmp_path}/salon.conf;
}}
""")
    process = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while True:  # nginx says nothing when it is ready: its port answering is the event
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read() if process.poll() is not None else "nginx did not start"
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(timeout=10)


def test_behind_nginx_a_lost_node_is_only_a_reconnection(cluster, proxied):
    alpha, beta = cluster
    url = f"ws://127.0.0.1:{proxied}/ws"
    nodes = set()
    for _ in range(4):
        with urllib.request.urlopen(f"http://127.0.0.1:{proxied}/healthz", timeout=10) as response:
            nodes.add(response.read().decode().strip())
    assert nodes == {"ok node=alpha", "ok node=beta"}

    async def run():
        ana = await websockets.connect(url)
        token = (await ws_request(ana, "register", {"username": "ana", "password": "ana password"}))["data"]["token"]
        first = await ws_request(ana, "send_message", {"room": "general", "text": "before"}, id="m1")
        seq = first["data"]["message"]["id"]
        await ana.close()
        # Whichever node ana was on, one dies; the proxy takes the next connection elsewhere.
        alpha.process.kill()
        alpha.process.wait(timeout=10)
        async with websockets.connect(beta.ws_url) as bob:
            assert (await ws_request(bob, "login", {"username": "bob"}))["action"] == "success"
            await ws_request(bob, "send_message", {"room": "general", "text": "while ana was away"}, id="m2")
        async with websockets.connect(url) as again:
            assert (await ws_request(again, "login", {"token": token}))["action"] == "success"
            page = await ws_request(again, "sync", {"since": seq}, id="s")
            texts = [e["data"]["message"]["text"] for e in page["data"]["events"] if e["action"] == "receive_message"]
            assert texts == ["while ana was away"], page
    asyncio.run(run())


def test_presence_spans_nodes_and_a_dead_nodes_people_go_offline(cluster):
    alpha, beta = cluster

    async def until_presence(ws, name, online, timeout):
        async def wait():
            while True:
                envelope = json.loads(await ws.recv())
                if envelope["action"] == "presence" and envelope["data"] == {"username": name, "online": online}:
                    return
        await asyncio.wait_for(wait(), timeout)

    async def run():
        watcher = await websockets.connect(beta.ws_url)
        assert (await ws_request(watcher, "login", {"username": "watcher"}))["action"] == "success"
        gus = await websockets.connect(alpha.ws_url)
        assert (await ws_request(gus, "login", {"username": "gus"}))["action"] == "success"
        await until_presence(watcher, "gus", True, 10)
        users = (await ws_request(watcher, "list_users", id="u"))["data"]["users"]
        assert {"username": "gus", "role": "guest", "online": True} in users, users
        async with websockets.connect(beta.ws_url) as other:
            assert (await ws_request(other, "login", {"username": "gus"}))["data"]["code"] == "username_taken"
        # alpha dies without a word: after its missed beats (15 s), beta says gus is offline.
        alpha.process.kill()
        alpha.process.wait(timeout=10)
        await until_presence(watcher, "gus", False, 40)
        async with websockets.connect(beta.ws_url) as other:
            assert (await ws_request(other, "login", {"username": "gus"}))["action"] == "success"
        await watcher.close()
    asyncio.run(run())


def test_bench_drives_several_nodes(cluster):
    alpha, beta = cluster
    out = subprocess.run(
        [BINARY, "bench", "fanout", "--clients", "12", "--senders", "2", "--rate", "50", "--duration", "1",
         "--server", f"127.0.0.1:{alpha.http_port}:{alpha.tcp_port}", "--server", f"127.0.0.1:{beta.http_port}:{beta.tcp_port}"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    step = report["steps"][0]
    assert report["ok"] and step["delivered"] == step["expected"] == 50 * 11
    assert step["crossNodeP99Ms"] > 0


def test_the_database_going_away_loses_nothing_acknowledged_and_the_node_recovers():
    """A PostgreSQL of its own, stopped and started again on the same port under a node."""
    import os
    import shutil
    import tempfile
    import time
    from conftest import ROOT, free_port
    pg = tempfile.mkdtemp(prefix="salon-outage-")  # not under pytest's tmp_path: the postgres user must reach it
    port = free_port()
    script = os.path.join(ROOT, "scripts", "postgres")
    server_url = subprocess.run([script, "start", pg, str(port)], check=True, capture_output=True, text=True).stdout.strip()
    try:
        subprocess.run(["psql", server_url, "-q", "-c", "CREATE DATABASE outage"], check=True, capture_output=True)
        node = Server(extra=["--db", server_url.rsplit("/", 1)[0] + "/outage?sslmode=disable"])
        try:
            async def run():
                ws = await ws_account(node.ws_url, "ana")
                acked = []
                reply = await ws_request(ws, "send_message", {"room": "general", "text": "before", "client_msg_id": "c0"}, id="m0")
                assert reply["action"] == "success"
                acked.append(reply["data"]["message"]["id"])
                subprocess.run([script, "stop", pg], check=True)
                async def slow_request(action, data, id):
                    """A request whose reply may take the store's deadline (10 s) and more."""
                    await ws.send(json.dumps({"action": action, "id": id, "data": data}))
                    while True:
                        envelope = json.loads(await asyncio.wait_for(ws.recv(), 60))
                        if envelope.get("reply_to") == id:
                            return envelope
                # While it is down: a clear refusal, no acknowledgement; the connection stays.
                reply = await slow_request("send_message", {"room": "general", "text": "during", "client_msg_id": "c1"}, "m1")
                assert reply["action"] == "error" and reply["data"]["code"] == "internal", reply
                subprocess.run([script, "start", pg, str(port)], check=True, capture_output=True)
                # Back: the same message, sent again with its client_msg_id, is stored once.
                deadline = time.monotonic() + 60
                attempt = 0
                while True:
                    attempt += 1
                    reply = await slow_request("send_message", {"room": "general", "text": "during", "client_msg_id": "c1"}, f"r{attempt}")
                    if reply["action"] == "success":
                        break
                    assert time.monotonic() < deadline, reply
                    await asyncio.sleep(0.5)  # the pool reconnects with growing pauses: nothing to await but a try
                acked.append(reply["data"]["message"]["id"])
                page = await ws_request(ws, "history", {"room": "general", "limit": 10}, id="h")
                assert [m["text"] for m in page["data"]["messages"]] == ["before", "during"]
                assert [m["id"] for m in page["data"]["messages"]] == acked
                await ws.close()
            asyncio.run(run())
        finally:
            node.close()
    finally:
        subprocess.run([script, "stop", pg])
        shutil.rmtree(pg, ignore_errors=True)


def test_terminal_clients_take_several_nodes_and_move_on_when_one_dies(cluster, tmp_path):
    import os
    alpha, beta = cluster
    servers = f"{alpha.ws_url},{beta.ws_url}"
    env = dict(os.environ, HOME=str(tmp_path), SALON_PASSWORD="tom password")

    async def run():
        async with websockets.connect(beta.ws_url) as ws:
            assert (await ws_request(ws, "register", {"username": "tom", "password": "tom password"}))["action"] == "success"
        watcher = await websockets.connect(beta.ws_url)
        assert (await ws_request(watcher, "login", {"username": "watcher"}))["action"] == "success"
        await ws_request(watcher, "send_message", {"room": "general", "text": "zero"}, id="0")
        tail = subprocess.Popen([BINARY, "tail", "--server", servers, "--user", "tom", "-n", "1"], stdout=subprocess.PIPE, text=True, env=env)
        loop = asyncio.get_running_loop()
        try:
            # tail is logged in on alpha (the first address) once it has shown the last message.
            assert (await asyncio.wait_for(loop.run_in_executor(None, tail.stdout.readline), 30)).rstrip().endswith("watcher: zero")
            await ws_request(watcher, "send_message", {"room": "general", "text": "one"}, id="1")
            assert (await loop.run_in_executor(None, tail.stdout.readline)).rstrip().endswith("watcher: one")
            alpha.process.kill()
            alpha.process.wait(timeout=10)
            # Said while tail moves to beta: it catches up by sync, then follows.
            await ws_request(watcher, "send_message", {"room": "general", "text": "two"}, id="2")
            line = await asyncio.wait_for(loop.run_in_executor(None, tail.stdout.readline), 60)
            assert line.rstrip().endswith("watcher: two"), line
            await ws_request(watcher, "send_message", {"room": "general", "text": "three"}, id="3")
            assert (await asyncio.wait_for(loop.run_in_executor(None, tail.stdout.readline), 30)).rstrip().endswith("watcher: three")
        finally:
            tail.terminate()
            tail.wait()
        # `salon send` with the first node gone goes to the next.
        sent = subprocess.run([BINARY, "send", "--server", servers, "--user", "tom", "--room", "general", "four"], env=env, capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr
        await watcher.close()
    asyncio.run(run())


def test_a_file_uploaded_on_one_node_is_served_by_the_other(cluster):
    """Contents live in PostgreSQL: any node serves any file, to whom it was shared with,
    and a membership made on the other node a moment ago counts at once."""
    import requests
    alpha, beta = cluster

    async def run():
        ana = await websockets.connect(alpha.ws_url)
        ana_token = (await ws_request(ana, "register", {"username": "ana", "password": "ana password"}))["data"]["token"]
        bob = await websockets.connect(beta.ws_url)
        bob_token = (await ws_request(bob, "register", {"username": "bob", "password": "bob password"}))["data"]["token"]
        content = bytes(range(256)) * 12_000  # 3 MB: several parts of PostgreSQL's
        r = requests.post(f"http://127.0.0.1:{alpha.http_port}/api/files", headers={"Authorization": f"Bearer {ana_token}"},
                          files={"file": ("data.bin", content)}, timeout=30)
        assert r.status_code == 201, r.text
        info = r.json()
        assert (await ws_request(ana, "create_room", {"name": "lab"}))["action"] == "success"
        assert (await ws_request(ana, "send_message", {"room": "lab", "text": "data", "attachments": [info["id"]]}))["action"] == "success"
        on_beta = f"http://127.0.0.1:{beta.http_port}{info['url']}"
        assert requests.get(on_beta, headers={"Authorization": f"Bearer {bob_token}"}, timeout=30).status_code == 404
        assert (await ws_request(bob, "join_room", {"room": "lab"}))["action"] == "success"
        got = requests.get(on_beta, headers={"Authorization": f"Bearer {bob_token}"}, timeout=30)
        assert got.status_code == 200 and got.content == content
        assert requests.get(f"http://127.0.0.1:{alpha.http_port}{info['url']}", headers={"Authorization": f"Bearer {bob_token}"}, timeout=30).content == content
        await ana.close()
        await bob.close()
    asyncio.run(run())
