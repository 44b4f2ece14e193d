//! An arbitrary sequence of operations replayed against one handshake-free connection of
//! either role: input (raw, real traffic, and valid frames built from fuzzed fields), EOF,
//! reset, write shut, every send, the clock, partial and full writes, event polls.
//!
//! Input layout: `[pool_len: u16 LE][setup + ops, parsed with arbitrary][pool]`, where
//! `pool` is the last `pool_len` bytes: real traffic that `FeedPool` ops take from in order.
//! Whatever is left of the pool at the end is fed before the final EOF.
#![no_main]
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use wsmachine::{CloseCode, Connection, MessageKind, Role, Timestamp};
use wsmachine_fuzz::{FrameSpec, FuzzConfig, Watched, rng};

#[derive(Debug, Arbitrary)]
struct Setup {
    client: bool,
    config: FuzzConfig,
    seed: u64,
}

#[derive(Debug, Arbitrary)]
enum Op {
    /// `len` bytes of the pool, in reads of `chunk & 127` bytes (at least 1); with
    /// `chunk`'s high bit set, read in place as the adapters do (`read_limit`, then
    /// alternately `input_buffer` or `read_input`, then `handle_input_appended`),
    /// `chunk & 127` being the usual read size.
    FeedPool {
        len: u16,
        chunk: u8,
    },
    FeedBytes(Vec<u8>),
    FeedOwned(Vec<u8>),
    FeedFrame(FrameSpec),
    /// Several valid frames in one read, split at a fuzzed point.
    FeedFrames {
        frames: Vec<FrameSpec>,
        split: u16,
    },
    Eof,
    Reset,
    WriteShut,
    SendText(String),
    SendBinary(Vec<u8>),
    SendBig {
        text: bool,
        len: u16,
        byte: u8,
    },
    SendFragment {
        text: bool,
        data: Vec<u8>,
        last: bool,
    },
    SendFragmentText {
        data: String,
        last: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// The same command `n` times in a row with a `len`-byte payload, nothing written between.
    Burst {
        what: Burst,
        n: u8,
        len: u8,
    },
    Close {
        code: u16,
        reason: String,
    },
    CloseNamed {
        which: u8,
        reason: String,
    },
    Advance {
        ms: u32,
    },
    AdvanceToDeadline,
    Transmit(u16),
    TransmitAll,
    PollTransmit,
    PollEvents(u8),
    PollAllEvents,
    TransmitIo(u16),
}

#[derive(Debug, Arbitrary)]
enum Burst {
    Ping,
    Pong,
    Text,
    Binary,
}

/// `WSFUZZ_DEBUG=1` prints the decoded setup and operations (for reading a crash).
fn debug() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("WSFUZZ_DEBUG").is_some())
}

