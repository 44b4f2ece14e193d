//! The rules every driver relies on, held by the core itself: every ping answered in order
//! within the pong budget, a reply sent before the next poll goes out before a failing
//! Close, the input backpressure signal, and the drain after a failure.

use wsmachine::{Config, Event, Limits, Message, Timestamp};
use wsmachine_test_support::*;

fn ms(n: u64) -> Timestamp {
    Timestamp::from_millis(n)
}

#[test]
fn ten_pings_in_one_read_get_ten_pongs_in_order() {
    let mut s = server();
    let mut input = Vec::new();
    for i in 0..10u8 {
        input.extend(c2s(0x89, &[i; 10]));
    }
    s.handle_input(ms(1), &input);
    let events = drain(&mut s);
    assert_eq!(events.len(), 10);
    let frames = parse_frames(&output(&mut s));
    assert_eq!(frames.len(), 10);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!((f.0, &f.2[..]), (0x8a, &[i as u8; 10][..]));
    }
}

#[test]
fn a_ping_flood_from_a_peer_that_never_reads_keeps_output_bounded() {
    let config = Config::default();
    let mut s = server_with(config);
    let ping = c2s(0x89, &[7u8; 125]);
    for _ in 0..100_000 {
        s.handle_input(ms(1), &ping);
        while s.poll_event().is_some() {}
        assert!(s.pending_transmit() <= config.limits.max_pong_backlog);
    }
    // The newest pongs are the ones kept, whole frames each.
    let frames = parse_frames(&output(&mut s));
    assert!(frames.len() >= config.limits.max_pong_backlog / 127 - 1);
    assert!(frames.iter().all(|f| f.0 == 0x8a && f.2 == [7u8; 125]));
}

#[test]
fn a_reply_sent_before_the_next_poll_goes_out_before_the_failing_close() {
    let mut s = server();
    // A good message, then a protocol violation (a reserved opcode), in one read.
    let mut input = c2s(0x81, b"hello");
    input.extend(c2s(0x83, b""));
    s.handle_input(ms(1), &input);
    let Some(Event::Message(m)) = s.poll_event() else {
        panic!("the message comes first")
    };
    s.send(m).unwrap(); // the echo, before asking for the next event
    let events = drain(&mut s);
    assert!(matches!(events[0], Event::Error(_)));
    assert!(matches!(events.last(), Some(Event::Closed(_))));
    let frames = parse_frames(&output(&mut s));
    assert_eq!(frames[0], (0x81, false, b"hello".to_vec()));
    assert_eq!(frames[1].0, 0x88);
    assert_eq!(&frames[1].2[..2], &1002u16.to_be_bytes());
}

#[test]
fn data_queued_before_a_failure_is_not_dropped() {
    let mut s = server();
    s.send_binary(vec![5u8; 100_000]).unwrap();
    s.send_text("second").unwrap();
    s.advance_transmit(10);
    s.handle_input(ms(1), &c2s(0x81, &[0xff])); // invalid UTF-8
    let _ = drain(&mut s);
    assert!(s.is_closed());
    let mut wire = vec![0u8; 10];
    s.write_transmit_to(&mut wire, usize::MAX);
    // The rest of the first message, "second", then the Close (1007).
    let close = b"\x88\x0f\x03\xefinvalid UTF-8";
    assert!(wire.ends_with(close));
    let before = &wire[..wire.len() - close.len()];
    assert!(before.ends_with(b"\x81\x06second"));
    assert_eq!(
        before.len(),
        10 + 100_000 + 8,
        "a 10-byte header, the payload, then \"second\""
    );
}

#[test]
fn wants_input_stops_reading_while_input_waits_to_be_parsed() {
    let config = Config {
        limits: Limits {
            input_high_water: 1000,
            ..Limits::default()
        },
        ..Config::default()
    };
    let mut s = server_with(config);
    assert!(s.wants_input());
    let mut input = Vec::new();
    for _ in 0..20 {
        input.extend(c2s(0x82, &[1u8; 100]));
    }
    s.handle_input(ms(1), &input);
    assert!(
        !s.wants_input(),
        "over the high-water mark until events are polled"
    );
    assert_eq!(drain(&mut s).len(), 20);
    assert!(s.wants_input());
    // A frame whose declared length is allowed may be read whole, past the mark.
    let big = c2s(0x82, &[2u8; 50_000]);
    s.handle_input(ms(2), &big[..30_000]);
    assert!(drain(&mut s).is_empty());
    assert!(s.wants_input(), "the frame in progress claims its bytes");
    s.handle_input(ms(3), &big[30_000..]);
    assert!(matches!(s.poll_event(), Some(Event::Message(m)) if m.payload().len() == 50_000));
}

