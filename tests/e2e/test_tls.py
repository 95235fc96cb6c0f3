"""TLS against the real server (`--tls-cert`/`--tls-key`, certificates from a private CA made
by trustme): the terminal tools with `--ca` over wss:// and tls://, HTTPS with a Secure file
cookie, a certificate renewed by SIGHUP while connections stay open, a handshake that never
comes, and the web client in Chromium over https://."""
import asyncio
import json
import os
import queue
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest
import requests
import trustme
import websockets

from conftest import BINARY, Server, ws_request
from test_terminal import Chat
from test_web import Page


class Certificates:
    """A CA and a certificate for localhost and 127.0.0.1, as PEM files in `folder`."""

    def __init__(self, folder, tag=""):
        self.ca = trustme.CA()
        leaf = self.ca.issue_cert("localhost", "127.0.0.1")
        self.cert = os.path.join(folder, "cert.pem")
        self.key = os.path.join(folder, "key.pem")
        self.ca_file = os.path.join(folder, f"ca{tag}.pem")
        leaf.private_key_pem.write_to_path(self.key)
        with open(self.cert, "wb") as out:
            for blob in leaf.cert_chain_pems:
                out.write(blob.bytes())
        self.ca.cert_pem.write_to_path(self.ca_file)

    def context(self):
        context = ssl.create_default_context(cafile=self.ca_file)
        return context


@pytest.fixture
def tls(tmp_path):
    """A server on TLS; yields (server, certificates)."""
    certificates = Certificates(str(tmp_path))
    server = Server(extra=["--tls-cert", certificates.cert, "--tls-key", certificates.key,
                           "--header-timeout", "2", "--login-timeout", "2"])
    yield server, certificates
    assert server.close() == 0


def wss(server, host="localhost"):
    return f"wss://{host}:{server.http_port}/ws"


def tls_url(server, host="127.0.0.1"):
    return f"tls://{host}:{server.tcp_port}"


def register(server, certificates, name):
    """A new account `name` (password "NAME password") over wss://; returns its token."""
    async def run():
        async with websockets.connect(wss(server), ssl=certificates.context()) as ws:
            reply = await ws_request(ws, "register", {"username": name, "password": f"{name} password"})
            assert reply["action"] == "success", reply
            return reply["data"]["token"]
    return asyncio.run(run())


def salon(home, *args):
    env = dict(os.environ, HOME=home, SALON_PASSWORD="ana password")
    return subprocess.run([BINARY, *args], env=env, capture_output=True, text=True, timeout=30)


class TLSFrames:
    """A TCP-frames client inside TLS (PROTOCOL.md §1)."""

    def __init__(self, server, context, host="localhost"):
        raw = socket.create_connection(("127.0.0.1", server.tcp_port), timeout=10)
        self.sock = context.wrap_socket(raw, server_hostname=host)

    def request(self, action, data=None, id="r"):
        body = json.dumps({"action": action, "id": id, "data": data or {}}).encode()
        self.sock.sendall(struct.pack("!I", len(body)) + body)
        while True:
            envelope = json.loads(self.read_frame())
            if envelope.get("reply_to") == id:
                return envelope

    def read_frame(self):
        length = struct.unpack("!I", self.exactly(4))[0]
        return self.exactly(length)

    def exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "the server closed the connection"
            data += chunk
        return data


