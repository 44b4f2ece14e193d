//! Transcripts of real interop sessions replay identically: our std, tokio, smol
//! (futures-io) and mio servers with `Config::record` on, driven by Python `websockets`,
//! Node `ws` and headless Chromium clients; our std client recording against the Python and Node echo servers. Each
//! session's transcript is replayed through a fresh core (`wsmachine::record::replay`),
//! which must reproduce every event, result and output byte, and end in the same state.
//!
//! The peers come from `scripts/install-peers.sh` (`.peers/env`); `WSM_SKIP_INTEROP=1`
//! skips these tests when they are missing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::Duration;

use wsmachine::record::{self, EventRecord, Record};
use wsmachine::{Config, Limits};
use wsmachine_std::{ClientBuilder, Error, ServerBuilder};
use wsmachine_test_support::adapter::std_exchange;
use wsmachine_test_support::peers::{self, PeerServer, peer_env, run_peer_client};

const T: Duration = Duration::from_secs(60);

/// Big limits (the standard exchange sends 1 MiB messages) and recording on.
fn recording() -> Config {
    Config {
        record: true,
        limits: Limits {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
            max_send_queue: 160 << 20,
            ..Limits::default()
        },
        ..Config::default()
    }
}

/// What a replay of `transcript` found: the data messages and whether it closed cleanly.
fn replay(name: &str, transcript: &[u8]) -> (usize, bool) {
    let replayed = record::replay(transcript).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(replayed.connection.is_closed(), "{name}: not closed");
    let mut messages = 0;
    let mut clean = false;
    for r in record::records(transcript).unwrap() {
        match r.unwrap().1 {
            Record::Event(EventRecord::Message { .. }) => messages += 1,
            Record::Event(EventRecord::Closed { clean: c, .. }) => clean = c,
            _ => {}
        }
    }
    eprintln!(
        "{name}: {} bytes, {} records, {} events, {messages} messages replayed identically",
        transcript.len(),
        replayed.records,
        replayed.events
    );
    (messages, clean)
}

/// A std echo server that serves WebSocket connections with recording on and sends each
/// one's transcript when it ends. Plain HTTP requests (a browser's page and favicon) are
/// answered with `page` (or 404). Each connection has its own thread (a browser may open a
/// connection it does not use at once).
fn std_recording_server(page: Option<&'static str>) -> (String, Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let tx = tx.clone();
            thread::spawn(move || {
                if !is_upgrade(&stream) {
                    serve_page(&mut stream, page);
                    return;
                }
                let mut ws = ServerBuilder::new()
                    .config(recording())
                    .accept(stream)
                    .unwrap();
                let mut transcript = Vec::new();
                loop {
                    match ws.recv() {
                        Ok(m) => {
                            let _ = ws.send(m);
                        }
                        Err(Error::Closed(_)) => break,
                        Err(_) => {}
                    }
                    // Taken as it goes, in pieces: their concatenation is the transcript.
                    transcript.extend(ws.take_transcript());
                }
                transcript.extend(ws.take_transcript());
                let _ = tx.send(transcript);
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), rx)
}

