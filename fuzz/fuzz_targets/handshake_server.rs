//! Bytes from a would-be client to the server handshake, in chunks: first to
//! `ServerHandshake::feed` directly (chunked and in one call: the results must agree), then
//! through `Connection::server`, accepting (or rejecting) whatever request arrives and going
//! on with the frames the client pipelined.
//!
//! Input: `[limits_flags, chunk_seed, mode, bytes...]`. `mode` bit 0: reject instead of
//! accept; bit 1: accept the first offered subprotocol and extension; bit 2: let the
//! handshake timer expire at the end; bit 3: after accepting, poll the pipelined frames
//! before writing the 101.
#![no_main]
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use wsmachine::handshake::{ServerHandshake, accept_key};
use wsmachine::{
    Accept, Config, Connection, ConnectionError, Event, HandshakeError, Request, Timestamp,
};
use wsmachine_fuzz::{Chunker, Watched, check_http_error_response, handshake_limits};

fn check_request(req: &Request) {
    assert_eq!(req.method, "GET");
    assert!(req.path.starts_with('/'), "path {:?}", req.path);
    let ok = req
        .accept_response(&Accept::default())
        .expect("default accept of a valid request");
    assert!(ok.starts_with(b"HTTP/1.1 101 "), "101 status line");
    let want = format!(
        "Sec-WebSocket-Accept: {}\r\n",
        accept_key(req.key.as_bytes())
    );
    assert!(
        ok.windows(want.len()).any(|w| w == want.as_bytes()),
        "101 response lacks the accept key"
    );
    assert!(ok.ends_with(b"\r\n\r\n"));
    if let Some(p) = req.subprotocols.first() {
        let a = Accept {
            subprotocol: Some(p.clone()),
            ..Accept::default()
        };
        req.accept_response(&a)
            .expect("accepting an offered subprotocol");
    }
    if let Some(e) = req.extensions.first() {
        let a = Accept {
            extensions: vec![e.to_header_value()],
            ..Accept::default()
        };
        // Only an extension the core runs may be accepted: permessage-deflate (this crate
        // enables the `deflate` feature), answered validly; an offer echoed back may not be a valid
        // answer (a bare client_max_window_bits), and anything else is refused.
        match req.accept_response(&a) {
            Ok(_) => assert!(
                e.name.eq_ignore_ascii_case("permessage-deflate"),
                "accepted an extension the core does not run: {e}"
            ),
            Err(HandshakeError::UnsupportedExtension(_)) => {}
            Err(other) => panic!("accepting an offered extension as offered: {other:?}"),
        }
    }
}

fn check_error(e: &HandshakeError) {
    assert!(
        e.is_peer_error(),
        "feed returned API misuse for peer bytes: {e:?}"
    );
    let status = e.http_status().expect("a peer error has an HTTP status");
    assert!(matches!(status, 400 | 405 | 426 | 431), "status {status}");
    check_http_error_response(&e.response().expect("a peer error has a response"));
}

