#!/usr/bin/env python3
"""Writes the permessage-deflate seeds of the frame fuzz targets
(fuzz/corpus/frame_{server,client}/deflate-*): compressed messages with and without context
takeover, a compressed fragmented message with a ping between its frames, then a Close.
The second input byte has bit 1 set, which makes the target agree on permessage-deflate
(bits 2-3: no context takeover each way). Compressed with Python's zlib (raw deflate, sync
flush, trailer removed: RFC 7692 7.2.1), so the seeds do not come from wsmachine's own
compressor. Run from the repository root; scripts/gen-fuzz-corpus.sh calls it."""
import struct
import zlib


def frame(b0, payload, mask):
    out = bytearray([b0])
    m = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        out.append(m | n)
    elif n <= 0xFFFF:
        out.append(m | 126)
        out += struct.pack(">H", n)
    else:
        out.append(m | 127)
        out += struct.pack(">Q", n)
    if mask:
        key = bytes([0x37, 0xFA, 0x21, 0x3D])
        out += key
        out += bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    else:
        out += payload
    return bytes(out)


def compressed(msgs, takeover=True):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = []
    for m in msgs:
        if not takeover:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
        d = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        assert d.endswith(b"\x00\x00\xff\xff")
        out.append(d[:-4])
    return out


TEXTS = [
    b'{"id":1,"text":"hello hello hello, compressed world"}',
    b'{"id":2,"text":"hello hello hello, compressed world"}',
    "h\u00e9llo w\u00f6rld ".encode() * 20,
]

for target, mask in [("frame_server", True), ("frame_client", False)]:
    d = f"fuzz/corpus/{target}"
    stream = b"".join(frame(0xC1, p, mask) for p in compressed(TEXTS))
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    a = c.compress(b"abcabcabc" * 50) + c.flush(zlib.Z_SYNC_FLUSH)
    b = (c.compress(b"xyzxyz" * 40) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    frag = frame(0x42, a, mask) + frame(0x89, b"pi", mask) + frame(0x80, b, mask)
    close = frame(0x88, struct.pack(">H", 1000) + b"bye", mask)
    nct = b"".join(frame(0xC1, p, mask) for p in compressed(TEXTS, takeover=False))
    seeds = {
        "deflate-0": bytes([0x00, 0x02]) + stream + close,
        "deflate-1-fragments": bytes([0x01, 0x42]) + stream + frag + close,
        "deflate-2-no-takeover": bytes([0x80, 0x0E]) + nct + frag + close,
        "deflate-3-chunked": bytes([0x20, 0x83]) + stream + frag + close,
    }
    for name, data in seeds.items():
        with open(f"{d}/{name}", "wb") as f:
            f.write(data)
