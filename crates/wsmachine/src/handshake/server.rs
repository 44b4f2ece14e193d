//! The server side: parse and validate the upgrade request, then build the answer.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;

use super::error::HandshakeError;
use super::head::{HeadReader, header_slots, map_httparse, owned_headers};
use super::headers::{Headers, check_header_input, is_value_byte};
use super::negotiate::{ExtensionOffer, parse_extensions, parse_protocols};
use super::{HandshakeLimits, accept_key};

/// A valid WebSocket upgrade request, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method; always `GET` (other methods are refused with 405).
    pub method: String,
    /// The request path as sent, without the query (starts with `/`; not percent-decoded).
    pub path: String,
    /// The query after `?`, without the `?`, if any.
    pub query: Option<String>,
    /// All request headers, in order (including `Host`, `Origin`, cookies, ...).
    pub headers: Headers,
    /// The `Sec-WebSocket-Key` value (24 base64 characters of a 16-byte nonce).
    pub key: String,
    /// Subprotocols the client offered, in its order of preference (duplicates kept).
    pub subprotocols: Vec<String>,
    /// Extension offers, in the client's order.
    pub extensions: Vec<ExtensionOffer>,
    /// The HTTP minor version: 1 (HTTP/1.0 is refused).
    pub version_minor: u8,
}

/// What the server accepts. `Default` accepts with no subprotocol, no extension and no extra
/// header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    /// The subprotocol to select; must be one the client offered (exact match).
    pub subprotocol: Option<String>,
    /// Accepted extensions as raw list elements (e.g. `permessage-deflate;
    /// server_no_context_takeover`); each must parse and its name must have been offered.
    pub extensions: Vec<String>,
    /// Extra response headers (e.g. `Set-Cookie`); same rules as
    /// [`ClientRequest::header`](super::ClientRequest::header).
    pub headers: Vec<(String, String)>,
}

/// A server's answer to an upgrade request: accept with an [`Accept`], or refuse with an
/// HTTP status, extra headers and a body. Apply it with
/// [`Connection::decide`](crate::Connection::decide); the adapters' decision callbacks
/// return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Accept with this subprotocol, extensions and extra response headers.
    Accept(Accept),
    /// Refuse; the connection closes once the response is written.
    Reject {
        /// The HTTP status (e.g. 403).
        status: u16,
        /// Extra response headers.
        headers: Vec<(String, String)>,
        /// The response body.
        body: Vec<u8>,
    },
}

impl Accept {
    /// Accepts `request` with the subprotocol [`Request::select_subprotocol`] picks from
    /// `supported` (none if the client offered none of them) and the extra `headers`: the
    /// one negotiation rule every adapter uses.
    pub fn negotiate<S: AsRef<str>>(
        request: &Request,
        supported: &[S],
        headers: Vec<(String, String)>,
    ) -> Accept {
        Accept {
            subprotocol: request.select_subprotocol(supported).map(String::from),
            extensions: Vec::new(),
            headers,
        }
    }
}

impl Decision {
    /// Accept with no subprotocol, no extensions and no extra headers.
    pub fn accept() -> Decision {
        Decision::Accept(Accept::default())
    }

    /// Accept with this subprotocol (it must be one the client offered).
    pub fn accept_subprotocol(subprotocol: impl Into<String>) -> Decision {
        Decision::Accept(Accept {
            subprotocol: Some(subprotocol.into()),
            ..Accept::default()
        })
    }

    /// Refuse with `status` and a plain-text `body`.
    pub fn reject(status: u16, body: impl Into<Vec<u8>>) -> Decision {
        Decision::Reject {
            status,
            headers: alloc::vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.into(),
        }
    }
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// The subprotocol to select: the first one the client offered (its order of
    /// preference) that `supported` lists, compared exactly. Cost: O(offered x supported).
    pub fn select_subprotocol<S: AsRef<str>>(&self, supported: &[S]) -> Option<&str> {
        self.subprotocols
            .iter()
            .find(|offered| supported.iter().any(|s| s.as_ref() == offered.as_str()))
            .map(String::as_str)
    }

