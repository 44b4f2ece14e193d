//! wsmachine-mio client against the std and mio servers, in process, on loopback, plus the
//! mio server's handshake decisions.
use wsmachine_test_support::{adapter, peers};

use std::time::Duration;

use adapter::Kind;
use wsmachine::{CloseCode, Message, MessageKind};
use wsmachine_mio::{Decision, Event, LoopClient, Server, ServerOptions};

const T: Duration = Duration::from_secs(20);

fn basic(kind: Kind) {
    let server = adapter::scripted(kind);
    let mut c = adapter::mio_client(&server.url());
    for m in peers::basic_messages() {
        c.send(m.clone()).unwrap();
        assert_eq!(adapter::mio_recv(&mut c).unwrap(), m);
    }
    // Fragmented sends come back as one message.
    let conn = c.client().connection_mut();
    conn.send_fragment(MessageKind::Text, "frag".into(), false)
        .unwrap();
    conn.send_fragment(MessageKind::Text, "mented ✓".into(), true)
        .unwrap();
    assert_eq!(
        adapter::mio_recv(&mut c).unwrap(),
        Message::text("fragmented ✓")
    );
    // Ping -> pong.
    c.client().ping("xyz".into()).unwrap();
    match c.next_event(T).unwrap() {
        Some(Event::Pong(p)) => assert_eq!(&p[..], b"xyz"),
        other => panic!("expected a pong, got {other:?}"),
    }
    // Client-side close with a custom code.
    c.client().close(CloseCode(4001), "client bye").unwrap();
    let report = adapter::mio_wait_closed(&mut c).unwrap();
    assert!(report.clean, "{report:?}");
    assert_eq!(report.code(), CloseCode(4001));
    let end = server.next_end(T).expect("server end");
    let r = end.report.unwrap();
    assert!(r.clean && r.code() == CloseCode(4001), "{r:?}");
    assert_eq!(end.messages, 7);

    // Server-side close with a custom code.
    let mut c = adapter::mio_client(&server.url());
    c.send(Message::text("close:4002")).unwrap();
    match c.next_event(T).unwrap() {
        Some(Event::CloseReceived(f)) => {
            assert_eq!(f.code, CloseCode(4002));
            assert_eq!(f.reason, "scripted");
        }
        other => panic!("expected CloseReceived, got {other:?}"),
    }
    let report = adapter::mio_wait_closed(&mut c).unwrap();
    assert!(
        report.clean && report.code() == CloseCode(4002),
        "{report:?}"
    );
    let end = server.next_end(T).expect("server end");
    let r = end.report.unwrap();
    assert!(r.clean, "{r:?}");
    assert_eq!(r.sent.unwrap().code, CloseCode(4002));
}

#[test]
fn mio_client_std_server_basic() {
    basic(Kind::Std);
}

#[test]
fn mio_client_mio_server_basic() {
    basic(Kind::Mio);
}

fn exchange(kind: Kind) {
    let server = adapter::echo(kind, adapter::big_config());
    let mut c = adapter::mio_client(&server.url());
    let report = adapter::mio_exchange(&mut c).unwrap();
    assert!(report.clean);
    let end = server.next_end(T).expect("server end");
    let r = end.report.unwrap();
    assert!(r.clean && r.code() == CloseCode::NORMAL, "{r:?}");
    assert_eq!(end.messages, 111);
}

#[test]
fn mio_client_std_echo_standard_exchange() {
    exchange(Kind::Std);
}

#[test]
fn mio_client_mio_echo_standard_exchange() {
    exchange(Kind::Mio);
}

#[test]
fn mio_server_subprotocol_and_reject() {
    let opts = ServerOptions {
        subprotocols: vec!["chat".into()],
        headers: vec![("X-Server".into(), "wsm".into())],
        ..ServerOptions::default()
    };
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap(), opts).unwrap();
    server.on_request(|req, accept| {
        if req.path == "/forbidden" {
            Decision::Reject {
                status: 403,
                headers: vec![],
                body: b"no".to_vec(),
            }
        } else {
            Decision::Accept(accept)
        }
    });
    let addr = server.local_addr();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut log = Vec::new();
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            for (id, ev) in server.run_once(Some(Duration::from_millis(20))).unwrap() {
                match ev {
                    Event::Accepted(req) => log.push(format!("accepted {}", req.path)),
                    Event::Error(e) => log.push(format!("error {e}")),
                    Event::Message(m) => server.send(id, m).unwrap(),
                    Event::Closed(r) => log.push(format!("closed {}", r.code().0)),
                    _ => {}
                }
            }
        }
        log
    });
    let req = wsmachine::ClientRequest::new(&format!("ws://{addr}/ok"))
        .unwrap()
        .subprotocol("chat");
    let mut c = LoopClient::connect_request(&req, Default::default()).unwrap();
    match c.next_event(T).unwrap() {
        Some(Event::Connected(r)) => {
            assert_eq!(r.subprotocol.as_deref(), Some("chat"));
            assert_eq!(r.header("x-server"), Some(&b"wsm"[..]));
        }
        other => panic!("{other:?}"),
    }
    c.send(Message::text("x")).unwrap();
    assert_eq!(adapter::mio_recv(&mut c).unwrap(), Message::text("x"));
    c.client().close(CloseCode::NORMAL, "").unwrap();
    assert!(adapter::mio_wait_closed(&mut c).unwrap().clean);

    let mut c = LoopClient::connect(&format!("ws://{addr}/forbidden"), Default::default()).unwrap();
    match c.next_event(T).unwrap() {
        Some(Event::Error(wsmachine_mio::Error::Handshake(
            wsmachine::HandshakeError::Status { status, body, .. },
        ))) => {
            assert_eq!(status, 403);
            assert_eq!(body, b"no");
        }
        other => panic!("expected a 403, got {other:?}"),
    }
    assert!(matches!(c.next_event(T).unwrap(), Some(Event::Closed(_))));
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let log = thread.join().unwrap();
    assert_eq!(
        log,
        vec![
            "accepted /ok",
            "closed 1000",
            "error upgrade rejected with status 403",
            "closed 1006"
        ]
    );
}

