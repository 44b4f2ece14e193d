//! permessage-deflate against Python `websockets` and Node `ws` (installed by
//! `scripts/install-peers.sh`), with the core driven by hand over a std `TcpStream`: no
//! adapter.
//!
//! - our client core against a `websockets` echo server, for several server settings
//!   (default, no context takeover both ways, small windows);
//! - a `websockets` client against our server core, for several client offers (default,
//!   `server_max_window_bits=8`, no context takeover, small windows).
//!
//! Each exchange mixes small and large, text and binary, compressible and random messages,
//! caller-fragmented ones and an uncompressed one; every echo must match, and the
//! negotiated parameters must be what both sides asked for. Without `.peers/env` the tests
//! fail with a hint, unless `WSM_SKIP_INTEROP=1`.
#![cfg(feature = "deflate")]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wsmachine::{
    Accept, Bytes, ClientRequest, CloseCode, Config, Connection, DeflateConfig, DeflateParams,
    Event, Message, MessageKind, Timestamp,
};

/// The venv Python with `websockets`, or `None` (skip) with `WSM_SKIP_INTEROP=1`.
fn python(test: &str) -> Option<PathBuf> {
    wsmachine_test_support::peers::peer_env(test).map(|env| env.python)
}

/// A child process killed on drop.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SERVER_PY: &str = r#"
import asyncio, sys
from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
kw = dict(a.split("=") for a in sys.argv[1:])
factory = ServerPerMessageDeflateFactory(
    server_no_context_takeover=kw.get("snct") == "1",
    client_no_context_takeover=kw.get("cnct") == "1",
    server_max_window_bits=int(kw["smwb"]) if "smwb" in kw else None,
    client_max_window_bits=int(kw["cmwb"]) if "cmwb" in kw else None,
)
async def echo(ws):
    try:
        async for m in ws:
            await ws.send(m)
    except Exception:
        pass
async def main():
    async with serve(echo, "127.0.0.1", 0, compression=None, extensions=[factory],
                     max_size=64 * 1024 * 1024, ping_interval=None) as s:
        print("PORT", s.sockets[0].getsockname()[1], flush=True)
        await s.serve_forever()
asyncio.run(main())
"#;

const CLIENT_PY: &str = r#"
import asyncio, sys, random
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
url = sys.argv[1]
kw = dict(a.split("=") for a in sys.argv[2:])
factory = ClientPerMessageDeflateFactory(
    server_no_context_takeover=kw.get("snct") == "1",
    client_no_context_takeover=kw.get("cnct") == "1",
    server_max_window_bits=int(kw["smwb"]) if "smwb" in kw else None,
    client_max_window_bits=int(kw["cmwb"]) if "cmwb" in kw else True,
)
def messages():
    rnd = random.Random(7)
    out = []
    for i in range(60):
        out.append('{"id":%d,"user":"u%d","text":"h\u00e9llo number %d","ok":true}' % (i, i % 5, i))
    out.append("")
    out.append(b"")
    out.append(bytes(rnd.randrange(256) for _ in range(70000)))
    out.append("\u20acabcde" * 50000)
    out.append(bytes(range(256)) * 300)
    return out
async def main():
    async with connect(url, compression=None, extensions=[factory], max_size=64 * 1024 * 1024,
                       ping_interval=None, open_timeout=10) as ws:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        for m in messages():
            await ws.send(m)
            got = await asyncio.wait_for(ws.recv(), 10)
            if got != m:
                print("FAIL echo differs", type(m), len(m), flush=True)
                sys.exit(1)
        # A fragmented message.
        await ws.send(iter(["ab\u00e9", "cd" * 1000, "ef"]))
        if await asyncio.wait_for(ws.recv(), 10) != "ab\u00e9" + "cd" * 1000 + "ef":
            print("FAIL fragmented echo", flush=True)
            sys.exit(1)
        await ws.close(1000, "bye")
        print("OK", ext, flush=True)
asyncio.run(main())
"#;