#[test]
fn wants_input_stops_reading_while_the_peer_does_not_read_our_output() {
    let config = Config {
        limits: Limits {
            max_send_queue: 100_000,
            ..Limits::default()
        },
        ..Config::default()
    };
    let mut s = server_with(config);
    s.send(Message::binary(vec![0u8; 40_000])).unwrap();
    assert!(s.wants_input());
    s.send(Message::binary(vec![0u8; 40_000])).unwrap();
    assert!(!s.wants_input(), "over half the send queue is unwritten");
    s.advance_transmit(60_000);
    assert!(s.wants_input());
}

#[test]
fn after_a_failure_the_peer_is_drained_until_eof_or_the_drain_timeout() {
    let mut s = server();
    s.handle_input(ms(1000), &c2s(0x83, b""));
    let _ = drain(&mut s);
    assert!(s.is_closed());
    assert!(
        s.wants_input(),
        "drain the peer so our Close is not reset away"
    );
    assert_eq!(s.poll_timeout(), Some(ms(3000)));
    let _ = output(&mut s);
    assert!(!s.should_close_transport());
    s.handle_input(ms(1500), b"more bytes are discarded");
    assert!(s.poll_event().is_none());
    s.handle_timeout(ms(3000));
    assert!(!s.wants_input());
    assert!(s.should_close_transport());
    assert_eq!(s.poll_timeout(), None);

    // EOF ends the drain at once.
    let mut s = server();
    s.handle_input(ms(1), &c2s(0x83, b""));
    let _ = drain(&mut s);
    let _ = output(&mut s);
    s.handle_eof();
    assert!(s.should_close_transport());
}

#[test]
fn an_invalid_accept_gets_a_500_from_the_core() {
    let mut c = wsmachine::Connection::client(
        &wsmachine::ClientRequest::new("ws://h/").unwrap(),
        Config::default(),
        ms(0),
    )
    .unwrap();
    let mut s = wsmachine::Connection::server(Config::default(), ms(0));
    s.handle_input(ms(0), &output(&mut c));
    assert!(matches!(s.poll_event(), Some(Event::Request(_))));
    let bad = wsmachine::Accept {
        subprotocol: Some("never-offered".into()),
        ..Default::default()
    };
    assert!(s.accept(ms(0), &bad).is_err());
    let wire = String::from_utf8(output(&mut s)).unwrap();
    assert!(wire.starts_with("HTTP/1.1 500"), "{wire}");
    assert!(s.is_closed());
}

#[test]
fn a_peer_that_answers_keepalive_pings_stays_open() {
    let config = Config {
        timers: wsmachine::Timers {
            ping_interval: Some(std::time::Duration::from_millis(200)),
            pong_timeout: Some(std::time::Duration::from_millis(300)),
            ..Default::default()
        },
        ..Config::default()
    };
    let mut pair = Pair::handshake(config, ms(0));
    // Deadline to deadline on the simulated clock: pings go out, pongs come back.
    pair.run_for(std::time::Duration::from_secs(5));
    assert_eq!(pair.now, ms(5_000));
    assert!(!pair.server.is_closed() && !pair.client.is_closed());
    let pongs = |events: &[Event]| {
        events
            .iter()
            .filter(|e| matches!(e, Event::Pong(_)))
            .count()
    };
    // Both sides pinged every 200 ms of silence: about 25 pongs each way in 5 s.
    assert!(pongs(&pair.server_events) >= 20, "{:?}", pair.server_events);
    assert!(pongs(&pair.client_events) >= 20);
    assert!(
        pair.server_events
            .iter()
            .all(|e| !matches!(e, Event::Error(_)))
    );
}

