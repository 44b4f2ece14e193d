//! The close handshake in both directions, the lenient close model, and every timer on a
//! caller-driven clock.

use std::time::Duration;
use wsmachine::{
    Bytes, CloseCode, Closer, Config, ConnectionError, Event, SendError, State, Timeout, Timers,
    Timestamp,
};
use wsmachine_test_support::*;

fn ms(n: u64) -> Timestamp {
    Timestamp::from_millis(n)
}

fn closed(events: &[Event]) -> &wsmachine::CloseReport {
    match events.last() {
        Some(Event::Closed(r)) => r,
        other => panic!("expected Closed last, got {other:?} in {events:?}"),
    }
}

#[test]
fn client_initiated_close_is_clean_and_the_server_ends_tcp() {
    let mut pair = Pair::new(Config::default());
    pair.client
        .close(Timestamp::ZERO, CloseCode::NORMAL, "bye")
        .unwrap();
    assert_eq!(pair.client.state(), State::Closing);
    assert_eq!(pair.client.send_text("late"), Err(SendError::Closing));
    pair.drive();
    let report = closed(&pair.server_events);
    assert!(report.clean);
    assert_eq!(report.closed_by, Closer::Us);
    assert_eq!(report.code(), CloseCode::NORMAL);
    assert!(pair.server.should_close_transport());
    // The client has both Closes and waits for the server's EOF.
    assert_eq!(pair.client.state(), State::Closing);
    pair.client.handle_eof();
    let events = drain(&mut pair.client);
    let report = closed(&events);
    assert!(report.clean);
    assert_eq!(report.closed_by, Closer::Peer);
    assert_eq!(report.sent.as_ref().unwrap().reason, "bye");
}

#[test]
fn server_initiated_close_is_echoed_and_the_server_ends_tcp() {
    let mut pair = Pair::new(Config::default());
    pair.server
        .close(Timestamp::ZERO, CloseCode(4001), "policy")
        .unwrap();
    pair.drive();
    assert!(matches!(&pair.client_events[0], Event::CloseReceived(f) if f.code == CloseCode(4001)));
    let report = closed(&pair.server_events);
    assert!(report.clean);
    assert_eq!(report.code(), CloseCode(4001));
    assert!(pair.server.is_closed());
    assert!(!pair.client.is_closed());
}

#[test]
fn client_gives_up_on_a_server_that_keeps_tcp_open() {
    let config = Config {
        timers: Timers {
            close_timeout: Some(Duration::from_secs(2)),
            ..Timers::default()
        },
        ..Config::default()
    };
    let mut pair = Pair::new(config);
    pair.client.handle_timeout(ms(1000));
    pair.server
        .close(Timestamp::ZERO, CloseCode::NORMAL, "")
        .unwrap();
    pair.drive();
    // The close timer started when the client read the server's Close, at its time 1000.
    assert_eq!(pair.client.poll_timeout(), Some(ms(3000)));
    pair.client.handle_timeout(ms(2999));
    assert!(drain(&mut pair.client).is_empty());
    pair.client.handle_timeout(ms(3000));
    let events = drain(&mut pair.client);
    let report = closed(&events);
    assert!(report.clean, "both Closes were exchanged");
    assert_eq!(report.closed_by, Closer::Us);
}

#[test]
fn close_timeout_without_an_answer_is_an_error_then_closed() {
    let config = Config {
        timers: Timers {
            close_timeout: Some(Duration::from_secs(1)),
            ..Timers::default()
        },
        ..Config::default()
    };
    let mut s = server_with(config);
    s.close(Timestamp::ZERO, CloseCode::GOING_AWAY, "").unwrap();
    s.handle_timeout(ms(0));
    s.handle_timeout(ms(999));
    assert!(drain(&mut s).is_empty());
    // Messages still arrive while we wait for the peer's Close.
    s.handle_input(Timestamp::ZERO, &c2s(0x81, b"still here"));
    assert_eq!(drain(&mut s).len(), 1);
    s.handle_timeout(ms(1000));
    let events = drain(&mut s);
    assert_eq!(
        events[0],
        Event::Error(ConnectionError::Timeout(Timeout::Close))
    );
    let report = closed(&events);
    assert!(!report.clean);
    assert_eq!(report.code(), CloseCode::ABNORMAL);
}

