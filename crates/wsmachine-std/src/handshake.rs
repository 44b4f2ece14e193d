//! Opening handshakes: client builder and connect, server builder and accept.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsmachine::{
    Accept, ClientRequest, Config, Connection, Decision, Event, HandshakeError, Request, Response,
    Timestamp,
};

use wsmachine_proxy::{Proxy, ProxySetting};

use crate::error::Error;
use crate::socket::{Options, WebSocket};
use crate::stream::SetReadTimeout;
use crate::transport::{MaybeTlsStream, tcp_connect, tunnel};

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

/// Builds a client WebSocket: URL, subprotocols, extra headers, config, and for
/// [`connect`](ClientBuilder::connect) a proxy and (feature `rustls`) the TLS settings.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    request: Result<ClientRequest, HandshakeError>,
    options: Options,
    connect_timeout: Option<Duration>,
    proxy: ProxySetting,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl ClientBuilder {
    /// A client for `url` (`ws://host:port/path?query`, or `wss://` with the `rustls`
    /// feature or over your own TLS stream with [`client`](ClientBuilder::client)). A bad
    /// URL is reported when connecting.
    pub fn new(url: &str) -> Self {
        ClientBuilder::with(ClientRequest::new(url))
    }

    /// A client for an already built request.
    pub fn from_request(request: ClientRequest) -> Self {
        ClientBuilder::with(Ok(request))
    }

    fn with(request: Result<ClientRequest, HandshakeError>) -> Self {
        ClientBuilder {
            request,
            options: Options::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            proxy: ProxySetting::DIRECT,
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }

    /// Connects through this proxy: `http://[user:password@]host[:port]` (HTTP CONNECT,
    /// Basic authentication), `socks5://...` (SOCKS5, the target's name resolved here) or
    /// `socks5h://...` (resolved by the proxy); user name and password percent-decoded. A
    /// bad URL is reported by [`connect`](ClientBuilder::connect) as [`Error::Proxy`].
    pub fn proxy(mut self, url: &str) -> Self {
        self.proxy = ProxySetting::parse(url);
        self
    }

    /// Connects through this proxy (see [`proxy`](ClientBuilder::proxy)); `None`: directly.
    pub fn proxy_config(mut self, proxy: Option<Proxy>) -> Self {
        self.proxy = proxy.into();
        self
    }

    /// Connects through the proxy the environment names for this URL, read now (opt-in):
    /// `http_proxy` / `HTTP_PROXY` for `ws://`, `https_proxy` / `HTTPS_PROXY` for
    /// `wss://`, then `all_proxy` / `ALL_PROXY`; the lower-case name wins when both are
    /// set, as in curl; none when `no_proxy` / `NO_PROXY` covers the host (names and
    /// domain suffixes with or without a leading dot, `*`, addresses, `host:port`);
    /// directly when none is set. A bad value is reported by
    /// [`connect`](ClientBuilder::connect) as [`Error::Proxy`]. The rules are
    /// [`Proxy::from_env_for_host`]'s, shared by every adapter. Cost: a few environment
    /// lookups.
    pub fn proxy_from_env(self) -> Self {
        self.proxy_from_env_with(wsmachine_proxy::process_env)
    }

    /// [`proxy_from_env`](ClientBuilder::proxy_from_env) with the variables looked up by
    /// `env` instead of in the process's environment (tests, a configuration file). With
    /// an invalid URL nothing changes (its error is reported first).
    pub fn proxy_from_env_with(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        if let Ok(r) = &self.request {
            self.proxy = ProxySetting::from_env_for_host(r.is_tls(), r.host(), r.port(), env);
        }
        self
    }

    /// The rustls configuration for `wss://` (roots, client certificates, ALPN, crypto
    /// provider); by default [`default_tls_config`](crate::default_tls_config). The server
    /// name (SNI, certificate check) is the URL's host.
    #[cfg(feature = "rustls")]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
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

    /// The bound on each step of [`connect`](ClientBuilder::connect) before the WebSocket
    /// handshake (default 10 s): the TCP connect, each read and write of a proxy's
    /// handshake and of the TLS handshake. The WebSocket handshake has the core's
    /// [`Timers::handshake_timeout`](wsmachine::Timers::handshake_timeout).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The WebSocket handshake's deadline, from the request being queued to the server's
    /// `101` (the core's [`Timers::handshake_timeout`](wsmachine::Timers::handshake_timeout)
    /// in the [`config`](ClientBuilder::config); set after it, or it is replaced).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.config.timers.handshake_timeout = timeout;
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

    /// Opens a TCP connection to the URL's host and port, through the proxy if one is
    /// set, then TLS for `wss://` (feature `rustls`; without it `wss://` is
    /// [`Error::Unsupported`]), and runs the WebSocket handshake.
    pub fn connect(self) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
        let request = self.request.clone()?;
        if request.is_tls() && cfg!(not(feature = "rustls")) {
            return Err(Error::Unsupported(
                "wss:// needs the `rustls` feature, or a TLS stream of your own: see client()",
            ));
        }
        let (tcp, early) = match self.proxy.checked()? {
            None => (
                tcp_connect(request.host(), request.port(), self.connect_timeout)?,
                Vec::new(),
            ),
            Some(proxy) => tunnel(proxy, request.host(), request.port(), self.connect_timeout)?,
        };
        let _ = tcp.set_nodelay(true);
        if !request.is_tls() {
            return self.client_after(MaybeTlsStream::Plain(tcp), &early);
        }
        #[cfg(feature = "rustls")]
        {
            if !early.is_empty() {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the server spoke before the TLS handshake",
                )));
            }
            let config = match &self.tls {
                Some(c) => c.clone(),
                None => crate::transport::default_tls_config()?,
            };
            let tls =
                crate::transport::tls_connect(tcp, request.host(), config, self.connect_timeout)?;
            self.client_after(tls, &[])
        }
        #[cfg(not(feature = "rustls"))]
        Err(Error::Unsupported("wss:// needs the `rustls` feature"))
    }

    /// Runs the client handshake over `stream` (already connected; for `wss://`, a TLS
    /// stream).
    pub fn client<S: Read + Write + SetReadTimeout>(
        self,
        stream: S,
    ) -> Result<(WebSocket<S>, Response), Error> {
        self.client_after(stream, &[])
    }

    /// [`client`](ClientBuilder::client), where `early` bytes from the server already
    /// arrived (through a proxy tunnel).
    fn client_after<S: Read + Write + SetReadTimeout>(
        self,
        stream: S,
        early: &[u8],
    ) -> Result<(WebSocket<S>, Response), Error> {
        let request = self.request?;
        let origin = Instant::now();
        let mut conn = Connection::client(&request, self.options.config, Timestamp::ZERO)?;
        if !early.is_empty() {
            conn.handle_input(Timestamp::ZERO, early);
        }
        let mut ws = WebSocket::from_connection(stream, conn, origin, &self.options);
        let Event::Connected(response) = ws.handshake_event()? else {
            return Err(Error::Handshake(HandshakeError::AlreadyFailed));
        };
        ws.set_response((*response).clone());
        Ok((ws, *response))
    }
}

