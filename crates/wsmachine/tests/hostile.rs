//! Hostile input, one row per test: each asserts the close code sent, that the connection is
//! Closed, and that no event follows.

use wsmachine::{
    CloseCode, Config, Connection, ConnectionError, Event, Limits, ProtocolError, State,
};
use wsmachine_test_support::*;

/// Feeds `input` to `conn` and returns its events; asserts the last two are Error(protocol)
/// and Closed, and that the Close frame sent carries `code`.
fn expect_failure(mut conn: Connection, input: &[u8], code: u16) -> (Vec<Event>, ProtocolError) {
    conn.handle_input(wsmachine::Timestamp::ZERO, input);
    let events = drain(&mut conn);
    let n = events.len();
    assert!(n >= 2, "expected an error and Closed, got {events:?}");
    let err = match &events[n - 2] {
        Event::Error(ConnectionError::Protocol(e, _)) => *e,
        other => panic!("expected a protocol error, got {other:?} in {events:?}"),
    };
    assert_eq!(err.close_code(), CloseCode(code), "{err:?}");
    let Event::Closed(report) = &events[n - 1] else {
        panic!("expected Closed last: {events:?}")
    };
    assert!(!report.clean);
    assert_eq!(report.code(), CloseCode::ABNORMAL);
    assert_eq!(report.sent.as_ref().map(|f| f.code), Some(CloseCode(code)));
    assert_eq!(conn.state(), State::Closed);
    // The Close frame with the code is on the wire, and nothing else after it.
    let out = output(&mut conn);
    let frames = parse_frames(&out);
    let last = frames.last().expect("a Close frame");
    assert_eq!(last.0, 0x88);
    assert_eq!(&last.2[..2], &code.to_be_bytes());
    // No further event, whatever comes next.
    conn.handle_input(wsmachine::Timestamp::ZERO, &c2s(0x81, b"more"));
    conn.handle_eof();
    assert!(conn.poll_event().is_none());
    assert!(conn.transmit_slices().next().is_none());
    (events, err)
}

#[test]
fn huge_declared_length_fails_from_the_header_alone() {
    let mut input = vec![0x82, 0xff];
    input.extend_from_slice(&(i64::MAX as u64).to_be_bytes());
    input.extend_from_slice(&KEY);
    let (_, err) = expect_failure(server(), &input, 1009);
    assert!(matches!(err, ProtocolError::FrameTooLarge { .. }));
}

#[test]
fn length_with_top_bit_set_is_a_protocol_error() {
    let mut input = vec![0x82, 0xff];
    input.extend_from_slice(&u64::MAX.to_be_bytes());
    input.extend_from_slice(&KEY);
    expect_failure(server(), &input, 1002);
}

#[test]
fn a_million_one_byte_continuations_hit_the_fragment_limit() {
    let mut input = c2s(0x02, b"x");
    let cont = c2s(0x00, b"x");
    for _ in 0..1_000_000 {
        input.extend_from_slice(&cont);
    }
    let (events, err) = expect_failure(server(), &input, 1008);
    assert_eq!(
        err,
        ProtocolError::TooManyFragments(Limits::default().max_fragments + 1)
    );
    assert_eq!(events.len(), 2);
}

#[test]
fn masked_frame_to_a_client() {
    expect_failure(client(), &c2s(0x81, b"hi"), 1002);
}

#[test]
fn unmasked_frame_to_a_server() {
    expect_failure(server(), &s2c(0x81, b"hi"), 1002);
}

#[test]
fn rsv2_set() {
    expect_failure(server(), &c2s(0xa1, b"hi"), 1002);
}

#[test]
fn reserved_opcodes() {
    expect_failure(server(), &c2s(0x83, b""), 1002);
    expect_failure(server(), &c2s(0x8b, b""), 1002);
}

#[test]
fn ping_of_126_bytes() {
    expect_failure(server(), &c2s(0x89, &[0; 126]), 1002);
}

#[test]
fn ping_with_fin_clear() {
    expect_failure(server(), &c2s(0x09, b""), 1002);
}

#[test]
fn orphan_continuation() {
    expect_failure(server(), &c2s(0x80, b"x"), 1002);
}

#[test]
fn text_frame_while_a_message_is_open() {
    let mut input = c2s(0x01, b"a");
    input.extend(c2s(0x81, b"b"));
    expect_failure(server(), &input, 1002);
}

#[test]
fn one_byte_close() {
    expect_failure(server(), &c2s(0x88, &[3]), 1002);
}

#[test]
fn close_codes_that_must_not_be_on_the_wire() {
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 5000] {
        let (_, err) = expect_failure(server(), &c2s(0x88, &code.to_be_bytes()), 1002);
        assert_eq!(err, ProtocolError::InvalidCloseCode(code));
    }
}

