//! The server side: validate an upgrade request an HTTP server parsed, answer it.

use http::header::HeaderMap;
use http::{Method, Uri, Version};
use wsmachine::handshake::{
    ExtendedConnect, HandshakeError, extended_connect_response, parse_protocols, reject_response,
};
use wsmachine::{Accept, Config, Connection, Decision, Request, Role, Timestamp};

use crate::error::ConvertError;
use crate::head::{headers_from_http, headers_to_http, parse_response};

/// The head of an `http` request: what [`validate`] and [`upgrade`] read. Implemented for
/// [`http::request::Parts`] and [`http::Request<B>`] (any body), so a handler can pass
/// either its whole request or the parts it split off.
pub trait RequestHead {
    /// The method.
    fn method(&self) -> &Method;
    /// The request target.
    fn uri(&self) -> &Uri;
    /// The HTTP version.
    fn version(&self) -> Version;
    /// The header fields.
    fn headers(&self) -> &HeaderMap;
}

impl RequestHead for http::request::Parts {
    fn method(&self) -> &Method {
        &self.method
    }
    fn uri(&self) -> &Uri {
        &self.uri
    }
    fn version(&self) -> Version {
        self.version
    }
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

impl<B> RequestHead for http::Request<B> {
    fn method(&self) -> &Method {
        self.method()
    }
    fn uri(&self) -> &Uri {
        self.uri()
    }
    fn version(&self) -> Version {
        self.version()
    }
    fn headers(&self) -> &HeaderMap {
        self.headers()
    }
}

/// Validates an HTTP/1.1 upgrade request with the core's checks
/// ([`Request::from_parts`]: GET, HTTP/1.1, `Host`, `Upgrade: websocket`,
/// `Connection: upgrade`, `Sec-WebSocket-Version: 13`, a 16-byte key, well-formed
/// protocol and extension lists) and returns it as the core's [`Request`] (path, query,
/// every header, offered subprotocols and extensions).
///
/// HTTP/2 and HTTP/3 requests are refused with
/// [`HandshakeError::InvalidExtendedConnect`] (400): they open WebSockets with an extended
/// CONNECT, see [`extended_connect`]. On error answer with [`error_response`].
/// Cost: one copy of the headers.
pub fn validate(req: &impl RequestHead) -> Result<Request, HandshakeError> {
    let minor = match req.version() {
        Version::HTTP_09 | Version::HTTP_10 => 0,
        Version::HTTP_11 => 1,
        _ => {
            return Err(HandshakeError::InvalidExtendedConnect(
                "HTTP/2 and HTTP/3 open WebSockets with an extended CONNECT, not an upgrade",
            ));
        }
    };
    let target = req.uri().to_string();
    Request::from_parts(
        req.method().as_str(),
        &target,
        minor,
        headers_from_http(req.headers()),
    )
}

/// An accepted upgrade: the validated request, the accept the core answered with, and the
/// `101 Switching Protocols` to return to the HTTP server.
#[derive(Debug)]
pub struct Upgrade {
    /// The validated request (path, query, headers, offered subprotocols).
    pub request: Request,
    /// What was accepted (the negotiated subprotocol, and with [`upgrade_with`] the
    /// permessage-deflate answer).
    pub accept: Accept,
    /// The `101` response: `Upgrade: websocket`, `Connection: Upgrade`,
    /// `Sec-WebSocket-Accept`, `Sec-WebSocket-Protocol` when one was selected and
    /// `Sec-WebSocket-Extensions` when permessage-deflate was agreed.
    pub response: http::Response<()>,
}

impl Upgrade {
    /// The server connection to run on the upgraded I/O: [`server_connection`] for this
    /// upgrade's `101` (permessage-deflate set up if the `101` agreed to it).
    pub fn connection(&self, config: Config) -> Connection {
        server_connection(&self.response, config)
    }
}

/// Validates `req` ([`validate`]) and builds its `101` response selecting the first
/// subprotocol the client offered that `subprotocols` lists ([`Accept::negotiate`]; none
/// if it offered none of them). Return `response` to the HTTP server, then run a server
/// connection with no HTTP handshake (e.g. `wsmachine_tokio::open(io, Role::Server, ..)`)
/// on the upgraded I/O. For extra response headers or a refusal (auth), use [`validate`]
/// then [`respond`]. Declines permessage-deflate: see [`upgrade_with`] for a server that
/// compresses. Cost: one copy of the headers and one SHA-1.
pub fn upgrade<S: AsRef<str>>(
    req: &impl RequestHead,
    subprotocols: &[S],
) -> Result<Upgrade, HandshakeError> {
    upgrade_with(req, subprotocols, &Config::default())
}

/// [`upgrade`] for connections that run with `config`: with the cargo feature `deflate`
/// and `config.deflate` set, the `101` also answers the client's first acceptable
/// permessage-deflate offer as the core's own handshake would
/// (`DeflateConfig::negotiate`). Then run
/// [`Upgrade::connection`] on the upgraded I/O (e.g. with `wsmachine_tokio::from_connection`):
/// it is built with the agreed parameters, so compressed frames are understood from the
/// first one. Cost: as [`upgrade`], plus one pass over the offered extensions.
pub fn upgrade_with<S: AsRef<str>>(
    req: &impl RequestHead,
    subprotocols: &[S],
    config: &Config,
) -> Result<Upgrade, HandshakeError> {
    let request = validate(req)?;
    let accept = with_deflate(
        &request,
        Accept::negotiate(&request, subprotocols, Vec::new()),
        config,
    );
    let response = self::accept(&request, &accept)?;
    Ok(Upgrade {
        request,
        accept,
        response,
    })
}

/// `accept` plus the answer to the client's permessage-deflate offer when `config` asks
/// for the extension and `accept` does not list it already (as the core's
/// `Connection::accept` does).
#[cfg(feature = "deflate")]
fn with_deflate(request: &Request, mut accept: Accept, config: &Config) -> Accept {
    let listed =
        wsmachine::handshake::parse_extensions(accept.extensions.iter().map(String::as_bytes))
            .is_ok_and(|l| {
                l.iter().any(|e| {
                    e.name
                        .eq_ignore_ascii_case(wsmachine::deflate::EXTENSION_NAME)
                })
            });
    if let (Some(d), false) = (config.deflate, listed) {
        if let Some(params) = d.negotiate(&request.extensions) {
            accept.extensions.push(params.to_header_value());
        }
    }
    accept
}

#[cfg(not(feature = "deflate"))]
fn with_deflate(_: &Request, accept: Accept, _: &Config) -> Accept {
    accept
}

/// The server connection for the I/O a framework upgraded after `response` (a `101` built
/// by [`upgrade_with`], [`respond_with`], [`accept`] or [`respond`]):
/// [`Connection::open`] in the server role at [`Timestamp::ZERO`], with no HTTP handshake.
/// With the cargo feature `deflate`, when the `101`'s `Sec-WebSocket-Extensions` agreed to
/// permessage-deflate, the connection runs it
/// (`Connection::use_deflate`, compressing as `config.deflate` says, or with the defaults).
/// Hand it to an adapter that starts its clock now (`wsmachine_tokio::from_connection`,
/// `wsmachine_std::WebSocket::from_connection` with `Instant::now()`). Cost: the core's
/// state, and a parse of the `101`'s extension header.
pub fn server_connection<B>(response: &http::Response<B>, config: Config) -> Connection {
    #[allow(unused_mut)]
    let mut conn = Connection::open(Role::Server, config, Timestamp::ZERO);
    #[cfg(feature = "deflate")]
    {
        let values = response
            .headers()
            .get_all(http::header::SEC_WEBSOCKET_EXTENSIONS)
            .iter()
            .map(|v| v.as_bytes());
        let agreed = wsmachine::handshake::parse_extensions(values)
            .ok()
            .and_then(|list| wsmachine::DeflateParams::from_extensions(&list));
        if let Some(params) = agreed {
            conn.use_deflate(params, config.deflate.unwrap_or_default());
        }
    }
    #[cfg(not(feature = "deflate"))]
    let _ = response;
    conn
}

/// The `101 Switching Protocols` for `request` with `accept` (subprotocol, extensions,
/// extra headers), built by [`Request::accept_response`]: it fails, as that does, when
/// `accept` names a subprotocol or extension the client did not offer or an invalid or
/// reserved header (API misuse; answer 500, as [`respond`] does).
pub fn accept(request: &Request, accept: &Accept) -> Result<http::Response<()>, HandshakeError> {
    let bytes = request.accept_response(accept)?;
    match parse_response(&bytes) {
        Ok(response) => Ok(response.map(|_| ())),
        Err(ConvertError::InvalidHeader { name }) => Err(HandshakeError::InvalidHeaderInput {
            name,
            reason: "not a valid http header",
        }),
        Err(_) => Err(HandshakeError::InvalidHeaderInput {
            name: String::new(),
            reason: "the response does not parse",
        }),
    }
}

/// [`respond`] for connections that run with `config`: with the cargo feature `deflate`
/// and `config.deflate` set, an accept's `101` also answers the client's permessage-deflate
/// offer (as [`upgrade_with`] does). When the status is 101, run
/// [`server_connection`]`(&response, config)` on the upgraded I/O. Cost: as [`respond`].
pub fn respond_with(
    request: &Request,
    decision: &Decision,
    config: &Config,
) -> http::Response<Vec<u8>> {
    match decision {
        Decision::Accept(a) => respond(
            request,
            &Decision::Accept(with_deflate(request, a.clone(), config)),
        ),
        reject => respond(request, reject),
    }
}

/// The response for a [`Decision`] on `request`, as the core's connection writes it:
/// `101` for a valid accept, `500 Internal Server Error` (body `invalid accept options`)
/// for an invalid one, and for a reject the status, headers and body of
/// [`reject_response`] (`Content-Length`, `Connection: close`; invalid headers dropped, a
/// status outside 200–599 made 500). Upgrade the connection only when the status is 101.
/// Cost: one copy of the response.
pub fn respond(request: &Request, decision: &Decision) -> http::Response<Vec<u8>> {
    let bytes = match decision {
        Decision::Accept(a) => match accept(request, a) {
            Ok(response) => return response.map(|()| Vec::new()),
            Err(_) => reject_response(500, &[], b"invalid accept options"),
        },
        Decision::Reject {
            status,
            headers,
            body,
        } => reject_response(*status, headers, body),
    };
    parse_response(&bytes).unwrap_or_else(|_| internal_error())
}

/// The response for a handshake error: for a peer's bad request the core's
/// ([`HandshakeError::response`]: 400, 405 with `Allow: GET`, 426 with
/// `Sec-WebSocket-Version: 13`, 431, a plain-text body saying why); for API misuse
/// `500 Internal Server Error`.
pub fn error_response(error: &HandshakeError) -> http::Response<Vec<u8>> {
    error
        .response()
        .and_then(|bytes| parse_response(&bytes).ok())
        .unwrap_or_else(internal_error)
}

fn internal_error() -> http::Response<Vec<u8>> {
    let mut r = http::Response::new(b"internal error\n".to_vec());
    *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    r
}

/// Validates an HTTP/2 (or HTTP/3) extended CONNECT that bootstraps a WebSocket (RFC 8441)
/// with the core's [`validate_extended_connect`](wsmachine::handshake::validate_extended_connect)
/// and builds its `200` response, selecting the first subprotocol the client offered that
/// `subprotocols` lists (in `sec-websocket-protocol`). `protocol` is the `:protocol`
/// pseudo-header, which `http` does not carry: with hyper it is
/// `req.extensions().get::<hyper::ext::Protocol>().map(|p| p.as_str())` (the server needs
/// `enable_connect_protocol()`). Then run a server connection with no handshake on the
/// stream. Errors as [`validate`]'s (400, or 426 for a wrong version).
pub fn extended_connect<S: AsRef<str>>(
    req: &impl RequestHead,
    protocol: Option<&str>,
    subprotocols: &[S],
) -> Result<http::Response<()>, HandshakeError> {
    let headers = req.headers();
    let offered: Vec<&[u8]> = headers
        .get_all("sec-websocket-protocol")
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    let version = match headers.get("sec-websocket-version").map(|v| v.to_str()) {
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => Some("?"),
        None => None,
    };
    let uri = req.uri();
    let connect = ExtendedConnect {
        method: req.method().as_str(),
        protocol,
        scheme: uri.scheme_str(),
        path: uri.path_and_query().map(|p| p.as_str()),
        authority: uri.authority().map(|a| a.as_str()),
        version,
        subprotocols: &offered,
    };
    let choice = parse_protocols(offered.iter().copied())?
        .into_iter()
        .find(|p| subprotocols.iter().any(|s| s.as_ref() == p));
    let answer = extended_connect_response(&connect, choice.as_deref())?;
    let mut response = http::Response::new(());
    *response.version_mut() = req.version();
    if let Some(p) = &answer.subprotocol {
        let value = http::HeaderValue::from_str(p)
            .map_err(|_| HandshakeError::InvalidSubprotocolInput(p.clone()))?;
        response
            .headers_mut()
            .insert("sec-websocket-protocol", value);
    }
    Ok(response)
}

/// The core's [`Request`] as an `http::Request<()>`: method, origin-form target, HTTP/1.x
/// version and every header in order. Fails only for a hand-built `Request` whose target
/// or headers `http` cannot hold. Cost: one copy of the headers.
pub fn request_to_http(request: &Request) -> Result<http::Request<()>, ConvertError> {
    let target = request.uri();
    let uri: Uri = target
        .parse()
        .map_err(|_| ConvertError::InvalidUri(target.clone()))?;
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|_| ConvertError::InvalidHead("bad method"))?;
    let mut out = http::Request::new(());
    *out.method_mut() = method;
    *out.uri_mut() = uri;
    *out.version_mut() = if request.version_minor == 0 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    *out.headers_mut() = headers_to_http(&request.headers)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn good() -> http::request::Builder {
        http::Request::get("/chat?room=1")
            .header("host", "server.example.com")
            .header("upgrade", "websocket")
            .header("connection", "keep-alive, Upgrade")
            .header("sec-websocket-key", KEY)
            .header("origin", "http://example.com")
            .header("sec-websocket-protocol", "chat, superchat")
            .header("sec-websocket-version", "13")
    }

