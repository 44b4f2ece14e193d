//! permessage-deflate (RFC 7692) through whole connections: negotiation in both roles, the
//! wire format (RSV1, trailer, context takeover), the RSV1 failures, invalid data, the
//! inflation limit, and a property test over every parameter combination, fragmentation and
//! receive mode, client core against server core in memory.
#![cfg(feature = "deflate")]

use proptest::prelude::*;
use wsmachine::random::SeededRandom;
use wsmachine::{
    Accept, Bytes, ClientRequest, CloseCode, Config, Connection, ConnectionError, DeflateConfig,
    DeflateParams, Event, Limits, Message, MessageKind, ProtocolError, ReceiveMode, SendError,
    Timestamp,
};
use wsmachine_test_support::*;

fn with_deflate(d: DeflateConfig) -> Config {
    Config {
        deflate: Some(d),
        ..Config::default()
    }
}

/// A client and a server with their own configs after the opening handshake; `accept`
/// is the server's decision.
fn handshake(client_cfg: Config, server_cfg: Config, accept: &Accept) -> Pair {
    let now = Timestamp::ZERO;
    let request = ClientRequest::new("ws://localhost/").unwrap();
    let mut p = Pair::connecting(&request, client_cfg, server_cfg, 7, now);
    let (client, server) = (&mut p.client, &mut p.server);
    server.handle_input(now, &output(client));
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(now, accept).unwrap();
    client.handle_input(now, &output(server));
    assert!(matches!(client.poll_event(), Some(Event::Connected(_))));
    p
}

fn deflate_pair(client: DeflateConfig, server: DeflateConfig) -> Pair {
    handshake(
        with_deflate(client),
        with_deflate(server),
        &Accept::default(),
    )
}

fn messages(events: &[Event]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn protocol_error(events: &[Event]) -> Option<ProtocolError> {
    events.iter().find_map(|e| match e {
        Event::Error(ConnectionError::Protocol(p, _)) => Some(*p),
        _ => None,
    })
}

fn json(i: usize) -> String {
    format!(
        "{{\"id\":{i},\"user\":\"user{}\",\"text\":\"hello, this is message number {i}\",\"tags\":[\"a\",\"b\",\"c\"]}}",
        i % 7
    )
}

#[test]
fn both_roles_negotiate_and_messages_go_compressed() {
    let mut p = deflate_pair(DeflateConfig::default(), DeflateConfig::default());
    assert_eq!(p.client.deflate_params(), Some(&DeflateParams::default()));
    assert_eq!(p.server.deflate_params(), Some(&DeflateParams::default()));
    let text = json(1).repeat(4);
    p.client.send_text(text.clone()).unwrap();
    let wire = output(&mut p.client);
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, 0x80 | 0x40 | 0x1, "FIN, RSV1, text");
    assert!(
        frames[0].2.len() < text.len() / 2,
        "{} bytes",
        frames[0].2.len()
    );
    p.server.handle_input(Timestamp::ZERO, &wire);
    assert_eq!(
        drain(&mut p.server),
        [Event::Message(Message::text(text.clone()))]
    );
    p.server.send_text(text.clone()).unwrap();
    let wire = output(&mut p.server);
    assert_eq!(wire[0], 0xc1);
    p.client.handle_input(Timestamp::ZERO, &wire);
    assert_eq!(drain(&mut p.client), [Event::Message(Message::text(text))]);
}

