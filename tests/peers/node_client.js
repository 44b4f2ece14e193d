#!/usr/bin/env node
// Node `ws` client running the standard exchange against an echo server.
//
// Usage: node node_client.js URL [--deflate]   e.g. node node_client.js ws://127.0.0.1:9001/
//
// Needs tests/peers/node_modules (scripts/install-peers.sh); `ws` is resolved
// relative to this file. perMessageDeflate off (--deflate: `perMessageDeflate:
// true`, ws's default offer, which the server must accept), maxPayload 64 MiB.
// Prints exactly one line on stdout: `OK <n messages>` (with --deflate:
// `OK <n> ext=<the extensions ws agreed to>`) (exit 0) or `FAIL <reason>`
// (exit 1). The whole run is bounded by 30 s.
//
// THE STANDARD EXCHANGE (identical in py_client.py and node_client.js; n = 111)
// Each item is sent alone, then its echo is awaited and checked for the same
// type (text vs binary) and the same bytes, before the next is sent:
//    1. text   "hello"
//    2. text   "héllo wörld 🎉 ∑"                    (multi-byte UTF-8, 4-byte emoji)
//    3. text   ""                                    (empty text)
//    4. binary bytes 0,1,...,255
//    5. binary empty
//    6. binary 125 bytes   } payload-length encoding boundaries: 7-bit max,
//    7. binary 126 bytes   } first 16-bit, 16-bit max,
//    8. binary 65535 bytes } first 64-bit; all filled with byte (i % 251)
//    9. binary 65536 bytes }
//   10. binary 1 MiB (1048576 bytes) pseudo-random: s = 0x2545F491; for each
//       byte: s = (s * 1103515245 + 12345) mod 2**32; byte = s >> 24
//   11. text   "€abcde" x 131072                     (1 MiB of UTF-8: 3-byte € + ASCII)
//   then a ping with payload "p", waiting for the matching pong;
//   then 100 messages sent back-to-back without waiting (i = 0..99: even i ->
//   text "burst-<i>", odd i -> binary of i bytes all equal to i), then all 100
//   echoes received and checked in order;
//   then close with code 1000 reason "bye"; the close frame received back must
//   carry code 1000.
'use strict';

const WebSocket = require('ws');

const MAX_PAYLOAD = 64 * 1024 * 1024;
const TIMEOUT_MS = 30000;

class Fail extends Error {}

