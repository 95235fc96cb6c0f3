"""Real IRC clients on the gateway: irssi in tmux (`send-keys`, `capture-pane`), talking with
a WebSocket user in a room and privately, and seeing a kick."""
import asyncio
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import Server, free_port, ws_request
from test_irc import ws_push, ws_user


@pytest.fixture
def irc_server():
    port = free_port()
    server = Server(extra=["--irc-port", str(port)])
    server.irc_port = port
    yield server
    assert server.close() == 0


class Irssi:
    """irssi in a detached tmux session of its own, with a home of its own."""

    def __init__(self, server, nick):
        self.home = tempfile.mkdtemp(prefix="salon-irssi-")
        self.session = f"salon-irssi-{os.getpid()}-{nick}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.session, "-x", "160", "-y", "40",
                        f"irssi --home={self.home} --connect=127.0.0.1 --port={server.irc_port} --nick={nick}"], check=True)

    def screen(self):
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True, text=True).stdout

    def shows(self, text, timeout=20):
        """Reads the screen until it shows `text` (irssi draws as lines arrive)."""
        deadline = time.monotonic() + timeout
        while text not in self.screen():
            assert time.monotonic() < deadline, f"irssi never showed {text!r}; the screen:\n{self.screen()}"
            time.sleep(0.05)

    def type(self, line):
        subprocess.run(["tmux", "send-keys", "-t", self.session, "-l", line], check=True)
        subprocess.run(["tmux", "send-keys", "-t", self.session, "Enter"], check=True)

    def close(self):
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)


def test_irssi_talks_with_a_web_user(irc_server):
    async def run():
        irssi = Irssi(irc_server, "ana")
        try:
            irssi.shows("Welcome to the Salon IRC gateway, ana")
            irssi.type("/join #general")
            irssi.shows("Total of 1 nicks")
            bob = await ws_user(irc_server, "bob")
            assert (await ws_request(bob, "send_message", {"room": "general", "text": "hello irssi"}))["action"] == "success"
            irssi.shows("bob> hello irssi")
            irssi.type("hello web")
            message = (await ws_push(bob, "receive_message"))["message"]
            assert message["from"] == "ana" and message["room"] == "general" and message["text"] == "hello web"
            irssi.shows("ana> hello web")

            # Privately, both ways: irssi opens a query window for bob.
            assert (await ws_request(bob, "send_message", {"to": "ana", "text": "just us"}))["action"] == "success"
            irssi.type("/window goto bob")
            irssi.shows("bob> just us")
            irssi.type("/msg bob got it")
            message = (await ws_push(bob, "receive_message"))["message"]
            assert message["to"] == "bob" and message["text"] == "got it"

            # A room of a registered owner, and a kick seen by irssi.
            olga = await ws_user(irc_server, "olga", register=True)
            assert (await ws_request(olga, "create_room", {"name": "club"}))["action"] == "success"
            irssi.type("/join #club")
            irssi.shows("[~olga]")
            assert (await ws_request(olga, "kick", {"room": "club", "username": "ana", "reason": "house rules"}))["action"] == "success"
            irssi.shows("ana was kicked from #club by olga [house rules]")
            os.makedirs(os.path.join(os.path.dirname(__file__), "..", "..", "test-output"), exist_ok=True)
            with open(os.path.join(os.path.dirname(__file__), "..", "..", "test-output", "irssi.txt"), "w") as out:
                out.write(irssi.screen())
            await bob.close()
            await olga.close()
        finally:
            irssi.close()
    asyncio.run(run())