    /// The request target as sent: path plus `?query` if any.
    pub fn uri(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.path, q),
            None => self.path.clone(),
        }
    }

    /// Builds the `101 Switching Protocols` response: `Upgrade: websocket`,
    /// `Connection: Upgrade`, `Sec-WebSocket-Accept`, then `Sec-WebSocket-Protocol` and
    /// `Sec-WebSocket-Extensions` when chosen, the extra headers and the empty line.
    ///
    /// Fails (API misuse, nothing to send) when the subprotocol was not offered, an extension
    /// does not parse or was not offered (names compared case-insensitively), is one the core
    /// does not run ([`HandshakeError::UnsupportedExtension`]: anything but
    /// permessage-deflate, which needs the `deflate` feature, once, as a valid answer to one
    /// of the client's offers), or an extra header is invalid or reserved. Cost: one SHA-1
    /// and one allocation of the response size.
    pub fn accept_response(&self, accept: &Accept) -> Result<Vec<u8>, HandshakeError> {
        if let Some(p) = accept
            .subprotocol
            .as_ref()
            .filter(|p| !self.subprotocols.contains(p))
        {
            return Err(HandshakeError::UnofferedSubprotocol(p.clone()));
        }
        let mut deflate_accepted = false;
        for e in &accept.extensions {
            let printable = e.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
            let parsed = parse_extensions([e.as_bytes()]);
            let offers = match parsed {
                Ok(o) if printable => o,
                _ => return Err(HandshakeError::InvalidExtensionInput(e.clone())),
            };
            for o in offers {
                if !self
                    .extensions
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&o.name))
                {
                    return Err(HandshakeError::UnofferedExtension(o.name));
                }
                accepted_runs(&self.extensions, &o, &mut deflate_accepted)?;
            }
        }
        for (n, v) in &accept.headers {
            check_header_input(n, v)?;
        }
        let mut out = String::with_capacity(160);
        out.push_str("HTTP/1.1 101 Switching Protocols\r\n");
        let mut line = |name: &str, value: &str| {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        };
        line("Upgrade", "websocket");
        line("Connection", "Upgrade");
        line("Sec-WebSocket-Accept", &accept_key(self.key.as_bytes()));
        if let Some(p) = &accept.subprotocol {
            line("Sec-WebSocket-Protocol", p);
        }
        if !accept.extensions.is_empty() {
            line("Sec-WebSocket-Extensions", &accept.extensions.join(", "));
        }
        for (n, v) in &accept.headers {
            line(n, v);
        }
        out.push_str("\r\n");
        Ok(out.into_bytes())
    }
}

/// Checks that an accepted extension element is one the core runs: permessage-deflate (with
/// the `deflate` feature), at most once, answering one of `offers`.
fn accepted_runs(
    offers: &[ExtensionOffer],
    accepted: &ExtensionOffer,
    deflate_accepted: &mut bool,
) -> Result<(), HandshakeError> {
    let unsupported = || HandshakeError::UnsupportedExtension(accepted.to_header_value());
    #[cfg(feature = "deflate")]
    if crate::deflate::is_deflate(&accepted.name) {
        if core::mem::replace(deflate_accepted, true) {
            return Err(unsupported());
        }
        return crate::deflate::check_response(offers, accepted)
            .map(|_| ())
            .map_err(|_| unsupported());
    }
    let _ = (offers, deflate_accepted);
    Err(unsupported())
}