/// A message that compression does not shrink (random bytes) goes plain, so a message that
/// fits the peer's frame limit plain fits it with the extension in use; the compressor
/// starts a fresh context after it (the same text compresses the same as at the start),
/// and every message still inflates on the other side (context takeover both ways).
#[test]
fn incompressible_messages_go_plain_and_the_stream_stays_in_step() {
    let limit: usize = 256 << 10;
    let cfg = || Config {
        limits: Limits {
            max_frame_size: limit as u64,
            max_message_size: limit as u64,
            ..Limits::default()
        },
        deflate: Some(DeflateConfig::default()),
        ..Config::default()
    };
    let mut p = handshake(cfg(), cfg(), &Accept::default());
    let random = Message::binary(peers::prng_bytes(limit));
    let text = Message::text(json(1).repeat(20));
    let sent = [
        text.clone(),
        random.clone(),
        text.clone(),
        text,
        random,
        Message::text(json(2).repeat(20)),
    ];
    for m in &sent {
        p.client.send(m.clone()).unwrap();
    }
    let wire = output(&mut p.client);
    let frames = parse_frames(&wire);
    let rsv1: Vec<bool> = frames.iter().map(|f| f.0 & 0x40 != 0).collect();
    assert_eq!(rsv1, [true, false, true, true, false, true]);
    assert_eq!(frames[1].2.len(), limit, "sent as it is");
    assert_eq!(frames[2].2.len(), frames[0].2.len(), "a fresh context");
    assert!(frames[3].2.len() < frames[2].2.len() / 4, "context kept");
    p.server.handle_input(Timestamp::ZERO, &wire);
    let events = drain(&mut p.server);
    assert_eq!(protocol_error(&events), None);
    assert_eq!(messages(&events), sent);
}

/// With the extension in use a whole message costs what `Config::send_queue_cost` says (it
/// goes compressed only if that is smaller), so adapters that wait for that much room never
/// get a spurious `QueueFull`; a compressed fragment counts its worst-case size.
#[test]
fn a_whole_message_costs_its_plain_size_in_the_send_queue() {
    let len = 64 << 10;
    let cfg = Config {
        limits: Limits {
            max_send_queue: Config::default().send_queue_cost(len),
            ..Limits::default()
        },
        deflate: Some(DeflateConfig::default()),
        ..Config::default()
    };
    let mut p = handshake(cfg, cfg, &Accept::default());
    for payload in [peers::prng_bytes(len), vec![b'a'; len]] {
        p.client.send_binary(payload.clone()).unwrap();
        p.server
            .handle_input(Timestamp::ZERO, &output(&mut p.client));
        assert_eq!(messages(&drain(&mut p.server)), [Message::binary(payload)]);
    }
    let e = p
        .client
        .send_fragment(MessageKind::Binary, Bytes::from(vec![b'a'; len]), true)
        .unwrap_err();
    assert!(matches!(e, SendError::QueueFull { .. }), "{e:?}");
}

#[test]
fn threshold_and_per_message_opt_out_send_plain_frames() {
    let mut p = deflate_pair(
        DeflateConfig {
            threshold: 50,
            ..DeflateConfig::default()
        },
        DeflateConfig::default(),
    );
    p.client.send_text("short").unwrap();
    p.client.send_uncompressed(Message::text(json(2))).unwrap();
    p.client
        .send_fragment_uncompressed(MessageKind::Binary, Bytes::from(vec![1u8; 300]), false)
        .unwrap();
    p.client
        .send_fragment(MessageKind::Binary, Bytes::from(vec![2u8; 300]), true)
        .unwrap();
    p.client.send_text(json(3)).unwrap();
    let wire = output(&mut p.client);
    let rsv1: Vec<bool> = parse_frames(&wire)
        .iter()
        .map(|f| f.0 & 0x40 != 0)
        .collect();
    assert_eq!(rsv1, [false, false, false, false, true]);
    p.server.handle_input(Timestamp::ZERO, &wire);
    let got = messages(&drain(&mut p.server));
    assert_eq!(got.len(), 4);
    assert_eq!(got[3], Message::text(json(3)));
}

#[test]
fn context_takeover_makes_repeats_cheap_and_no_context_takeover_does_not() {
    for nct in [false, true] {
        let mut p = deflate_pair(
            DeflateConfig {
                client_no_context_takeover: nct,
                threshold: 0,
                ..DeflateConfig::default()
            },
            DeflateConfig::default(),
        );
        assert_eq!(
            p.server
                .deflate_params()
                .unwrap()
                .client_no_context_takeover,
            nct
        );
        let text = json(42);
        p.client.send_text(text.clone()).unwrap();
        p.client.send_text(text.clone()).unwrap();
        let wire = output(&mut p.client);
        let sizes: Vec<usize> = parse_frames(&wire).iter().map(|f| f.2.len()).collect();
        if nct {
            assert_eq!(sizes[0], sizes[1], "each message on its own");
        } else {
            assert!(sizes[1] < sizes[0] / 3, "{sizes:?}: the repeat refers back");
        }
        p.server.handle_input(Timestamp::ZERO, &wire);
        assert_eq!(
            messages(&drain(&mut p.server)),
            [Message::text(text.clone()), Message::text(text)]
        );
    }
}

