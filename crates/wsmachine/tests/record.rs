//! Record and replay: any session between a client and a server core, driven by random
//! operations (sends, fragments, pings, closes, partial writes each way by every output
//! method, every input method, time, EOF, reset, garbage), replays identically from each
//! side's transcript; a changed transcript is reported at the record that changed; no byte
//! string makes the reader or the replayer panic.
#![cfg(feature = "record")]

use std::time::Duration;

use proptest::prelude::*;
use wsmachine::record::{self, Record, ReplayError};
use wsmachine::{
    Accept, Bytes, BytesMut, ClientRequest, CloseCode, Config, Connection, Event, Limits,
    MessageKind, ReceiveMode, Timers, Timestamp,
};

#[derive(Debug, Clone)]
enum Step {
    Text(bool, String),
    Binary(bool, usize, u8),
    Fragment(bool, bool, usize, bool),
    Ping(bool, Vec<u8>),
    Pong(bool, Vec<u8>),
    Close(bool, u16),
    /// Move up to `n` bytes from one side to the other: output method, input method.
    Move(bool, usize, u8, u8),
    Poll(bool, usize),
    Time(u64),
    Eof(bool),
    Reset(bool),
    WriteShut(bool),
    Garbage(bool, Vec<u8>),
}

fn step() -> impl Strategy<Value = Step> {
    let side = any::<bool>;
    // Moving bytes and polling events dominate, so sessions get through the handshake and
    // exchange messages; endings and garbage are rare.
    prop_oneof![
        20 => (side(), "[a-zé😀]{0,40}").prop_map(|(c, s)| Step::Text(c, s)),
        15 => (side(), 0usize..3000, any::<u8>()).prop_map(|(c, l, s)| Step::Binary(c, l, s)),
        10 => (side(), any::<bool>(), 0usize..100, any::<bool>())
            .prop_map(|(c, t, l, last)| Step::Fragment(c, t, l, last)),
        10 => (side(), proptest::collection::vec(any::<u8>(), 0..130))
            .prop_map(|(c, p)| Step::Ping(c, p)),
        5 => (side(), proptest::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(c, p)| Step::Pong(c, p)),
        3 => (side(), prop_oneof![Just(1000u16), Just(1001), Just(4000), Just(1005), Just(0)])
            .prop_map(|(c, code)| Step::Close(c, code)),
        60 => (side(), 0usize..5000, 0u8..3, 0u8..3).prop_map(|(c, n, o, i)| Step::Move(c, n, o, i)),
        15 => (side(), 0usize..4, 0u8..3, 0u8..3).prop_map(|(c, n, o, i)| Step::Move(c, n, o, i)),
        50 => (side(), 0usize..4).prop_map(|(c, n)| Step::Poll(c, n)),
        10 => (0u64..150).prop_map(Step::Time),
        1 => side().prop_map(Step::Eof),
        1 => side().prop_map(Step::Reset),
        1 => side().prop_map(Step::WriteShut),
        1 => (side(), proptest::collection::vec(any::<u8>(), 1..12))
            .prop_map(|(c, g)| Step::Garbage(c, g)),
    ]
}

/// A config with recording on: defaults, or small limits and short timers so that queue
/// limits, message limits and keepalive all happen within a session.
/// With the `deflate` feature, `deflate` offers (client) or accepts (server)
/// permessage-deflate.
fn config(small: bool, fragments: bool, auto_fragment: Option<usize>, deflate: bool) -> Config {
    let mut c = Config {
        record: true,
        receive_mode: if fragments {
            ReceiveMode::Fragments
        } else {
            ReceiveMode::Messages
        },
        auto_fragment_size: auto_fragment,
        ..Config::default()
    };
    #[cfg(feature = "deflate")]
    if deflate {
        c.deflate = Some(wsmachine::DeflateConfig {
            threshold: 16,
            ..Default::default()
        });
    }
    #[cfg(not(feature = "deflate"))]
    let _ = deflate;
    if small {
        c.limits = Limits {
            max_send_queue: 4000,
            max_message_size: 2500,
            max_frame_size: 2000,
            max_pong_backlog: 60,
            input_high_water: 1000,
            ..Limits::default()
        };
        c.timers = Timers {
            handshake_timeout: Some(Duration::from_millis(700)),
            ping_interval: Some(Duration::from_millis(150)),
            pong_timeout: Some(Duration::from_millis(100)),
            close_timeout: Some(Duration::from_millis(300)),
            idle_timeout: Some(Duration::from_millis(500)),
            drain_timeout: Some(Duration::from_millis(200)),
        };
    }
    c
}

