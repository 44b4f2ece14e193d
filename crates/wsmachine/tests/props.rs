//! Property tests of the core's invariants: round-trips in both directions and every length
//! class, chunking independence, exactly-once in-order delivery between a client and a server
//! core, and a clean end at any EOF or reset position.

use proptest::prelude::*;
use wsmachine::{
    Bytes, CloseCode, Config, Connection, Event, Limits, Message, MessageKind, ReceiveMode, State,
};
use wsmachine_test_support::*;

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Lengths from every class: 7-bit, 16-bit and 64-bit length encodings and their edges.
fn any_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..=125,
        126usize..=65_535,
        65_536usize..=140_000,
        Just(125),
        Just(126),
        Just(65_535),
        Just(65_536)
    ]
}

fn any_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(|v| v.into_iter().collect())
}

#[derive(Debug, Clone)]
enum Op {
    Text(String),
    Binary(usize, u8),
    /// A message the caller fragments: kind, piece lengths.
    Fragmented(bool, Vec<usize>),
    Ping(Vec<u8>),
}

/// Ops with small payloads, for tests that replay a stream once per byte offset.
fn small_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any_text(40).prop_map(Op::Text),
        (0usize..300, any::<u8>()).prop_map(|(l, s)| Op::Binary(l, s)),
        (any::<bool>(), proptest::collection::vec(0usize..50, 1..4))
            .prop_map(|(t, v)| Op::Fragmented(t, v)),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Op::Ping),
    ]
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any_text(300).prop_map(Op::Text),
        (any_len(), any::<u8>()).prop_map(|(l, s)| Op::Binary(l, s)),
        (any::<bool>(), proptest::collection::vec(0usize..2000, 1..6))
            .prop_map(|(t, v)| Op::Fragmented(t, v)),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Op::Ping),
    ]
}

/// Applies an op to `conn`; returns the message the peer must receive, if any.
fn apply(conn: &mut Connection, op: &Op) -> Option<Message> {
    match op {
        Op::Text(s) => {
            conn.send_text(s.clone()).unwrap();
            Some(Message::text(s.clone()))
        }
        Op::Binary(len, seed) => {
            let p = payload(*len, *seed);
            conn.send_binary(p.clone()).unwrap();
            Some(Message::binary(p))
        }
        Op::Fragmented(text, pieces) => {
            let (kind, whole): (MessageKind, Vec<u8>) = if *text {
                let s: String = "aé€😀"
                    .chars()
                    .cycle()
                    .take(pieces.iter().sum::<usize>() / 2 + 1)
                    .collect();
                (MessageKind::Text, s.into_bytes())
            } else {
                (MessageKind::Binary, payload(pieces.iter().sum(), 3))
            };
            // Split at the requested lengths (text may split code points: allowed).
            let mut at = 0;
            let mut cuts: Vec<usize> = pieces
                .iter()
                .map(|p| {
                    at = (at + p).min(whole.len());
                    at
                })
                .collect();
            *cuts.last_mut().unwrap() = whole.len();
            let mut start = 0;
            for (i, &end) in cuts.iter().enumerate() {
                let last = i + 1 == cuts.len();
                conn.send_fragment(kind, Bytes::copy_from_slice(&whole[start..end]), last)
                    .unwrap();
                start = end;
            }
            Some(match kind {
                MessageKind::Text => Message::text(String::from_utf8(whole).unwrap()),
                MessageKind::Binary => Message::binary(whole),
            })
        }
        Op::Ping(p) => {
            conn.ping(Bytes::copy_from_slice(p)).unwrap();
            None
        }
    }
}

fn messages(events: &[Event]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Message(m) = e {
                Some(m.clone())
            } else {
                None
            }
        })
        .collect()
}

/// Feeds `bytes` in the given chunk sizes (cycled) and collects events.
fn feed_chunked(mut conn: Connection, bytes: &[u8], chunks: &[usize]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let n = chunks[i % chunks.len()].max(1).min(bytes.len() - at);
        conn.handle_input(wsmachine::Timestamp::ZERO, &bytes[at..at + n]);
        events.extend(drain(&mut conn));
        at += n;
        i += 1;
    }
    events.extend(drain(&mut conn));
    events
}

/// How one piece of input is fed: `handle_input` (copied, payload unmasked as it is
/// copied), `input_buffer` + `handle_input_appended`, `read_input`, `handle_input_owned`.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Copy,
    Buffer,
    Read,
    Owned,
}

