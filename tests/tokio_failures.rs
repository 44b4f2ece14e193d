//! wsmachine-tokio against the field's classic failures: a client that resets mid-write, a
//! client that falls silent, many tasks sending to one connection, EOF and reset during the
//! closing handshake, two busy connections side by side. Every test is bounded in time;
//! none asserts speed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use wsmachine::{Connection, Event, Timestamp};
use wsmachine_examples::tokio_echo::{Log, echo_config, serve_echo};
use wsmachine_tokio::{
    ClientRequest, CloseCode, Config, ConnectionError, Decision, Error, Incoming, Message, Timeout,
    WebSocket,
};

const LIMIT: Duration = Duration::from_secs(40);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test did not finish in time")
}

/// A log that keeps its lines.
fn capture() -> (Log, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    (Arc::new(move |s| l.lock().unwrap().push(s)), lines)
}

async fn echo_server(log: Log) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_echo(listener, echo_config(), log));
    addr
}

// ----- a raw peer driven by the sans-IO core by hand, on a plain TcpStream -----

async fn write_out(s: &mut TcpStream, conn: &mut Connection) -> std::io::Result<()> {
    while let Some(chunk) = conn.poll_transmit() {
        s.write_all(&chunk).await?;
    }
    Ok(())
}

/// Connects and completes the client handshake; returns the socket and the core.
async fn raw_client(addr: SocketAddr) -> (TcpStream, Connection) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    let mut cfg = wsmachine::Config::default();
    cfg.limits.max_message_size = 64 << 20;
    cfg.limits.max_frame_size = 64 << 20;
    cfg.timers.ping_interval = None;
    let mut conn = Connection::client(&req, cfg, Timestamp::ZERO).unwrap();
    write_out(&mut s, &mut conn).await.unwrap();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "server closed during the handshake");
        conn.handle_input(wsmachine::Timestamp::ZERO, &buf[..n]);
        while let Some(ev) = conn.poll_event() {
            if let Event::Connected(_) = ev {
                return (s, conn);
            }
        }
    }
}

/// Accepts one connection and completes the server handshake by hand.
async fn raw_server(listener: &TcpListener) -> (TcpStream, Connection) {
    let (mut s, _) = listener.accept().await.unwrap();
    let mut conn = Connection::server(wsmachine::Config::default(), Timestamp::ZERO);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        conn.handle_input(wsmachine::Timestamp::ZERO, &buf[..n]);
        if let Some(Event::Request(_)) = conn.poll_event() {
            conn.accept(wsmachine::Timestamp::ZERO, &wsmachine::Accept::default())
                .unwrap();
            write_out(&mut s, &mut conn).await.unwrap();
            return (s, conn);
        }
    }
}

#[allow(deprecated)] // SO_LINGER 0 is the point: drop sends a RST (no blocking with 0).
async fn reset(s: TcpStream) {
    s.set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
}

/// Sends messages and checks their echoes, `rounds` times.
async fn echo_rounds(ws: &mut WebSocket, tag: &str, rounds: usize) {
    for i in 0..rounds {
        let m = Message::text(format!("{tag}-{i}"));
        ws.send(m.clone()).await.unwrap();
        match ws.recv().await {
            Some(Ok(got)) => assert_eq!(got, m),
            other => panic!("{tag}: echo {i} failed: {other:?}"),
        }
    }
}

