//! The frame-level API allocates nothing per message in steady state: receiving small
//! messages, answering pings and echoing through the send queue reuse the connection's
//! buffers. Counted with a global allocator wrapper (this test binary only).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use wsmachine::random::SeededRandom;
use wsmachine::{Bytes, Config, Connection, Event, Message, Role, Timestamp};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
/// The counter is global: the tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    let key = [9, 8, 7, 6];
    let mut out = vec![b0, 0x80 | payload.len() as u8];
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

#[test]
fn steady_state_receive_and_echo_allocate_nothing_per_message() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut server = Connection::open_with_random(
        Role::Server,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(1)),
    );
    // One read carries a text message, a binary message and a ping.
    let mut read = masked(0x81, b"hello, steady state");
    read.extend(masked(0x82, &[7u8; 100]));
    read.extend(masked(0x89, b"p"));
    let mut wire = Vec::with_capacity(1 << 16);
    let mut round = |server: &mut Connection, t: u64| {
        server.handle_input(Timestamp::from_millis(t), &read);
        while let Some(ev) = server.poll_event() {
            match ev {
                Event::Message(m) => server.send(m).unwrap(),
                Event::Ping(_) => {}
                other => panic!("{other:?}"),
            }
        }
        wire.clear();
        server.write_transmit_to(&mut wire, usize::MAX);
        assert!(!wire.is_empty());
    };
    for t in 0..1_000 {
        round(&mut server, t);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    const ROUNDS: u64 = 10_000;
    for t in 1_000..1_000 + ROUNDS {
        round(&mut server, t);
    }
    let per_round = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / ROUNDS as f64;
    // Three messages a round (two echoed, one pong): no allocation per message.
    assert!(per_round < 0.01, "{per_round} allocations per round");
    let _ = Message::binary(Bytes::new());
}

#[test]
fn a_client_echoing_allocates_nothing_per_message_either() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut client = Connection::open_with_random(
        Role::Client,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(2)),
    );
    let mut read = vec![0x81, 5];
    read.extend_from_slice(b"hello");
    read.extend_from_slice(&[0x82, 100]);
    read.extend_from_slice(&[1u8; 100]);
    let mut wire = Vec::with_capacity(1 << 16);
    let mut round = |c: &mut Connection, t: u64| {
        c.handle_input(Timestamp::from_millis(t), &read);
        while let Some(Event::Message(m)) = c.poll_event() {
            c.send(m).unwrap();
        }
        wire.clear();
        c.write_transmit_to(&mut wire, usize::MAX);
    };
    for t in 0..1_000 {
        round(&mut client, t);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for t in 1_000..11_000 {
        round(&mut client, t);
    }
    let per_round = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / 10_000.0;
    assert!(per_round < 0.01, "{per_round} allocations per round");
}

/// The borrowed send path (`send_binary_slice`, `send_text_str`) with vectored writes of
/// `transmit_slices`: no allocation per message, in both roles and at every size it stages.
#[test]
fn borrowed_sends_written_by_slices_allocate_nothing_per_message() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for role in [Role::Server, Role::Client] {
        for size in [16usize, 1000, 4000] {
            let mut c = Connection::open_with_random(
                role,
                Config::default(),
                Timestamp::ZERO,
                Box::new(SeededRandom::from_u64(3)),
            );
            let data = vec![b'x'; size];
            let text = "y".repeat(size);
            let round = |c: &mut Connection| {
                c.send_binary_slice(&data).unwrap();
                c.send_text_str(&text).unwrap();
                let n: usize = c
                    .transmit_slices()
                    .map(|s| std::hint::black_box(s).len())
                    .sum();
                assert!(n >= 2 * size);
                c.advance_transmit(n);
            };
            for _ in 0..100 {
                round(&mut c);
            }
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            for _ in 0..10_000 {
                round(&mut c);
            }
            let per_round = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / 10_000.0;
            assert!(
                per_round < 0.01,
                "{role:?} {size} B: {per_round} allocations per round"
            );
        }
    }
}

/// Large messages read in place (`read_limit` + `input_buffer`, as the async adapters
/// read, or `read_input`, as the mio adapter reads large frames) and dropped by the
/// application: each frame's room is reserved once and reused for the next, so nothing is
/// allocated per message (the room reserved for a frame whose header was read is not
/// released as idle before its payload arrives).
#[test]
fn large_messages_read_in_place_allocate_nothing_per_message() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (size, lent) in [40_000usize, 65_536, 200_000]
        .into_iter()
        .flat_map(|size| [(size, false), (size, true)])
    {
        let config = Config {
            limits: wsmachine::Limits {
                max_frame_size: 1 << 20,
                max_message_size: 1 << 20,
                ..wsmachine::Limits::default()
            },
            ..Config::default()
        };
        let mut server = Connection::open_with_random(
            Role::Server,
            config,
            Timestamp::ZERO,
            Box::new(SeededRandom::from_u64(4)),
        );
        let frames = 64;
        let stream: Vec<u8> = (0..frames)
            .flat_map(|_| wsmachine_test_support::c2s(0x82, &vec![5u8; size]))
            .collect();
        let (mut at, mut received) = (0, 0);
        let mut before = None;
        while at < stream.len() {
            if received == 8 && before.is_none() {
                before = Some(ALLOCATIONS.load(Ordering::Relaxed));
            }
            const READ: usize = 64 << 10;
            let want = server.read_limit().map_or(READ, |cap| cap.min(4 * READ));
            let rest = &stream[at..];
            if lent {
                // `read_input` caps the read itself (`read_size`).
                let n = server.read_input(4 * READ, |spare| {
                    let n = spare.len().min(rest.len());
                    Ok::<_, ()>(spare[..n].write_copy_of_slice(&rest[..n]))
                });
                at += n.unwrap();
            } else {
                let buf = server.input_buffer(READ);
                let take = (buf.capacity() - buf.len()).min(want).min(rest.len());
                buf.extend_from_slice(&rest[..take]);
                at += take;
            }
            server.handle_input_appended(Timestamp::ZERO);
            while let Some(ev) = server.poll_event() {
                let Event::Message(m) = ev else {
                    panic!("{ev:?}")
                };
                assert_eq!(m.payload().len(), size);
                received += 1;
            }
        }
        assert_eq!(received, frames);
        let made = ALLOCATIONS.load(Ordering::Relaxed) - before.unwrap();
        assert!(
            made <= 2,
            "{size} B ({}): {made} allocations for {} messages",
            if lent { "read_input" } else { "input_buffer" },
            frames - 8
        );
    }
}