/// Connects to a `ws://` URL (or `wss://`, feature `rustls`) with default options and runs
/// the handshake. For a proxy, headers or TLS settings, use [`ClientBuilder`].
pub fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use wsmachine_proxy::ProxyError;

    #[cfg(not(feature = "rustls"))]
    #[test]
    fn wss_needs_the_rustls_feature() {
        // Refused before any connection is tried (port 1 is closed).
        assert!(matches!(
            connect("wss://127.0.0.1:1/"),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn a_bad_proxy_url_is_reported_by_connect() {
        let r = ClientBuilder::new("ws://127.0.0.1:1/")
            .proxy("https://proxy:1")
            .connect();
        assert!(matches!(r, Err(Error::Proxy(ProxyError::InvalidUrl(_)))));
        let r = ClientBuilder::new("ws://127.0.0.1:1/")
            .proxy_from_env_with(|k| (k == "ALL_PROXY").then(|| "socks4://p".to_string()))
            .connect();
        assert!(matches!(r, Err(Error::Proxy(ProxyError::InvalidUrl(_)))));
    }

    #[test]
    fn the_environment_names_the_proxy() {
        let env = |k: &str| match k {
            "https_proxy" => Some("socks5h://p:1".to_string()),
            "no_proxy" => Some(".internal".to_string()),
            _ => None,
        };
        let b = ClientBuilder::new("wss://a.example/").proxy_from_env_with(env);
        let p = b.proxy.checked().unwrap().unwrap();
        assert_eq!((p.host.as_str(), p.port), ("p", 1));
        let b = ClientBuilder::new("wss://db.internal/").proxy_from_env_with(env);
        assert_eq!(b.proxy.checked(), Ok(None));
        let b = ClientBuilder::new("ws://a.example/").proxy_from_env_with(env);
        assert_eq!(b.proxy.checked(), Ok(None));
    }
}
