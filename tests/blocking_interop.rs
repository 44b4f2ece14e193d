//! Interop of the blocking-style adapters, wsmachine-std and wsmachine-mio, with real peers
//! (Python `websockets`, Node `ws`, installed by scripts/install-peers.sh): their clients
//! against our std and mio echo servers, our std and mio clients against their echo servers,
//! each running the standard exchange.
//! Without `.peers/env` these fail unless `WSM_SKIP_INTEROP=1`.
use wsmachine_test_support::{adapter, peers};

use std::time::Duration;

use adapter::Kind;
use wsmachine::CloseCode;

const T: Duration = Duration::from_secs(40);

fn peer_client_against_our_server(kind: Kind, test: &str, script: &str) {
    let Some(env) = peers::peer_env(test) else {
        return;
    };
    let server = adapter::echo(kind, adapter::big_config());
    let (ok, line, stderr) = peers::run_peer_client(&env, script, &server.url(), T);
    assert!(ok && line.starts_with("OK"), "{script}: {line}\n{stderr}");
    let end = server.next_end(T).expect("our server reports the end");
    let r = end.report.expect("close report");
    assert!(r.clean, "{r:?}");
    assert_eq!(r.code(), CloseCode::NORMAL, "{r:?}");
    assert_eq!(end.messages, 111);
    assert!(end.error.is_none(), "{:?}", end.error);
}

fn our_client_against_peer_server(kind: Kind, test: &str, script: &str) {
    let Some(env) = peers::peer_env(test) else {
        return;
    };
    let server = peers::PeerServer::start(&env, script);
    let report = match kind {
        Kind::Std => adapter::std_exchange(&mut adapter::std_client(&server.url())),
        Kind::Mio => adapter::mio_exchange(&mut adapter::mio_client(&server.url())),
    }
    .unwrap_or_else(|e| panic!("{kind:?} {script}: {e}"));
    assert!(report.clean, "{report:?}");
    let close = server.close_line(T).expect("the peer prints a CLOSE line");
    assert_eq!(close, ("1000".to_string(), "1000".to_string()));
}

#[test]
fn python_client_against_std_echo_server() {
    peer_client_against_our_server(
        Kind::Std,
        "python_client_against_std_echo_server",
        "py_client.py",
    );
}

#[test]
fn node_client_against_std_echo_server() {
    peer_client_against_our_server(
        Kind::Std,
        "node_client_against_std_echo_server",
        "node_client.js",
    );
}

#[test]
fn std_client_against_python_echo_server() {
    our_client_against_peer_server(
        Kind::Std,
        "std_client_against_python_echo_server",
        "py_echo_server.py",
    );
}

#[test]
fn std_client_against_node_echo_server() {
    our_client_against_peer_server(
        Kind::Std,
        "std_client_against_node_echo_server",
        "node_echo_server.js",
    );
}

#[test]
fn python_client_against_mio_echo_server() {
    peer_client_against_our_server(
        Kind::Mio,
        "python_client_against_mio_echo_server",
        "py_client.py",
    );
}

#[test]
fn node_client_against_mio_echo_server() {
    peer_client_against_our_server(
        Kind::Mio,
        "node_client_against_mio_echo_server",
        "node_client.js",
    );
}

#[test]
fn mio_client_against_python_echo_server() {
    our_client_against_peer_server(
        Kind::Mio,
        "mio_client_against_python_echo_server",
        "py_echo_server.py",
    );
}

#[test]
fn mio_client_against_node_echo_server() {
    our_client_against_peer_server(
        Kind::Mio,
        "mio_client_against_node_echo_server",
        "node_echo_server.js",
    );
}