/// Drives `conn` over `sock` until `done` says so (or the connection ends), answering each
/// delivered message with `on_message`. Returns every event. Bounded: panics after 60 s.
fn drive(
    conn: &mut Connection,
    sock: &mut TcpStream,
    origin: Instant,
    mut on_message: impl FnMut(&mut Connection, &Message),
    mut done: impl FnMut(&[Event]) -> bool,
) -> Vec<Event> {
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut events = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    let mut eof = false;
    loop {
        assert!(
            origin.elapsed() < Duration::from_secs(60),
            "interop run took over 60 s"
        );
        let now = Timestamp::from_duration(origin.elapsed());
        while let Some(e) = conn.poll_event() {
            if let Event::Message(m) = &e {
                on_message(conn, m);
            }
            events.push(e);
        }
        if done(&events) || (conn.is_closed() && conn.pending_transmit() == 0) {
            return events;
        }
        out.clear();
        conn.write_transmit_to(&mut out, usize::MAX);
        if !out.is_empty() {
            sock.write_all(&out).unwrap();
        }
        if eof || !conn.wants_input() {
            std::thread::sleep(Duration::from_millis(1));
            conn.handle_timeout(now);
            if eof && !conn.is_closed() {
                conn.handle_eof();
            }
            continue;
        }
        match sock.read(&mut buf) {
            Ok(0) => {
                eof = true;
                conn.handle_eof();
            }
            Ok(n) => {
                conn.handle_input(now, &buf[..n]);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                conn.handle_timeout(now);
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

fn json(i: usize) -> String {
    format!(
        "{{\"id\":{i},\"user\":\"u{}\",\"text\":\"hello number {i}\",\"ok\":true}}",
        i % 5
    )
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut s: u32 = 0x2545_f491;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (s >> 24) as u8
        })
        .collect()
}

/// Our client against a `websockets` server started with `args`; returns the agreed
/// parameters after checking every echo.
fn client_against_python(py: &PathBuf, args: &[&str], ours: DeflateConfig) -> DeflateParams {
    let mut cmd = Command::new(py);
    cmd.arg("-c").arg(SERVER_PY).args(args);
    client_against(cmd, args, ours)
}

/// Our client against the echo server `cmd` starts (it prints `PORT <n>`).
fn client_against(mut cmd: Command, args: &[&str], ours: DeflateConfig) -> DeflateParams {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the python server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _peer = Peer(child);
    let port: u16 = line
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("server said {line:?}"));
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let origin = Instant::now();
    let config = Config {
        deflate: Some(ours),
        ..Config::default()
    };
    let request = ClientRequest::new(&format!("ws://127.0.0.1:{port}/")).unwrap();
    let mut conn = Connection::client(&request, config, Timestamp::ZERO).unwrap();
    let ev = drive(
        &mut conn,
        &mut sock,
        origin,
        |_, _| {},
        |e| e.iter().any(|e| matches!(e, Event::Connected(_))),
    );
    assert!(
        matches!(ev.last(), Some(Event::Connected(_))),
        "{args:?}: {ev:?}"
    );
    let agreed = *conn.deflate_params().expect("permessage-deflate agreed");

    let mut sent = Vec::new();
    for i in 0..50 {
        sent.push(Message::text(json(i)));
    }
    sent.push(Message::text(""));
    sent.push(Message::binary(random_bytes(70_000)));
    sent.push(Message::text("€abcde".repeat(50_000)));
    sent.push(Message::binary(vec![7u8; 1 << 20]));
    for m in &sent {
        conn.send(m.clone()).unwrap();
    }
    conn.send_uncompressed(Message::text(json(99))).unwrap();
    sent.push(Message::text(json(99)));
    for (piece, last) in [("ab€", false), ("cd", false), ("ef", true)] {
        conn.send_fragment(MessageKind::Text, Bytes::from(piece.repeat(300)), last)
            .unwrap();
    }
    sent.push(Message::text(
        ["ab€", "cd", "ef"].map(|p| p.repeat(300)).concat(),
    ));
    let want = sent.len();
    let events = drive(
        &mut conn,
        &mut sock,
        origin,
        |_, _| {},
        |e| {
            e.iter().filter(|e| matches!(e, Event::Message(_))).count() >= want
                || e.iter().any(|e| matches!(e, Event::Error(_)))
        },
    );
    let got: Vec<Message> = events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            Event::Error(e) => panic!("{args:?}: {e:?}"),
            _ => None,
        })
        .collect();
    assert!(
        got == sent,
        "{args:?}: echoes differ ({} of {})",
        got.len(),
        sent.len()
    );
    conn.close(
        Timestamp::from_duration(origin.elapsed()),
        CloseCode::NORMAL,
        "bye",
    )
    .unwrap();
    let end = drive(&mut conn, &mut sock, origin, |_, _| {}, |_| false);
    let report = end.iter().find_map(|e| match e {
        Event::Closed(r) => Some(r.clone()),
        _ => None,
    });
    assert!(report.is_some_and(|r| r.clean), "{args:?}: {end:?}");
    agreed
}

