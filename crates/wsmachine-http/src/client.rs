//! The client side: requests from `http` values, and the handshake through an HTTP client.

use http::Uri;
use wsmachine::handshake::{ClientHandshake, HandshakeError, parse_protocols};
use wsmachine::{ClientRequest, Response};

use crate::error::ConvertError;
use crate::head::{headers_to_http, parse_request, write_response_head};

/// A [`ClientRequest`] for `uri`: scheme `ws` or `wss` (`http` and `https` are taken as
/// `ws` and `wss`), host, port, path and query, with the checks of
/// [`ClientRequest::new`] (no userinfo, no fragment). Cost: one copy of the URI.
pub fn client_request_from_uri(uri: &Uri) -> Result<ClientRequest, HandshakeError> {
    let scheme = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("ws") || s.eq_ignore_ascii_case("http") => "ws",
        Some(s) if s.eq_ignore_ascii_case("wss") || s.eq_ignore_ascii_case("https") => "wss",
        Some(_) => return Err(HandshakeError::InvalidUri("scheme must be ws or wss")),
        None => return Err(HandshakeError::InvalidUri("missing \"ws://\"")),
    };
    let authority = uri
        .authority()
        .ok_or(HandshakeError::InvalidUri("missing host"))?;
    let tail = uri.path_and_query().map_or("", |p| p.as_str());
    ClientRequest::new(&format!("{scheme}://{}{tail}", authority.as_str()))
}

/// A [`ClientRequest`] from an `http::Request<()>` built the way tokio-tungstenite users
/// build theirs: the URI as in [`client_request_from_uri`]; `Sec-WebSocket-Protocol`
/// values become offered subprotocols and `Sec-WebSocket-Extensions` values extension
/// offers; every other header is sent as given (Authorization, Origin, Cookie, ...).
/// `Upgrade`, `Connection` and `Sec-WebSocket-Key` are ignored (the handshake writes them,
/// with a fresh key), `Sec-WebSocket-Version` must be 13, and a `Host` must be the URI's
/// (the handshake writes it from the URI).
///
/// Fails with [`HandshakeError::InvalidUri`] for a bad URI or a method other than GET,
/// with the builder's errors ([`HandshakeError::ReservedHeader`] for `Content-Length`,
/// ...), and [`HandshakeError::InvalidHeaderInput`] for a value that is not UTF-8.
/// Cost: one copy of the URI and the headers.
pub fn client_request_from_http(req: &http::Request<()>) -> Result<ClientRequest, HandshakeError> {
    if req.method() != http::Method::GET {
        return Err(HandshakeError::InvalidUri("a WebSocket request is a GET"));
    }
    let mut out = client_request_from_uri(req.uri())?;
    for (name, value) in req.headers() {
        let bad = |reason| HandshakeError::InvalidHeaderInput {
            name: name.as_str().to_owned(),
            reason,
        };
        let text = value.to_str().map_err(|_| bad("value is not UTF-8"))?;
        match name.as_str() {
            "upgrade" | "connection" | "sec-websocket-key" => {}
            "sec-websocket-version" if text.trim() == "13" => {}
            "sec-websocket-version" => return Err(bad("only version 13 is spoken")),
            "host" if text.eq_ignore_ascii_case(&out.host_header()) => {}
            "host" => return Err(HandshakeError::ReservedHeader("host".into())),
            "sec-websocket-protocol" => {
                for p in parse_protocols([value.as_bytes()])? {
                    out = out.subprotocol(p);
                }
            }
            "sec-websocket-extensions" => out = out.extension(text),
            _ => out = out.header(name.as_str(), text),
        }
    }
    out.check()?;
    Ok(out)
}

/// The request a [`ClientHandshake`] wrote, as an `http::Request<()>` (GET, origin-form
/// target, HTTP/1.1, `Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Key`, ...), for an
/// HTTP client that performs the upgrade itself (hyper's `client::conn::http1` with
/// `hyper::upgrade::on`). Check its answer with [`response_from_http`], then run a client
/// connection with no handshake on the upgraded I/O. Cost: one parse of the request.
pub fn client_handshake_to_http(
    handshake: &ClientHandshake,
) -> Result<http::Request<()>, ConvertError> {
    parse_request(handshake.request_bytes())
}

/// Checks the server's answer to `handshake`'s request, given as an `http` response, with
/// the core's client checks ([`ClientHandshake::feed`]: status 101,
/// `Upgrade`/`Connection`, `Sec-WebSocket-Accept` for our key, a subprotocol and
/// extensions we offered). A non-101 status is [`HandshakeError::Status`] (with an empty
/// `body`: the body is the HTTP client's). Cost: the head is written out and parsed once.
pub fn response_from_http<B>(
    handshake: &mut ClientHandshake,
    response: &http::Response<B>,
) -> Result<Response, HandshakeError> {
    let head = write_response_head(response.status(), response.version(), response.headers());
    match handshake.feed(&head)? {
        Some((response, _)) => Ok(response),
        None => Err(HandshakeError::MalformedHead("incomplete response head")),
    }
}