fn any_feed() -> impl Strategy<Value = (Feed, usize, bool)> {
    let feed = prop_oneof![
        3 => Just(Feed::Copy),
        1 => Just(Feed::Buffer),
        1 => Just(Feed::Read),
        1 => Just(Feed::Owned)
    ];
    let size = prop_oneof![1usize..20, 1usize..3000, 1usize..70_000];
    (feed, size, any::<bool>())
}

/// Feeds `bytes` in pieces, each by its own API and size (cycled), polling after a piece
/// only where it says so, and collects the events.
fn feed_mixed(mut conn: Connection, bytes: &[u8], feeds: &[(Feed, usize, bool)]) -> Vec<Event> {
    let now = wsmachine::Timestamp::ZERO;
    let mut events = Vec::new();
    let (mut at, mut i) = (0, 0);
    while at < bytes.len() {
        let (feed, size, poll) = feeds[i % feeds.len()];
        let piece = &bytes[at..at + size.min(bytes.len() - at)];
        match feed {
            Feed::Copy => {
                conn.handle_input(now, piece);
            }
            Feed::Buffer => {
                conn.input_buffer(piece.len()).extend_from_slice(piece);
                conn.handle_input_appended(now);
            }
            Feed::Read => {
                let n = conn.read_input(piece.len(), fill_from(piece)).unwrap();
                conn.handle_input_appended(now);
                // `read_input` lends at most `read_size` bytes: the rest comes next.
                at += n;
                i += 1;
                if poll {
                    events.extend(drain(&mut conn));
                }
                continue;
            }
            Feed::Owned => {
                conn.handle_input_owned(now, wsmachine::BytesMut::from(piece));
            }
        }
        at += piece.len();
        if poll {
            events.extend(drain(&mut conn));
        }
        i += 1;
    }
    events.extend(drain(&mut conn));
    events
}

