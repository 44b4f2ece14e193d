//! permessage-deflate memory, counted with a global allocator wrapper (this test binary
//! only): what a compressor and a decompressor hold per connection for each window size and
//! memory level, that no context takeover frees them between messages, and the bomb: a
//! message of about 1 MiB that would inflate to 1 GiB costs at most the message limit and
//! fails with 1009. Run with `--nocapture` to see the table the `deflate` module documents.
#![cfg(feature = "deflate")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use wsmachine::random::SeededRandom;
use wsmachine::{
    CloseCode, Config, Connection, ConnectionError, DeflateConfig, DeflateParams, Event, Limits,
    ProtocolError, ReceiveMode, Role, Timestamp,
};
use wsmachine_test_support::c2s;

struct Counting;

static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
/// The counters are global: the tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn add(n: isize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn current() -> isize {
    CURRENT.load(Ordering::Relaxed)
}

/// Resets the peak to the current level; returns that level.
fn reset_peak() -> isize {
    let now = current();
    PEAK.store(now, Ordering::Relaxed);
    now
}

fn open(role: Role, config: Config) -> Connection {
    Connection::open_with_random(
        role,
        config,
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(3)),
    )
}

fn drain_output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    conn.write_transmit_to(&mut out, usize::MAX);
    out
}

/// The payload of the single frame in `wire` (a server's frames are not masked).
fn server_payload(wire: &[u8]) -> Vec<u8> {
    let (h, n) = wsmachine::frame::FrameHeader::decode(wire)
        .unwrap()
        .unwrap();
    wire[n..n + h.payload_len as usize].to_vec()
}

fn text(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"n\":{i},\"v\":\"x{}\"}},", i * 7 % 13))
        .collect()
}

/// Bytes a server holds after compressing one message with `settings` (a compressor with
/// context takeover), and after a second with no context takeover.
fn compressor_bytes(bits: u8, memory_level: u8) -> (isize, isize) {
    let settings = DeflateConfig {
        memory_level,
        threshold: 0,
        ..DeflateConfig::default()
    };
    let params = DeflateParams {
        server_max_window_bits: Some(bits),
        ..DeflateParams::default()
    };
    let msg = text(20);
    let mut s = open(Role::Server, Config::default());
    s.use_deflate(params, settings);
    // Warm up the transmit path with a plain message.
    s.send_uncompressed(wsmachine::Message::text(msg.clone()))
        .unwrap();
    drain_output(&mut s);
    let before = current();
    s.send_text(msg.clone()).unwrap();
    drain_output(&mut s);
    let kept = current() - before;

    let mut s = open(Role::Server, Config::default());
    s.use_deflate(
        DeflateParams {
            server_no_context_takeover: true,
            ..params
        },
        settings,
    );
    s.send_uncompressed(wsmachine::Message::text(msg.clone()))
        .unwrap();
    drain_output(&mut s);
    let before = current();
    s.send_text(msg).unwrap();
    drain_output(&mut s);
    (kept, current() - before)
}

/// Bytes a server holds after inflating one message from a client compressing with `bits`,
/// with context takeover, and with the client's no context takeover.
fn decompressor_bytes(bits: u8) -> (isize, isize) {
    let msg = text(20);
    let mut results = [0isize; 2];
    for (i, nct) in [false, true].into_iter().enumerate() {
        let params = DeflateParams {
            client_max_window_bits: Some(bits),
            client_no_context_takeover: nct,
            ..DeflateParams::default()
        };
        let settings = DeflateConfig {
            threshold: 0,
            ..DeflateConfig::default()
        };
        let mut c = open(Role::Client, Config::default());
        c.use_deflate(params, settings);
        c.send_text(msg.clone()).unwrap();
        let wire = drain_output(&mut c);
        let mut s = open(Role::Server, Config::default());
        s.use_deflate(params, settings);
        // Warm up the receive path with a plain message of the same size.
        s.handle_input(Timestamp::ZERO, &c2s(0x81, msg.as_bytes()));
        assert!(matches!(s.poll_event(), Some(Event::Message(_))));
        let before = current();
        s.handle_input(Timestamp::ZERO, &wire);
        let Some(Event::Message(m)) = s.poll_event() else {
            panic!("no message")
        };
        assert_eq!(m.payload().len(), msg.len());
        drop(m);
        results[i] = current() - before;
    }
    (results[0], results[1])
}

#[test]
fn per_connection_state_by_window_and_memory_level() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    println!("| state | window bits | memory level | bytes kept | no context takeover |");
    let mut sizes = Vec::new();
    for (bits, mem) in [(15, 8), (15, 9), (12, 5), (10, 4), (9, 1), (8, 8)] {
        let (kept, freed) = compressor_bytes(bits, mem);
        println!("| compressor | {bits} | {mem} | {kept} | {freed} |");
        assert!(freed < 1024, "no context takeover keeps {freed} bytes");
        sizes.push((bits, mem, kept));
    }
    // Smaller windows and memory levels hold less.
    let of = |b, m| sizes.iter().find(|s| s.0 == b && s.1 == m).unwrap().2;
    assert!(of(12, 5) < of(15, 8) && of(9, 1) < of(12, 5), "{sizes:?}");
    assert!(of(15, 8) < 512 << 10, "{sizes:?}");
    for bits in [15, 12, 9] {
        let (kept, freed) = decompressor_bytes(bits);
        println!("| decompressor | {bits} | - | {kept} | {freed} |");
        assert!(kept > 0 && kept < 64 << 10, "{kept}");
        assert!(freed < 1024, "no context takeover keeps {freed} bytes");
    }
}