/// Whether the request waiting on `stream` is a WebSocket upgrade (peeked, not consumed).
fn is_upgrade(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    stream.set_read_timeout(Some(T)).unwrap();
    loop {
        let n = stream.peek(&mut buf).unwrap_or(0);
        let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
        if n == 0 || head.contains("\r\n\r\n") || n == buf.len() {
            return head.contains("upgrade: websocket");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

fn serve_page(stream: &mut TcpStream, page: Option<&str>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    let wants_page = head.starts_with(b"GET / ") || head.starts_with(b"GET /?");
    let response = match (page, wants_page) {
        (Some(p), true) => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{p}",
            p.len()
        ),
        _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    };
    let _ = stream.write_all(response.as_bytes());
}

#[test]
fn python_and_node_clients_against_a_recording_std_server_replay_identically() {
    let test = "python_and_node_clients_against_a_recording_std_server_replay_identically";
    let Some(env) = peer_env(test) else { return };
    let expected = peers::standard_messages().len() + peers::burst_messages().len();
    for script in ["py_client.py", "node_client.js"] {
        let (addr, transcript) = std_recording_server(None);
        let (ok, line, stderr) = run_peer_client(&env, script, &format!("ws://{addr}/"), T);
        assert!(ok, "{script}: {line}\n{stderr}");
        let transcript = transcript.recv_timeout(T).expect("the server's transcript");
        let (messages, clean) = replay(script, &transcript);
        assert_eq!(messages, expected, "{script}");
        assert!(clean, "{script}: the recorded close was not clean");
    }
}

#[test]
fn our_recording_std_client_against_python_and_node_servers_replays_identically() {
    let test = "our_recording_std_client_against_python_and_node_servers_replays_identically";
    let Some(env) = peer_env(test) else { return };
    for script in ["py_echo_server.py", "node_echo_server.js"] {
        let server = PeerServer::start(&env, script);
        let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        let (mut ws, _) = ClientBuilder::new(&server.url())
            .config(recording())
            .client(stream)
            .unwrap();
        let report = std_exchange(&mut ws).unwrap_or_else(|e| panic!("{script}: {e}"));
        assert!(report.clean, "{script}: {report:?}");
        let transcript = ws.take_transcript();
        let (messages, clean) = replay(script, &transcript);
        assert_eq!(
            messages,
            peers::standard_messages().len() + peers::burst_messages().len(),
            "{script}"
        );
        assert!(clean, "{script}");
    }
}

#[tokio::test]
async fn python_client_against_a_recording_tokio_server_replays_identically() {
    let test = "python_client_against_a_recording_tokio_server_replays_identically";
    let Some(env) = peer_env(test) else { return };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let config = wsmachine_tokio::Config::from(recording());
        let mut ws =
            wsmachine_tokio::accept_with(stream, config, |_| wsmachine::Decision::accept())
                .await
                .unwrap();
        let mut transcript = Vec::new();
        while let Some(item) = ws.recv().await {
            if let Ok(m) = item {
                let _ = ws.send(m).await;
            }
            transcript.extend(ws.take_transcript());
        }
        // The stream ended: the connection is over and its last records are in.
        transcript.extend(ws.take_transcript());
        transcript
    });
    let client =
        tokio::task::spawn_blocking(move || run_peer_client(&env, "py_client.py", &url, T));
    let (ok, line, stderr) = client.await.unwrap();
    assert!(ok, "{line}\n{stderr}");
    let transcript = tokio::time::timeout(T, server).await.unwrap().unwrap();
    let (messages, clean) = replay("tokio server", &transcript);
    assert_eq!(
        messages,
        peers::standard_messages().len() + peers::burst_messages().len()
    );
    assert!(clean);
}

#[test]
fn python_client_against_a_recording_smol_server_replays_identically() {
    let test = "python_client_against_a_recording_smol_server_replays_identically";
    let Some(env) = peer_env(test) else { return };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        smol::block_on(async move {
            let listener = smol::net::TcpListener::try_from(listener).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let config = wsmachine_futures::Config::from(recording());
            let mut ws = wsmachine_futures::accept_with(stream, config, |_| {
                wsmachine_futures::Decision::accept()
            })
            .await
            .unwrap();
            let mut transcript = Vec::new();
            while let Some(item) = ws.recv().await {
                if let Ok(m) = item {
                    let _ = ws.send(m).await;
                }
                transcript.extend(ws.take_transcript());
            }
            transcript.extend(ws.take_transcript());
            transcript
        })
    });
    let (ok, line, stderr) = run_peer_client(&env, "py_client.py", &url, T);
    assert!(ok, "{line}\n{stderr}");
    let transcript = server.join().unwrap();
    let (messages, clean) = replay("smol server", &transcript);
    assert_eq!(
        messages,
        peers::standard_messages().len() + peers::burst_messages().len()
    );
    assert!(clean);
}

