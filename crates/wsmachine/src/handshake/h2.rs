//! Bootstrapping WebSockets over HTTP/2 (RFC 8441): pure checks on an extended CONNECT.
//!
//! HTTP/2 framing and HPACK are the caller's; these functions only judge the decoded
//! pseudo-headers and headers and say what to answer. There is no key/accept exchange in
//! HTTP/2: success is a `200` response.

use alloc::string::String;
use alloc::vec::Vec;

use super::error::HandshakeError;
use super::negotiate::{is_token, parse_protocols};

/// The HTTP/2 SETTINGS parameter a server sends (value 1) to allow extended CONNECT.
pub const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

/// The decoded pseudo-headers and WebSocket headers of an HTTP/2 request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendedConnect<'a> {
    /// `:method`; must be `CONNECT`.
    pub method: &'a str,
    /// `:protocol`; must be `websocket` (ASCII case-insensitive).
    pub protocol: Option<&'a str>,
    /// `:scheme`; must be present and non-empty (`https` or `http`).
    pub scheme: Option<&'a str>,
    /// `:path`; must be present and non-empty.
    pub path: Option<&'a str>,
    /// `:authority`; must be present and non-empty.
    pub authority: Option<&'a str>,
    /// `sec-websocket-version`; must be `13`.
    pub version: Option<&'a str>,
    /// The values of every `sec-websocket-protocol` header, in order (may be empty).
    pub subprotocols: &'a [&'a [u8]],
}

/// Checks an extended CONNECT against RFC 8441 section 4 and RFC 6455: `:method` CONNECT,
/// `:protocol` websocket, `:scheme`, `:path` and `:authority` present, version 13 and a
/// well-formed subprotocol list. A wrong or missing version is
/// [`HandshakeError::UnsupportedVersion`] (answer 426 with `sec-websocket-version: 13`);
/// other failures are [`HandshakeError::InvalidExtendedConnect`] or
/// [`HandshakeError::InvalidProtocolList`] (answer 400). Cost: O(size of the subprotocol values).
pub fn validate_extended_connect(req: &ExtendedConnect<'_>) -> Result<(), HandshakeError> {
    let bad = HandshakeError::InvalidExtendedConnect;
    if req.method != "CONNECT" {
        return Err(bad(":method is not CONNECT"));
    }
    match req.protocol {
        None => return Err(bad("missing :protocol")),
        Some(p) if !p.eq_ignore_ascii_case("websocket") => {
            return Err(bad(":protocol is not websocket"));
        }
        Some(_) => {}
    }
    let present = |v: Option<&str>| v.is_some_and(|s| !s.is_empty());
    if !present(req.scheme) {
        return Err(bad("missing :scheme"));
    }
    if !present(req.path) {
        return Err(bad("missing :path"));
    }
    if !present(req.authority) {
        return Err(bad("missing :authority"));
    }
    if req.version != Some("13") {
        return Err(HandshakeError::UnsupportedVersion {
            version: req.version.map(String::from),
        });
    }
    parse_protocols(req.subprotocols.iter().copied())?;
    Ok(())
}

/// What a server answers to a valid extended CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedConnectResponse {
    /// Always 200 (the stream then carries WebSocket frames).
    pub status: u16,
    /// The selected subprotocol, to send as `sec-websocket-protocol`.
    pub subprotocol: Option<String>,
}

impl ExtendedConnectResponse {
    /// The response header list for the caller's HPACK encoder: `:status` then
    /// `sec-websocket-protocol` when a subprotocol was selected (lower-case names, as
    /// HTTP/2 requires).
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut v = alloc::vec![(String::from(":status"), alloc::format!("{}", self.status))];
        if let Some(p) = &self.subprotocol {
            v.push((String::from("sec-websocket-protocol"), p.clone()));
        }
        v
    }
}

/// Validates `req` (as [`validate_extended_connect`]) and builds the `200` answer selecting
/// `subprotocol`, which must be a token the client offered (else
/// [`HandshakeError::UnofferedSubprotocol`], API misuse).
pub fn extended_connect_response(
    req: &ExtendedConnect<'_>,
    subprotocol: Option<&str>,
) -> Result<ExtendedConnectResponse, HandshakeError> {
    validate_extended_connect(req)?;
    if let Some(p) = subprotocol {
        let offered = parse_protocols(req.subprotocols.iter().copied())?;
        if !is_token(p.as_bytes()) || !offered.iter().any(|o| o == p) {
            return Err(HandshakeError::UnofferedSubprotocol(String::from(p)));
        }
    }
    Ok(ExtendedConnectResponse {
        status: 200,
        subprotocol: subprotocol.map(String::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &[&[u8]] = &[b"chat, superchat"];

    fn good() -> ExtendedConnect<'static> {
        ExtendedConnect {
            method: "CONNECT",
            protocol: Some("websocket"),
            scheme: Some("https"),
            path: Some("/chat"),
            authority: Some("server.example.com"),
            version: Some("13"),
            subprotocols: OFFER,
        }
    }

    #[test]
    fn accepts_rfc8441_example() {
        assert_eq!(validate_extended_connect(&good()), Ok(()));
        let r = extended_connect_response(&good(), Some("chat")).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers(),
            [
                (":status".into(), "200".into()),
                ("sec-websocket-protocol".into(), "chat".into())
            ]
        );
        let none = extended_connect_response(&good(), None).unwrap();
        assert_eq!(none.headers().len(), 1);
    }

    #[test]
    fn refusals() {
        type Mutation = fn(&mut ExtendedConnect<'static>);
        let cases: [(Mutation, u16); 8] = [
            (|r| r.method = "GET", 400),
            (|r| r.protocol = None, 400),
            (|r| r.protocol = Some("h2c"), 400),
            (|r| r.scheme = None, 400),
            (|r| r.path = Some(""), 400),
            (|r| r.authority = None, 400),
            (|r| r.version = Some("8"), 426),
            (|r| r.subprotocols = &[b"a b"], 400),
        ];
        for (mutate, status) in cases {
            let mut r = good();
            mutate(&mut r);
            let e = validate_extended_connect(&r).unwrap_err();
            assert_eq!(e.http_status(), Some(status), "{e:?}");
            assert!(e.is_peer_error());
        }
        let mut r = good();
        r.version = None;
        assert_eq!(
            validate_extended_connect(&r),
            Err(HandshakeError::UnsupportedVersion { version: None })
        );
        assert_eq!(
            extended_connect_response(&good(), Some("mqtt")),
            Err(HandshakeError::UnofferedSubprotocol("mqtt".into()))
        );
    }
}
