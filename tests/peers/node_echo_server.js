#!/usr/bin/env node
// Node `ws` echo server, a reference peer for wsmachine's interop tests.
//
// Usage: node node_echo_server.js [--port N] [--deflate]   (default port 0 = any free port)
//
// Needs tests/peers/node_modules (scripts/install-peers.sh); it resolves `ws`
// relative to this file, so the working directory does not matter.
// Binds 127.0.0.1 only. Once listening it prints
//
//     PORT <n>
//
// on stdout. Every text message is echoed back as text and every binary message
// as binary, unchanged (fragmented messages are echoed as one message).
// perMessageDeflate is off (--deflate: `perMessageDeflate: true`, ws's defaults;
// each connection then prints `EXT <the extensions ws agreed to, or none>` when
// it opens), maxPayload is 64 MiB. When a connection ends it prints one line
//
//     CLOSE <received code> <sent code>
//
// where a code is the status code of the close frame received from / sent to
// the client, 1005 for a close frame without a status code, and `none` when no
// close frame was received / sent (e.g. TCP dropped). A clean client close with
// 1000 gives `CLOSE 1000 1000`; a protocol violation by the client typically
// gives `CLOSE none 1002` (1007 for invalid UTF-8, 1009 for a too-big message).
// Runs until killed.
'use strict';

const { WebSocketServer } = require('ws');

const MAX_PAYLOAD = 64 * 1024 * 1024;

let port = 0;
let deflate = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--port' && i + 1 < argv.length) port = Number(argv[++i]);
  else if (argv[i].startsWith('--port=')) port = Number(argv[i].slice(7));
  else if (argv[i] === '--deflate') deflate = true;
  else {
    process.stderr.write(`usage: node_echo_server.js [--port N] [--deflate]\n`);
    process.exit(2);
  }
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: deflate,
  maxPayload: MAX_PAYLOAD,
});

wss.on('listening', () => {
  process.stdout.write(`PORT ${wss.address().port}\n`);
});

wss.on('error', (err) => {
  process.stderr.write(`node_echo_server: ${err.message}\n`);
  process.exit(1);
});

wss.on('connection', (ws) => {
  if (deflate) process.stdout.write(`EXT ${ws.extensions || 'none'}\n`);
  // `ws` does not expose the code of the close frame it sent, so record it at
  // the sender: `undefined` means an empty close frame (reported as 1005).
  let sent = 'none';
  const sender = ws._sender;
  const origClose = sender.close;
  sender.close = function (code, data, mask, cb) {
    return origClose.call(this, code, data, mask, (err) => {
      if (!err) sent = code === undefined ? '1005' : String(code);
      if (cb) cb(err);
    });
  };

  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', (err) => {
    process.stderr.write(`node_echo_server: connection error: ${err.message}\n`);
  });
  ws.on('close', (code) => {
    const rcvd = ws._closeFrameReceived ? String(code) : 'none';
    process.stdout.write(`CLOSE ${rcvd} ${sent}\n`);
  });
});
