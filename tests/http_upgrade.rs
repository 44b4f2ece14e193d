//! The hyper and axum echo servers (wsmachine-examples' `http_echo`, the code behind the
//! `hyper_echo_server` and `axum_echo_server` examples), run in-process on port 0: the
//! framework parses and upgrades, wsmachine-http validates and answers, the tokio adapter
//! echoes on the upgraded I/O. Driven by our std client (the standard exchange: 1 MiB
//! messages, a ping, a burst of 100, a clean close) and by Python `websockets`, with
//! permessage-deflate (the servers' config has it: `upgrade_with` / `respond_with` answer
//! the offer, the upgraded connection runs what the 101 agreed to) and without; bad
//! upgrades get the core's error responses through the framework; axum's async token
//! check refuses (401) or admits before the upgrade.

use wsmachine_test_support::{adapter as wsm, peers};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wsmachine::HandshakeError;
use wsmachine_examples::http_echo::{AxumEcho, TokenStore, serve_axum_echo, serve_hyper_echo};
use wsmachine_examples::tokio_echo::{Log, echo_config};
use wsmachine_std::{ClientBuilder, Error};

/// Generous bound on waits for something that must happen.
const T: Duration = Duration::from_secs(30);

/// A server on its own runtime; stopped when dropped.
struct Server {
    addr: SocketAddr,
    logs: Receiver<String>,
    _rt: tokio::runtime::Runtime,
}

impl Server {
    fn url(&self, tail: &str) -> String {
        format!("ws://{}/{tail}", self.addr)
    }

    /// Waits for a log line containing `needle`; returns it.
    fn log_line(&self, needle: &str) -> String {
        loop {
            match self.logs.recv_timeout(T) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(_) => panic!("no log line with {needle:?} within {T:?}"),
            }
        }
    }
}

enum Kind {
    Hyper,
    Axum(Vec<String>),
}

fn start(kind: Kind) -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, logs) = channel();
    let tx = Mutex::new(tx);
    let log: Log = Arc::new(move |line| {
        let _ = tx.lock().unwrap().send(line);
    });
    match kind {
        Kind::Hyper => {
            rt.spawn(serve_hyper_echo(listener, echo_config(), log));
        }
        Kind::Axum(tokens) => {
            let app = AxumEcho {
                tokens: Arc::new(TokenStore::new(tokens)),
                config: echo_config(),
                log,
            };
            rt.spawn(serve_axum_echo(listener, app));
        }
    }
    Server {
        addr,
        logs,
        _rt: rt,
    }
}

/// Our std client (which offers permessage-deflate) through the standard exchange against
/// `url` with extra `headers`; the server must have agreed to compress.
fn std_exchange(url: &str, headers: &[(&str, &str)]) {
    let mut builder = ClientBuilder::new(url).config(wsm::big_config());
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    let stream =
        TcpStream::connect(url.trim_start_matches("ws://").split('/').next().unwrap()).unwrap();
    let (mut ws, response) = builder.client(stream).expect("the upgrade is accepted");
    assert_eq!(response.status, 101);
    assert!(
        ws.connection().deflate_params().is_some(),
        "{:?}",
        response.header("sec-websocket-extensions")
    );
    let report = wsm::std_exchange(&mut ws).unwrap();
    assert!(report.clean, "{report:?}");
}

/// Python `websockets` through the standard exchange (tests/peers/py_client.py), with
/// compression off.
fn python_exchange(url: &str) -> (bool, String) {
    python_exchange_with(url, &[])
}

/// [`python_exchange`] with more client arguments (`--deflate`: offer permessage-deflate
/// and fail unless the server accepts it).
fn python_exchange_with(url: &str, args: &[&str]) -> (bool, String) {
    let Some(env) = peers::peer_env("http_upgrade") else {
        return (true, "OK (skipped)".into());
    };
    let (ok, line, stderr) = peers::run_peer_client_with(&env, "py_client.py", url, args, T);
    (ok, format!("{line} {stderr}"))
}

/// Sends `head` on a fresh connection and reads the response: through the end of the
/// stream (refusals close the connection), or through the head for a `101`.
fn raw_response(addr: SocketAddr, head: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match s.read(&mut byte) {
            Ok(1) => out.push(byte[0]),
            Ok(_) => break,
            Err(e) => panic!("reading the response: {e} after {out:?}"),
        }
        if out.starts_with(b"HTTP/1.1 101 ") && out.ends_with(b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&out).to_ascii_lowercase()
}

fn upgrade_head(addr: SocketAddr, version: &str) -> String {
    format!(
        "GET /x HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n"
    )
}

