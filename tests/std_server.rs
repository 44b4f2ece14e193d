//! The std server on the wire, driven by hand-written bytes: an absolute-form request target,
//! the write-side shutdown (FIN) after a failing Close while the peer is still drained, and
//! the std echo server's connection cap.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::channel;
use std::time::Duration;

use wsmachine::{CloseCode, Config, Message, ProtocolError, Timers};
use wsmachine_examples::std_echo;
use wsmachine_std::{Error, ServerBuilder};

/// Generous bound on waits for something that must happen.
const T: Duration = Duration::from_secs(20);

/// The RFC 6455 example key and the accept value it must produce.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// An upgrade request for `target` (whatever form) to `addr`.
fn upgrade_request(addr: SocketAddr, target: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Reads the response head (through the empty line), byte by byte so that nothing after
/// it is consumed.
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("the response head");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// A client frame with `b0` (FIN and opcode), masked unless `masked` is false.
fn frame(b0: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    assert!(payload.len() < 126);
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![b0, payload.len() as u8 | if masked { 0x80 } else { 0 }];
    if masked {
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// `GET http://127.0.0.1:PORT/path?x=1 HTTP/1.1` (absolute form, RFC 9112 3.2.2): the std
/// server upgrades, sees the path and query, and echoes a message.
#[test]
fn std_server_accepts_an_absolute_form_request_target() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut ws = ServerBuilder::new().accept(s).expect("upgraded");
        let request = ws.request().unwrap().clone();
        let m = ws.recv().unwrap();
        ws.send(m).unwrap();
        let report = ws.close(CloseCode::NORMAL, "").unwrap();
        (request.path, request.query, report)
    });
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let target = format!("http://127.0.0.1:{}/path?x=1", addr.port());
    s.write_all(upgrade_request(addr, &target).as_bytes())
        .unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n")),
        "{head}"
    );
    s.write_all(&frame(0x81, b"absolute", true)).unwrap();
    let mut echo = [0u8; 10];
    s.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"\x81\x08absolute");
    // The server's Close (1000), answered; then its EOF.
    let mut close = [0u8; 4];
    s.read_exact(&mut close).unwrap();
    assert_eq!(close, [0x88, 0x02, 0x03, 0xe8]);
    s.write_all(&frame(0x88, &[0x03, 0xe8], true)).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");
    let (path, query, report) = server.join().unwrap();
    assert_eq!(path, "/path");
    assert_eq!(query.as_deref(), Some("x=1"));
    assert!(report.clean, "{report:?}");
}

/// The client breaks the protocol (an unmasked frame). The server sends Close 1002 and then
/// shuts down its write side at once, while it still drains the client for a long
/// `drain_timeout` (60 s): the client reads the Close and then EOF long before that, can
/// still write (the server reads and discards), and its own EOF ends the drain.
#[test]
fn std_server_sends_fin_after_a_failing_close_while_it_drains() {
    let config = Config {
        timers: Timers {
            drain_timeout: Some(Duration::from_secs(60)),
            ..Timers::default()
        },
        ..Config::default()
    };
    let (tx, ends) = channel();
    let addr = std_echo::spawn(
        "127.0.0.1:0",
        ServerBuilder::new().config(config),
        move |e| {
            let _ = tx.send(e);
        },
    )
    .unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let request = upgrade_request(addr, "/");
    s.write_all(request.as_bytes()).unwrap();
    assert!(read_head(&mut s).starts_with("HTTP/1.1 101"));
    s.write_all(&frame(0x81, b"unmasked", false)).unwrap();
    let mut close = [0u8; 2];
    s.read_exact(&mut close).unwrap();
    assert_eq!(close[0], 0x88, "a Close frame");
    let mut payload = vec![0u8; close[1] as usize];
    s.read_exact(&mut payload).unwrap();
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1002);
    // Then EOF: the FIN, sent while the server keeps reading.
    let mut rest = [0u8; 16];
    match s.read(&mut rest) {
        Ok(0) => {}
        other => panic!("expected EOF after the Close, got {other:?}"),
    }
    // The server is still reading (and discarding): these bytes are taken, no reset.
    s.write_all(&frame(0x82, &[7; 100], true)).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let end = ends.recv_timeout(T).expect("the server reports the end");
    // The error says where: the first frame, right after the request's bytes.
    match &end.error {
        Some(Error::Protocol(ProtocolError::UnmaskedFrame, at)) => {
            assert_eq!(at.offset, request.len() as u64, "{end}");
            assert_eq!((at.frame, at.header), (0, [0x81, 8]), "{end}");
        }
        _ => panic!("expected an unmasked-frame error: {end}"),
    }
    let message = end.error.as_ref().unwrap().to_string();
    assert!(
        message.contains(&format!("at byte {} (frame 0", request.len())),
        "{message}"
    );
    let report = end.report.expect("a close report");
    assert_eq!(report.sent.unwrap().code, CloseCode::PROTOCOL);
}

/// A std client for the echo server at `addr` whose first echo came back (it is served).
fn served_client(
    addr: SocketAddr,
    text: &str,
) -> wsmachine_std::WebSocket<wsmachine_std::MaybeTlsStream> {
    let (mut ws, _) = wsmachine_std::connect(&format!("ws://{addr}/")).unwrap();
    ws.send_text(text.to_string()).unwrap();
    assert_eq!(ws.recv().unwrap(), Message::text(text.to_string()));
    ws
}

/// With a cap of 2, a third connection is held (its handshake is not answered) while two
/// are served, and is served as soon as one of them ends.
#[test]
fn std_echo_cap_holds_the_next_connection_until_one_ends() {
    let (tx, ends) = channel();
    let addr = std_echo::spawn_capped("127.0.0.1:0", ServerBuilder::new(), 2, move |e| {
        let _ = tx.send(e);
    })
    .unwrap();
    let mut first = served_client(addr, "one");
    let mut second = served_client(addr, "two");

    let mut third = TcpStream::connect(addr).unwrap();
    third
        .write_all(upgrade_request(addr, "/").as_bytes())
        .unwrap();
    // Held: no answer while two are served. (A server that answered would do so at once;
    // a correct one never does, so this wait cannot fail a correct server.)
    third
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8];
    match third.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("the third connection was answered past the cap: {other:?}"),
    }
    // The second is still served.
    second.send_text("still two").unwrap();
    assert_eq!(second.recv().unwrap(), Message::text("still two"));

    assert!(first.close(CloseCode::NORMAL, "").unwrap().clean);
    let end = ends.recv_timeout(T).expect("the first connection's end");
    assert_eq!(end.messages, 1);
    // Its slot goes to the third.
    third.set_read_timeout(Some(T)).unwrap();
    let head = read_head(&mut third);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    third.write_all(&frame(0x81, b"three", true)).unwrap();
    let mut echo = [0u8; 7];
    third.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"\x81\x05three");
    assert!(second.close(CloseCode::NORMAL, "").unwrap().clean);
}