#[test]
fn a_connection_that_compresses_nothing_holds_no_deflate_state() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = open(Role::Server, Config::default());
    let before = current();
    s.use_deflate(DeflateParams::default(), DeflateConfig::default());
    s.send_text("below the threshold").unwrap();
    drain_output(&mut s);
    s.handle_input(Timestamp::ZERO, &c2s(0x81, b"plain"));
    assert!(matches!(s.poll_event(), Some(Event::Message(_))));
    let held = current() - before;
    assert!(held < 1024, "{held} bytes");
}

/// A compressed message of about 1 MiB that inflates to 1 GiB of zeros: the first
/// MiB compressed with a fresh context, then the second MiB (which refers only to zeros
/// before it) repeated, each part ending on a sync flush.
fn bomb() -> Vec<u8> {
    let mut c = open(Role::Server, Config::default());
    c.use_deflate(
        DeflateParams::default(),
        DeflateConfig {
            level: 9,
            threshold: 0,
            ..DeflateConfig::default()
        },
    );
    let zeros = vec![0u8; 1 << 20];
    c.send_binary(zeros.clone()).unwrap();
    let first = server_payload(&drain_output(&mut c));
    c.send_binary(zeros).unwrap();
    let next = server_payload(&drain_output(&mut c));
    let trailer = [0u8, 0, 0xff, 0xff];
    let mut msg = first;
    for _ in 1..1024 {
        msg.extend_from_slice(&trailer);
        msg.extend_from_slice(&next);
    }
    msg
}

#[test]
fn the_bomb_costs_at_most_the_limit_and_fails_with_1009() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let bomb = bomb();
    let wire = c2s(0xc2, &bomb);
    println!("bomb: {} bytes on the wire, 1 GiB inflated", wire.len());
    assert!(wire.len() < 2 << 20);
    let limit: u64 = 4 << 20;
    for mode in [ReceiveMode::Messages, ReceiveMode::Fragments] {
        let config = Config {
            limits: Limits {
                max_message_size: limit,
                ..Limits::default()
            },
            receive_mode: mode,
            ..Config::default()
        };
        let mut s = open(Role::Server, config);
        s.use_deflate(DeflateParams::default(), DeflateConfig::default());
        let base = reset_peak();
        s.handle_input(Timestamp::ZERO, &wire);
        let mut inflated = 0usize;
        let mut error = None;
        while let Some(e) = s.poll_event() {
            match e {
                Event::Fragment(f) => inflated += f.data.len(),
                Event::Error(ConnectionError::Protocol(p, _)) => error = Some(p),
                _ => {}
            }
        }
        let peak = PEAK.load(Ordering::Relaxed) - base;
        println!(
            "{mode:?}: peak {} KiB above the start ({} KiB of input, limit {} KiB)",
            peak >> 10,
            wire.len() >> 10,
            limit >> 10
        );
        assert_eq!(
            error,
            Some(ProtocolError::MessageTooLarge {
                len: limit + 1,
                limit
            })
        );
        assert_eq!(s.close_sent().unwrap().code, CloseCode::TOO_BIG);
        assert!(inflated as u64 <= limit);
        // The input, the message up to the limit (message mode; a piece in fragment
        // mode) and the decompressor: never the 1 GiB.
        let allowance = wire.len() as isize + 512 * 1024;
        let bound = match mode {
            ReceiveMode::Messages => limit as isize + allowance,
            _ => allowance,
        };
        assert!(peak <= bound, "peak {peak} > {bound}");
    }
}

#[test]
fn a_compressed_echo_does_not_grow_memory() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let settings = DeflateConfig {
        threshold: 0,
        ..DeflateConfig::default()
    };
    let mut c = open(Role::Client, Config::default());
    let mut s = open(Role::Server, Config::default());
    c.use_deflate(DeflateParams::default(), settings);
    s.use_deflate(DeflateParams::default(), settings);
    let mut round = |i: usize| {
        c.send_text(text(5 + i % 40)).unwrap();
        s.handle_input(Timestamp::ZERO, &drain_output(&mut c));
        while let Some(e) = s.poll_event() {
            if let Event::Message(m) = e {
                s.send(m).unwrap();
            }
        }
        c.handle_input(Timestamp::ZERO, &drain_output(&mut s));
        let mut got = 0;
        while let Some(e) = c.poll_event() {
            assert!(matches!(e, Event::Message(_)), "{e:?}");
            got += 1;
        }
        assert_eq!(got, 1);
    };
    for i in 0..500 {
        round(i);
    }
    let before = current();
    for i in 500..5_500 {
        round(i);
    }
    let grown = current() - before;
    assert!(grown.abs() < 64 << 10, "{grown} bytes after 5,000 echoes");
}
