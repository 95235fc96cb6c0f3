"""The HTTP API (PROTOCOL.md §10), bots and incoming webhooks against the real server: every
route with what it answers and refuses, the socket's rules and codes, rate limits, the OpenAPI
document checked by schemathesis (no 500, no answer outside the document), bots that cannot log
in with a password, and webhooks that post as their bot until revoked."""
import asyncio
import json
import os
import subprocess
import sys
import urllib.parse

import pytest
import requests
import websockets

from conftest import BINARY, Server, ws_request

HERE = os.path.dirname(__file__)


def base(server):
    return f"http://127.0.0.1:{server.http_port}"


def api(server, method, path, token=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, base(server) + path, headers=headers, timeout=30, **kwargs)


def register(server, name):
    r = api(server, "POST", "/api/register", json={"username": name, "password": f"{name} password"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def error_code(response):
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    return response.json()["error"]["code"]


def admin(server, *args):
    return subprocess.run([BINARY, "admin", *args, "--data-dir", server.data], capture_output=True, text=True, timeout=60)


async def receive(ws, action, predicate=lambda data: True):
    while True:
        envelope = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if envelope["action"] == action and predicate(envelope["data"]):
            return envelope["data"]


def test_every_route_with_the_socket_rules(server):
    # register and login
    r = api(server, "POST", "/api/register", json={"username": "ana", "password": "ana password"})
    assert r.status_code == 201
    body = r.json()
    assert body["user"] == {"username": "ana", "role": "user"} and body["token"] and body["seq"] >= 0
    assert [room["name"] for room in body["rooms"]] == ["general"] and body["conversations"] == []
    assert error_code(api(server, "POST", "/api/register", json={"username": "ANA", "password": "other password"})) == "username_taken"
    assert api(server, "POST", "/api/register", json={"username": "ANA", "password": "other password"}).status_code == 409
    assert error_code(api(server, "POST", "/api/register", json={"username": "bad name", "password": "x" * 8})) == "invalid_username"
    assert error_code(api(server, "POST", "/api/register", json={"username": "short", "password": "x"})) == "weak_password"
    r = api(server, "POST", "/api/login", json={"username": "ana", "password": "ana password"})
    assert r.status_code == 200 and r.json()["user"]["username"] == "ana"
    token = r.json()["token"]
    r = api(server, "POST", "/api/login", json={"username": "ana", "password": "wrong password"})
    assert r.status_code == 401 and error_code(r) == "auth_failed" and r.headers["WWW-Authenticate"] == "Bearer"
    r = api(server, "POST", "/api/login", json={"username": "guest"})
    assert r.status_code == 400 and error_code(r) == "missing_field"  # no guests without a connection
    bob = register(server, "bob")

    # rooms
    r = api(server, "GET", "/api/rooms", token)
    assert r.status_code == 200 and [room["name"] for room in r.json()["rooms"]] == ["general"] and r.json()["has_more"] is False
    assert error_code(api(server, "GET", "/api/rooms")) == "auth_required"
    assert api(server, "GET", "/api/rooms", "not-a-token").status_code == 401
    assert error_code(api(server, "GET", "/api/rooms", headers={"Authorization": "Basic abc"})) == "auth_failed"

    # posting and history in a room, seen live on the socket
    async def live():
        ws = await websockets.connect(server.ws_url)
        assert (await ws_request(ws, "login", {"token": bob}))["action"] == "success"
        r = api(server, "POST", "/api/rooms/general/messages", token, json={"text": "from the API", "client_msg_id": "c1"})
        assert r.status_code == 201, r.text
        message = r.json()["message"]
        assert message["from"] == "ana" and message["room"] == "general" and message["text"] == "from the API"
        pushed = await receive(ws, "receive_message")
        assert pushed["message"] == message
        again = api(server, "POST", "/api/rooms/general/messages", token, json={"text": "from the API", "client_msg_id": "c1"})
        assert again.status_code == 201 and again.json()["message"]["id"] == message["id"]  # a safe retry
        reply = await ws_request(ws, "send_message", {"to": "ana", "text": "hi ana"})
        assert reply["action"] == "success"
        await ws.close()
        return message
    message = asyncio.run(live())
    r = api(server, "POST", "/api/rooms/general/messages", token, json={"text": "a reply", "reply_to": message["id"]})
    assert r.status_code == 201 and r.json()["message"]["reply_to"] == message["id"]
    r = api(server, "GET", "/api/rooms/general/messages?limit=1", token)
    assert r.status_code == 200 and [m["text"] for m in r.json()["messages"]] == ["a reply"] and r.json()["has_more"] is True
    r = api(server, "GET", f"/api/rooms/general/messages?before={message['id'] + 1}", token)
    assert [m["id"] for m in r.json()["messages"]] == [message["id"]]
    r = api(server, "GET", f"/api/rooms/general/messages?after={message['id']}", token)
    assert [m["text"] for m in r.json()["messages"]] == ["a reply"]
    for bad in ["limit=x", "before=1.5", "after=", "before=1&after=2"]:
        assert api(server, "GET", f"/api/rooms/general/messages?{bad}", token).status_code == 400, bad

    # private messages both ways
    r = api(server, "GET", "/api/users/bob/messages", token)
    assert r.status_code == 200 and [m["text"] for m in r.json()["messages"]] == ["hi ana"]
    r = api(server, "POST", "/api/users/bob/messages", token, json={"text": "hi bob"})
    assert r.status_code == 201 and r.json()["message"]["to"] == "bob"
    r = api(server, "GET", "/api/users/ana/messages", bob)
    assert [m["text"] for m in r.json()["messages"]] == ["hi ana", "hi bob"]
    assert error_code(api(server, "POST", "/api/users/nobody/messages", token, json={"text": "x"})) == "user_not_found"

    # sync
    r = api(server, "GET", "/api/sync?since=0", bob)
    assert r.status_code == 200
    events = r.json()["events"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events) and r.json()["seq"] >= events[-1]["seq"]
    assert any(e["action"] == "receive_message" and e["data"]["message"]["text"] == "hi bob" for e in events)
    assert error_code(api(server, "GET", "/api/sync", bob)) == "missing_field"

    # the socket's errors and statuses
    assert error_code(api(server, "POST", "/api/rooms/nowhere/messages", token, json={"text": "x"})) == "room_not_found"
    assert api(server, "POST", "/api/rooms/nowhere/messages", token, json={"text": "x"}).status_code == 404
    assert error_code(api(server, "POST", "/api/rooms/general/messages", token, json={"text": "  "})) == "empty_message"
    assert error_code(api(server, "POST", "/api/rooms/general/messages", token, json={"text": "x" * 4001})) == "message_too_long"
    assert error_code(api(server, "POST", "/api/rooms/general/messages", token, data="[1]")) == "invalid_json"
    assert error_code(api(server, "POST", "/api/rooms/general/messages", token, data='{"text":"a"} x')) == "invalid_json"
    assert error_code(api(server, "POST", "/api/rooms/general/messages", token, data='{"text":"a","room":"x"}')) == "invalid_json"
    r = api(server, "POST", "/api/rooms/general/messages", token, data="{" + " " * 70_000 + "}")
    assert r.status_code == 413 and error_code(r) == "frame_too_large"
    async def private_room():
        ws = await websockets.connect(server.ws_url)
        await ws_request(ws, "login", {"token": bob})
        assert (await ws_request(ws, "create_room", {"name": "secret", "private": True}))["action"] == "success"
        await ws.close()
    asyncio.run(private_room())
    r = api(server, "GET", "/api/rooms/secret/messages", token)
    assert r.status_code == 403 and error_code(r) == "not_member"
    assert "secret" not in [room["name"] for room in api(server, "GET", "/api/rooms", token).json()["rooms"]]
    r = api(server, "PUT", "/api/rooms", token)
    assert r.status_code == 405 and r.headers["Allow"] == "GET" and error_code(r) == "method_not_allowed"
    assert api(server, "GET", "/api/openapi.yaml").text.startswith("openapi: 3.1")


def test_the_rate_limit_is_the_sockets():
    s = Server(extra=["--rate-limit", "3"])
    try:
        token = register(s, "quick")
        codes = [api(s, "GET", "/api/rooms", token).status_code for _ in range(12)]
        assert 429 in codes and codes[0] == 200, codes
        r = api(s, "GET", "/api/rooms", token)
        if r.status_code == 429:
            assert error_code(r) == "rate_limited"
        other = register(s, "other")  # per account: another is not held back
        assert api(s, "GET", "/api/rooms", other).status_code == 200
    finally:
        assert s.close() == 0


def test_schemathesis_finds_nothing(server):
    """Every operation of /api/openapi.yaml, generated positive and negative inputs and stateful
    sequences, with every check (the default; no 5xx, statuses, content types, headers and bodies as the
    document says, bad inputs refused, unknown methods 405, auth required)."""
    token = register(server, "schema")
    env = dict(os.environ, SCHEMATHESIS_HOOKS="")
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", os.path.join(HERE, "schemathesis.toml"), "run",
         base(server) + "/api/openapi.yaml", "--url", base(server), "-H", f"Authorization: Bearer {token}",
         "-n", "40", "--max-failures", "20", "--no-color"],
        capture_output=True, text=True, timeout=900, env=env,
    )
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert server.process.poll() is None  # still running


