//! wsmachine-tokio against the driver contract (/notes/contract.md), with raw peers driven
//! by hand: an absolute-form request target is accepted; a reply to a delivered message
//! goes out before the Close that fails the connection on the next frame (no parse-ahead);
//! after a failing Close the server shuts its write side (FIN) at once but keeps reading
//! and discarding while the core drains; a burst of 64 KiB of payload with its frame
//! headers comes in with one read at the default read size. Every test is bounded in time;
//! none asserts speed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use wsmachine::{ClientRequest, CloseCode, Connection, Event, Message, Timestamp};
use wsmachine_examples::tokio_echo::{Log, echo_config, serve_echo};
use wsmachine_tokio::{Config, Decision};

const LIMIT: Duration = Duration::from_secs(40);

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

async fn echo_server(config: Config, log: Log) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_echo(listener, config, log));
    addr
}

async fn write_out(s: &mut TcpStream, conn: &mut Connection) {
    while let Some(chunk) = conn.poll_transmit() {
        s.write_all(&chunk).await.unwrap();
    }
}

/// Connects and completes the client handshake by hand; returns the socket and the core.
async fn raw_client(addr: SocketAddr) -> (TcpStream, Connection) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    let mut cfg = wsmachine::Config::default();
    cfg.timers.ping_interval = None;
    let mut conn = Connection::client(&req, cfg, Timestamp::ZERO).unwrap();
    write_out(&mut s, &mut conn).await;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "server closed during the handshake");
        conn.handle_input(Timestamp::ZERO, &buf[..n]);
        if let Some(Event::Connected(_)) = conn.poll_event() {
            return (s, conn);
        }
    }
}

/// A masked client frame built by hand (so that it can be invalid on purpose).
fn raw_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut f = vec![first_byte, 0x80 | payload.len() as u8];
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// Everything the peer sends until EOF, decoded by the raw client's core: the events, and
/// whether EOF came (rather than a reset).
async fn events_until_eof(s: &mut TcpStream, conn: &mut Connection) -> (Vec<Event>, bool) {
    let mut events = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        while let Some(ev) = conn.poll_event() {
            events.push(ev);
        }
        match s.read(&mut buf).await {
            Ok(0) => return (events, true),
            Ok(n) => {
                conn.handle_input(Timestamp::ZERO, &buf[..n]);
            }
            Err(_) => return (events, false),
        }
    }
}

#[tokio::test]
async fn absolute_form_request_target_is_accepted() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut seen = None;
            let ws = wsmachine_tokio::accept_with(stream, Config::new(), |req| {
                seen = Some((req.path.clone(), req.query.clone()));
                Decision::accept()
            })
            .await;
            let mut ws = ws.unwrap();
            let echoed = ws.recv().await.unwrap().unwrap();
            ws.send(echoed).await.unwrap();
            while ws.recv().await.is_some() {}
            let _ = tx.send((seen, ws.close_report()));
        });
        let mut s = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET http://{addr}/path?x=1 HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        s.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).await.unwrap(), 1, "EOF in the response");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(
            head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "the accept key of RFC 6455's example: {head}"
        );
        // The connection works: a message comes back, then a clean close.
        s.write_all(&raw_frame(0x81, b"over absolute-form"))
            .await
            .unwrap();
        s.write_all(&raw_frame(0x88, &1000u16.to_be_bytes()))
            .await
            .unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
        assert_eq!(&rest[..2], &[0x81, 18]);
        assert_eq!(&rest[2..20], b"over absolute-form");
        assert_eq!(&rest[20..], &[0x88, 2, 0x03, 0xe8]);
        let (seen, report) = rx.await.unwrap();
        assert_eq!(seen, Some(("/path".to_string(), Some("x=1".to_string()))));
        assert!(report.unwrap().clean);
    })
    .await
}

