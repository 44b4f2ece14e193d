//! The client: [`ClientBuilder`] (URL, headers, subprotocols, config, timeouts, a proxy,
//! TLS) and the transport it opens: TCP, optionally through a proxy (HTTP CONNECT or
//! SOCKS5: the sans-IO handshakes of `wsmachine-proxy`, run over the stream by
//! wsmachine-async's `proxy_tunnel`), optionally TLS (tokio-rustls with the `rustls`
//! feature, or any connector of yours). The request and its options are wsmachine-async's
//! [`ClientOptions`], shared with the futures adapter; the handshake is driven by
//! wsmachine-async's engine.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wsmachine::{ClientRequest, HandshakeError};
use wsmachine_async::{
    ClientOptions, Config, ConnectPlan, Error, IntoClientRequest, Proxy, Transport, WebSocket,
};

use crate::runtime::{TokioStream, runtime, transport_with_peer};

type ConnectFuture = Pin<Box<dyn Future<Output = io::Result<Box<dyn Transport>>> + Send>>;
type ConnectorFn = dyn Fn(String, TcpStream) -> ConnectFuture + Send + Sync;

/// How `wss://` gets its TLS.
#[derive(Clone)]
enum Tls {
    /// tokio-rustls with `default_tls_config` (feature
    /// `rustls`), else [`Error::TlsRequired`].
    Default,
    /// tokio-rustls with the caller's configuration.
    #[cfg(feature = "rustls")]
    Rustls(Arc<tokio_rustls::rustls::ClientConfig>),
    /// The caller's connector.
    Connector(Arc<ConnectorFn>),
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tls::Default => f.write_str("Default"),
            #[cfg(feature = "rustls")]
            Tls::Rustls(_) => f.write_str("Rustls(..)"),
            Tls::Connector(_) => f.write_str("Connector(..)"),
        }
    }
}

/// Builds a client connection, as the std adapter's `ClientBuilder` does: the URL, extra
/// headers (`Authorization`, `Origin`, `Cookie`, ...), offered subprotocols, the
/// [`Config`], a connect timeout, a proxy, and how `wss://` gets its TLS. Cheap to clone
/// (build once, [`connect`](ClientBuilder::connect) many times).
///
/// ```no_run
/// # async fn demo() -> Result<(), wsmachine_tokio::Error> {
/// use std::time::Duration;
/// let mut ws = wsmachine_tokio::ClientBuilder::new("wss://example.com/feed")
///     .header("Authorization", "Bearer s3cret")
///     .header("Origin", "https://example.com")
///     .subprotocol("v2.feed")
///     .connect_timeout(Some(Duration::from_secs(5)))
///     .proxy("socks5h://127.0.0.1:1080")
///     .connect()
///     .await?;
/// let subprotocol = ws.response().and_then(|r| r.subprotocol.clone());
/// # let _ = (subprotocol, ws.recv().await); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    options: ClientOptions,
    tls: Tls,
}

impl ClientBuilder {
    /// A client for `request`: a `ws://` / `wss://` URL, a [`ClientRequest`], or (feature
    /// `http`) an `http::Uri` or `http::Request<()>` (see [`IntoClientRequest`]). An
    /// invalid one is reported by [`connect`](ClientBuilder::connect) as
    /// [`Error::Handshake`].
    pub fn new(request: impl IntoClientRequest) -> Self {
        ClientBuilder {
            options: ClientOptions::new(request),
            tls: Tls::Default,
        }
    }

    /// A client for an already built request (the same as [`new`](ClientBuilder::new)).
    pub fn from_request(request: ClientRequest) -> Self {
        ClientBuilder::new(request)
    }

    /// The request as built so far (or the first invalid input).
    pub fn request(&self) -> Result<&ClientRequest, &HandshakeError> {
        self.options.request()
    }

