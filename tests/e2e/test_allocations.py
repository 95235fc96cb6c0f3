"""The allocation budget of a fan-out: a message to a room of 1,000 members must not cost the
server more allocations than recorded in Benchmarks/allocation-budgets.json (as swift-nio
tests its allocations). The real server, with a counter preloaded into it
(Sources/SalonMallocCounter: every malloc, calloc, realloc and aligned allocation of the
process), real sockets and real SQLite; one message at a time, each waited for at all 999
receivers, so that commit batches and writes are the same from run to run.

The budget is for the release build (./scripts/test builds it; a debug build allocates about 50
times as much, per recipient, for what the optimiser removes): the test fails when a change
makes the fan-out allocate more, and the budget should be lowered when a change makes it
allocate less."""
import asyncio
import json
import os
import struct

import pytest

from conftest import RELEASE_BINARY, ROOT, Server

LIBRARY = os.path.join(os.path.dirname(RELEASE_BINARY), "libSalonMallocCounter.so")
BUDGETS = os.path.join(ROOT, "Benchmarks", "allocation-budgets.json")


class Counter:
    """Asks the preloaded library for the server's allocation count (two FIFOs)."""

    def __init__(self, path):
        self.request = open(path + ".req", "wb", buffering=0)
        self.response = open(path + ".resp", "rb", buffering=0)

    def read(self) -> int:
        self.request.write(b"?")
        return int(self.response.readline())


async def frame_client(port, name):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    def send(action, data, rid):
        body = json.dumps({"action": action, "id": rid, "data": data}).encode()
        writer.write(struct.pack(">I", len(body)) + body)

    async def receive():
        size = struct.unpack(">I", await reader.readexactly(4))[0]
        return json.loads(await reader.readexactly(size))

    send("login", {"username": name}, "L")
    while (frame := await receive()).get("reply_to") != "L":
        pass
    assert frame["action"] == "success", frame
    return reader, writer, send, receive


@pytest.mark.skipif(not os.path.exists("/lib/x86_64-linux-gnu/libc.so.6") and not os.path.exists("/lib/aarch64-linux-gnu/libc.so.6"),
                    reason="the counter interposes glibc's malloc")
def test_a_fan_out_to_1000_members_stays_within_its_allocation_budget(tmp_path):
    assert os.path.exists(RELEASE_BINARY) and os.path.exists(LIBRARY), \
        f"{RELEASE_BINARY} and {LIBRARY} are built by ./scripts/test (swift build -c release --product salon, --product SalonMallocCounter)"
    budget = json.load(open(BUDGETS))["fanout_1000_members_per_message"]
    fifo = str(tmp_path / "counter")
    os.mkfifo(fifo + ".req")
    os.mkfifo(fifo + ".resp")
    server = Server(RELEASE_BINARY, extra=["--max-connections-per-ip", "0"], env={"LD_PRELOAD": LIBRARY, "SALON_MALLOC_FIFO": fifo})
    counter = Counter(fifo)
    try:
        async def run():
            receivers = []
            for start in range(0, 999, 100):
                receivers += await asyncio.gather(*(frame_client(server.tcp_port, f"member{i}") for i in range(start, min(start + 100, 999))))
            _, _, send, receive = await frame_client(server.tcp_port, "sender")

            async def drain(client, text):
                _, _, _, receive_one = client
                while True:
                    frame = await receive_one()
                    if frame.get("action") == "receive_message" and frame["data"]["message"]["text"] == text:
                        return

            async def one(n):
                text = f"message {n} to everyone in #general"
                send("send_message", {"room": "general", "text": text}, f"m{n}")
                while (frame := await receive()).get("reply_to") != f"m{n}":
                    pass
                assert frame["action"] == "success", frame
                await asyncio.gather(*(drain(c, text) for c in receivers))

            for n in range(20):  # warm: caches, lanes, buffers
                await one(n)
            before = counter.read()
            for n in range(20, 120):
                await one(n)
            return (counter.read() - before) / 100

        per_message = asyncio.run(run())
        print(f"allocations per message to 1,000 members: {per_message:.0f} (budget {budget})")
        assert per_message <= budget, (
            f"a message to 1,000 members made {per_message:.0f} allocations in the server, over the budget of {budget} "
            f"(Benchmarks/allocation-budgets.json): find what the change allocates per recipient")
        assert per_message > 0  # the counter counts
    finally:
        assert server.close() == 0