#[test]
fn no_negotiation_without_both_sides() {
    // The server does not run it: the client's offer is declined.
    let p = handshake(
        with_deflate(DeflateConfig::default()),
        Config::default(),
        &Accept::default(),
    );
    assert_eq!(p.client.deflate_params(), None);
    assert_eq!(p.server.deflate_params(), None);
    // The client does not offer it: nothing to accept.
    let p = handshake(
        Config::default(),
        with_deflate(DeflateConfig::default()),
        &Accept::default(),
    );
    assert_eq!(p.server.deflate_params(), None);
    // A server whose caller accepts by hand runs it with default settings.
    let p = handshake(
        with_deflate(DeflateConfig::default()),
        Config::default(),
        &Accept {
            extensions: vec!["permessage-deflate; server_no_context_takeover".into()],
            ..Accept::default()
        },
    );
    let want = DeflateParams {
        server_no_context_takeover: true,
        ..DeflateParams::default()
    };
    assert_eq!(p.server.deflate_params(), Some(&want));
    assert_eq!(p.client.deflate_params(), Some(&want));
}

#[test]
fn an_invalid_accept_answers_500() {
    let request = ClientRequest::new("ws://localhost/")
        .unwrap()
        .extension("permessage-deflate; server_max_window_bits=10");
    let mut client = Connection::client_with_random(
        &request,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(1)),
    )
    .unwrap();
    let mut server = Connection::server(Config::default(), Timestamp::ZERO);
    server.handle_input(Timestamp::ZERO, &output(&mut client));
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    let bad = Accept {
        extensions: vec!["permessage-deflate; server_max_window_bits=12".into()],
        ..Accept::default()
    };
    assert!(server.accept(Timestamp::ZERO, &bad).is_err());
    assert!(output(&mut server).starts_with(b"HTTP/1.1 500 "));
}

/// An open server and client that agreed on `params` without a handshake.
fn open_pair(
    params: DeflateParams,
    settings: DeflateConfig,
    mode: ReceiveMode,
) -> (Connection, Connection) {
    let config = Config {
        receive_mode: mode,
        ..Config::default()
    };
    let mut s = server_with(config);
    let mut c = client_with(config);
    s.use_deflate(params, settings);
    c.use_deflate(params, settings);
    (s, c)
}

#[test]
fn rsv1_cases() {
    let params = DeflateParams::default();
    let compressed = {
        let (_, mut c) = open_pair(params, DeflateConfig::default(), ReceiveMode::Messages);
        c.send_text(json(5).repeat(3)).unwrap();
        let f = parse_frames(&output(&mut c)).remove(0);
        assert_eq!(f.0, 0xc1);
        f.2
    };
    // Accepted on a first frame when negotiated.
    let (mut s, _) = open_pair(params, DeflateConfig::default(), ReceiveMode::Messages);
    s.handle_input(Timestamp::ZERO, &c2s(0xc1, &compressed));
    assert_eq!(
        drain(&mut s),
        [Event::Message(Message::text(json(5).repeat(3)))]
    );
    // Without negotiation (feature on, extension not agreed): 1002.
    let mut s = server();
    s.handle_input(Timestamp::ZERO, &c2s(0xc1, &compressed));
    assert_eq!(
        protocol_error(&drain(&mut s)),
        Some(ProtocolError::ReservedBits(4))
    );
    assert_eq!(s.close_sent().unwrap().code, CloseCode::PROTOCOL);
    let cases: [(&str, Vec<u8>); 5] = [
        ("ping", c2s(0xc9, b"p")),
        ("close", c2s(0xc8, &[3, 232])),
        (
            "continuation",
            [c2s(0x41, &compressed[..3]), c2s(0xc0, &compressed[3..])].concat(),
        ),
        ("RSV2", c2s(0xa1, b"x")),
        ("RSV1+RSV3", c2s(0xd1, &compressed)),
    ];
    for (what, bytes) in cases {
        let (mut s, _) = open_pair(params, DeflateConfig::default(), ReceiveMode::Messages);
        s.handle_input(Timestamp::ZERO, &bytes);
        let err = protocol_error(&drain(&mut s));
        assert!(
            matches!(err, Some(ProtocolError::ReservedBits(_))),
            "{what}: {err:?}"
        );
        assert_eq!(s.close_sent().unwrap().code, CloseCode::PROTOCOL, "{what}");
    }
}

