//! The client builder every async adapter exports, written once: [`ClientBuilder`] keeps
//! the runtime-neutral [`ClientOptions`] and the TLS choice and runs the connect steps
//! ([`ConnectPlan::open`], TLS, the handshake); the adapter crate brings only what is its
//! own, as a [`ClientRuntime`]: the TCP connect, the name lookup, its TLS library and how
//! its streams become a [`Transport`]. `wsmachine_tokio::ClientBuilder` and
//! `wsmachine_futures::ClientBuilder` are this type with their runtime.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use wsmachine::{ClientRequest, HandshakeError};
use wsmachine_proxy::Proxy;

use crate::client::{ClientOptions, ConnectPlan, IntoClientRequest, within};
use crate::config::Config;
use crate::error::Error;
use crate::runtime::{Runtime, Transport};
use crate::socket::WebSocket;

/// An adapter's half of a [`ClientBuilder`]: how its runtime opens TCP, looks names up
/// and runs its default TLS, and its engine [`Runtime`]. Implemented once per adapter
/// crate (wsmachine-tokio's `TokioRuntime`, wsmachine-futures's `Runtime`); applications
/// use the adapter's `ClientBuilder` and never call these.
pub trait ClientRuntime: Clone + fmt::Debug + Send + Sync + 'static {
    /// The TCP stream this runtime opens; a [`tls_connector`](ClientBuilder::tls_connector)
    /// gets it.
    type Tcp: Send + 'static;
    /// The TCP stream as a [`Transport`] (for the proxy handshake), handed back by
    /// [`into_tcp`](ClientRuntime::into_tcp).
    type TcpTransport: Transport;
    /// What [`tls_config`](ClientBuilder::tls_config) takes: a rustls `ClientConfig` when
    /// the adapter has its `rustls` feature, else an uninhabited type (no value exists).
    type TlsConfig: Clone + Send + Sync + 'static;
    /// Whether `wss://` works without a connector (the adapter's `rustls` feature).
    const DEFAULT_TLS: bool;

    /// The engine's runtime (clock, timers, spawner) for the connection.
    fn engine(&self) -> Arc<dyn Runtime>;

    /// Opens a TCP connection to `host` (no brackets around an IPv6 address) and `port`.
    fn connect_tcp(
        host: String,
        port: u16,
    ) -> impl Future<Output = io::Result<Self::TcpTransport>> + Send;

    /// Looks `host` up: its first address (for `socks5://`, resolved here).
    fn resolve(host: String, port: u16) -> impl Future<Output = io::Result<IpAddr>> + Send;

    /// The TCP stream inside the transport.
    fn into_tcp(io: Self::TcpTransport) -> Self::Tcp;

    /// Turns Nagle's algorithm off on `tcp` and returns its peer address.
    fn prepare_tcp(tcp: &Self::Tcp) -> Option<SocketAddr>;

    /// The plain TCP stream as the connection's transport, with its peer address.
    fn tcp_transport(tcp: Self::Tcp, peer: Option<SocketAddr>) -> Box<dyn Transport>;

    /// The adapter's own TLS handshake for `host` over `tcp`: with `config`, or with its
    /// default configuration when `None`. By default (an adapter built without a TLS
    /// library) [`Error::TlsRequired`], which [`ClientBuilder::connect`] already reports
    /// before any I/O when [`DEFAULT_TLS`](ClientRuntime::DEFAULT_TLS) is false.
    fn tls(
        config: Option<&Self::TlsConfig>,
        host: &str,
        tcp: Self::Tcp,
        peer: Option<SocketAddr>,
    ) -> impl Future<Output = Result<Box<dyn Transport>, Error>> + Send {
        let _ = (config, host, tcp, peer);
        std::future::ready(Err(Error::TlsRequired))
    }
}

/// The streams of an adapter's runtime (its `AsyncRead + AsyncWrite`) that a
/// [`ClientBuilder`] can run over: the TLS stream of a
/// [`tls_connector`](ClientBuilder::tls_connector), a stream passed to
/// [`client`](ClientBuilder::client).
pub trait ClientStream<S>: ClientRuntime {
    /// Boxes `stream` with the peer address the caller found.
    fn transport_with_peer(stream: S, peer: Option<SocketAddr>) -> Box<dyn Transport>;

