"""One end-to-end test per defect found by trying to break Salon (the hardening issue), each
over real sockets against the real `salon serve`, each failing before its fix."""
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import tempfile
import time

import pytest
import websockets

from conftest import BINARY, Server, ws_request
from test_websocket_frames import masked, read_frame, upgrade


def tcp_connect(server):
    sock = socket.create_connection(("127.0.0.1", server.tcp_port), timeout=10)
    return sock


def tcp_send(sock, obj_or_bytes):
    body = obj_or_bytes if isinstance(obj_or_bytes, bytes) else json.dumps(obj_or_bytes).encode()
    sock.sendall(struct.pack("!I", len(body)) + body)


def tcp_recv(sock):
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data
    (length,) = struct.unpack("!I", exactly(4))
    return json.loads(exactly(length))


def tcp_request(sock, action, data=None, id="r"):
    tcp_send(sock, {"action": action, "id": id, "data": data or {}})
    while True:
        envelope = tcp_recv(sock)
        if envelope.get("reply_to") == id:
            return envelope


def code(reply):
    return reply["data"].get("code") if reply["action"] == "error" else "success"


@pytest.fixture
def guarded():
    """A server with short timeouts, so that tests can await them."""
    s = Server(extra=["--login-timeout", "1", "--header-timeout", "1"])
    yield s
    assert s.close() == 0


# 1. One large reply no longer disconnects: pages stop at a size budget, with has_more.
def test_large_history_and_join_replies_are_delivered(server):
    sock = tcp_connect(server)
    tcp_request(sock, "login", {"username": "filler"})
    text = "😀" * 4000
    for i in range(200):
        tcp_send(sock, {"action": "send_message", "id": f"m{i}", "data": {"room": "general", "text": text}})
    for _ in range(200):
        assert tcp_recv(sock)["action"] == "success"
    page = tcp_request(sock, "history", {"room": "general", "limit": 200}, id="h")
    assert page["action"] == "success" and page["data"]["has_more"] is True
    assert 0 < len(page["data"]["messages"]) < 200
    joined = tcp_request(sock, "join_room", {"room": "general"}, id="j")
    assert joined["action"] == "success" and joined["data"]["messages"]
    assert tcp_request(sock, "ping", id="p")["action"] == "success"  # still connected
    rooms = tcp_request(sock, "list_rooms", {"limit": 1}, id="l")
    assert [r["name"] for r in rooms["data"]["rooms"]] == ["general"]


# 2. A guest name's next holder cannot read the earlier holder's private messages.
def test_a_guest_names_next_holder_reads_nothing_of_the_earlier_one(server):
    ana = tcp_connect(server)
    tcp_request(ana, "register", {"username": "Ana", "password": "ana-password"})
    bob = tcp_connect(server)
    tcp_request(bob, "login", {"username": "Bob"})
    assert code(tcp_request(bob, "send_message", {"to": "Ana", "text": "secret"})) == "success"
    bob.close()
    for _ in range(50):  # until the server has seen the close and freed the name
        again = tcp_connect(server)
        reply = tcp_request(again, "login", {"username": "bob"})
        if code(reply) == "success":
            break
        again.close()
        time.sleep(0.05)
    history = tcp_request(again, "history", {"with": "Ana"})
    assert history["data"]["messages"] == []


# 3. Every byte of a password counts.
def test_passwords_with_nul_are_refused_and_bytes_after_72_count(server):
    s = tcp_connect(server)
    assert code(tcp_request(s, "register", {"username": "nul", "password": "\u0000abcdefg"})) == "invalid_field"
    long = "x" * 72
    assert code(tcp_request(s, "register", {"username": "seventy", "password": long + "one"})) == "success"
    t = tcp_connect(server)
    assert code(tcp_request(t, "login", {"username": "seventy", "password": long + "two"})) == "auth_failed"