/// (a) A client resets its TCP connection in the middle of a 32 MiB write from the server:
/// the server logs it with the peer address, frees the connection and keeps serving the
/// others, during and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_during_large_server_write() {
    bounded(async {
        let (log, lines) = capture();
        let addr = echo_server(log).await;
        let mut good1 = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        let mut good2 = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        echo_rounds(&mut good1, "before", 5).await;

        let (mut bad, mut conn) = raw_client(addr).await;
        let bad_addr = bad.local_addr().unwrap();
        conn.send_binary(vec![0x5a; 32 << 20]).unwrap();
        // Write the 32 MiB (the server reads it whole, then starts echoing it).
        write_out(&mut bad, &mut conn).await.unwrap();
        // Read a little of the echo to know the server is in the middle of writing it.
        let mut got = 0;
        let mut buf = vec![0u8; 64 << 10];
        while got < 256 << 10 {
            let n = bad.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got += n;
        }
        // Meanwhile the others are served.
        echo_rounds(&mut good2, "during", 5).await;
        reset(bad).await;

        // The server notices, logs it with the peer address, and goes on.
        let peer = bad_addr.to_string();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let done = lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with(&peer) && l.contains("closed"));
            if done {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no close logged: {:?}",
                lines.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let log = lines.lock().unwrap().clone();
        let closed = log
            .iter()
            .find(|l| l.starts_with(&peer) && l.contains("closed"))
            .unwrap();
        assert!(
            closed.contains("code 1006") && closed.contains("not clean"),
            "{closed}"
        );
        assert!(
            log.iter()
                .any(|l| l.starts_with(&peer) && l.contains("error")),
            "the I/O error is logged with the peer address: {log:?}"
        );
        echo_rounds(&mut good1, "after", 5).await;
        echo_rounds(&mut good2, "after", 5).await;
        // A new connection is accepted too.
        let mut good3 = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        echo_rounds(&mut good3, "new", 3).await;
    })
    .await
}

/// (b) A client completes the handshake, then neither reads nor writes (a phone that slept).
/// With a 200 ms ping interval and a 300 ms pong timeout the server's application gets an
/// error item, then the end of the stream, well within the deadline; sends then fail.
#[tokio::test]
async fn silent_client_found_by_keepalive() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let cfg = Config::new()
                .ping_interval(Some(Duration::from_millis(200)))
                .pong_timeout(Some(Duration::from_millis(300)));
            let mut ws = wsmachine_tokio::accept_with(stream, cfg, |_| Decision::accept())
                .await
                .unwrap();
            let start = Instant::now();
            let mut items = Vec::new();
            let mut error_at = None;
            while let Some(item) = ws.recv().await {
                if item.is_err() && error_at.is_none() {
                    error_at = Some(start.elapsed());
                }
                items.push(item);
            }
            let ended_at = start.elapsed();
            let send = ws.send(Message::text("anyone?")).await;
            let try_send = ws.try_send(Message::text("anyone?"));
            let ping = ws.ping(Bytes::new()).await;
            let _ = tx.send((
                items,
                error_at,
                ended_at,
                send,
                try_send,
                ping,
                ws.close_report(),
            ));
        });
        let (_silent, _conn) = raw_client(addr).await;
        let (items, error_at, ended_at, send, try_send, ping, report) = rx.await.unwrap();
        assert_eq!(items.len(), 1, "{items:?}");
        assert!(
            matches!(
                items[0],
                Err(Error::Connection(ConnectionError::Timeout(
                    Timeout::Keepalive
                )))
            ),
            "{items:?}"
        );
        // Ping at ~200-400 ms, give up 300 ms later; allow generous slack on a busy machine.
        let error_at = error_at.unwrap();
        assert!(
            error_at <= Duration::from_millis(700 + 2500),
            "{error_at:?}"
        );
        assert!(error_at <= ended_at);
        assert!(send.unwrap_err().is_closed());
        assert!(try_send.unwrap_err().is_closed());
        assert!(ping.is_err());
        let report = report.unwrap();
        assert!(!report.clean);
        assert_eq!(report.code(), CloseCode::ABNORMAL);
    })
    .await
}

