//! The adapter's error type.

use std::fmt;
use std::io;

use wsmachine::{AcceptError, Diagnostic, HandshakeError, ProtocolError, SendError, Timeout};

/// Why a connection is failing, reported as [`Event::Error`](crate::Event::Error) before
/// [`Event::Closed`](crate::Event::Closed), or returned by a constructor.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    Io(io::Error),
    /// The peer broke the protocol; the connection was failed with the error's close code.
    /// The [`Diagnostic`] says where: the offending frame's offset in the received stream,
    /// its index and its first two header bytes.
    Protocol(ProtocolError, Diagnostic),
    /// A core timer gave up: keepalive (the peer is dead), close, handshake or idle.
    Timeout(Timeout),
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// The server's decision rejected the upgrade with this HTTP status.
    Rejected(u16),
    /// The server's accept options were invalid.
    Accept(AcceptError),
    /// A send the connection refused.
    Send(SendError),
    /// A request this adapter cannot serve (e.g. `wss://`).
    Unsupported(&'static str),
    /// The proxy URL is invalid, or the proxy refused or failed to open the tunnel (407:
    /// credentials wanted or refused; a SOCKS5 reply code).
    Proxy(wsmachine_proxy::ProxyError),
    /// Another reason the core ended the connection.
    Connection(wsmachine::ConnectionError),
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
            Error::Send(e) => write!(f, "send refused: {e}"),
            Error::Unsupported(s) => write!(f, "unsupported: {s}"),
            Error::Proxy(e) => write!(f, "proxy: {e}"),
            Error::Connection(e) => write!(f, "{e}"),
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

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

impl From<wsmachine_proxy::ProxyError> for Error {
    fn from(e: wsmachine_proxy::ProxyError) -> Self {
        Error::Proxy(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}

impl From<wsmachine::ConnectionError> for Error {
    fn from(e: wsmachine::ConnectionError) -> Self {
        match e {
            wsmachine::ConnectionError::Protocol(p, at) => Error::Protocol(p, at),
            wsmachine::ConnectionError::Timeout(t) => Error::Timeout(t),
            wsmachine::ConnectionError::Handshake(h) => Error::Handshake(h),
            other => Error::Connection(other),
        }
    }
}
