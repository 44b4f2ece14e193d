//! Opening connections: [`connect`], [`client_with_stream`], [`accept`], [`accept_with`],
//! [`accept_with_prefix`], [`accept_with_async`] and the handshake-free [`open`] and
//! [`from_connection`], over tokio streams.

use std::future::Future;

use tokio::io::{AsyncRead, AsyncWrite};
use wsmachine::{ClientRequest, Connection, Decision, Request, Role};
use wsmachine_async::{Config, Error, IntoClientRequest, WebSocket};

use crate::client::ClientBuilder;
use crate::runtime::{runtime, transport};

/// Opens a client connection and runs the handshake, with the default [`Config`]:
/// `ws://` over TCP, `wss://` with tokio-rustls (feature `rustls`; without it
/// [`Error::TlsRequired`]). `request` is a URL, a [`ClientRequest`] or (feature `http`)
/// an `http::Request<()>` or `http::Uri` (see [`IntoClientRequest`]). For headers,
/// subprotocols, timeouts, a proxy or your own TLS settings, use [`ClientBuilder`].
pub async fn connect(request: impl IntoClientRequest) -> Result<WebSocket, Error> {
    ClientBuilder::new(request).connect().await
}

/// [`connect`] with a configuration.
pub async fn connect_with(
    request: impl IntoClientRequest,
    config: impl Into<Config>,
) -> Result<WebSocket, Error> {
    ClientBuilder::new(request).config(config).connect().await
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

/// Accepts a WebSocket upgrade on a server stream after an async decision: `decide` sees
/// the request (path, query, headers) and may await (a database, an auth service, a
/// channel) before it accepts (subprotocol, extra headers:
/// [`Accept::negotiate`](wsmachine::Accept::negotiate)) or rejects (status, headers, body).
/// Outcomes as for [`accept_with`].
///
/// The decision is bounded by the core's handshake deadline
/// ([`Config::handshake_timeout`], counted from the call): while it is pending the
/// connection's timer runs, so a decision that takes too long ends the connection (the
/// decision future is dropped; the client gets no response) with [`Error::Connection`]
/// (`Timeout::Handshake`). The stream is not read meanwhile (the core wants no input
/// before the decision), so a client that hangs up is noticed once the decision is
/// applied. The driving is wsmachine-async's (`server_async`), shared with the futures
/// adapter.
///
/// ```no_run
/// # async fn demo(stream: tokio::net::TcpStream) {
/// use wsmachine_tokio::{Accept, Decision, Request};
/// async fn token_ok(token: Option<&str>) -> bool {
///     // e.g. a database query
///     token == Some("Bearer s3cret")
/// }
/// let ws = wsmachine_tokio::accept_with_async(stream, wsmachine_tokio::Config::new(),
///     async |request: &Request| {
///         if token_ok(request.headers.get_str("authorization")).await {
///             Decision::Accept(Accept::negotiate(request, &["chat"], Vec::new()))
///         } else {
///             Decision::reject(401, "a valid token is required\n")
///         }
///     },
/// )
/// .await;
/// # let _ = ws; }
/// ```
///
/// The connection's state is built when this is called (no I/O happens until the future
/// is polled).
pub fn accept_with_async<S, C, F>(
    stream: S,
    config: C,
    decide: F,
) -> impl Future<Output = Result<WebSocket, Error>> + use<S, C, F>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    C: Into<Config>,
    F: AsyncFnOnce(&Request) -> Decision,
{
    wsmachine_async::server_async(transport(stream), runtime(), &[], config.into(), decide)
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
