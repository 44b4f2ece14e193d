//! Inputs the fuzz targets (fuzz/fuzz_targets/) found to break the core, minimized and
//! replayed here without the fuzz machinery. Each test names its target, the minimized
//! input, and the invariant it broke (see fuzz/README.md for the oracle).

use wsmachine::handshake::accept_key;
use wsmachine::random::SeededRandom;
use wsmachine::{ClientRequest, Config, Connection, Event, Role, Timestamp};

/// Everything queued for the wire, in order, without marking it written.
fn queued(conn: &Connection) -> Vec<u8> {
    conn.transmit_slices().flatten().copied().collect()
}

fn drain_events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(60)]).into_owned()
}

/// The `handshake_client` target's request and the real 101 for its key (seed 0), as the
/// target builds them for `mode` bit 0 (bit 2 adds the extension offer).
fn client_with_offer() -> (Connection, Vec<u8>) {
    let req = ClientRequest::new("ws://example.com:8080/chat?room=1")
        .unwrap()
        .extension("permessage-deflate; client_max_window_bits");
    let conn = Connection::client_with_random(
        &req,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(0)),
    )
    .unwrap();
    let request = queued(&conn);
    let head = String::from_utf8(request.clone()).unwrap();
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap()
        .trim()
        .to_string();
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        accept_key(key.as_bytes())
    )
    .into_bytes();
    response.extend_from_slice(b"\n");
    (conn, [request, response].concat())
}