    #[test]
    fn rfc_example_upgrades_with_the_negotiated_subprotocol() {
        let req = good().body(()).unwrap();
        let up = upgrade(&req, &["superchat", "chat"]).unwrap();
        assert_eq!(up.request.path, "/chat");
        assert_eq!(up.request.query.as_deref(), Some("room=1"));
        assert_eq!(
            up.request.header("Origin"),
            Some(&b"http://example.com"[..])
        );
        // The client's order of preference wins.
        assert_eq!(up.accept.subprotocol.as_deref(), Some("chat"));
        let r = &up.response;
        assert_eq!(r.status(), 101);
        assert_eq!(r.headers()["upgrade"], "websocket");
        assert_eq!(r.headers()["connection"], "Upgrade");
        assert_eq!(
            r.headers()["sec-websocket-accept"],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(r.headers()["sec-websocket-protocol"], "chat");

        let (parts, ()) = req.into_parts();
        let none = upgrade(&parts, &["mqtt"]).unwrap();
        assert!(none.accept.subprotocol.is_none());
        assert!(
            none.response
                .headers()
                .get("sec-websocket-protocol")
                .is_none()
        );
    }

    #[test]
    fn refusals_carry_the_cores_status_and_headers() {
        let e = validate(&good().method("POST").body(()).unwrap()).unwrap_err();
        let r = error_response(&e);
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "GET");

        let mut req = good().body(()).unwrap();
        req.headers_mut().remove("sec-websocket-version");
        let r = error_response(&validate(&req).unwrap_err());
        assert_eq!(r.status(), 426);
        assert_eq!(r.headers()["sec-websocket-version"], "13");
        assert!(String::from_utf8_lossy(r.body()).contains("Sec-WebSocket-Version"));

        let mut req = good().body(()).unwrap();
        req.headers_mut()
            .insert("sec-websocket-key", http::HeaderValue::from_static("short"));
        assert_eq!(validate(&req).unwrap_err(), HandshakeError::InvalidKey);

        let mut req = good().body(()).unwrap();
        req.headers_mut().remove("upgrade");
        assert_eq!(error_response(&validate(&req).unwrap_err()).status(), 400);

        let req = good().version(Version::HTTP_10).body(()).unwrap();
        assert_eq!(error_response(&validate(&req).unwrap_err()).status(), 400);
        let req = good().version(Version::HTTP_2).body(()).unwrap();
        assert!(matches!(
            validate(&req),
            Err(HandshakeError::InvalidExtendedConnect(_))
        ));
        let misuse = HandshakeError::UnofferedSubprotocol("x".into());
        assert_eq!(error_response(&misuse).status(), 500);
    }