def test_bots_post_with_tokens_only(server):
    made = admin(server, "bot", "create", "ci-bot", "--json")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    assert admin(server, "bot", "create", "ci-bot").returncode == 1  # the name is taken
    r = api(server, "POST", "/api/login", json={"username": "ci-bot", "password": "any password"})
    assert r.status_code == 401 and "bot" in r.json()["error"]["message"]
    reader = register(server, "reader")

    async def live():
        ws = await websockets.connect(server.ws_url)
        await ws_request(ws, "login", {"token": reader})
        r = api(server, "POST", "/api/rooms/general/messages", token, json={"text": "build 42 passed"})
        assert r.status_code == 201, r.text
        assert r.json()["message"]["from_bot"] is True
        pushed = await receive(ws, "receive_message")
        assert pushed["message"]["from"] == "ci-bot" and pushed["message"]["from_bot"] is True
        # the socket too: a bot logs in with its token, and is shown as a bot
        bot_ws = await websockets.connect(server.ws_url)
        login = await ws_request(bot_ws, "login", {"token": token})
        assert login["data"]["user"] == {"username": "ci-bot", "role": "user", "bot": True}
        assert (await ws_request(bot_ws, "send_message", {"room": "general", "text": "over the socket"}))["action"] == "success"
        await receive(ws, "receive_message", lambda d: d["message"]["text"] == "over the socket")
        # lists say who is a bot
        members = (await ws_request(ws, "members", {"room": "general"}))["data"]["members"]
        assert {m["username"]: m.get("bot") for m in members} == {"ci-bot": True, "reader": None}
        users = (await ws_request(ws, "list_users", {}))["data"]["users"]
        assert [u for u in users if u["username"] == "ci-bot"][0]["bot"] is True
        assert "bot" not in [u for u in users if u["username"] == "reader"][0]
        await bot_ws.close()
        await ws.close()
    asyncio.run(live())
    history = api(server, "GET", "/api/rooms/general/messages", reader).json()["messages"]
    assert [m.get("from_bot") for m in history] == [True, True]
    # a person's messages are not marked
    api(server, "POST", "/api/rooms/general/messages", reader, json={"text": "thanks"})
    assert "from_bot" not in api(server, "GET", "/api/rooms/general/messages?limit=1", reader).json()["messages"][0]
    # revoked like anyone's
    assert admin(server, "revoke-tokens", "ci-bot").returncode == 0
    assert api(server, "GET", "/api/rooms", token).status_code == 401
    fresh = admin(server, "bot", "token", "ci-bot").stdout.strip()
    assert api(server, "GET", "/api/rooms", fresh).status_code == 200
    assert admin(server, "bot", "token", "reader").returncode == 1  # not a bot


