//! Response bytes to a client handshake, in chunks: to `ClientHandshake::feed` directly
//! (chunked and in one call: the outcomes must agree), then through a client connection
//! built with the same key, going on with any frames that follow the response.
//!
//! Input: `[limits_flags, chunk_seed, mode, bytes...]`. When `mode` bit 0 is set (half the
//! inputs) the bytes are appended to a real 101 response for this client's key (without its
//! final empty line), so the fuzzer gets past the accept check and can add headers, end the
//! head and send frames. Bits 1-2 choose what the client offers (subprotocols, extension).
#![no_main]
use libfuzzer_sys::fuzz_target;
use wsmachine::handshake::{ClientHandshake, accept_key};
use wsmachine::random::SeededRandom;
use wsmachine::{
    ClientRequest, Config, Connection, ConnectionError, Event, HandshakeError, Timestamp,
};
use wsmachine_fuzz::{Chunker, Watched, handshake_limits, rng};

fn request(mode: u8) -> ClientRequest {
    let mut r = ClientRequest::new("ws://example.com:8080/chat?room=1").expect("valid URI");
    if mode & 2 != 0 {
        r = r.subprotocol("chat").subprotocol("superchat");
    }
    if mode & 4 != 0 {
        r = r.extension("permessage-deflate; client_max_window_bits");
    }
    r
}

fn same_kind(a: &HandshakeError, b: &HandshakeError) -> bool {
    match (a, b) {
        // The body is what followed the head in the final call, so it depends on chunking.
        (
            HandshakeError::Status {
                status: s1,
                reason: r1,
                headers: h1,
                ..
            },
            HandshakeError::Status {
                status: s2,
                reason: r2,
                headers: h2,
                ..
            },
        ) => s1 == s2 && r1 == r2 && h1 == h2,
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, mode, tail @ ..] = data else {
        return;
    };
    let (flags, seed, mode) = (*flags, *seed, *mode);
    let limits = handshake_limits(flags);
    let req = request(mode);
    let key_seed = u64::from(seed);
    let hs = ClientHandshake::new(&req, &mut SeededRandom::from_u64(key_seed), limits)
        .expect("a valid request");
    let mut input = Vec::new();
    if mode & 1 != 0 {
        input.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
        input.extend_from_slice(accept_key(hs.key().as_bytes()).as_bytes());
        input.extend_from_slice(b"\r\n");
        assert_eq!(hs.expected_accept(), accept_key(hs.key().as_bytes()));
    }
    input.extend_from_slice(tail);
    let bytes = &input[..];

    // 1. The handshake alone.
    let oneshot = hs.clone().feed(bytes);
    let chunks = Chunker::new(seed).split(bytes);
    let mut h = hs.clone();
    let mut offset = 0usize;
    let mut chunked = None;
    for c in &chunks {
        match h.feed(c) {
            Ok(None) => {
                offset += c.len();
                assert!(
                    offset < limits.max_header_bytes,
                    "buffered past max_header_bytes"
                );
            }
            Ok(Some((resp, n))) => {
                assert!(n >= 1 && n <= c.len());
                chunked = Some(Ok((resp, offset + n)));
                break;
            }
            Err(e) => {
                chunked = Some(Err(e));
                break;
            }
        }
    }
    match &chunked {
        Some(Ok((resp, _))) => {
            assert_eq!(resp.status, 101);
            if let Some(p) = &resp.subprotocol {
                assert!(
                    req.subprotocols().contains(p),
                    "unoffered subprotocol {p:?} accepted"
                );
            }
            for e in &resp.extensions {
                assert!(
                    mode & 4 != 0 && e.name.eq_ignore_ascii_case("permessage-deflate"),
                    "unoffered extension {:?} accepted",
                    e.name
                );
            }
            assert_eq!(h.feed(b"x"), Err(HandshakeError::AlreadyComplete));
        }
        Some(Err(e)) => {
            assert!(e.is_peer_error(), "API misuse from response bytes: {e:?}");
            assert_eq!(h.feed(b"x"), Err(HandshakeError::AlreadyFailed));
        }
        None => {}
    }
    match (&oneshot, &chunked) {
        (Ok(None), None) => {}
        (Ok(Some(a)), Some(Ok(b))) => assert_eq!(a, b, "one-shot and chunked responses differ"),
        (Err(a), Some(Err(b))) => assert!(same_kind(a, b), "errors differ: {a:?} vs {b:?}"),
        (a, b) => panic!("one-shot {a:?} and chunked {b:?} feeds disagree"),
    }

    // 2. A client connection with the same key, same chunks; frames may follow.
    let mut config = Config::default();
    config.limits.handshake = limits;
    let conn = Connection::client_with_random(&req, config, Timestamp::ZERO, rng(key_seed))
        .expect("client connection");
    assert_eq!(
        conn.transmit_slices()
            .flatten()
            .copied()
            .collect::<Vec<u8>>(),
        hs.request_bytes(),
        "the connection sent a different request"
    );
    let mut w = Watched::new(conn, Timestamp::ZERO);
    w.out.skip_raw(w.conn.pending_transmit());
    // Bit 3: write the request before feeding the response (what a real client does);
    // otherwise it stays queued while the response and frames arrive.
    if mode & 8 != 0 {
        w.out.drain_all(&mut w.conn);
    }
    let mut connected = false;
    for c in &chunks {
        w.feed(c);
        for ev in w.drain_events() {
            match ev {
                Event::Connected(resp) => {
                    // Works whether the event holds the response or a box of it.
                    let resp: &wsmachine::Response = &resp;
                    assert!(!connected, "Connected twice");
                    connected = true;
                    match &chunked {
                        Some(Ok((r, _))) => assert_eq!(resp, r, "connection saw another response"),
                        other => panic!("Connected but the handshake said {other:?}"),
                    }
                }
                Event::Error(ConnectionError::Handshake(e)) => match &chunked {
                    Some(Err(b)) => assert!(same_kind(&e, b), "{e:?} vs {b:?}"),
                    other => panic!("handshake error event but the handshake said {other:?}"),
                },
                Event::Error(e) => assert!(connected, "frame-layer error before Connected: {e:?}"),
                Event::Closed(_) => {}
                other => assert!(connected, "{other:?} before Connected"),
            }
        }
        w.out.drain_all(&mut w.conn);
        w.check();
    }
    if let Some(Err(_)) = &chunked {
        assert!(
            w.ev.closed,
            "a failed handshake did not close the connection"
        );
        assert_eq!(
            w.conn.pending_transmit(),
            0,
            "a client answered a bad response"
        );
    }
    w.out.drain_all(&mut w.conn);
    w.finish_with_eof();
});