#[test]
fn python_client_against_a_recording_mio_server_replays_identically() {
    let test = "python_client_against_a_recording_mio_server_replays_identically";
    let Some(env) = peer_env(test) else { return };
    let options = wsmachine_mio::ServerOptions {
        config: recording(),
        ..wsmachine_mio::ServerOptions::default()
    };
    let mut server = wsmachine_mio::Server::bind("127.0.0.1:0".parse().unwrap(), options).unwrap();
    let url = format!("ws://{}/", server.local_addr());
    let (tx, transcript) = channel();
    thread::spawn(move || {
        let mut t = Vec::new();
        let mut closed = false;
        // After Closed the server still writes the Close echo: keep it running until idle.
        let wait = |closed: bool| {
            Some(if closed {
                Duration::from_millis(300)
            } else {
                T
            })
        };
        while let Ok(Some((id, event))) = server.next_event(wait(closed)) {
            if let wsmachine_mio::Event::Message(m) = &event {
                let _ = server.send(id, m.clone());
            }
            t.extend(server.take_transcript(id));
            closed |= matches!(event, wsmachine_mio::Event::Closed(_));
        }
        let _ = tx.send(t);
    });
    let (ok, line, stderr) = run_peer_client(&env, "py_client.py", &url, T);
    assert!(ok, "{line}\n{stderr}");
    let transcript = transcript.recv_timeout(T).expect("the server's transcript");
    let (messages, clean) = replay("mio server", &transcript);
    assert_eq!(
        messages,
        peers::standard_messages().len() + peers::burst_messages().len()
    );
    assert!(clean);
}

/// A self-test page: echoes of text, UTF-8, binary and a 256 KiB pattern, then a clean
/// close; the verdict goes into `<pre id="result">` (see tests/peers/chromium_selftest.sh,
/// and crates/wsmachine-examples/examples/chat.html for the load-event hold).
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>record self-test</title></head><body>
<pre id="result">RUNNING</pre>
<script>
(function () {
  var hold = document.createElement("iframe");
  hold.hidden = true;
  document.body.appendChild(hold);
  hold.contentDocument.open();
  hold.contentDocument.write("<p>running</p>");
  var big = new Uint8Array(256 * 1024);
  for (var i = 0, s = 7; i < big.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; big[i] = s >>> 24; }
  var cases = ["hello", "h\u00e9llo \ud83c\udf89", "", new Uint8Array([0, 1, 2, 255]).buffer, big.buffer];
  var idx = 0, done = false;
  function finish(text) {
    if (done) return;
    done = true;
    document.getElementById("result").textContent = text;
    hold.contentDocument.close();
  }
  setTimeout(function () { finish("FAIL timeout after " + idx + " echoes"); }, 30000);
  function bytes(d) { return typeof d === "string" ? new TextEncoder().encode(d) : new Uint8Array(d); }
  var ws = new WebSocket("ws://" + location.host + "/ws");
  ws.binaryType = "arraybuffer";
  ws.onopen = function () { ws.send(cases[0]); };
  ws.onmessage = function (ev) {
    var a = bytes(cases[idx]), b = bytes(ev.data);
    if (typeof cases[idx] !== typeof ev.data || a.length !== b.length) return finish("FAIL echo " + idx);
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return finish("FAIL echo " + idx + " byte " + i);
    idx++;
    if (idx < cases.length) ws.send(cases[idx]); else ws.close(1000, "done");
  };
  ws.onclose = function (ev) {
    if (idx === cases.length && ev.code === 1000 && ev.wasClean) finish("PASS " + idx + " echoes, clean close");
    else finish("FAIL close code " + ev.code + " clean " + ev.wasClean + " after " + idx);
  };
})();
</script></body></html>"#;

#[test]
fn chromium_session_against_a_recording_std_server_replays_identically() {
    let test = "chromium_session_against_a_recording_std_server_replays_identically";
    let Some(env) = peer_env(test) else { return };
    let chromium = env.chromium.clone().unwrap_or_else(|| {
        panic!("{test}: PEER_CHROMIUM is not set: run scripts/install-peers.sh")
    });
    let (addr, transcript) = std_recording_server(Some(PAGE));
    let out = std::process::Command::new("bash")
        .arg(env.script("chromium_selftest.sh"))
        .arg(format!("http://{addr}/?selftest"))
        .env("PEER_CHROMIUM", &chromium)
        .output()
        .expect("cannot run chromium_selftest.sh");
    let verdict = String::from_utf8_lossy(&out.stdout);
    assert!(
        verdict.starts_with("PASS"),
        "chromium: {verdict}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let transcript = transcript.recv_timeout(T).expect("the server's transcript");
    let (messages, clean) = replay("chromium", &transcript);
    assert_eq!(messages, 5);
    assert!(clean);
}
