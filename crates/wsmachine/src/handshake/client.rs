//! The client side: build the upgrade request, then validate the server's response.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;

use super::error::HandshakeError;
use super::head::{HeadReader, header_slots, map_httparse, owned_headers};
use super::headers::{Headers, check_header_input};
use super::negotiate::{ExtensionOffer, is_token, parse_extensions, parse_protocols};
use super::{HandshakeLimits, accept_key};
use crate::random::RandomSource;

/// What the client will ask for: the target from a `ws://` / `wss://` URI plus offered
/// subprotocols, extensions and extra headers.
///
/// The builder methods never fail; the first invalid input is remembered and reported by
/// [`check`](Self::check) and [`ClientHandshake::new`], so an invalid header is never written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    tls: bool,
    host: String,
    ipv6: bool,
    port: u16,
    resource: String,
    protocols: Vec<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
    misuse: Option<HandshakeError>,
}

impl ClientRequest {
    /// Parses `uri`: scheme `ws` or `wss` (any case); host as a DNS name (letters, digits,
    /// `-`, `.`, `_`, `~`), IPv4 address or bracketed IPv6 literal (`ws://[::1]:9001/x`);
    /// optional port 1–65535 (default 80 for `ws`, 443 for `wss`); path (default `/`) and
    /// query kept verbatim (RFC 3986 characters only: non-ASCII must be percent-encoded).
    /// A fragment, userinfo (`user@`), an empty host or an empty port is
    /// [`HandshakeError::InvalidUri`]. Cost: O(uri.len()).
    pub fn new(uri: &str) -> Result<ClientRequest, HandshakeError> {
        let bad = HandshakeError::InvalidUri;
        let (scheme, rest) = uri.split_once("://").ok_or(bad("missing \"ws://\""))?;
        let tls = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(bad("scheme must be ws or wss"));
        };
        if rest.contains('#') {
            return Err(bad("fragment not allowed"));
        }
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest
            .split_at_checked(auth_end)
            .ok_or(bad("bad authority"))?;
        if authority.contains('@') {
            return Err(bad("userinfo not allowed"));
        }
        let (host, ipv6, port) = if let Some(after) = authority.strip_prefix('[') {
            let (lit, after) = after.split_once(']').ok_or(bad("unclosed '['"))?;
            if lit.parse::<core::net::Ipv6Addr>().is_err() {
                return Err(bad("invalid IPv6 literal"));
            }
            let port = if after.is_empty() {
                None
            } else {
                Some(after.strip_prefix(':').ok_or(bad("junk after ']'"))?)
            };
            (lit, true, port)
        } else {
            let (h, p) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            let host_ok = h
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            if h.is_empty() {
                return Err(bad("missing host"));
            }
            if !host_ok {
                return Err(bad("invalid character in host"));
            }
            (h, false, p)
        };
        let port = match port {
            None if tls => 443,
            None => 80,
            Some(p) => {
                if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("invalid port"));
                }
                match p.parse::<u16>() {
                    Ok(n) if n != 0 => n,
                    _ => return Err(bad("port out of range")),
                }
            }
        };
        let resource = if tail.is_empty() {
            "/".to_owned()
        } else if tail.starts_with('?') {
            let mut r = String::from("/");
            r.push_str(tail);
            r
        } else {
            tail.to_owned()
        };
        if !valid_resource(resource.as_bytes()) {
            return Err(bad("invalid character in path or query"));
        }
        Ok(ClientRequest {
            tls,
            host: host.to_owned(),
            ipv6,
            port,
            resource,
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
            misuse: None,
        })
    }

    fn remember(&mut self, e: HandshakeError) {
        if self.misuse.is_none() {
            self.misuse = Some(e);
        }
    }

    /// Offers a subprotocol (`Sec-WebSocket-Protocol`), in order of preference. It must be a
    /// token and not already offered.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        let p = protocol.into();
        if !is_token(p.as_bytes()) || self.protocols.contains(&p) {
            self.remember(HandshakeError::InvalidSubprotocolInput(p));
        } else {
            self.protocols.push(p);
        }
        self
    }

    /// Offers an extension (`Sec-WebSocket-Extensions`) as a raw list element such as
    /// `permessage-deflate; client_max_window_bits`; it must parse as an extension list (see
    /// [`ExtensionOffer::to_header_value`] to build one). Cost: one parse of `offer`.
    pub fn extension(mut self, offer: impl Into<String>) -> Self {
        let e = offer.into();
        let ok = e.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
            && parse_extensions([e.as_bytes()]).is_ok();
        if ok {
            self.extensions.push(e);
        } else {
            self.remember(HandshakeError::InvalidExtensionInput(e));
        }
        self
    }

    /// Adds an extra header (e.g. `Origin`, `Authorization`, `Cookie`), written after the
    /// handshake headers in the order added. The name must be a token not written by the
    /// handshake itself (`Host`, `Upgrade`, `Connection`, `Sec-WebSocket-*`,
    /// `Content-Length`, `Transfer-Encoding`), the value free of CR, LF, NUL and other
    /// control bytes.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        match check_header_input(&name, &value) {
            Ok(()) => self.headers.push((name, value)),
            Err(e) => self.remember(e),
        }
        self
    }

    /// The first invalid builder input, if any ([`ClientHandshake::new`] reports it too).
    pub fn check(&self) -> Result<(), HandshakeError> {
        match &self.misuse {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// The host to connect to: a DNS name or IPv4 address as written, or an IPv6 address
    /// *without* brackets (`::1`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port: explicit, or 80 for `ws`, 443 for `wss`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// True for `wss://` (the caller must run TLS under the handshake).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The request target: path (default `/`) plus `?query` if any, as written.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The `Host` header value: host (IPv6 in brackets) plus `:port` only when the port is
    /// not the scheme's default.
    pub fn host_header(&self) -> String {
        let mut s = String::new();
        if self.ipv6 {
            s.push('[');
            s.push_str(&self.host);
            s.push(']');
        } else {
            s.push_str(&self.host);
        }
        if self.port != if self.tls { 443 } else { 80 } {
            s.push(':');
            s.push_str(&alloc::format!("{}", self.port));
        }
        s
    }

    /// The subprotocols offered so far, in order.
    pub fn subprotocols(&self) -> &[String] {
        &self.protocols
    }

    /// The raw extension offers added so far, in order.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The extra headers added so far, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
}

/// RFC 3986 `path-abempty [ "?" query ]` characters: unreserved, sub-delims, `:@/?` and
/// `%XX` escapes.
fn valid_resource(r: &[u8]) -> bool {
    let mut i = 0usize;
    while let Some(&b) = r.get(i) {
        match b {
            b'%' => {
                let hex = |j: usize| r.get(j).is_some_and(|c| c.is_ascii_hexdigit());
                if !(hex(i.saturating_add(1)) && hex(i.saturating_add(2))) {
                    return false;
                }
                i = i.saturating_add(3);
                continue;
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => {}
            b'-' | b'.' | b'_' | b'~' => {}
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => {}
            b':' | b'@' | b'/' | b'?' => {}
            _ => return false,
        }
        i = i.saturating_add(1);
    }
    r.first() == Some(&b'/')
}

/// The server's accepted upgrade (status 101).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Always 101.
    pub status: u16,
    /// All response headers, in order.
    pub headers: Headers,
    /// The subprotocol the server selected (one the client offered), if any.
    pub subprotocol: Option<String>,
    /// The extensions the server accepted, with their parameters, in the server's order.
    /// Each was offered and is one the core runs (permessage-deflate, with the `deflate`
    /// feature), with parameters that answer one of the offers.
    pub extensions: Vec<ExtensionOffer>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }
}

