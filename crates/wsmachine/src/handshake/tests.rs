//! Cross-module tests: client ⇄ server round trips, split feeds, property tests and hostile
//! input.

// Declared here too so the tests build when the crate root declares `std` only for a feature.
extern crate std;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;
use std::println;
use std::time::Instant;

use super::*;
use crate::random::SeededRandom;

/// A masked client text frame "hi" and an unmasked server one, to trail the heads.
const CLIENT_FRAME: &[u8] = &[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
const SERVER_FRAME: &[u8] = &[0x81, 0x02, b'h', b'i'];

fn limits() -> HandshakeLimits {
    HandshakeLimits::default()
}

fn sample_client() -> ClientHandshake {
    sample_client_with(limits())
}

fn sample_client_with(limits: HandshakeLimits) -> ClientHandshake {
    let req = ClientRequest::new("ws://example.com:9001/chat?room=1")
        .unwrap()
        .subprotocol("chat")
        .subprotocol("superchat")
        .extension("permessage-deflate; client_max_window_bits")
        .header("Origin", "http://example.com");
    ClientHandshake::new(&req, &mut SeededRandom::from_u64(42), limits).unwrap()
}

/// Feeds `chunks` to a server; returns the request and the bytes left after the head.
fn server_feed<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(Request, Vec<u8>), HandshakeError> {
    let mut server = ServerHandshake::new(limits());
    let mut out: Option<(Request, Vec<u8>)> = None;
    for chunk in chunks {
        match &mut out {
            Some((_, rest)) => rest.extend_from_slice(chunk),
            None => {
                if let Some((req, n)) = server.feed(chunk)? {
                    assert!(n <= chunk.len());
                    out = Some((req, chunk[n..].to_vec()));
                }
            }
        }
    }
    Ok(out.expect("head incomplete"))
}

fn client_feed<'a>(
    client: &mut ClientHandshake,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(Response, Vec<u8>), HandshakeError> {
    let mut out: Option<(Response, Vec<u8>)> = None;
    for chunk in chunks {
        match &mut out {
            Some((_, rest)) => rest.extend_from_slice(chunk),
            None => {
                if let Some((resp, n)) = client.feed(chunk)? {
                    assert!(n <= chunk.len());
                    out = Some((resp, chunk[n..].to_vec()));
                }
            }
        }
    }
    Ok(out.expect("head incomplete"))
}

#[test]
fn rfc6455_accept_example() {
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn default_limits() {
    assert_eq!(limits().max_header_bytes, 16 * 1024);
    assert_eq!(limits().max_headers, 64);
}

#[test]
fn request_split_at_every_offset_and_byte_by_byte() {
    let client = sample_client();
    let head = client.request_bytes();
    let mut wire = head.to_vec();
    wire.extend_from_slice(CLIENT_FRAME);

    let (whole, rest) = server_feed([wire.as_slice()]).unwrap();
    assert_eq!(rest, CLIENT_FRAME);
    assert_eq!(whole.key, client.key());
    assert_eq!(whole.subprotocols, ["chat", "superchat"]);

    for split in 0..=wire.len() {
        let (a, b) = wire.split_at(split);
        let mut server = ServerHandshake::new(limits());
        let (req, n, second) = match server.feed(a).unwrap() {
            Some((req, n)) => (req, n, false),
            None => {
                let (req, n) = server.feed(b).unwrap().expect("complete after 2nd feed");
                (req, n, true)
            }
        };
        let fed_before = if second { a.len() } else { 0 };
        assert_eq!(req, whole, "split at {split}");
        assert_eq!(n, head.len() - fed_before, "split at {split}");
        let last = if second { b } else { a };
        let mut rest = last[n..].to_vec();
        if !second {
            rest.extend_from_slice(b);
        }
        assert_eq!(rest, CLIENT_FRAME, "split at {split}");
        assert!(server.is_complete());
        assert_eq!(server.feed(b"x"), Err(HandshakeError::AlreadyComplete));
    }

    let mut server = ServerHandshake::new(limits());
    let mut done = None;
    for (i, byte) in wire.iter().enumerate() {
        if let Some((req, n)) = server.feed(core::slice::from_ref(byte)).unwrap() {
            done = Some((req, n, i));
            break;
        }
    }
    let (req, n, i) = done.unwrap();
    assert_eq!((req, n, i + 1), (whole, 1, head.len()));
}

#[test]
fn response_split_at_every_offset_and_byte_by_byte() {
    let proto = sample_client();
    let (req, _) = server_feed([proto.request_bytes()]).unwrap();
    // permessage-deflate is accepted only where the core runs it.
    let deflate = cfg!(feature = "deflate");
    let accept = Accept {
        subprotocol: Some("superchat".into()),
        extensions: deflate
            .then(|| "permessage-deflate; client_max_window_bits=10".into())
            .into_iter()
            .collect(),
        headers: vec![("Set-Cookie".into(), "a=b".into())],
    };
    let head = req.accept_response(&accept).unwrap();
    let mut wire = head.clone();
    wire.extend_from_slice(SERVER_FRAME);

    let (whole, rest) = client_feed(&mut proto.clone(), [wire.as_slice()]).unwrap();
    assert_eq!(rest, SERVER_FRAME);
    assert_eq!(whole.status, 101);
    assert_eq!(whole.subprotocol.as_deref(), Some("superchat"));
    let expected: Vec<ExtensionOffer> = deflate
        .then(|| {
            ExtensionOffer::new("permessage-deflate")
                .with_param("client_max_window_bits", Some("10".into()))
        })
        .into_iter()
        .collect();
    assert_eq!(whole.extensions, expected);
    assert_eq!(whole.header("set-cookie"), Some(&b"a=b"[..]));

    for split in 0..=wire.len() {
        let mut client = proto.clone();
        let (a, b) = wire.split_at(split);
        let (resp, n, second) = match client.feed(a).unwrap() {
            Some((resp, n)) => (resp, n, false),
            None => {
                let (resp, n) = client.feed(b).unwrap().expect("complete after 2nd feed");
                (resp, n, true)
            }
        };
        let fed_before = if second { a.len() } else { 0 };
        assert_eq!(resp, whole, "split at {split}");
        assert_eq!(n, head.len() - fed_before, "split at {split}");
        let (last, tail): (&[u8], &[u8]) = if second { (b, &[]) } else { (a, b) };
        let mut rest = last[n..].to_vec();
        rest.extend_from_slice(tail);
        assert_eq!(rest, SERVER_FRAME, "split at {split}");
        assert_eq!(client.feed(b""), Err(HandshakeError::AlreadyComplete));
    }

    let mut client = proto.clone();
    let mut done = None;
    for (i, byte) in wire.iter().enumerate() {
        if let Some((resp, n)) = client.feed(core::slice::from_ref(byte)).unwrap() {
            done = Some((resp, n, i));
            break;
        }
    }
    let (resp, n, i) = done.unwrap();
    assert_eq!((resp, n, i + 1), (whole, 1, head.len()));
}

// ---------------------------------------------------------------- property tests

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,10}"
}

