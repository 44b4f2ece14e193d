//! wsmachine-tokio against real peers: Python `websockets`, Node `ws` and headless
//! Chromium, installed by `scripts/install-peers.sh` (which writes `.peers/env`), with
//! compression off and with permessage-deflate (the peers' default settings, both roles;
//! Chromium always offers it).
//!
//! Without `.peers/env` these tests FAIL, saying to run the script, unless
//! `WSM_SKIP_INTEROP=1` is set (then they print a skip line and pass).

use std::future::Future;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::process::Command;
use wsmachine::DeflateConfig;
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

/// A peer client runs the standard exchange against our in-process echo server (which
/// accepts permessage-deflate: `echo_config`); with `deflate` the client offers it, and
/// both ends must have agreed to it.
async fn peer_client_vs_our_echo(env: PeerEnv, client_script: &'static str, deflate: bool) {
    let (log, lines) = capture();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_echo(listener, echo_config(), log));
    let url = format!("ws://{addr}/");
    let args: &[&str] = if deflate { &["--deflate"] } else { &[] };
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || {
        peers::run_peer_client_with(&env, client_script, &url, args, LIMIT)
    })
    .await
    .unwrap();
    assert!(
        ok && stdout.starts_with("OK 111"),
        "peer client said: {stdout}\nstderr: {stderr}"
    );
    let connected = lines
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains("connected"))
        .cloned()
        .unwrap_or_default();
    if deflate {
        assert!(
            stdout.starts_with("OK 111 ext=permessage-deflate"),
            "{stdout}"
        );
        assert!(
            connected.contains("connected (permessage-deflate"),
            "{connected}"
        );
    } else {
        assert!(connected.ends_with("connected"), "{connected}");
    }
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
    bounded(peer_client_vs_our_echo(env, "py_client.py", false)).await
}

#[tokio::test]
async fn python_client_deflate_vs_tokio_echo_server() {
    let Some(env) = peers::peer_env("python_client_deflate_vs_tokio_echo_server") else {
        return;
    };
    bounded(peer_client_vs_our_echo(env, "py_client.py", true)).await
}

#[tokio::test]
async fn node_client_vs_tokio_echo_server() {
    let Some(env) = peers::peer_env("node_client_vs_tokio_echo_server") else {
        return;
    };
    bounded(peer_client_vs_our_echo(env, "node_client.js", false)).await
}

#[tokio::test]
async fn node_client_deflate_vs_tokio_echo_server() {
    let Some(env) = peers::peer_env("node_client_deflate_vs_tokio_echo_server") else {
        return;
    };
    bounded(peer_client_vs_our_echo(env, "node_client.js", true)).await
}

/// Our client runs the standard exchange against a peer echo server; with `deflate` both
/// offer/accept permessage-deflate (default settings each side) and must agree on it.
async fn our_client_vs_peer_echo(env: PeerEnv, server_script: &str, deflate: bool) {
    let server = if deflate {
        PeerServer::start_with(&env, server_script, &["--deflate"])
    } else {
        PeerServer::start(&env, server_script)
    };
    let mut cfg = Config::new().max_message_size(64 << 20);
    if deflate {
        cfg = cfg.deflate(Some(DeflateConfig::default()));
    }
    let mut ws = wsmachine_tokio::connect_with(&server.url(), cfg)
        .await
        .unwrap();
    assert_eq!(
        ws.deflate_params().is_some(),
        deflate,
        "{:?}",
        ws.response()
    );
    async_exchange::standard_exchange(&mut ws).await.unwrap();
    let server = tokio::task::spawn_blocking(move || {
        if deflate {
            let ext = server.ext_line(LIMIT);
            assert!(
                ext.as_deref()
                    .is_some_and(|e| e.starts_with("permessage-deflate")),
                "the peer server agreed to {ext:?}"
            );
        }
        server
    })
    .await
    .unwrap();
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
    bounded(our_client_vs_peer_echo(env, "py_echo_server.py", false)).await
}

#[tokio::test]
async fn tokio_client_deflate_vs_python_echo_server() {
    let Some(env) = peers::peer_env("tokio_client_deflate_vs_python_echo_server") else {
        return;
    };
    bounded(our_client_vs_peer_echo(env, "py_echo_server.py", true)).await
}

#[tokio::test]
async fn tokio_client_vs_node_echo_server() {
    let Some(env) = peers::peer_env("tokio_client_vs_node_echo_server") else {
        return;
    };
    bounded(our_client_vs_peer_echo(env, "node_echo_server.js", false)).await
}

#[tokio::test]
async fn tokio_client_deflate_vs_node_echo_server() {
    let Some(env) = peers::peer_env("tokio_client_deflate_vs_node_echo_server") else {
        return;
    };
    bounded(our_client_vs_peer_echo(env, "node_echo_server.js", true)).await
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
        // Chromium offers permessage-deflate and the chat server accepts it: both ends
        // say so (the page reports ws.extensions, the server logs what it agreed to), so
        // the 1 MiB echoes above went compressed both ways.
        assert!(
            stdout.contains("extensions \"permessage-deflate"),
            "the page reports no permessage-deflate: {stdout}"
        );
        let joined = lines
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("joined"))
            .cloned();
        assert!(
            joined
                .as_deref()
                .is_some_and(|l| l.contains("joined (permessage-deflate")),
            "the server did not agree to permessage-deflate: {joined:?}"
        );
    })
    .await
}