/// A recorded client-to-server byte stream for `ops`, ending with a Close if `close`.
fn record(ops: &[Op], close: bool) -> (Vec<u8>, Vec<Message>) {
    let mut c = client();
    let mut expected = Vec::new();
    for op in ops {
        expected.extend(apply(&mut c, op));
    }
    if close {
        c.close(wsmachine::Timestamp::ZERO, CloseCode::NORMAL, "done")
            .unwrap();
    }
    (output(&mut c), expected)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_both_directions_every_length_class(len in any_len(), seed in any::<u8>(), text in any::<bool>()) {
        let mut pair = Pair::new(Config::default());
        let msg = if text {
            Message::text(String::from_utf8_lossy(&payload(len, seed)).into_owned())
        } else {
            Message::binary(payload(len, seed))
        };
        pair.client.send(msg.clone()).unwrap();
        pair.server.send(msg.clone()).unwrap();
        pair.drive();
        prop_assert_eq!(messages(&pair.server_events), vec![msg.clone()]);
        prop_assert_eq!(messages(&pair.client_events), vec![msg]);
    }

    #[test]
    fn any_chunking_gives_identical_events(ops in proptest::collection::vec(any_op(), 1..12),
                                           chunks in proptest::collection::vec(1usize..300, 1..20),
                                           fragments in any::<bool>()) {
        let (bytes, _) = record(&ops, true);
        let config = Config {
            receive_mode: if fragments { ReceiveMode::Fragments } else { ReceiveMode::Messages },
            ..Config::default()
        };
        let whole = feed_chunked(server_with(config), &bytes, &[bytes.len()]);
        let chunked = feed_chunked(server_with(config), &bytes, &chunks);
        if fragments {
            // Fragment boundaries follow reads; the concatenated data and the kinds must agree.
            let join = |evs: &[Event]| -> Vec<(MessageKind, Vec<u8>)> {
                let mut out: Vec<(MessageKind, Vec<u8>)> = Vec::new();
                for e in evs {
                    if let Event::Fragment(f) = e {
                        if f.is_first { out.push((f.kind, Vec::new())); }
                        out.last_mut().unwrap().1.extend_from_slice(&f.data);
                    }
                }
                out
            };
            prop_assert_eq!(join(&whole), join(&chunked));
            let others = |evs: &[Event]| evs.iter().filter(|e| !matches!(e, Event::Fragment(_))).cloned().collect::<Vec<_>>();
            prop_assert_eq!(others(&whole), others(&chunked));
        } else {
            prop_assert_eq!(&whole, &chunked);
            let ones = feed_chunked(server_with(config), &bytes, &[1]);
            prop_assert_eq!(&whole, &ones);
        }
    }

    /// However input arrives (copied and unmasked as it is copied, read in place, handed
    /// over owned, mixed, with or without polling in between), every message is exactly what
    /// was sent: no payload byte is unmasked twice or left masked.
    #[test]
    fn every_input_api_mixed_delivers_the_messages_sent(
        ops in proptest::collection::vec(any_op(), 1..12),
        feeds in proptest::collection::vec(any_feed(), 1..16),
        fragments in any::<bool>(),
    ) {
        let (bytes, expected) = record(&ops, false);
        let config = Config {
            receive_mode: if fragments { ReceiveMode::Fragments } else { ReceiveMode::Messages },
            ..Config::default()
        };
        let got = feed_mixed(server_with(config), &bytes, &feeds);
        if fragments {
            let pieces = |evs: Vec<Event>| -> Vec<Vec<u8>> {
                let mut out: Vec<Vec<u8>> = Vec::new();
                for e in evs {
                    if let Event::Fragment(f) = e {
                        if f.is_first { out.push(Vec::new()); }
                        out.last_mut().unwrap().extend_from_slice(&f.data);
                    }
                }
                out
            };
            let want: Vec<Vec<u8>> = expected.iter().map(|m| m.payload().to_vec()).collect();
            prop_assert_eq!(pieces(got), want);
        } else {
            prop_assert_eq!(messages(&got), expected);
        }
    }

    #[test]
    fn pair_delivers_every_message_once_in_order(
        client_ops in proptest::collection::vec(any_op(), 0..10),
        server_ops in proptest::collection::vec(any_op(), 0..10),
        auto_fragment in proptest::option::of(1usize..5000),
        step in 1usize..4000,
    ) {
        let config = Config { auto_fragment_size: auto_fragment, ..Config::default() };
        let mut pair = Pair::new(config);
        let mut to_server = Vec::new();
        let mut to_client = Vec::new();
        // Interleave: each side sends, and only part of the output moves each round.
        for i in 0..client_ops.len().max(server_ops.len()) {
            if let Some(op) = client_ops.get(i) { to_server.extend(apply(&mut pair.client, op)); }
            if let Some(op) = server_ops.get(i) { to_client.extend(apply(&mut pair.server, op)); }
            let mut c2s = Vec::new();
            pair.client.write_transmit_to(&mut c2s, step);
            let mut s2c = Vec::new();
            pair.server.write_transmit_to(&mut s2c, step);
            pair.server.handle_input(wsmachine::Timestamp::ZERO, &c2s);
            pair.client.handle_input(wsmachine::Timestamp::ZERO, &s2c);
            pair.server_events.extend(drain(&mut pair.server));
            pair.client_events.extend(drain(&mut pair.client));
        }
        pair.drive();
        prop_assert_eq!(messages(&pair.server_events), to_server);
        prop_assert_eq!(messages(&pair.client_events), to_client);
        // Then a clean close handshake.
        pair.client.close(wsmachine::Timestamp::ZERO, CloseCode::NORMAL, "bye").unwrap();
        pair.drive();
        prop_assert!(pair.server.is_closed());
        pair.client.handle_eof();
        let last = drain(&mut pair.client);
        let Some(Event::Closed(report)) = last.last() else { panic!("{last:?}") };
        prop_assert!(report.clean);
        prop_assert_eq!(report.code(), CloseCode::NORMAL);
    }

    #[test]
    fn eof_or_reset_at_any_offset_ends_closed_without_losing_complete_messages(
        ops in proptest::collection::vec(small_op(), 1..6),
        close in any::<bool>(),
        reset in any::<bool>(),
    ) {
        let (bytes, _) = record(&ops, close);
        // Where each complete message ends in the stream: feed one byte at a time.
        let mut probe = server();
        let mut complete_at = Vec::new();
        for i in 0..bytes.len() {
            probe.handle_input(wsmachine::Timestamp::ZERO, &bytes[i..=i]);
            for e in drain(&mut probe) {
                if let Event::Message(m) = e { complete_at.push((i + 1, m)); }
            }
        }
        for cut in 0..=bytes.len() {
            let mut s = server();
            s.handle_input(wsmachine::Timestamp::ZERO, &bytes[..cut]);
            if reset { s.handle_reset(); } else { s.handle_eof(); }
            let events = drain(&mut s);
            let Some(Event::Closed(report)) = events.last() else { panic!("cut {cut}: {events:?}") };
            let expected: Vec<Message> = complete_at.iter().filter(|(end, _)| *end <= cut).map(|(_, m)| m.clone()).collect();
            prop_assert_eq!(messages(&events), expected, "cut {}", cut);
            if report.received.is_none() {
                prop_assert!(!report.clean);
                prop_assert_eq!(report.code(), CloseCode::ABNORMAL);
            }
            prop_assert_eq!(s.state(), State::Closed);
            prop_assert!(s.poll_event().is_none());
            prop_assert_eq!(s.handle_input(wsmachine::Timestamp::ZERO, b"x"), State::Closed);
        }
    }
}