#[test]
fn invalid_utf8_in_a_close_reason() {
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"\xff");
    expect_failure(server(), &c2s(0x88, &payload), 1007);
}

#[test]
fn surrogate_in_first_of_three_fragments_fails_before_the_message_ends() {
    // Only the first fragment is fed: the failure must not wait for the rest.
    let (events, err) = expect_failure(server(), &c2s(0x01, b"ok\xed\xa0\x80"), 1007);
    assert_eq!(err, ProtocolError::InvalidUtf8);
    assert_eq!(events.len(), 2);
}

#[test]
fn surrogate_in_a_partly_received_frame_fails_at_once() {
    // Header promises 100 bytes; the bad bytes are in the first 10.
    let frame = c2s(0x81, &[b"abc\xed\xa0\x80".as_slice(), &[b'a'; 94]].concat());
    expect_failure(server(), &frame[..2 + 4 + 10], 1007);
}

#[test]
fn four_byte_code_point_split_across_fragments_is_accepted() {
    let smile = "😀".as_bytes();
    let mut conn = server();
    let mut input = c2s(0x01, &smile[..2]);
    input.extend(c2s(0x80, &smile[2..]));
    conn.handle_input(wsmachine::Timestamp::ZERO, &input);
    let events = drain(&mut conn);
    assert_eq!(events, vec![Event::Message(wsmachine::Message::text("😀"))]);
}

#[test]
fn close_then_text_and_garbage_in_one_buffer() {
    let mut conn = server();
    let mut input = c2s(0x88, &1000u16.to_be_bytes());
    input.extend(c2s(0x81, b"after close"));
    input.extend_from_slice(&[0xff; 64]);
    conn.handle_input(wsmachine::Timestamp::ZERO, &input);
    let events = drain(&mut conn);
    assert!(matches!(&events[0], Event::CloseReceived(f) if f.code == CloseCode::NORMAL));
    let Event::Closed(report) = &events[1] else {
        panic!("{events:?}")
    };
    assert!(report.clean);
    assert_eq!(events.len(), 2);
    // The echo is queued: a Close with 1000.
    let frames = parse_frames(&output(&mut conn));
    assert_eq!(frames, vec![(0x88, false, 1000u16.to_be_bytes().to_vec())]);
}

#[test]
fn header_promising_100_bytes_then_10_then_eof() {
    let mut conn = server();
    let frame = c2s(0x82, &[7; 100]);
    conn.handle_input(wsmachine::Timestamp::ZERO, &frame[..2 + 4 + 10]);
    assert!(drain(&mut conn).is_empty());
    conn.handle_eof();
    let events = drain(&mut conn);
    let [Event::Closed(report)] = &events[..] else {
        panic!("{events:?}")
    };
    assert!(!report.clean);
    assert_eq!(report.code(), CloseCode::ABNORMAL);
    // Later calls are harmless no-ops.
    assert_eq!(
        conn.handle_input(wsmachine::Timestamp::ZERO, b"x"),
        State::Closed
    );
    assert_eq!(conn.handle_eof(), State::Closed);
    assert_eq!(conn.handle_reset(), State::Closed);
    conn.handle_timeout(wsmachine::Timestamp::from_millis(1_000_000));
    assert!(conn.poll_event().is_none());
    assert_eq!(conn.send_text("x"), Err(wsmachine::SendError::Closed));
    assert!(conn.poll_timeout().is_none());
}

#[test]
fn a_hundred_thousand_pings_never_drained_keep_only_the_latest_pongs_within_the_budget() {
    let mut conn = server();
    let mut input = Vec::new();
    for i in 0..100_000u32 {
        input.extend(c2s(0x89, &i.to_be_bytes()));
    }
    conn.handle_input(wsmachine::Timestamp::ZERO, &input);
    let events = drain(&mut conn);
    assert_eq!(events.len(), 100_000);
    let budget = Config::default().limits.max_pong_backlog;
    let kept = budget / 6; // each pong is 2 + 4 bytes
    assert_eq!(conn.pending_pongs(), kept);
    assert_eq!(conn.pending_transmit(), kept * 6);
    let frames = parse_frames(&output(&mut conn));
    let expect: Vec<_> = (100_000 - kept as u32..100_000)
        .map(|i| (0x8a, false, i.to_be_bytes().to_vec()))
        .collect();
    assert_eq!(frames, expect, "the latest pongs, in order");
}

#[test]
fn message_over_the_limit_fails_at_the_header_that_passes_it() {
    let config = Config {
        limits: Limits {
            max_message_size: 10,
            ..Limits::default()
        },
        ..Config::default()
    };
    let mut input = c2s(0x02, &[1; 6]);
    input.extend(c2s(0x80, &[1; 6]));
    expect_failure(server_with(config), &input, 1009);
}