#[test]
fn keepalive_pings_a_silent_peer_then_declares_it_dead() {
    let config = Config {
        timers: Timers {
            ping_interval: Some(Duration::from_secs(10)),
            pong_timeout: Some(Duration::from_secs(5)),
            ..Timers::default()
        },
        ..Config::default()
    };
    let mut s = server_with(config);
    s.handle_timeout(ms(0));
    assert_eq!(s.poll_timeout(), Some(ms(10_000)));
    s.handle_timeout(ms(10_000));
    let frames = parse_frames(&output(&mut s));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, 0x89, "a ping");
    assert_eq!(s.poll_timeout(), Some(ms(15_000)));
    // Early and repeated calls are harmless.
    s.handle_timeout(ms(12_000));
    s.handle_timeout(ms(12_000));
    assert!(drain(&mut s).is_empty());
    s.send_text("queued for a dead peer").unwrap();
    s.handle_timeout(ms(15_000));
    let events = drain(&mut s);
    assert_eq!(
        events[0],
        Event::Error(ConnectionError::Timeout(Timeout::Keepalive))
    );
    assert!(!closed(&events).clean);
    // Nothing is written to a dead peer, and sends are refused without panicking.
    assert_eq!(s.pending_transmit(), 0);
    assert_eq!(s.send_text("x"), Err(SendError::Closed));
    assert!(s.should_close_transport());
}

#[test]
fn any_input_counts_as_life_and_the_ping_is_due_an_interval_after_the_last_byte() {
    let config = Config {
        timers: Timers {
            ping_interval: Some(Duration::from_secs(10)),
            pong_timeout: Some(Duration::from_secs(5)),
            ..Timers::default()
        },
        ..Config::default()
    };
    let mut s = server_with(config);
    s.handle_input(ms(4_000), &c2s(0x8a, b"unsolicited pong"));
    let _ = drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(ms(14_000)));
    s.handle_timeout(ms(13_999));
    assert!(output(&mut s).is_empty(), "no ping before the interval");
    s.handle_timeout(ms(14_000));
    assert_eq!(parse_frames(&output(&mut s))[0].0, 0x89);
    assert_eq!(s.poll_timeout(), Some(ms(19_000)));
    // The pong arrives: alive; the next ping is an interval after it.
    s.handle_input(ms(16_000), &c2s(0x8a, &1u64.to_be_bytes()));
    let _ = drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(ms(26_000)));
    s.handle_timeout(ms(25_000));
    assert!(!s.is_closed());
}

/// With the default timers, a peer silent since the handshake is found dead exactly
/// `ping_interval + pong_timeout` (60 s) after its last byte, not a window later.
#[test]
fn a_silent_peer_is_failed_ping_interval_plus_pong_timeout_after_its_last_byte() {
    let mut pair = Pair::handshake(Config::default(), ms(5_000));
    let s = &mut pair.server;
    // The handshake's last byte reached the server at 5 s.
    assert_eq!(s.poll_timeout(), Some(ms(35_000)));
    s.handle_timeout(ms(35_000));
    assert_eq!(
        parse_frames(&output(s))[0].0,
        0x89,
        "a keepalive ping at 35 s"
    );
    s.handle_timeout(ms(64_999));
    assert!(!s.is_closed());
    s.handle_timeout(ms(65_000));
    let events = drain(s);
    assert_eq!(
        events[0],
        Event::Error(ConnectionError::Timeout(Timeout::Keepalive))
    );
    assert!(s.is_closed());
}

