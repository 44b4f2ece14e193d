//! Opening connections: [`connect`], [`client_with_stream`], [`accept`], [`accept_with`],
//! [`accept_with_prefix`], [`accept_with_async`] and the handshake-free [`open`].

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use wsmachine::{ClientRequest, Connection, Decision, Event, Request, Role, Timestamp};

use crate::client::{ClientBuilder, IntoClientRequest};
use crate::config::Config;
use crate::error::Error;
use crate::shared::{Io, Shared, Step};
use crate::socket::WebSocket;

/// The TCP socket under `stream`, when it is a `TcpStream` (or, with the `rustls`
/// feature, a tokio-rustls stream over one).
fn tcp_of<S: Any>(stream: &S) -> Option<&TcpStream> {
    let any = stream as &dyn Any;
    if let Some(tcp) = any.downcast_ref::<TcpStream>() {
        return Some(tcp);
    }
    #[cfg(feature = "rustls")]
    {
        if let Some(tls) = any.downcast_ref::<tokio_rustls::server::TlsStream<TcpStream>>() {
            return Some(tls.get_ref().0);
        }
        if let Some(tls) = any.downcast_ref::<tokio_rustls::client::TlsStream<TcpStream>>() {
            return Some(tls.get_ref().0);
        }
    }
    None
}

/// When the stream is over a `TcpStream` (see [`tcp_of`]): turns Nagle's algorithm off
/// (every write already carries everything queued, in one vectored write) and returns the
/// peer address, kept for logging.
fn peer_addr_of<S: Any>(stream: &S) -> Option<SocketAddr> {
    let tcp = tcp_of(stream)?;
    let _ = tcp.set_nodelay(true);
    tcp.peer_addr().ok()
}

fn start<S>(stream: S, conn: Connection, origin: Instant, config: &Config) -> Arc<Shared>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = peer_addr_of(&stream);
    Shared::new(Box::new(stream), conn, origin, peer, config)
}

/// Rounds of I/O per poll while a decision is pending, before yielding.
const BUDGET: usize = 32;

/// Drives the opening handshake until `Request` or `Connected`; on failure the transport
/// is driven to its end (an HTTP error response written, the stream shut down) first.
async fn handshake(shared: &Arc<Shared>) -> Result<Event, Error> {
    std::future::poll_fn(|cx| shared.poll_rx(cx, |inner, io| inner.poll_handshake(io))).await
}

/// Drives a connection the core already closed (a rejected or invalid upgrade) to the end
/// of its transport: the response is written, the stream shut down and dropped.
async fn run_to_end(shared: &Arc<Shared>) {
    std::future::poll_fn(|cx| {
        shared.poll_rx(cx, |inner, io| {
            loop {
                match inner.poll_next_item(io) {
                    Step::Ready(Some(_)) => continue,
                    Step::Ready(None) => return Step::Ready(()),
                    Step::Pending => return Step::Pending,
                    Step::Yield => return Step::Yield,
                }
            }
        })
    })
    .await
}

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

/// Runs the client handshake over a transport [`ClientBuilder::connect`] opened, where
/// `early` bytes from the server already arrived (through a proxy tunnel).
pub(crate) async fn client_after(
    stream: Box<dyn Io>,
    peer: Option<SocketAddr>,
    request: &ClientRequest,
    early: &[u8],
    config: &Config,
) -> Result<WebSocket, Error> {
    let origin = Instant::now();
    let mut conn =
        Connection::client(request, config.core, Timestamp::ZERO).map_err(Error::Handshake)?;
    if !early.is_empty() {
        conn.handle_input(Timestamp::ZERO, early);
    }
    let shared = Shared::new(stream, conn, origin, peer, config);
    match handshake(&shared).await? {
        Event::Connected(response) => Ok(WebSocket::new(shared, None, Some(response))),
        _ => Err(Error::closed()),
    }
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
    let shared = client_shared(stream, request, &config.into());
    async move {
        let shared = shared?;
        match handshake(&shared).await? {
            Event::Connected(response) => Ok(WebSocket::new(shared, None, Some(response))),
            _ => Err(Error::closed()),
        }
    }
}