#[test]
fn mio_client_connection_refused_is_an_error_then_closed() {
    // A port with no listener: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c =
        LoopClient::connect(&format!("ws://127.0.0.1:{port}/"), Default::default()).unwrap();
    match c.next_event(T).unwrap() {
        Some(Event::Error(wsmachine_mio::Error::Io(e))) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused)
        }
        other => panic!("expected a refused connect, got {other:?}"),
    }
    match c.next_event(T).unwrap() {
        Some(Event::Closed(r)) => assert!(!r.clean),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(c.send(Message::text("late")).is_err());
}

/// `MioConnection` in a caller's own loop (own `Poll`, listener and tokens): the server side
/// decides the handshake itself, echoes, and the std client closes cleanly.
#[test]
fn mio_connection_in_a_custom_loop() {
    use std::time::Instant;
    use wsmachine_mio::MioConnection;
    use wsmachine_mio::mio::{Events, Interest, Poll, Token, net::TcpListener};

    let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let mut poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut listener, Token(0), Interest::READABLE)
            .unwrap();
        let mut events = Events::with_capacity(8);
        let mut conn: Option<MioConnection> = None;
        let end = Instant::now() + T;
        let mut log = Vec::new();
        while Instant::now() < end {
            let now = Instant::now();
            let wait = match conn.as_ref() {
                Some(c) if c.needs_drive() => Duration::ZERO,
                Some(c) => c
                    .deadline()
                    .map(|d| d.saturating_duration_since(now))
                    .unwrap_or(Duration::from_millis(50))
                    .min(Duration::from_millis(50)),
                None => Duration::from_millis(50),
            };
            poll.poll(&mut events, Some(wait)).unwrap();
            let now = Instant::now();
            for ev in events.iter() {
                if ev.token() == Token(0) {
                    let (s, _) = listener.accept().unwrap();
                    let mut c = MioConnection::server(s, Default::default());
                    c.register(poll.registry(), Token(1)).unwrap();
                    c.drive(poll.registry(), now);
                    conn = Some(c);
                } else if let Some(c) = conn.as_mut() {
                    c.handle_event(ev, poll.registry(), now);
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            // Timers, reads the readiness did not cover.
            c.drive(poll.registry(), now);
            while let Some(ev) = c.poll_event() {
                match ev {
                    Event::Request(req) => {
                        log.push(format!("request {}", req.path));
                        c.accept(&Default::default()).unwrap();
                    }
                    Event::Message(m) => {
                        log.push("message".to_string());
                        c.send(m).unwrap();
                    }
                    Event::Closed(r) => log.push(format!("closed {} {}", r.code().0, r.clean)),
                    _ => {}
                }
            }
            c.drive(poll.registry(), now);
            if c.is_finished() {
                c.deregister(poll.registry()).unwrap();
                return log;
            }
        }
        panic!("custom loop timed out: {log:?}");
    });
    let (mut ws, _) = wsmachine_std::connect(&format!("ws://{addr}/custom")).unwrap();
    ws.send_text("custom").unwrap();
    assert_eq!(ws.recv().unwrap(), Message::text("custom"));
    assert!(ws.close(CloseCode::NORMAL, "").unwrap().clean);
    assert_eq!(
        thread.join().unwrap(),
        vec!["request /custom", "message", "closed 1000 true"]
    );
}

/// `connect_addr` does no DNS: the URL names a host that cannot resolve (`.invalid`), the
/// socket goes to the address given, and the server sees the URL's host and path.
#[test]
fn mio_client_connect_addr_skips_dns_and_keeps_the_host_header() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut ws = wsmachine_std::accept(s).unwrap();
        let req = ws.request().unwrap().clone();
        let host = req
            .header("host")
            .map(|h| String::from_utf8_lossy(h).into_owned());
        let m = ws.recv().unwrap();
        ws.send(m).unwrap();
        let _ = ws.recv();
        (host, req.path)
    });
    let request = wsmachine::ClientRequest::new("ws://ws.example.invalid:9/named?q=1").unwrap();
    let mut c = LoopClient::connect_addr(addr, &request, Default::default()).unwrap();
    match c.next_event(T) {
        Ok(Some(Event::Connected(_))) => {}
        other => panic!("handshake: {other:?}"),
    }
    c.send(Message::text("no dns")).unwrap();
    assert_eq!(adapter::mio_recv(&mut c).unwrap(), Message::text("no dns"));
    c.client().close(CloseCode::NORMAL, "").unwrap();
    let end = std::time::Instant::now() + T;
    while !matches!(c.next_event(T).unwrap(), Some(Event::Closed(_)) | None) {
        assert!(std::time::Instant::now() < end);
    }
    let (host, path) = server.join().unwrap();
    assert_eq!(host.as_deref(), Some("ws.example.invalid:9"));
    assert_eq!(path, "/named");
}