/// (c) 32 tasks send to one connection at once through cloned senders. The client core
/// (which fails on any masked or malformed frame) must see every message exactly once, in
/// order per task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_send_to_one_connection() {
    const TASKS: u32 = 32;
    const PER_TASK: u32 = 150;
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let ws = wsmachine_tokio::accept(stream).await.unwrap();
            let (sender, mut receiver) = ws.split();
            let mut tasks = Vec::new();
            for t in 0..TASKS {
                let sender = sender.clone();
                tasks.push(tokio::spawn(async move {
                    for seq in 0..PER_TASK {
                        let m = if (t + seq) % 2 == 0 {
                            Message::text(format!("{t}:{seq}"))
                        } else {
                            // Some large binaries, so frames of different tasks could
                            // interleave if writes were not serialized.
                            let len = if seq % 25 == 0 {
                                70_000
                            } else {
                                8 + (seq as usize % 300)
                            };
                            let mut b = vec![(t ^ seq) as u8; len];
                            b[..4].copy_from_slice(&t.to_be_bytes());
                            b[4..8].copy_from_slice(&seq.to_be_bytes());
                            Message::binary(b)
                        };
                        sender.send(m).await.unwrap();
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            // Keep the connection until the client closes.
            while receiver.recv().await.is_some() {}
        });
        let (mut s, mut conn) = raw_client(addr).await;
        let mut next = vec![0u32; TASKS as usize];
        let mut total = 0;
        let mut buf = vec![0u8; 64 << 10];
        while total < TASKS * PER_TASK {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "server closed early");
            conn.handle_input(wsmachine::Timestamp::ZERO, &buf[..n]);
            while let Some(ev) = conn.poll_event() {
                let (t, seq) = match ev {
                    Event::Message(Message::Text(text)) => {
                        let (t, seq) = text.as_str().split_once(':').unwrap();
                        (t.parse::<u32>().unwrap(), seq.parse::<u32>().unwrap())
                    }
                    Event::Message(Message::Binary(b)) => {
                        let t = u32::from_be_bytes(b[..4].try_into().unwrap());
                        let seq = u32::from_be_bytes(b[4..8].try_into().unwrap());
                        assert!(b[8..].iter().all(|&x| x == (t ^ seq) as u8));
                        (t, seq)
                    }
                    other => panic!("unexpected event (bad frame?): {other:?}"),
                };
                assert_eq!(
                    next[t as usize], seq,
                    "task {t}: duplicate, lost or reordered"
                );
                next[t as usize] += 1;
                total += 1;
            }
        }
        assert!(next.iter().all(|&n| n == PER_TASK));
        conn.close(wsmachine::Timestamp::ZERO, CloseCode::NORMAL, "")
            .unwrap();
        write_out(&mut s, &mut conn).await.unwrap();
    })
    .await
}

async fn server_report(
    listener: TcpListener,
    close_first: bool,
) -> oneshot::Receiver<Option<wsmachine::CloseReport>> {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = wsmachine_tokio::accept(stream).await.unwrap();
        if close_first {
            ws.close(CloseCode::NORMAL, "server closes").await.unwrap();
        }
        while ws.recv_event().await.is_some() {}
        let _ = tx.send(ws.close_report());
    });
    rx
}

/// Reads until the peer's Close frame arrives (the raw peer's core reports it).
async fn read_until_close(s: &mut TcpStream, conn: &mut Connection) {
    let mut buf = vec![0u8; 4096];
    loop {
        // The Close may have come in with the handshake response: look first.
        while let Some(ev) = conn.poll_event() {
            if let Event::CloseReceived(_) = ev {
                return;
            }
        }
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "EOF before the Close frame");
        conn.handle_input(wsmachine::Timestamp::ZERO, &buf[..n]);
    }
}