/// The reason phrase for common status codes (empty for others, which HTTP allows).
fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        414 => "URI Too Long",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Builds a complete refusal: `HTTP/1.1 {status} {reason}`, the given headers, a
/// `Content-Length` for `body`, `Connection: close` (`Connection: Upgrade, close` when an
/// `Upgrade` header is given, as a 426 needs), the empty line and `body`.
///
/// It cannot fail, so it drops what it must not write: headers whose name is not a token or
/// whose value has CR, LF, NUL or other control bytes, and caller `Content-Length`,
/// `Transfer-Encoding` and `Connection` headers. A `status` outside 200–599 becomes 500; for
/// 204 and 304 the body and `Content-Length` are omitted. Cost: one allocation.
pub fn reject_response(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let status = if (200..=599).contains(&status) {
        status
    } else {
        500
    };
    let bodiless = status == 204 || status == 304;
    let mut out = Vec::with_capacity(128usize.saturating_add(body.len()));
    out.extend_from_slice(format!("HTTP/1.1 {} {}\r\n", status, reason_phrase(status)).as_bytes());
    let mut upgrade = false;
    for (n, v) in headers {
        let dropped = ["Content-Length", "Transfer-Encoding", "Connection"]
            .iter()
            .any(|d| d.eq_ignore_ascii_case(n));
        let valid = super::negotiate::is_token(n.as_bytes()) && v.bytes().all(is_value_byte);
        if dropped || !valid {
            continue;
        }
        upgrade |= n.eq_ignore_ascii_case("Upgrade");
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !bodiless {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    if upgrade {
        out.extend_from_slice(b"Connection: Upgrade, close\r\n\r\n");
    } else {
        out.extend_from_slice(b"Connection: close\r\n\r\n");
    }
    if !bodiless {
        out.extend_from_slice(body);
    }
    out
}

/// A server handshake in progress: feed it the client's bytes until it yields a [`Request`].
#[derive(Debug, Clone)]
pub struct ServerHandshake {
    reader: HeadReader,
    limits: HandshakeLimits,
}

impl ServerHandshake {
    /// A handshake waiting for a request head bounded by `limits`. Allocates nothing yet.
    pub fn new(limits: HandshakeLimits) -> Self {
        ServerHandshake {
            reader: HeadReader::new(limits.max_header_bytes),
            limits,
        }
    }

    /// True once `feed` returned a request.
    pub fn is_complete(&self) -> bool {
        self.reader.is_complete()
    }

    /// Feeds bytes received from the client. Returns `Ok(None)` while the request head is
    /// incomplete (all of `input` was buffered), or `Ok(Some((request, n)))` when it is:
    /// `input[..n]` ended the head and `input[n..]` is frame data the client pipelined,
    /// which the caller must pass to the connection.
    ///
    /// Checks, in order: head size and header count (431), HTTP syntax (400), HTTP/1.1 or
    /// later (400), method `GET` (405 with `Allow: GET`), origin-form target (400), exactly
    /// one non-empty `Host` (400), `Upgrade` containing `websocket` and `Connection`
    /// containing `upgrade` (400), exactly one `Sec-WebSocket-Version: 13` (426), exactly one
    /// `Sec-WebSocket-Key` decoding to 16 bytes (400), well-formed protocol and extension
    /// lists (400). `Origin` is not checked: that is the caller's policy. On error, send
    /// [`HandshakeError::response`] and close. Any error is final, as is success: later calls
    /// fail with [`HandshakeError::AlreadyFailed`] / [`HandshakeError::AlreadyComplete`].
    /// Cost: O(input.len()) per call, plus one httparse run over the head at the end.
    pub fn feed(&mut self, input: &[u8]) -> Result<Option<(Request, usize)>, HandshakeError> {
        self.reader.check_reading()?;
        let result = self.feed_inner(input);
        self.reader.settle(&result);
        result
    }

    fn feed_inner(&mut self, input: &[u8]) -> Result<Option<(Request, usize)>, HandshakeError> {
        let Some(n) = self.reader.push(input)? else {
            return Ok(None);
        };
        let mut slots = header_slots(&self.limits, self.reader.head().len());
        let mut req = httparse::Request::new(&mut slots);
        match req.parse(self.reader.head()) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(HandshakeError::MalformedHead("incomplete request head"));
            }
            Err(e) => return Err(map_httparse(e, &self.limits)),
        }
        let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
            return Err(HandshakeError::MalformedHead("incomplete request line"));
        };
        let headers = owned_headers(req.headers);
        let request = Request::from_parts(method, target, minor, headers)?;
        Ok(Some((request, n)))
    }
}

