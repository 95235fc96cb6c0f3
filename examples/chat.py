#!/usr/bin/env python3
"""A tiny Salon client: log in as a guest, join #general, print what arrives, send what you type.

    pip install websockets
    python3 examples/chat.py ana            # in one terminal
    python3 examples/chat.py bob            # in another

The server address defaults to ws://127.0.0.1:8080/ws (set SALON_URL to change it).
"""
import asyncio
import json
import os
import sys

import websockets


async def main(name: str) -> None:
    url = os.environ.get("SALON_URL", "ws://127.0.0.1:8080/ws")
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"action": "login", "id": "1", "data": {"username": name}}))
        reply = json.loads(await ws.recv())
        if reply["action"] == "error":
            sys.exit(f"login failed: {reply['data']['message']}")
        print(f"logged in as {name}; type a line to talk in #general")

        async def show() -> None:
            async for frame in ws:
                envelope = json.loads(frame)
                if envelope["action"] == "receive_message":
                    m = envelope["data"]["message"]
                    print(f"[{m.get('room') or 'private'}] {m['from']}: {m['text']}")
                elif envelope["action"] == "error":
                    print(f"! {envelope['data']['message']}")

        async def talk() -> None:
            loop = asyncio.get_running_loop()
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                if line.strip():
                    await ws.send(json.dumps({"action": "send_message", "data": {"room": "general", "text": line}}))

        await asyncio.gather(show(), talk())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "guest"))
