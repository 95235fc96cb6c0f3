"""A few-second smoke of `salon bench`, so the tool keeps working: every scenario runs against
a real server and must report every expected message delivered. (Speed is measured by
scripts/bench on a release build, not here.)"""
import json
import os
import subprocess

import pytest

from conftest import BINARY


def bench(server, *args):
    out = subprocess.run(
        [BINARY, "bench", *args, "--port", str(server.http_port), "--tcp-port", str(server.tcp_port)],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["ok"] is True
    assert report.get("connected") == report.get("clients")
    return report


@pytest.mark.parametrize("transport", ["ws", "tcp"])
def test_fanout_delivers_everything(server, transport):
    report = bench(server, "fanout", "--transport", transport, "--clients", "12", "--senders", "2", "--rate", "50", "--duration", "1")
    step = report["steps"][0]
    assert step["sent"] == 50
    assert step["delivered"] == step["expected"] == 50 * 11
    assert step["acked"] == 50


def test_rooms_and_history(server):
    rooms = bench(server, "rooms", "--clients", "12", "--room-size", "4", "--rate", "2", "--duration", "1")
    assert rooms["steps"][0]["expected"] == rooms["steps"][0]["sent"] * 3 > 0
    history = bench(server, "history", "--clients", "4", "--rate", "20", "--duration", "1")
    assert history["steps"][0]["historyPagesPerSecond"] > 0


def test_idle_reports_server_memory_and_login_storm(server):
    idle = bench(server, "idle", "--clients", "20", "--duration", "0.2", "--server-pid", str(server.process.pid))
    assert idle["serverRSSAfterKiB"] > 0
    login = bench(server, "login", "--clients", "10", "--transport", "tcp")
    assert login["connected"] == 10


def test_a_missing_server_is_a_clear_failure(server):
    out = subprocess.run([BINARY, "bench", "fanout", "--port", "1", "--clients", "2", "--duration", "0.2"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "no client could connect" in out.stderr


@pytest.mark.parametrize("transport", ["ws", "tcp"])
def test_sync_catches_up_on_every_event(server, transport):
    report = bench(server, "sync", "--transport", transport, "--events", "1500")
    assert report["events"] == 1500 and report["pages"] == 2 and report["ms"] > 0


def test_the_irc_transport_delivers_everything():
    from conftest import Server, free_port
    irc_port = free_port()
    server = Server(extra=["--irc-port", str(irc_port)])
    try:
        def irc(*args):
            return bench(server, *args, "--transport", "irc", "--irc-port", str(irc_port))
        step = irc("fanout", "--clients", "12", "--senders", "2", "--rate", "50", "--duration", "1")["steps"][0]
        assert step["delivered"] == step["expected"] == 50 * 11 and step["acked"] == 50
        rooms = irc("rooms", "--clients", "12", "--room-size", "4", "--rate", "2", "--duration", "1")["steps"][0]
        assert rooms["delivered"] == rooms["expected"] == rooms["sent"] * 3 > 0
        idle = irc("idle", "--clients", "20", "--duration", "0.2", "--server-pid", str(server.process.pid))
        assert idle["serverRSSAfterKiB"] > 0
        refused = subprocess.run([BINARY, "bench", "history", "--transport", "irc"], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 64 and "--transport irc runs idle, fanout and rooms" in refused.stderr
    finally:
        assert server.close() == 0


def test_a_short_soak_loses_nothing_and_draws_its_chart(tmp_path):
    """The one-minute smoke of `salon bench soak` at its full size (2,000 clients in 200 rooms,
    a 500-member busy room, 20 guests in and out every 10 s), on the release build: the
    two-hour run is in docs/performance.md."""
    import xml.etree.ElementTree as ET
    from conftest import RELEASE_BINARY, Server
    assert os.path.exists(RELEASE_BINARY), f"{RELEASE_BINARY} is built by ./scripts/test (swift build -c release --product salon)"
    server = Server(RELEASE_BINARY, extra=["--max-connections-per-ip", "0", "--rooms-per-hour", "0"])
    try:
        samples, chart = tmp_path / "soak.jsonl", tmp_path / "soak.svg"
        out = subprocess.run(
            [RELEASE_BINARY, "bench", "soak", "--port", str(server.http_port), "--duration", "60",
             "--samples", str(samples), "--chart", str(chart), "--server-pid", str(server.process.pid)],
            capture_output=True, text=True, timeout=240,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        summary = json.loads(out.stdout.strip().splitlines()[-1])
        assert summary["ok"] is True and summary["connected"] == 2500 and summary["lost"] == 0, summary
        assert summary["delivered"] == summary["expected"] > 60 * (200 * 9 + 20 * 499) * 0.9
        lines = [json.loads(line) for line in samples.read_text().splitlines()]
        assert len(lines) == summary["samples"] == 7 and [l["phase"] for l in lines] == ["load"] * 6 + ["drain"]
        for l in lines[:-1]:
            assert l["deliveries"] > 0 and l["deliveryP99Ms"] >= l["deliveryP50Ms"] > 0
            assert l["serverRSSKiB"] > 0 and l["serverOpenFiles"] >= 2500 and l["serverConnections"] >= 2500
            assert l["serverLoopLagMs"] is not None
        assert lines[-1]["churned"] == 120  # twenty guests in and out at each of six samples
        # guests that came and went leave no descriptor behind
        assert summary["serverOpenFilesLast"] <= summary["serverOpenFilesFirst"]
        svg = ET.parse(chart).getroot()
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        lines_drawn = svg.findall("{http://www.w3.org/2000/svg}polyline")
        assert len(lines_drawn) == 6  # p99, p50, loop lag; memory; open files, connections
        assert all(len(p.get("points").split()) >= 6 for p in lines_drawn)

        # the chart drawn again from the samples alone
        again = tmp_path / "again.svg"
        redraw = subprocess.run([RELEASE_BINARY, "bench", "chart", "--samples", str(samples), "--chart", str(again)],
                                capture_output=True, text=True, timeout=60)
        assert redraw.returncode == 0 and "7 samples" in redraw.stdout, redraw.stdout + redraw.stderr
        assert len(ET.parse(again).getroot().findall("{http://www.w3.org/2000/svg}polyline")) == 6
        (tmp_path / "bad.jsonl").write_text('{"seconds": "soon"}\n')
        bad = subprocess.run([RELEASE_BINARY, "bench", "chart", "--samples", str(tmp_path / "bad.jsonl"), "--chart", str(again)],
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 64 and "line 1: not a soak sample" in bad.stderr
    finally:
        assert server.close() == 0