    #[test]
    fn absolute_form_targets_are_accepted() {
        let req = good()
            .uri("http://server.example.com/a?b")
            .body(())
            .unwrap();
        let r = validate(&req).unwrap();
        assert_eq!((r.path.as_str(), r.query.as_deref()), ("/a", Some("b")));
    }

    #[test]
    fn decisions_become_responses() {
        let req = validate(&good().body(()).unwrap()).unwrap();
        let accept = Accept {
            subprotocol: Some("chat".into()),
            headers: vec![("Set-Cookie".into(), "a=b".into())],
            ..Accept::default()
        };
        let r = respond(&req, &Decision::Accept(accept));
        assert_eq!(r.status(), 101);
        assert_eq!(r.headers()["set-cookie"], "a=b");
        assert!(r.body().is_empty());

        let r = respond(&req, &Decision::reject(401, "who are you?\n"));
        assert_eq!(r.status(), 401);
        assert_eq!(r.body(), b"who are you?\n");
        assert_eq!(r.headers()["content-length"], "13");
        assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");

        // An accept the core refuses is a 500, as the core answers on the wire.
        let r = respond(&req, &Decision::accept_subprotocol("mqtt"));
        assert_eq!(r.status(), 500);
        assert_eq!(r.body(), b"invalid accept options");
        assert!(accept_fn_refuses_reserved_headers(&req));
    }