#[test]
fn reading_into_the_input_buffer_reserves_the_whole_declared_frame() {
    let mut s = server();
    let frame = c2s(0x82, &[3u8; 300_000]);
    let mut at = 0;
    let mut buffers = std::collections::HashSet::new();
    while at < frame.len() {
        let buf = s.input_buffer(4096);
        let n = (frame.len() - at)
            .min(buf.capacity() - buf.len())
            .min(65_536);
        buf.extend_from_slice(&frame[at..at + n]);
        buffers.insert(buf.as_ptr() as usize);
        at += n;
        s.handle_input_appended(ms(1));
        let _ = s.poll_event().map(|e| {
            assert!(matches!(&e, Event::Message(m) if m.payload().len() == 300_000));
        });
    }
    // After the header is parsed the rest of the frame fits: the buffer moves at most twice
    // (the first small read, then one reservation for the whole frame).
    assert!(buffers.len() <= 2, "{} allocations", buffers.len());
}

#[test]
fn read_input_reads_a_large_frame_in_place_in_reads_capped_by_read_size() {
    let mut s = server();
    let frame = c2s(0x82, &[9u8; 300_000]);
    let mut at = 0;
    let mut buffers = std::collections::HashSet::new();
    let mut got = None;
    while at < frame.len() {
        let cap = s.read_size(65_536);
        let n = s.read_input(65_536, fill_from(&frame[at..])).unwrap();
        assert!(n > 0 && n <= cap, "read {n}, read_size {cap}");
        at += n;
        s.handle_input_appended(ms(1));
        if let Some(e) = s.poll_event() {
            let Event::Message(m) = e else {
                panic!("{e:?}")
            };
            got = Some(m);
        }
        buffers.insert(s.input_buffer(0).as_ptr() as usize);
        s.handle_input_appended(ms(1));
    }
    let m = got.expect("the message");
    assert_eq!(m.payload().len(), 300_000);
    assert!(m.payload().iter().all(|&b| b == 9), "unmasked in place");
    // One small first read, then the room reserved for the whole frame.
    assert!(buffers.len() <= 3, "{} buffers", buffers.len());
}

#[test]
fn a_failed_read_input_appends_nothing_and_the_next_read_goes_on() {
    let mut s = server();
    let frame = c2s(0x81, b"hello");
    let failed = s.read_input(4096, |spare| {
        spare[0].write(b'x');
        Err::<&mut [u8], _>("would block")
    });
    assert_eq!(failed, Err("would block"));
    s.handle_input_appended(ms(1));
    assert!(s.poll_event().is_none());
    assert_eq!(s.read_input(4096, fill_from(&frame)), Ok(frame.len()));
    s.handle_input_appended(ms(2));
    assert!(matches!(s.poll_event(), Some(Event::Message(m)) if m.payload() == &b"hello"[..]));
}

#[test]
fn bytes_appended_after_close_are_dropped() {
    let mut s = server();
    s.handle_eof();
    let _ = drain(&mut s);
    s.input_buffer(16).extend_from_slice(b"late");
    s.handle_input_appended(ms(1));
    assert!(s.poll_event().is_none());
    assert!(s.input_buffer(0).is_empty());
}

#[test]
fn a_client_that_got_the_servers_close_reads_on_until_the_servers_eof() {
    let mut c = client();
    c.handle_input(ms(1), &s2c(0x88, &[0x03, 0xe8]));
    let events = drain(&mut c);
    assert!(matches!(events[0], Event::CloseReceived(_)));
    assert!(!c.is_closed(), "the server ends TCP first");
    let echo = parse_frames(&output(&mut c));
    assert_eq!(echo[0].0, 0x88, "the client echoed the Close");
    assert!(
        c.wants_input(),
        "keep reading, or the server's EOF is never seen"
    );
    c.handle_input(ms(2), b"bytes after the Close are discarded");
    assert!(c.poll_event().is_none());
    c.handle_eof();
    let events = drain(&mut c);
    assert!(matches!(events.last(), Some(Event::Closed(r)) if r.clean));
    assert!(!c.wants_input());
    assert!(c.should_close_transport());
}