#[test]
fn handshake_timeout_closes_a_slow_loris_server_connection() {
    let config = Config {
        timers: Timers {
            handshake_timeout: Some(Duration::from_secs(3)),
            ..Timers::default()
        },
        ..Config::default()
    };
    let mut s = wsmachine::Connection::server(config, ms(100));
    assert_eq!(s.poll_timeout(), Some(ms(3100)));
    s.handle_input(Timestamp::ZERO, b"GET / HT");
    let _ = drain(&mut s);
    s.handle_timeout(ms(3100));
    let events = drain(&mut s);
    assert_eq!(
        events[0],
        Event::Error(ConnectionError::Timeout(Timeout::Handshake))
    );
    assert!(!closed(&events).clean);
}

#[test]
fn idle_timeout_starts_a_going_away_close() {
    let config = Config {
        timers: Timers {
            idle_timeout: Some(Duration::from_secs(60)),
            ping_interval: None,
            ..Timers::default()
        },
        ..Config::default()
    };
    let mut s = server_with(config);
    s.handle_timeout(ms(0));
    s.handle_input(Timestamp::ZERO, &c2s(0x82, b"activity"));
    let _ = drain(&mut s);
    s.handle_timeout(ms(60_000));
    assert!(
        drain(&mut s).is_empty(),
        "there was activity in the first period"
    );
    s.handle_timeout(ms(120_000));
    let events = drain(&mut s);
    assert_eq!(
        events,
        vec![Event::Error(ConnectionError::Timeout(Timeout::Idle))]
    );
    let frames = parse_frames(&output(&mut s));
    assert_eq!(frames[0].0, 0x88);
    assert_eq!(&frames[0].2[..2], &1001u16.to_be_bytes());
}

#[test]
fn eof_after_our_close_before_theirs_is_unclean() {
    let mut s = server();
    s.close(Timestamp::ZERO, CloseCode::NORMAL, "").unwrap();
    s.handle_eof();
    let events = drain(&mut s);
    let report = closed(&events);
    assert!(!report.clean);
    assert_eq!(report.closed_by, Closer::Peer);
    assert_eq!(report.code(), CloseCode::ABNORMAL);
}

#[test]
fn reset_drops_queued_output_and_later_calls_are_no_ops() {
    let mut s = server();
    s.send_binary(vec![0u8; 100_000]).unwrap();
    assert!(s.pending_transmit() > 100_000);
    s.handle_reset();
    let events = drain(&mut s);
    assert!(!closed(&events).clean);
    assert_eq!(s.pending_transmit(), 0);
    for _ in 0..3 {
        s.handle_input(Timestamp::ZERO, b"x");
        s.handle_eof();
        s.handle_reset();
        s.handle_write_closed();
        s.handle_timeout(ms(1 << 40));
        assert!(s.poll_event().is_none());
        assert_eq!(
            s.close(Timestamp::ZERO, CloseCode::NORMAL, ""),
            Err(SendError::Closed)
        );
        assert_eq!(s.ping(Bytes::new()), Err(SendError::Closed));
    }
}

#[test]
fn messages_received_before_eof_are_all_delivered() {
    let mut s = server();
    let mut input = c2s(0x81, b"one");
    input.extend(c2s(0x82, b"two"));
    input.extend(&c2s(0x81, b"three")[..4]);
    s.handle_input(Timestamp::ZERO, &input);
    s.handle_eof();
    let events = drain(&mut s);
    assert_eq!(events.len(), 3);
    assert!(matches!(&events[0], Event::Message(m) if m.payload() == "one"));
    assert!(matches!(&events[1], Event::Message(m) if m.payload() == "two"));
    assert!(matches!(&events[2], Event::Closed(r) if !r.clean));
}