#[test]
fn invalid_deflate_data_fails_with_1007_and_bad_text_fails_fast() {
    for mode in [ReceiveMode::Messages, ReceiveMode::Fragments] {
        let (mut s, _) = open_pair(DeflateParams::default(), DeflateConfig::default(), mode);
        // BTYPE 11 (reserved).
        s.handle_input(Timestamp::ZERO, &c2s(0xc2, &[0xff, 0xff, 0xff, 0xff]));
        assert_eq!(
            protocol_error(&drain(&mut s)),
            Some(ProtocolError::InvalidCompressedData)
        );
        assert_eq!(s.close_sent().unwrap().code, CloseCode::INVALID_DATA);

        // Invalid UTF-8 in the first (non-final) frame of a compressed text message fails
        // before the message ends.
        let (mut s, mut c) = open_pair(DeflateParams::default(), DeflateConfig::default(), mode);
        c.send_fragment(
            MessageKind::Binary,
            Bytes::from_static(b"ok \xff\xfe bad"),
            false,
        )
        .unwrap();
        let first = parse_frames(&output(&mut c)).remove(0);
        s.handle_input(Timestamp::ZERO, &c2s(0x41, &first.2));
        assert_eq!(
            protocol_error(&drain(&mut s)),
            Some(ProtocolError::InvalidUtf8)
        );
    }
}

#[test]
fn inflation_stops_at_the_message_limit() {
    // 4 MiB of zeros compresses to about 4 KiB; the limit is 1 MiB.
    let zeros = vec![0u8; 4 << 20];
    for mode in [ReceiveMode::Messages, ReceiveMode::Fragments] {
        let (mut s, mut c) = open_pair(DeflateParams::default(), DeflateConfig::default(), mode);
        c.send_binary(zeros.clone()).unwrap();
        let f = parse_frames(&output(&mut c)).remove(0);
        assert!(f.2.len() < 8 << 10, "{}", f.2.len());
        let mut s2 = server_with(Config {
            limits: Limits {
                max_message_size: 1 << 20,
                ..Limits::default()
            },
            receive_mode: mode,
            ..Config::default()
        });
        s2.use_deflate(DeflateParams::default(), DeflateConfig::default());
        s2.handle_input(Timestamp::ZERO, &c2s(0xc2, &f.2));
        let events = drain(&mut s2);
        let inflated: usize = events
            .iter()
            .map(|e| match e {
                Event::Fragment(f) => f.data.len(),
                _ => 0,
            })
            .sum();
        assert!(inflated <= 1 << 20);
        assert_eq!(
            protocol_error(&events),
            Some(ProtocolError::MessageTooLarge {
                len: (1 << 20) + 1,
                limit: 1 << 20
            })
        );
        assert_eq!(s2.close_sent().unwrap().code, CloseCode::TOO_BIG);
        // Under the limit it goes through.
        s.handle_input(Timestamp::ZERO, &c2s(0xc2, &f.2));
        let total: usize = drain(&mut s)
            .iter()
            .map(|e| match e {
                Event::Message(m) => m.payload().len(),
                Event::Fragment(f) => f.data.len(),
                other => panic!("{other:?}"),
            })
            .sum();
        assert_eq!(total, 4 << 20);
    }
}

