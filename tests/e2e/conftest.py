"""Starts the real `salon serve` binary (built by ./scripts/test) on free ports."""
import os
import re
import shutil
import socket
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary: str):
        self.data = tempfile.mkdtemp(prefix="salon-e2e-")
        self.tcp_port = free_port()
        env = dict(os.environ, SALON_BCRYPT_COST="4")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", "0", "--tcp-port", str(self.tcp_port), "--data-dir", self.data, "--log-level", "notice"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        for line in self.process.stdout:
            match = re.search(r"http_port=(\d+)", line)
            if match:
                self.http_port = int(match.group(1))
                break
        else:
            raise RuntimeError("salon serve exited before listening")
        self.ws_url = f"ws://127.0.0.1:{self.http_port}/ws"

    def stop(self) -> int:
        self.process.terminate()
        code = self.process.wait(timeout=30)
        shutil.rmtree(self.data, ignore_errors=True)
        return code


@pytest.fixture
def server():
    binary = os.environ.get("SALON_BINARY", os.path.join(ROOT, ".build", "debug", "salon"))
    s = Server(binary)
    yield s
    assert s.stop() == 0