fn client_shared<S>(
    stream: S,
    request: &ClientRequest,
    config: &Config,
) -> Result<Arc<Shared>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let origin = Instant::now();
    let conn =
        Connection::client(request, config.core, Timestamp::ZERO).map_err(Error::Handshake)?;
    Ok(start(stream, conn, origin, config))
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
    let shared = server_shared(stream, prefix, &config.into());
    decide_upgrade(shared, decide)
}

fn server_shared<S>(stream: S, prefix: &[u8], config: &Config) -> Arc<Shared>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let origin = Instant::now();
    let mut conn = Connection::server(config.core, Timestamp::ZERO);
    if !prefix.is_empty() {
        conn.handle_input(Timestamp::ZERO, prefix);
    }
    start(stream, conn, origin, config)
}

async fn decide_upgrade<F>(shared: Arc<Shared>, decide: F) -> Result<WebSocket, Error>
where
    F: FnOnce(&Request) -> Decision,
{
    let Event::Request(request) = handshake(&shared).await? else {
        return Err(Error::closed());
    };
    let decision = decide(&request);
    answer(shared, request, decision).await
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
/// applied.
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
    let shared = server_shared(stream, &[], &config.into());
    decide_upgrade_async(shared, decide)
}

async fn decide_upgrade_async<F>(shared: Arc<Shared>, decide: F) -> Result<WebSocket, Error>
where
    F: AsyncFnOnce(&Request) -> Decision,
{
    let Event::Request(request) = handshake(&shared).await? else {
        return Err(Error::closed());
    };
    let decision = {
        let mut pending = std::pin::pin!(decide(&request));
        std::future::poll_fn(|cx| {
            if let Poll::Ready(d) = pending.as_mut().poll(cx) {
                return Poll::Ready(Some(d));
            }
            // Meanwhile the timers run (the core wants no input before the decision): a
            // decision past the handshake deadline ends the connection.
            shared.poll_rx(cx, |inner, io| {
                for _ in 0..BUDGET {
                    if inner.conn.is_closed() {
                        return Step::Ready(None);
                    }
                    if !inner.poll_io(io, true) {
                        return Step::Pending;
                    }
                }
                Step::Yield
            })
        })
        .await
    };
    match decision {
        Some(decision) => answer(shared, request, decision).await,
        // The core closed: drive to the end and report its error.
        None => match handshake(&shared).await {
            Err(e) => Err(e),
            Ok(_) => Err(Error::closed()),
        },
    }
}

/// Gives the core the application's decision, writes the answer, and returns the open
/// connection or the error (after driving a refused connection to its end).
async fn answer(
    shared: Arc<Shared>,
    request: Box<Request>,
    decision: Decision,
) -> Result<WebSocket, Error> {
    let decided = shared.with(|inner, io| {
        let now = inner.now();
        let r = inner.conn.decide(now, &decision);
        // The 101 (or the error response) goes out now; the rest with the first poll.
        inner.poll_write(io);
        r
    });
    match (decision, decided) {
        (Decision::Accept(_), Ok(())) => Ok(WebSocket::new(shared, Some(request), None)),
        (Decision::Accept(_), Err(e)) => {
            // The core answered 500 and closed.
            run_to_end(&shared).await;
            Err(Error::Accept(e))
        }
        (Decision::Reject { status, .. }, _) => {
            run_to_end(&shared).await;
            Err(Error::Rejected(status))
        }
    }
}

/// Starts a connection that is already open, with no HTTP handshake: for transports
/// upgraded elsewhere (RFC 8441 over HTTP/2, an existing HTTP server) and for tests over
/// `tokio::io::duplex`. A client masks what it sends; a server never does. Its handles must
/// be polled within a tokio runtime (with time enabled).
pub fn open<S>(stream: S, role: Role, config: impl Into<Config>) -> WebSocket
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = config.into();
    let origin = Instant::now();
    let conn = Connection::open(role, config.core, Timestamp::ZERO);
    WebSocket::new(start(stream, conn, origin, &config), None, None)
}