impl Request {
    /// Validates an upgrade request that an HTTP/1.x server already parsed (hyper, axum, any
    /// framework that hands over its connection after a `101`), with exactly the checks
    /// [`ServerHandshake::feed`] makes after parsing: HTTP/1.1 or later (`version_minor`
    /// ≥ 1, else 400), method `GET` (405), origin-form or absolute-form `target` (400),
    /// exactly one non-empty `Host` (400), `Upgrade: websocket` and `Connection: upgrade`
    /// (400), exactly one `Sec-WebSocket-Version: 13` (426), a `Sec-WebSocket-Key` of 16
    /// bytes (400), well-formed protocol and extension lists (400). Size limits are the
    /// framework's. On error, answer with [`HandshakeError::http_status`] (or
    /// [`HandshakeError::response`]); on success, with [`Request::accept_response`].
    /// Cost: O(size of the headers), plus copies of the path, query and key.
    pub fn from_parts(
        method: &str,
        target: &str,
        version_minor: u8,
        headers: Headers,
    ) -> Result<Request, HandshakeError> {
        if version_minor < 1 {
            return Err(HandshakeError::UnsupportedHttpVersion {
                minor: version_minor,
            });
        }
        if method != "GET" {
            return Err(HandshakeError::MethodNotAllowed {
                method: method.to_owned(),
            });
        }
        let target = origin_form(target).ok_or(HandshakeError::InvalidRequestTarget)?;
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.to_owned(), None),
        };
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path
        };
        validate(method.to_owned(), path, query, version_minor, headers)
    }
}

/// The origin form (`/path?query`, the path possibly empty) of a request target. A target in absolute form
/// (`http://host/path?query` or `ws://...`, which HTTP/1.1 servers must accept: RFC 9112
/// 3.2.2) gives its path and query; an empty path is `/`. Any other form is `None`.
fn origin_form(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return Some(target);
    }
    let (scheme, rest) = target.split_once("://")?;
    if !["http", "https", "ws", "wss"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
    {
        return None;
    }
    let path_at = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(path_at);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    // `http://host` and `http://host?q` have an empty path; the caller makes it `/`.
    Some(path)
}

/// Exactly one occurrence of `name`, or the matching error.
fn single<'a>(headers: &'a Headers, name: &'static str) -> Result<&'a [u8], HandshakeError> {
    let mut all = headers.get_all(name);
    let first = all.next().ok_or(HandshakeError::MissingHeader(name))?;
    if all.next().is_some() {
        return Err(HandshakeError::DuplicateHeader(name));
    }
    Ok(first)
}

