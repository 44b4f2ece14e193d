//! The std server's memory per connection stays under the bound its configuration sets (see
//! the `wsmachine_std` crate documentation) when a client sends large messages and never
//! reads the echoes. Alone in its test binary, so that the process's resident memory is the
//! server's (and this client's, allocated before the baseline).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::channel;
use std::time::Duration;

use wsmachine::{CloseCode, Config, Limits};
use wsmachine_examples::std_echo;
use wsmachine_std::{Options, ServerBuilder};

const MIB: usize = 1 << 20;

/// The process's resident set size, in bytes (Linux).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    let kib: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

/// A masked binary frame of `len` bytes (one message).
fn big_frame(len: usize) -> Vec<u8> {
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut out = vec![0x82, 0x80 | 127];
    out.extend_from_slice(&(len as u64).to_be_bytes());
    out.extend_from_slice(&key);
    out.extend((0..len).map(|i| (i as u8) ^ key[i % 4]));
    out
}

#[test]
fn a_client_that_sends_large_messages_and_never_reads_leaves_the_server_under_its_bound() {
    const MESSAGE: usize = MIB;
    const ATTEMPT: usize = 256; // messages: 256 MiB offered
    let limits = Limits {
        max_frame_size: MESSAGE as u64,
        max_message_size: MESSAGE as u64,
        max_send_queue: 4 * MIB,
        ..Limits::default()
    };
    let options = Options {
        config: Config {
            limits,
            ..Config::default()
        },
        ..Options::default()
    };
    // The bound per connection, as documented: input (one read past the high-water mark),
    // the message being assembled, output, and the adapter's read buffer.
    let bound = limits.input_high_water
        + limits.max_frame_size as usize
        + options.read_buffer_size
        + limits.max_message_size as usize
        + limits.max_send_queue
        + limits.max_pong_backlog
        + options.read_buffer_size;

    let (tx, ends) = channel();
    let addr = std_echo::spawn(
        "127.0.0.1:0",
        ServerBuilder::new().options(options),
        move |e| {
            let _ = tx.send(e);
        },
    )
    .unwrap();

    let frame = big_frame(MESSAGE);
    let mut s = TcpStream::connect(addr).unwrap();
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    let before = rss();

    // Write messages, never reading, until the server stops taking bytes (a write makes no
    // progress for 2 s) or all 256 MiB are in.
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut written = 0usize;
    'offer: for _ in 0..ATTEMPT {
        let mut at = 0;
        while at < frame.len() {
            match s.write(&frame[at..]) {
                Ok(n) => {
                    at += n;
                    written += n;
                }
                Err(_) => break 'offer,
            }
        }
    }
    let after = rss();
    let growth = after.saturating_sub(before);
    eprintln!(
        "offered {} MiB, the server took about {} MiB; RSS grew {} KiB (bound {} KiB)",
        ATTEMPT * MESSAGE / MIB,
        written / MIB,
        growth / 1024,
        bound / 1024
    );
    // The server stopped reading: what it took is its bound plus what the sockets buffer.
    assert!(
        written < 64 * MIB,
        "the server took {written} bytes from a client that reads nothing"
    );
    // And it holds no more than its bound (plus allocator and thread overhead).
    assert!(
        growth < bound + 8 * MIB,
        "RSS grew {growth} bytes, over the bound of {bound} bytes"
    );

    // The client goes away with a reset: the server's blocked write fails and the
    // connection ends (1006).
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
    let end = ends
        .recv_timeout(Duration::from_secs(20))
        .expect("the server reports the end");
    let report = end.report.expect("a close report");
    assert!(!report.clean, "{report:?}");
    assert_eq!(report.code(), CloseCode::ABNORMAL);
}