# 4. NUL and other control characters are refused in stored text.
def test_nul_and_controls_are_refused_in_text_and_topics(server):
    s = tcp_connect(server)
    tcp_request(s, "login", {"username": "writer"})
    assert code(tcp_request(s, "send_message", {"room": "general", "text": "before\u0000after"})) == "invalid_field"
    assert code(tcp_request(s, "create_room", {"name": "t", "topic": "a\u001b[2Jb"})) == "invalid_field"
    ok = tcp_request(s, "send_message", {"room": "general", "text": "tab\there\nnext"})
    history = tcp_request(s, "history", {"room": "general"})
    assert history["data"]["messages"][-1]["text"] == ok["data"]["message"]["text"] == "tab\there\nnext"


# 5. salon tail shows control characters visibly, whatever the server stored.
def test_salon_tail_never_writes_control_characters(server, home):
    server.stop()
    db = sqlite3.connect(os.path.join(server.data, "salon.sqlite"))
    (general,) = db.execute("SELECT id FROM rooms WHERE name = 'general'").fetchone()
    db.execute("INSERT INTO messages (id, room_id, conversation, sender, text, created_at) VALUES (999, ?, ?, 'mallory', ?, 1)",
               (general, f"#{general}", "innocent\u001b]0;PWNED\u0007\u001b[2J\rfake: line"))
    db.commit()
    db.close()
    server.start()
    out = subprocess.run([BINARY, "tail", "--server", server.ws_url, "--room", "general", "--guest", "--user", "reader",
                          "-n", "5", "--no-follow"], capture_output=True, env=dict(os.environ, HOME=home), timeout=30)
    assert out.returncode == 0, out.stderr
    assert b"innocent^[]0;PWNED^G^[[2J^Mfake: line" in out.stdout
    assert b"\x1b" not in out.stdout and b"\x07" not in out.stdout and b"\r" not in out.stdout


# 6. Connections that never log in are closed; HTTP heads must come in time and bounded.
def test_silent_connections_are_closed(guarded):
    tcp = tcp_connect(guarded)
    reply = tcp_recv(tcp)
    assert reply["data"]["code"] == "auth_required"
    with pytest.raises(ConnectionError):
        tcp_recv(tcp)
    ws = upgrade(guarded.http_port)
    opcode, payload = read_frame(ws)
    assert opcode == 0x1 and b"auth_required" in payload
    opcode, payload = read_frame(ws)
    assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1008
    http = socket.create_connection(("127.0.0.1", guarded.http_port), timeout=10)
    http.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the rest
    assert http.recv(100).startswith(b"HTTP/1.1 408")


