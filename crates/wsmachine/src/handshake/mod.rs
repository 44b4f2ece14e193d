//! The WebSocket opening handshake (RFC 6455 section 4), sans-IO.
//!
//! * Client: build a [`ClientRequest`] from a `ws://` / `wss://` URI, turn it into a
//!   [`ClientHandshake`] (which writes the request bytes), then [`ClientHandshake::feed`] the
//!   server's bytes until it yields a [`Response`].
//! * Server: [`ServerHandshake::feed`] the client's bytes until it yields a [`Request`], then
//!   answer with [`Request::accept_response`] or [`reject_response`] (or
//!   [`HandshakeError::response`] when `feed` failed).
//! * HTTP/2 (RFC 8441): [`validate_extended_connect`] and [`extended_connect_response`].
//!
//! Both `feed`s are incremental and linear in the bytes fed however they are split, hold at
//! most [`HandshakeLimits::max_header_bytes`] of buffered input, and report how many bytes
//! of the last input belonged to the head: the rest is frame data for the connection.

mod client;
mod error;
mod h2;
mod head;
mod headers;
mod negotiate;
mod server;

use alloc::string::String;
use base64::Engine as _;
use sha1::{Digest, Sha1};

pub use client::{ClientHandshake, ClientRequest, Response};
pub use error::HandshakeError;
pub use h2::{
    ExtendedConnect, ExtendedConnectResponse, SETTINGS_ENABLE_CONNECT_PROTOCOL,
    extended_connect_response, validate_extended_connect,
};
pub use headers::{Header, Headers};
pub use negotiate::{
    ExtensionOffer, ExtensionParam, is_tchar, is_token, parse_extensions, parse_protocols,
};
pub use server::{Accept, Decision, Request, ServerHandshake, reject_response};

/// The GUID appended to `Sec-WebSocket-Key` before hashing (RFC 6455 1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` value:
/// `base64(sha1(key ++ GUID))`. `key` is used as sent (already trimmed of whitespace).
/// Cost: one SHA-1 over `key.len() + 36` bytes and a 28-byte allocation.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Bounds on what a peer may make the handshake buffer and parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// Maximum size in bytes of the whole head: start line, header lines and the final empty
    /// line. Also the most the handshake ever buffers. Default 16 KiB (16,384). Exceeding it
    /// is [`HandshakeError::HeadTooLarge`] (HTTP 431).
    pub max_header_bytes: usize,
    /// Maximum number of header lines. Default 64. Exceeding it is
    /// [`HandshakeError::TooManyHeaders`] (HTTP 431). The parser's slot array is sized
    /// `min(max_headers, max_header_bytes / 3 + 1)` (about 40 bytes a slot), allocated once
    /// when the head is complete.
    pub max_headers: usize,
}

impl Default for HandshakeLimits {
    /// 16 KiB of head and 64 headers: ample for browsers (which send about 0.5–2 KiB and
    /// 10–20 headers) while bounding what a hostile peer can make us hold.
    fn default() -> Self {
        HandshakeLimits {
            max_header_bytes: 16 * 1024,
            max_headers: 64,
        }
    }
}

#[cfg(test)]
mod tests;