/// (d) EOF and reset during the closing handshake, from either side: both ends report a
/// close, nothing panics.
#[tokio::test]
async fn eof_and_reset_during_closing_handshake() {
    bounded(async {
        // 1. Our server sends Close; the client answers with EOF instead of a Close.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let rx = server_report(listener, true).await;
        let (mut s, mut conn) = raw_client(addr).await;
        // Read the Close but do not answer it: half-close our side.
        read_until_close(&mut s, &mut conn).await;
        s.shutdown().await.unwrap();
        let r = rx.await.unwrap().expect("server reports a close");
        assert!(!r.clean, "{r:?}");
        assert_eq!(r.code(), CloseCode::ABNORMAL);
        drop(s);

        // 2. Our server sends Close; the client resets instead of answering.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let rx = server_report(listener, true).await;
        let (mut s, mut conn) = raw_client(addr).await;
        read_until_close(&mut s, &mut conn).await;
        reset(s).await;
        let r = rx.await.unwrap().expect("server reports a close");
        assert!(r.sent.is_some(), "{r:?}");

        // 3. The client sends Close, then resets before the server's answer arrives.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let rx = server_report(listener, false).await;
        let (mut s, mut conn) = raw_client(addr).await;
        conn.close(wsmachine::Timestamp::ZERO, CloseCode(4000), "then reset")
            .unwrap();
        write_out(&mut s, &mut conn).await.unwrap();
        reset(s).await;
        let r = rx.await.unwrap().expect("server reports a close");
        assert_eq!(r.received.unwrap().code, CloseCode(4000));

        // 4. The client sends Close, then EOF at once.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let rx = server_report(listener, false).await;
        let (mut s, mut conn) = raw_client(addr).await;
        conn.close(wsmachine::Timestamp::ZERO, CloseCode(4001), "then eof")
            .unwrap();
        write_out(&mut s, &mut conn).await.unwrap();
        s.shutdown().await.unwrap();
        let r = rx.await.unwrap().expect("server reports a close");
        assert_eq!(r.received.unwrap().code, CloseCode(4001));

        // 5. Our client sends Close; the server answers with EOF (no Close).
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, mut conn) = raw_server(&listener).await;
            read_until_close(&mut s, &mut conn).await;
            s.shutdown().await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        });
        let mut ws = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        while ws.recv_event().await.is_some() {}
        let r = ws.close_report().expect("client reports a close");
        assert!(!r.clean, "{r:?}");
        assert_eq!(r.code(), CloseCode::ABNORMAL);
        assert!(ws.send(Message::text("x")).await.is_err());
        server.await.unwrap();

        // 6. Our client sends Close; the server resets.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, mut conn) = raw_server(&listener).await;
            read_until_close(&mut s, &mut conn).await;
            reset(s).await;
        });
        let mut ws = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        let mut events = Vec::new();
        while let Some(ev) = ws.recv_event().await {
            events.push(format!("{ev:?}"));
        }
        let r = ws.close_report().expect("client reports a close");
        assert!(!r.clean, "{r:?} {events:?}");
        server.await.unwrap();

        // 7. The server sends Close and resets at once; our client reports a close.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, mut conn) = raw_server(&listener).await;
            conn.close(wsmachine::Timestamp::ZERO, CloseCode(4002), "bye")
                .unwrap();
            write_out(&mut s, &mut conn).await.unwrap();
            reset(s).await;
        });
        let mut ws = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        let mut saw = Vec::new();
        while let Some(ev) = ws.recv_event().await {
            saw.push(ev);
        }
        assert!(matches!(saw.last(), Some(Incoming::Closed(_))), "{saw:?}");
        assert!(ws.close_report().is_some());
        server.await.unwrap();
    })
    .await
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// A payload for message `i`: deterministic contents of varying size, with a checksum.
fn payload(i: u32, text: bool) -> Message {
    let len = (i as usize * 7919) % 9000;
    if text {
        let body: String = (0..len)
            .map(|k| char::from(b'a' + ((i as usize + k) % 26) as u8))
            .collect();
        let sum = fnv(body.as_bytes());
        Message::text(format!("{i}:{sum:016x}:{body}"))
    } else {
        let mut body: Vec<u8> = (0..len).map(|k| (i as usize * 31 + k) as u8).collect();
        let sum = fnv(&body);
        let mut m = i.to_be_bytes().to_vec();
        m.extend_from_slice(&sum.to_be_bytes());
        m.append(&mut body);
        Message::binary(m)
    }
}