def http_status(port, raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(raw)
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.split(b"\r\n")[0]


def test_bad_http_gets_a_status_line(server):
    port = server.http_port
    assert http_status(port, b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 414")
    assert http_status(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 200_000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431")
    many = b"".join(b"X-%d: y\r\n" % i for i in range(2000))
    assert http_status(port, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n").startswith(b"HTTP/1.1 431")
    both = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"
    assert http_status(port, both).startswith(b"HTTP/1.1 400")


def test_error_responses_carry_the_security_headers_and_ranges_are_safe(server):
    import urllib.error
    import urllib.request
    base = f"http://127.0.0.1:{server.http_port}"
    for method, path in [("GET", "/nope"), ("DELETE", "/"), ("GET", "/index.html%00.js")]:
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(urllib.request.Request(base + path, method=method), timeout=10)
        headers = error.value.headers
        assert headers["X-Content-Type-Options"] == "nosniff" and "default-src" in headers["Content-Security-Policy"]
        assert "javascript" not in (headers["Content-Type"] or "")
    ranged = urllib.request.urlopen(urllib.request.Request(base + "/app.js", headers={"Range": "bytes=99999999-"}), timeout=10)
    assert ranged.status == 200 and int(ranged.headers["Content-Length"]) > 0


# 7. Password guessing is throttled; someone else's login stays quick.
def test_guessing_is_throttled_and_others_log_in_quickly(server):
    s = tcp_connect(server)
    tcp_request(s, "register", {"username": "victim", "password": "the right one"})
    o = tcp_connect(server)
    assert code(tcp_request(o, "register", {"username": "other", "password": "other password"})) == "success"
    guessers = [tcp_connect(server) for _ in range(50)]
    for i, g in enumerate(guessers):
        tcp_send(g, {"action": "login", "id": "g", "data": {"username": "victim", "password": f"guess {i}"}})
    started = time.monotonic()
    c = tcp_connect(server)
    assert code(tcp_request(c, "login", {"username": "other", "password": "other password"})) == "success"
    assert time.monotonic() - started < 2
    answers = [code(tcp_recv(g)) for g in guessers]
    assert answers.count("rate_limited") >= 40 and "success" not in answers
    last = tcp_request(guessers[0], "login", {"username": "victim", "password": "again"}, id="again")
    assert last["data"]["code"] == "rate_limited" and " s" in last["data"]["message"]


# 8. logout ends every connection of that token.
def test_logout_ends_every_connection_of_its_token(server):
    async def main():
        async with websockets.connect(server.ws_url) as a:
            token = (await ws_request(a, "register", {"username": "leaver", "password": "leaver-pw"}))["data"]["token"]
            async with websockets.connect(server.ws_url) as b:
                await ws_request(b, "login", {"token": token})
                await ws_request(b, "logout")
                await asyncio.wait_for(a.wait_closed(), 10)
                assert a.close_code == 1000
    asyncio.run(main())


# 9. Requests must be strict JSON; duplicate keys are refused.
@pytest.mark.parametrize("body", [
    '{"action":"ping","data":{"x":-}}', '{"action":"ping","data":{"x":1.}}', '{"action":"ping","data":{"x":01}}',
    '{"action":"ping","data":{"x":[1,]}}', '{"action":"ping","data":{"k":1,}}', '{"action":"ping","data":{"x":"\\x41"}}',
    '{"action":"ping","data":{"x":"\\uZZZZ"}}', '{"action":"ping","data":{"x":"a\tb"}}', '{"action":"ping","action":"logout"}',
])
def test_what_is_not_json_is_invalid_json(server, body):
    s = tcp_connect(server)
    tcp_send(s, body.encode())
    assert tcp_recv(s)["data"]["code"] == "invalid_json"


# 11. WebSocket: reserved bits, close frames and the handshake follow RFC 6455.
def test_websocket_rsv_bits_and_bad_close_frames_are_protocol_errors(server):
    sock = upgrade(server.http_port)
    frame = bytearray(masked(0x1, b'{"action":"ping"}'))
    frame[0] |= 0x40  # RSV1
    sock.sendall(bytes(frame))
    assert struct.unpack("!H", read_frame(sock)[1][:2])[0] == 1002
    for payload, expected in [(b"\x03", 1002), (struct.pack("!H", 999), 1002), (struct.pack("!H", 1005), 1002),
                              (struct.pack("!H", 2999), 1002), (struct.pack("!H", 1000) + b"\xff\xfe", 1007),
                              (struct.pack("!H", 4000) + b"bye", 1000)]:
        sock = upgrade(server.http_port)
        sock.sendall(masked(0x8, payload))
        opcode, answer = read_frame(sock)
        assert opcode == 0x8 and struct.unpack("!H", answer[:2])[0] == expected, payload


def test_websocket_handshakes_are_checked(server):
    port = server.http_port
    head = lambda extra, method=b"GET": (method + b" /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                                         b"Connection: Upgrade\r\n" % port) + extra + b"\r\n"
    key = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    assert http_status(port, head(b"Sec-WebSocket-Version: 13\r\n")).startswith(b"HTTP/1.1 400")
    assert http_status(port, head(key + b"Sec-WebSocket-Version: 8\r\n")).startswith(b"HTTP/1.1 426")
    assert http_status(port, head(key + b"Sec-WebSocket-Version: 13\r\n", b"POST")).startswith(b"HTTP/1.1 400")
    assert http_status(port, head(key + b"Sec-WebSocket-Version: 13\r\nOrigin: http://evil.example\r\n")).startswith(b"HTTP/1.1 403")
    own = b"Origin: http://127.0.0.1:%d\r\n" % port
    assert http_status(port, head(key + b"Sec-WebSocket-Version: 13\r\n" + own)).startswith(b"HTTP/1.1 101")


# 12. Look-alike names are refused.
def test_look_alike_names_are_refused(server):
    s = tcp_connect(server)
    tcp_request(s, "register", {"username": "liam", "password": "liam-password"})
    for name in ["Iiam", "1iam", "Iiarn", "li4m"]:
        g = tcp_connect(server)
        assert code(tcp_request(g, "login", {"username": name})) == "username_taken", name


# 13. A setting out of range is a clear message at start, not a crash.
def test_settings_out_of_range_are_refused_at_start():
    out = subprocess.run([BINARY, "serve", "--rate-limit", "9223372036854775807"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 64 and "--rate-limit must be" in out.stderr


# 14. One file is the whole server: a copied binary serves the web client.
def test_a_copied_binary_serves_the_web_client(tmp_path):
    copy = tmp_path / "salon"
    shutil.copy(BINARY, copy)
    s = Server(binary=str(copy))
    try:
        import urllib.request
        page = urllib.request.urlopen(f"http://127.0.0.1:{s.http_port}/", timeout=10).read()
        assert b"<!doctype html>" in page
    finally:
        assert s.close() == 0


def test_unfinished_frames_are_bounded_across_connections():
    s = Server(extra=["--input-buffer-limit-mb", "1"])
    try:
        holders = []
        for _ in range(40):  # 40 × 60,000 bytes of unfinished 65,000-byte frames: 2.4 MB > 1 MiB
            sock = tcp_connect(s)
            tcp_request(sock, "ping")
            sock.sendall(struct.pack("!I", 65_000) + b"x" * 60_000)
            holders.append(sock)
        closed = 0
        for sock in holders:
            sock.settimeout(5)
            try:
                tcp_send(sock, b'')  # a keep-alive frame would not complete the unfinished one
                if sock.recv(1) == b"":
                    closed += 1
            except (ConnectionError, OSError):
                closed += 1
            except socket.timeout:
                pass
        assert closed >= 20  # those past the bound were closed, not buffered
        fresh = tcp_connect(s)
        assert code(tcp_request(fresh, "ping")) == "success"
    finally:
        assert s.close() == 0


def test_the_server_keeps_serving_when_it_runs_out_of_file_descriptors():
    data = tempfile.mkdtemp(prefix="salon-e2e-")
    from conftest import free_port
    http, tcp = free_port(), free_port()
    log = open(os.path.join(data, "server.log"), "w+")  # a file, not a pipe: the log never blocks the server
    process = subprocess.Popen(
        ["bash", "-c", f'ulimit -n 64 && exec "{BINARY}" serve --port {http} --tcp-port {tcp} --data-dir {data} --log-level info'],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, SALON_BCRYPT_COST="4"))
    try:
        deadline = time.monotonic() + 30
        while "http_port=" not in open(log.name).read():
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        assert "open-file limit: 64" in open(log.name).read()
        flood = []
        for _ in range(120):  # far more than 64 descriptors: accept fails for some
            try:
                flood.append(socket.create_connection(("127.0.0.1", tcp), timeout=2))
            except OSError:
                break
        deadline = time.monotonic() + 15
        while "could not accept a connection" not in open(log.name).read():  # the server saw it, and said so
            assert time.monotonic() < deadline, "no accept failure was logged"
            time.sleep(0.05)
        for sock in flood:
            sock.close()
        deadline = time.monotonic() + 15
        while True:  # once descriptors are free, new clients are served again
            try:
                sock = socket.create_connection(("127.0.0.1", tcp), timeout=2)
                sock.settimeout(3)
                if code(tcp_request(sock, "ping")) == "success":
                    break
            except (OSError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "the server stopped serving"
        assert open(log.name).read().count("could not accept a connection") < 50  # paused, not spinning
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
        log.close()
        shutil.rmtree(data, ignore_errors=True)