fn run(data: &[u8]) -> Option<()> {
    let (head, rest) = data.split_at_checked(2)?;
    let pool_len = usize::from(u16::from_le_bytes([head[0], head[1]])).min(rest.len());
    let (ops_bytes, mut pool) = rest.split_at(rest.len() - pool_len);
    let mut u = Unstructured::new(ops_bytes);
    let setup = Setup::arbitrary(&mut u).ok()?;
    let config = setup.config.build();
    if debug() {
        eprintln!("setup: {setup:?}");
    }
    let role = if setup.client {
        Role::Client
    } else {
        Role::Server
    };
    let conn = Connection::open_with_random(role, config, Timestamp::ZERO, rng(setup.seed));
    let mut w = Watched::new(conn, Timestamp::ZERO);
    w.write_transcript(None);
    w.queue_limit = Some(config.limits.max_send_queue);
    let peer = role.peer();
    let mut steps = 0;
    while !u.is_empty() && steps < 512 {
        steps += 1;
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        if debug() {
            eprintln!("op: {op:?} (pending {})", w.conn.pending_transmit());
        }
        match op {
            Op::FeedPool { len, chunk } => {
                let n = usize::from(len).min(pool.len());
                let (mut now, later) = pool.split_at(n);
                pool = later;
                let usual = usize::from(chunk & 127).max(1);
                if chunk & 128 == 0 {
                    for c in now.chunks(usual) {
                        w.feed(c);
                        w.drain_events();
                    }
                    now = &[];
                }
                // Alternately appended to `input_buffer` and filled through `read_input`.
                let mut lend = len & 1 == 1;
                while !now.is_empty() {
                    let limit = w.conn.read_limit();
                    // Room for what `read_limit` allows, else for the usual read.
                    let room = limit.unwrap_or(usual);
                    let take = if lend {
                        let src = now;
                        let n = w.conn.read_input(room, |spare| {
                            assert_eq!(spare.len(), room, "lent {} of {room}", spare.len());
                            let n = spare.len().min(src.len());
                            Ok::<_, ()>(spare[..n].write_copy_of_slice(&src[..n]))
                        });
                        n.expect("the reader never fails")
                    } else {
                        let buf = w.conn.input_buffer(usual);
                        let spare = buf.capacity() - buf.len();
                        assert!(spare >= room, "room for {room} ({limit:?}), {spare} spare");
                        let take = room.min(now.len()).max(1);
                        buf.extend_from_slice(&now[..take]);
                        take
                    };
                    assert!(take > 0);
                    now = &now[take..];
                    lend = !lend;
                    w.conn.handle_input_appended(w.now);
                    w.check();
                    w.drain_events();
                }
            }
            Op::FeedBytes(b) => w.feed(&b),
            Op::FeedOwned(b) => {
                w.conn
                    .handle_input_owned(w.now, bytes::BytesMut::from(&b[..]));
                w.check();
            }
            Op::FeedFrame(f) => w.feed(&f.encode(peer)),
            Op::FeedFrames { frames, split } => {
                let all: Vec<u8> = frames.iter().flat_map(|f| f.encode(peer)).collect();
                let at = usize::from(split).min(all.len());
                w.feed(&all[..at]);
                w.drain_events();
                w.feed(&all[at..]);
            }
            Op::Eof => {
                w.conn.handle_eof();
            }
            Op::Reset => {
                w.conn.handle_reset();
                w.killed = true;
            }
            Op::WriteShut => {
                w.conn.handle_write_closed();
                w.killed = true;
            }
            Op::SendText(s) => {
                let _ = w.conn.send_text(s);
            }
            Op::SendBinary(b) => {
                let _ = w.conn.send_binary(b);
            }
            Op::SendBig { text, len, byte } => {
                let n = usize::from(len) * 4;
                let r = if text {
                    w.conn.send_text("a".repeat(n))
                } else {
                    w.conn.send_binary(vec![byte; n])
                };
                let _ = r;
            }
            Op::SendFragment { text, data, last } => {
                let kind = if text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                let _ = w.conn.send_fragment(kind, Bytes::from(data), last);
            }
            Op::SendFragmentText { data, last } => {
                let _ = w
                    .conn
                    .send_fragment(MessageKind::Text, Bytes::from(data), last);
            }
            Op::Ping(p) => {
                let _ = w.conn.ping(Bytes::from(p));
            }
            Op::Pong(p) => {
                let _ = w.conn.pong(Bytes::from(p));
            }
            Op::Burst { what, n, len } => {
                let payload = Bytes::from(vec![b'p'; usize::from(len)]);
                for _ in 0..n {
                    let _ = match what {
                        Burst::Ping => w.conn.ping(payload.clone()),
                        Burst::Pong => w.conn.pong(payload.clone()),
                        Burst::Text => w
                            .conn
                            .send_text(String::from_utf8(payload.to_vec()).unwrap()),
                        Burst::Binary => w.conn.send_binary(payload.clone()),
                    };
                    w.check();
                }
            }
            Op::Close { code, reason } => {
                let r = w.conn.close(w.now, CloseCode(code), &reason);
                if r.is_ok() {
                    assert!(
                        CloseCode(code).is_sendable(),
                        "close accepted unsendable {code}"
                    );
                }
            }
            Op::CloseNamed { which, reason } => {
                let code = [1000, 1001, 1003, 1008, 1011, 3000, 4999][usize::from(which) % 7];
                let _ = w.conn.close(w.now, CloseCode(code), &reason);
            }
            Op::Advance { ms } => w.advance_time(Duration::from_millis(u64::from(ms % 200_000))),
            Op::AdvanceToDeadline => {
                if let Some(t) = w.conn.poll_timeout() {
                    let t = t.max(w.now);
                    w.now = t;
                    w.conn.handle_timeout(t);
                }
            }
            Op::Transmit(n) => w.out.drain_some(&mut w.conn, usize::from(n)),
            Op::TransmitAll => w.out.drain_all(&mut w.conn),
            Op::TransmitIo(n) => w.out.drain_io(&mut w.conn, usize::from(n)),
            Op::PollTransmit => {
                if let Some(c) = w.conn.poll_transmit() {
                    w.out.push(&c);
                }
            }
            Op::PollEvents(n) => {
                let evs = w.ev.drain(&mut w.conn, usize::from(n % 8));
                let _ = evs;
            }
            Op::PollAllEvents => {
                w.drain_events();
            }
        }
        w.check();
    }
    if !pool.is_empty() {
        w.feed(pool);
    }
    w.drain_events();
    w.out.drain_all(&mut w.conn);
    w.finish_with_eof();
    Some(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