#[test]
fn window_bits_8_is_honoured_in_both_roles() {
    let d = DeflateConfig {
        server_max_window_bits: 8,
        client_max_window_bits: 8,
        ..DeflateConfig::default()
    };
    let mut p = deflate_pair(d, d);
    let want = DeflateParams {
        server_max_window_bits: Some(8),
        client_max_window_bits: Some(8),
        ..DeflateParams::default()
    };
    assert_eq!(p.server.deflate_params(), Some(&want));
    assert_eq!(p.client.deflate_params(), Some(&want));
    for i in 0..20 {
        p.client.send_text(json(i).repeat(10)).unwrap();
        p.server.send_text(json(i).repeat(10)).unwrap();
    }
    p.drive();
    assert_eq!(messages(&p.server_events).len(), 20);
    assert_eq!(messages(&p.client_events).len(), 20);
}

// ----------------------------------------------------------------- property test

#[derive(Debug, Clone)]
enum Op {
    Whole(bool, usize, u8),
    /// Caller-fragmented: text?, piece lengths, compressed?
    Pieces(bool, Vec<usize>, bool),
    Plain(usize, u8),
    Ping,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 0usize..5000, any::<u8>()).prop_map(|(t, l, s)| Op::Whole(t, l, s)),
        2 => (any::<bool>(), proptest::collection::vec(0usize..1500, 1..5), any::<bool>())
            .prop_map(|(t, v, c)| Op::Pieces(t, v, c)),
        1 => (0usize..500, any::<u8>()).prop_map(|(l, s)| Op::Plain(l, s)),
        1 => (30_000usize..70_000, any::<u8>()).prop_map(|(l, s)| Op::Whole(false, l, s)),
        1 => (any::<bool>(), proptest::collection::vec(4_000usize..40_000, 2..4), any::<bool>())
            .prop_map(|(t, v, c)| Op::Pieces(t, v, c)),
        1 => Just(Op::Ping),
    ]
}