fn offer() -> impl Strategy<Value = ExtensionOffer> {
    let value = prop_oneof![
        Just(None),
        token().prop_map(Some),
        "[ -~]{0,8}".prop_map(Some), // printable ASCII: exercises quoting and escapes
    ];
    let any =
        (token(), prop::collection::vec((token(), value), 0..4)).prop_map(|(name, params)| {
            ExtensionOffer {
                name,
                params: params
                    .into_iter()
                    .map(|(name, value)| ExtensionParam { name, value })
                    .collect(),
            }
        });
    // permessage-deflate offers, well formed or not, some valid as their own answer.
    let deflate_param = prop_oneof![
        Just(("server_no_context_takeover", None)),
        Just(("client_no_context_takeover", None)),
        (8u8..=16).prop_map(|b| ("server_max_window_bits", Some(b.to_string()))),
        prop::option::of(8u8..=15)
            .prop_map(|b| ("client_max_window_bits", b.map(|b| b.to_string()))),
    ];
    let deflate = prop::collection::vec(deflate_param, 0..3).prop_map(|params| ExtensionOffer {
        name: "permessage-deflate".into(),
        params: params
            .into_iter()
            .map(|(name, value)| ExtensionParam {
                name: name.into(),
                value,
            })
            .collect(),
    });
    prop_oneof![any, deflate]
}

fn extra_header() -> impl Strategy<Value = (String, String)> {
    (
        token().prop_filter("reserved", |n| !headers::is_reserved(n)),
        "([!-~]([ -~]{0,12}[!-~])?)?",
    )
}

fn host() -> impl Strategy<Value = (String, String)> {
    // (text in the URI, expected host())
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5})?".prop_map(|h| (h.clone(), h)),
        any::<[u8; 4]>().prop_map(|a| {
            let h = format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
            (h.clone(), h)
        }),
        any::<[u16; 8]>().prop_map(|a| {
            let h = format!("{}", core::net::Ipv6Addr::from(a));
            (format!("[{h}]"), h)
        }),
    ]
}

