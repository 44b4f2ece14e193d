//! Opening connections, for the adapter crates: [`client`] (and [`client_with_prefix`]
//! after a proxy tunnel), [`server`] (and [`server_async`] with an async decision), the
//! handshake-free [`open`] and [`from_connection`] over a [`Transport`] and a [`Runtime`]; [`tcp_target`] for a
//! `connect(url)`.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use wsmachine::{ClientRequest, Connection, Decision, Event, Request, Role, Timestamp};

use crate::config::Config;
use crate::error::Error;
use crate::runtime::{Runtime, Transport};
use crate::shared::{Shared, Step};
use crate::socket::WebSocket;

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

/// The first step of a `connect(url)`: parses a `ws://` URL into the client request and
/// the TCP host (without IPv6 brackets) and port to connect to. `wss://` returns
/// [`Error::TlsRequired`]: TLS is the caller's job.
pub fn tcp_target(url: &str) -> Result<(ClientRequest, String, u16), Error> {
    let request = ClientRequest::new(url).map_err(Error::Handshake)?;
    if request.is_tls() {
        return Err(Error::TlsRequired);
    }
    let host = wsmachine_proxy::unbracketed(request.host()).to_string();
    let port = request.port();
    Ok((request, host, port))
}

/// Runs the client handshake for `request` over `io`, then returns the open connection.
/// The request's URL gives the `Host` header and the resource; the stream decides where
/// the bytes go.
///
/// The connection's state is built when this is called (no I/O happens until the future
/// is polled), so that the future itself stays small.
pub fn client(
    io: Box<dyn Transport>,
    runtime: Arc<dyn Runtime>,
    request: &ClientRequest,
    config: Config,
) -> impl Future<Output = Result<WebSocket, Error>> + Send + use<> {
    client_with_prefix(io, runtime, request, &[], config)
}

/// [`client`] over a stream where `early` bytes from the server already arrived (read
/// past the end of a proxy's reply, see [`proxy_tunnel`](crate::proxy_tunnel)): they are
/// fed to the core first.
pub fn client_with_prefix(
    io: Box<dyn Transport>,
    runtime: Arc<dyn Runtime>,
    request: &ClientRequest,
    early: &[u8],
    config: Config,
) -> impl Future<Output = Result<WebSocket, Error>> + Send + use<> {
    let origin = runtime.now();
    let shared = Connection::client(request, config.core, Timestamp::ZERO)
        .map(|mut conn| {
            if !early.is_empty() {
                conn.handle_input(Timestamp::ZERO, early);
            }
            Shared::new(io, runtime, conn, origin, &config)
        })
        .map_err(Error::Handshake);
    async move {
        let shared = shared?;
        match handshake(&shared).await? {
            Event::Connected(response) => Ok(WebSocket::new(shared, None, Some(response))),
            _ => Err(Error::closed()),
        }
    }
}

/// Runs the server handshake over `io`: `prefix` (bytes of the request the caller already
/// read, or none) is fed first; `decide` sees the request and accepts or rejects it. A
/// rejected request gets its HTTP response and [`Error::Rejected`]; an invalid one
/// [`Error::Handshake`]; an invalid [`Accept`](wsmachine::Accept) a 500 response and
/// [`Error::Accept`]. In every failure the response is written and the stream shut down
/// before the error is returned.
///
/// The connection's state is built when this is called (no I/O happens until the future
/// is polled), so that the future, which a server keeps per connection, stays small.
pub fn server<F>(
    io: Box<dyn Transport>,
    runtime: Arc<dyn Runtime>,
    prefix: &[u8],
    config: Config,
    decide: F,
) -> impl Future<Output = Result<WebSocket, Error>> + use<F>
where
    F: FnOnce(&Request) -> Decision,
{
    decide_upgrade(new_server(io, runtime, prefix, &config), decide)
}

/// A server connection's state over `io`, with `prefix` (request bytes the caller already
/// read) fed to the core: what [`server`] and [`server_async`] start from.
fn new_server(
    io: Box<dyn Transport>,
    runtime: Arc<dyn Runtime>,
    prefix: &[u8],
    config: &Config,
) -> Arc<Shared> {
    let origin = runtime.now();
    let mut conn = Connection::server(config.core, Timestamp::ZERO);
    if !prefix.is_empty() {
        conn.handle_input(Timestamp::ZERO, prefix);
    }
    Shared::new(io, runtime, conn, origin, config)
}

/// Drives the handshake until the client's request (a refused or invalid one ends in the
/// error, its response written).
async fn upgrade_request(shared: &Arc<Shared>) -> Result<Box<Request>, Error> {
    match handshake(shared).await? {
        Event::Request(request) => Ok(request),
        _ => Err(Error::closed()),
    }
}

async fn decide_upgrade<F>(shared: Arc<Shared>, decide: F) -> Result<WebSocket, Error>
where
    F: FnOnce(&Request) -> Decision,
{
    let request = upgrade_request(&shared).await?;
    let decision = decide(&request);
    answer(shared, request, decision).await
}

/// Rounds of I/O per poll while an async decision is pending, before yielding.
const BUDGET: usize = 32;

/// [`server`] with an async decision: `decide` sees the request and may await (a
/// database, an auth service, a channel) before it accepts or rejects. Outcomes as for
/// [`server`].
///
/// The decision is bounded by the core's handshake deadline
/// ([`Config::handshake_timeout`], counted from the call): while it is pending the
/// connection's timer runs, so a decision that takes too long ends the connection (the
/// decision future is dropped; the client gets no response) with [`Error::Connection`]
/// (`Timeout::Handshake`). The stream is not read meanwhile (the core wants no input
/// before the decision), so a client that hangs up is noticed once the decision is
/// applied.
///
/// The connection's state is built when this is called (no I/O happens until the future
/// is polled).
pub fn server_async<F>(
    io: Box<dyn Transport>,
    runtime: Arc<dyn Runtime>,
    prefix: &[u8],
    config: Config,
    decide: F,
) -> impl Future<Output = Result<WebSocket, Error>> + use<F>
where
    F: AsyncFnOnce(&Request) -> Decision,
{
    decide_upgrade_async(new_server(io, runtime, prefix, &config), decide)
}

async fn decide_upgrade_async<F>(shared: Arc<Shared>, decide: F) -> Result<WebSocket, Error>
where
    F: AsyncFnOnce(&Request) -> Decision,
{
    let request = upgrade_request(&shared).await?;
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

/// Starts a connection over `io` that is already open, with no HTTP handshake. A client
/// masks what it sends; a server never does.
pub fn open(
    io: Box<dyn Transport>,
    runtime: Arc<dyn Runtime>,
    role: Role,
    config: Config,
) -> WebSocket {
    let conn = Connection::open(role, config.core, Timestamp::ZERO);
    from_connection(io, runtime, conn, config)
}

/// [`open`] for a core connection the caller built (e.g. one running permessage-deflate
/// agreed in a 101 written elsewhere, with `Connection::use_deflate`). Its own config
/// governs the core; `config` gives the read size and linger. Its clock starts now: build
/// `conn` at `Timestamp::ZERO` just before.
pub fn from_connection(
    io: Box<dyn Transport>,
    runtime: Arc<dyn Runtime>,
    conn: Connection,
    config: Config,
) -> WebSocket {
    let origin = runtime.now();
    WebSocket::new(Shared::new(io, runtime, conn, origin, &config), None, None)
}
