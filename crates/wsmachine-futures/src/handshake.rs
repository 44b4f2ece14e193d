//! Opening connections on a [`Runtime`]: [`Runtime::connect`],
//! [`Runtime::client_with_stream`], [`Runtime::accept`], [`Runtime::accept_with`],
//! [`Runtime::accept_with_prefix`] and the handshake-free [`Runtime::open`]; and the same as
//! free functions on [`Runtime::default`] (async-io's timer, no spawner).

use std::future::Future;

use futures_io::{AsyncRead, AsyncWrite};
use wsmachine::{ClientRequest, Decision, Request, Role};
use wsmachine_async::{Config, Error, WebSocket};

use crate::runtime::{Runtime, transport};

impl Runtime {
    /// Opens a client connection to a `ws://` URL over TCP (async-net) and runs the
    /// handshake, with the default [`Config`]. `wss://` needs the `rustls` feature (else
    /// [`Error::TlsRequired`]; or open a TLS stream yourself and use
    /// [`client_with_stream`](Runtime::client_with_stream)). For headers, subprotocols,
    /// timeouts (the connect timeout is 10 s here), a proxy or TLS settings, use
    /// [`ClientBuilder`](crate::ClientBuilder).
    #[cfg(feature = "async-io")]
    pub async fn connect(&self, url: &str) -> Result<WebSocket, Error> {
        self.connect_with(url, Config::default()).await
    }

    /// [`connect`](Runtime::connect) with a configuration.
    #[cfg(feature = "async-io")]
    pub async fn connect_with(
        &self,
        url: &str,
        config: impl Into<Config>,
    ) -> Result<WebSocket, Error> {
        crate::ClientBuilder::new(url)
            .runtime(self.clone())
            .config(config)
            .connect()
            .await
    }

    /// Runs the client handshake for `request` over a stream the caller opened (a TCP
    /// stream, a TLS stream for `wss://`, a pipe), then returns the open connection. The
    /// request's URL gives the `Host` header and the resource; the stream decides where the
    /// bytes go.
    ///
    /// The connection's state is built when this is called (no I/O happens until the
    /// future is polled), so that the future itself stays small.
    pub fn client_with_stream<S, C>(
        &self,
        stream: S,
        request: &ClientRequest,
        config: C,
    ) -> impl Future<Output = Result<WebSocket, Error>> + Send + use<S, C>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        C: Into<Config>,
    {
        wsmachine_async::client(transport(stream), self.engine(), request, config.into())
    }

    /// Accepts a WebSocket upgrade on a server stream with the default [`Config`],
    /// accepting every valid request (no subprotocol).
    pub fn accept<S>(
        &self,
        stream: S,
    ) -> impl Future<Output = Result<WebSocket, Error>> + Send + use<S>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.accept_with(stream, Config::default(), |_| Decision::accept())
    }

    /// Accepts a WebSocket upgrade on a server stream; `decide` sees the request (path,
    /// query, headers; origin-form or absolute-form target) and accepts (subprotocol, extra
    /// headers) or rejects (status, body). A rejected request gets its HTTP response and
    /// [`Error::Rejected`]; an invalid one [`Error::Handshake`]; an invalid
    /// [`Accept`](wsmachine::Accept) a 500 response and [`Error::Accept`]. In every failure
    /// the response is written and the stream shut down before the error is returned.
    ///
    /// The connection's state is built when this is called (no I/O happens until the
    /// future is polled), so that the future, which a server keeps per connection, stays
    /// small.
    pub fn accept_with<S, C, F>(
        &self,
        stream: S,
        config: C,
        decide: F,
    ) -> impl Future<Output = Result<WebSocket, Error>> + use<S, C, F>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        C: Into<Config>,
        F: FnOnce(&Request) -> Decision,
    {
        self.accept_with_prefix(stream, &[], config, decide)
    }

    /// [`accept_with`](Runtime::accept_with) for a stream whose first bytes were already
    /// read by the caller (e.g. an HTTP server that peeked at the request to route it):
    /// `prefix` is fed first.
    pub fn accept_with_prefix<S, C, F>(
        &self,
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
        let config = config.into();
        wsmachine_async::server(transport(stream), self.engine(), prefix, config, decide)
    }

    /// Starts a connection that is already open, with no HTTP handshake: for transports
    /// upgraded elsewhere (RFC 8441 over HTTP/2, an existing HTTP server) and for tests
    /// over an in-memory pipe. A client masks what it sends; a server never does.
    pub fn open<S>(&self, stream: S, role: Role, config: impl Into<Config>) -> WebSocket
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        wsmachine_async::open(transport(stream), self.engine(), role, config.into())
    }

    /// [`open`](Runtime::open) for a core connection the caller built, e.g. one running
    /// permessage-deflate agreed in a 101 an HTTP framework wrote
    /// (`wsmachine_http::server_connection`). Its own config governs the core; `config`
    /// gives the read size and linger. Its clock starts now: build it at `Timestamp::ZERO`
    /// just before.
    pub fn from_connection<S>(
        &self,
        stream: S,
        conn: wsmachine::Connection,
        config: impl Into<Config>,
    ) -> WebSocket
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        wsmachine_async::from_connection(transport(stream), self.engine(), conn, config.into())
    }
}

/// [`Runtime::connect`] on the default runtime.
#[cfg(feature = "async-io")]
pub async fn connect(url: &str) -> Result<WebSocket, Error> {
    Runtime::default().connect(url).await
}

/// [`Runtime::connect_with`] on the default runtime.
#[cfg(feature = "async-io")]
pub async fn connect_with(url: &str, config: impl Into<Config>) -> Result<WebSocket, Error> {
    Runtime::default().connect_with(url, config).await
}

/// [`Runtime::client_with_stream`] on the default runtime.
#[cfg(feature = "async-io")]
pub fn client_with_stream<S, C>(
    stream: S,
    request: &ClientRequest,
    config: C,
) -> impl Future<Output = Result<WebSocket, Error>> + Send + use<S, C>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    C: Into<Config>,
{
    Runtime::default().client_with_stream(stream, request, config)
}

/// [`Runtime::accept`] on the default runtime.
#[cfg(feature = "async-io")]
pub fn accept<S>(stream: S) -> impl Future<Output = Result<WebSocket, Error>> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Runtime::default().accept(stream)
}

/// [`Runtime::accept_with`] on the default runtime.
#[cfg(feature = "async-io")]
pub fn accept_with<S, C, F>(
    stream: S,
    config: C,
    decide: F,
) -> impl Future<Output = Result<WebSocket, Error>> + use<S, C, F>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    C: Into<Config>,
    F: FnOnce(&Request) -> Decision,
{
    Runtime::default().accept_with(stream, config, decide)
}

/// [`Runtime::accept_with_prefix`] on the default runtime.
#[cfg(feature = "async-io")]
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
    Runtime::default().accept_with_prefix(stream, prefix, config, decide)
}

/// [`Runtime::open`] on the default runtime.
#[cfg(feature = "async-io")]
pub fn open<S>(stream: S, role: Role, config: impl Into<Config>) -> WebSocket
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Runtime::default().open(stream, role, config)
}

/// [`Runtime::from_connection`] on the default runtime.
#[cfg(feature = "async-io")]
pub fn from_connection<S>(
    stream: S,
    conn: wsmachine::Connection,
    config: impl Into<Config>,
) -> WebSocket
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Runtime::default().from_connection(stream, conn, config)
}
