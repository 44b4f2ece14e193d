#!/usr/bin/env python3
"""Python `websockets` client running the standard exchange against an echo server.

Usage: py_client.py URL [--deflate]    e.g. py_client.py ws://127.0.0.1:9001/

Run it with the venv interpreter written by scripts/install-peers.sh (PEER_PYTHON
in .peers/env). Compression off (--deflate: websockets' default permessage-deflate
offer, which the server must accept), max message size 64 MiB, keepalive pings
off. Prints exactly one line on stdout: `OK <n messages>` (with --deflate:
`OK <n> ext=<the server's Sec-WebSocket-Extensions>`) (exit 0) or `FAIL <reason>`
(exit 1). The whole run is bounded by 30 s.

THE STANDARD EXCHANGE (identical in py_client.py and node_client.js; n = 111)
Each item is sent alone, then its echo is awaited and checked for the same type
(text vs binary) and the same bytes, before the next is sent:
   1. text   "hello"
   2. text   "héllo wörld 🎉 ∑"                     (multi-byte UTF-8, 4-byte emoji)
   3. text   ""                                     (empty text)
   4. binary bytes 0,1,...,255
   5. binary b""                                    (empty binary)
   6. binary 125 bytes   } payload-length encoding boundaries: 7-bit max,
   7. binary 126 bytes   } first 16-bit, 16-bit max,
   8. binary 65535 bytes } first 64-bit; all filled with byte (i % 251)
   9. binary 65536 bytes }
  10. binary 1 MiB (1048576 bytes) pseudo-random: s = 0x2545F491; for each
      byte: s = (s * 1103515245 + 12345) mod 2**32; byte = s >> 24
  11. text   "€abcde" * 131072                      (1 MiB of UTF-8: 3-byte € + ASCII)
  then a ping with payload b"p", waiting for the matching pong;
  then 100 messages sent back-to-back without waiting (i = 0..99: even i ->
  text "burst-<i>", odd i -> binary of i bytes all equal to i), then all 100
  echoes received and checked in order;
  then close with code 1000 reason "bye"; the close frame received back must
  carry code 1000.
"""

import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

MAX_SIZE = 64 * 1024 * 1024
TIMEOUT = 30.0


class Fail(Exception):
    pass


def prng_bytes(n):
    out = bytearray(n)
    s = 0x2545F491
    for i in range(n):
        s = (s * 1103515245 + 12345) & 0xFFFFFFFF
        out[i] = s >> 24
    return bytes(out)


def filled(n):
    return bytes(i % 251 for i in range(n))


def standard_messages():
    return [
        ("hello", "hello"),
        ("utf8", "héllo wörld 🎉 ∑"),
        ("empty text", ""),
        ("bytes 0..255", bytes(range(256))),
        ("empty binary", b""),
        ("binary 125", filled(125)),
        ("binary 126", filled(126)),
        ("binary 65535", filled(65535)),
        ("binary 65536", filled(65536)),
        ("binary 1MiB prng", prng_bytes(1 << 20)),
        ("text 1MiB", "€abcde" * 131072),
    ]


def burst_messages():
    return [
        (f"burst {i}", f"burst-{i}" if i % 2 == 0 else bytes([i]) * i) for i in range(100)
    ]


def kind(m):
    return "text" if isinstance(m, str) else "binary"


def check(label, sent, got):
    if kind(sent) != kind(got):
        raise Fail(f"{label}: sent {kind(sent)}, echo is {kind(got)}")
    a = sent.encode() if isinstance(sent, str) else sent
    b = got.encode() if isinstance(got, str) else got
    if a != b:
        first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        raise Fail(f"{label}: echo differs ({len(a)} bytes sent, {len(b)} received, first difference at byte {first})")


async def exchange(url, deflate):
    count = 0
    compression = "deflate" if deflate else None
    async with connect(url, compression=compression, max_size=MAX_SIZE, ping_interval=None) as ws:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions")
        if deflate and not (ext or "").startswith("permessage-deflate"):
            raise Fail(f"permessage-deflate not negotiated (Sec-WebSocket-Extensions: {ext!r})")
        try:
            for label, msg in standard_messages():
                await ws.send(msg)
                check(label, msg, await ws.recv())
                count += 1
            pong = await ws.ping(b"p")
            await pong
            burst = burst_messages()
            for _, msg in burst:
                await ws.send(msg)
            for label, msg in burst:
                check(label, msg, await ws.recv())
                count += 1
        except ConnectionClosed as e:
            raise Fail(f"connection closed after {count} messages: received {e.rcvd}, sent {e.sent}")
        await ws.close(1000, "bye")
        rcvd = ws.protocol.close_rcvd
        if rcvd is None:
            raise Fail("no close frame received back")
        if rcvd.code != 1000:
            raise Fail(f"close code received back is {rcvd.code} (reason {rcvd.reason!r}), expected 1000")
    return f"{count} ext={ext}" if deflate else str(count)


async def run(url, deflate):
    deadline = asyncio.timeout(TIMEOUT)
    try:
        async with deadline:
            return await exchange(url, deflate)
    except TimeoutError as e:
        if deadline.expired():
            raise Fail(f"timeout after {TIMEOUT:.0f} s") from None
        raise Fail(f"TimeoutError: {e}") from None


def main():
    args = sys.argv[1:]
    deflate = "--deflate" in args
    args = [a for a in args if a != "--deflate"]
    if len(args) != 1:
        print("FAIL usage: py_client.py URL [--deflate]", flush=True)
        return 1
    try:
        n = asyncio.run(run(args[0], deflate))
    except Fail as e:
        print(f"FAIL {e}", flush=True)
        return 1
    except Exception as e:  # connection refused, handshake rejected, ...
        print(f"FAIL {type(e).__name__}: {e}".replace("\n", " "), flush=True)
        return 1
    print(f"OK {n}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