/// Found by `handshake_client` (minimized input `b"\x00\x00\x0d\n\x89\x00"`: limits 0, key
/// seed 0, mode 0x0d = the real 101 head for the key plus an extension offer, then `\n` to
/// end the head and an empty ping). Panic: `output is not a valid frame header:
/// ReservedOpcode(4) ([74, 73, 0d, 0a, 0d, 0a])` at fuzz/src/lib.rs (OutputWatcher::push).
///
/// The client had not written its request yet when the server's 101 and a ping arrived: the
/// automatic pong went into the urgent queue, which is written before the data queue that
/// holds the unwritten HTTP request, so the pong went on the wire before the request. The
/// opening handshake bytes must never be overtaken by a frame.
#[test]
fn client_pong_does_not_overtake_the_unwritten_request() {
    let (mut conn, both) = client_with_offer();
    let request_len = conn.pending_transmit();
    let request = queued(&conn);
    conn.handle_input(Timestamp::ZERO, &both[request_len..]);
    conn.handle_input(Timestamp::ZERO, b"\x89\x00");
    let evs = drain_events(&mut conn);
    assert!(matches!(evs.first(), Some(Event::Connected(_))), "{evs:?}");
    assert!(matches!(evs.get(1), Some(Event::Ping(_))), "{evs:?}");
    let out = queued(&conn);
    assert!(
        out.starts_with(&request),
        "the request must go out first, got {:?}",
        text(&out)
    );
    // Then the pong, masked.
    assert_eq!(out[request.len()] & 0x0f, 0xA, "then the pong");
    assert_eq!(out[request.len() + 1] & 0x80, 0x80, "masked");
}

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Found by `handshake_server` with mode bit 3 (accept inside the event loop and keep polling
/// the pipelined frames before writing, as the docs of `Event::Request` allow), once the
/// `handshake_client` crash above pointed at it. Minimized input (limits 0, chunk seed 0,
/// mode 0x08, this request, a masked empty ping):
/// `b"\x00\x00\x08GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x89\x80\x00\x00\x00\x00"`.
/// Panic: `output is not a valid frame header: ReservedOpcode(13) ([0d, 0a])` at
/// fuzz/src/lib.rs (OutputWatcher::push): the automatic pong overtook the unwritten
/// `101 Switching Protocols`.
#[test]
fn server_pong_does_not_overtake_the_unwritten_101() {
    let mut conn = Connection::server(Config::default(), Timestamp::ZERO);
    conn.handle_input(Timestamp::ZERO, REQUEST);
    // A masked, empty ping pipelined after the request.
    conn.handle_input(Timestamp::ZERO, b"\x89\x80\x01\x02\x03\x04");
    let evs = drain_events(&mut conn);
    assert!(matches!(evs.as_slice(), [Event::Request(_)]), "{evs:?}");
    conn.accept(Timestamp::ZERO, &Default::default()).unwrap();
    let evs = drain_events(&mut conn);
    assert!(matches!(evs.as_slice(), [Event::Ping(_)]), "{evs:?}");
    let out = queued(&conn);
    assert!(
        out.starts_with(b"HTTP/1.1 101 "),
        "the 101 must go out first, got {:?}",
        text(&out)
    );
}

/// Same path with a pipelined protocol error: `handshake_server`, mode bit 3, input
/// `b"\x00\x00\x08" + REQUEST-with-Host-a (as above) + b"\x81\x00"` (an unmasked frame,
/// 1002). Panic: `queued handshake bytes were never written` at fuzz/src/lib.rs
/// (Watched::finish_with_eof): failing the connection drops unstarted data, which here is the
/// unwritten 101, and queues only the Close, so the peer gets a Close frame where it expects
/// an HTTP response.
#[test]
fn server_failing_close_keeps_the_unwritten_101() {
    let mut conn = Connection::server(Config::default(), Timestamp::ZERO);
    conn.handle_input(Timestamp::ZERO, REQUEST);
    // An unmasked frame from a client: 1002.
    conn.handle_input(Timestamp::ZERO, b"\x81\x02hi");
    let evs = drain_events(&mut conn);
    assert!(matches!(evs.as_slice(), [Event::Request(_)]), "{evs:?}");
    conn.accept(Timestamp::ZERO, &Default::default()).unwrap();
    let evs = drain_events(&mut conn);
    assert!(matches!(evs.last(), Some(Event::Closed(_))), "{evs:?}");
    let out = queued(&conn);
    assert!(
        out.starts_with(b"HTTP/1.1 101 "),
        "the 101 must go out before the Close, got {:?}",
        text(&out)
    );
    let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(out[head_end], 0x88, "then the Close");
}

/// Found by `stateful` (minimized input, 37 bytes:
/// `b"\x00\x00\x00\x00\x00\x00\x00\x17\x00\x18\x02\x00\x00\xff{\x18\xa1\x00\x02\x00\x00\xff{\x00\x02\x00\x00\xff{\x18\xa1\x00\x02\x00\x00\xff{"`,
/// which decodes to a server with `max_send_queue` 23 KiB and one op: 255 pings of 123 bytes
/// with nothing written in between). Panic: `24375 bytes queued, over max_send_queue 23552 +
/// 700` at fuzz/src/lib.rs (Watched::check).
///
/// `Connection::ping` pushes every ping onto the urgent queue with no cap, while `Limits`
/// documents that control frames outside `max_send_queue` are at most one pong, one ping and
/// one Close. Either a second unwritten ping should replace the first (as pongs do) or be
/// refused with a `SendError`; either way the queue stays bounded.
#[test]
fn caller_pings_stay_within_the_queue_bound() {
    let mut config = Config::default();
    config.limits.max_send_queue = 23 << 10;
    let mut conn = Connection::open_with_random(
        Role::Server,
        config,
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(0)),
    );
    for _ in 0..255 {
        let _ = conn.ping(wsmachine::Bytes::from(vec![b'p'; 123]));
    }
    // One ping, one pong, one Close of at most 131 bytes each, with slack.
    let bound = config.limits.max_send_queue + 700;
    assert!(
        conn.pending_transmit() <= bound,
        "{} bytes queued, over {bound}",
        conn.pending_transmit()
    );
}

/// Sanity for the harness: a handshake-free server never masks (passes today).
#[test]
fn harness_open_server_echo() {
    let mut conn = Connection::open_with_random(
        Role::Server,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(1)),
    );
    conn.handle_input(Timestamp::ZERO, b"\x81\x82\x00\x00\x00\x00hi");
    let evs = drain_events(&mut conn);
    assert_eq!(evs.len(), 1);
    if let Some(Event::Message(m)) = evs.into_iter().next() {
        conn.send(m).unwrap();
    }
    assert_eq!(queued(&conn), b"\x81\x02hi");
}
