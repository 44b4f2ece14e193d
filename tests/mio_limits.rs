//! The mio server's limits: memory per connection stays under the documented bound when a
//! client sends without reading, the connection cap refuses one connection too many, an
//! absolute-form request target is accepted, and the replies to the messages of one read
//! go out together, not one write per message.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wsmachine::{CloseCode, Config, Limits, Message};
use wsmachine_mio::{ConnId, Event, READ_MAX, Server, ServerOptions};

/// A hang guard only: every wait below ends long before this when the code is right.
const T: Duration = Duration::from_secs(60);

/// What the echo loop tells the test.
#[derive(Debug)]
enum Note {
    Accepted(ConnId, String),
    Closed(ConnId),
}

/// Runs an echo loop over `server` on a thread until `stop`; `watch` sees the server, the
/// id of the last connection with an event and the number of messages delivered so far,
/// after every `next_event` call. Returns the server when stopped.
fn spawn_echo(
    mut server: Server,
    notes: Sender<Note>,
    mut watch: impl FnMut(&Server, Option<ConnId>, u64) + Send + 'static,
) -> (SocketAddr, Arc<AtomicBool>, JoinHandle<Server>) {
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        let mut last = None;
        let mut messages = 0;
        while !stop2.load(Ordering::Relaxed) {
            let next = server.next_event(Some(Duration::from_millis(20))).unwrap();
            if let Some((id, ev)) = next {
                last = Some(id);
                match ev {
                    Event::Accepted(req) => drop(notes.send(Note::Accepted(id, req.path))),
                    Event::Message(m) => {
                        messages += 1;
                        // QueueFull drops the echo: the memory test looks at memory only.
                        let _ = server.send(id, m);
                    }
                    Event::Closed(_) => drop(notes.send(Note::Closed(id))),
                    _ => {}
                }
            }
            watch(&server, last, messages);
        }
        server
    });
    (addr, stop, thread)
}

const KEY_REQUEST: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Sends `request` and reads the response head.
fn raw_handshake(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!("response cut short ({other:?}): {head:?}"),
        }
    }
    String::from_utf8(head).unwrap()
}

/// A masked binary frame header (mask key zero, so the payload goes as is).
fn binary_header(len: usize) -> Vec<u8> {
    let mut h = vec![0x82, 0x80 | 127];
    h.extend_from_slice(&(len as u64).to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0]);
    h
}

