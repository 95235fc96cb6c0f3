"""Starts the real `salon serve` binary (built by ./scripts/test) on free ports."""
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest
import websockets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BINARY = os.environ.get("SALON_BINARY", os.path.join(ROOT, ".build", "debug", "salon"))
# The release build, for the tests that measure (allocations, the soak smoke): ./scripts/test builds it.
RELEASE_BINARY = os.environ.get("SALON_RELEASE_BINARY", os.path.join(ROOT, ".build", "release", "salon"))


class Server:
    """`salon serve` on fixed free ports, so that it can be restarted where clients expect it."""

    def __init__(self, binary: str = BINARY, extra=(), env=None):
        self.binary = binary
        self.extra = list(extra)
        self.env = dict(env or {})
        self.data = tempfile.mkdtemp(prefix="salon-e2e-")
        self.http_port = free_port()
        self.tcp_port = free_port()
        self.ws_url = f"ws://127.0.0.1:{self.http_port}/ws"
        self.tcp_url = f"tcp://127.0.0.1:{self.tcp_port}"
        self.start()

    def start(self) -> None:
        self.lines = []  # what it printed up to listening
        env = dict(os.environ, SALON_BCRYPT_COST="4", **self.env)
        self.process = subprocess.Popen(
            [self.binary, "serve", "--port", str(self.http_port), "--tcp-port", str(self.tcp_port),
             "--data-dir", self.data, "--log-level", "notice", "--rate-limit", "0", *self.extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        for line in self.process.stdout:
            self.lines.append(line)
            if re.search(r"http_port\W{1,3}(\d+)", line):
                break
        else:
            raise RuntimeError("salon serve exited before listening")

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=30)

    def close(self) -> int:
        code = self.stop()
        shutil.rmtree(self.data, ignore_errors=True)
        return code


@pytest.fixture
def server():
    s = Server()
    yield s
    assert s.close() == 0


@pytest.fixture
def irc_server():
    """A server with its IRC gateway on a free port (`server.irc_port`)."""
    port = free_port()
    server = Server(extra=["--irc-port", str(port)])
    server.irc_port = port
    yield server
    assert server.close() == 0


@pytest.fixture
def home(tmp_path):
    """A HOME of its own, so that stored sessions do not leak between tests."""
    return str(tmp_path)


async def ws_request(ws, action, data=None, id="r"):
    """Sends one request over a websockets connection and returns its reply, skipping pushes."""
    await ws.send(json.dumps({"action": action, "id": id, "data": data or {}}))
    while True:
        envelope = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if envelope.get("reply_to") == id:
            return envelope


async def ws_account(url, name):
    """A new account `name` (password "NAME password") on a WebSocket of its own."""
    ws = await websockets.connect(url)
    reply = await ws_request(ws, "register", {"username": name, "password": f"{name} password"})
    assert reply["action"] == "success", reply
    return ws


def postgres_database() -> str:
    """A new empty database on the test PostgreSQL (`SALON_TEST_POSTGRES`, started by
    ./scripts/test); returns its URL. Without that server the test fails, never skips."""
    server = os.environ.get("SALON_TEST_POSTGRES")
    assert server, "set SALON_TEST_POSTGRES=postgres://USER:PASSWORD@HOST:PORT/postgres (./scripts/test starts a server and sets it)"
    name = "salon_e2e_" + uuid.uuid4().hex
    subprocess.run(["psql", server, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return server.rsplit("/", 1)[0] + "/" + name + "?sslmode=disable"
