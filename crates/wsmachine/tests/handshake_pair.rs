//! A client core and a server core run the opening handshake against each other in memory,
//! then exchange messages; pipelined frame bytes on either side are not lost.

use wsmachine::handshake::Accept;
use wsmachine::random::SeededRandom;
use wsmachine::{
    ClientRequest, CloseCode, Config, Connection, ConnectionError, Event, Message, State, Timestamp,
};
use wsmachine_test_support::*;

fn handshake_pair(
    protocols: &[&str],
    choose: Option<&str>,
) -> (Connection, Connection, Vec<Event>) {
    let mut request = ClientRequest::new("ws://example.com:9001/chat?room=1").unwrap();
    for p in protocols {
        request = request.subprotocol(*p);
    }
    let mut client = Connection::client_with_random(
        &request,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(1)),
    )
    .unwrap();
    let mut server = Connection::server(Config::default(), Timestamp::ZERO);
    assert_eq!(client.state(), State::Connecting);
    server.handle_input(Timestamp::ZERO, &output(&mut client));
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("no request")
    };
    assert_eq!(req.path, "/chat");
    assert_eq!(req.query.as_deref(), Some("room=1"));
    assert_eq!(req.header("host"), Some(&b"example.com:9001"[..]));
    server
        .accept(
            Timestamp::ZERO,
            &Accept {
                subprotocol: choose.map(String::from),
                ..Accept::default()
            },
        )
        .unwrap();
    assert_eq!(server.state(), State::Open);
    client.handle_input(Timestamp::ZERO, &output(&mut server));
    let events = drain(&mut client);
    (client, server, events)
}

#[test]
fn client_and_server_complete_the_handshake_in_memory() {
    let (mut client, mut server, events) = handshake_pair(&["chat.v2", "chat.v1"], Some("chat.v1"));
    let [Event::Connected(response)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(response.status, 101);
    assert_eq!(response.subprotocol.as_deref(), Some("chat.v1"));
    assert_eq!(client.state(), State::Open);
    client.send_text("hello").unwrap();
    server.handle_input(Timestamp::ZERO, &output(&mut client));
    assert_eq!(
        drain(&mut server),
        vec![Event::Message(Message::text("hello"))]
    );
    server.send_binary(vec![1, 2, 3]).unwrap();
    client.handle_input(Timestamp::ZERO, &output(&mut server));
    assert_eq!(
        drain(&mut client),
        vec![Event::Message(Message::binary(vec![1, 2, 3]))]
    );
}

#[test]
fn frames_in_the_same_read_as_the_response_are_not_lost() {
    let request = ClientRequest::new("ws://h/").unwrap();
    let mut client = Connection::client_with_random(
        &request,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(2)),
    )
    .unwrap();
    let mut server = Connection::server(Config::default(), Timestamp::ZERO);
    // The client pipelines nothing here; the server answers and sends at once.
    server.handle_input(Timestamp::ZERO, &output(&mut client));
    let Some(Event::Request(_)) = server.poll_event() else {
        panic!()
    };
    server.accept(Timestamp::ZERO, &Accept::default()).unwrap();
    server.send_text("first").unwrap();
    server.send_text("second").unwrap();
    let bytes = output(&mut server);
    // Fed in every split: the two messages always follow Connected.
    for cut in 0..bytes.len() {
        let mut c = Connection::client_with_random(
            &request,
            Config::default(),
            Timestamp::ZERO,
            Box::new(SeededRandom::from_u64(2)),
        )
        .unwrap();
        let _ = output(&mut c);
        c.handle_input(Timestamp::ZERO, &bytes[..cut]);
        let mut events = drain(&mut c);
        c.handle_input(Timestamp::ZERO, &bytes[cut..]);
        events.extend(drain(&mut c));
        assert_eq!(events.len(), 3, "cut {cut}: {events:?}");
        assert!(matches!(events[0], Event::Connected(_)));
        assert_eq!(events[1], Event::Message(Message::text("first")));
        assert_eq!(events[2], Event::Message(Message::text("second")));
    }
}