#[test]
fn fragment_mode_streams_a_large_message_in_bounded_pieces() {
    // A 64 MiB single frame fed 64 KiB at a time: every piece is at most one read.
    let config = Config {
        receive_mode: ReceiveMode::Fragments,
        limits: Limits {
            max_frame_size: u64::MAX >> 1,
            max_message_size: u64::MAX >> 1,
            ..Limits::default()
        },
        ..Config::default()
    };
    let mut s = server_with(config);
    let len = 64usize << 20;
    let mut header = vec![0x82, 0xff];
    header.extend_from_slice(&(len as u64).to_be_bytes());
    header.extend_from_slice(&[0, 0, 0, 0]);
    s.handle_input(wsmachine::Timestamp::ZERO, &header);
    let chunk = vec![5u8; 64 << 10];
    let mut total = 0;
    let mut pieces = 0;
    for _ in 0..len / chunk.len() {
        s.handle_input(wsmachine::Timestamp::ZERO, &chunk);
        for e in drain(&mut s) {
            let Event::Fragment(f) = e else {
                panic!("{e:?}")
            };
            assert!(f.data.len() <= chunk.len());
            assert!(f.data.iter().all(|&b| b == 5));
            total += f.data.len();
            pieces += 1;
            assert_eq!(f.is_last, total == len);
        }
    }
    assert_eq!(total, len);
    assert_eq!(pieces, len / chunk.len());
}

#[test]
fn defaults_let_a_4_mib_message_in_64_byte_fragments_through() {
    let data = payload(4 << 20, 1);
    let mut c2 = client();
    for (i, piece) in data.chunks(64).enumerate() {
        let last = (i + 1) * 64 >= data.len();
        c2.send_fragment(MessageKind::Binary, Bytes::copy_from_slice(piece), last)
            .unwrap();
    }
    let bytes = output(&mut c2);
    let mut s = server();
    s.handle_input(wsmachine::Timestamp::ZERO, &bytes);
    assert_eq!(drain(&mut s), vec![Event::Message(Message::binary(data))]);
}

/// Mixed-script text with a few bytes changed, cut into pieces anywhere.
fn utf8_pieces() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    (
        prop::collection::vec(
            prop::sample::select(vec!["a", "é", "€", "😀", "ж", "\u{7ff}", "\u{10ffff}"]),
            0..200,
        ),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    )
        .prop_map(|(chars, edits, cuts)| {
            let mut bytes = chars.concat().into_bytes();
            if !bytes.is_empty() {
                for (at, b) in edits {
                    let i = at.index(bytes.len());
                    bytes[i] = b;
                }
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            (bytes, cuts)
        })
}

proptest! {
    /// The incremental validator agrees with `core::str::from_utf8` for any cut, and fails
    /// in the piece holding the first byte that cannot be part of valid UTF-8 (fail-fast).
    #[test]
    fn utf8_validator_is_exact_and_fails_fast((bytes, cuts) in utf8_pieces()) {
        let mut v = wsmachine::utf8::Utf8Validator::new();
        // The invalid sequence starts at `valid_up_to`; the byte that proves it invalid is
        // at most `error_len` bytes later (the byte after a lead that cannot go on).
        let bad = match std::str::from_utf8(&bytes) {
            Ok(_) => None,
            Err(e) => e.error_len().map(|n| (e.valid_up_to(), e.valid_up_to() + n)),
        };
        let mut start = 0;
        let mut failed_at = None;
        for end in cuts.iter().copied().chain([bytes.len()]) {
            if v.feed(&bytes[start..end]).is_err() {
                failed_at = Some((start, end));
                break;
            }
            start = end;
        }
        let ok = failed_at.is_none() && v.finish().is_ok();
        prop_assert_eq!(ok, std::str::from_utf8(&bytes).is_ok());
        if let (Some((s, e)), Some((from, proof))) = (failed_at, bad) {
            // Reported in a piece that reaches the invalid sequence and starts no later
            // than the byte proving it invalid.
            prop_assert!(e > from && s <= proof, "invalid at {}..={} reported in {}..{}", from, proof, s, e);
        }
    }
}
