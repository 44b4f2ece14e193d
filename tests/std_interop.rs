//! Interop of the wsmachine-std adapter with real peers (Python `websockets`, Node `ws`,
//! installed by scripts/install-peers.sh): their clients against our std echo server, our std
//! client against their echo servers, each running the standard exchange.
//! Without `.peers/env` these fail unless `WSM_SKIP_INTEROP=1`.

#[path = "support/peers.rs"]
mod peers;
#[path = "support/wsm.rs"]
mod wsm;

use std::time::Duration;

use wsm::Kind;
use wsmachine::CloseCode;

const T: Duration = Duration::from_secs(40);

fn peer_client_against_our_server(test: &str, script: &str) {
    let Some(env) = peers::peer_env(test) else {
        return;
    };
    let server = wsm::echo(Kind::Std, wsm::big_config());
    let (ok, line, stderr) = peers::run_peer_client(&env, script, &server.url(), T);
    assert!(ok && line.starts_with("OK"), "{script}: {line}\n{stderr}");
    let end = server.next_end(T).expect("our server reports the end");
    let r = end.report.expect("close report");
    assert!(r.clean, "{r:?}");
    assert_eq!(r.code(), CloseCode::NORMAL, "{r:?}");
    assert_eq!(end.messages, 111);
    assert!(end.error.is_none(), "{:?}", end.error);
}

fn our_client_against_peer_server(test: &str, script: &str) {
    let Some(env) = peers::peer_env(test) else {
        return;
    };
    let server = peers::PeerServer::start(&env, script);
    let report = {
        let mut ws = wsm::std_client(&server.url());
        wsm::std_exchange(&mut ws).unwrap_or_else(|e| panic!("{script}: {e}"))
    };
    assert!(report.clean, "{report:?}");
    let close = server.close_line(T).expect("the peer prints a CLOSE line");
    assert_eq!(close, ("1000".to_string(), "1000".to_string()));
}

#[test]
fn python_client_against_std_echo_server() {
    peer_client_against_our_server("python_client_against_std_echo_server", "py_client.py");
}

#[test]
fn node_client_against_std_echo_server() {
    peer_client_against_our_server("node_client_against_std_echo_server", "node_client.js");
}

#[test]
fn std_client_against_python_echo_server() {
    our_client_against_peer_server("std_client_against_python_echo_server", "py_echo_server.py");
}

#[test]
fn std_client_against_node_echo_server() {
    our_client_against_peer_server("std_client_against_node_echo_server", "node_echo_server.js");
}
