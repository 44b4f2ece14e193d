#!/usr/bin/env python3
"""Python `websockets` echo server, a reference peer for wsmachine's interop tests.

Usage: py_echo_server.py [--port N] [--deflate]     (default port 0 = any free port)

Run it with the venv interpreter written by scripts/install-peers.sh (PEER_PYTHON
in .peers/env). Binds 127.0.0.1 only. Once listening it prints

    PORT <n>

on stdout. Every text message is echoed back as text and every binary message as
binary, unchanged (fragmented messages are echoed as one message). Compression
(permessage-deflate) is off (--deflate: on, websockets' default settings; each
connection then prints `EXT <its Sec-WebSocket-Extensions, or none>` when it
opens), max message size is 64 MiB, keepalive pings are off.
When a connection ends it prints one line

    CLOSE <received code> <sent code>

where a code is the status code of the close frame received from / sent to the
client, 1005 for a close frame without a status code, and `none` when no close
frame was received / sent (e.g. TCP dropped). A clean client close with 1000
gives `CLOSE 1000 1000`; a protocol violation by the client typically gives
`CLOSE none 1002` (or 1007 for invalid UTF-8, 1009 for a too-big message).
Runs until killed.
"""

import argparse
import asyncio
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

MAX_SIZE = 64 * 1024 * 1024
DEFLATE = False


def code_of(frame):
    return "none" if frame is None else str(int(frame.code))


async def echo(ws):
    if DEFLATE:
        print(f"EXT {ws.response.headers.get('Sec-WebSocket-Extensions', 'none')}", flush=True)
    try:
        async for message in ws:  # str for text, bytes for binary
            await ws.send(message)
    except ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        print(f"CLOSE {code_of(ws.protocol.close_rcvd)} {code_of(ws.protocol.close_sent)}", flush=True)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--deflate", action="store_true")
    args = parser.parse_args()
    global DEFLATE
    DEFLATE = args.deflate
    async with serve(
        echo,
        "127.0.0.1",
        args.port,
        compression="deflate" if args.deflate else None,
        max_size=MAX_SIZE,
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
