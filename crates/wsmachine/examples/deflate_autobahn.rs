//! The core with permessage-deflate, driven by hand over blocking std sockets (no adapter),
//! for Autobahn|Testsuite's compression sections (12.*, 13.*):
//!
//! ```sh
//! cargo run --release -p wsmachine --features deflate --example deflate_autobahn -- server 127.0.0.1:9002
//! cargo run --release -p wsmachine --features deflate --example deflate_autobahn -- client ws://127.0.0.1:9001 core-client
//! ```
//!
//! `server`: an echo server (one thread per connection) that accepts the client's first
//! acceptable permessage-deflate offer, for `wstest -m fuzzingclient`. `client`: runs every
//! case of a `wstest -m fuzzingserver` (`/getCaseCount`, `/runCase`, `/updateReports`),
//! echoing, and offering permessage-deflate. Both echo each message with its kind, compressed
//! when at least `DeflateConfig::threshold` bytes. Dev-only: how an adapter drives the
//! extension is `Config::deflate` and nothing else.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use wsmachine::{
    Accept, ClientRequest, Config, Connection, DeflateConfig, Event, Limits, Message, Timestamp,
};

fn config() -> Config {
    Config {
        limits: Limits {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
            max_send_queue: 256 << 20,
            ..Limits::default()
        },
        deflate: Some(DeflateConfig::default()),
        ..Config::default()
    }
}

/// Drives `conn` over `sock` until it is closed and written out (and the peer is drained),
/// echoing every message. Returns the last text message received, if any.
fn run(mut conn: Connection, mut sock: TcpStream, echo: bool) -> Option<String> {
    let origin = Instant::now();
    sock.set_read_timeout(Some(Duration::from_millis(10)))
        .ok()?;
    sock.set_nodelay(true).ok()?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut out = Vec::new();
    let mut last_text = None;
    let mut shut = false;
    loop {
        let now = Timestamp::from_duration(origin.elapsed());
        while let Some(e) = conn.poll_event() {
            match e {
                Event::Request(_) => {
                    let _ = conn.accept(now, &Accept::default());
                }
                Event::Message(m) => {
                    if let Message::Text(t) = &m {
                        last_text = Some(t.to_string());
                    }
                    if echo {
                        let _ = conn.send(m);
                    }
                }
                _ => {}
            }
        }
        while conn.pending_transmit() > 0 {
            out.clear();
            conn.write_transmit_to(&mut out, 1 << 20);
            if sock.write_all(&out).is_err() {
                conn.handle_write_closed();
                break;
            }
        }
        if conn.should_close_transport() {
            return last_text;
        }
        if conn.is_closed() && conn.pending_transmit() == 0 && !shut {
            let _ = sock.shutdown(std::net::Shutdown::Write);
            shut = true;
        }
        if !conn.wants_input() {
            std::thread::sleep(Duration::from_millis(1));
            conn.handle_timeout(Timestamp::from_duration(origin.elapsed()));
            if conn.is_closed() && !conn.wants_input() {
                return last_text;
            }
            continue;
        }
        match sock.read(&mut buf) {
            Ok(0) => {
                conn.handle_eof();
            }
            Ok(n) => {
                conn.handle_input(now, &buf[..n]);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                conn.handle_timeout(now);
            }
            Err(_) => {
                conn.handle_reset();
            }
        }
    }
}

fn client(url: &str, path: &str, echo: bool) -> Option<String> {
    let request = ClientRequest::new(&format!("{url}{path}")).ok()?;
    let sock = TcpStream::connect((request.host(), request.port())).ok()?;
    let conn = Connection::client(&request, config(), Timestamp::ZERO).ok()?;
    run(conn, sock, echo)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["server", addr] => {
            let listener = TcpListener::bind(addr).expect("bind");
            println!("listening on {addr}");
            for sock in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let conn = Connection::server(config(), Timestamp::ZERO);
                    run(conn, sock, true);
                });
            }
        }
        ["client", url, agent] => {
            let count: usize = client(url, "/getCaseCount", false)
                .and_then(|t| t.trim().parse().ok())
                .expect("case count");
            for case in 1..=count {
                client(url, &format!("/runCase?case={case}&agent={agent}"), true);
            }
            client(url, &format!("/updateReports?agent={agent}"), false);
            println!("ran {count} cases");
        }
        _ => eprintln!("usage: deflate_autobahn server ADDR | client URL AGENT"),
    }
}
