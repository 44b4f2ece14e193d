//! Records the field's classic failures from real runs, as transcripts the core replays in
//! its tests (`crates/wsmachine/tests/transcripts/`): a std server (or client) with
//! `Config::record` on, a real TCP peer on loopback that misbehaves, and the recording
//! written out when the connection ends.
//!
//! ```text
//! cargo run --example record_failures -- crates/wsmachine/tests/transcripts
//! ```
//!
//! - `vanish_mid_write.wsrec`: a client sends 24 KiB, never reads the echo, and resets
//!   while the server is blocked writing it (small socket buffers make sure it is).
//! - `sleeping_phone.wsrec`: a client exchanges one message, then neither reads nor writes;
//!   the server's keepalive (ping after 200 ms of silence, 300 ms for an answer) finds it.
//! - `eof_during_close.wsrec`: the server closes; the client reads the Close and ends TCP
//!   (FIN) instead of answering it.
//! - `eof_during_close_client.wsrec`: our client closes; the server ends TCP instead of
//!   answering (client side).
//!
//! Each run checks that the failure happened as intended (the server's write really was
//! cut short, the keepalive fired, the close was unclean) and that the transcript replays
//! before it writes the file.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use socket2::SockRef;
use wsmachine::record::{self, EventRecord, Record};
use wsmachine::{CloseCode, Config, Timers};
use wsmachine_std::{ClientBuilder, Error, ServerBuilder, WebSocket};
use wsmachine_test_support::{c2s, parse_frames};

fn recording(timers: Timers) -> Config {
    Config {
        record: true,
        timers,
        ..Config::default()
    }
}

/// Serves one connection on `listener` with an echo loop; returns its transcript and
/// whether an echo failed (the write was cut short).
fn echo_one(listener: TcpListener, config: Config) -> (Vec<u8>, bool) {
    let (stream, _) = listener.accept().unwrap();
    let mut ws = ServerBuilder::new().config(config).accept(stream).unwrap();
    let mut transcript = Vec::new();
    let mut echo_failed = false;
    loop {
        match ws.recv() {
            Ok(m) => {
                if ws.send(m).is_err() {
                    echo_failed = true;
                }
            }
            Err(Error::Closed(_)) => break,
            Err(_) => {}
        }
        transcript.extend(ws.take_transcript());
    }
    transcript.extend(ws.take_transcript());
    (transcript, echo_failed)
}

/// A listener on loopback; with `small_buffers`, the sockets it accepts have a 4 KiB send
/// buffer (set on the listener before any client connects, so they inherit it).
fn listen(small_buffers: bool) -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    if small_buffers {
        SockRef::from(&listener).set_send_buffer_size(4096).unwrap();
    }
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    (listener, url)
}

fn connect(url: &str, small_buffers: bool) -> WebSocket<TcpStream> {
    let addr: std::net::SocketAddr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    if small_buffers {
        // Before connecting, so the window it advertises is small from the start.
        socket.set_recv_buffer_size(2048).unwrap();
    }
    socket.connect(&addr.into()).unwrap();
    ClientBuilder::new(url)
        .client(TcpStream::from(socket))
        .unwrap()
        .0
}

fn vanish_mid_write() -> Vec<u8> {
    let (listener, url) = listen(true);
    let server = thread::spawn(move || echo_one(listener, recording(Timers::default())));
    let mut ws = connect(&url, true);
    ws.send_binary(vec![7u8; 24 << 10]).unwrap();
    // The server is now blocked writing the echo to a client that does not read.
    thread::sleep(Duration::from_millis(300));
    let stream = ws.into_inner();
    SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
    let (transcript, echo_failed) = server.join().unwrap();
    assert!(echo_failed, "the echo was not cut short");
    transcript
}

fn sleeping_phone() -> Vec<u8> {
    let (listener, url) = listen(false);
    let timers = Timers {
        ping_interval: Some(Duration::from_millis(200)),
        pong_timeout: Some(Duration::from_millis(300)),
        ..Timers::default()
    };
    let server = thread::spawn(move || echo_one(listener, recording(timers)));
    let mut ws = connect(&url, false);
    ws.send_text("hello").unwrap();
    ws.recv().unwrap();
    // Asleep: the socket stays open, nothing is read or written.
    let (transcript, _) = server.join().unwrap();
    drop(ws);
    transcript
}

fn eof_during_close() -> Vec<u8> {
    let (listener, url) = listen(false);
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = ServerBuilder::new()
            .config(recording(Timers::default()))
            .accept(stream)
            .unwrap();
        let _ = ws.recv().unwrap();
        let report = ws.close(CloseCode::NORMAL, "done").unwrap();
        assert!(!report.clean, "{report:?}");
        ws.take_transcript()
    });
    let mut stream = connect(&url, false).into_inner();
    stream.write_all(&c2s(0x81, b"close me")).unwrap();
    // Read the server's Close, then end TCP without answering it.
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.starts_with(&[0x88]) || got.len() < 2 + usize::from(got[1]) {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "EOF before the server's Close");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(parse_frames(&got)[0].0, 0x88);
    stream.shutdown(Shutdown::Write).unwrap();
    let transcript = server.join().unwrap();
    drop(stream);
    transcript
}

fn eof_during_close_client() -> Vec<u8> {
    let (listener, url) = listen(false);
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = ServerBuilder::new().accept(stream).unwrap();
        let mut raw = ws.get_ref().try_clone().unwrap();
        drop(ws.recv());
        // The client's Close arrived as the next frame: end TCP instead of answering.
        let mut buf = [0u8; 64];
        let _ = raw.read(&mut buf);
        raw.shutdown(Shutdown::Both).unwrap();
    });
    let addr = url.trim_start_matches("ws://").trim_end_matches('/');
    let stream = TcpStream::connect(addr).unwrap();
    let mut ws = ClientBuilder::new(&url)
        .config(recording(Timers::default()))
        .client(stream)
        .unwrap()
        .0;
    ws.send_text("hi").unwrap();
    let report = ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert!(!report.clean, "{report:?}");
    server.join().unwrap();
    ws.take_transcript()
}

/// The events a transcript recorded, as dump lines.
fn events(transcript: &[u8]) -> Vec<String> {
    record::records(transcript)
        .unwrap()
        .filter_map(|r| match r.unwrap().1 {
            Record::Event(EventRecord::None) => None,
            Record::Event(e) => Some(e.to_string()),
            _ => None,
        })
        .collect()
}

fn save(dir: &Path, name: &str, transcript: Vec<u8>) {
    if let Err(e) = record::replay(&transcript) {
        panic!("{name} does not replay: {e}");
    }
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, &transcript).unwrap();
    println!("{} ({} bytes):", path.display(), transcript.len());
    for e in events(&transcript) {
        println!("    {e}");
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "crates/wsmachine/tests/transcripts".into());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    save(dir, "vanish_mid_write.wsrec", vanish_mid_write());
    save(dir, "sleeping_phone.wsrec", sleeping_phone());
    save(dir, "eof_during_close.wsrec", eof_during_close());
    save(
        dir,
        "eof_during_close_client.wsrec",
        eof_during_close_client(),
    );
}