function prngBytes(n) {
  const out = Buffer.allocUnsafe(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function filled(n) {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = i % 251;
  return out;
}

function text(s) {
  return { isBinary: false, bytes: Buffer.from(s, 'utf8') };
}
function binary(b) {
  return { isBinary: true, bytes: Buffer.from(b) };
}

function standardMessages() {
  return [
    ['hello', text('hello')],
    ['utf8', text('héllo wörld 🎉 ∑')],
    ['empty text', text('')],
    ['bytes 0..255', binary(Array.from({ length: 256 }, (_, i) => i))],
    ['empty binary', binary([])],
    ['binary 125', binary(filled(125))],
    ['binary 126', binary(filled(126))],
    ['binary 65535', binary(filled(65535))],
    ['binary 65536', binary(filled(65536))],
    ['binary 1MiB prng', binary(prngBytes(1 << 20))],
    ['text 1MiB', text('€abcde'.repeat(131072))],
  ];
}

function burstMessages() {
  const out = [];
  for (let i = 0; i < 100; i++) {
    out.push([`burst ${i}`, i % 2 === 0 ? text(`burst-${i}`) : binary(Buffer.alloc(i, i))]);
  }
  return out;
}

function kind(isBinary) {
  return isBinary ? 'binary' : 'text';
}

function check(label, sent, got) {
  if (sent.isBinary !== got.isBinary) {
    throw new Fail(`${label}: sent ${kind(sent.isBinary)}, echo is ${kind(got.isBinary)}`);
  }
  if (!sent.bytes.equals(got.bytes)) {
    const a = sent.bytes;
    const b = got.bytes;
    let first = 0;
    while (first < a.length && first < b.length && a[first] === b[first]) first++;
    throw new Fail(
      `${label}: echo differs (${a.length} bytes sent, ${b.length} received, first difference at byte ${first})`,
    );
  }
}

function exchange(url, deflate) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: deflate, maxPayload: MAX_PAYLOAD });
    const inbox = []; // received {isBinary, bytes} not yet taken
    let waiter = null; // resolve function of a pending recv()
    let pongWaiter = null;
    let closed = null; // {code, reason, frameReceived} once 'close' fired
    let closeWaiter = null;
    let count = 0;

    const recv = () =>
      new Promise((res, rej) => {
        if (inbox.length) return res(inbox.shift());
        if (closed) {
          return rej(new Fail(`connection closed after ${count} messages: received ${closed.code} ${JSON.stringify(closed.reason)}`));
        }
        waiter = { res, rej };
      });

    ws.on('message', (data, isBinary) => {
      const msg = { isBinary, bytes: Buffer.isBuffer(data) ? data : Buffer.concat(data) };
      if (waiter) {
        const w = waiter;
        waiter = null;
        w.res(msg);
      } else inbox.push(msg);
    });
    ws.on('pong', (data) => {
      if (pongWaiter && data.toString('latin1') === 'p') {
        const w = pongWaiter;
        pongWaiter = null;
        w.res();
      }
    });
    ws.on('error', (err) => reject(new Fail(`${err.code ? err.code + ': ' : ''}${err.message}`)));
    ws.on('close', (code, reason) => {
      closed = { code, reason: reason.toString(), frameReceived: ws._closeFrameReceived };
      if (waiter) {
        const w = waiter;
        waiter = null;
        w.rej(new Fail(`connection closed after ${count} messages: received ${code} ${JSON.stringify(closed.reason)}`));
      }
      if (pongWaiter) {
        const w = pongWaiter;
        pongWaiter = null;
        w.rej(new Fail(`connection closed while waiting for the pong: received ${code}`));
      }
      if (closeWaiter) closeWaiter();
    });

    ws.on('open', async () => {
      try {
        if (deflate && !ws.extensions.startsWith('permessage-deflate')) {
          throw new Fail(`permessage-deflate not negotiated (extensions: ${JSON.stringify(ws.extensions)})`);
        }
        for (const [label, msg] of standardMessages()) {
          ws.send(msg.bytes, { binary: msg.isBinary });
          check(label, msg, await recv());
          count++;
        }
        await new Promise((res, rej) => {
          pongWaiter = { res, rej };
          ws.ping('p');
        });
        const burst = burstMessages();
        for (const [, msg] of burst) ws.send(msg.bytes, { binary: msg.isBinary });
        for (const [label, msg] of burst) {
          check(label, msg, await recv());
          count++;
        }
        await new Promise((res) => {
          closeWaiter = res;
          ws.close(1000, 'bye');
        });
        if (!closed.frameReceived) throw new Fail('no close frame received back');
        if (closed.code !== 1000) {
          throw new Fail(`close code received back is ${closed.code} (reason ${JSON.stringify(closed.reason)}), expected 1000`);
        }
        resolve(deflate ? `${count} ext=${ws.extensions}` : `${count}`);
      } catch (e) {
        ws.terminate();
        reject(e);
      }
    });
  });
}

function finish(line, code) {
  process.stdout.write(line.replace(/\n/g, ' ') + '\n');
  process.exit(code);
}

const args = process.argv.slice(2);
const deflate = args.includes('--deflate');
const rest = args.filter((a) => a !== '--deflate');
if (rest.length !== 1) finish('FAIL usage: node_client.js URL [--deflate]', 1);
setTimeout(() => finish(`FAIL timeout after ${TIMEOUT_MS / 1000} s`, 1), TIMEOUT_MS);
exchange(rest[0], deflate).then(
  (n) => finish(`OK ${n}`, 0),
  (e) => finish(`FAIL ${e instanceof Fail ? '' : e.name + ': '}${e.message}`, 1),
);