def test_the_terminal_tools_over_wss_and_tls_with_the_ca(tls, home, tmp_path):
    server, certificates = tls
    started = "".join(server.lines)
    assert f"https://127.0.0.1:{server.http_port}" in started and f"tls://127.0.0.1:{server.tcp_port}" in started

    assert register(server, certificates, "ana")
    sent = salon(home, "send", "--server", wss(server), "--ca", certificates.ca_file, "--user", "ana", "--room", "general", "over wss")
    assert sent.returncode == 0, sent.stderr
    sent = salon(home, "send", "--server", tls_url(server), "--ca", certificates.ca_file, "--user", "ana", "--room", "general", "over tls")
    assert sent.returncode == 0, sent.stderr
    tail = salon(home, "tail", "--server", tls_url(server), "--ca", certificates.ca_file, "--user", "ana", "--room", "general",
                 "--lines", "5", "--no-follow")
    assert tail.returncode == 0, tail.stderr
    assert "over wss" in tail.stdout and "over tls" in tail.stdout

    # A file over HTTPS (the address follows from wss://), and back.
    notes = tmp_path / "notes.txt"
    notes.write_text("kept private\n")
    sent = salon(home, "send", "--server", wss(server), "--ca", certificates.ca_file, "--user", "ana", "--room", "general", "--file", str(notes))
    assert sent.returncode == 0, sent.stderr
    last = salon(home, "tail", "--server", wss(server), "--ca", certificates.ca_file, "--user", "ana", "--room", "general",
                 "--lines", "1", "--no-follow", "--json")
    file_id = json.loads(last.stdout.strip().splitlines()[-1])["attachments"][0]["id"]
    got = salon(home, "download", "--server", wss(server), "--ca", certificates.ca_file, "--user", "ana", "--output", "-", file_id)
    assert got.returncode == 0 and got.stdout == "kept private\n", got.stderr

    # Without the CA, or with a wss:// IP address, the tools say why and exit 2.
    for address, reason in [(wss(server), "--ca PATH"), (tls_url(server), "--ca PATH"),
                            (wss(server, "127.0.0.1"), "not an IP address"),
                            (f"ws://127.0.0.1:{server.http_port}/ws", "the address is wss://")]:
        refused = salon(home, "send", "--server", address, "--user", "ana", "--room", "general", "lost?")
        assert refused.returncode == 2 and reason in refused.stderr, (address, refused.stderr)
    tail = salon(home, "tail", "--server", tls_url(server), "--ca", certificates.ca_file, "--user", "ana", "--room", "general",
                 "--lines", "10", "--no-follow")
    assert "lost?" not in tail.stdout

    # `salon chat` over tls://.
    chat = Chat(home, "--server", tls_url(server, "localhost"), "--ca", certificates.ca_file, "--user", "ana",
                env_extra={"SALON_PASSWORD": "ana password"})
    try:
        chat.shows("over tls")
        chat.type("typed in the terminal\r")
        chat.shows("typed in the terminal")
    finally:
        chat.close()