/// A client handshake in progress: holds the request bytes to send and validates the
/// response fed to it.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    request: Vec<u8>,
    key: String,
    expected_accept: String,
    offered_protocols: Vec<String>,
    offered_extensions: Vec<ExtensionOffer>,
    reader: HeadReader,
    limits: HandshakeLimits,
}

impl ClientHandshake {
    /// Draws a 16-byte nonce from `rng` for `Sec-WebSocket-Key` and writes the request:
    /// `GET resource HTTP/1.1`, `Host`, `Upgrade: websocket`, `Connection: Upgrade`,
    /// `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`, then `Sec-WebSocket-Protocol` and
    /// `Sec-WebSocket-Extensions` (one comma list each, if any were offered), the extra
    /// headers and the empty line. Fails with the first builder misuse recorded in `request`.
    /// `limits` bound the response head. Cost: one allocation of the request size.
    pub fn new(
        request: &ClientRequest,
        rng: &mut dyn RandomSource,
        limits: HandshakeLimits,
    ) -> Result<ClientHandshake, HandshakeError> {
        request.check()?;
        let mut nonce = [0u8; 16];
        rng.fill(&mut nonce);
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);
        let expected_accept = accept_key(key.as_bytes());

        let mut out = String::with_capacity(256);
        out.push_str("GET ");
        out.push_str(&request.resource);
        out.push_str(" HTTP/1.1\r\n");
        let mut line = |name: &str, value: &str| {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        };
        line("Host", &request.host_header());
        line("Upgrade", "websocket");
        line("Connection", "Upgrade");
        line("Sec-WebSocket-Key", &key);
        line("Sec-WebSocket-Version", "13");
        if !request.protocols.is_empty() {
            line("Sec-WebSocket-Protocol", &request.protocols.join(", "));
        }
        if !request.extensions.is_empty() {
            line("Sec-WebSocket-Extensions", &request.extensions.join(", "));
        }
        for (n, v) in &request.headers {
            line(n, v);
        }
        out.push_str("\r\n");

