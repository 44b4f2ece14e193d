//! The handshake error type and the HTTP response a server sends for each failure.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::headers::Headers;

/// Everything that can go wrong in the opening handshake.
///
/// Variants fall in two groups, told apart by [`HandshakeError::is_api_misuse`]:
///
/// * **peer misbehaviour**: the bytes the other end sent are not an acceptable handshake
///   (malformed head, missing or wrong headers, limits exceeded, a non-101 status, a wrong
///   `Sec-WebSocket-Accept`, ...). On the server side [`HandshakeError::response`] gives the
///   HTTP response to send before closing.
/// * **API misuse**: the local caller asked for something impossible (a bad URI, a header
///   with CR/LF, choosing a subprotocol the client did not offer, feeding a finished
///   handshake). Nothing should be sent to the peer because of these.
///
/// Variants that name a header use the header's canonical spelling as a `&'static str`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    // ----- peer misbehaviour, server answers with an HTTP status -----
    /// The head (start line, headers and the empty line) is longer than
    /// `HandshakeLimits::max_header_bytes`. HTTP 431.
    HeadTooLarge {
        /// The limit in force, in bytes.
        limit: usize,
    },
    /// The head has more header lines than `HandshakeLimits::max_headers`. HTTP 431.
    TooManyHeaders {
        /// The limit in force, in header lines.
        limit: usize,
    },
    /// The head is not valid HTTP/1.x syntax (bad request or status line, bad bytes in a
    /// header name, which includes non-UTF-8 ones, or in a header value, bad line ending).
    /// HTTP 400.
    MalformedHead(&'static str),
    /// The request is HTTP/1.0; the opening handshake needs HTTP/1.1 or later. HTTP 400.
    UnsupportedHttpVersion {
        /// The minor version the peer sent (`0` for HTTP/1.0).
        minor: u8,
    },
    /// The request method is not `GET`. HTTP 405 with `Allow: GET`.
    MethodNotAllowed {
        /// The method the client sent.
        method: String,
    },
    /// The request target is not in origin form (it must start with `/`). HTTP 400.
    InvalidRequestTarget,
    /// A header the handshake requires is absent. HTTP 400.
    MissingHeader(&'static str),
    /// A header that must appear once appears more than once. HTTP 400.
    DuplicateHeader(&'static str),
    /// A header is present but its value is not acceptable (e.g. `Upgrade` without
    /// `websocket`, `Connection` without `upgrade`, an empty `Host`, a response naming more
    /// than one subprotocol). HTTP 400.
    InvalidHeader {
        /// The header's name.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `Sec-WebSocket-Key` is not the base64 encoding of exactly 16 bytes. HTTP 400.
    InvalidKey,
    /// `Sec-WebSocket-Version` is absent, repeated or not `13`. HTTP 426 with
    /// `Sec-WebSocket-Version: 13`.
    UnsupportedVersion {
        /// The value(s) the peer sent, lossily decoded, or `None` if the header was absent.
        version: Option<String>,
    },
    /// A `Sec-WebSocket-Protocol` value is not a comma list of tokens. HTTP 400.
    InvalidProtocolList(&'static str),
    /// A `Sec-WebSocket-Extensions` value does not follow the RFC 6455 9.1 grammar. HTTP 400.
    InvalidExtensionList(&'static str),
    /// An HTTP/2 extended CONNECT (RFC 8441) request is not a WebSocket bootstrap. HTTP 400.
    InvalidExtendedConnect(&'static str),

    // ----- peer misbehaviour seen by the client (no response is sent) -----
    /// The server answered with a status other than 101.
    Status {
        /// The status code.
        status: u16,
        /// The reason phrase (empty if it was not plain ASCII).
        reason: String,
        /// The response headers.
        headers: Headers,
        /// The bytes after the response head that arrived in the same `feed` call (the start
        /// of the body, if any). More may follow on the wire; the handshake does not read it.
        body: Vec<u8>,
    },
    /// `Sec-WebSocket-Accept` does not match the key this client sent.
    AcceptMismatch {
        /// The value the client computed from its key.
        expected: String,
        /// The value the server sent (lossily decoded).
        received: String,
    },
    /// The server selected a subprotocol the client did not offer (or offered none).
    UnexpectedSubprotocol(String),
    /// The server accepted an extension the client did not offer, or one wsmachine does not
    /// run (permessage-deflate without the `deflate` feature, any other extension).
    UnexpectedExtension(String),
    /// The server's permessage-deflate response is malformed, repeated, or answers none of
    /// the client's offers (RFC 7692 7.1: the client fails the connection).
    InvalidExtensionResponse(&'static str),

    // ----- API misuse -----
    /// `feed` was called after the handshake completed. The connection now speaks frames.
    AlreadyComplete,
    /// `feed` was called after the handshake failed with an earlier error.
    AlreadyFailed,
    /// The URI given to `ClientRequest::new` is not an acceptable `ws://` or `wss://` URI.
    InvalidUri(&'static str),
    /// A header given by the caller has a name that is not a token, or a name or value
    /// containing CR, LF or NUL. Such a header is never emitted.
    InvalidHeaderInput {
        /// The header name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The caller tried to add a header the handshake writes itself (e.g. `Host`,
    /// `Sec-WebSocket-Key`); use the dedicated builder method instead.
    ReservedHeader(String),
    /// A subprotocol given by the caller is not a token, or was given twice.
    InvalidSubprotocolInput(String),
    /// An extension offer given by the caller does not parse as an extension list, or
    /// contains CR, LF or NUL.
    InvalidExtensionInput(String),
    /// The server tried to accept a subprotocol that the client did not offer.
    UnofferedSubprotocol(String),
    /// The server tried to accept an extension whose name the client did not offer.
    UnofferedExtension(String),
    /// The server tried to accept an extension wsmachine does not run, or not as given:
    /// anything but permessage-deflate, permessage-deflate without the `deflate` feature,
    /// twice, or with parameters that answer none of the client's offers. The core never
    /// lets an extension be negotiated that it does not run.
    UnsupportedExtension(String),
}

impl HandshakeError {
    /// True when the error is the local caller's fault (nothing should be sent to the peer);
    /// false when the peer misbehaved.
    pub fn is_api_misuse(&self) -> bool {
        matches!(
            self,
            HandshakeError::AlreadyComplete
                | HandshakeError::AlreadyFailed
                | HandshakeError::InvalidUri(_)
                | HandshakeError::InvalidHeaderInput { .. }
                | HandshakeError::ReservedHeader(_)
                | HandshakeError::InvalidSubprotocolInput(_)
                | HandshakeError::InvalidExtensionInput(_)
                | HandshakeError::UnofferedSubprotocol(_)
                | HandshakeError::UnofferedExtension(_)
                | HandshakeError::UnsupportedExtension(_)
        )
    }

    /// True when the peer sent something unacceptable (the opposite of
    /// [`is_api_misuse`](Self::is_api_misuse)).
    pub fn is_peer_error(&self) -> bool {
        !self.is_api_misuse()
    }

    /// The HTTP status a server should answer with for this error, or `None` when the error is
    /// not one a server answers (client-side failures, API misuse).
    ///
    /// A client may get the same peer-side variants from a bad response (e.g.
    /// `MissingHeader("Upgrade")`); it sends nothing and should ignore this status.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders { .. } => {
                Some(431)
            }
            HandshakeError::MalformedHead(_)
            | HandshakeError::UnsupportedHttpVersion { .. }
            | HandshakeError::InvalidRequestTarget
            | HandshakeError::MissingHeader(_)
            | HandshakeError::DuplicateHeader(_)
            | HandshakeError::InvalidHeader { .. }
            | HandshakeError::InvalidKey
            | HandshakeError::InvalidProtocolList(_)
            | HandshakeError::InvalidExtensionList(_)
            | HandshakeError::InvalidExtendedConnect(_) => Some(400),
            HandshakeError::MethodNotAllowed { .. } => Some(405),
            HandshakeError::UnsupportedVersion { .. } => Some(426),
            _ => None,
        }
    }

    /// The complete HTTP/1.1 response (head and a short plain-text body, `Connection: close`)
    /// a server should write before closing, or `None` when [`http_status`](Self::http_status)
    /// is `None`. 426 carries `Sec-WebSocket-Version: 13`, 405 carries `Allow: GET`.
    /// Cost: one small allocation.
    pub fn response(&self) -> Option<Vec<u8>> {
        let status = self.http_status()?;
        let mut extra: Vec<(String, String)> = Vec::new();
        match self {
            HandshakeError::UnsupportedVersion { .. } => {
                extra.push(("Sec-WebSocket-Version".to_string(), "13".to_string()));
                extra.push(("Upgrade".to_string(), "websocket".to_string()));
            }
            HandshakeError::MethodNotAllowed { .. } => {
                extra.push(("Allow".to_string(), "GET".to_string()));
            }
            _ => {}
        }
        extra.push((
            "Content-Type".to_string(),
            "text/plain; charset=utf-8".to_string(),
        ));
        let mut body = self.to_string();
        body.push('\n');
        Some(super::server::reject_response(
            status,
            &extra,
            body.as_bytes(),
        ))
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::HeadTooLarge { limit } => {
                write!(f, "handshake head exceeds {limit} bytes")
            }
            HandshakeError::TooManyHeaders { limit } => {
                write!(f, "handshake has more than {limit} headers")
            }
            HandshakeError::MalformedHead(why) => write!(f, "malformed HTTP head: {why}"),
            HandshakeError::UnsupportedHttpVersion { minor } => {
                write!(
                    f,
                    "HTTP/1.{minor} cannot upgrade to WebSocket (need HTTP/1.1)"
                )
            }
            HandshakeError::MethodNotAllowed { method } => {
                write!(
                    f,
                    "method {method} not allowed for a WebSocket upgrade (need GET)"
                )
            }
            HandshakeError::InvalidRequestTarget => {
                f.write_str("request target must be in origin form (start with '/')")
            }
            HandshakeError::MissingHeader(name) => write!(f, "missing header {name}"),
            HandshakeError::DuplicateHeader(name) => write!(f, "header {name} repeated"),
            HandshakeError::InvalidHeader { name, reason } => {
                write!(f, "invalid header {name}: {reason}")
            }
            HandshakeError::InvalidKey => {
                f.write_str("Sec-WebSocket-Key is not base64 of exactly 16 bytes")
            }
            HandshakeError::UnsupportedVersion { version: Some(v) } => {
                write!(f, "unsupported Sec-WebSocket-Version {v:?} (need 13)")
            }
            HandshakeError::UnsupportedVersion { version: None } => {
                f.write_str("missing Sec-WebSocket-Version (need 13)")
            }
            HandshakeError::InvalidProtocolList(why) => {
                write!(f, "invalid Sec-WebSocket-Protocol: {why}")
            }
            HandshakeError::InvalidExtensionList(why) => {
                write!(f, "invalid Sec-WebSocket-Extensions: {why}")
            }
            HandshakeError::InvalidExtendedConnect(why) => {
                write!(f, "invalid extended CONNECT: {why}")
            }
            HandshakeError::Status { status, reason, .. } => {
                write!(f, "server answered {status} {reason} instead of 101")
            }
            HandshakeError::AcceptMismatch { expected, received } => write!(
                f,
                "Sec-WebSocket-Accept mismatch: expected {expected:?}, got {received:?}"
            ),
            HandshakeError::UnexpectedSubprotocol(p) => {
                write!(f, "server selected subprotocol {p:?} that was not offered")
            }
            HandshakeError::UnexpectedExtension(e) => {
                write!(
                    f,
                    "server accepted extension {e:?} that was not offered or is not supported"
                )
            }
            HandshakeError::InvalidExtensionResponse(why) => {
                write!(f, "invalid permessage-deflate response: {why}")
            }
            HandshakeError::AlreadyComplete => f.write_str("handshake already complete"),
            HandshakeError::AlreadyFailed => f.write_str("handshake already failed"),
            HandshakeError::InvalidUri(why) => write!(f, "invalid WebSocket URI: {why}"),
            HandshakeError::InvalidHeaderInput { name, reason } => {
                write!(f, "header {name:?} cannot be sent: {reason}")
            }
            HandshakeError::ReservedHeader(name) => {
                write!(f, "header {name:?} is written by the handshake itself")
            }
            HandshakeError::InvalidSubprotocolInput(p) => {
                write!(f, "subprotocol {p:?} is not a token or is repeated")
            }
            HandshakeError::InvalidExtensionInput(e) => {
                write!(f, "extension offer {e:?} is not a valid extension list")
            }
            HandshakeError::UnofferedSubprotocol(p) => {
                write!(
                    f,
                    "cannot select subprotocol {p:?}: the client did not offer it"
                )
            }
            HandshakeError::UnofferedExtension(e) => {
                write!(
                    f,
                    "cannot accept extension {e:?}: the client did not offer it"
                )
            }
            HandshakeError::UnsupportedExtension(e) => {
                write!(
                    f,
                    "cannot accept extension {e:?}: wsmachine does not run it as given"
                )
            }
        }
    }
}

impl core::error::Error for HandshakeError {}
