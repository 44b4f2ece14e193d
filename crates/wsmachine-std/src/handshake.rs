//! Opening handshakes: client builder and connect, server builder and accept.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsmachine::{
    Accept, ClientRequest, Config, Connection, Decision, Event, HandshakeError, Request, Response,
    Timestamp,
};

use crate::error::Error;
use crate::socket::{Options, WebSocket};
use crate::stream::SetReadTimeout;

/// The decision callback: it sees the request and the default [`Accept`] (the negotiated
/// subprotocol and the builder's headers) and returns the decision.
type DecideFn = dyn Fn(&Request, Accept) -> Decision + Send + Sync;

/// Builds server-side WebSockets: config, supported subprotocols, extra response headers and
/// an optional decision callback (origin checks, auth). Cheap to clone and shareable across
/// threads: build once, call [`accept`](ServerBuilder::accept) per connection.
#[derive(Clone, Default)]
pub struct ServerBuilder {
    options: Options,
    subprotocols: Vec<String>,
    headers: Vec<(String, String)>,
    decide: Option<Arc<DecideFn>>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("options", &self.options)
            .field("subprotocols", &self.subprotocols)
            .field("headers", &self.headers)
            .field("decide", &self.decide.is_some())
            .finish()
    }
}

impl ServerBuilder {
    /// Default options, no subprotocol, accept every valid request.
    pub fn new() -> Self {
        ServerBuilder::default()
    }

    /// The core configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.options.config = config;
        self
    }

    /// All adapter options.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// [`Options::write_timeout`].
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.write_timeout = timeout;
        self
    }

    /// Adds a supported subprotocol. The first protocol the client offers that is in this
    /// list is selected (the client's order of preference; [`Request::select_subprotocol`]).
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Adds a header to every accepting response.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the decision callback, called once per valid upgrade request with the request
    /// and the default accept.
    pub fn on_request(
        mut self,
        decide: impl Fn(&Request, Accept) -> Decision + Send + Sync + 'static,
    ) -> Self {
        self.decide = Some(Arc::new(decide));
        self
    }

    /// The adapter options.
    pub fn get_options(&self) -> &Options {
        &self.options
    }

    /// The default accept for `request`: the subprotocol [`Accept::negotiate`] picks from the
    /// builder's list, and the builder's headers.
    pub fn default_accept(&self, request: &Request) -> Accept {
        Accept::negotiate(request, &self.subprotocols, self.headers.clone())
    }

    /// Runs the server handshake on `stream` and returns the open WebSocket, or the error
    /// (the HTTP error response or the refusal was written).
    pub fn accept<S: Read + Write + SetReadTimeout>(
        &self,
        stream: S,
    ) -> Result<WebSocket<S>, Error> {
        let origin = Instant::now();
        let conn = Connection::server(self.options.config, Timestamp::ZERO);
        let mut ws = WebSocket::from_connection(stream, conn, origin, &self.options);
        let Event::Request(request) = ws.handshake_event()? else {
            return Err(Error::Handshake(HandshakeError::AlreadyFailed));
        };
        let accept = self.default_accept(&request);
        let decision = match &self.decide {
            Some(f) => f(&request, accept),
            None => Decision::Accept(accept),
        };
        ws.decide(&decision)?;
        ws.set_request(*request);
        Ok(ws)
    }
}

/// Builds a client WebSocket: URL, subprotocols, extra headers, config.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    request: Result<ClientRequest, HandshakeError>,
    options: Options,
    connect_timeout: Option<Duration>,
}

impl ClientBuilder {
    /// A client for `url` (`ws://host:port/path?query`; `wss://` only with
    /// [`client`](ClientBuilder::client) over your own TLS stream). A bad URL is reported
    /// when connecting.
    pub fn new(url: &str) -> Self {
        ClientBuilder {
            request: ClientRequest::new(url),
            options: Options::default(),
            connect_timeout: Some(Duration::from_secs(10)),
        }
    }

    /// A client for an already built request.
    pub fn from_request(request: ClientRequest) -> Self {
        ClientBuilder {
            request: Ok(request),
            options: Options::default(),
            connect_timeout: Some(Duration::from_secs(10)),
        }
    }

    /// The core configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.options.config = config;
        self
    }

    /// All adapter options.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// [`Options::write_timeout`].
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.write_timeout = timeout;
        self
    }

    /// The TCP connect timeout for [`connect`](ClientBuilder::connect) (default 10 s).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Offers a subprotocol.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.request = self.request.map(|r| r.subprotocol(protocol));
        self
    }

    /// Adds a request header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request = self.request.map(|r| r.header(name, value));
        self
    }

    /// Opens a TCP connection to the URL's host and port (`ws://` only) and runs the
    /// handshake.
    pub fn connect(self) -> Result<(WebSocket<TcpStream>, Response), Error> {
        let request = self.request.clone()?;
        if request.is_tls() {
            return Err(Error::Unsupported(
                "wss:// needs a TLS stream: open one and call client()",
            ));
        }
        let stream = tcp_connect(request.host(), request.port(), self.connect_timeout)?;
        let _ = stream.set_nodelay(true);
        self.client(stream)
    }

    /// Runs the client handshake over `stream` (already connected; for `wss://`, a TLS
    /// stream).
    pub fn client<S: Read + Write + SetReadTimeout>(
        self,
        stream: S,
    ) -> Result<(WebSocket<S>, Response), Error> {
        let request = self.request?;
        let origin = Instant::now();
        let conn = Connection::client(&request, self.options.config, Timestamp::ZERO)?;
        let mut ws = WebSocket::from_connection(stream, conn, origin, &self.options);
        let Event::Connected(response) = ws.handshake_event()? else {
            return Err(Error::Handshake(HandshakeError::AlreadyFailed));
        };
        ws.set_response((*response).clone());
        Ok((ws, *response))
    }
}

fn tcp_connect(host: &str, port: u16, timeout: Option<Duration>) -> Result<TcpStream, Error> {
    use std::net::ToSocketAddrs;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        let r = match timeout {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        };
        match r {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Io(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "host has no address")
    })))
}

/// Connects to a `ws://` URL over TCP with default options and runs the handshake.
pub fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response), Error> {
    ClientBuilder::new(url).connect()
}

/// Runs the client handshake for `request` over your own `stream` (TLS for `wss://`).
pub fn client<S: Read + Write + SetReadTimeout>(
    stream: S,
    request: ClientRequest,
    options: Options,
) -> Result<(WebSocket<S>, Response), Error> {
    ClientBuilder::from_request(request)
        .options(options)
        .client(stream)
}

/// Accepts a WebSocket on `stream` with default options (no subprotocol).
pub fn accept<S: Read + Write + SetReadTimeout>(stream: S) -> Result<WebSocket<S>, Error> {
    ServerBuilder::new().accept(stream)
}
