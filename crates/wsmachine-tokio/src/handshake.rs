//! Opening connections: [`connect`], [`client_with_stream`], [`accept`], [`accept_with`],
//! [`accept_with_prefix`] and the handshake-free [`open`] and [`from_connection`], over tokio
//! streams.

use std::future::Future;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wsmachine::{ClientRequest, Connection, Decision, Request, Role};
use wsmachine_async::{Config, Error, WebSocket};

use crate::runtime::{runtime, transport};

/// Opens a client connection to a `ws://` URL over TCP and runs the handshake, with the
/// default [`Config`]. `wss://` returns [`Error::TlsRequired`]: TLS is the caller's job
/// (see [`client_with_stream`]).
pub async fn connect(url: &str) -> Result<WebSocket, Error> {
    connect_with(url, Config::default()).await
}

/// [`connect`] with a configuration.
pub async fn connect_with(url: &str, config: impl Into<Config>) -> Result<WebSocket, Error> {
    let (request, host, port) = wsmachine_async::tcp_target(url)?;
    let stream = TcpStream::connect((host.as_str(), port)).await?;
    client_with_stream(stream, &request, config).await
}

/// Runs the client handshake for `request` over a stream the caller opened (a TCP stream,
/// a TLS stream for `wss://`, a pipe), then returns the open connection. The request's URL
/// gives the `Host` header and the resource; the stream decides where the bytes go.
///
/// The connection's state is built when this is called (no I/O happens until the future
/// is polled), so that the future itself stays small.
pub fn client_with_stream<S, C>(
    stream: S,
    request: &ClientRequest,
    config: C,
) -> impl Future<Output = Result<WebSocket, Error>> + Send + use<S, C>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    C: Into<Config>,
{
    wsmachine_async::client(transport(stream), runtime(), request, config.into())
}

/// Accepts a WebSocket upgrade on a server stream with the default [`Config`], accepting
/// every valid request (no subprotocol).
pub fn accept<S>(stream: S) -> impl Future<Output = Result<WebSocket, Error>> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    accept_with(stream, Config::default(), |_| Decision::accept())
}

/// Accepts a WebSocket upgrade on a server stream; `decide` sees the request (path, query,
/// headers; origin-form or absolute-form target) and accepts (subprotocol, extra headers)
/// or rejects (status, body). A rejected request gets its HTTP response and
/// [`Error::Rejected`]; an invalid one [`Error::Handshake`]; an invalid
/// [`Accept`](wsmachine::Accept) a 500 response and [`Error::Accept`]. In every failure
/// the response is written and the stream shut down before the error is returned.
///
/// The connection's state is built when this is called (no I/O happens until the future
/// is polled), so that the future, which a server keeps per connection, stays small.
pub fn accept_with<S, C, F>(
    stream: S,
    config: C,
    decide: F,
) -> impl Future<Output = Result<WebSocket, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    C: Into<Config>,
    F: FnOnce(&Request) -> Decision,
{
    accept_with_prefix(stream, &[], config, decide)
}

/// [`accept_with`] for a stream whose first bytes were already read by the caller (e.g. an
/// HTTP server that peeked at the request to route it): `prefix` is fed first.
pub fn accept_with_prefix<S, C, F>(
    stream: S,
    prefix: &[u8],
    config: C,
    decide: F,
) -> impl Future<Output = Result<WebSocket, Error>> + use<S, C, F>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    C: Into<Config>,
    F: FnOnce(&Request) -> Decision,
{
    wsmachine_async::server(transport(stream), runtime(), prefix, config.into(), decide)
}

/// Starts a connection that is already open, with no HTTP handshake: for transports
/// upgraded elsewhere (RFC 8441 over HTTP/2, an existing HTTP server) and for tests over
/// `tokio::io::duplex`. A client masks what it sends; a server never does. Its handles must
/// be polled within a tokio runtime (with time enabled).
pub fn open<S>(stream: S, role: Role, config: impl Into<Config>) -> WebSocket
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    wsmachine_async::open(transport(stream), runtime(), role, config.into())
}

/// [`open`] for a core connection the caller built: for a handshake run elsewhere that
/// agreed on more than the config says, e.g. permessage-deflate answered by an HTTP
/// framework's 101 (`wsmachine_http::server_connection` builds such a connection, with
/// `Connection::use_deflate`). The connection's own
/// config governs the core; `config` gives the adapter's read size and linger. Its clock
/// starts now: build `conn` with `Timestamp::ZERO` just before (a timer it armed runs from
/// this call). Its handles must be polled within a tokio runtime (with time enabled).
pub fn from_connection<S>(stream: S, conn: Connection, config: impl Into<Config>) -> WebSocket
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    wsmachine_async::from_connection(transport(stream), runtime(), conn, config.into())
}
