//! Fault injection through the adapters over loopback, against the std, mio and tokio echo
//! servers: a reset at every stage of a connection, a half-close, a peer that reads nothing
//! while the server's send queue fills, and a slow-loris handshake. In every case the server
//! reports that connection's end, releases it, applies its limits, and goes on serving others.
use wsmachine_test_support::adapter;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use adapter::{End, Kind};
use socket2::SockRef;
use wsmachine::random::SeededRandom;
use wsmachine::{ClientRequest, Config, Limits, Message, Timers};

const T: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy)]
enum Server {
    Std,
    Mio,
    Tokio,
}

const SERVERS: [Server; 3] = [Server::Std, Server::Mio, Server::Tokio];

/// A running echo server and the stream of its connection ends.
struct Running {
    addr: SocketAddr,
    ends: Receiver<End>,
    _keep: Option<adapter::ServerHandle>,
}

impl Running {
    fn start(server: Server, config: Config) -> Running {
        match server {
            Server::Std | Server::Mio => {
                let kind = if matches!(server, Server::Std) {
                    Kind::Std
                } else {
                    Kind::Mio
                };
                let mut handle = adapter::echo(kind, config);
                let (tx, ends) = channel();
                let inner = std::mem::replace(&mut handle.ends, channel().1);
                std::thread::spawn(move || {
                    while let Ok(e) = inner.recv() {
                        if tx.send(e).is_err() {
                            return;
                        }
                    }
                });
                Running {
                    addr: handle.addr,
                    ends,
                    _keep: Some(handle),
                }
            }
            Server::Tokio => {
                let (tx, ends) = channel();
                let (addr_tx, addr_rx) = channel();
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async move {
                        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                        addr_tx.send(listener.local_addr().unwrap()).unwrap();
                        loop {
                            let Ok((stream, peer)) = listener.accept().await else {
                                continue;
                            };
                            let tx = tx.clone();
                            tokio::spawn(async move {
                                let mut end = End {
                                    peer: Some(peer),
                                    messages: 0,
                                    error: None,
                                    keepalive: false,
                                    report: None,
                                };
                                let decide =
                                    |_: &wsmachine::Request| wsmachine_tokio::Decision::accept();
                                match wsmachine_tokio::accept_with(stream, config, decide).await {
                                    Ok(mut ws) => {
                                        while let Some(item) = ws.recv().await {
                                            match item {
                                                Ok(m) => {
                                                    if ws.send(m).await.is_ok() {
                                                        end.messages += 1;
                                                    }
                                                }
                                                Err(e) => {
                                                    end.error.get_or_insert(format!("{e:?}"));
                                                }
                                            }
                                        }
                                        end.report = ws.close_report();
                                    }
                                    Err(e) => end.error = Some(format!("{e:?}")),
                                }
                                let _ = tx.send(end);
                            });
                        }
                    });
                });
                Running {
                    addr: addr_rx.recv().unwrap(),
                    ends,
                    _keep: None,
                }
            }
        }
    }

    /// The end of the connection from `peer`, skipping others.
    fn end_of(&self, peer: SocketAddr) -> End {
        let deadline = Instant::now() + T;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = self
                .ends
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no end reported for {peer}"));
            if e.peer == Some(peer) {
                return e;
            }
        }
    }

    /// A full echo with a fresh client: the server still serves.
    fn assert_serving(&self) {
        let stream = TcpStream::connect(self.addr).unwrap();
        let url = format!("ws://{}/", self.addr);
        let (mut ws, _) = wsmachine_std::ClientBuilder::new(&url)
            .client(stream)
            .unwrap();
        ws.send_text("still here".to_string()).unwrap();
        assert_eq!(ws.recv().unwrap(), Message::text("still here"));
        ws.close(wsmachine::CloseCode::NORMAL, "").unwrap();
    }
}

/// Opens a connection and leaves it at some stage.
type Opener = fn(SocketAddr) -> TcpStream;

fn reset(stream: TcpStream) {
    SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
}

/// The client's handshake request for `addr`.
fn request(addr: SocketAddr) -> Vec<u8> {
    let req = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    let mut random = SeededRandom::from_u64(5);
    let hs =
        wsmachine::handshake::ClientHandshake::new(&req, &mut random, Default::default()).unwrap();
    hs.request_bytes().to_vec()
}

/// A masked client frame.
fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let key = [9, 8, 7, 6];
    let mut out = vec![b0];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// Connects and completes the handshake by hand; returns the stream.
fn open_raw(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(&request(addr)).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    s
}