#[test]
fn control_frames_go_out_between_fragments_of_a_large_message() {
    let config = Config {
        auto_fragment_size: Some(1000),
        ..Config::default()
    };
    let mut s = server_with(config);
    s.send_binary(vec![9u8; 10_000]).unwrap();
    s.advance_transmit(500); // the first frame is being written
    s.handle_input(Timestamp::ZERO, &c2s(0x89, b"ping"));
    let _ = drain(&mut s);
    s.close(Timestamp::ZERO, CloseCode::NORMAL, "").unwrap();
    let mut rest = vec![0u8; 0];
    // Reassemble what was "written" plus the rest.
    let mut full = Vec::new();
    {
        let mut fresh = server_with(config);
        fresh.send_binary(vec![9u8; 10_000]).unwrap();
        full.extend(output(&mut fresh)[..500].iter());
    }
    s.write_transmit_to(&mut rest, usize::MAX);
    full.extend(rest);
    let frames = parse_frames(&full);
    let ops: Vec<u8> = frames.iter().map(|f| f.0).collect();
    // First data frame finished, then the pong, then the rest of the message, then Close.
    assert_eq!(ops[0], 0x02);
    assert_eq!(ops[1], 0x8a);
    assert_eq!(
        ops[2..11],
        [0x00; 9][..8]
            .iter()
            .copied()
            .chain([0x80])
            .collect::<Vec<_>>()[..]
    );
    assert_eq!(*ops.last().unwrap(), 0x88);
}

#[test]
fn send_queue_limit_is_a_visible_backpressure_signal() {
    let config = Config {
        limits: wsmachine::Limits {
            max_send_queue: 10_000,
            ..Default::default()
        },
        ..Config::default()
    };
    let mut s = server_with(config);
    assert_eq!(s.send_capacity(), 10_000);
    s.send_binary(vec![0u8; 6000]).unwrap();
    assert!(s.send_capacity() < 4000);
    assert!(matches!(
        s.send_binary(vec![0u8; 6000]),
        Err(SendError::QueueFull { .. })
    ));
    // Control frames still go: a pong to a ping.
    s.handle_input(Timestamp::ZERO, &c2s(0x89, b""));
    let _ = drain(&mut s);
    assert_eq!(s.pending_pongs(), 1);
    s.advance_transmit(s.pending_transmit());
    assert_eq!(s.send_capacity(), 10_000);
    s.send_binary(vec![0u8; 6000]).unwrap();
}

#[test]
fn api_misuse_is_a_typed_error() {
    let mut s = server();
    assert_eq!(
        s.close(Timestamp::ZERO, CloseCode(1005), ""),
        Err(SendError::InvalidCloseCode(1005))
    );
    assert_eq!(
        s.close(Timestamp::ZERO, CloseCode::NORMAL, &"x".repeat(124)),
        Err(SendError::ReasonTooLong(124))
    );
    assert_eq!(
        s.ping(Bytes::from(vec![0; 126])),
        Err(SendError::ControlTooLong(126))
    );
    assert_eq!(
        s.send_fragment(
            wsmachine::MessageKind::Text,
            Bytes::from_static(b"\xff"),
            true
        ),
        Err(SendError::InvalidUtf8)
    );
    s.send_fragment(
        wsmachine::MessageKind::Text,
        Bytes::from_static(b"\xf0\x9f"),
        false,
    )
    .unwrap();
    assert_eq!(s.send_text("whole"), Err(SendError::MessageInProgress));
    assert_eq!(
        s.send_fragment(wsmachine::MessageKind::Binary, Bytes::new(), true),
        Err(SendError::KindMismatch)
    );
    assert_eq!(
        s.send_fragment(
            wsmachine::MessageKind::Text,
            Bytes::from_static(b"\x98"),
            true
        ),
        Err(SendError::InvalidUtf8)
    );
    s.send_fragment(
        wsmachine::MessageKind::Text,
        Bytes::from_static(b"\x98\x80"),
        true,
    )
    .unwrap();
    assert!(SendError::KindMismatch.is_api_misuse());
    assert!(!SendError::Closed.is_api_misuse());
}
