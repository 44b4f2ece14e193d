//! The adapter's error type.

use std::fmt;
use std::io;

use wsmachine::{AcceptError, ConnectionError, HandshakeError, SendError};

/// Everything that can go wrong, as a value: nothing in this crate panics on a dead or
/// misbehaving peer.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error: connecting, or reading or writing the socket (a reset, a broken pipe).
    /// On a running connection it arrives as an `Err` item just before the stream ends.
    Io(io::Error),
    /// The connection failed: the peer broke the protocol (the close code we sent is in
    /// it) or a timer expired (e.g. [`Timeout::Keepalive`](wsmachine::Timeout::Keepalive):
    /// the peer is gone). The stream ends after it.
    Connection(ConnectionError),
    /// The opening handshake failed: a bad URL or request, or the server refused the
    /// upgrade.
    Handshake(HandshakeError),
    /// A server's decision callback rejected the upgrade with this HTTP status (the
    /// response was sent).
    Rejected(u16),
    /// The server's [`Accept`](wsmachine::Accept) was invalid (e.g. a subprotocol the
    /// client did not offer).
    Accept(AcceptError),
    /// The connection refused the send: it is closing or closed, or the argument is
    /// invalid (a control payload over 125 bytes, a bad close code, a message larger than
    /// the whole send queue).
    Send(SendError),
    /// [`try_send`](crate::Sender::try_send): the core's send queue has no room for the
    /// message now (byte backpressure: the peer reads slower than we send); try again later
    /// or use `send().await`, which waits.
    Full,
    /// `wss://` URL the adapter cannot open itself: TLS is then the caller's job (the
    /// tokio adapter's `rustls` feature or `tls_connector`, or a TLS stream opened by the
    /// caller and passed to the adapter's `client_with_stream`).
    TlsRequired,
    /// The proxy URL is invalid, or the proxy refused or failed to open the tunnel (407:
    /// credentials wanted or refused; a SOCKS5 reply code).
    Proxy(wsmachine_proxy::ProxyError),
}

impl Error {
    /// Whether this error means the connection is closing or gone.
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            Error::Send(SendError::Closed | SendError::Closing) | Error::Connection(_)
        )
    }

    pub(crate) fn closed() -> Error {
        Error::Send(SendError::Closed)
    }

    /// A core error event: handshake failures as [`Error::Handshake`], the rest as
    /// [`Error::Connection`].
    pub(crate) fn from_connection(e: ConnectionError) -> Error {
        match e {
            ConnectionError::Handshake(h) => Error::Handshake(h),
            other => Error::Connection(other),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Connection(e) => write!(f, "connection failed: {e}"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Rejected(status) => write!(f, "upgrade rejected with HTTP {status}"),
            Error::Accept(e) => write!(f, "{e}"),
            Error::Send(e) => write!(f, "send refused: {e}"),
            Error::Full => f.write_str("send queue full"),
            Error::TlsRequired => f.write_str(
                "wss:// needs TLS: the adapter's TLS support (tokio: the `rustls` feature or a \
                 tls_connector), or a TLS stream of your own passed to client_with_stream",
            ),
            Error::Proxy(e) => write!(f, "proxy: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Connection(e) => Some(e),
            Error::Send(e) => Some(e),
            Error::Accept(e) => Some(e),
            Error::Handshake(e) => Some(e),
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

impl From<ConnectionError> for Error {
    fn from(e: ConnectionError) -> Self {
        Error::Connection(e)
    }
}

impl From<wsmachine_proxy::ProxyError> for Error {
    fn from(e: wsmachine_proxy::ProxyError) -> Self {
        Error::Proxy(e)
    }
}