#[test]
fn reset_at_every_stage_frees_the_connection_and_serving_goes_on() {
    for server in SERVERS {
        let running = Running::start(server, adapter::big_config());
        let stages: [(&str, Opener); 6] = [
            ("during the handshake request", |addr| {
                let mut s = TcpStream::connect(addr).unwrap();
                let req = request(addr);
                s.write_all(&req[..req.len() / 2]).unwrap();
                s
            }),
            ("after the handshake", open_raw),
            ("mid-frame header", |addr| {
                let mut s = open_raw(addr);
                s.write_all(&frame(0x82, &[1; 70_000])[..3]).unwrap();
                s
            }),
            ("mid-frame payload", |addr| {
                let mut s = open_raw(addr);
                s.write_all(&frame(0x82, &[1; 70_000])[..30_000]).unwrap();
                s
            }),
            ("mid-message, between fragments", |addr| {
                let mut s = open_raw(addr);
                s.write_all(&frame(0x01, b"first half, ")).unwrap();
                s
            }),
            ("during the close handshake", |addr| {
                let mut s = open_raw(addr);
                s.write_all(&frame(0x88, &1000u16.to_be_bytes())).unwrap();
                s
            }),
        ];
        for (stage, open) in stages {
            let stream = open(running.addr);
            let peer = stream.local_addr().unwrap();
            std::thread::sleep(Duration::from_millis(20));
            reset(stream);
            let end = running.end_of(peer);
            if let Some(report) = end
                .report
                .as_ref()
                .filter(|_| stage != "during the close handshake")
            {
                assert!(!report.clean, "{server:?} {stage}: {report:?}");
            }
            running.assert_serving();
        }
    }
}

#[test]
fn half_close_ends_the_connection_without_a_hang() {
    for server in SERVERS {
        let running = Running::start(server, adapter::big_config());
        let mut s = open_raw(running.addr);
        let peer = s.local_addr().unwrap();
        s.write_all(&frame(0x81, b"echo me")).unwrap();
        // Read the echo first so the order of events is fixed, then half-close.
        let mut echo = [0u8; 9];
        s.read_exact(&mut echo).unwrap();
        assert_eq!(&echo, b"\x81\x07echo me");
        s.shutdown(Shutdown::Write).unwrap();
        // The server treats EOF without a Close as the end (1006) and closes its side.
        let end = running.end_of(peer);
        let report = end.report.expect("a close report");
        assert!(!report.clean, "{server:?}: {report:?}");
        assert_eq!(report.code(), wsmachine::CloseCode::ABNORMAL);
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(
            rest.len() < 64,
            "{server:?}: nothing but maybe a Close after EOF"
        );
        running.assert_serving();
    }
}

#[test]
fn a_peer_that_reads_nothing_meets_the_send_queue_limit() {
    const QUEUE: usize = 2 << 20;
    const MESSAGE: usize = 256 << 10;
    const TOTAL: usize = 256 << 20;
    for server in SERVERS {
        let config = Config {
            limits: Limits {
                max_send_queue: QUEUE,
                ..adapter::big_config().limits
            },
            ..Config::default()
        };
        let running = Running::start(server, config);
        let s = open_raw(running.addr);
        let peer = s.local_addr().unwrap();
        s.set_nonblocking(true).unwrap();
        let one = frame(0x82, &vec![0xab; MESSAGE]);
        // Write until the server stops taking bytes (or closes), never reading.
        let mut written = 0usize;
        let mut stalled_since = Instant::now();
        let mut at = 0;
        let mut writer = &s;
        while written < TOTAL && stalled_since.elapsed() < Duration::from_millis(1500) {
            match writer.write(&one[at..]) {
                Ok(n) => {
                    written += n;
                    at = (at + n) % one.len();
                    stalled_since = Instant::now();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(_) => break,
            }
        }
        eprintln!(
            "{server:?}: took {written} bytes from a client that reads nothing, then stalled"
        );
        // The server held at most its send queue plus what sockets and channels buffer,
        // not the 256 MiB the client tried to push.
        assert!(
            written < 96 << 20,
            "{server:?}: the server took {written} bytes without the client reading"
        );
        s.set_nonblocking(false).unwrap();
        // Now read: whatever was echoed arrives whole and in order (or the server ended the
        // connection with a policy close because the reader was too slow).
        let mut reader = &s;
        let mut buf = vec![0u8; 1 << 20];
        let mut got = 0usize;
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(_) => break,
            }
        }
        assert!(got > 0, "{server:?}: some echo came back");
        reset(s);
        let end = running.end_of(peer);
        assert!(end.report.is_some(), "{server:?}: {end:?}");
        running.assert_serving();
    }
}

#[test]
fn slow_loris_handshake_is_closed_by_the_handshake_timeout() {
    for server in SERVERS {
        let timeout = Duration::from_millis(2500);
        let config = Config {
            timers: Timers {
                handshake_timeout: Some(timeout),
                ..Timers::default()
            },
            ..adapter::big_config()
        };
        let running = Running::start(server, config);
        let mut s = TcpStream::connect(running.addr).unwrap();
        let peer = s.local_addr().unwrap();
        let req = request(running.addr);
        let started = Instant::now();
        let mut closed = false;
        // One byte a second.
        for b in req.iter().take(10) {
            if s.write_all(&[*b]).is_err() {
                closed = true;
                break;
            }
            s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                Ok(_) => {
                    closed = true;
                    break;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        let elapsed = started.elapsed();
        assert!(closed, "{server:?}: still open after {elapsed:?}");
        assert!(
            elapsed >= timeout - Duration::from_millis(100),
            "{server:?}: closed early at {elapsed:?}"
        );
        let end = running.end_of(peer);
        let error = end.error.unwrap_or_default();
        assert!(
            error.contains("Handshake") || error.contains("Timeout"),
            "{server:?}: {error}"
        );
        running.assert_serving();
    }
}
