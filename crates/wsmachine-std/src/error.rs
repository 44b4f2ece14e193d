//! The adapter's error type.

use std::fmt;
use std::io;

use wsmachine::{
    AcceptError, CloseReport, Diagnostic, HandshakeError, ProtocolError, SendError, Timeout,
};

/// Everything that can go wrong on a blocking WebSocket. Never a panic.
///
/// After [`Protocol`](Error::Protocol) or [`Timeout`](Error::Timeout), the next `recv`
/// returns [`Closed`](Error::Closed) with the report. [`Io`](Error::Io) means a write failed
/// (the transport is over: the next `recv` reports the close) or made no progress for
/// [`Options::write_timeout`](crate::Options::write_timeout) (`TimedOut`: the bytes stay
/// queued and the connection goes on).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error: connecting failed, a write failed, or a write stalled for the write
    /// timeout (see above).
    Io(io::Error),
    /// The peer broke the protocol; the connection was failed with the error's close code.
    /// The [`Diagnostic`] says where: the offending frame's offset in the received stream,
    /// its index and its first two header bytes.
    Protocol(ProtocolError, Diagnostic),
    /// A core timer gave up: keepalive (the peer is dead), close, handshake or idle.
    Timeout(Timeout),
    /// The opening handshake failed (bad request or response, or a server refusal seen by a
    /// client as [`HandshakeError::Status`]).
    Handshake(HandshakeError),
    /// This server's decision callback rejected the upgrade with this HTTP status (the
    /// response was written).
    Rejected(u16),
    /// The server's accept options were invalid (e.g. a subprotocol the client did not offer).
    Accept(AcceptError),
    /// The connection is closed: the close report. Returned by every call after the close.
    Closed(CloseReport),
    /// A send the connection refused (closing, closed, queue full, bad argument).
    Send(SendError),
    /// A request this adapter cannot serve (e.g. `wss://` in [`connect`](crate::connect)).
    Unsupported(&'static str),
    /// Another reason the core ended the connection.
    Connection(wsmachine::ConnectionError),
    /// The proxy URL is invalid, or the proxy refused or failed to open the tunnel (407:
    /// credentials wanted or refused; a SOCKS5 reply code).
    Proxy(wsmachine_proxy::ProxyError),
}

impl Error {
    /// The close report, if this is [`Error::Closed`].
    pub fn close_report(&self) -> Option<&CloseReport> {
        match self {
            Error::Closed(r) => Some(r),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Protocol(e, at) => write!(f, "protocol error: {e} {at}"),
            Error::Timeout(t) => write!(f, "{t:?} timeout"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Rejected(s) => write!(f, "upgrade rejected with status {s}"),
            Error::Accept(e) => write!(f, "{e}"),
            Error::Closed(r) => write!(
                f,
                "connection closed (code {}, {})",
                r.code().0,
                if r.clean { "clean" } else { "not clean" }
            ),
            Error::Send(e) => write!(f, "send refused: {e}"),
            Error::Unsupported(s) => write!(f, "unsupported: {s}"),
            Error::Connection(e) => write!(f, "{e}"),
            Error::Proxy(e) => write!(f, "proxy: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Protocol(e, _) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Accept(e) => Some(e),
            Error::Send(e) => Some(e),
            Error::Proxy(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

impl From<AcceptError> for Error {
    fn from(e: AcceptError) -> Self {
        Error::Accept(e)
    }
}

impl From<wsmachine_proxy::ProxyError> for Error {
    fn from(e: wsmachine_proxy::ProxyError) -> Self {
        Error::Proxy(e)
    }
}