    /// Adds a request header (e.g. `Authorization`, `Origin`, `Cookie`), written after the
    /// handshake's own in the order added. A name the handshake writes itself (`Host`,
    /// `Sec-WebSocket-*`, ...) or a value with control bytes is reported by `connect`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options = self.options.header(name, value);
        self
    }

    /// Offers a subprotocol (`Sec-WebSocket-Protocol`), in order of preference; the one the
    /// server chose is in [`WebSocket::response`]'s `subprotocol`.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.options = self.options.subprotocol(protocol);
        self
    }

    /// The connection's configuration (limits, timers; a core [`wsmachine::Config`]
    /// converts).
    pub fn config(mut self, config: impl Into<Config>) -> Self {
        self.options = self.options.config(config);
        self
    }

    /// The bound on each step of [`connect`](ClientBuilder::connect) before the WebSocket
    /// handshake (default 10 s; `None`: no bound): the TCP connect (to the server or the
    /// proxy), the proxy's handshake, the TLS handshake. A step that runs out fails with
    /// an `io::ErrorKind::TimedOut` [`Error::Io`].
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options = self.options.connect_timeout(timeout);
        self
    }

    /// The WebSocket handshake's deadline, from the start of
    /// [`connect`](ClientBuilder::connect)'s handshake to the server's `101` (the core's
    /// [`Timers::handshake_timeout`](wsmachine::Timers::handshake_timeout); the same as
    /// [`Config::handshake_timeout`]).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options = self.options.handshake_timeout(timeout);
        self
    }

    /// Connects through this proxy: `http://[user:password@]host[:port]` (HTTP CONNECT,
    /// Basic authentication), `socks5://...` (SOCKS5, the target's name resolved here) or
    /// `socks5h://...` (resolved by the proxy); user name and password percent-decoded. A
    /// bad URL is reported by [`connect`](ClientBuilder::connect) as [`Error::Proxy`].
    pub fn proxy(mut self, url: &str) -> Self {
        self.options = self.options.proxy(url);
        self
    }

    /// Connects through this proxy (see [`proxy`](ClientBuilder::proxy)); `None`: directly.
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
    /// [`Error::Proxy`]. The rules are `wsmachine_proxy::Proxy::from_env_for_host`'s,
    /// shared by every adapter. Cost: a few environment lookups.
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

    /// The rustls configuration for `wss://` (roots, client certificates, ALPN, crypto
    /// provider); by default [`default_tls_config`](crate::default_tls_config). The server
    /// name (SNI, certificate check) is the URL's host.
    #[cfg(feature = "rustls")]
    pub fn tls_config(mut self, config: Arc<tokio_rustls::rustls::ClientConfig>) -> Self {
        self.tls = Tls::Rustls(config);
        self
    }

    /// Any TLS connector for `wss://` (native-tls, OpenSSL, tokio-rustls set up your way;
    /// needs no cargo feature): `connect(host, tcp)` runs the TLS handshake for the URL's
    /// host (an IPv6 address without brackets) over the TCP stream (already through the
    /// proxy, if any) and returns the TLS stream. Its error is [`Error::Io`].
    ///
    /// ```
    /// # #[cfg(feature = "rustls")] fn demo(config: std::sync::Arc<wsmachine_tokio::rustls::ClientConfig>) {
    /// use wsmachine_tokio::tokio_rustls::{TlsConnector, rustls::pki_types::ServerName};
    /// let tls = TlsConnector::from(config);
    /// let builder = wsmachine_tokio::ClientBuilder::new("wss://localhost:9443/")
    ///     .tls_connector(move |host, tcp| {
    ///         let tls = tls.clone();
    ///         async move {
    ///             let name = ServerName::try_from(host).map_err(std::io::Error::other)?;
    ///             tls.connect(name, tcp).await
    ///         }
    ///     });
    /// # let _ = builder; }
    /// ```
    pub fn tls_connector<F, Fut, S>(mut self, connect: F) -> Self
    where
        F: Fn(String, TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<S>> + Send + 'static,
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let connector: Arc<ConnectorFn> = Arc::new(move |host, tcp| {
            // The peer address comes from the TCP socket: the TLS stream may hide it.
            let peer = tcp.peer_addr().ok();
            let handshake = connect(host, tcp);
            Box::pin(async move { handshake.await.map(|s| transport_with_peer(s, peer)) })
        });
        self.tls = Tls::Connector(connector);
        self
    }

    /// Whether `wss://` can be served: the `rustls` feature, or a connector.
    fn has_tls(&self) -> bool {
        cfg!(feature = "rustls") || matches!(self.tls, Tls::Connector(_))
    }

    /// Opens a TCP connection to the URL's host and port (through the proxy if one is
    /// set), then TLS for `wss://` (tokio-rustls with the `rustls` feature or your
    /// [`tls_connector`](ClientBuilder::tls_connector); without either, `wss://` is
    /// [`Error::TlsRequired`]), and runs the WebSocket handshake. The server's `101` is in
    /// [`WebSocket::response`].
    ///
    /// Errors: a bad URL, header or refusal ([`Error::Handshake`], e.g.
    /// `HandshakeError::Status` with the server's status, headers and body), the proxy's
    /// refusal ([`Error::Proxy`]), I/O and TLS errors, a step over the connect timeout
    /// ([`Error::Io`]).
    pub async fn connect(self) -> Result<WebSocket, Error> {
        let plan = self.options.plan(self.has_tls())?;
        let runtime = runtime();
        let (io, early) = plan
            .open(
                &*runtime,
                |host, port| async move {
                    let tcp = TcpStream::connect((host.as_str(), port)).await?;
                    Ok(TokioStream::new(tcp, None))
                },
                |host, port| async move {
                    let mut addrs = tokio::net::lookup_host((host.as_str(), port)).await?;
                    let addr = addrs.next().ok_or_else(|| {
                        io::Error::new(io::ErrorKind::NotFound, "host has no address")
                    })?;
                    Ok(addr.ip())
                },
            )
            .await?;
        let tcp = io.into_inner();
        let _ = tcp.set_nodelay(true);
        let peer = tcp.peer_addr().ok();
        let request = &plan.request;
        if !request.is_tls() {
            let io = transport_with_peer(tcp, peer);
            return wsmachine_async::client_with_prefix(io, runtime, request, &early, plan.config)
                .await;
        }
        ConnectPlan::check_no_early_bytes(&early)?;
        let tls = self.tls_handshake(plan.host(), peer, tcp);
        let io = wsmachine_async::within(&*runtime, plan.connect_timeout, tls).await?;
        wsmachine_async::client(io, runtime, request, plan.config).await
    }

    async fn tls_handshake(
        &self,
        host: &str,
        peer: Option<SocketAddr>,
        tcp: TcpStream,
    ) -> Result<Box<dyn Transport>, Error> {
        match &self.tls {
            Tls::Connector(connect) => Ok(connect(host.to_string(), tcp).await?),
            #[cfg(feature = "rustls")]
            Tls::Rustls(config) => {
                let tls = rustls_connect(config.clone(), host, tcp).await?;
                Ok(transport_with_peer(tls, peer))
            }
            #[cfg(feature = "rustls")]
            Tls::Default => {
                let config = crate::default_tls_config()?;
                let tls = rustls_connect(config, host, tcp).await?;
                Ok(transport_with_peer(tls, peer))
            }
            #[cfg(not(feature = "rustls"))]
            Tls::Default => {
                let _ = peer;
                Err(Error::TlsRequired)
            }
        }
    }

    /// Runs the client handshake over a `stream` you opened yourself (for `wss://`, your
    /// TLS stream; the URL gives the `Host` header and the resource), with this builder's
    /// request and config. No proxy, TLS or connect timeout applies.
    pub async fn client<S>(self, stream: S) -> Result<WebSocket, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let request = self.options.checked_request()?;
        crate::client_with_stream(stream, &request, self.options.current_config()).await
    }
}