def test_https_serves_the_page_and_the_api_and_the_file_cookie_is_secure(tls):
    server, certificates = tls
    base = f"https://127.0.0.1:{server.http_port}"
    page = requests.get(base + "/", verify=certificates.ca_file, timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()

    bearer = register(server, certificates, "ana")
    cookie = requests.post(base + "/api/files/cookie", headers={"Authorization": f"Bearer {bearer}"}, verify=certificates.ca_file, timeout=10)
    assert cookie.status_code in (200, 204), cookie.text
    assert "; Secure" in cookie.headers["Set-Cookie"] and "HttpOnly" in cookie.headers["Set-Cookie"]
    uploaded = requests.post(base + "/api/files", headers={"Authorization": f"Bearer {bearer}"},
                             files={"file": ("a.txt", b"abc", "text/plain")}, verify=certificates.ca_file, timeout=10)
    assert uploaded.status_code == 201, uploaded.text

    # Plain HTTP on the HTTPS port: no page, the connection is closed.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.http_port}/", timeout=10)
    # Without the CA the client refuses the server.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(base + "/", timeout=10)


def read_until(server, needle, timeout=20):
    """The server's log after start-up, read until a line holds `needle`: by a thread, so
    that a line that never comes fails the test after `timeout` instead of blocking it."""
    found = queue.Queue()

    def read():
        for line in server.process.stdout:
            server.lines.append(line)
            if needle in line:
                return found.put(line)
        found.put(None)
    threading.Thread(target=read, daemon=True).start()
    try:
        line = found.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no '{needle}' in the log within {timeout} s")
    assert line is not None, f"the server ended before logging '{needle}'"
    return line


def test_a_sighup_renews_the_certificate_and_open_connections_stay(tls, tmp_path):
    server, first = tls
    early = TLSFrames(server, first.context())
    assert early.request("login", {"username": "early"})["action"] == "success"

    # The renewal: another CA's certificate written over the same files, then SIGHUP.
    second = Certificates(os.path.dirname(first.cert), tag="-2")
    server.process.send_signal(signal.SIGHUP)
    assert "TLS certificate reloaded" in read_until(server, "TLS certificate")

    late = TLSFrames(server, second.context())
    assert late.request("login", {"username": "late"})["action"] == "success"
    with pytest.raises(ssl.SSLCertVerificationError):
        TLSFrames(server, first.context())
    assert requests.get(f"https://localhost:{server.http_port}/", verify=second.ca_file, timeout=10).status_code == 200
    # The connection made before the renewal goes on.
    users = early.request("list_users")
    assert users["action"] == "success" and "late" in [u["username"] for u in users["data"]["users"]]

    # A half-written key: the reload is refused, said so, and the certificate in use stays.
    with open(second.key, "w") as broken:
        broken.write("-----BEGIN PRIVATE KEY-----\ntruncated")
    server.process.send_signal(signal.SIGHUP)
    line = read_until(server, "TLS certificate")
    assert "not reloaded" in line and "previous one stays in use" in line, line
    still = TLSFrames(server, second.context())
    assert still.request("login", {"username": "still"})["action"] == "success"


def test_a_connection_that_never_shakes_hands_is_cut(tls):
    server, _ = tls
    for port in (server.http_port, server.tcp_port):
        idle = socket.create_connection(("127.0.0.1", port), timeout=15)
        started = time.monotonic()
        assert idle.recv(100) == b""       # closed by the server (header/login timeout, 2 s)
        assert time.monotonic() - started < 12
        idle.close()


def test_the_web_client_over_https(tls):
    server, _ = tls
    page = Page(f"https://localhost:{server.http_port}/", arguments=["--ignore-certificate-errors"])
    try:
        page.sign_in("guest", "ana")
        page.signed_in()
        page.say("hello over https")
        page.shows("hello over https")
        assert page.driver.execute_script("return location.protocol") == "https:"
        page.shot("tls-web-client")
    finally:
        page.close()

    # The message went over wss:// and is stored: a terminal client sees it.
    frames = TLSFrames(server, ssl._create_unverified_context())
    assert frames.request("login", {"username": "bob"})["action"] == "success"
    history = frames.request("history", {"room": "general", "limit": 5})
    assert "hello over https" in [m["text"] for m in history["data"]["messages"]], history


@pytest.mark.parametrize("transport", ["ws", "tcp"])
def test_bench_runs_over_tls(tls, transport):
    server, certificates = tls
    for scenario in (["fanout", "--clients", "6", "--senders", "2", "--rate", "20", "--duration", "1"], ["sync", "--events", "300"]):
        out = subprocess.run([BINARY, "bench", *scenario, "--transport", transport, "--tls", "--ca", certificates.ca_file, "--host", "localhost",
                              "--port", str(server.http_port), "--tcp-port", str(server.tcp_port)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        report = json.loads(out.stdout.strip().splitlines()[-1])
        assert report["ok"] is True, report
        if scenario[0] == "fanout":
            step = report["steps"][0]
            assert step["delivered"] == step["expected"] == step["sent"] * 5 > 0
        else:
            assert report["events"] == 300
    # Without the CA no client connects, and the tool says so.
    out = subprocess.run([BINARY, "bench", "fanout", "--transport", transport, "--tls", "--clients", "2", "--duration", "0.2",
                          "--port", str(server.http_port), "--tcp-port", str(server.tcp_port)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no client could connect" in out.stderr, out.stderr