#[test]
fn our_client_against_python_websockets_servers() {
    let Some(py) = python("our_client_against_python_websockets_servers") else {
        return;
    };
    let d = DeflateConfig::default();
    assert_eq!(client_against_python(&py, &[], d), DeflateParams::default());
    assert_eq!(
        client_against_python(&py, &["snct=1", "cnct=1"], d),
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..DeflateParams::default()
        }
    );
    assert_eq!(
        client_against_python(&py, &["smwb=10", "cmwb=9"], d),
        DeflateParams {
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(9),
            ..DeflateParams::default()
        }
    );
    // We ask for a small server window and offer our own limits.
    let small = DeflateConfig {
        server_max_window_bits: 11,
        client_max_window_bits: 12,
        server_no_context_takeover: true,
        ..d
    };
    assert_eq!(
        client_against_python(&py, &[], small),
        DeflateParams {
            server_no_context_takeover: true,
            server_max_window_bits: Some(11),
            client_max_window_bits: Some(12),
            ..DeflateParams::default()
        }
    );
}

/// A `websockets` client offering `args` against our server core with `ours`; returns what
/// the client saw in `Sec-WebSocket-Extensions` and the parameters our server agreed.
fn python_client_against_us(
    py: &PathBuf,
    args: &[&str],
    ours: DeflateConfig,
) -> (String, DeflateParams) {
    client_against_us(
        |url| {
            let mut cmd = Command::new(py);
            cmd.arg("-c").arg(CLIENT_PY).arg(url).args(args);
            cmd
        },
        args,
        ours,
    )
}

/// The client `cmd(url)` starts (it prints `OK <extensions header>`) against our server.
fn client_against_us(
    cmd: impl FnOnce(String) -> Command,
    args: &[&str],
    ours: DeflateConfig,
) -> (String, DeflateParams) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = cmd(format!("ws://127.0.0.1:{port}/"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the python client");
    let mut peer = Peer(child);
    let (mut sock, _) = listener.accept().unwrap();
    let origin = Instant::now();
    let config = Config {
        deflate: Some(ours),
        ..Config::default()
    };
    let mut conn = Connection::server(config, Timestamp::ZERO);
    let mut agreed = None;
    let events = drive(
        &mut conn,
        &mut sock,
        origin,
        |c, m| c.send(m.clone()).unwrap(),
        |e| {
            if let Some(Event::Request(_)) = e.last() {
                return true;
            }
            false
        },
    );
    assert!(
        matches!(events.last(), Some(Event::Request(_))),
        "{events:?}"
    );
    conn.accept(
        Timestamp::from_duration(origin.elapsed()),
        &Accept::default(),
    )
    .unwrap();
    if let Some(p) = conn.deflate_params() {
        agreed = Some(*p);
    }
    let events = drive(
        &mut conn,
        &mut sock,
        origin,
        |c, m| {
            let _ = c.send(m.clone());
        },
        |_| false,
    );
    assert!(
        !events.iter().any(|e| matches!(e, Event::Error(_))),
        "{args:?}: {events:?}"
    );
    // The server ends TCP (RFC 6455 7.1.1); the client reports once it sees that.
    drop(sock);
    let mut line = String::new();
    BufReader::new(peer.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("OK"), "{args:?}: the client said {line:?}");
    (
        line.trim_start_matches("OK").trim().to_string(),
        agreed.expect("permessage-deflate agreed"),
    )
}

#[test]
fn python_websockets_clients_against_our_server() {
    let Some(py) = python("python_websockets_clients_against_our_server") else {
        return;
    };
    let d = DeflateConfig::default();
    let (ext, p) = python_client_against_us(&py, &[], d);
    assert_eq!(ext, "permessage-deflate");
    assert_eq!(p, DeflateParams::default());
    // The client asks for a 256-byte server window: we compress with RLE.
    let (ext, p) = python_client_against_us(&py, &["smwb=8"], d);
    assert_eq!(ext, "permessage-deflate; server_max_window_bits=8");
    assert_eq!(p.server_max_window_bits, Some(8));
    let (_, p) = python_client_against_us(&py, &["snct=1", "cnct=1", "cmwb=10"], d);
    assert_eq!(
        p,
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            client_max_window_bits: Some(10),
            ..DeflateParams::default()
        }
    );
    // Our server holds both windows to 9 bits and demands no client context takeover.
    let strict = DeflateConfig {
        server_max_window_bits: 9,
        client_max_window_bits: 9,
        client_no_context_takeover: true,
        ..d
    };
    let (ext, p) = python_client_against_us(&py, &[], strict);
    assert_eq!(
        ext,
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9"
    );
    assert_eq!(p.client_max_window_bits, Some(9));
}

const NODE_SERVER: &str = r#"
const { WebSocketServer } = require('ws');
const opts = JSON.parse(process.argv[1]);
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: opts,
                                  maxPayload: 64 * 1024 * 1024 },
  () => console.log('PORT ' + wss.address().port));
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
"#;

