//! The classic failures, run against our std, mio or smol server (see [`Kind`]): a client that
//! resets during a large server write, a client that vanishes in the middle of a large
//! frame, a silent client found by keepalive, EOF and reset during the closing handshake; plus a raw server that ends TCP instead of answering a
//! client's Close. Two scenarios also run against any server by address, for the servers
//! outside [`Kind`] (the poll(2) loop, the io_uring echo): EOF in the middle of a frame
//! ([`eof_mid_frame_at`]) and FIN after a failing Close while the server drains
//! ([`fin_after_failing_close_at`]).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socket2::SockRef;
use wsmachine::{CloseCode, CloseReport, Config, Message, Timers};
use wsmachine_std::{ClientBuilder, Error, WebSocket};

use crate::adapter::{self, End, Kind, ServerHandle};

const T: Duration = Duration::from_secs(20);

/// How a peer ends the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// FIN (shutdown, then close).
    Eof,
    /// RST (SO_LINGER 0, then close).
    Reset,
}

/// Drops a stream with FIN or RST.
pub fn end_stream(stream: TcpStream, how: Ending) {
    match how {
        Ending::Eof => {
            let _ = stream.shutdown(Shutdown::Both);
        }
        Ending::Reset => {
            SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
    }
    drop(stream);
}

/// Waits for the server end whose peer is `peer`, keeping others in `others`.
pub fn end_of(server: &ServerHandle, peer: SocketAddr, others: &mut Vec<End>) -> End {
    let deadline = Instant::now() + T;
    if let Some(i) = others.iter().position(|e| e.peer == Some(peer)) {
        return others.remove(i);
    }
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = server
            .next_end(left)
            .unwrap_or_else(|| panic!("no end reported for {peer} within {T:?}"));
        if e.peer == Some(peer) {
            return e;
        }
        others.push(e);
    }
}

fn connect_ws(server: &ServerHandle) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(server.addr).unwrap();
    ClientBuilder::new(&server.url())
        .config(adapter::big_config())
        .client(stream)
        .unwrap()
        .0
}

fn echo_ok(ws: &mut WebSocket<TcpStream>, text: &str) {
    ws.send_text(text.to_string()).unwrap();
    assert_eq!(ws.recv().unwrap(), Message::text(text.to_string()));
}

/// A client sends 16 MiB and never reads the echo, then resets while the server is blocked
/// writing it. The server reports that connection closed (1006, not clean) and keeps
/// serving another client throughout, and a new one after.
pub fn reset_during_large_write(kind: Kind) {
    let server = adapter::echo(kind, adapter::big_config());
    let mut other = connect_ws(&server);
    echo_ok(&mut other, "before");

    let mut victim = connect_ws(&server);
    let victim_addr = victim.get_ref().local_addr().unwrap();
    victim.send_binary(vec![7u8; 16 << 20]).unwrap();
    // The server is now writing 16 MiB to a client that does not read.
    std::thread::sleep(Duration::from_millis(300));
    echo_ok(&mut other, "during");
    end_stream(victim.into_inner(), Ending::Reset);

    let mut ends = Vec::new();
    let end = end_of(&server, victim_addr, &mut ends);
    let r = end.report.expect("a close report for the reset connection");
    assert!(!r.clean, "{r:?}");
    assert_eq!(r.code(), CloseCode::ABNORMAL, "{r:?}");

    echo_ok(&mut other, "after");
    let mut fresh = connect_ws(&server);
    echo_ok(&mut fresh, "fresh");
    assert!(other.close(CloseCode::NORMAL, "").unwrap().clean);
    assert!(fresh.close(CloseCode::NORMAL, "").unwrap().clean);
}

/// A client sends the header and half the payload of a 1 MiB frame, then ends TCP (`how`)
/// while the server is reading the frame's rest (the mio server reads it straight into the
/// room the core reserved for it). The server reports that connection closed (1006, not
/// clean) and keeps serving another client.
pub fn end_during_large_frame(kind: Kind, how: Ending) {
    let server = adapter::echo(kind, adapter::big_config());
    let mut other = connect_ws(&server);
    echo_ok(&mut other, "before");

    let victim = connect_ws(&server);
    let victim_addr = victim.get_ref().local_addr().unwrap();
    let mut stream = victim.into_inner();
    let frame = crate::c2s(0x82, &vec![3u8; 1 << 20]);
    stream.write_all(&frame[..frame.len() / 2]).unwrap();
    // Let the server read the header and start on the payload.
    std::thread::sleep(Duration::from_millis(100));
    end_stream(stream, how);

    let end = end_of(&server, victim_addr, &mut Vec::new());
    let r = end.report.expect("a close report for the ended connection");
    assert!(!r.clean, "{r:?}");
    assert_eq!(r.code(), CloseCode::ABNORMAL, "{r:?}");
    assert_eq!(end.messages, 0);
    echo_ok(&mut other, "after");
    assert!(other.close(CloseCode::NORMAL, "").unwrap().clean);
}