/// The core's [`Response`] (the server's `101`) as an `http::Response<()>` with every
/// header in order. Fails only for hand-built headers `http` cannot hold.
pub fn response_to_http(response: &Response) -> Result<http::Response<()>, ConvertError> {
    let mut out = http::Response::new(());
    *out.status_mut() = http::StatusCode::from_u16(response.status)
        .map_err(|_| ConvertError::InvalidHead("bad status"))?;
    *out.headers_mut() = headers_to_http(&response.headers)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsmachine::handshake::HandshakeLimits;
    use wsmachine::random::SeededRandom;

    #[test]
    fn uris() {
        let r = client_request_from_uri(&"wss://example.com:8443/a?b=1".parse().unwrap()).unwrap();
        assert_eq!(
            (r.host(), r.port(), r.is_tls()),
            ("example.com", 8443, true)
        );
        assert_eq!(r.resource(), "/a?b=1");
        let r = client_request_from_uri(&"http://[::1]/".parse().unwrap()).unwrap();
        assert_eq!((r.host(), r.port(), r.is_tls()), ("::1", 80, false));
        let r = client_request_from_uri(&"HTTPS://h".parse().unwrap()).unwrap();
        assert_eq!((r.port(), r.is_tls(), r.resource()), (443, true, "/"));
        for bad in ["ftp://h/", "/just/a/path", "ws://user@h/"] {
            let uri: Uri = bad.parse().unwrap();
            assert!(
                matches!(
                    client_request_from_uri(&uri),
                    Err(HandshakeError::InvalidUri(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_tungstenite_style_request_converts() {
        let req = http::Request::get("wss://api.example.com/v1/stream?x=1")
            .header("Host", "api.example.com")
            .header("Authorization", "Bearer s3cret")
            .header("Origin", "https://example.com")
            .header("Sec-WebSocket-Protocol", "v2.chat, v1.chat")
            .header("Sec-WebSocket-Key", "ignored")
            .header("Sec-WebSocket-Version", "13")
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .body(())
            .unwrap();
        let r = client_request_from_http(&req).unwrap();
        assert_eq!(r.subprotocols(), ["v2.chat", "v1.chat"]);
        assert_eq!(
            r.headers(),
            [
                ("authorization".to_string(), "Bearer s3cret".to_string()),
                ("origin".to_string(), "https://example.com".to_string())
            ]
        );
        assert_eq!(r.resource(), "/v1/stream?x=1");

        let refuse = |b: http::request::Builder| client_request_from_http(&b.body(()).unwrap());
        let base = || http::Request::get("ws://h/");
        assert!(refuse(http::Request::post("ws://h/")).is_err());
        assert!(refuse(base().header("Host", "other")).is_err());
        assert!(refuse(base().header("Sec-WebSocket-Version", "8")).is_err());
        assert!(refuse(base().header("Content-Length", "3")).is_err());
        assert!(refuse(base().header("X-Bin", &[0xffu8][..])).is_err());
        assert!(refuse(base().header("Sec-WebSocket-Protocol", "a b")).is_err());
        assert!(refuse(base().header("Host", "H")).is_ok());
    }

    #[test]
    fn handshake_through_http_values() {
        let request = ClientRequest::new("ws://localhost:9001/x")
            .unwrap()
            .subprotocol("chat")
            .header("Authorization", "Bearer t");
        let mut rng = SeededRandom::from_u64(3);
        let mut hs = ClientHandshake::new(&request, &mut rng, HandshakeLimits::default()).unwrap();
        let http_req = client_handshake_to_http(&hs).unwrap();
        assert_eq!(http_req.uri(), "/x");
        assert_eq!(http_req.headers()["host"], "localhost:9001");
        assert_eq!(http_req.headers()["authorization"], "Bearer t");

        // The server side, through http values too.
        let up = crate::upgrade(&http_req, &["chat"]).unwrap();
        let response = response_from_http(&mut hs, &up.response).unwrap();
        assert_eq!(response.subprotocol.as_deref(), Some("chat"));
        let back = response_to_http(&response).unwrap();
        assert_eq!(back.status(), 101);
        assert_eq!(back.headers(), up.response.headers());

        // A wrong accept key or a refusal fails as on the wire.
        let mut other =
            ClientHandshake::new(&request, &mut rng, HandshakeLimits::default()).unwrap();
        assert!(matches!(
            response_from_http(&mut other, &up.response),
            Err(HandshakeError::AcceptMismatch { .. })
        ));
        let mut third =
            ClientHandshake::new(&request, &mut rng, HandshakeLimits::default()).unwrap();
        let mut refused = http::Response::new(());
        *refused.status_mut() = http::StatusCode::FORBIDDEN;
        assert!(matches!(
            response_from_http(&mut third, &refused),
            Err(HandshakeError::Status { status: 403, .. })
        ));
    }
}