/// The TLS handshake with tokio-rustls for `host` (SNI and certificate name; an IP address
/// is checked as such and sends no SNI).
#[cfg(feature = "rustls")]
async fn rustls_connect(
    config: Arc<tokio_rustls::rustls::ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = wsmachine_rustls::server_name(host)?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
}

/// The TLS client configuration used when none is given: the platform's roots
/// (rustls-native-certs: the system store, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set),
/// plus webpki-roots with that feature; the process's default crypto provider, else ring.
/// Built once per process, on first use; the same as the std adapter's (both are
/// `wsmachine_rustls::default_client_config`).
#[cfg(feature = "rustls")]
pub fn default_tls_config() -> Result<Arc<tokio_rustls::rustls::ClientConfig>, Error> {
    wsmachine_rustls::default_client_config().map_err(Error::Io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProxyError;

    #[cfg(not(feature = "rustls"))]
    #[tokio::test]
    async fn wss_needs_the_rustls_feature_or_a_connector() {
        // Refused before any connection is tried (port 1 is closed).
        assert!(matches!(
            crate::connect("wss://127.0.0.1:1/").await,
            Err(Error::TlsRequired)
        ));
        // With a connector, the TCP connect is tried (and refused).
        let r = ClientBuilder::new("wss://127.0.0.1:1/")
            .tls_connector(|_, tcp| async move { Ok(tcp) })
            .connect()
            .await;
        assert!(matches!(r, Err(Error::Io(_))), "{r:?}");
    }

    #[tokio::test]
    async fn bad_inputs_are_reported_by_connect_before_any_io() {
        let r = ClientBuilder::new("ws://127.0.0.1:1/")
            .proxy("https://proxy:1")
            .connect()
            .await;
        assert!(matches!(r, Err(Error::Proxy(ProxyError::InvalidUrl(_)))));
        let r = ClientBuilder::new("ws://127.0.0.1:1/")
            .header("Sec-WebSocket-Key", "mine")
            .connect()
            .await;
        assert!(
            matches!(r, Err(Error::Handshake(HandshakeError::ReservedHeader(_)))),
            "{r:?}"
        );
        let r = ClientBuilder::new("ftp://h/").connect().await;
        assert!(matches!(
            r,
            Err(Error::Handshake(HandshakeError::InvalidUri(_)))
        ));
        let b = ClientBuilder::new(String::from("ws://h/")).subprotocol("a b");
        assert!(b.request().is_err());
    }

    #[cfg(feature = "http")]
    #[test]
    fn http_requests_and_uris_convert() {
        let req = http::Request::get("wss://example.com/feed?x=1")
            .header("Authorization", "Bearer t")
            .header("Sec-WebSocket-Protocol", "v2, v1")
            .body(())
            .unwrap();
        let b = ClientBuilder::new(&req);
        let r = b.request().unwrap();
        assert_eq!((r.host(), r.port(), r.is_tls()), ("example.com", 443, true));
        assert_eq!(r.subprotocols(), ["v2", "v1"]);
        assert_eq!(r.headers()[0].1, "Bearer t");
        let uri: http::Uri = "ws://[::1]:9001/x".parse().unwrap();
        assert_eq!(ClientBuilder::new(uri).request().unwrap().host(), "::1");
    }
}
