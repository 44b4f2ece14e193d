//! Opening connections: [`connect`], [`client_with_stream`], [`accept`], [`accept_with`],
//! [`accept_with_prefix`] and the handshake-free [`open`].

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use wsmachine::{ClientRequest, Connection, Decision, Event, Request, Role, Timestamp};

use crate::config::Config;
use crate::driver::{Driver, HandshakeOutcome, Shared};
use crate::error::Error;
use crate::socket::{Receiver, Sender, WebSocket};

/// When the stream is a `TcpStream`: turns Nagle's algorithm off (the driver already
/// writes everything queued in one vectored write, so Nagle would only add latency) and
/// returns the peer address, kept for logging.
fn peer_addr_of<S: Any>(stream: &S) -> Option<SocketAddr> {
    let tcp = (stream as &dyn Any).downcast_ref::<TcpStream>()?;
    let _ = tcp.set_nodelay(true);
    tcp.peer_addr().ok()
}

/// Starts the driver task and returns the user's handles.
fn spawn<S>(
    mut driver: Driver<S>,
    shared: Arc<Shared>,
    request: Option<Request>,
    response: Option<wsmachine::Response>,
) -> WebSocket
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = shared.config;
    let (cmd_tx, cmd_rx) = mpsc::channel(config.command_queue.max(1));
    let (ev_tx, ev_rx) = mpsc::channel(config.event_queue.max(1));
    driver.start(cmd_rx, ev_tx);
    tokio::spawn(driver.run());
    WebSocket::new(
        Sender::new(cmd_tx.clone(), shared.clone()),
        Receiver::new(ev_rx, shared, cmd_tx),
        request,
        response,
    )
}

/// Opens a client connection to a `ws://` URL over TCP and runs the handshake, with the
/// default [`Config`]. `wss://` returns [`Error::TlsRequired`]: TLS is the caller's job
/// (see [`client_with_stream`]).
pub async fn connect(url: &str) -> Result<WebSocket, Error> {
    connect_with(url, Config::default()).await
}

/// [`connect`] with a configuration.
pub async fn connect_with(url: &str, config: impl Into<Config>) -> Result<WebSocket, Error> {
    let request = ClientRequest::new(url).map_err(Error::Handshake)?;
    if request.is_tls() {
        return Err(Error::TlsRequired);
    }
    let host = request.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let stream = TcpStream::connect((host, request.port())).await?;
    stream.set_nodelay(true)?;
    client_with_stream(stream, &request, config).await
}

/// Runs the client handshake for `request` over a stream the caller opened (a TCP stream,
/// a TLS stream for `wss://`, a pipe), then starts the connection. The request's URL
/// gives the `Host` header and the resource; the stream decides where the bytes go.
pub async fn client_with_stream<S>(
    stream: S,
    request: &ClientRequest,
    config: impl Into<Config>,
) -> Result<WebSocket, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = config.into();
    let base = Instant::now();
    let conn =
        Connection::client(request, config.core, Timestamp::ZERO).map_err(Error::Handshake)?;
    let shared = Arc::new(Shared::new(peer_addr_of(&stream), config));
    let mut driver = Driver::new(stream, conn, base, shared.clone());
    match std::future::poll_fn(|cx| driver.poll_handshake(cx)).await {
        HandshakeOutcome::Event(Event::Connected(response)) => {
            Ok(spawn(driver, shared, None, Some(*response)))
        }
        HandshakeOutcome::Event(_) => Err(Error::closed()),
        HandshakeOutcome::Failed(e) => Err(e),
    }
}

/// Accepts a WebSocket upgrade on a server stream with the default [`Config`], accepting
/// every valid request (no subprotocol).
pub async fn accept<S>(stream: S) -> Result<WebSocket, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    accept_with(stream, Config::default(), |_| Decision::accept()).await
}

/// Accepts a WebSocket upgrade on a server stream; `decide` sees the request (path, query,
/// headers) and accepts (subprotocol, extra headers) or rejects (status, body). A rejected
/// or invalid request gets its HTTP response and [`Error::Rejected`] or
/// [`Error::Handshake`].
pub async fn accept_with<S, F>(
    stream: S,
    config: impl Into<Config>,
    decide: F,
) -> Result<WebSocket, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: FnOnce(&Request) -> Decision,
{
    accept_with_prefix(stream, &[], config, decide).await
}

/// [`accept_with`] for a stream whose first bytes were already read by the caller (e.g. an
/// HTTP server that peeked at the request to route it): `prefix` is fed first.
pub async fn accept_with_prefix<S, F>(
    stream: S,
    prefix: &[u8],
    config: impl Into<Config>,
    decide: F,
) -> Result<WebSocket, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: FnOnce(&Request) -> Decision,
{
    let config = config.into();
    let base = Instant::now();
    let mut conn = Connection::server(config.core, Timestamp::ZERO);
    if !prefix.is_empty() {
        conn.handle_input(Timestamp::ZERO, prefix);
    }
    let shared = Arc::new(Shared::new(peer_addr_of(&stream), config));
    let mut driver = Driver::new(stream, conn, base, shared.clone());
    let request = match std::future::poll_fn(|cx| driver.poll_handshake(cx)).await {
        HandshakeOutcome::Event(Event::Request(request)) => request,
        HandshakeOutcome::Event(_) => return Err(Error::closed()),
        HandshakeOutcome::Failed(e) => return Err(e),
    };
    match decide(&request) {
        Decision::Accept(accept) => {
            let now = driver.now();
            if let Err(e) = driver.conn_mut().accept(now, &accept) {
                // The core answered 500.
                driver.finish_closed().await;
                return Err(Error::Accept(e));
            }
            Ok(spawn(driver, shared, Some(*request), None))
        }
        Decision::Reject {
            status,
            headers,
            body,
        } => {
            let _ = driver.conn_mut().reject(status, &headers, &body);
            driver.finish_closed().await;
            Err(Error::Rejected(status))
        }
    }
}

/// Starts a connection that is already open, with no HTTP handshake: for transports
/// upgraded elsewhere (RFC 8441 over HTTP/2, an existing HTTP server) and for tests over
/// `tokio::io::duplex`. A client masks what it sends; a server never does. Must be called
/// within a tokio runtime.
pub fn open<S>(stream: S, role: Role, config: impl Into<Config>) -> WebSocket
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = config.into();
    let base = Instant::now();
    let conn = Connection::open(role, config.core, Timestamp::ZERO);
    let shared = Arc::new(Shared::new(peer_addr_of(&stream), config));
    let driver = Driver::new(stream, conn, base, shared.clone());
    spawn(driver, shared, None, None)
}