/// Autobahn 3.2-style: a valid message and, in the same read, a frame with a reserved bit
/// set. The echo server gets the message, sends its reply, and only then asks for the next
/// message, which fails the connection: the reply must be on the wire before the Close.
#[tokio::test]
async fn reply_goes_out_before_the_failing_close() {
    bounded(async {
        let (log, _) = capture();
        let addr = echo_server(echo_config(), log).await;
        for (name, bad) in [
            ("reserved bit", raw_frame(0xC1, b"rsv1")),
            ("reserved opcode", raw_frame(0x83, b"op3")),
            ("continuation without start", raw_frame(0x80, b"cont")),
            (
                "invalid UTF-8",
                raw_frame(0x81, &[0xce, 0xba, 0xe1, 0xbd, 0xff]),
            ),
        ] {
            let (mut s, mut conn) = raw_client(addr).await;
            let mut both = raw_frame(0x81, b"hello");
            both.extend_from_slice(&bad);
            // Then a ping, which must not be answered (the connection failed before it).
            both.extend_from_slice(&raw_frame(0x89, b"late"));
            s.write_all(&both).await.unwrap();
            let (events, _) = events_until_eof(&mut s, &mut conn).await;
            assert!(
                matches!(events.first(), Some(Event::Message(m)) if *m == Message::text("hello")),
                "{name}: the reply comes first: {events:?}"
            );
            let close = events.iter().find_map(|e| match e {
                Event::CloseReceived(f) => Some(f.code),
                _ => None,
            });
            let want = if name == "invalid UTF-8" {
                CloseCode::INVALID_DATA
            } else {
                CloseCode::PROTOCOL
            };
            assert_eq!(close, Some(want), "{name}: {events:?}");
            assert!(
                !events.iter().any(|e| matches!(e, Event::Pong(_))),
                "{name}: nothing after the failure is answered: {events:?}"
            );
        }
    })
    .await
}

/// After a failing Close the server shuts its write side at once (the raw peer reads the
/// Close, then EOF, while its own side is still open), and keeps reading and discarding
/// while the core drains: 4 MiB written after that EOF are all taken without a reset. The
/// drain is set to an hour, so the EOF cannot come from the drain's end.
#[tokio::test]
async fn fin_after_failing_close_while_draining() {
    bounded(async {
        let (log, lines) = capture();
        let config = echo_config().drain_timeout(Some(Duration::from_secs(3600)));
        let addr = echo_server(config, log).await;
        let (mut s, mut conn) = raw_client(addr).await;
        let peer = s.local_addr().unwrap().to_string();
        s.write_all(&raw_frame(0xC2, b"bad")).await.unwrap();
        let (events, eof) = events_until_eof(&mut s, &mut conn).await;
        assert!(eof, "EOF, not a reset: {events:?}");
        assert!(
            events.iter().any(|e| matches!(
                e,
                Event::CloseReceived(f) if f.code == CloseCode::PROTOCOL
            )),
            "{events:?}"
        );
        // The server still reads: 4 MiB do not fit in the socket buffers unless it does.
        let junk = vec![0x5au8; 4 << 20];
        s.write_all(&junk)
            .await
            .expect("the server stopped reading");
        s.shutdown().await.unwrap();
        // Our EOF ends the drain: the server drops the connection and logs its end.
        loop {
            let closed = lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with(&peer) && l.contains("closed: code 1006"));
            if closed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// A stream that counts the reads that brought bytes.
struct CountingReads<S> {
    inner: S,
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for CountingReads<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        r
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for CountingReads<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Reads that bring four whole masked 16 KiB frames (64 KiB of payload, 32 bytes of
/// headers), all waiting in the stream, to a server with `config`.
async fn reads_for_a_64_kib_burst(config: Config) -> usize {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stream = CountingReads {
        inner: ours,
        reads: reads.clone(),
    };
    let mut burst = Vec::new();
    for i in 0..4u8 {
        burst.extend_from_slice(&wsmachine_test_support::c2s(0x82, &[i; 16 << 10]));
    }
    assert_eq!(burst.len(), (64 << 10) + 4 * 8);
    peer.write_all(&burst).await.unwrap();
    let mut ws = wsmachine_tokio::open(stream, wsmachine::Role::Server, config);
    for i in 0..4u8 {
        match ws.recv().await {
            Some(Ok(Message::Binary(b))) => assert_eq!(b, vec![i; 16 << 10]),
            other => panic!("message {i}: {other:?}"),
        }
    }
    reads.load(std::sync::atomic::Ordering::SeqCst)
}

/// The default read size takes a burst of 64 KiB of payload with its frame headers in one
/// read; a 64 KiB read size (the default before 368142b) needs a second read for the last
/// 32 bytes. A server echoing four 16 KiB messages in flight made 0.47 reads per message
/// instead of 0.26 (benches/README.md).
#[tokio::test]
async fn the_default_read_size_takes_a_64_kib_burst_and_its_headers_in_one_read() {
    bounded(async {
        assert_eq!(reads_for_a_64_kib_burst(Config::default()).await, 1);
        assert_eq!(
            reads_for_a_64_kib_burst(Config::default().read_size(64 << 10)).await,
            2
        );
    })
    .await
}
