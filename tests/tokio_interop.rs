//! wsmachine-tokio against real peers: Python `websockets`, Node `ws` and headless
//! Chromium, installed by `scripts/install-peers.sh` (which writes `.peers/env`).
//!
//! Without `.peers/env` these tests FAIL, saying to run the script, unless
//! `WSM_SKIP_INTEROP=1` is set (then they print a skip line and pass).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdout, Command};
use wsmachine_examples::tokio_echo::{ChatOptions, Log, echo_config, serve_chat, serve_echo};
use wsmachine_tokio::{CloseCode, Config, Incoming, Message, WebSocket};

const LIMIT: Duration = Duration::from_secs(90);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test did not finish in time")
}

/// The repository root (cargo sets `CARGO_MANIFEST_DIR` when it runs the tests too).
fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The peers' interpreters from `.peers/env`, or `None` (after printing a skip line) when
/// they are missing and `WSM_SKIP_INTEROP=1`. Panics when they are missing otherwise.
fn peers(test: &str) -> Option<HashMap<String, String>> {
    let path = root().join(".peers/env");
    let skip = std::env::var("WSM_SKIP_INTEROP").is_ok_and(|v| v == "1");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
        ),
        Err(_) if skip => {
            println!("SKIP {test}: interop peers not installed (WSM_SKIP_INTEROP=1)");
            None
        }
        Err(e) => panic!(
            "{test}: interop peers are not installed ({}: {e}). Run scripts/install-peers.sh \
             (or set WSM_SKIP_INTEROP=1 to skip the interop tests)",
            path.display()
        ),
    }
}

/// One peer's interpreter; a missing one is handled like missing peers.
fn peer(test: &str, key: &str) -> Option<String> {
    let env = peers(test)?;
    match env.get(key).filter(|v| !v.is_empty()) {
        Some(v) => Some(v.clone()),
        None if std::env::var("WSM_SKIP_INTEROP").is_ok_and(|v| v == "1") => {
            println!("SKIP {test}: {key} not set in .peers/env (WSM_SKIP_INTEROP=1)");
            None
        }
        None => panic!(
            "{test}: {key} is not set in .peers/env. Run scripts/install-peers.sh \
             (or set WSM_SKIP_INTEROP=1 to skip the interop tests)"
        ),
    }
}

fn script(name: &str) -> PathBuf {
    root().join("tests/peers").join(name)
}

fn capture() -> (Log, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    (Arc::new(move |s| l.lock().unwrap().push(s)), lines)
}

/// Runs a peer client to completion; returns its exit status and stdout.
async fn run_client(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        eprintln!(
            "stderr of {program} {args:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (out.status.success(), stdout)
}

/// A peer client runs the standard exchange against our in-process echo server.
async fn peer_client_vs_our_echo(program: &str, client_script: &str) {
    let (log, lines) = capture();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_echo(listener, echo_config(), log));
    let url = format!("ws://{addr}/");
    let script = script(client_script);
    let (ok, stdout) = run_client(program, &[script.to_str().unwrap(), &url]).await;
    assert!(
        ok && stdout.starts_with("OK 111"),
        "peer client said: {stdout}"
    );
    // Our side saw a clean close with 1000 both ways.
    let want = "closed: code 1000 (received 1000, sent 1000), clean";
    for _ in 0..250 {
        if lines.lock().unwrap().iter().any(|l| l.contains(want)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no clean 1000 close logged: {:?}", lines.lock().unwrap());
}

#[tokio::test]
async fn python_client_vs_tokio_echo_server() {
    let Some(python) = peer("python_client_vs_tokio_echo_server", "PEER_PYTHON") else {
        return;
    };
    bounded(peer_client_vs_our_echo(&python, "py_client.py")).await
}

#[tokio::test]
async fn node_client_vs_tokio_echo_server() {
    let Some(node) = peer("node_client_vs_tokio_echo_server", "PEER_NODE") else {
        return;
    };
    bounded(peer_client_vs_our_echo(&node, "node_client.js")).await
}

/// Starts a peer echo server and waits for its `PORT <n>` line.
async fn start_peer_server(
    program: &str,
    server_script: &str,
) -> (Child, SocketAddr, BufReader<ChildStdout>) {
    let script = script(server_script);
    let mut child = Command::new(program)
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = stdout.read_line(&mut line).await.unwrap();
        assert!(n > 0, "{server_script} exited before printing PORT");
        if let Some(port) = line.trim().strip_prefix("PORT ") {
            let port: u16 = port.parse().unwrap();
            return (child, SocketAddr::from(([127, 0, 0, 1], port)), stdout);
        }
    }
}

fn prng_bytes(n: usize) -> Vec<u8> {
    let mut s: u32 = 0x2545_F491;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (s >> 24) as u8
        })
        .collect()
}