/// Keepalive settings for the silent-client test: ping after 200 ms of silence, give up
/// 300 ms later.
pub fn short_keepalive() -> Config {
    Config {
        timers: Timers {
            ping_interval: Some(Duration::from_millis(200)),
            pong_timeout: Some(Duration::from_millis(300)),
            ..Timers::default()
        },
        ..adapter::big_config()
    }
}

/// A client completes the handshake, then never reads or writes. The server's keepalive
/// finds it: a keepalive timeout error is reported before the (unclean) close.
pub fn silent_client(kind: Kind) {
    let server = adapter::echo(kind, short_keepalive());
    let start = Instant::now();
    let silent = connect_ws(&server);
    let addr = silent.get_ref().local_addr().unwrap();
    let end = end_of(&server, addr, &mut Vec::new());
    assert!(
        end.keepalive,
        "expected a keepalive timeout, got {:?}",
        end.error
    );
    let r = end.report.expect("close report");
    assert!(!r.clean, "{r:?}");
    assert_eq!(r.code(), CloseCode::ABNORMAL);
    assert!(start.elapsed() < Duration::from_secs(10));
    drop(silent);
}

/// Our client sends Close, then ends TCP (`how`) without waiting for the answer. The server
/// reports a close; our client reports one too; the server keeps working.
pub fn client_close_then_end(kind: Kind, how: Ending) {
    let server = adapter::echo(kind, adapter::big_config());
    let mut ws = connect_ws(&server);
    echo_ok(&mut ws, "x");
    let addr = ws.get_ref().local_addr().unwrap();
    ws.start_close(CloseCode::NORMAL, "leaving").unwrap();
    match how {
        Ending::Eof => {
            ws.get_ref().shutdown(Shutdown::Write).unwrap();
            // Our side still reports the close (the server's answer, then its EOF).
            let r = loop {
                match ws.recv() {
                    Err(Error::Closed(r)) => break r,
                    Err(_) => {}
                    Ok(m) => panic!("unexpected {m:?}"),
                }
            };
            assert_eq!(r.sent.as_ref().unwrap().code, CloseCode::NORMAL);
            drop(ws);
        }
        Ending::Reset => end_stream(ws.into_inner(), Ending::Reset),
    }
    let end = end_of(&server, addr, &mut Vec::new());
    assert!(end.report.is_some(), "{end:?}");
    let mut again = connect_ws(&server);
    echo_ok(&mut again, "still serving");
}

/// The server starts the close (scripted `close:4000`); the client ends TCP (`how`) instead
/// of answering. The server reports an unclean close with the Close it sent.
pub fn server_close_then_client_end(kind: Kind, how: Ending) {
    let server = adapter::scripted(kind);
    let mut ws = connect_ws(&server);
    echo_ok(&mut ws, "x");
    let addr = ws.get_ref().local_addr().unwrap();
    ws.send_text("close:4000").unwrap();
    let mut stream = ws.into_inner();
    // Wait for the server's Close frame to arrive (raw), then end without answering.
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).unwrap();
    assert!(
        n >= 2 && buf[0] == 0x88,
        "expected a Close frame, got {:?}",
        &buf[..n]
    );
    end_stream(stream, how);
    let end = end_of(&server, addr, &mut Vec::new());
    let r = end.report.expect("close report");
    assert_eq!(r.sent.as_ref().unwrap().code, CloseCode(4000), "{r:?}");
    assert!(!r.clean, "{r:?}");
}

/// A raw server: accepts one WebSocket (with the std adapter), waits for the client's
/// Close frame and ends TCP (`how`) without answering.
pub fn rude_server(how: Ending) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let ws = wsmachine_std::accept(s).unwrap();
        let mut stream = ws.into_inner();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 64];
        let n = stream.read(&mut buf).unwrap_or(0);
        assert!(
            n >= 2 && buf[0] == 0x88,
            "expected a Close, got {:?}",
            &buf[..n]
        );
        let _ = stream.flush();
        end_stream(stream, how);
    });
    (addr, t)
}

/// Our std client closes; the server ends TCP instead of answering. The client reports an
/// unclean close (1006) promptly.
pub fn std_client_close_vs_rude_server(how: Ending) {
    let (addr, t) = rude_server(how);
    let (mut ws, _) = wsmachine_std::connect(&format!("ws://{addr}/")).unwrap();
    let start = Instant::now();
    let r = ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(!r.clean, "{r:?}");
    assert_eq!(r.code(), CloseCode::ABNORMAL);
    assert!(start.elapsed() < Duration::from_secs(5));
    t.join().unwrap();
}

