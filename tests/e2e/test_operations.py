"""Operating the server: logs as JSON lines (`--log-format json`) and `/metrics` for Prometheus."""
import asyncio
import json
import socket
import struct
import subprocess

import requests
import websockets

from conftest import BINARY, Server, ws_request


def test_json_logs_are_one_object_per_line():
    server = Server(extra=["--log-format", "json", "--log-level", "info"])
    try:
        start = [json.loads(line) for line in server.lines]
        listening = start[-1]
        assert listening["level"] == "notice" and listening["http_port"] == str(server.http_port), listening
        assert all({"timestamp", "level", "label", "message", "source"} <= entry.keys() for entry in start)

        # what the core logs later is JSON too
        async def flow():
            async with websockets.connect(server.ws_url) as ws:
                await ws_request(ws, "register", {"username": "eve", "password": "eve password"})
                await ws_request(ws, "create_room", {"name": "ops"})
                made = await ws_request(ws, "create_webhook", {"room": "ops", "name": "alerts"})
                assert made["action"] == "success"
        asyncio.run(flow())
        server.process.terminate()
        rest = server.process.stdout.read().splitlines()
        entries = [json.loads(line) for line in rest if line.strip()]
        assert any("webhook" in e["message"] and "eve" in e["message"] for e in entries), rest
        assert server.process.wait(timeout=30) == 0
    finally:
        if server.process.poll() is None:
            server.process.kill()


def test_a_bad_log_format_is_refused_at_start(tmp_path):
    out = subprocess.run([BINARY, "serve", "--log-format", "xml", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 64 and "--log-format must be text or json" in out.stderr


def metrics(server):
    from prometheus_client.parser import text_string_to_metric_families
    r = requests.get(f"http://127.0.0.1:{server.http_port}/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(r.text):  # the parser refuses a malformed exposition
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_metrics_count_what_happens(server):
    before = metrics(server)
    for name in ["salon_connections", "salon_messages_total", "salon_logins_total", "salon_store_commit_seconds_count",
                 "salon_slow_consumers_total", "salon_rate_limited_total", "salon_fanout_deliveries_total",
                 "salon_bytes_received_total", "salon_bytes_sent_total", "salon_event_loop_lag_seconds"]:
        assert any(key[0] == name for key in before), name  # there from the start
    assert value(before, "salon_connections", transport="websocket") == 0

    async def flow():
        async with websockets.connect(server.ws_url) as ana, websockets.connect(server.ws_url) as bob, \
                websockets.connect(server.ws_url) as eve:
            await ws_request(ana, "register", {"username": "ana", "password": "ana password"})
            await ws_request(bob, "login", {"username": "bob"})
            wrong = await ws_request(eve, "login", {"username": "ana", "password": "not the password"})
            assert wrong["action"] == "error" and wrong["data"]["code"] == "auth_failed"
            for i in range(3):
                assert (await ws_request(ana, "send_message", {"room": "general", "text": f"m{i}"}))["action"] == "success"
            during = metrics(server)
            assert value(during, "salon_connections", transport="websocket") == 3
            return during
    during = asyncio.run(flow())
    assert value(during, "salon_messages_total") == 3
    assert value(during, "salon_logins_total", result="success") == 1 and value(during, "salon_logins_total", result="failure") == 1
    assert value(during, "salon_events_committed_total") >= 3
    assert value(during, "salon_store_commit_seconds_count") >= 1 and value(during, "salon_store_commit_batch_size_sum") >= 3
    assert value(during, "salon_fanout_deliveries_total") >= 3  # bob got each message
    assert value(during, "salon_http_requests_total", route="/metrics", method="GET", status="200") >= 1
    requests.get(f"http://127.0.0.1:{server.http_port}/healthz", timeout=10)
    after = metrics(server)
    assert value(after, "salon_http_requests_total", route="/healthz", method="GET", status="200") == 1
    # Bytes on the wire: the HTTP port's include the WebSocket frames and these requests.
    assert value(after, "salon_bytes_received_total", port="http") > value(before, "salon_bytes_received_total", port="http") + 300
    assert value(after, "salon_bytes_sent_total", port="http") > value(before, "salon_bytes_sent_total", port="http") + 300
    # On the TCP port nothing else runs: one login frame in is counted to the byte.
    assert value(before, "salon_bytes_received_total", port="tcp") == 0
    body = json.dumps({"action": "login", "id": "t", "data": {"username": "tess"}}).encode()
    with socket.create_connection(("127.0.0.1", server.tcp_port), timeout=10) as tcp:
        tcp.sendall(struct.pack("!I", len(body)) + body)
        length = struct.unpack("!I", tcp.recv(4, socket.MSG_WAITALL))[0]
        assert json.loads(tcp.recv(length, socket.MSG_WAITALL))["reply_to"] == "t"
        counted = metrics(server)
        assert value(counted, "salon_bytes_received_total", port="tcp") == 4 + len(body)
        assert value(counted, "salon_bytes_sent_total", port="tcp") >= 4 + length
    # the connections are counted down when they close (the server sees the close a moment later)
    for _ in range(100):
        if value(metrics(server), "salon_connections", transport="websocket") == 0:
            break
    assert value(metrics(server), "salon_connections", transport="websocket") == 0
