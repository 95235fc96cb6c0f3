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


class WeeChat:
    """weechat-headless with a home of its own, driven through its FIFO, read from its logs."""

    def __init__(self, server, nick):
        self.home = tempfile.mkdtemp(prefix="salon-weechat-")
        commands = ";".join([
            "/set fifo.file.enabled on", "/set logger.file.flush_delay 0",
            f"/server add salon 127.0.0.1/{server.irc_port}", f"/set irc.server.salon.nicks {nick}", "/connect salon",
        ])
        self.process = subprocess.Popen(["weechat-headless", "--dir", self.home, "-r", commands],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def log(self, buffer):
        path = os.path.join(self.home, "logs", f"irc.salon.{buffer}.weechatlog")
        if not os.path.exists(path):
            return ""
        with open(path, encoding="utf-8") as f:
            return f.read()

    def shows(self, buffer, text, timeout=20):
        """Reads the buffer's log until it holds `text` (WeeChat writes each line as it comes)."""
        deadline = time.monotonic() + timeout
        while text not in self.log(buffer):
            assert time.monotonic() < deadline, f"WeeChat's {buffer} never showed {text!r}:\n{self.log(buffer)}"
            time.sleep(0.05)

    def command(self, buffer, line):
        deadline = time.monotonic() + 20
        while not (fifos := [f for f in os.listdir(self.home) if f.startswith("weechat_fifo")]):
            assert time.monotonic() < deadline, "WeeChat made no FIFO"
            time.sleep(0.05)
        with open(os.path.join(self.home, fifos[0]), "w") as fifo:
            fifo.write(f"{buffer} *{line}\n")

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.home, ignore_errors=True)


def test_weechat_talks_with_a_web_user(irc_server):
    async def run():
        weechat = WeeChat(irc_server, "ana")
        try:
            weechat.shows("#general", "has joined #general")
            bob = await ws_user(irc_server, "bob")
            assert (await ws_request(bob, "send_message", {"room": "general", "text": "hello weechat"}))["action"] == "success"
            weechat.shows("#general", "bob\thello weechat")
            weechat.command("irc.salon.#general", "hello web")
            message = (await ws_push(bob, "receive_message"))["message"]
            assert message["from"] == "ana" and message["room"] == "general" and message["text"] == "hello web"

            assert (await ws_request(bob, "send_message", {"to": "ana", "text": "just us"}))["action"] == "success"
            weechat.shows("bob", "bob\tjust us")
            weechat.command("irc.server.salon", "/msg bob got it")
            message = (await ws_push(bob, "receive_message"))["message"]
            assert message["to"] == "bob" and message["text"] == "got it"

            olga = await ws_user(irc_server, "olga", register=True)
            assert (await ws_request(olga, "create_room", {"name": "club"}))["action"] == "success"
            weechat.command("irc.server.salon", "/join #club")
            weechat.shows("#club", "has joined #club")
            assert (await ws_request(olga, "kick", {"room": "club", "username": "ana", "reason": "house rules"}))["action"] == "success"
            weechat.shows("#club", "house rules")
            assert "kicked" in weechat.log("#club")
            await bob.close()
            await olga.close()
        finally:
            weechat.close()
    asyncio.run(run())