def test_webhooks_post_until_revoked(server):
    owner = register(server, "owner")
    member = register(server, "member")

    async def flow():
        ws = await websockets.connect(server.ws_url)
        await ws_request(ws, "login", {"token": owner})
        assert (await ws_request(ws, "create_room", {"name": "ops", "private": True}))["action"] == "success"
        await ws_request(ws, "invite", {"room": "ops", "username": "member"})
        member_ws = await websockets.connect(server.ws_url)
        await ws_request(member_ws, "login", {"token": member})
        refused = await ws_request(member_ws, "create_webhook", {"room": "ops", "name": "nope"})
        assert refused["action"] == "error" and refused["data"]["code"] == "forbidden"
        made = await ws_request(ws, "create_webhook", {"room": "ops", "name": "monitoring"})
        assert made["action"] == "success", made
        hook = made["data"]["webhook"]
        assert hook["name"] == "monitoring" and hook["room"] == "ops" and hook["url"].startswith("/api/webhooks/")
        taken = await ws_request(ws, "create_webhook", {"room": "ops", "name": "member"})
        assert taken["data"]["code"] == "username_taken"
        url = base(server) + hook["url"]
        # Slack's payload, as JSON and as a form, as tools send it
        r = requests.post(url, json={"text": "disk at 91%"}, timeout=10)
        assert r.status_code == 200 and r.text == "ok"
        pushed = await receive(member_ws, "receive_message", lambda d: d["message"]["text"] == "disk at 91%")
        assert pushed["message"]["from"] == "monitoring" and pushed["message"]["from_bot"] is True and pushed["message"]["room"] == "ops"
        r = requests.post(url, data={"payload": json.dumps({"text": "as a form", "username": "ignored"})}, timeout=10)
        assert r.status_code == 200
        await receive(member_ws, "receive_message", lambda d: d["message"]["text"] == "as a form")
        for bad, code in [({"txt": "x"}, "missing_field"), ({"text": 5}, "invalid_field"), ({"text": " "}, "empty_message")]:
            r = requests.post(url, json=bad, timeout=10)
            assert r.status_code == 400 and r.json()["error"]["code"] == code, (bad, r.text)
        assert requests.post(url, data="not json", headers={"Content-Type": "application/json"}, timeout=10).status_code == 400
        listed = await ws_request(ws, "list_webhooks", {"room": "ops"})
        assert [h["id"] for h in listed["data"]["webhooks"]] == [hook["id"]] and "url" not in listed["data"]["webhooks"][0]
        assert (await ws_request(member_ws, "list_webhooks", {"room": "ops"}))["data"]["code"] == "forbidden"
        assert (await ws_request(ws, "delete_webhook", {"room": "ops", "id": hook["id"]}))["action"] == "success"
        r = requests.post(url, json={"text": "after"}, timeout=10)
        assert r.status_code == 404 and r.json()["error"]["code"] == "webhook_not_found"
        assert (await ws_request(ws, "delete_webhook", {"room": "ops", "id": hook["id"]}))["data"]["code"] == "webhook_not_found"
        assert requests.post(base(server) + "/api/webhooks/guessed", json={"text": "x"}, timeout=10).status_code == 404
        await ws.close()
        await member_ws.close()
    asyncio.run(flow())

    # from the command line, for a running server
    made = admin(server, "webhook", "create", "general", "--name", "deploys", "--base-url", base(server), "--json")
    assert made.returncode == 0, made.stderr
    url = json.loads(made.stdout)["url"]
    assert requests.post(url, json={"text": "v2 deployed"}, timeout=10).status_code == 200
    last = api(server, "GET", "/api/rooms/general/messages?limit=1", member).json()["messages"][-1]
    assert last["from"] == "deploys" and last["text"] == "v2 deployed" and last["from_bot"] is True
    # the terminal says it is a bot's
    out = subprocess.run([BINARY, "tail", "--server", server.ws_url, "--room", "general", "--guest", "--user", "reader",
                          "-n", "1", "--no-follow"], capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, HOME=server.data))
    assert out.returncode == 0 and out.stdout.rstrip().endswith(" deploys [bot]: v2 deployed"), (out.stdout, out.stderr)
    listed = admin(server, "webhook", "list", "general", "--json")
    hook_id = json.loads(listed.stdout)[0]["id"]
    assert admin(server, "webhook", "delete", "general", hook_id).returncode == 0
    assert requests.post(url, json={"text": "gone"}, timeout=10).status_code == 404