    fn accept_fn_refuses_reserved_headers(req: &Request) -> bool {
        let a = Accept {
            headers: vec![("Sec-WebSocket-Accept".into(), "x".into())],
            ..Accept::default()
        };
        matches!(accept(req, &a), Err(HandshakeError::ReservedHeader(_)))
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn upgrade_with_deflate_answers_the_offer_and_the_connection_runs_it() {
        use wsmachine::{DeflateConfig, DeflateParams, Event, Message};
        let req = good()
            .header(
                "sec-websocket-extensions",
                "x-foo, permessage-deflate; client_max_window_bits",
            )
            .body(())
            .unwrap();
        let config = Config {
            deflate: Some(DeflateConfig {
                server_no_context_takeover: true,
                ..DeflateConfig::default()
            }),
            ..Config::default()
        };
        let up = upgrade_with(&req, &["chat"], &config).unwrap();
        assert_eq!(
            up.response.headers()["sec-websocket-extensions"],
            "permessage-deflate; server_no_context_takeover"
        );
        let want = DeflateParams {
            server_no_context_takeover: true,
            ..DeflateParams::default()
        };
        let mut server = up.connection(config);
        assert_eq!(server.deflate_params(), Some(&want));

        // What the server sends is compressed (RSV1), and a client running the same
        // parameters reads it back.
        let text = "{\"id\":1,\"text\":\"hello hello hello hello\"}".repeat(20);
        server.send_text(text.clone()).unwrap();
        let mut wire = Vec::new();
        server.write_transmit_to(&mut wire, usize::MAX);
        assert_eq!(wire[0], 0x80 | 0x40 | 0x1, "FIN, RSV1, text");
        assert!(
            wire.len() < text.len() / 4,
            "{} bytes on the wire",
            wire.len()
        );
        let mut client = Connection::open(Role::Client, Config::default(), Timestamp::ZERO);
        client.use_deflate(want, DeflateConfig::default());
        client.handle_input(Timestamp::ZERO, &wire);
        match client.poll_event() {
            Some(Event::Message(Message::Text(t))) => assert_eq!(t.as_str(), text),
            other => panic!("{other:?}"),
        }

        // Without the offer, or without the config, nothing is agreed.
        for (req, config) in [(good().body(()).unwrap(), config), (req, Config::default())] {
            let up = upgrade_with(&req, &["chat"], &config).unwrap();
            assert!(
                up.response
                    .headers()
                    .get("sec-websocket-extensions")
                    .is_none()
            );
            assert_eq!(up.connection(config).deflate_params(), None);
        }
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn respond_with_deflate() {
        use wsmachine::DeflateConfig;
        let req = good()
            .header(
                "sec-websocket-extensions",
                "permessage-deflate; server_max_window_bits=10",
            )
            .body(())
            .unwrap();
        let request = validate(&req).unwrap();
        let config = Config {
            deflate: Some(DeflateConfig::default()),
            ..Config::default()
        };
        let r = respond_with(&request, &Decision::accept_subprotocol("chat"), &config);
        assert_eq!(r.status(), 101);
        assert_eq!(
            r.headers()["sec-websocket-extensions"],
            "permessage-deflate; server_max_window_bits=10"
        );
        let conn = server_connection(&r, config);
        assert_eq!(
            conn.deflate_params().and_then(|p| p.server_max_window_bits),
            Some(10)
        );
        // A refusal stays a refusal; plain respond declines the extension.
        let r = respond_with(&request, &Decision::reject(401, "no"), &config);
        assert_eq!(r.status(), 401);
        let r = respond(&request, &Decision::accept());
        assert!(r.headers().get("sec-websocket-extensions").is_none());
        assert_eq!(server_connection(&r, config).deflate_params(), None);
    }

    #[test]
    fn request_round_trips_through_http() {
        let original = good().body(()).unwrap();
        let ours = validate(&original).unwrap();
        let back = request_to_http(&ours).unwrap();
        assert_eq!(back.method(), Method::GET);
        assert_eq!(back.uri(), "/chat?room=1");
        assert_eq!(back.version(), Version::HTTP_11);
        assert_eq!(back.headers(), original.headers());
        assert_eq!(validate(&back).unwrap(), ours);
    }

    #[test]
    fn extended_connect_over_http2() {
        let req = http::Request::connect("https://server.example.com/chat")
            .version(Version::HTTP_2)
            .header("sec-websocket-version", "13")
            .header("sec-websocket-protocol", "chat, superchat")
            .body(())
            .unwrap();
        let r = extended_connect(&req, Some("websocket"), &["superchat"]).unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.version(), Version::HTTP_2);
        assert_eq!(r.headers()["sec-websocket-protocol"], "superchat");
        let e = extended_connect(&req, None, &["chat"]).unwrap_err();
        assert_eq!(e.http_status(), Some(400));
        let mut old = req;
        old.headers_mut()
            .insert("sec-websocket-version", http::HeaderValue::from_static("8"));
        let e = extended_connect(&old, Some("websocket"), &["chat"]).unwrap_err();
        assert_eq!(error_response(&e).status(), 426);
    }
}