#[derive(Debug, Clone)]
struct Scenario {
    tls: bool,
    host: (String, String),
    port: Option<u16>,
    path: String,
    query: Option<String>,
    protocols: Vec<String>,
    offers: Vec<ExtensionOffer>,
    extras: Vec<(String, String)>,
    seed: u64,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        any::<bool>(),
        host(),
        prop::option::of(1u16..),
        "(/[a-zA-Z0-9._~!$&'()*+,;=:@-]{0,6}){0,3}",
        prop::option::of("[a-zA-Z0-9=&/?:@._~-]{0,12}"),
        prop::collection::btree_set(token(), 0..5),
        prop::collection::vec(offer(), 0..4),
        prop::collection::vec(extra_header(), 0..5),
        any::<u64>(),
    )
        .prop_map(
            |(tls, host, port, path, query, protocols, offers, extras, seed)| Scenario {
                tls,
                host,
                port,
                path,
                query,
                protocols: protocols.into_iter().collect(),
                offers,
                extras,
                seed,
            },
        )
}

impl Scenario {
    fn uri(&self) -> String {
        let mut u = format!("{}://{}", if self.tls { "wss" } else { "ws" }, self.host.0);
        if let Some(p) = self.port {
            u.push_str(&format!(":{p}"));
        }
        u.push_str(&self.path);
        if let Some(q) = &self.query {
            u.push('?');
            u.push_str(q);
        }
        u
    }