/// Text or bytes of `len`, compressible but not trivially (JSON-like with varied numbers).
fn content(text: bool, len: usize, seed: u8) -> Vec<u8> {
    let mut s = String::new();
    let mut i = usize::from(seed);
    while s.len() < len {
        s.push_str(&json(i));
        s.push('é');
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    let mut b = s.into_bytes();
    if text {
        while b.len() > len {
            b.pop();
            while std::str::from_utf8(&b).is_err() {
                b.pop();
            }
        }
    } else {
        b.truncate(len);
    }
    b
}

fn message(text: bool, data: Vec<u8>) -> Message {
    if text {
        Message::text(String::from_utf8(data).unwrap())
    } else {
        Message::binary(data)
    }
}

fn apply(conn: &mut Connection, op: &Op) -> Option<Message> {
    match op {
        Op::Whole(text, len, seed) => {
            let m = message(*text, content(*text, *len, *seed));
            conn.send(m.clone()).unwrap();
            Some(m)
        }
        Op::Plain(len, seed) => {
            let m = message(false, content(false, *len, *seed));
            conn.send_uncompressed(m.clone()).unwrap();
            Some(m)
        }
        Op::Pieces(text, pieces, compress) => {
            let whole = content(*text, pieces.iter().sum(), 9);
            let kind = if *text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            let mut at = 0;
            for (i, p) in pieces.iter().enumerate() {
                let last = i + 1 == pieces.len();
                let end = if last {
                    whole.len()
                } else {
                    (at + p).min(whole.len())
                };
                // Text pieces end on code point boundaries only for the last piece.
                let data = Bytes::copy_from_slice(&whole[at..end]);
                if *compress {
                    conn.send_fragment(kind, data, last).unwrap();
                } else {
                    conn.send_fragment_uncompressed(kind, data, last).unwrap();
                }
                at = end;
            }
            Some(message(*text, whole))
        }
        Op::Ping => {
            conn.ping(Bytes::from_static(b"ping")).unwrap();
            None
        }
    }
}

fn joined(events: &[Event]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut open: Option<(MessageKind, Vec<u8>)> = None;
    for e in events {
        match e {
            Event::Message(m) => out.push(m.clone()),
            Event::Fragment(f) => {
                if f.is_first {
                    open = Some((f.kind, Vec::new()));
                }
                let (kind, data) = open.as_mut().expect("a first piece");
                data.extend_from_slice(&f.data);
                if f.is_last {
                    out.push(message(*kind == MessageKind::Text, std::mem::take(data)));
                    open = None;
                }
            }
            Event::Error(e) => panic!("{e:?}"),
            _ => {}
        }
    }
    out
}

fn settings() -> impl Strategy<Value = DeflateConfig> {
    (
        any::<bool>(),
        any::<bool>(),
        8u8..=15,
        8u8..=15,
        prop_oneof![Just(0u8), Just(1), Just(6), Just(9)],
        1u8..=9,
        prop_oneof![Just(0usize), Just(64), Just(1000)],
    )
        .prop_map(
            |(snct, cnct, sb, cb, level, mem, threshold)| DeflateConfig {
                server_no_context_takeover: snct,
                client_no_context_takeover: cnct,
                server_max_window_bits: sb,
                client_max_window_bits: cb,
                level,
                memory_level: mem,
                threshold,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_parameter_combination_round_trips(
        client_cfg in settings(),
        server_cfg in settings(),
        ops in proptest::collection::vec(op(), 1..10),
        auto_fragment in prop_oneof![Just(None), Just(Some(1usize)), Just(Some(100)), Just(Some(4096))],
        client_mode in any::<bool>(),
        server_mode in any::<bool>(),
        chunk in 1usize..2000,
    ) {
        let mode = |f: bool| if f { ReceiveMode::Fragments } else { ReceiveMode::Messages };
        let mut c = with_deflate(client_cfg);
        c.receive_mode = mode(client_mode);
        c.auto_fragment_size = auto_fragment;
        let mut s = with_deflate(server_cfg);
        s.receive_mode = mode(server_mode);
        s.auto_fragment_size = auto_fragment;
        let mut p = handshake(c, s, &Accept::default());
        let agreed = *p.server.deflate_params().unwrap();
        prop_assert_eq!(p.client.deflate_params(), Some(&agreed));
        prop_assert_eq!(agreed.server_no_context_takeover,
            client_cfg.server_no_context_takeover || server_cfg.server_no_context_takeover);
        let mut to_server = Vec::new();
        let mut to_client = Vec::new();
        for o in &ops {
            to_server.extend(apply(&mut p.client, o));
            to_client.extend(apply(&mut p.server, o));
        }
        // Deliver in chunks of `chunk` bytes.
        let c2s = output(&mut p.client);
        let s2c = output(&mut p.server);
        let mut server_events = Vec::new();
        for piece in c2s.chunks(chunk) {
            p.server.handle_input(Timestamp::ZERO, piece);
            server_events.extend(drain(&mut p.server));
        }
        let mut client_events = Vec::new();
        for piece in s2c.chunks(chunk) {
            p.client.handle_input(Timestamp::ZERO, piece);
            client_events.extend(drain(&mut p.client));
        }
        prop_assert_eq!(joined(&server_events), to_server);
        prop_assert_eq!(joined(&client_events), to_client);
    }
}

#[test]
fn a_server_restricts_what_it_accepts() {
    // The server holds both windows to 10 bits and demands no context takeover from the
    // client; the client asked for nothing special.
    let server = DeflateConfig {
        server_max_window_bits: 10,
        client_max_window_bits: 10,
        client_no_context_takeover: true,
        ..DeflateConfig::default()
    };
    let p = deflate_pair(DeflateConfig::default(), server);
    let want = DeflateParams {
        client_no_context_takeover: true,
        server_max_window_bits: Some(10),
        client_max_window_bits: Some(10),
        ..DeflateParams::default()
    };
    assert_eq!(p.server.deflate_params(), Some(&want));
    assert_eq!(p.client.deflate_params(), Some(&want));
}

/// Found by the `pair` fuzz target: an empty message right after another compressed one
/// made zlib skip its sync flush, so the payload was empty and the receiver's appended
/// `00 00 ff ff` opened a stored block that swallowed the next message.
#[test]
fn empty_messages_between_compressed_ones_keep_the_stream_in_step() {
    for level in [0u8, 1, 6, 9] {
        for bits in [8u8, 15] {
            let d = DeflateConfig {
                level,
                server_max_window_bits: bits,
                client_max_window_bits: bits,
                threshold: 0,
                ..DeflateConfig::default()
            };
            for mode in [ReceiveMode::Messages, ReceiveMode::Fragments] {
                let params = DeflateParams {
                    server_max_window_bits: Some(bits),
                    ..DeflateParams::default()
                };
                let (mut s, mut c) = open_pair(params, d, mode);
                let sent = [
                    Message::text("\0".repeat(10)),
                    Message::text(""),
                    Message::binary(vec![0u8]),
                    Message::text(""),
                    Message::text(""),
                    Message::binary(Vec::new()),
                    Message::text(json(1)),
                ];
                // One-frame caller-fragmented messages: compressed whatever their size
                // (`send` sends a message that compression does not shrink plain).
                for m in &sent {
                    s.send_fragment(m.kind(), m.payload().clone(), true)
                        .unwrap();
                }
                let wire = output(&mut s);
                for f in parse_frames(&wire) {
                    assert_eq!(f.0 & 0x40, 0x40, "compressed");
                    assert!(!f.2.is_empty(), "an empty message is the byte 0x00");
                }
                c.handle_input(Timestamp::ZERO, &wire);
                let mut got = Vec::new();
                let mut open = Vec::new();
                for e in drain(&mut c) {
                    match e {
                        Event::Message(m) => got.push(m),
                        Event::Fragment(f) => {
                            open.extend_from_slice(&f.data);
                            if f.is_last {
                                let data = std::mem::take(&mut open);
                                got.push(message(f.kind == MessageKind::Text, data));
                            }
                        }
                        other => panic!("{other:?}"),
                    }
                }
                assert_eq!(got, sent, "level {level}, {bits} bits, {mode:?}");
            }
        }
    }
}

#[test]
fn an_empty_compressed_payload_from_a_peer_is_an_empty_message() {
    let (mut s, mut c) = open_pair(
        DeflateParams::default(),
        DeflateConfig {
            threshold: 0,
            ..DeflateConfig::default()
        },
        ReceiveMode::Messages,
    );
    c.send_text(json(1)).unwrap();
    c.send_text(json(2)).unwrap();
    let frames = parse_frames(&output(&mut c));
    let mut input = c2s(0xc1, &frames[0].2);
    input.extend(c2s(0xc1, b""));
    input.extend(c2s(0xc1, &frames[1].2));
    s.handle_input(Timestamp::ZERO, &input);
    assert_eq!(
        messages(&drain(&mut s)),
        [
            Message::text(json(1)),
            Message::text(""),
            Message::text(json(2))
        ]
    );
}

/// Found by Autobahn 12.4.16 (1000 messages of 128 KiB sent as 1 KiB frames): a call that
/// filled its output space exactly, with all the frame's input consumed, was followed by a
/// call with no input that (rightly) produced nothing, which was taken for a stream that
/// cannot go on (1007).
#[test]
fn output_that_fills_the_space_exactly_at_a_frame_end_is_not_an_error() {
    for piece in [32 * 1024, 4096, 8192, 16 * 1024, 65536] {
        for mode in [ReceiveMode::Fragments, ReceiveMode::Messages] {
            let d = DeflateConfig {
                threshold: 0,
                ..DeflateConfig::default()
            };
            let (mut s, mut c) = open_pair(DeflateParams::default(), d, mode);
            let first = content(false, piece, 1);
            c.send_fragment(MessageKind::Binary, Bytes::from(first.clone()), false)
                .unwrap();
            c.send_fragment(MessageKind::Binary, Bytes::from_static(b"end"), true)
                .unwrap();
            s.handle_input(Timestamp::ZERO, &output(&mut c));
            let events = drain(&mut s);
            assert_eq!(protocol_error(&events), None, "{piece} {mode:?}");
            let got = joined(&events);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].payload().len(), piece + 3);
        }
    }
}
