//! The hand-written poll(2) loop example (`crates/wsmachine-examples/examples/poll_loop_echo.rs`),
//! its `serve` function run in-process on port 0, against clients: the standard exchange by
//! our std client and by Python `websockets`, a 16 MiB echo to a client that reads slowly
//! (partial writes), a silent client found by the keepalive (the loop sleeps until
//! `poll_timeout`), EOF in the middle of a frame, and FIN after a failing Close while the
//! loop keeps draining. Every wait is bounded; nothing asserts speed.

#[allow(dead_code)]
#[path = "../crates/wsmachine-examples/examples/poll_loop_echo.rs"]
mod poll_loop_echo;

use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use poll_loop_echo::Ended;
use wsmachine::{CloseCode, Config, ConnectionError, Message, Timeout};
use wsmachine_test_support::{adapter, failures, peers};

const LIMIT: Duration = Duration::from_secs(30);

/// Starts the loop with `config` on a thread of its own; returns its address and the
/// connection ends it reports.
fn start(config: Config) -> (SocketAddr, Receiver<Ended>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, ends) = channel();
    std::thread::spawn(move || {
        poll_loop_echo::serve(listener, config, |end| {
            let _ = tx.send(end);
        })
    });
    (addr, ends)
}

/// The end of the connection from `peer` (others are skipped).
fn end_of(ends: &Receiver<Ended>, peer: SocketAddr) -> Ended {
    loop {
        let end = ends.recv_timeout(LIMIT).expect("a connection end");
        if end.peer == peer {
            return end;
        }
    }
}

#[test]
fn std_client_standard_exchange() {
    let (addr, ends) = start(poll_loop_echo::example_config());
    let mut ws = adapter::std_client(&format!("ws://{addr}/"));
    let report = adapter::std_exchange(&mut ws).unwrap();
    assert!(report.clean, "{report:?}");
    let end = ends.recv_timeout(LIMIT).expect("a connection end");
    assert!(end.error.is_none(), "{end:?}");
    assert!(end.report.unwrap().clean);
    assert_eq!(end.messages, 111);
}

#[test]
fn python_client_standard_exchange() {
    let Some(env) = peers::peer_env("python_client_vs_poll_loop") else {
        return;
    };
    let (addr, ends) = start(poll_loop_echo::example_config());
    let (ok, stdout, stderr) =
        peers::run_peer_client(&env, "py_client.py", &format!("ws://{addr}/"), LIMIT);
    assert!(
        ok && stdout.starts_with("OK 111"),
        "{stdout}\nstderr: {stderr}"
    );
    let end = ends.recv_timeout(LIMIT).unwrap();
    let report = end.report.expect("a close report");
    assert!(report.clean, "{report:?}");
    assert_eq!(report.code(), CloseCode::NORMAL);
}

/// 16 MiB echoed to a client that reads only after sending it all: the loop's writes are
/// partial (the socket buffers hold far less), and nothing is lost or reordered.
#[test]
fn large_echo_survives_partial_writes() {
    let (addr, _ends) = start(poll_loop_echo::example_config());
    let mut ws = adapter::std_client(&format!("ws://{addr}/"));
    let big = peers::prng_bytes(16 << 20);
    ws.send(Message::binary(big.clone())).unwrap();
    ws.send(Message::text("after")).unwrap();
    assert_eq!(ws.recv().unwrap(), Message::binary(big));
    assert_eq!(ws.recv().unwrap(), Message::text("after"));
    assert!(ws.close(CloseCode::NORMAL, "").unwrap().clean);
}

/// A client that completes the handshake and falls silent is found by the keepalive: the
/// loop slept until the core's deadlines (ping, then pong timeout) and reports the timeout
/// before an unclean close.
#[test]
fn silent_client_found_by_keepalive() {
    let mut config = poll_loop_echo::example_config();
    config.timers.ping_interval = Some(Duration::from_millis(200));
    config.timers.pong_timeout = Some(Duration::from_millis(300));
    let (addr, ends) = start(config);
    let silent = adapter::raw_client(addr, LIMIT);
    let end = end_of(&ends, silent.local_addr().unwrap());
    assert!(
        matches!(
            end.error,
            Some(ConnectionError::Timeout(Timeout::Keepalive))
        ),
        "{end:?}"
    );
    let report = end.report.unwrap();
    assert!(!report.clean);
    assert_eq!(report.code(), CloseCode::ABNORMAL);
}

/// EOF in the middle of a frame: the connection ends unclean (1006) and the loop keeps
/// serving others.
#[test]
fn eof_mid_frame() {
    let (addr, ends) = start(poll_loop_echo::example_config());
    failures::eof_mid_frame_at(addr, |peer| end_of(&ends, peer).report.unwrap());
}

/// A frame with a reserved bit set: the echo of the message before it goes out first, then
/// the 1002 Close, then FIN (EOF at the client, whose own side is still open), and the loop
/// still reads and discards what the client sends after that.
#[test]
fn fin_after_failing_close_while_draining() {
    let mut config = poll_loop_echo::example_config();
    config.timers.drain_timeout = Some(Duration::from_secs(3600));
    let (addr, ends) = start(config);
    failures::fin_after_failing_close_at(addr, |peer| end_of(&ends, peer).report.unwrap());
}
