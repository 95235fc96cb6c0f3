"""The WebSocket endpoint spoken to over a raw socket, for what no well-behaved client
library will send: an unmasked client frame (RFC 6455 §5.1: the server must close, 1002)."""
import base64
import os
import socket
import struct


def upgrade(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "the server closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def read_frame(sock):
    """One server frame: (opcode, payload)."""
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "the server closed without a close frame"
            data += chunk
        return data
    first, second = exactly(2)
    assert second & 0x80 == 0, "server frames are not masked"
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", exactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", exactly(8))[0]
    return first & 0x0F, exactly(length)


def masked(opcode, payload):
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def test_a_masked_request_is_answered_and_an_unmasked_frame_closes_with_1002(server):
    sock = upgrade(server.http_port)
    sock.sendall(masked(0x1, b'{"action":"ping","id":"p"}'))
    opcode, payload = read_frame(sock)
    assert opcode == 0x1 and b'"reply_to":"p"' in payload

    sock.sendall(bytes([0x81, len(b'{"action":"ping"}')]) + b'{"action":"ping"}')  # no mask
    opcode, payload = read_frame(sock)
    assert opcode == 0x8
    assert struct.unpack("!H", payload[:2])[0] == 1002
    assert sock.recv(1) == b""  # and the connection is closed
    sock.close()


def test_a_ping_is_answered_with_a_pong_carrying_its_payload(server):
    sock = upgrade(server.http_port)
    sock.sendall(masked(0x9, b"are you there"))
    opcode, payload = read_frame(sock)
    assert (opcode, payload) == (0xA, b"are you there")
    sock.sendall(masked(0x8, struct.pack("!H", 1000)))
    opcode, payload = read_frame(sock)
    assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1000
    sock.close()