    fn client(&self) -> ClientHandshake {
        let mut req = ClientRequest::new(&self.uri()).unwrap();
        for p in &self.protocols {
            req = req.subprotocol(p.clone());
        }
        for o in &self.offers {
            req = req.extension(o.to_header_value());
        }
        for (n, v) in &self.extras {
            req = req.header(n.clone(), v.clone());
        }
        ClientHandshake::new(&req, &mut SeededRandom::from_u64(self.seed), limits()).unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn server_accepts_what_client_builds(s in scenario(), split in any::<prop::sample::Index>()) {
        let req_uri = ClientRequest::new(&s.uri()).unwrap();
        prop_assert_eq!(req_uri.host(), s.host.1.as_str());
        let default_port = if s.tls { 443 } else { 80 };
        prop_assert_eq!(req_uri.port(), s.port.unwrap_or(default_port));

        let client = s.client();
        let mut wire = client.request_bytes().to_vec();
        wire.extend_from_slice(CLIENT_FRAME);
        let cut = split.index(wire.len() + 1);
        let (req, rest) = server_feed([&wire[..cut], &wire[cut..]]).unwrap();
        prop_assert_eq!(rest, CLIENT_FRAME);
        let path = if s.path.is_empty() { "/".to_owned() } else { s.path.clone() };
        prop_assert_eq!(&req.path, &path);
        prop_assert_eq!(&req.query, &s.query);
        prop_assert_eq!(req.uri(), req_uri.resource());
        let host_header = req_uri.host_header();
        prop_assert_eq!(req.header("Host"), Some(host_header.as_bytes()));
        prop_assert_eq!(&req.key, client.key());
        prop_assert_eq!(&req.subprotocols, &s.protocols);
        prop_assert_eq!(&req.extensions, &s.offers);
        let extras: Vec<(String, String)> = req
            .headers
            .iter()
            .filter(|h| !headers::is_reserved(&h.name))
            .map(|h| (h.name.clone(), String::from_utf8(h.value.clone()).unwrap()))
            .collect();
        prop_assert_eq!(extras, s.extras.clone());
    }

    #[test]
    fn client_accepts_what_server_answers(
        s in scenario(),
        pick in prop::option::of(any::<prop::sample::Index>()),
        ext_pick in prop::option::of(any::<prop::sample::Index>()),
        headers in prop::collection::vec(extra_header(), 0..4),
        trailing in prop::collection::vec(any::<u8>(), 0..16),
        split in any::<prop::sample::Index>(),
    ) {
        let mut client = s.client();
        let (req, _) = server_feed([client.request_bytes()]).unwrap();
        let chosen = match pick {
            Some(i) if !s.protocols.is_empty() => Some(s.protocols[i.index(s.protocols.len())].clone()),
            _ => None,
        };
        let accepted: Vec<ExtensionOffer> = match ext_pick {
            Some(i) if !s.offers.is_empty() => vec![s.offers[i.index(s.offers.len())].clone()],
            _ => vec![],
        };
        let mut accept = Accept {
            subprotocol: chosen.clone(),
            extensions: accepted.iter().map(|o| o.to_header_value()).collect(),
            headers: headers.clone(),
        };
        // Only an extension the core runs, answered validly, may be accepted: permessage-
        // deflate with the `deflate` feature, and an offer echoed back is not always a
        // valid answer (a bare client_max_window_bits).
        let mut accepted = accepted;
        let mut wire = match req.accept_response(&accept) {
            Ok(w) => {
                prop_assert!(accepted.iter().all(|o| cfg!(feature = "deflate")
                    && o.name.eq_ignore_ascii_case("permessage-deflate")));
                w
            }
            Err(HandshakeError::UnsupportedExtension(_)) => {
                prop_assert!(!accepted.is_empty());
                accepted.clear();
                accept.extensions.clear();
                req.accept_response(&accept).unwrap()
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
        };
        let head_len = wire.len();
        wire.extend_from_slice(&trailing);
        let cut = split.index(wire.len() + 1);
        let (resp, rest) = client_feed(&mut client, [&wire[..cut], &wire[cut..]]).unwrap();
        prop_assert_eq!(rest, trailing);
        prop_assert_eq!(resp.status, 101);
        prop_assert_eq!(resp.subprotocol, chosen);
        prop_assert_eq!(resp.extensions, accepted);
        prop_assert_eq!(resp.headers.len(), 3 + usize::from(accept.subprotocol.is_some())
            + usize::from(!accept.extensions.is_empty()) + headers.len());
        prop_assert!(head_len <= wire.len());
    }

    #[test]
    fn list_parsers_never_panic(v in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_protocols([v.as_slice()]);
        let _ = parse_extensions([v.as_slice()]);
    }

    #[test]
    fn server_never_panics(v in prop::collection::vec(any::<u8>(), 0..256), cut in any::<prop::sample::Index>()) {
        let mut s = ServerHandshake::new(limits());
        let c = cut.index(v.len() + 1);
        if let Ok(None) = s.feed(&v[..c]) {
            let _ = s.feed(&v[c..]);
        }
        let mut c2 = sample_client();
        let mut wire = b"HTTP/1.1 101 x\r\n".to_vec();
        wire.extend_from_slice(&v);
        let _ = c2.feed(&wire);
    }
}

// ---------------------------------------------------------------- hostile input

const GOOD: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

fn server_err(head: &[u8], limits: HandshakeLimits) -> HandshakeError {
    let mut s = ServerHandshake::new(limits);
    let e = match s.feed(head) {
        Err(e) => e,
        Ok(other) => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(s.feed(b"more"), Err(HandshakeError::AlreadyFailed));
    e
}

fn response_text(e: &HandshakeError) -> String {
    String::from_utf8(e.response().expect("a server response")).unwrap()
}

#[test]
fn one_mib_of_headers_one_byte_per_call_hits_431_at_the_cap() {
    let mut wire = b"GET / HTTP/1.1\r\n".to_vec();
    while wire.len() < 1 << 20 {
        wire.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let t = Instant::now();
    let mut s = ServerHandshake::new(limits());
    let mut failed_at = None;
    let mut after = 0usize;
    for (i, b) in wire.iter().enumerate() {
        match s.feed(core::slice::from_ref(b)) {
            Ok(None) => assert!(failed_at.is_none()),
            Ok(Some(_)) => panic!("a head of 1 MiB must not be accepted"),
            Err(HandshakeError::AlreadyFailed) => after += 1,
            Err(e) => {
                assert_eq!(e, HandshakeError::HeadTooLarge { limit: 16 * 1024 });
                assert_eq!(e.http_status(), Some(431));
                assert!(response_text(&e).starts_with("HTTP/1.1 431 Request Header Fields"));
                failed_at = Some(i + 1);
            }
        }
    }
    println!(
        "1 MiB of headers, one byte per feed, default limits: {:?} (431 after {:?} bytes)",
        t.elapsed(),
        failed_at
    );
    assert_eq!(failed_at, Some(16 * 1024));
    assert_eq!(after, wire.len() - 16 * 1024);

    // With the byte cap raised past 1 MiB the whole head is scanned byte by byte (linear)
    // and parsed once; its ~20,000 header lines then exceed the count cap.
    let big = HandshakeLimits {
        max_header_bytes: 2 << 20,
        max_headers: 64,
    };
    wire.extend_from_slice(b"\r\n");
    let t = Instant::now();
    let mut s = ServerHandshake::new(big);
    let mut result = Ok(None);
    for b in &wire {
        result = s.feed(core::slice::from_ref(b));
        if !matches!(result, Ok(None)) {
            break;
        }
    }
    println!(
        "1 MiB head, one byte per feed, 2 MiB cap: {:?}",
        t.elapsed()
    );
    let e = result.unwrap_err();
    assert_eq!(e, HandshakeError::TooManyHeaders { limit: 64 });
    assert_eq!(e.http_status(), Some(431));
}

#[test]
fn three_thousand_headers_is_431() {
    let mut wire = GOOD.trim_end_matches("\r\n").to_owned();
    wire.push_str("\r\n");
    for _ in 0..3000 {
        wire.push_str("a:1\r\n");
    }
    wire.push_str("\r\n");
    assert!(
        wire.len() < 16 * 1024,
        "fits the byte cap, so the count cap decides"
    );
    let e = server_err(wire.as_bytes(), limits());
    assert_eq!(e, HandshakeError::TooManyHeaders { limit: 64 });
    assert_eq!(e.http_status(), Some(431));
    assert!(response_text(&e).starts_with("HTTP/1.1 431 "));
    // With longer lines the byte cap trips first: still 431.
    let long = wire.replace("a:1", "X-Header-Name: 1");
    assert_eq!(
        server_err(long.as_bytes(), limits()).http_status(),
        Some(431)
    );
}

#[test]
fn missing_upgrade_is_400() {
    let head = GOOD.replace("Upgrade: websocket\r\n", "");
    let e = server_err(head.as_bytes(), limits());
    assert_eq!(e, HandshakeError::MissingHeader("Upgrade"));
    assert_eq!(e.http_status(), Some(400));
    assert!(response_text(&e).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert!(e.is_peer_error());
}

#[test]
fn key_of_15_bytes_is_400() {
    use base64::Engine as _;
    let short = base64::engine::general_purpose::STANDARD.encode([7u8; 15]);
    let head = GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", &short);
    let e = server_err(head.as_bytes(), limits());
    assert_eq!(e, HandshakeError::InvalidKey);
    assert_eq!(e.http_status(), Some(400));
}

#[test]
fn version_8_is_426_with_version_13() {
    let head = GOOD.replace("Version: 13", "Version: 8");
    let e = server_err(head.as_bytes(), limits());
    assert_eq!(
        e,
        HandshakeError::UnsupportedVersion {
            version: Some("8".into())
        }
    );
    assert_eq!(e.http_status(), Some(426));
    let text = response_text(&e);
    assert!(
        text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{text}");
    assert!(
        text.contains("\r\nConnection: Upgrade, close\r\n"),
        "{text}"
    );
}

#[test]
fn protocol_b_spaces_x_is_a_linear_error() {
    // Decision: `b<SP…>x` is two tokens without a comma, i.e. not a token list: 400.
    let mut value = String::from("b");
    value.extend(core::iter::repeat_n(' ', 32_768));
    value.push('x');
    let head = GOOD.replace(
        "\r\n\r\n",
        &format!("\r\nSec-WebSocket-Protocol: {value}\r\n\r\n"),
    );
    let roomy = HandshakeLimits {
        max_header_bytes: 64 * 1024,
        ..limits()
    };
    let t = Instant::now();
    let e = server_err(head.as_bytes(), roomy);
    println!(
        "Sec-WebSocket-Protocol: b + 32768 SP + x (64 KiB cap): {e} in {:?}",
        t.elapsed()
    );
    assert!(matches!(e, HandshakeError::InvalidProtocolList(_)));
    assert_eq!(e.http_status(), Some(400));
    // Byte by byte too.
    let t = Instant::now();
    let mut s = ServerHandshake::new(roomy);
    let mut last = Ok(None);
    for b in head.as_bytes() {
        last = s.feed(core::slice::from_ref(b));
        if last.is_err() {
            break;
        }
    }
    println!("  same, one byte per feed: {:?}", t.elapsed());
    assert!(matches!(last, Err(HandshakeError::InvalidProtocolList(_))));
    // Under the default 16 KiB cap the head itself is too large.
    assert_eq!(
        server_err(head.as_bytes(), limits()).http_status(),
        Some(431)
    );
}

#[test]
fn extension_with_empty_parameter_is_400() {
    let head = GOOD.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99;;,\r\n\r\n",
    );
    let e = server_err(head.as_bytes(), limits());
    assert!(
        matches!(e, HandshakeError::InvalidExtensionList(_)),
        "{e:?}"
    );
    assert_eq!(e.http_status(), Some(400));
}

#[test]
fn request_line_and_header_name_garbage_is_400() {
    for head in [
        &b"GET  / HTTP/1.1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nX\xffY: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n",
    ] {
        let e = server_err(head, limits());
        assert!(matches!(e, HandshakeError::MalformedHead(_)), "{e:?}");
        assert_eq!(e.http_status(), Some(400));
    }
}

fn response_for(client: &ClientHandshake, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        client.expected_accept()
    )
    .into_bytes()
}

fn client_err(client: &mut ClientHandshake, wire: &[u8]) -> HandshakeError {
    let e = client.feed(wire).unwrap_err();
    assert_eq!(client.feed(b"x"), Err(HandshakeError::AlreadyFailed));
    e
}

#[test]
fn wrong_accept_is_refused() {
    let mut c = sample_client();
    let wire = response_for(&c, "").into_iter().collect::<Vec<u8>>();
    let good = String::from_utf8(wire).unwrap();
    let bad = good.replace(c.expected_accept(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    let e = client_err(&mut c, bad.as_bytes());
    assert_eq!(
        e,
        HandshakeError::AcceptMismatch {
            expected: c.expected_accept().to_owned(),
            received: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into()
        }
    );
    assert!(e.is_peer_error());
    assert_eq!(e.response(), None, "a client sends nothing back");
}

#[test]
fn unoffered_subprotocol_or_extension_is_refused() {
    let mut c = sample_client();
    let wire = response_for(&c, "Sec-WebSocket-Protocol: mqtt\r\n");
    assert_eq!(
        client_err(&mut c, &wire),
        HandshakeError::UnexpectedSubprotocol("mqtt".into())
    );

    let req = ClientRequest::new("ws://h/").unwrap();
    let mut c = ClientHandshake::new(&req, &mut SeededRandom::from_u64(3), limits()).unwrap();
    let wire = response_for(&c, "Sec-WebSocket-Protocol: chat\r\n");
    assert_eq!(
        client_err(&mut c, &wire),
        HandshakeError::UnexpectedSubprotocol("chat".into())
    );

    let mut c = sample_client();
    let wire = response_for(&c, "Sec-WebSocket-Protocol: chat, superchat\r\n");
    assert!(matches!(
        client_err(&mut c, &wire),
        HandshakeError::InvalidHeader { .. }
    ));

    let mut c = sample_client();
    let wire = response_for(&c, "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n");
    assert_eq!(
        client_err(&mut c, &wire),
        HandshakeError::UnexpectedExtension("x-webkit-deflate-frame".into())
    );

    let mut c = sample_client();
    let wire = response_for(&c, "Sec-WebSocket-Extensions: PerMessage-Deflate\r\n");
    if cfg!(feature = "deflate") {
        let (resp, n) = c.feed(&wire).unwrap().unwrap();
        assert_eq!(n, wire.len());
        assert_eq!(
            resp.extensions[0].name, "PerMessage-Deflate",
            "names match case-insensitively"
        );
    } else {
        assert_eq!(
            client_err(&mut c, &wire),
            HandshakeError::UnexpectedExtension("PerMessage-Deflate".into()),
            "an offered extension the core does not run"
        );
    }
}

#[test]
fn only_extensions_the_core_runs_are_accepted() {
    let offered =
        "Sec-WebSocket-Extensions: x-foo, permessage-deflate; server_max_window_bits=10\r\n";
    let wire = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{offered}\r\n"
    );
    let (req, _) = server_feed([wire.as_bytes()]).unwrap();
    let accept = |e: &str| {
        req.accept_response(&Accept {
            extensions: vec![e.into()],
            ..Accept::default()
        })
    };
    assert_eq!(
        accept("x-foo"),
        Err(HandshakeError::UnsupportedExtension("x-foo".into()))
    );
    let good = "permessage-deflate; server_max_window_bits=10";
    assert_eq!(accept(good).is_ok(), cfg!(feature = "deflate"));
    for bad in [
        "permessage-deflate",
        "permessage-deflate; server_max_window_bits=11",
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
        "permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=10",
    ] {
        let e = accept(bad).unwrap_err();
        assert!(
            matches!(e, HandshakeError::UnsupportedExtension(_)) && e.is_api_misuse(),
            "{bad}: {e:?}"
        );
    }

    // A client fails the handshake on a response no offer allows.
    if cfg!(feature = "deflate") {
        let req = ClientRequest::new("ws://h/")
            .unwrap()
            .extension("permessage-deflate; server_max_window_bits=10");
        for (resp, ok) in [
            ("permessage-deflate; server_max_window_bits=10", true),
            (
                "permessage-deflate; server_max_window_bits=9; client_no_context_takeover",
                true,
            ),
            ("permessage-deflate", false),
            ("permessage-deflate; server_max_window_bits=12", false),
            (
                "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10",
                false,
            ),
            ("permessage-deflate; server_max_window_bits=10; x=1", false),
            (
                "permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=10",
                false,
            ),
        ] {
            let mut c =
                ClientHandshake::new(&req, &mut SeededRandom::from_u64(3), limits()).unwrap();
            let wire = response_for(&c, &format!("Sec-WebSocket-Extensions: {resp}\r\n"));
            match c.feed(&wire) {
                Ok(Some(_)) => assert!(ok, "{resp}"),
                Err(HandshakeError::InvalidExtensionResponse(_)) => assert!(!ok, "{resp}"),
                other => panic!("{resp}: {other:?}"),
            }
        }
    }
}

#[test]
fn bad_101_headers_are_refused() {
    let mut c = sample_client();
    let wire = String::from_utf8(response_for(&c, "")).unwrap();
    let e = client_err(
        &mut c,
        wire.replace("Upgrade: websocket\r\n", "").as_bytes(),
    );
    assert_eq!(e, HandshakeError::MissingHeader("Upgrade"));
    let mut c = sample_client();
    let e = client_err(
        &mut c,
        wire.replace("Connection: Upgrade", "Connection: close")
            .as_bytes(),
    );
    assert!(matches!(
        e,
        HandshakeError::InvalidHeader {
            name: "Connection",
            ..
        }
    ));
    let mut c = sample_client();
    let e = client_err(&mut c, wire.replace("HTTP/1.1", "HTTP/1.0").as_bytes());
    assert_eq!(e, HandshakeError::UnsupportedHttpVersion { minor: 0 });
    let mut c = sample_client_with(HandshakeLimits {
        max_header_bytes: 64,
        ..limits()
    });
    let e = client_err(&mut c, wire.as_bytes());
    assert_eq!(e, HandshakeError::HeadTooLarge { limit: 64 });
}

#[test]
fn non_101_keeps_status_headers_and_body() {
    let mut c = sample_client();
    let wire = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nX-Why: origin\r\n\r\nforbidden";
    // Split so that part of the body arrives with the end of the head.
    assert_eq!(c.feed(&wire[..10]), Ok(None));
    let e = client_err(&mut c, &wire[10..]);
    match e {
        HandshakeError::Status {
            status,
            reason,
            headers,
            body,
        } => {
            assert_eq!((status, reason.as_str()), (403, "Forbidden"));
            assert_eq!(headers.get("x-why"), Some(&b"origin"[..]));
            assert_eq!(headers.get_str("Content-Length"), Some("9"));
            assert_eq!(body, b"forbidden");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn feeding_after_done_or_failure_is_an_error() {
    let mut s = ServerHandshake::new(limits());
    assert!(s.feed(GOOD.as_bytes()).unwrap().is_some());
    assert_eq!(s.feed(b""), Err(HandshakeError::AlreadyComplete));
    assert!(HandshakeError::AlreadyComplete.is_api_misuse());
    assert_eq!(HandshakeError::AlreadyComplete.response(), None);

    let mut s = ServerHandshake::new(limits());
    assert!(s.feed(b"POST / HTTP/1.1\r\n\r\n").is_err());
    assert_eq!(s.feed(GOOD.as_bytes()), Err(HandshakeError::AlreadyFailed));

    let mut c = sample_client();
    let wire = response_for(&c, "");
    assert!(c.feed(&wire).unwrap().is_some());
    assert!(c.is_complete());
    assert_eq!(c.feed(&wire), Err(HandshakeError::AlreadyComplete));
}

#[test]
fn every_error_displays_and_classifies() {
    let all = [
        HandshakeError::HeadTooLarge { limit: 1 },
        HandshakeError::TooManyHeaders { limit: 1 },
        HandshakeError::MalformedHead("x"),
        HandshakeError::UnsupportedHttpVersion { minor: 0 },
        HandshakeError::MethodNotAllowed {
            method: "PUT".into(),
        },
        HandshakeError::InvalidRequestTarget,
        HandshakeError::MissingHeader("Host"),
        HandshakeError::DuplicateHeader("Host"),
        HandshakeError::InvalidHeader {
            name: "Upgrade",
            reason: "x",
        },
        HandshakeError::InvalidKey,
        HandshakeError::UnsupportedVersion { version: None },
        HandshakeError::InvalidProtocolList("x"),
        HandshakeError::InvalidExtensionList("x"),
        HandshakeError::InvalidExtendedConnect("x"),
        HandshakeError::Status {
            status: 404,
            reason: "Not Found".into(),
            headers: Headers::new(),
            body: vec![],
        },
        HandshakeError::AcceptMismatch {
            expected: "a".into(),
            received: "b".into(),
        },
        HandshakeError::UnexpectedSubprotocol("x".into()),
        HandshakeError::UnexpectedExtension("x".into()),
        HandshakeError::InvalidExtensionResponse("x"),
        HandshakeError::AlreadyComplete,
        HandshakeError::AlreadyFailed,
        HandshakeError::InvalidUri("x"),
        HandshakeError::InvalidHeaderInput {
            name: "x".into(),
            reason: "y",
        },
        HandshakeError::ReservedHeader("Host".into()),
        HandshakeError::InvalidSubprotocolInput("x".into()),
        HandshakeError::InvalidExtensionInput("x".into()),
        HandshakeError::UnofferedSubprotocol("x".into()),
        HandshakeError::UnofferedExtension("x".into()),
        HandshakeError::UnsupportedExtension("x".into()),
    ];
    for e in &all {
        assert!(!format!("{e}").is_empty());
        assert_eq!(e.http_status().is_some(), e.response().is_some());
        if e.is_api_misuse() {
            assert_eq!(e.http_status(), None, "{e:?}");
        }
        if let Some(r) = e.response() {
            let text = String::from_utf8(r).unwrap();
            assert!(text.contains("\r\nConnection: "));
            let mut slots = [httparse::EMPTY_HEADER; 16];
            let mut resp = httparse::Response::new(&mut slots);
            assert!(resp.parse(text.as_bytes()).unwrap().is_complete(), "{text}");
        }
    }
}

/// Limits of `usize::MAX` (a caller's "no limit") once sized the httparse header array from
/// the limits and panicked with a capacity overflow on the first complete head; the array is
/// now sized from the head itself, in both roles.
#[test]
fn unlimited_handshake_limits_do_not_size_allocations() {
    let unlimited = HandshakeLimits {
        max_header_bytes: usize::MAX,
        max_headers: usize::MAX,
    };
    let client = sample_client_with(unlimited);
    let mut server = ServerHandshake::new(unlimited);
    let (req, n) = server.feed(client.request_bytes()).unwrap().unwrap();
    assert_eq!(n, client.request_bytes().len());
    assert_eq!(req.path, "/chat");
    let head = req.accept_response(&Accept::default()).unwrap();
    let mut client = client;
    let (resp, n) = client.feed(&head).unwrap().unwrap();
    assert_eq!(n, head.len());
    assert_eq!(resp.subprotocol, None);
}

#[test]
fn absolute_form_targets_give_their_path_and_query() {
    let head = |target: &str| {
        format!(
            "GET {target} HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
    };
    let cases = [
        ("http://h/path?q=1", "/path", Some("q=1")),
        ("HTTP://h:80/a/b", "/a/b", None),
        ("ws://h", "/", None),
        ("https://h?x", "/", Some("x")),
        ("/plain?y", "/plain", Some("y")),
    ];
    for (target, path, query) in cases {
        let (req, _) = server_feed([head(target).as_bytes()]).unwrap();
        assert_eq!(req.path, path, "{target}");
        assert_eq!(req.query.as_deref(), query, "{target}");
    }
    for bad in ["*", "h/path", "ftp://h/x", "http:///x", "http://u@h/x"] {
        let mut s = ServerHandshake::new(limits());
        assert_eq!(
            s.feed(head(bad).as_bytes()),
            Err(HandshakeError::InvalidRequestTarget),
            "{bad}"
        );
    }
}

#[test]
fn subprotocol_selection_follows_the_clients_preference() {
    let head = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                Sec-WebSocket-Protocol: chat.v2, chat.v1\r\n\r\n";
    let (req, _) = server_feed([head.as_bytes()]).unwrap();
    assert_eq!(
        req.select_subprotocol(&["chat.v1", "chat.v2"]),
        Some("chat.v2")
    );
    assert_eq!(req.select_subprotocol(&["chat.v1"]), Some("chat.v1"));
    assert_eq!(req.select_subprotocol::<&str>(&[]), None);
    let accept = Accept::negotiate(&req, &["x", "chat.v1"], vec![("X-A".into(), "1".into())]);
    assert_eq!(accept.subprotocol.as_deref(), Some("chat.v1"));
    assert!(req.accept_response(&accept).is_ok());
    assert_eq!(Accept::negotiate(&req, &["x"], vec![]).subprotocol, None);
}
