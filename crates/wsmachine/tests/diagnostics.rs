//! Structured diagnostics: every protocol failure says where it happened (the offending
//! frame's offset in the received stream, its index, its first two header bytes), whatever
//! the chunking and whichever input call brought the bytes; the close codes stay the same.

use wsmachine::{
    Accept, BytesMut, CloseCode, Config, Connection, ConnectionError, Diagnostic, Event, Limits,
    ProtocolError, Timestamp,
};
use wsmachine_test_support::*;

const T0: Timestamp = Timestamp::ZERO;

/// How the bytes reach the connection.
#[derive(Clone, Copy, Debug)]
enum Feed {
    Copied,
    Owned,
    Appended,
}

/// Feeds `input` in chunks of `chunk` bytes the `feed` way, polling events after each, and
/// returns the protocol error and its diagnostic (panics if there is none).
fn failure_with(
    mut conn: Connection,
    input: &[u8],
    chunk: usize,
    feed: Feed,
) -> (ProtocolError, Diagnostic) {
    let mut events = Vec::new();
    for part in input.chunks(chunk.max(1)) {
        match feed {
            Feed::Copied => {
                conn.handle_input(T0, part);
            }
            Feed::Owned => {
                conn.handle_input_owned(T0, BytesMut::from(part));
            }
            Feed::Appended => {
                conn.input_buffer(part.len()).extend_from_slice(part);
                conn.handle_input_appended(T0);
            }
        }
        events.extend(drain(&mut conn));
    }
    let found = events.iter().find_map(|e| match e {
        Event::Error(ConnectionError::Protocol(p, at)) => Some((*p, *at)),
        _ => None,
    });
    let (error, at) = found.unwrap_or_else(|| panic!("no protocol error in {events:?}"));
    // The close code is the error's, as before diagnostics existed.
    let report = events.iter().find_map(|e| match e {
        Event::Closed(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(
        report.and_then(|r| r.sent).map(|f| f.code),
        Some(error.close_code())
    );
    (error, at)
}

/// The failure of `make()` fed `input`, checked to be the same for every chunk size and
/// every way of feeding.
fn failure(make: impl Fn() -> Connection, input: &[u8]) -> (ProtocolError, Diagnostic) {
    let whole = failure_with(make(), input, input.len(), Feed::Copied);
    for chunk in [1, 2, 3, 7, 64] {
        for feed in [Feed::Copied, Feed::Owned, Feed::Appended] {
            assert_eq!(
                failure_with(make(), input, chunk, feed),
                whole,
                "chunks of {chunk}, {feed:?}"
            );
        }
    }
    whole
}

fn at(offset: u64, frame: u64, header: [u8; 2]) -> Diagnostic {
    Diagnostic {
        offset,
        frame,
        header,
    }
}

#[test]
fn reserved_bits_after_a_message_and_a_ping() {
    let mut input = c2s(0x81, b"hello"); // 2 + 4 + 5 = 11 bytes
    input.extend(c2s(0x89, b"p")); // 7 bytes
    input.extend(c2s(0xa1, b"hi"));
    let (e, d) = failure(server, &input);
    assert_eq!(e, ProtocolError::ReservedBits(2));
    assert_eq!(d, at(18, 2, [0xa1, 0x82]));
    assert_eq!(d.rsv(), 2);
    assert_eq!(d.opcode(), 1);
    assert!(d.fin() && d.masked());
    assert_eq!(e.close_code(), CloseCode::PROTOCOL);
}

#[test]
fn an_unmasked_frame_after_the_handshake_is_placed_after_the_request() {
    let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";
    let mut server = Connection::server(Config::default(), T0);
    // The request and the first (masked, valid) frame arrive together.
    let mut input = request.to_vec();
    input.extend(c2s(0x82, &[1, 2, 3]));
    server.handle_input(T0, &input);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(T0, &Accept::default()).unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Message(_))));
    server.handle_input(T0, &s2c(0x81, b"bare"));
    let events = drain(&mut server);
    let Some(Event::Error(err)) = events.first() else {
        panic!("{events:?}")
    };
    let d = *err.diagnostic().expect("a protocol error");
    assert_eq!(d, at(request.len() as u64 + 9, 1, [0x81, 0x04]));
    assert_eq!(
        err.to_string(),
        format!(
            "protocol error: client frames must be masked (close code 1002) at byte {} \
             (frame 1, header 0x81 0x04)",
            request.len() + 9
        )
    );
}