        let offered_extensions = parse_extensions(request.extensions.iter().map(|e| e.as_bytes()))
            .map_err(|_| HandshakeError::InvalidExtensionInput(request.extensions.join(", ")))?;
        Ok(ClientHandshake {
            request: out.into_bytes(),
            key,
            expected_accept,
            offered_protocols: request.protocols.clone(),
            offered_extensions,
            reader: HeadReader::new(limits.max_header_bytes),
            limits,
        })
    }

    /// The request bytes to send, complete (the handshake does not track what was written).
    pub fn request_bytes(&self) -> &[u8] {
        &self.request
    }

    /// The `Sec-WebSocket-Key` value sent (base64 of the 16-byte nonce).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The `Sec-WebSocket-Accept` value the server must answer with.
    pub fn expected_accept(&self) -> &str {
        &self.expected_accept
    }

    /// True once `feed` returned a response.
    pub fn is_complete(&self) -> bool {
        self.reader.is_complete()
    }

    /// Feeds bytes received from the server. Returns `Ok(None)` while the response head is
    /// incomplete (all of `input` was buffered), or `Ok(Some((response, n)))` when it is
    /// complete: `input[..n]` ended the head and `input[n..]` is the first frame data, which
    /// the caller must pass to the connection. Any error is final, as is success: later calls
    /// fail with [`HandshakeError::AlreadyFailed`] / [`HandshakeError::AlreadyComplete`].
    ///
    /// A non-101 status is [`HandshakeError::Status`] carrying `input[n..]` as `body`.
    /// Cost: O(input.len()) per call, plus one httparse run over the head at the end.
    pub fn feed(&mut self, input: &[u8]) -> Result<Option<(Response, usize)>, HandshakeError> {
        self.reader.check_reading()?;
        let result = self.feed_inner(input);
        self.reader.settle(&result);
        result
    }

    fn feed_inner(&mut self, input: &[u8]) -> Result<Option<(Response, usize)>, HandshakeError> {
        let Some(n) = self.reader.push(input)? else {
            return Ok(None);
        };
        let mut slots = header_slots(&self.limits, self.reader.head().len());
        let mut resp = httparse::Response::new(&mut slots);
        match resp.parse(self.reader.head()) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(HandshakeError::MalformedHead("incomplete response head"));
            }
            Err(e) => return Err(map_httparse(e, &self.limits)),
        }
        let status = resp.code.unwrap_or(0);
        let headers = owned_headers(resp.headers);
        if status != 101 {
            return Err(HandshakeError::Status {
                status,
                reason: resp.reason.unwrap_or("").to_owned(),
                headers,
                body: input.get(n..).unwrap_or_default().to_vec(),
            });
        }
        if resp.version != Some(1) {
            return Err(HandshakeError::UnsupportedHttpVersion {
                minor: resp.version.unwrap_or(0),
            });
        }
        let response = self.validate(headers)?;
        Ok(Some((response, n)))
    }

    /// An accepted extension must be one the core runs: permessage-deflate (with the
    /// `deflate` feature), once, answering one of our offers (RFC 7692 7.1).
    fn check_runs(
        &self,
        accepted: &ExtensionOffer,
        deflate_accepted: &mut bool,
    ) -> Result<(), HandshakeError> {
        #[cfg(feature = "deflate")]
        if crate::deflate::is_deflate(&accepted.name) {
            if core::mem::replace(deflate_accepted, true) {
                return Err(HandshakeError::InvalidExtensionResponse(
                    "permessage-deflate accepted twice",
                ));
            }
            return crate::deflate::check_response(&self.offered_extensions, accepted)
                .map(|_| ())
                .map_err(HandshakeError::InvalidExtensionResponse);
        }
        let _ = deflate_accepted;
        Err(HandshakeError::UnexpectedExtension(accepted.name.clone()))
    }

    fn validate(&self, headers: Headers) -> Result<Response, HandshakeError> {
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
        let accept = headers
            .get("Sec-WebSocket-Accept")
            .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Accept"))?;
        if headers.count("Sec-WebSocket-Accept") > 1 {
            return Err(HandshakeError::DuplicateHeader("Sec-WebSocket-Accept"));
        }
        if accept != self.expected_accept.as_bytes() {
            return Err(HandshakeError::AcceptMismatch {
                expected: self.expected_accept.clone(),
                received: String::from_utf8_lossy(accept).into_owned(),
            });
        }
        let mut chosen = parse_protocols(headers.get_all("Sec-WebSocket-Protocol"))?;
        if chosen.len() > 1 {
            return Err(HandshakeError::InvalidHeader {
                name: "Sec-WebSocket-Protocol",
                reason: "server selected more than one subprotocol",
            });
        }
        let subprotocol = chosen.pop();
        if let Some(p) = subprotocol
            .as_ref()
            .filter(|p| !self.offered_protocols.contains(p))
        {
            return Err(HandshakeError::UnexpectedSubprotocol(p.clone()));
        }
        let extensions = parse_extensions(headers.get_all("Sec-WebSocket-Extensions"))?;
        let mut deflate_accepted = false;
        for e in &extensions {
            if !self
                .offered_extensions
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&e.name))
            {
                return Err(HandshakeError::UnexpectedExtension(e.name.clone()));
            }
            self.check_runs(e, &mut deflate_accepted)?;
        }
        Ok(Response {
            status: 101,
            headers,
            subprotocol,
            extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        let r = ClientRequest::new("ws://example.com/chat?x=1&y").unwrap();
        assert_eq!((r.host(), r.port(), r.is_tls()), ("example.com", 80, false));
        assert_eq!(r.resource(), "/chat?x=1&y");
        assert_eq!(r.host_header(), "example.com");

        let r = ClientRequest::new("WSS://Example.com:8443").unwrap();
        assert_eq!((r.port(), r.is_tls(), r.resource()), (8443, true, "/"));
        assert_eq!(r.host_header(), "Example.com:8443");

        let r = ClientRequest::new("ws://[::1]:9001/x").unwrap();
        assert_eq!((r.host(), r.port(), r.resource()), ("::1", 9001, "/x"));
        assert_eq!(r.host_header(), "[::1]:9001");

        let r = ClientRequest::new("wss://[2001:db8::1]?q").unwrap();
        assert_eq!((r.port(), r.resource()), (443, "/?q"));
        assert_eq!(r.host_header(), "[2001:db8::1]");

        let r = ClientRequest::new("ws://127.0.0.1:80/").unwrap();
        assert_eq!(r.host_header(), "127.0.0.1");
        let r = ClientRequest::new("wss://h:80/%41").unwrap();
        assert_eq!((r.host_header(), r.resource()), ("h:80".into(), "/%41"));

        for bad in [
            "http://example.com/",
            "example.com",
            "ws://",
            "ws:///path",
            "ws://host/#frag",
            "ws://host#",
            "ws://user@host/",
            "ws://user:pw@host/",
            "ws://host:/",
            "ws://host:0/",
            "ws://host:65536/",
            "ws://host:12a/",
            "ws://[::1/",
            "ws://[zz::1]/",
            "ws://[::1]x/",
            "ws://::1/",
            "ws://host/a b",
            "ws://host/\u{e9}",
            "ws://host/%4",
            "ws://host/a\r\nX: y",
            "ws://ho st/",
        ] {
            assert!(
                matches!(ClientRequest::new(bad), Err(HandshakeError::InvalidUri(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn builder_misuse_is_reported_at_build_time() {
        let mut rng = crate::random::SeededRandom::from_u64(1);
        let base = ClientRequest::new("ws://h/").unwrap();
        let cases = [
            base.clone().header("X-A", "a\r\nInjected: 1"),
            base.clone().header("Bad Name", "v"),
            base.clone().header("Host", "other"),
            base.clone().subprotocol("has space"),
            base.clone().subprotocol("a").subprotocol("a"),
            base.clone().extension("permessage-deflate;;"),
            base.clone().extension("x\r\ny"),
        ];
        for req in cases {
            let e = ClientHandshake::new(&req, &mut rng, HandshakeLimits::default()).unwrap_err();
            assert!(e.is_api_misuse(), "{e:?}");
            assert_eq!(e.http_status(), None);
        }
    }

    #[test]
    fn request_bytes_layout() {
        let mut rng = crate::random::SeededRandom::from_u64(7);
        let req = ClientRequest::new("ws://[::1]:9001/x?y")
            .unwrap()
            .subprotocol("chat")
            .subprotocol("superchat")
            .extension("permessage-deflate; client_max_window_bits")
            .header("Origin", "http://example.com");
        let hs = ClientHandshake::new(&req, &mut rng, HandshakeLimits::default()).unwrap();
        let text = core::str::from_utf8(hs.request_bytes()).unwrap();
        let expected = alloc::format!(
            "GET /x?y HTTP/1.1\r\nHost: [::1]:9001\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             Origin: http://example.com\r\n\r\n",
            hs.key()
        );
        assert_eq!(text, expected);
        assert_eq!(hs.key().len(), 24);
        assert_eq!(hs.expected_accept(), accept_key(hs.key().as_bytes()));
    }
}
