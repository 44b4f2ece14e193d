//! wsmachine-std client against the std and mio servers, in process, on loopback.
use wsmachine_test_support::{adapter, peers};

use std::time::Duration;

use adapter::Kind;
use wsmachine::{CloseCode, Message, MessageKind};
use wsmachine_std::{Decision, Error, Received, ServerBuilder};

const T: Duration = Duration::from_secs(20);

fn basic(kind: Kind) {
    let server = adapter::scripted(kind);
    let mut ws = adapter::std_client(&server.url());
    for m in peers::basic_messages() {
        ws.send(m.clone()).unwrap();
        assert_eq!(ws.recv().unwrap(), m);
    }
    // Fragmented sends come back as one message (a code point split across fragments).
    let euro = "€".as_bytes();
    ws.send_fragment(MessageKind::Text, &b"hel"[..], false)
        .unwrap();
    ws.send_fragment(MessageKind::Text, [&b"lo "[..], &euro[..1]].concat(), false)
        .unwrap();
    ws.send_fragment(MessageKind::Text, euro[1..].to_vec(), true)
        .unwrap();
    assert_eq!(ws.recv().unwrap(), Message::text("hello €"));
    ws.send_fragment(MessageKind::Binary, vec![1u8; 70_000], false)
        .unwrap();
    ws.send_fragment(MessageKind::Binary, vec![2u8; 10], true)
        .unwrap();
    let mut want = vec![1u8; 70_000];
    want.extend_from_slice(&[2u8; 10]);
    assert_eq!(ws.recv().unwrap(), Message::binary(want));
    // Ping -> pong with the same payload.
    ws.ping(&b"abc"[..]).unwrap();
    match ws.recv_event().unwrap() {
        Received::Pong(p) => assert_eq!(&p[..], b"abc"),
        other => panic!("expected a pong, got {other:?}"),
    }
    // Client-side close with a custom code.
    let report = ws.close(CloseCode(4001), "client bye").unwrap();
    assert!(report.clean, "{report:?}");
    assert_eq!(report.sent.as_ref().unwrap().code, CloseCode(4001));
    assert_eq!(report.code(), CloseCode(4001));
    assert!(matches!(ws.recv(), Err(Error::Closed(_))));
    assert!(matches!(ws.send_text("late"), Err(Error::Send(_))));
    let end = server.next_end(T).expect("server reports the end");
    let r = end.report.expect("server report");
    assert_eq!(r.code(), CloseCode(4001), "{r:?}");
    assert!(r.clean, "{r:?}");
    assert_eq!(end.messages, 8);

    // Server-side close with a custom code.
    let mut ws = adapter::std_client(&server.url());
    ws.send_text("close:4002").unwrap();
    let mut saw_close = false;
    let report = loop {
        match ws.recv_event() {
            Ok(Received::CloseReceived(c)) => {
                assert_eq!(c.code, CloseCode(4002));
                assert_eq!(c.reason, "scripted");
                saw_close = true;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(Error::Closed(r)) => break r,
            Err(e) => panic!("unexpected {e:?}"),
        }
    };
    assert!(saw_close);
    assert!(report.clean, "{report:?}");
    assert_eq!(report.code(), CloseCode(4002));
    let end = server.next_end(T).expect("server reports the end");
    let r = end.report.expect("server report");
    assert_eq!(r.sent.as_ref().unwrap().code, CloseCode(4002));
    assert!(r.clean, "{r:?}");
}

#[test]
fn std_client_std_server_basic() {
    basic(Kind::Std);
}

#[test]
fn std_client_mio_server_basic() {
    basic(Kind::Mio);
}

fn exchange(kind: Kind) {
    let server = adapter::echo(kind, adapter::big_config());
    let mut ws = adapter::std_client(&server.url());
    let report = adapter::std_exchange(&mut ws).unwrap();
    assert!(report.clean);
    let end = server.next_end(T).expect("server end");
    let r = end.report.unwrap();
    assert!(r.clean && r.code() == CloseCode::NORMAL, "{r:?}");
    assert_eq!(end.messages, 111);
    assert!(end.error.is_none(), "{:?}", end.error);
}

#[test]
fn std_client_std_echo_standard_exchange() {
    exchange(Kind::Std);
}

#[test]
fn std_client_mio_echo_standard_exchange() {
    exchange(Kind::Mio);
}

#[test]
fn std_subprotocol_headers_and_reject() {
    let builder = ServerBuilder::new()
        .subprotocol("chat")
        .header("X-Server", "wsm")
        .on_request(|req, accept| {
            if req.path == "/forbidden" {
                Decision::reject(403, "no")
            } else {
                Decision::Accept(accept)
            }
        });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let mut results = Vec::new();
        for _ in 0..2 {
            let (s, _) = listener.accept().unwrap();
            match builder.accept(s) {
                Ok(mut ws) => {
                    assert_eq!(ws.subprotocol(), Some("chat"));
                    assert_eq!(ws.request().unwrap().path, "/ok");
                    let m = ws.recv().unwrap();
                    ws.send(m).unwrap();
                    let r = ws.close(CloseCode::NORMAL, "").unwrap();
                    results.push(format!("ok {}", r.clean));
                }
                Err(Error::Rejected(s)) => results.push(format!("rejected {s}")),
                Err(e) => results.push(format!("error {e:?}")),
            }
        }
        results
    });
    let (mut ws, resp) = wsmachine_std::ClientBuilder::new(&format!("ws://{addr}/ok"))
        .subprotocol("other")
        .subprotocol("chat")
        .connect()
        .unwrap();
    assert_eq!(resp.subprotocol.as_deref(), Some("chat"));
    assert_eq!(resp.header("x-server"), Some(&b"wsm"[..]));
    ws.send_text("x").unwrap();
    assert_eq!(ws.recv().unwrap(), Message::text("x"));
    assert!(matches!(ws.recv(), Err(Error::Closed(r)) if r.clean));
    match wsmachine_std::connect(&format!("ws://{addr}/forbidden")) {
        Err(Error::Handshake(wsmachine::HandshakeError::Status { status, body, .. })) => {
            assert_eq!(status, 403);
            assert_eq!(body, b"no");
        }
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }
    assert_eq!(server.join().unwrap(), vec!["ok true", "rejected 403"]);
}