fn filled(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// The standard exchange (as in tests/peers/py_client.py), run by our client.
async fn standard_exchange(ws: &mut WebSocket) {
    let singles = vec![
        Message::text("hello"),
        Message::text("héllo wörld 🎉 ∑"),
        Message::text(""),
        Message::binary((0..=255u8).collect::<Vec<_>>()),
        Message::binary(Bytes::new()),
        Message::binary(filled(125)),
        Message::binary(filled(126)),
        Message::binary(filled(65535)),
        Message::binary(filled(65536)),
        Message::binary(prng_bytes(1 << 20)),
        Message::text("€abcde".repeat(131_072)),
    ];
    for (i, m) in singles.into_iter().enumerate() {
        ws.send(m.clone()).await.unwrap();
        match ws.recv().await {
            Some(Ok(got)) => assert!(got == m, "message {i}: echo differs"),
            other => panic!("message {i}: {other:?}"),
        }
    }
    ws.ping(&b"p"[..]).await.unwrap();
    loop {
        match ws.recv_event().await {
            Some(Incoming::Pong(p)) => {
                assert_eq!(&p[..], b"p");
                break;
            }
            Some(Incoming::Ping(_)) => {}
            other => panic!("waiting for the pong: {other:?}"),
        }
    }
    let burst: Vec<Message> = (0..100u8)
        .map(|i| {
            if i % 2 == 0 {
                Message::text(format!("burst-{i}"))
            } else {
                Message::binary(vec![i; i as usize])
            }
        })
        .collect();
    for m in &burst {
        ws.send(m.clone()).await.unwrap();
    }
    for (i, m) in burst.iter().enumerate() {
        match ws.recv().await {
            Some(Ok(got)) => assert_eq!(&got, m, "burst {i}"),
            other => panic!("burst {i}: {other:?}"),
        }
    }
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    let mut close = None;
    while let Some(ev) = ws.recv_event().await {
        if let Incoming::Close(f) = ev {
            close = Some(f);
        }
    }
    assert_eq!(close.expect("a Close came back").code, CloseCode::NORMAL);
    let report = ws.close_report().unwrap();
    assert!(report.clean, "{report:?}");
}

/// Our client runs the standard exchange against a peer echo server.
async fn our_client_vs_peer_echo(program: &str, server_script: &str) {
    let (_child, addr, mut stdout) = start_peer_server(program, server_script).await;
    let cfg = Config::new().max_message_size(64 << 20);
    let mut ws = wsmachine_tokio::connect_with(&format!("ws://{addr}/"), cfg)
        .await
        .unwrap();
    standard_exchange(&mut ws).await;
    let mut line = String::new();
    loop {
        line.clear();
        let n = stdout.read_line(&mut line).await.unwrap();
        assert!(n > 0, "{server_script} exited before printing CLOSE");
        if line.starts_with("CLOSE ") {
            assert_eq!(line.trim(), "CLOSE 1000 1000");
            return;
        }
    }
}

#[tokio::test]
async fn tokio_client_vs_python_echo_server() {
    let Some(python) = peer("tokio_client_vs_python_echo_server", "PEER_PYTHON") else {
        return;
    };
    bounded(our_client_vs_peer_echo(&python, "py_echo_server.py")).await
}

#[tokio::test]
async fn tokio_client_vs_node_echo_server() {
    let Some(node) = peer("tokio_client_vs_node_echo_server", "PEER_NODE") else {
        return;
    };
    bounded(our_client_vs_peer_echo(&node, "node_echo_server.js")).await
}

#[tokio::test]
async fn chromium_selftest_vs_tokio_chat_server() {
    let Some(chromium) = peer("chromium_selftest_vs_tokio_chat_server", "PEER_CHROMIUM") else {
        return;
    };
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (log, lines) = capture();
        let html = include_str!("../crates/wsmachine-examples/examples/chat.html");
        tokio::spawn(serve_chat(listener, html, ChatOptions::default(), log));
        let script = script("chromium_selftest.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(format!("http://{addr}/?selftest"))
            .env("PEER_CHROMIUM", &chromium)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .expect("cannot run chromium_selftest.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.starts_with("PASS"),
            "chromium self-test: {stdout}\nstderr: {}\nserver log: {:?}",
            String::from_utf8_lossy(&out.stderr),
            lines.lock().unwrap()
        );
    })
    .await
}
