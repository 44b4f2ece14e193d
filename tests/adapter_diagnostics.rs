//! The adapters' error messages say where the peer broke the protocol: a raw client sends
//! a valid frame and then an unmasked one to the std, tokio and mio servers, and each
//! reports the second frame's offset (right after the request and the first frame), index
//! and header bytes, with the same close code (1002) on the wire.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use wsmachine::ProtocolError;
use wsmachine_test_support::{c2s, s2c};

const T: Duration = Duration::from_secs(20);

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// What the adapter must say: the second frame, after the request and a 9-byte frame.
fn expected() -> String {
    format!("at byte {} (frame 1, header 0x81 0x04)", REQUEST.len() + 9)
}

/// Connects to `addr`, upgrades, sends a valid binary frame then an unmasked text frame,
/// and checks the Close 1002 that comes back.
fn misbehave(addr: std::net::SocketAddr) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(REQUEST.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    s.write_all(&c2s(0x82, &[1, 2, 3])).unwrap();
    s.write_all(&s2c(0x81, b"bare")).unwrap();
    // The echo of the first frame may come first; then the Close with 1002.
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = s.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let frames = wsmachine_test_support::parse_frames(&got);
    let close = frames.iter().find(|f| f.0 == 0x88).expect("a Close frame");
    assert_eq!(&close.2[..2], &1002u16.to_be_bytes());
}

#[test]
fn std_server_error_names_the_offending_frame() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = wsmachine_std::accept(stream).unwrap();
        loop {
            match ws.recv() {
                Ok(m) => {
                    let _ = ws.send(m);
                }
                Err(e) => return e,
            }
        }
    });
    misbehave(addr);
    let e = server.join().unwrap();
    let wsmachine_std::Error::Protocol(ProtocolError::UnmaskedFrame, at) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(at.offset, REQUEST.len() as u64 + 9);
    assert!(e.to_string().ends_with(&expected()), "{e}");
}

#[tokio::test]
async fn tokio_server_error_names_the_offending_frame() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = wsmachine_tokio::accept(stream).await.unwrap();
        while let Some(item) = ws.recv().await {
            match item {
                Ok(m) => {
                    let _ = ws.send(m).await;
                }
                Err(e) => return Some(e),
            }
        }
        None
    });
    tokio::task::spawn_blocking(move || misbehave(addr))
        .await
        .unwrap();
    let e = tokio::time::timeout(T, server)
        .await
        .unwrap()
        .unwrap()
        .expect("an error item");
    let at = match &e {
        wsmachine_tokio::Error::Connection(c) => *c.diagnostic().expect("a protocol error"),
        other => panic!("{other:?}"),
    };
    assert_eq!(at.frame, 1);
    assert!(e.to_string().ends_with(&expected()), "{e}");
}

#[test]
fn mio_server_error_names_the_offending_frame() {
    let mut server = wsmachine_mio::Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        wsmachine_mio::ServerOptions::default(),
    )
    .unwrap();
    let addr = server.local_addr();
    let client = std::thread::spawn(move || misbehave(addr));
    let mut error = None;
    while let Ok(Some((id, event))) = server.next_event(Some(T)) {
        match event {
            wsmachine_mio::Event::Message(m) => {
                let _ = server.send(id, m);
            }
            wsmachine_mio::Event::Error(e) => error = Some(e),
            wsmachine_mio::Event::Closed(_) => break,
            _ => {}
        }
    }
    // Keep serving until the client saw the Close and EOF.
    while !client.is_finished() {
        let _ = server.next_event(Some(Duration::from_millis(50)));
    }
    client.join().unwrap();
    let e = error.expect("an error event");
    let wsmachine_mio::Error::Protocol(ProtocolError::UnmaskedFrame, at) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(at.header, [0x81, 0x04]);
    assert!(e.to_string().ends_with(&expected()), "{e}");
}