/// Our mio client closes; the server ends TCP instead of answering. The client reports an
/// unclean close (1006) promptly.
pub fn mio_client_close_vs_rude_server(how: Ending) {
    let (addr, t) = rude_server(how);
    let mut c = adapter::mio_client(&format!("ws://{addr}/"));
    let start = Instant::now();
    c.client().close(CloseCode::NORMAL, "").unwrap();
    let r = adapter::mio_wait_closed(&mut c).unwrap();
    assert!(!r.clean, "{r:?}");
    assert_eq!(r.code(), CloseCode::ABNORMAL);
    assert!(start.elapsed() < Duration::from_secs(5));
    t.join().unwrap();
}

/// A client sends a message over the server's limit (8 MiB against 1 MiB) in one frame. The
/// server fails the connection with 1009 at the frame header while the client is still
/// writing; it drains the rest instead of resetting, so the client gets the 1009 Close.
pub fn too_big_message_gets_1009(kind: Kind) {
    let mut config = Config::default();
    config.limits.max_frame_size = 1 << 20;
    config.limits.max_message_size = 1 << 20;
    let server = adapter::echo(kind, config);
    let mut ws = connect_ws(&server);
    let addr = ws.get_ref().local_addr().unwrap();
    // The write may or may not complete before the server's Close arrives; either is fine.
    let _ = ws.send_binary(vec![0u8; 8 << 20]);
    let r = loop {
        match ws.recv() {
            Err(Error::Closed(r)) => break r,
            Err(_) => {}
            Ok(m) => panic!("unexpected {m:?}"),
        }
    };
    assert_eq!(r.code(), CloseCode::TOO_BIG, "{r:?}");
    let end = end_of(&server, addr, &mut Vec::new());
    assert!(end.error.is_some(), "{end:?}");
    assert_eq!(end.report.unwrap().sent.unwrap().code, CloseCode::TOO_BIG);
}

/// Our futures (smol) client closes; the server ends TCP instead of answering. The client
/// reports an unclean close (1006) promptly.
pub fn smol_client_close_vs_rude_server(how: Ending) {
    let (addr, t) = rude_server(how);
    let start = Instant::now();
    let r = smol::block_on(async {
        let rt = wsmachine_examples::smol_echo::runtime();
        let mut ws = rt.connect(&format!("ws://{addr}/")).await.unwrap();
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        while ws.recv().await.is_some() {}
        ws.close_report().expect("a close report")
    });
    assert!(!r.clean, "{r:?}");
    assert_eq!(r.code(), CloseCode::ABNORMAL);
    assert!(start.elapsed() < Duration::from_secs(5));
    t.join().unwrap();
}

/// EOF in the middle of a frame from a raw client of the echo server at `addr`: the
/// server's report for that connection (`report_of(peer)`, the client's address) is unclean
/// with 1006, and the server still serves a new client.
pub fn eof_mid_frame_at(addr: SocketAddr, report_of: impl FnOnce(SocketAddr) -> CloseReport) {
    let mut s = adapter::raw_client(addr, T);
    let peer = s.local_addr().unwrap();
    s.write_all(&crate::c2s(0x81, b"half a frame")[..8])
        .unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let report = report_of(peer);
    assert!(!report.clean, "{report:?}");
    assert_eq!(report.code(), CloseCode::ABNORMAL);
    let mut other = adapter::std_client(&format!("ws://{addr}/"));
    other.send(Message::text("still serving")).unwrap();
    assert_eq!(other.recv().unwrap(), Message::text("still serving"));
}

/// A frame with a reserved bit set, after a valid one, to the echo server at `addr` (whose
/// drain timeout must outlast the test): the echo of the message before it goes out
/// first, then the 1002 Close, then FIN (EOF at the client, whose own side is still open),
/// and the server still reads and discards what the client sends after that (4 MiB, not
/// reset). Its report for the connection (`report_of(peer)`) says it sent 1002.
pub fn fin_after_failing_close_at(
    addr: SocketAddr,
    report_of: impl FnOnce(SocketAddr) -> CloseReport,
) {
    let mut s = adapter::raw_client(addr, T);
    let peer = s.local_addr().unwrap();
    let mut bytes = crate::c2s(0x81, b"hello");
    bytes.extend_from_slice(&crate::c2s(0xC1, b"rsv1"));
    s.write_all(&bytes).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(&got[..7], b"\x81\x05hello", "{got:?}");
    // A Close with 1002 (and a reason) follows the echo.
    assert_eq!(got[7], 0x88, "{got:?}");
    assert_eq!(&got[9..11], &[0x03, 0xea], "{got:?}");
    s.write_all(&vec![0x5a; 4 << 20])
        .expect("the server stopped reading");
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(report_of(peer).sent.unwrap().code, CloseCode::PROTOCOL);
}
