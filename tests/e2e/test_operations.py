"""Operating the server: logs as JSON lines (`--log-format json`)."""
import asyncio
import json

import websockets

from conftest import Server, ws_request


def test_json_logs_are_one_object_per_line_whatever_the_input():
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
    import subprocess
    from conftest import BINARY
    out = subprocess.run([BINARY, "serve", "--log-format", "xml", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 64 and "--log-format must be text or json" in out.stderr
