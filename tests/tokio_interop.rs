//! wsmachine-tokio against real peers: Python `websockets`, Node `ws` and headless
//! Chromium, installed by `scripts/install-peers.sh` (which writes `.peers/env`).
//!
//! Without `.peers/env` these tests FAIL, saying to run the script, unless
//! `WSM_SKIP_INTEROP=1` is set (then they print a skip line and pass).

use std::future::Future;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::process::Command;
use wsmachine_examples::tokio_echo::{ChatOptions, Log, echo_config, serve_chat, serve_echo};
use wsmachine_test_support::async_exchange;
use wsmachine_test_support::peers::{self, PeerEnv, PeerServer};
use wsmachine_tokio::Config;

const LIMIT: Duration = Duration::from_secs(90);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test did not finish in time")
}

fn capture() -> (Log, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    (Arc::new(move |s| l.lock().unwrap().push(s)), lines)
}

/// A peer client runs the standard exchange against our in-process echo server.
async fn peer_client_vs_our_echo(env: PeerEnv, client_script: &'static str) {
    let (log, lines) = capture();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_echo(listener, echo_config(), log));
    let url = format!("ws://{addr}/");
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || {
        peers::run_peer_client(&env, client_script, &url, LIMIT)
    })
    .await
    .unwrap();
    assert!(
        ok && stdout.starts_with("OK 111"),
        "peer client said: {stdout}\nstderr: {stderr}"
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
    let Some(env) = peers::peer_env("python_client_vs_tokio_echo_server") else {
        return;
    };
    bounded(peer_client_vs_our_echo(env, "py_client.py")).await
}

#[tokio::test]
async fn node_client_vs_tokio_echo_server() {
    let Some(env) = peers::peer_env("node_client_vs_tokio_echo_server") else {
        return;
    };
    bounded(peer_client_vs_our_echo(env, "node_client.js")).await
}

/// Our client runs the standard exchange against a peer echo server.
async fn our_client_vs_peer_echo(env: PeerEnv, server_script: &str) {
    let server = PeerServer::start(&env, server_script);
    let cfg = Config::new().max_message_size(64 << 20);
    let mut ws = wsmachine_tokio::connect_with(&server.url(), cfg)
        .await
        .unwrap();
    async_exchange::standard_exchange(&mut ws).await.unwrap();
    let close = tokio::task::spawn_blocking(move || server.close_line(LIMIT))
        .await
        .unwrap();
    assert_eq!(
        close,
        Some(("1000".to_string(), "1000".to_string())),
        "{server_script} saw the close"
    );
}

#[tokio::test]
async fn tokio_client_vs_python_echo_server() {
    let Some(env) = peers::peer_env("tokio_client_vs_python_echo_server") else {
        return;
    };
    bounded(our_client_vs_peer_echo(env, "py_echo_server.py")).await
}

#[tokio::test]
async fn tokio_client_vs_node_echo_server() {
    let Some(env) = peers::peer_env("tokio_client_vs_node_echo_server") else {
        return;
    };
    bounded(our_client_vs_peer_echo(env, "node_echo_server.js")).await
}

#[tokio::test]
async fn chromium_selftest_vs_tokio_chat_server() {
    let test = "chromium_selftest_vs_tokio_chat_server";
    let Some(env) = peers::peer_env(test) else {
        return;
    };
    let chromium = env.chromium.clone().unwrap_or_else(|| {
        panic!("{test}: PEER_CHROMIUM is not set: run scripts/install-peers.sh")
    });
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (log, lines) = capture();
        let html = include_str!("../crates/wsmachine-examples/examples/chat.html");
        tokio::spawn(serve_chat(listener, html, ChatOptions::default(), log));
        let script = env.script("chromium_selftest.sh");
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