/// A client sends 512 KiB messages back to back and never reads. The server echoes them
/// until its output passes half of `max_send_queue`, then stops reading; the bytes the
/// connection holds (input read and not yet delivered, from the adapter's byte counter, plus
/// the core's unwritten output) stay under the bound `MioConnection` documents, however much
/// the client tries to send.
#[test]
fn mio_server_memory_stays_bounded_when_client_never_reads() {
    const PAYLOAD: usize = 512 << 10;
    const TOTAL: usize = 64 << 20;
    let limits = Limits {
        max_frame_size: 1 << 20,
        max_message_size: 1 << 20,
        max_send_queue: 4 << 20,
        input_high_water: 64 << 10,
        ..Limits::default()
    };
    let bound = limits.input_high_water
        + limits.max_frame_size as usize
        + READ_MAX
        + limits.max_message_size as usize
        + limits.max_send_queue
        + limits.max_pong_backlog
        + 1024;
    let opts = ServerOptions {
        config: Config {
            limits,
            ..Config::default()
        },
        ..ServerOptions::default()
    };
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), opts).unwrap();
    let request = format!("GET /flood HTTP/1.1\r\nHost: localhost\r\n{KEY_REQUEST}");
    let request_len = request.len() as u64;

    // Sampled after every event: the most bytes held, and whether reading paused.
    let (paused_tx, paused) = channel();
    let max_held = Arc::new(std::sync::Mutex::new((0u64, 0u64)));
    let max2 = Arc::clone(&max_held);
    let mut reported = false;
    let (notes_tx, _notes) = channel();
    let (addr, stop, thread) = spawn_echo(server, notes_tx, move |server, id, messages| {
        let Some(c) = id.and_then(|id| server.mio_connection(id)) else {
            return;
        };
        // Input read and not yet delivered: every byte read, less the request and the
        // frames delivered (one frame of 14 header bytes + payload per message).
        let consumed = request_len + messages * (PAYLOAD as u64 + 14);
        let input = c.bytes_read().saturating_sub(consumed);
        let conn = c.connection();
        let output = conn.pending_transmit() as u64;
        let mut m = max2.lock().unwrap();
        m.0 = m.0.max(input + output);
        m.1 = m.1.max(output);
        if !reported && !conn.wants_input() && output > (limits.max_send_queue / 2) as u64 {
            reported = true;
            let _ = paused_tx.send(());
        }
    });

    let mut stream = TcpStream::connect(addr).unwrap();
    let head = raw_handshake(&mut stream, &request);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // The writer stops at the first write that makes no progress for 2 s: the server is
    // not reading. (A server that kept reading would take all 64 MiB and fail below.)
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let header = binary_header(PAYLOAD);
    let payload = vec![0x5a; PAYLOAD];
    let mut written = 0usize;
    while written < TOTAL {
        if stream.write_all(&header).is_err() || stream.write_all(&payload).is_err() {
            break;
        }
        written += PAYLOAD;
    }
    stop.store(true, Ordering::Relaxed);
    let server = thread.join().unwrap();
    let _ = stream.shutdown(Shutdown::Both);
    assert!(
        paused.try_recv().is_ok(),
        "the server never paused reading for a client that does not read"
    );
    let (held, output) = *max_held.lock().unwrap();
    println!(
        "client wrote {written} bytes; server held at most {held} bytes ({output} output); bound {bound}"
    );
    assert!(
        written < TOTAL,
        "the client wrote everything: nothing held it back"
    );
    assert!(
        held <= bound as u64,
        "held {held} bytes, over the bound of {bound}"
    );
    drop(server);
}

/// With `max_connections` 2, a third connection is accepted and closed at once (its
/// handshake fails), counted in `Server::refused`; once one of the two has closed, a new
/// connection is served again.
#[test]
fn mio_server_cap_refuses_the_connection_past_it() {
    let opts = ServerOptions {
        max_connections: 2,
        ..ServerOptions::default()
    };
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), opts).unwrap();
    let (notes_tx, notes) = channel();
    let (addr, stop, thread) = spawn_echo(server, notes_tx, |_, _, _| {});
    let url = format!("ws://{addr}/");
    let accepted = || match notes.recv_timeout(T) {
        Ok(Note::Accepted(id, _)) => id,
        other => panic!("expected an accepted connection, got {other:?}"),
    };
    let echo = |ws: &mut wsmachine_std::WebSocket<wsmachine_std::MaybeTlsStream>, text: &str| {
        ws.send_text(text.to_string()).unwrap();
        assert_eq!(ws.recv().unwrap(), Message::text(text.to_string()));
    };

    let (mut first, _) = wsmachine_std::connect(&url).unwrap();
    let first_id = accepted();
    let (mut second, _) = wsmachine_std::connect(&url).unwrap();
    accepted();
    echo(&mut first, "one");
    echo(&mut second, "two");

    let third = wsmachine_std::connect(&url);
    assert!(third.is_err(), "a third connection was served past the cap");

    assert!(first.close(CloseCode::NORMAL, "").unwrap().clean);
    match notes.recv_timeout(T) {
        Ok(Note::Closed(id)) => assert_eq!(id, first_id),
        other => panic!("expected the first connection's end, got {other:?}"),
    }
    let (mut fourth, _) = wsmachine_std::connect(&url).unwrap();
    accepted();
    echo(&mut fourth, "four");
    echo(&mut second, "still two");

    stop.store(true, Ordering::Relaxed);
    let server = thread.join().unwrap();
    assert_eq!(server.refused(), 1);
}