const NODE_CLIENT: &str = r#"
const WebSocket = require('ws');
const url = process.argv[1];
const opts = JSON.parse(process.argv[2]);
const fail = (why) => { console.log('FAIL ' + why); process.exit(1); };
const msgs = [];
for (let i = 0; i < 60; i++) msgs.push(JSON.stringify({ id: i, user: 'u' + (i % 5), text: 'h\u00e9llo ' + i }));
msgs.push('', Buffer.alloc(0), Buffer.alloc(70000, 7), '\u20acabcde'.repeat(50000));
const rnd = Buffer.alloc(70000); let s = 7;
for (let i = 0; i < rnd.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; rnd[i] = s >>> 24; }
msgs.push(rnd);
let ext = '';
const ws = new WebSocket(url, { perMessageDeflate: opts, maxPayload: 64 * 1024 * 1024 });
ws.on('upgrade', (res) => { ext = res.headers['sec-websocket-extensions'] || ''; });
let i = 0;
const next = () => {
  if (i < msgs.length) ws.send(msgs[i], { binary: typeof msgs[i] !== 'string' });
  else ws.close(1000, 'bye');
};
ws.on('open', next);
ws.on('message', (data, isBinary) => {
  const want = msgs[i];
  const ok = typeof want === 'string' ? (!isBinary && data.toString() === want)
                                      : (isBinary && Buffer.compare(data, want) === 0);
  if (!ok) fail('echo ' + i + ' differs');
  i++; next();
});
ws.on('close', (code) => {
  if (code !== 1000 || i !== msgs.length) fail('closed ' + code + ' after ' + i);
  console.log('OK ' + ext); process.exit(0);
});
ws.on('error', (e) => fail(String(e)));
setTimeout(() => fail('timeout'), 30000);
"#;

/// `node -e SCRIPT ARGS...` with `ws` resolvable from tests/peers/node_modules.
fn node(node: &PathBuf, script: &str, args: &[&str]) -> Command {
    let modules = wsmachine_test_support::peers::repo_root().join("tests/peers/node_modules");
    let mut cmd = Command::new(node);
    cmd.env("NODE_PATH", modules)
        .arg("-e")
        .arg(script)
        .args(args);
    cmd
}

#[test]
fn our_client_against_node_ws_servers() {
    let Some(env) = wsmachine_test_support::peers::peer_env("our_client_against_node_ws_servers")
    else {
        return;
    };
    let d = DeflateConfig::default();
    let run =
        |opts: &str, ours| client_against(node(&env.node, NODE_SERVER, &[opts]), &[opts], ours);
    assert_eq!(run(r#"{"threshold":0}"#, d), DeflateParams::default());
    assert_eq!(
        run(
            r#"{"threshold":0,"serverNoContextTakeover":true,"clientNoContextTakeover":true,
                "serverMaxWindowBits":10,"clientMaxWindowBits":9}"#,
            d
        ),
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(9),
        }
    );
    // We ask for a small server window.
    let small = DeflateConfig {
        server_max_window_bits: 9,
        client_max_window_bits: 11,
        ..d
    };
    assert_eq!(
        run(r#"{"threshold":0}"#, small).server_max_window_bits,
        Some(9)
    );
}

#[test]
fn node_ws_clients_against_our_server() {
    let Some(env) = wsmachine_test_support::peers::peer_env("node_ws_clients_against_our_server")
    else {
        return;
    };
    let d = DeflateConfig::default();
    let run = |opts: &'static str, ours| {
        client_against_us(
            |url| node(&env.node, NODE_CLIENT, &[&url, opts]),
            &[opts],
            ours,
        )
    };
    let (ext, p) = run(r#"{"threshold":0}"#, d);
    assert_eq!(p, DeflateParams::default(), "{ext}");
    let (ext, p) = run(
        r#"{"threshold":0,"serverNoContextTakeover":true,"clientNoContextTakeover":true,
            "serverMaxWindowBits":8,"clientMaxWindowBits":10}"#,
        d,
    );
    assert_eq!(
        p,
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: Some(8),
            client_max_window_bits: Some(10),
        },
        "{ext}"
    );
    let strict = DeflateConfig {
        server_max_window_bits: 9,
        client_max_window_bits: 9,
        server_no_context_takeover: true,
        ..d
    };
    let (ext, p) = run(r#"{"threshold":0}"#, strict);
    assert_eq!(p.client_max_window_bits, Some(9), "{ext}");
    assert!(p.server_no_context_takeover, "{ext}");
}