    /// Boxes `stream`; when it is the runtime's TCP stream (or a TLS stream over one),
    /// turns Nagle's algorithm off and keeps the peer address.
    fn transport(stream: S) -> Box<dyn Transport>;
}

/// A [`ClientRuntime`] the caller picks per builder ([`ClientBuilder::runtime`]), as
/// wsmachine-futures's `Runtime` (timer and spawner); tokio's is fixed.
pub trait SelectableRuntime: ClientRuntime {}

type ConnectFuture = Pin<Box<dyn Future<Output = io::Result<Box<dyn Transport>>> + Send>>;
/// The caller's connector, with the TCP socket's peer address (a TLS stream may hide it).
type ConnectorFn<Tcp> = dyn Fn(String, Tcp, Option<SocketAddr>) -> ConnectFuture + Send + Sync;

/// How `wss://` gets its TLS.
enum Tls<R: ClientRuntime> {
    /// The adapter's TLS with its default configuration (or [`Error::TlsRequired`]).
    Default,
    /// The adapter's TLS with the caller's configuration.
    Config(R::TlsConfig),
    /// The caller's connector.
    Connector(Arc<ConnectorFn<R::Tcp>>),
}

impl<R: ClientRuntime> Clone for Tls<R> {
    fn clone(&self) -> Self {
        match self {
            Tls::Default => Tls::Default,
            Tls::Config(c) => Tls::Config(c.clone()),
            Tls::Connector(c) => Tls::Connector(c.clone()),
        }
    }
}

impl<R: ClientRuntime> fmt::Debug for Tls<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tls::Default => "Default",
            Tls::Config(_) => "Config(..)",
            Tls::Connector(_) => "Connector(..)",
        })
    }
}

/// Builds a client connection: the URL, extra headers (`Authorization`, `Origin`,
/// `Cookie`, ...), offered subprotocols, the [`Config`], a connect timeout, a proxy, how
/// `wss://` gets its TLS and (for a [`SelectableRuntime`]) the runtime. Use it as
/// `wsmachine_tokio::ClientBuilder` or `wsmachine_futures::ClientBuilder` (this type with
/// the adapter's runtime). Cheap to clone (build once, [`connect`](ClientBuilder::connect)
/// many times): the request, a few `Arc`s.
#[derive(Debug)]
pub struct ClientBuilder<R: ClientRuntime> {
    options: ClientOptions,
    tls: Tls<R>,
    runtime: R,
}

impl<R: ClientRuntime> Clone for ClientBuilder<R> {
    fn clone(&self) -> Self {
        ClientBuilder {
            options: self.options.clone(),
            tls: self.tls.clone(),
            runtime: self.runtime.clone(),
        }
    }
}

impl<R: ClientRuntime + Default> ClientBuilder<R> {
    /// A client for `request`: a `ws://` / `wss://` URL, a [`ClientRequest`], or (feature
    /// `http`) an `http::Uri` or `http::Request<()>` (see [`IntoClientRequest`]), on the
    /// runtime's default. An invalid one is reported by
    /// [`connect`](ClientBuilder::connect) as [`Error::Handshake`]. Cost: parses the URL.
    pub fn new(request: impl IntoClientRequest) -> Self {
        ClientBuilder {
            options: ClientOptions::new(request),
            tls: Tls::Default,
            runtime: R::default(),
        }
    }

    /// A client for an already built request (the same as [`new`](ClientBuilder::new)).
    pub fn from_request(request: ClientRequest) -> Self {
        ClientBuilder::new(request)
    }
}

impl<R: SelectableRuntime> ClientBuilder<R> {
    /// The runtime the connection runs on: its timer (also for the connect timeout) and
    /// spawner (for wsmachine-futures, its `Runtime`; by default `Runtime::default`,
    /// async-io's timer and no spawner). Cost: a clone of an `Arc`.
    pub fn runtime(mut self, runtime: R) -> Self {
        self.runtime = runtime;
        self
    }
}