struct Session {
    client: Connection,
    server: Connection,
    now: Timestamp,
}

impl Session {
    fn side(&mut self, client: bool) -> &mut Connection {
        if client {
            &mut self.client
        } else {
            &mut self.server
        }
    }

    fn run(&mut self, step: &Step) {
        let now = self.now;
        match step {
            Step::Text(c, s) => {
                let _ = self.side(*c).send_text(s.clone());
            }
            Step::Binary(c, len, seed) => {
                let p: Vec<u8> = (0..*len).map(|i| (i as u8).wrapping_add(*seed)).collect();
                let _ = self.side(*c).send_binary(p);
            }
            Step::Fragment(c, text, len, last) => {
                let kind = if *text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                let data = Bytes::from(vec![b'f'; *len]);
                let _ = self.side(*c).send_fragment(kind, data, *last);
            }
            Step::Ping(c, p) => {
                let _ = self.side(*c).ping(Bytes::copy_from_slice(p));
            }
            Step::Pong(c, p) => {
                let _ = self.side(*c).pong(Bytes::copy_from_slice(p));
            }
            Step::Close(c, code) => {
                let _ = self.side(*c).close(now, CloseCode(*code), "bye");
            }
            Step::Move(c, n, out, input) => {
                let from = self.side(*c);
                let mut bytes = Vec::new();
                match out {
                    0 => {
                        for s in from.transmit_slices() {
                            bytes.extend_from_slice(&s[..s.len().min(n - bytes.len())]);
                            if bytes.len() == *n {
                                break;
                            }
                        }
                        from.advance_transmit(bytes.len());
                    }
                    1 => {
                        while bytes.len() < *n {
                            match from.poll_transmit() {
                                Some(chunk) => bytes.extend_from_slice(&chunk),
                                None => break,
                            }
                        }
                    }
                    _ => {
                        from.write_transmit_to(&mut bytes, *n);
                    }
                }
                self.feed(!*c, &bytes, *input);
            }
            Step::Poll(c, n) => {
                for _ in 0..*n {
                    let conn = self.side(*c);
                    match conn.poll_event() {
                        Some(Event::Request(req)) => {
                            if req.path == "/reject" {
                                let _ = conn.reject(403, &[], b"no");
                            } else {
                                let _ = conn.accept(now, &Accept::default());
                            }
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            Step::Time(ms) => {
                self.now = self.now + Duration::from_millis(*ms);
                let now = self.now;
                self.client.handle_timeout(now);
                self.server.handle_timeout(now);
            }
            Step::Eof(c) => {
                self.side(*c).handle_eof();
            }
            Step::Reset(c) => {
                self.side(*c).handle_reset();
            }
            Step::WriteShut(c) => {
                self.side(*c).handle_write_closed();
            }
            Step::Garbage(c, g) => self.feed(*c, g, 0),
        }
    }

    fn feed(&mut self, client: bool, bytes: &[u8], how: u8) {
        let now = self.now;
        let to = self.side(client);
        match how {
            0 => {
                to.handle_input(now, bytes);
            }
            1 => {
                to.handle_input_owned(now, BytesMut::from(bytes));
            }
            _ => {
                to.input_buffer(bytes.len()).extend_from_slice(bytes);
                to.handle_input_appended(now);
            }
        }
    }
}

/// The observable state of a connection, to compare the replayed one with the original.
fn state(c: &Connection) -> String {
    format!(
        "{:?} closed {} wants_input {} pending {} timeout {:?} sent {:?} received {:?} \
         should_close {} capacity {}",
        c.state(),
        c.is_closed(),
        c.wants_input(),
        c.pending_transmit(),
        c.poll_timeout(),
        c.close_sent(),
        c.close_received(),
        c.should_close_transport(),
        c.send_capacity()
    )
}

fn session(handshake: u8, client: Config, server: Config, seed: u64) -> Session {
    let random = |s| Box::new(wsmachine::random::SeededRandom::from_u64(s));
    let (c, s) = match handshake {
        0 => (
            Connection::open_with_random(
                wsmachine::Role::Client,
                client,
                Timestamp::ZERO,
                random(seed),
            ),
            Connection::open_with_random(
                wsmachine::Role::Server,
                server,
                Timestamp::ZERO,
                random(0),
            ),
        ),
        n => {
            let path = if n == 2 {
                "ws://example.com/reject"
            } else {
                "ws://example.com/chat?x=1"
            };
            let request = ClientRequest::new(path).unwrap().subprotocol("chat");
            (
                Connection::client_with_random(&request, client, Timestamp::ZERO, random(seed))
                    .unwrap(),
                Connection::server(server, Timestamp::ZERO),
            )
        }
    };
    Session {
        client: c,
        server: s,
        now: Timestamp::ZERO,
    }
}

fn replays_identically(mut conn: Connection) -> Vec<u8> {
    let transcript = conn.take_transcript();
    match record::replay(&transcript) {
        Ok(replayed) => {
            assert_eq!(state(&replayed.connection), state(&conn));
            transcript
        }
        Err(e) => panic!("{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Record any random session, replay each side, compare: every event, result and output
    /// byte is the same, and so is the final state.
    #[test]
    fn any_recorded_session_replays_identically(
        handshake in 0u8..3,
        small in any::<bool>(),
        fragments in any::<bool>(),
        auto_fragment in prop_oneof![Just(None), (1usize..700).prop_map(Some)],
        seed in any::<u64>(),
        steps in proptest::collection::vec(step(), 10..150),
        take_every in 1usize..8,
        deflate in any::<bool>(),
    ) {
        let cfg = config(small, fragments, auto_fragment, deflate);
        let mut s = session(handshake, cfg, config(small, !fragments, None, deflate), seed);
        #[cfg(feature = "deflate")]
        if deflate && handshake == 0 {
            let params = wsmachine::DeflateParams::default();
            s.client.use_deflate(params, wsmachine::DeflateConfig::default());
            s.server.use_deflate(params, wsmachine::DeflateConfig::default());
        }
        // Taking the transcript in pieces as the session goes gives the same bytes.
        let mut client_parts = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            s.run(step);
            if i % take_every == 0 {
                client_parts.extend(s.client.take_transcript());
            }
        }
        let mut rest = s.client.take_transcript();
        client_parts.append(&mut rest);
        let replayed = record::replay(&client_parts).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(state(&replayed.connection), state(&s.client));
        replays_identically(s.server);
    }

    /// Any byte string, and any corruption of a real transcript, is an error value (or a
    /// replay), never a panic.
    #[test]
    fn corrupt_transcripts_are_errors_not_panics(
        noise in proptest::collection::vec(any::<u8>(), 0..200),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut with_header = b"WSREC\x01".to_vec();
        with_header.extend_from_slice(&noise);
        let _ = record::replay(&noise);
        let _ = record::replay(&with_header);
        let mut t = sample_transcript();
        for (at, b) in &flips {
            let i = at.index(t.len());
            t[i] ^= b | 1;
        }
        let _ = record::replay(&t);
        let _ = record::replay(&t[..cut.index(t.len())]);
        if let Ok(r) = record::records(&t) {
            for (_, rec) in r.flatten() {
                let _ = rec.to_string();
            }
        }
    }
}

#[derive(Debug, Clone)]
enum PairOp {
    Text(bool, String),
    Binary(bool, usize),
    Ping(bool, Vec<u8>),
    Close(bool, u16),
    Drive,
    Step,
    RunFor(u64),
    Eof(bool),
}

fn pair_op() -> impl Strategy<Value = PairOp> {
    prop_oneof![
        4 => (any::<bool>(), "[a-z😀]{0,30}").prop_map(|(c, s)| PairOp::Text(c, s)),
        3 => (any::<bool>(), 0usize..70_000).prop_map(|(c, n)| PairOp::Binary(c, n)),
        2 => (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..125))
            .prop_map(|(c, p)| PairOp::Ping(c, p)),
        1 => (any::<bool>(), prop_oneof![Just(1000u16), Just(4001)])
            .prop_map(|(c, code)| PairOp::Close(c, code)),
        6 => Just(PairOp::Drive),
        2 => Just(PairOp::Step),
        2 => (0u64..90_000).prop_map(PairOp::RunFor),
        1 => any::<bool>().prop_map(PairOp::Eof),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The same over the test-support `Pair` (the real handshake, then random sends, pings,
    /// closes, drives and simulated time, keepalive included): both sides' transcripts
    /// replay identically and the replayed sides end as the recorded ones did.
    #[test]
    fn any_pair_session_replays_identically(
        ops in proptest::collection::vec(pair_op(), 0..40),
        auto_fragment in prop_oneof![Just(None), (1usize..5000).prop_map(Some)],
    ) {
        let config = Config {
            record: true,
            auto_fragment_size: auto_fragment,
            ..Config::default()
        };
        let mut pair = wsmachine_test_support::Pair::handshake(config, Timestamp::ZERO);
        for op in &ops {
            let now = pair.now;
            match op {
                PairOp::Text(c, t) => {
                    let conn = if *c { &mut pair.client } else { &mut pair.server };
                    let _ = conn.send_text(t.clone());
                }
                PairOp::Binary(c, n) => {
                    let conn = if *c { &mut pair.client } else { &mut pair.server };
                    let _ = conn.send_binary(vec![9u8; *n]);
                }
                PairOp::Ping(c, p) => {
                    let conn = if *c { &mut pair.client } else { &mut pair.server };
                    let _ = conn.ping(Bytes::copy_from_slice(p));
                }
                PairOp::Close(c, code) => {
                    let conn = if *c { &mut pair.client } else { &mut pair.server };
                    let _ = conn.close(now, CloseCode(*code), "");
                }
                PairOp::Drive => pair.drive(),
                PairOp::Step => {
                    pair.step();
                }
                PairOp::RunFor(ms) => pair.run_for(Duration::from_millis(*ms)),
                PairOp::Eof(c) => {
                    let conn = if *c { &mut pair.client } else { &mut pair.server };
                    conn.handle_eof();
                    pair.drive();
                }
            }
        }
        pair.drive();
        let events = (pair.client_events.len(), pair.server_events.len());
        let client = replays_identically(pair.client);
        let server = replays_identically(pair.server);
        // Every event the pair collected was recorded (the handshake's two are cleared
        // from the pair's lists by Pair::handshake).
        let recorded = |t: &[u8]| {
            record::records(t)
                .unwrap()
                .filter(|r| matches!(r, Ok((_, Record::Event(e))) if *e != record::EventRecord::None))
                .count()
        };
        prop_assert_eq!(recorded(&client), events.0 + 1);
        prop_assert_eq!(recorded(&server), events.1 + 1);
    }
}

/// A client session through the handshake: messages both ways, a ping, a close.
fn sample_transcript() -> Vec<u8> {
    let cfg = Config {
        record: true,
        ..Config::default()
    };
    let mut s = session(1, cfg, cfg, 9);
    let steps = [
        Step::Move(true, 9999, 0, 0),
        Step::Poll(false, 2),
        Step::Move(false, 9999, 1, 1),
        Step::Poll(true, 2),
        Step::Text(true, "hello".into()),
        Step::Binary(false, 300, 1),
        Step::Ping(true, b"p".to_vec()),
        Step::Move(true, 9999, 2, 2),
        Step::Move(false, 9999, 0, 0),
        Step::Poll(true, 3),
        Step::Poll(false, 3),
        Step::Close(true, 1000),
        Step::Move(true, 9999, 0, 0),
        Step::Poll(false, 3),
        Step::Move(false, 9999, 0, 0),
        Step::Poll(true, 3),
        Step::Eof(true),
        Step::Poll(true, 3),
    ];
    for step in &steps {
        s.run(step);
    }
    s.client.take_transcript()
}

#[test]
fn a_changed_input_is_reported_at_the_first_record_it_changes() {
    let t = sample_transcript();
    let list: Vec<_> = record::records(&t).unwrap().map(Result::unwrap).collect();
    // The server's 101 response: change one byte of the Sec-WebSocket-Accept value.
    let (i, range) = list
        .iter()
        .enumerate()
        .find_map(|(i, (range, r))| match r {
            Record::Input { bytes, .. } if bytes.starts_with(b"HTTP/1.1 101") => {
                Some((i, range.clone()))
            }
            _ => None,
        })
        .expect("the response was recorded");
    let at = t[range.clone()]
        .windows(22)
        .position(|w| w == b"Sec-WebSocket-Accept: ")
        .unwrap()
        + range.start
        + 22;
    let mut bad = t.clone();
    bad[at] ^= 0x01;
    // The input itself is re-recorded as given; the handshake then fails where it had
    // succeeded: the next poll_event's record differs.
    let Err(ReplayError::Diverged(d)) = record::replay(&bad) else {
        panic!("no divergence")
    };
    assert!(d.record > i, "{d}");
    assert!(d.expected.starts_with("poll_event -> Connected"), "{d}");
    assert!(d.actual.starts_with("poll_event -> Error"), "{d}");
    // The untouched transcript replays.
    record::replay(&t).unwrap();
}

#[test]
fn a_changed_random_byte_changes_the_output_and_is_reported() {
    let t = sample_transcript();
    let list: Vec<_> = record::records(&t).unwrap().map(Result::unwrap).collect();
    // The second random record: masking keys (the first is the handshake key).
    let range = list
        .iter()
        .filter_map(|(range, r)| matches!(r, Record::Random(_)).then_some(range.clone()))
        .nth(1)
        .expect("masking keys were drawn");
    // The first key (after the tag and the length byte): the next masked frame's bytes
    // change, and the record of the write that took them says so.
    let mut bad = t.clone();
    bad[range.start + 2] ^= 0x80;
    let Err(ReplayError::Diverged(d)) = record::replay(&bad) else {
        panic!("no divergence")
    };
    assert!(
        d.expected.starts_with("write_transmit_to") && d.actual.starts_with("write_transmit_to"),
        "{d}"
    );
    assert_ne!(d.expected, d.actual);
}

#[test]
fn the_format_is_what_the_module_docs_say() {
    let cfg = Config {
        record: true,
        ..Config::default()
    };
    let mut server = Connection::open_with_random(
        wsmachine::Role::Server,
        cfg,
        Timestamp::from_millis(1500),
        Box::new(wsmachine::random::SeededRandom::from_u64(1)),
    );
    server.handle_input(Timestamp::from_millis(1500), &[0x89, 0x80, 0, 0, 0, 0]);
    let t = server.take_transcript();
    // Header; open record: tag 1, role 1, time 1 s 500,000,000 ns as LEB128.
    assert_eq!(&t[..6], b"WSREC\x01");
    assert_eq!(&t[6..8], &[0x01, 0x01]);
    assert_eq!(&t[8..14], &[0x01, 0x80, 0xca, 0xb5, 0xee, 0x01]);
    assert_eq!(&t[9..14], {
        let mut v = vec![];
        let mut n = 500_000_000u64;
        while n >= 0x80 {
            v.push((n as u8) | 0x80);
            n >>= 7;
        }
        v.push(n as u8);
        v
    });
    // The last record: input, the same time, 6 bytes.
    let tail = [
        0x10, 0x01, 0x80, 0xca, 0xb5, 0xee, 0x01, 0x06, 0x89, 0x80, 0, 0, 0, 0,
    ];
    assert_eq!(&t[t.len() - tail.len()..], &tail);
    let records: Vec<_> = record::records(&t).unwrap().map(|r| r.unwrap().1).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1],
        Record::Input {
            now: Timestamp::from_millis(1500),
            bytes: &[0x89, 0x80, 0, 0, 0, 0]
        }
    );
}

#[test]
fn a_connection_without_record_set_records_nothing() {
    let mut c = Connection::open(wsmachine::Role::Server, Config::default(), Timestamp::ZERO);
    c.handle_input(Timestamp::ZERO, b"\x81");
    assert!(!c.is_recording());
    assert!(c.take_transcript().is_empty());
}