#[test]
fn invalid_utf8_in_a_second_fragment_points_at_that_fragment() {
    let mut input = c2s(0x01, b"ok"); // 8 bytes
    input.extend(c2s(0x80, b"\xff"));
    let (e, d) = failure(server, &input);
    assert_eq!(e, ProtocolError::InvalidUtf8);
    assert_eq!(d, at(8, 1, [0x80, 0x81]));
}

#[test]
fn a_text_message_ending_inside_a_code_point_points_at_its_final_frame() {
    let mut input = c2s(0x01, b"\xe2\x82"); // 8 bytes
    input.extend(c2s(0x89, b"")); // a ping in between: 6 bytes
    input.extend(c2s(0x80, b""));
    let (e, d) = failure(server, &input);
    assert_eq!(e, ProtocolError::InvalidUtf8);
    assert_eq!(d, at(14, 2, [0x80, 0x80]));
}

#[test]
fn a_bad_close_payload_points_at_the_close_frame() {
    let mut input = c2s(0x82, &[0; 200]); // 2 + 2 + 4 + 200 = 208 bytes
    input.extend(c2s(0x88, &[3]));
    let (e, d) = failure(server, &input);
    assert_eq!(e, ProtocolError::CloseOneByte);
    assert_eq!(d, at(208, 1, [0x88, 0x81]));
}

#[test]
fn a_client_names_the_frame_that_passes_the_fragment_limit() {
    let config = Config {
        limits: Limits {
            max_fragments: 3,
            ..Limits::default()
        },
        ..Config::default()
    };
    let mut input = s2c(0x02, b"a"); // 3 bytes each
    input.extend(s2c(0x00, b"b"));
    input.extend(s2c(0x8a, b"")); // a pong: 2 bytes
    input.extend(s2c(0x00, b"c"));
    input.extend(s2c(0x80, b"d"));
    let (e, d) = failure(|| client_with(config), &input);
    assert_eq!(e, ProtocolError::TooManyFragments(4));
    assert_eq!(d, at(11, 4, [0x80, 0x01]));
    assert_eq!(e.close_code(), CloseCode::POLICY);
}

#[test]
fn a_64_bit_length_with_the_top_bit_set_and_a_reserved_opcode() {
    let mut input = c2s(0x8a, b"pong"); // 10 bytes
    input.extend([0x82, 0xff]);
    input.extend(u64::MAX.to_be_bytes());
    let (e, d) = failure(server, &input);
    assert_eq!(e, ProtocolError::LengthTopBitSet);
    assert_eq!(d, at(10, 1, [0x82, 0xff]));

    let (e, d) = failure(client, &[s2c(0x81, b"x"), vec![0x83, 0x00]].concat());
    assert_eq!(e, ProtocolError::ReservedOpcode(3));
    assert_eq!(d, at(3, 1, [0x83, 0x00]));
    assert_eq!(d.opcode(), 3);
}

#[cfg(feature = "deflate")]
#[test]
fn invalid_deflate_data_points_at_the_compressed_frame() {
    use wsmachine::{DeflateConfig, DeflateParams};
    let make = || {
        let mut s = server();
        s.use_deflate(DeflateParams::default(), DeflateConfig::default());
        s
    };
    let mut input = c2s(0x81, b"plain"); // 11 bytes
    input.extend(c2s(0xc2, &[0xff; 8])); // RSV1, not a deflate stream
    let (e, d) = failure(make, &input);
    assert_eq!(e, ProtocolError::InvalidCompressedData);
    assert_eq!(d, at(11, 1, [0xc2, 0x88]));
}