impl<R: ClientRuntime> ClientBuilder<R> {
    /// The request as built so far (or the first invalid input). Free.
    pub fn request(&self) -> Result<&ClientRequest, &HandshakeError> {
        self.options.request()
    }

    /// Adds a request header (e.g. `Authorization`, `Origin`, `Cookie`), written after the
    /// handshake's own in the order added. A name the handshake writes itself (`Host`,
    /// `Sec-WebSocket-*`, ...) or a value with control bytes is reported by `connect`.
    /// Cost: the header's two strings.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options = self.options.header(name, value);
        self
    }

    /// Offers a subprotocol (`Sec-WebSocket-Protocol`), in order of preference; the one the
    /// server chose is in [`WebSocket::response`]'s `subprotocol`. Cost: the string.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.options = self.options.subprotocol(protocol);
        self
    }

    /// The connection's configuration (limits, timers; a core [`wsmachine::Config`]
    /// converts). Free.
    pub fn config(mut self, config: impl Into<Config>) -> Self {
        self.options = self.options.config(config);
        self
    }

    /// The bound on each step of [`connect`](ClientBuilder::connect) before the WebSocket
    /// handshake (default 10 s; `None`: no bound): the TCP connect (to the server or the
    /// proxy, with the proxy's handshake), the TLS handshake. A step that runs out fails
    /// with an `io::ErrorKind::TimedOut` [`Error::Io`]. Costs one timer while a step runs.
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options = self.options.connect_timeout(timeout);
        self
    }

    /// The WebSocket handshake's deadline, from the start of
    /// [`connect`](ClientBuilder::connect)'s handshake to the server's `101` (the core's
    /// [`Timers::handshake_timeout`](wsmachine::Timers::handshake_timeout); the same as
    /// [`Config::handshake_timeout`]). Past it the handshake fails with
    /// [`Error::Connection`] (`ConnectionError::Timeout(Timeout::Handshake)`). Free.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options = self.options.handshake_timeout(timeout);
        self
    }

    /// Connects through this proxy: `http://[user:password@]host[:port]` (HTTP CONNECT,
    /// Basic authentication), `socks5://...` (SOCKS5, the target's name resolved here) or
    /// `socks5h://...` (resolved by the proxy); user name and password percent-decoded. A
    /// bad URL is reported by [`connect`](ClientBuilder::connect) as [`Error::Proxy`].
    /// Cost: parses the URL.
    pub fn proxy(mut self, url: &str) -> Self {
        self.options = self.options.proxy(url);
        self
    }

    /// Connects through this proxy (see [`proxy`](ClientBuilder::proxy)); `None`: directly.
    /// Free.
    pub fn proxy_config(mut self, proxy: Option<Proxy>) -> Self {
        self.options = self.options.proxy_config(proxy);
        self
    }

    /// Connects through the proxy the environment names for this URL, read now (opt-in):
    /// `http_proxy` / `HTTP_PROXY` for `ws://`, `https_proxy` / `HTTPS_PROXY` for
    /// `wss://`, then `all_proxy` / `ALL_PROXY`; the lower-case name wins when both are
    /// set, as in curl; none when `no_proxy` / `NO_PROXY` covers the host (names and
    /// domain suffixes with or without a leading dot, `*`, addresses, `host:port`);
    /// directly when none is set. A bad value is reported by `connect` as
    /// [`Error::Proxy`]. The rules are [`Proxy::from_env_for_host`]'s, shared by every
    /// adapter. Cost: a few environment lookups.
    pub fn proxy_from_env(mut self) -> Self {
        self.options = self.options.proxy_from_env();
        self
    }

    /// [`proxy_from_env`](ClientBuilder::proxy_from_env) with the variables looked up by
    /// `env` instead of in the process's environment (tests, a configuration file).
    pub fn proxy_from_env_with(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        self.options = self.options.proxy_from_env_with(env);
        self
    }

    /// The TLS configuration for `wss://` with the adapter's own TLS (with its `rustls`
    /// feature, an `Arc<rustls::ClientConfig>`: roots, client certificates, ALPN, crypto
    /// provider; by default the adapter's `default_tls_config`). The server name (SNI,
    /// certificate check) is the URL's host. Cost: a clone of an `Arc`.
    pub fn tls_config(mut self, config: R::TlsConfig) -> Self {
        self.tls = Tls::Config(config);
        self
    }

    /// Any TLS connector for `wss://` (needs no cargo feature): `connect(host, tcp)` runs
    /// the TLS handshake for the URL's host (an IPv6 address without brackets) over the
    /// runtime's TCP stream (already through the proxy, if any) and returns the TLS
    /// stream. Its error is [`Error::Io`]. Cost: one boxed future per connect.
    pub fn tls_connector<F, Fut, S>(mut self, connect: F) -> Self
    where
        F: Fn(String, R::Tcp) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<S>> + Send + 'static,
        R: ClientStream<S>,
    {
        let connector: Arc<ConnectorFn<R::Tcp>> = Arc::new(move |host, tcp, peer| {
            let handshake = connect(host, tcp);
            Box::pin(async move { handshake.await.map(|s| R::transport_with_peer(s, peer)) })
        });
        self.tls = Tls::Connector(connector);
        self
    }

    /// Whether `wss://` can be served: the adapter's TLS, or a connector.
    fn has_tls(&self) -> bool {
        R::DEFAULT_TLS || matches!(self.tls, Tls::Connector(_))
    }

    /// Opens a TCP connection to the URL's host and port with the runtime's TCP (through
    /// the proxy if one is set), then TLS for `wss://` (the adapter's, with its `rustls`
    /// feature, or your [`tls_connector`](ClientBuilder::tls_connector); without either,
    /// `wss://` is [`Error::TlsRequired`]), and runs the WebSocket handshake. The server's
    /// `101` is in [`WebSocket::response`]. Name lookups are the runtime's.
    ///
    /// Errors: a bad URL, header or refusal ([`Error::Handshake`], e.g.
    /// `HandshakeError::Status` with the server's status, headers and body), the proxy's
    /// refusal ([`Error::Proxy`]), I/O and TLS errors, a step over the connect timeout
    /// ([`Error::Io`]), the handshake timeout ([`Error::Connection`]).
    pub async fn connect(self) -> Result<WebSocket, Error> {
        let plan = self.options.plan(self.has_tls())?;
        let engine = self.runtime.engine();
        let (io, early) = plan.open(&*engine, R::connect_tcp, R::resolve).await?;
        let tcp = R::into_tcp(io);
        let peer = R::prepare_tcp(&tcp);
        let request = &plan.request;
        if !request.is_tls() {
            let io = R::tcp_transport(tcp, peer);
            return crate::client_with_prefix(io, engine, request, &early, plan.config).await;
        }
        ConnectPlan::check_no_early_bytes(&early)?;
        let host = plan.host();
        let tls = async {
            match &self.tls {
                Tls::Connector(connect) => Ok(connect(host.to_string(), tcp, peer).await?),
                Tls::Config(config) => R::tls(Some(config), host, tcp, peer).await,
                Tls::Default => R::tls(None, host, tcp, peer).await,
            }
        };
        let io = within(&*engine, plan.connect_timeout, tls).await?;
        crate::client(io, engine, request, plan.config).await
    }

    /// Runs the client handshake over a `stream` you opened yourself (for `wss://`, your
    /// TLS stream; the URL gives the `Host` header and the resource), with this builder's
    /// request, config and runtime. No proxy, TLS or connect timeout applies.
    pub async fn client<S>(self, stream: S) -> Result<WebSocket, Error>
    where
        R: ClientStream<S>,
    {
        let request = self.options.checked_request()?;
        let config = self.options.current_config();
        crate::client(
            R::transport(stream),
            self.runtime.engine(),
            &request,
            config,
        )
        .await
    }
}