#[test]
fn std_connect_refuses_other_schemes_and_reports_wss_connect_errors() {
    // With the `rustls` feature (on for these tests) wss:// connects: here to a closed port.
    assert!(matches!(
        wsmachine_std::connect("wss://127.0.0.1:1/"),
        Err(Error::Io(_))
    ));
    assert!(matches!(
        wsmachine_std::connect("http://x/"),
        Err(Error::Handshake(_))
    ));
}

#[cfg(unix)]
#[test]
fn std_open_without_handshake_over_unix_pair() {
    use std::os::unix::net::UnixStream;
    use wsmachine::Role;
    use wsmachine_std::{Options, Unmanaged, WebSocket};
    let (a, b) = UnixStream::pair().unwrap();
    let server = std::thread::spawn(move || {
        let mut ws = WebSocket::open(a, Role::Server, &Options::default());
        while let Ok(m) = ws.recv() {
            ws.send(m).unwrap();
        }
        ws.close_report().cloned()
    });
    // The client side goes through the no-timeout wrapper.
    let mut ws = WebSocket::open(Unmanaged::new(b), Role::Client, &Options::default());
    ws.send_text("over a unix socket").unwrap();
    assert_eq!(ws.recv().unwrap(), Message::text("over a unix socket"));
    let r = ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(r.clean);
    let sr = server.join().unwrap().unwrap();
    assert!(sr.clean);
}

/// The echo servers' 64 MiB limits: a 64 MiB binary message (one frame) comes back intact
/// through each, and the connection closes cleanly.
#[test]
fn std_client_64mib_message_through_std_and_mio_echo() {
    let big = peers::prng_bytes(64 << 20);
    for kind in [Kind::Std, Kind::Mio] {
        let server = adapter::echo(kind, adapter::big_config());
        let mut ws = adapter::std_client(&server.url());
        ws.send_binary(big.clone()).unwrap();
        match ws.recv().unwrap() {
            Message::Binary(b) => assert!(b.len() == big.len() && b[..] == big[..], "{kind:?}"),
            other => panic!("{kind:?}: {other:?}"),
        }
        assert!(ws.close(CloseCode::NORMAL, "").unwrap().clean);
        let end = server.next_end(T).unwrap();
        assert!(end.report.unwrap().clean, "{kind:?}");
    }
}

#[test]
fn std_client_connection_refused_is_io_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    match wsmachine_std::connect(&format!("ws://127.0.0.1:{port}/")) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("expected ConnectionRefused, got {:?}", other.map(|_| ())),
    }
}

/// Client-side keepalive, with timers run from read timeouts set through `WithSocket` (the
/// TLS-style wrapper): a server that completes the handshake and then goes silent is found
/// dead; the keepalive error comes before the close.
#[test]
fn std_client_keepalive_finds_silent_server_through_with_socket() {
    use wsmachine_std::WithSocket;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let ws = wsmachine_std::accept(s).unwrap();
        // Hold the socket open, never read or write, until the test is done.
        let _ = hold_rx.recv_timeout(Duration::from_secs(20));
        drop(ws);
    });
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    let stream = WithSocket::new(tcp.try_clone().unwrap(), tcp);
    let mut config = wsmachine::Config::default();
    config.timers.ping_interval = Some(Duration::from_millis(100));
    config.timers.pong_timeout = Some(Duration::from_millis(200));
    let (mut ws, _) = wsmachine_std::ClientBuilder::new(&format!("ws://{addr}/"))
        .config(config)
        .client(stream)
        .unwrap();
    let start = std::time::Instant::now();
    match ws.recv() {
        Err(Error::Timeout(wsmachine::Timeout::Keepalive)) => {}
        other => panic!("expected a keepalive timeout, got {other:?}"),
    }
    match ws.recv() {
        Err(Error::Closed(r)) => assert!(!r.clean && r.code() == CloseCode::ABNORMAL),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(ws.peer_addr().unwrap(), addr);
    hold_tx.send(()).unwrap();
    server.join().unwrap();
}