/// An absolute-form request target (`GET http://host:port/path HTTP/1.1`, RFC 9112 3.2.2) is
/// accepted; the application sees its path.
#[test]
fn mio_server_accepts_an_absolute_form_request_target() {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), ServerOptions::default()).unwrap();
    let (notes_tx, notes) = channel();
    let (addr, stop, thread) = spawn_echo(server, notes_tx, |_, _, _| {});
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = format!("GET http://{addr}/path?q=1 HTTP/1.1\r\nHost: {addr}\r\n{KEY_REQUEST}");
    let head = raw_handshake(&mut stream, &request);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    match notes.recv_timeout(T) {
        Ok(Note::Accepted(_, path)) => assert_eq!(path, "/path"),
        other => panic!("expected the request to be accepted, got {other:?}"),
    }
    // A masked text frame (zero key) comes back unmasked.
    stream
        .write_all(&[0x81, 0x82, 0, 0, 0, 0, b'h', b'i'])
        .unwrap();
    let mut echo = [0u8; 4];
    stream.read_exact(&mut echo).unwrap();
    assert_eq!(echo, [0x81, 0x02, b'h', b'i']);
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
}

/// Output is batched: 80 connections (more than the 64 events the server hands out between
/// two I/O turns) each send their upgrade request and 8 messages in one write. Each
/// connection's replies are written once its events run out, so the handshake responses and
/// the 640 echoes take about one write per connection; writing after every event handed out
/// (as before) took one write per message here.
#[test]
fn mio_server_writes_the_replies_to_one_read_together() {
    const CONNS: usize = 80;
    const MSGS: usize = 8;
    let mut server =
        Server::bind("127.0.0.1:0".parse().unwrap(), ServerOptions::default()).unwrap();
    let addr = server.local_addr();
    let mut clients = Vec::new();
    for i in 0..CONNS {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut bytes =
            format!("GET /batch HTTP/1.1\r\nHost: localhost\r\n{KEY_REQUEST}").into_bytes();
        for j in 0..MSGS {
            bytes.extend(wsmachine_test_support::c2s(
                0x82,
                format!("{i}:{j}").as_bytes(),
            ));
        }
        s.write_all(&bytes).unwrap();
        clients.push(s);
    }
    let mut ids = Vec::new();
    let mut echoed = 0;
    let end = Instant::now() + T;
    while echoed < CONNS * MSGS {
        assert!(Instant::now() < end, "only {echoed} messages echoed");
        let Some((id, ev)) = server.next_event(Some(Duration::from_millis(20))).unwrap() else {
            continue;
        };
        match ev {
            Event::Accepted(_) => ids.push(id),
            Event::Message(m) => {
                server.send(id, m).unwrap();
                echoed += 1;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    server.flush();
    for (i, c) in clients.iter_mut().enumerate() {
        let head = {
            c.set_read_timeout(Some(T)).unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                c.read_exact(&mut byte).unwrap();
                head.push(byte[0]);
            }
            String::from_utf8(head).unwrap()
        };
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        for j in 0..MSGS {
            let want = wsmachine_test_support::s2c(0x82, format!("{i}:{j}").as_bytes());
            let mut got = vec![0u8; want.len()];
            c.read_exact(&mut got).unwrap();
            assert_eq!(got, want, "connection {i}, message {j}");
        }
    }
    assert_eq!(ids.len(), CONNS);
    let writes: u64 = ids
        .iter()
        .map(|id| server.mio_connection(*id).unwrap().writes())
        .sum();
    // About CONNS; a read split in two would add a write or two, never one per message.
    assert!(
        writes < (CONNS * MSGS / 2) as u64,
        "{writes} writes for {CONNS} responses and {} echoes",
        CONNS * MSGS
    );
    eprintln!(
        "{writes} writes for {CONNS} responses and {} echoes",
        CONNS * MSGS
    );
}
