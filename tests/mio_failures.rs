//! The classic failures against the wsmachine-mio server (and the mio client against a server
//! that ends TCP during the closing handshake). See the test-support crate's `failures` module.
use wsmachine_test_support::{adapter, failures};

use adapter::Kind;
use failures::Ending;

#[test]
fn mio_server_survives_reset_during_large_write() {
    failures::reset_during_large_write(Kind::Mio);
}

#[test]
fn mio_server_client_eof_during_large_frame() {
    failures::end_during_large_frame(Kind::Mio, Ending::Eof);
}

#[test]
fn mio_server_client_reset_during_large_frame() {
    failures::end_during_large_frame(Kind::Mio, Ending::Reset);
}

#[test]
fn mio_server_finds_silent_client_by_keepalive() {
    failures::silent_client(Kind::Mio);
}

#[test]
fn mio_server_client_closes_then_eof() {
    failures::client_close_then_end(Kind::Mio, Ending::Eof);
}

#[test]
fn mio_server_client_closes_then_reset() {
    failures::client_close_then_end(Kind::Mio, Ending::Reset);
}

#[test]
fn mio_server_closes_then_client_eof() {
    failures::server_close_then_client_end(Kind::Mio, Ending::Eof);
}

#[test]
fn mio_server_closes_then_client_reset() {
    failures::server_close_then_client_end(Kind::Mio, Ending::Reset);
}

#[test]
fn mio_client_close_then_server_eof() {
    failures::mio_client_close_vs_rude_server(Ending::Eof);
}

#[test]
fn mio_client_close_then_server_reset() {
    failures::mio_client_close_vs_rude_server(Ending::Reset);
}

/// 2,000 idle WebSocket connections held by one mio thread while other clients run the
/// standard exchange; then the idle ones go away and each is reported closed.
#[test]
fn mio_server_holds_2000_idle_connections_while_others_echo() {
    use std::time::{Duration, Instant};
    const IDLE: usize = 2000;
    let server = adapter::echo(Kind::Mio, adapter::big_config());
    let start = Instant::now();
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        let s = std::net::TcpStream::connect(server.addr).unwrap();
        let opts = wsmachine_std::Options {
            read_buffer_size: 512,
            ..wsmachine_std::Options::default()
        };
        let (ws, _) = wsmachine_std::ClientBuilder::new(&server.url())
            .options(opts)
            .client(s)
            .unwrap();
        idle.push(ws.into_inner());
    }
    let opened = start.elapsed();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let url = server.url();
            std::thread::spawn(move || {
                let mut ws = adapter::std_client(&url);
                adapter::std_exchange(&mut ws)
            })
        })
        .collect();
    for w in workers {
        let r = w.join().unwrap().unwrap();
        assert!(r.clean);
    }
    // Only the three workers ended.
    let mut ended = Vec::new();
    while let Some(e) = server.next_end(Duration::from_millis(300)) {
        ended.push(e);
    }
    assert_eq!(ended.len(), 3, "{ended:?}");
    assert!(ended.iter().all(|e| e.messages == 111));
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut gone = 0;
    while gone < IDLE {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = server
            .next_end(left)
            .unwrap_or_else(|| panic!("only {gone} of {IDLE} idle connections reported"));
        assert_eq!(e.messages, 0);
        assert!(e.report.is_some());
        gone += 1;
    }
    println!("opened {IDLE} in {opened:?}, total {:?}", start.elapsed());
}

#[test]
fn mio_server_too_big_message_gets_1009_not_a_reset() {
    failures::too_big_message_gets_1009(Kind::Mio);
}