#[test]
fn a_client_that_pipelines_its_first_frame_is_served_after_accept() {
    let request = ClientRequest::new("ws://h/").unwrap();
    let mut client = Connection::client_with_random(
        &request,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(3)),
    )
    .unwrap();
    let mut bytes = output(&mut client);
    // Masked text frame "hi" right after the request, as a pipelining client would.
    bytes.extend(c2s(0x81, b"hi"));
    let mut server = Connection::server(Config::default(), Timestamp::ZERO);
    server.handle_input(Timestamp::ZERO, &bytes);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    assert!(
        server.poll_event().is_none(),
        "frames wait for the decision"
    );
    server.accept(Timestamp::ZERO, &Accept::default()).unwrap();
    assert_eq!(
        drain(&mut server),
        vec![Event::Message(Message::text("hi"))]
    );
}

#[test]
fn a_rejected_request_gets_the_callers_response_and_closes() {
    let request = ClientRequest::new("ws://h/").unwrap();
    let mut client = Connection::client_with_random(
        &request,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(4)),
    )
    .unwrap();
    let mut server = Connection::server(Config::default(), Timestamp::ZERO);
    server.handle_input(Timestamp::ZERO, &output(&mut client));
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.reject(403, &[], b"no").unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Closed(_))));
    let response = output(&mut server);
    assert!(response.starts_with(b"HTTP/1.1 403"));
    assert!(server.should_close_transport());
    client.handle_input(Timestamp::ZERO, &response);
    let events = drain(&mut client);
    let Event::Error(ConnectionError::Handshake(e)) = &events[0] else {
        panic!("{events:?}")
    };
    assert!(
        matches!(e, wsmachine::HandshakeError::Status { status: 403, .. }),
        "{e:?}"
    );
    assert!(matches!(events[1], Event::Closed(_)));
}

#[test]
fn a_bad_upgrade_gets_an_http_error_response() {
    let mut server = Connection::server(Config::default(), Timestamp::ZERO);
    server.handle_input(Timestamp::ZERO, b"GET / HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Version: 8\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    let events = drain(&mut server);
    assert!(matches!(
        &events[0],
        Event::Error(ConnectionError::Handshake(_))
    ));
    assert!(matches!(&events[1], Event::Closed(_)));
    let response = String::from_utf8(output(&mut server)).unwrap();
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13")
    );
}

#[test]
fn eof_during_the_handshake_is_a_clean_result_not_a_panic() {
    let request = ClientRequest::new("ws://h/").unwrap();
    let mut client = Connection::client_with_random(
        &request,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(5)),
    )
    .unwrap();
    let req = output(&mut client);
    for cut in [0, 1, req.len() / 2, req.len() - 1] {
        let mut server = Connection::server(Config::default(), Timestamp::ZERO);
        server.handle_input(Timestamp::ZERO, &req[..cut]);
        server.handle_eof();
        let events = drain(&mut server);
        let Some(Event::Closed(report)) = events.last() else {
            panic!("{events:?}")
        };
        assert!(!report.clean);
        assert_eq!(report.code(), CloseCode::ABNORMAL);
    }
    client.handle_reset();
    assert!(matches!(drain(&mut client).last(), Some(Event::Closed(_))));
}

#[test]
fn control_frames_right_after_accept_follow_the_101_response() {
    let request = ClientRequest::new("ws://h/").unwrap();
    let mut client = Connection::client_with_random(
        &request,
        Config::default(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(6)),
    )
    .unwrap();
    let mut bytes = output(&mut client);
    // A pipelined ping: the auto-pong must not overtake the 101 either.
    bytes.extend(c2s(0x89, b"early"));
    let mut server = Connection::server(Config::default(), Timestamp::ZERO);
    server.handle_input(Timestamp::ZERO, &bytes);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Timestamp::ZERO, &Accept::default()).unwrap();
    server.ping(wsmachine::Bytes::from_static(b"p")).unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Ping(_))));
    server.send_text("data").unwrap();
    let out = output(&mut server);
    assert!(
        out.starts_with(b"HTTP/1.1 101"),
        "{:?}",
        String::from_utf8_lossy(&out[..20])
    );
    client.handle_input(Timestamp::ZERO, &out);
    let events = drain(&mut client);
    assert!(matches!(events[0], Event::Connected(_)), "{events:?}");
    assert!(events.contains(&Event::Message(Message::text("data"))));
}