fn validate(
    method: String,
    path: String,
    query: Option<String>,
    version_minor: u8,
    headers: Headers,
) -> Result<Request, HandshakeError> {
    if single(&headers, "Host")?.is_empty() {
        return Err(HandshakeError::InvalidHeader {
            name: "Host",
            reason: "empty",
        });
    }
    if headers.get("Upgrade").is_none() {
        return Err(HandshakeError::MissingHeader("Upgrade"));
    }
    if !headers.contains_token("Upgrade", "websocket") {
        return Err(HandshakeError::InvalidHeader {
            name: "Upgrade",
            reason: "does not name websocket",
        });
    }
    if headers.get("Connection").is_none() {
        return Err(HandshakeError::MissingHeader("Connection"));
    }
    if !headers.contains_token("Connection", "upgrade") {
        return Err(HandshakeError::InvalidHeader {
            name: "Connection",
            reason: "does not contain upgrade",
        });
    }
    let version_ok = {
        let mut versions = headers.get_all("Sec-WebSocket-Version");
        (versions.next(), versions.next())
    };
    match version_ok {
        (Some(b"13"), None) => {}
        (None, _) => return Err(HandshakeError::UnsupportedVersion { version: None }),
        _ => {
            let all: Vec<_> = headers
                .get_all("Sec-WebSocket-Version")
                .map(String::from_utf8_lossy)
                .collect();
            return Err(HandshakeError::UnsupportedVersion {
                version: Some(all.join(", ")),
            });
        }
    }
    let key = single(&headers, "Sec-WebSocket-Key")?;
    let decoded_len = if key.len() == 24 {
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .map(|d| d.len())
            .unwrap_or(0)
    } else {
        0
    };
    if decoded_len != 16 {
        return Err(HandshakeError::InvalidKey);
    }
    // 24 base64 characters are ASCII, so this conversion cannot fail.
    let key = String::from_utf8_lossy(key).into_owned();
    let subprotocols = parse_protocols(headers.get_all("Sec-WebSocket-Protocol"))?;
    let extensions = parse_extensions(headers.get_all("Sec-WebSocket-Extensions"))?;
    Ok(Request {
        method,
        path,
        query,
        headers,
        key,
        subprotocols,
        extensions,
        version_minor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(head: &str) -> Result<Option<(Request, usize)>, HandshakeError> {
        ServerHandshake::new(HandshakeLimits::default()).feed(head.as_bytes())
    }

    const GOOD: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\n\
        Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn parses_rfc_example() {
        let (req, n) = parse(GOOD).unwrap().unwrap();
        assert_eq!(n, GOOD.len());
        assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/chat"));
        assert_eq!(req.query.as_deref(), Some("room=1"));
        assert_eq!(req.uri(), "/chat?room=1");
        assert_eq!(req.subprotocols, ["chat", "superchat"]);
        assert_eq!(req.header("origin"), Some(&b"http://example.com"[..]));
        assert_eq!(req.version_minor, 1);
        let resp = req
            .accept_response(&Accept {
                subprotocol: Some("chat".into()),
                ..Accept::default()
            })
            .unwrap();
        assert_eq!(
            core::str::from_utf8(&resp).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
             Sec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn bare_lf_and_leading_empty_lines_are_accepted() {
        let lf = alloc::format!("\r\n\n{}", GOOD.replace("\r\n", "\n"));
        let (req, n) = parse(&lf).unwrap().unwrap();
        assert_eq!(n, lf.len());
        assert_eq!(req.key, "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn accept_misuse() {
        let (req, _) = parse(GOOD).unwrap().unwrap();
        let bad = [
            Accept {
                subprotocol: Some("Chat".into()),
                ..Accept::default()
            },
            Accept {
                extensions: alloc::vec!["permessage-deflate".into()],
                ..Accept::default()
            },
            Accept {
                headers: alloc::vec![("X-A".into(), "1\r\n\r\nHTTP/1.1 200 OK".into())],
                ..Accept::default()
            },
            Accept {
                headers: alloc::vec![("Sec-WebSocket-Accept".into(), "x".into())],
                ..Accept::default()
            },
        ];
        for a in bad {
            let e = req.accept_response(&a).unwrap_err();
            assert!(e.is_api_misuse(), "{e:?}");
        }
    }

    fn status_of(head: &str) -> Option<u16> {
        parse(head).unwrap_err().http_status()
    }

    #[test]
    fn refusals_and_their_statuses() {
        let swap = |from: &str, to: &str| GOOD.replacen(from, to, 1);
        assert_eq!(status_of(&swap("GET", "POST")), Some(405));
        let resp = parse(&swap("GET", "POST")).unwrap_err().response().unwrap();
        let text = String::from_utf8(resp).unwrap();
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(text.contains("\r\nAllow: GET\r\n"));
        assert_eq!(status_of(&swap("HTTP/1.1", "HTTP/1.0")), Some(400));
        assert_eq!(status_of(&swap("HTTP/1.1", "HTTP/2.0")), Some(400));
        assert_eq!(status_of(&swap("/chat", "*")), Some(400));
        assert_eq!(
            status_of(&swap("Host: server.example.com\r\n", "")),
            Some(400)
        );
        assert_eq!(
            parse(&swap(
                "Host: server.example.com\r\n",
                "Host: a\r\nHost: b\r\n"
            )),
            Err(HandshakeError::DuplicateHeader("Host"))
        );
        assert_eq!(
            parse(&swap("Upgrade: websocket", "Upgrade: h2c")),
            Err(HandshakeError::InvalidHeader {
                name: "Upgrade",
                reason: "does not name websocket"
            })
        );
        assert_eq!(
            parse(&swap("keep-alive, Upgrade", "keep-alive"))
                .unwrap_err()
                .http_status(),
            Some(400)
        );
        assert_eq!(
            parse(&swap("Sec-WebSocket-Version: 13\r\n", "")),
            Err(HandshakeError::UnsupportedVersion { version: None })
        );
        assert_eq!(
            parse(&swap(
                "Version: 13",
                "Version: 13\r\nSec-WebSocket-Version: 8"
            )),
            Err(HandshakeError::UnsupportedVersion {
                version: Some("13, 8".into())
            })
        );
        assert_eq!(
            parse(&swap("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ=")),
            Err(HandshakeError::InvalidKey)
        );
        assert_eq!(
            parse(&swap(
                "dGhlIHNhbXBsZSBub25jZQ==",
                "dGhlIHNhbXBsZSBub25jZR=="
            )),
            Err(HandshakeError::InvalidKey),
            "non-canonical trailing bits"
        );
        assert_eq!(
            parse(&swap(
                "dGhlIHNhbXBsZSBub25jZQ==",
                "dGhlIHNhbXBsZSBub25jZXh4"
            )),
            Err(HandshakeError::InvalidKey),
            "18 bytes"
        );
        assert_eq!(
            parse(&swap("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "")),
            Err(HandshakeError::MissingHeader("Sec-WebSocket-Key"))
        );
        assert_eq!(status_of(&swap("Origin", "Ori\u{e9}gin")), Some(400));
        assert_eq!(
            status_of(&swap("chat, superchat", "chat superchat")),
            Some(400)
        );
    }

    #[test]
    fn from_parts_runs_the_same_checks() {
        let (fed, _) = parse(GOOD).unwrap().unwrap();
        let built = Request::from_parts("GET", "/chat?room=1", 1, fed.headers.clone()).unwrap();
        assert_eq!(built, fed);
        let absolute =
            Request::from_parts("GET", "http://server.example.com", 1, fed.headers.clone())
                .unwrap();
        assert_eq!((absolute.path.as_str(), absolute.query), ("/", None));
        let refused = |m: &str, t: &str, v: u8, h: &Headers| {
            Request::from_parts(m, t, v, h.clone())
                .unwrap_err()
                .http_status()
        };
        assert_eq!(refused("POST", "/", 1, &fed.headers), Some(405));
        assert_eq!(refused("GET", "/", 0, &fed.headers), Some(400));
        assert_eq!(refused("GET", "*", 1, &fed.headers), Some(400));
        let mut no_version = Headers::new();
        for h in fed.headers.iter() {
            if !h.name.eq_ignore_ascii_case("Sec-WebSocket-Version") {
                no_version.push(h.name.clone(), h.value.clone());
            }
        }
        assert_eq!(refused("GET", "/", 1, &no_version), Some(426));
        assert_eq!(refused("GET", "/", 1, &Headers::new()), Some(400));
    }

    #[test]
    fn reject_response_shape() {
        let r = reject_response(
            403,
            &[
                ("X-Why".into(), "nope".into()),
                ("X-Bad".into(), "a\r\nb".into()),
                ("Content-Length".into(), "99".into()),
            ],
            b"forbidden",
        );
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "HTTP/1.1 403 Forbidden\r\nX-Why: nope\r\nContent-Length: 9\r\n\
             Connection: close\r\n\r\nforbidden"
        );
        let r = reject_response(42, &[], b"");
        assert!(r.starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
    }
}