#[test]
fn hyper_echo_serves_our_std_client_at_any_path() {
    let server = start(Kind::Hyper);
    std_exchange(&server.url("any/path?x=1"), &[]);
    let line = server.log_line("closed:");
    assert!(
        line.contains("code 1000") && line.contains(" clean"),
        "{line}"
    );
}

#[test]
fn hyper_echo_serves_python_websockets() {
    let server = start(Kind::Hyper);
    let (ok, out) = python_exchange(&server.url(""));
    assert!(ok && out.starts_with("OK"), "{out}");
    let line = server.log_line("upgraded");
    assert!(
        line.ends_with("upgraded"),
        "no offer, no compression: {line}"
    );
}

#[test]
fn hyper_echo_serves_python_websockets_with_deflate() {
    let server = start(Kind::Hyper);
    let (ok, out) = python_exchange_with(&server.url(""), &["--deflate"]);
    assert!(ok && out.starts_with("OK"), "{out}");
    if !out.contains("skipped") {
        assert!(out.starts_with("OK 111 ext=permessage-deflate"), "{out}");
        let line = server.log_line("upgraded");
        assert!(line.contains("upgraded (permessage-deflate"), "{line}");
    }
}

#[test]
fn hyper_answers_bad_upgrades_with_the_cores_responses() {
    let server = start(Kind::Hyper);
    let plain = raw_response(
        server.addr,
        &format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        ),
    );
    assert!(plain.starts_with("http/1.1 400 "), "{plain}");
    assert!(plain.contains("missing header upgrade"), "{plain}");

    let old = raw_response(server.addr, &upgrade_head(server.addr, "8"));
    assert!(old.starts_with("http/1.1 426 "), "{old}");
    assert!(old.contains("\r\nsec-websocket-version: 13\r\n"), "{old}");

    let ok = raw_response(server.addr, &upgrade_head(server.addr, "13"));
    assert!(ok.starts_with("http/1.1 101 "), "{ok}");
    assert!(
        ok.contains("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{ok}"
    );
    // One refused request does not stop the server.
    std_exchange(&server.url(""), &[]);
}

#[test]
fn axum_echo_admits_only_after_the_async_token_check() {
    let server = start(Kind::Axum(vec!["s3cret".into()]));
    // No token: 401 before any upgrade, with the reason.
    match ClientBuilder::new(&server.url("room")).connect() {
        Err(Error::Handshake(HandshakeError::Status {
            status, headers, ..
        })) => {
            assert_eq!(status, 401);
            assert_eq!(headers.get("www-authenticate"), Some(&b"Bearer"[..]));
        }
        other => panic!("expected a 401, got {:?}", other.map(|_| ())),
    }
    match ClientBuilder::new(&server.url(""))
        .header("Authorization", "Bearer wrong")
        .connect()
    {
        Err(Error::Handshake(HandshakeError::Status { status: 401, .. })) => {}
        other => panic!("expected a 401, got {:?}", other.map(|_| ())),
    }
    // The right token in a header (our client) or in the query (Python).
    std_exchange(&server.url("room"), &[("Authorization", "Bearer s3cret")]);
    let (ok, out) = python_exchange(&server.url("room?token=s3cret"));
    assert!(ok && out.starts_with("OK"), "{out}");
    let (ok, out) = python_exchange(&server.url("room?token=nope"));
    if !out.contains("skipped") {
        assert!(!ok && out.contains("401"), "{out}");
    }
}

#[test]
fn axum_answers_bad_upgrades_with_the_cores_responses() {
    let server = start(Kind::Axum(Vec::new()));
    let old = raw_response(server.addr, &upgrade_head(server.addr, "7"));
    assert!(old.starts_with("http/1.1 426 "), "{old}");
    assert!(old.contains("\r\nsec-websocket-version: 13\r\n"), "{old}");
    let post = raw_response(
        server.addr,
        &upgrade_head(server.addr, "13").replacen("GET", "POST", 1),
    );
    assert!(post.starts_with("http/1.1 405 "), "{post}");
    assert!(post.contains("\r\nallow: get\r\n"), "{post}");
    // No tokens configured: everyone may connect.
    std_exchange(&server.url("x"), &[]);
    let (ok, out) = python_exchange(&server.url(""));
    assert!(ok && out.starts_with("OK"), "{out}");
    let (ok, out) = python_exchange_with(&server.url(""), &["--deflate"]);
    assert!(ok && out.starts_with("OK"), "{out}");
    if !out.contains("skipped") {
        assert!(out.starts_with("OK 111 ext=permessage-deflate"), "{out}");
    }
}