fn check(i: u32, m: &Message, text: bool) {
    match (m, text) {
        (Message::Text(t), true) => {
            let mut parts = t.as_str().splitn(3, ':');
            let n: u32 = parts.next().unwrap().parse().unwrap();
            let sum = u64::from_str_radix(parts.next().unwrap(), 16).unwrap();
            let body = parts.next().unwrap();
            assert_eq!(n, i);
            assert_eq!(fnv(body.as_bytes()), sum, "text {i} corrupted");
        }
        (Message::Binary(b), false) => {
            let n = u32::from_be_bytes(b[..4].try_into().unwrap());
            let sum = u64::from_be_bytes(b[4..12].try_into().unwrap());
            assert_eq!(n, i);
            assert_eq!(fnv(&b[12..]), sum, "binary {i} corrupted");
        }
        _ => panic!("message {i}: wrong kind {m:?}"),
    }
    assert_eq!(*m, payload(i, text));
}

/// (e) Two connections from one client process, one streaming binary and one text, under
/// load: neither stream is ever corrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_busy_connections_never_corrupt() {
    const N: u32 = 3000;
    bounded(async {
        let (log, _) = capture();
        let addr = echo_server(log).await;
        let mut runs = Vec::new();
        for text in [false, true] {
            let ws = wsmachine_tokio::connect(&format!("ws://{addr}/"))
                .await
                .unwrap();
            runs.push(tokio::spawn(async move {
                let (sender, mut receiver) = ws.split();
                let writer = tokio::spawn(async move {
                    for i in 0..N {
                        sender.send(payload(i, text)).await.unwrap();
                    }
                    sender
                });
                for i in 0..N {
                    let m = receiver.recv().await.unwrap().unwrap();
                    check(i, &m, text);
                }
                let sender = writer.await.unwrap();
                sender.close(CloseCode::NORMAL, "").await.unwrap();
                while receiver.recv().await.is_some() {}
                assert!(receiver.close_report().unwrap().clean);
            }));
        }
        for r in runs {
            r.await.unwrap();
        }
    })
    .await
}

/// A client that never finishes its upgrade request is cut off by the handshake timeout;
/// one that sends garbage gets an HTTP error response. Both are errors, never panics.
#[tokio::test]
async fn stalled_or_bad_handshake_is_an_error() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut results = Vec::new();
            for _ in 0..2 {
                let (stream, _) = listener.accept().await.unwrap();
                let cfg = Config::new().handshake_timeout(Some(Duration::from_millis(300)));
                let start = Instant::now();
                let r = wsmachine_tokio::accept_with(stream, cfg, |_| Decision::accept()).await;
                results.push((r.map(|_| ()), start.elapsed()));
            }
            results
        });
        // 1. Half a request, then silence.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await; // the server hangs up
        // 2. Not HTTP at all.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"HELLO THERE\r\n\r\n").await.unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await;
        let response = String::from_utf8_lossy(&buf);
        assert!(response.starts_with("HTTP/1.1 4"), "{response}");
        let results = server.await.unwrap();
        assert!(
            matches!(
                results[0].0,
                Err(Error::Connection(ConnectionError::Timeout(
                    Timeout::Handshake
                )))
            ),
            "{:?}",
            results[0]
        );
        assert!(results[0].1 < Duration::from_secs(5));
        assert!(
            matches!(results[1].0, Err(Error::Handshake(_))),
            "{:?}",
            results[1]
        );
    })
    .await
}

/// A server that accepts TCP but never answers the upgrade: the client's handshake
/// timeout turns it into an error.
#[tokio::test]
async fn client_handshake_timeout() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(s);
        });
        let cfg = Config::new().handshake_timeout(Some(Duration::from_millis(300)));
        let start = Instant::now();
        let e = wsmachine_tokio::connect_with(&format!("ws://{addr}/"), cfg)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Connection(ConnectionError::Timeout(Timeout::Handshake))
            ),
            "{e:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(4));
        hold.abort();
        let _ = hold.await;
        // A refused connection is an I/O error.
        let e = wsmachine_tokio::connect(&format!("ws://{addr}/")).await;
        assert!(matches!(e, Err(Error::Io(_))), "{e:?}");
    })
    .await
}