fn accept_for(req: &Request, mode: u8) -> Accept {
    if mode & 2 == 0 {
        return Accept::default();
    }
    let mut a = Accept {
        subprotocol: req.subprotocols.first().cloned(),
        extensions: req
            .extensions
            .first()
            .map(|e| e.to_header_value())
            .into_iter()
            .collect(),
        headers: vec![("X-Fuzz".into(), "1".into())],
    };
    // The first offer as its own answer, when the core runs it (see check_request).
    if req.accept_response(&a).is_err() {
        a.extensions.clear();
    }
    a
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, mode, bytes @ ..] = data else {
        return;
    };
    let (flags, seed, mode) = (*flags, *seed, *mode);
    let limits = handshake_limits(flags);

    // 1. The handshake alone: one call versus chunks.
    let oneshot = ServerHandshake::new(limits).feed(bytes);
    let chunks = Chunker::new(seed).split(bytes);
    let mut hs = ServerHandshake::new(limits);
    let mut offset = 0usize;
    let mut chunked = None;
    for c in &chunks {
        match hs.feed(c) {
            Ok(None) => {
                offset += c.len();
                assert!(
                    offset < limits.max_header_bytes,
                    "buffered past max_header_bytes"
                );
            }
            Ok(Some((req, n))) => {
                assert!(
                    n >= 1 && n <= c.len(),
                    "consumed {n} of a {}-byte chunk",
                    c.len()
                );
                assert!(
                    offset + n <= limits.max_header_bytes,
                    "head longer than the limit"
                );
                chunked = Some(Ok((req, offset + n)));
                break;
            }
            Err(e) => {
                chunked = Some(Err(e));
                break;
            }
        }
    }
    match &chunked {
        Some(Ok((req, _))) => {
            check_request(req);
            assert_eq!(hs.feed(b"x"), Err(HandshakeError::AlreadyComplete));
        }
        Some(Err(e)) => {
            check_error(e);
            assert_eq!(hs.feed(b"x"), Err(HandshakeError::AlreadyFailed));
        }
        None => {}
    }
    match (&oneshot, &chunked) {
        (Ok(None), None) => {}
        (Ok(Some(a)), Some(Ok(b))) => assert_eq!(a, b, "one-shot and chunked requests differ"),
        (Err(a), Some(Err(b))) => assert_eq!(a, b, "one-shot and chunked errors differ"),
        (a, b) => panic!("one-shot {a:?} and chunked {b:?} feeds disagree"),
    }

    // 2. The same bytes, same chunks, through a server connection.
    let mut config = Config::default();
    config.limits.handshake = limits;
    let mut w = Watched::new(Connection::server(config, Timestamp::ZERO), Timestamp::ZERO);
    let mut decided = false;
    let mut accepted = false;
    let mut raw_out = Vec::new();
    // Bit 3: after accepting, keep polling events (pipelined frames) before writing the 101,
    // as an event loop that accepts inline does.
    let poll_before_write = mode & 8 != 0;
    for c in &chunks {
        w.feed(c);
        loop {
            let evs = w.drain_events();
            if evs.is_empty() {
                break;
            }
            for ev in evs {
                match ev {
                    Event::Request(req) => {
                        // Works whether the event holds the request or a box of it.
                        let req: &Request = &req;
                        assert!(!decided, "a second Request event");
                        decided = true;
                        match &chunked {
                            Some(Ok((r, _))) => {
                                assert_eq!(req, r, "connection saw another request")
                            }
                            other => panic!("Request event but the handshake said {other:?}"),
                        }
                        assert_eq!(w.conn.pending_transmit(), 0, "output before the decision");
                        if mode & 1 != 0 {
                            w.conn
                                .reject(403, &[("X-Why".into(), "fuzz".into())], b"no")
                                .expect("reject a pending request");
                            assert!(w.conn.is_closed(), "reject did not close");
                        } else {
                            w.conn
                                .accept(w.now, &accept_for(req, mode))
                                .expect("accept a valid request");
                            accepted = true;
                            let n = w.conn.pending_transmit();
                            w.out.skip_raw(n);
                        }
                        assert!(
                            w.conn.accept(w.now, &Accept::default()).is_err(),
                            "decided twice"
                        );
                    }
                    Event::Error(ConnectionError::Handshake(e)) => match &chunked {
                        Some(Err(b)) => assert_eq!(&e, b, "connection saw another error"),
                        other => panic!("handshake error event but the handshake said {other:?}"),
                    },
                    Event::Error(e) => assert!(accepted, "frame-layer error before accept: {e:?}"),
                    Event::Closed(_) => {}
                    other => assert!(accepted, "{other:?} before accept"),
                }
            }
            if !poll_before_write {
                break;
            }
        }
        if accepted {
            w.out.drain_all(&mut w.conn);
        } else {
            while let Some(b) = w.conn.poll_transmit() {
                raw_out.extend_from_slice(&b);
            }
        }
        w.check();
    }
    if mode & 4 != 0 {
        w.advance_time(Duration::from_secs(11));
        let evs = w.drain_events();
        if !decided && !w.ev.closed {
            panic!("handshake timer did not fire: {evs:?}");
        }
        if !decided {
            assert!(matches!(
                w.ev.error,
                Some(ConnectionError::Timeout(wsmachine::Timeout::Handshake))
                    | Some(ConnectionError::Handshake(_))
            ));
        }
    }
    if !accepted {
        while let Some(b) = w.conn.poll_transmit() {
            raw_out.extend_from_slice(&b);
        }
        if let Some(Err(_)) = &chunked {
            check_http_error_response(&raw_out);
        } else if decided {
            assert!(raw_out.starts_with(b"HTTP/1.1 403 "), "reject response");
        } else {
            assert!(raw_out.is_empty(), "output without a decision or error");
        }
    }
    w.out.drain_all(&mut w.conn);
    w.finish_with_eof();
});
