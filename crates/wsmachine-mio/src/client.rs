//! Clients: [`ClientBuilder`] (URL, headers, subprotocols, config, timeouts, a proxy),
//! [`MioClient`] inside your loop, [`LoopClient`] on its own poll.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Poll, Registry, Token};
use wsmachine::{ClientRequest, Config, HandshakeError, Message, SendError};
use wsmachine_proxy::{Proxy, ProxySetting, Target, resolve};

use crate::connection::{Event, MioConnection};
use crate::error::Error;

/// Builds a client for a mio loop, as the other adapters' `ClientBuilder`s do: the URL,
/// extra headers (`Authorization`, `Origin`, `Cookie`, ...), offered subprotocols, the
/// core [`Config`], connect and handshake timeouts, a proxy (HTTP CONNECT with Basic auth,
/// SOCKS5 with user/password; or the environment's) and, with the `rustls` feature, TLS
/// for `wss://`. Then
/// [`connect`](ClientBuilder::connect) registers a [`MioClient`] in your loop, or
/// [`connect_loop`](ClientBuilder::connect_loop) gives a [`LoopClient`] with its own
/// poll. Cheap to clone; connecting borrows it, so one builder connects many times.
///
/// Everything after the name lookups is non-blocking and runs inside
/// [`MioConnection::drive`]: the TCP connect, the proxy's handshake (the sans-IO state
/// machine of `wsmachine-proxy`, driven by readiness like the WebSocket bytes), the TLS
/// handshake (rustls's `read_tls` / `write_tls` on the non-blocking socket), the
/// WebSocket handshake. Name lookups (the server's, the proxy's, the target's for
/// `socks5://`) are blocking `ToSocketAddrs` calls, none for IP literals; use
/// [`connect_addr`](ClientBuilder::connect_addr) with an address resolved elsewhere to
/// keep them off the loop. Without the `rustls` feature `wss://` is
/// [`Error::Unsupported`].
///
/// ```no_run
/// # fn demo() -> Result<(), wsmachine_mio::Error> {
/// use std::time::Duration;
/// let mut client = wsmachine_mio::ClientBuilder::new("ws://127.0.0.1:9001/feed")
///     .header("Authorization", "Bearer s3cret")
///     .subprotocol("v2.feed")
///     .connect_timeout(Some(Duration::from_secs(5)))
///     .proxy("socks5h://127.0.0.1:1080")
///     .connect_loop()?;
/// if let Some(wsmachine_mio::Event::Connected(response)) = client.next_event(Duration::from_secs(10))? {
///     println!("subprotocol {:?}", response.subprotocol);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    request: Result<ClientRequest, HandshakeError>,
    config: Config,
    connect_timeout: Option<Duration>,
    proxy: ProxySetting,
    #[cfg(feature = "rustls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// The request, or the first invalid input its builder methods remembered.
fn checked(request: ClientRequest) -> Result<ClientRequest, HandshakeError> {
    request.check().map(|()| request)
}

impl ClientBuilder {
    /// A client for a `ws://` (or, feature `rustls`, `wss://`) URL, with the default [`Config`], a 10 s connect timeout and
    /// no proxy. A bad URL is reported when connecting.
    pub fn new(url: &str) -> Self {
        ClientBuilder::with(ClientRequest::new(url).and_then(checked))
    }

    /// A client for an already built request.
    pub fn from_request(request: ClientRequest) -> Self {
        ClientBuilder::with(checked(request))
    }

    fn with(request: Result<ClientRequest, HandshakeError>) -> Self {
        ClientBuilder {
            request,
            config: Config::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            proxy: ProxySetting::DIRECT,
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }

    /// The request as built so far (or the first invalid input).
    pub fn request(&self) -> Result<&ClientRequest, &HandshakeError> {
        self.request.as_ref()
    }

    /// Adds a request header (e.g. `Authorization`, `Origin`, `Cookie`), written after the
    /// handshake's own in the order added. A name the handshake writes itself (`Host`,
    /// `Sec-WebSocket-*`, ...) or a value with control bytes is reported when connecting.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request = self.request.and_then(|r| checked(r.header(name, value)));
        self
    }

    /// Offers a subprotocol (`Sec-WebSocket-Protocol`), in order of preference; the one the
    /// server chose is in [`Event::Connected`]'s response.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.request = self.request.and_then(|r| checked(r.subprotocol(protocol)));
        self
    }

    /// The core configuration (limits, timers). Set it before
    /// [`handshake_timeout`](ClientBuilder::handshake_timeout), which changes it.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The bound on the TCP connect, the proxy's handshake and the TLS handshake together
    /// (default 10 s; `None`: no bound), from the call to `connect`. Past it the connection reports a
    /// `TimedOut` [`Error::Io`], then [`Event::Closed`]. Costs nothing but a deadline
    /// ([`MioConnection::deadline`] includes it while it applies).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The WebSocket handshake's deadline (the core's
    /// [`Timers::handshake_timeout`](wsmachine::Timers::handshake_timeout)). The core's
    /// clock starts when the connection is created, so it counts from the call to
    /// `connect`, the TCP connect, the proxy's and TLS handshakes included, until the server's
    /// `101`. Past it the connection reports `Error::Timeout(Timeout::Handshake)`.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.timers.handshake_timeout = timeout;
        self
    }

    /// Connects through this proxy: `http://[user:password@]host[:port]` (HTTP CONNECT,
    /// Basic authentication), `socks5://...` (SOCKS5, the target's name resolved here) or
    /// `socks5h://...` (resolved by the proxy); user name and password percent-decoded. A
    /// bad URL is reported when connecting, as [`Error::Proxy`].
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
    /// `http_proxy`, else `HTTP_PROXY` (the URL is `ws://`), then `all_proxy`, else
    /// `ALL_PROXY`; the lower-case name wins when both are set, as in curl; none when
    /// `no_proxy` / `NO_PROXY` covers the host (names and domain suffixes with or without
    /// a leading dot, `*`, addresses, `host:port`); directly when none is set. A bad value
    /// is reported when connecting, as [`Error::Proxy`]. The rules are
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
    pub fn tls_config(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// The request and proxy, checked: the first invalid input, `wss://` without the
    /// `rustls` feature, a bad proxy.
    fn checked(&self) -> Result<(ClientRequest, Option<&Proxy>), Error> {
        let request = self.request.clone()?;
        if request.is_tls() && cfg!(not(feature = "rustls")) {
            return Err(Error::Unsupported(
                "wss:// needs the mio adapter's `rustls` feature",
            ));
        }
        Ok((request, self.proxy.checked()?))
    }

    /// Resolves where the TCP connection goes (the server, or the proxy; blocking lookups
    /// for names), starts a non-blocking connect, queues the upgrade request (and the
    /// proxy's handshake before it) and registers with `token`. Drive it as
    /// [`MioConnection`] describes; [`Event::Connected`] reports the finished handshake,
    /// or an [`Event::Error`] (I/O, [`Error::Proxy`], a timeout) then [`Event::Closed`]
    /// why it did not happen. Bad inputs are returned here, before any I/O.
    pub fn connect(&self, registry: &Registry, token: Token) -> Result<MioClient, Error> {
        let (request, proxy) = self.checked()?;
        let addr = match proxy {
            None => resolve(request.host(), request.port())?,
            Some(p) => resolve(&p.host, p.port)?,
        };
        self.start(addr, request, proxy, registry, token)
    }

    /// [`connect`](ClientBuilder::connect) to `addr`, resolved by you (the server's
    /// address, or the proxy's when a proxy is set); the URL still gives the `Host` header
    /// and path, and the proxy the target's name. No lookup at all, except the target's
    /// name for a `socks5://` proxy (use `socks5h://`, or an IP literal in the URL).
    pub fn connect_addr(
        &self,
        addr: SocketAddr,
        registry: &Registry,
        token: Token,
    ) -> Result<MioClient, Error> {
        let (request, proxy) = self.checked()?;
        self.start(addr, request, proxy, registry, token)
    }

    fn start(
        &self,
        addr: SocketAddr,
        request: ClientRequest,
        proxy: Option<&Proxy>,
        registry: &Registry,
        token: Token,
    ) -> Result<MioClient, Error> {
        let started = Instant::now();
        let handshake = match proxy {
            None => None,
            Some(p) => {
                let target = if p.resolves_locally() {
                    let ip: IpAddr = resolve(request.host(), request.port())?.ip();
                    Target::Ip(ip, request.port())
                } else {
                    Target::domain(request.host(), request.port())
                };
                Some(p.handshake(&target)?)
            }
        };
        let stream = TcpStream::connect(addr)?;
        let mut inner = match handshake {
            None => MioConnection::client(stream, &request, self.config)?,
            Some(hs) => MioConnection::client_through_proxy(stream, &request, self.config, hs)?,
        };
        if request.is_tls() {
            self.start_tls(&mut inner, request.host())?;
        }
        inner.set_connect_deadline(self.connect_timeout.and_then(|t| started.checked_add(t)));
        inner.register(registry, token)?;
        Ok(MioClient { inner })
    }

    /// TLS for `host` (SNI and certificate name; an IP address is checked as such and
    /// sends no SNI) with this builder's rustls configuration or the default one.
    #[cfg(feature = "rustls")]
    fn start_tls(&self, inner: &mut MioConnection, host: &str) -> Result<(), Error> {
        let config = match &self.tls {
            Some(c) => c.clone(),
            None => crate::default_tls_config()?,
        };
        let name = wsmachine_rustls::server_name(host)?;
        let tls = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        inner.use_tls(tls);
        Ok(())
    }

    #[cfg(not(feature = "rustls"))]
    fn start_tls(&self, _: &mut MioConnection, _: &str) -> Result<(), Error> {
        Err(Error::Unsupported(
            "wss:// needs the mio adapter's `rustls` feature",
        ))
    }

    /// [`connect`](ClientBuilder::connect) on a [`LoopClient`]'s own `Poll`.
    pub fn connect_loop(&self) -> Result<LoopClient, Error> {
        let poll = Poll::new()?;
        let client = self.connect(poll.registry(), Token(0))?;
        Ok(LoopClient::with(poll, client))
    }

    /// [`connect_addr`](ClientBuilder::connect_addr) on a [`LoopClient`]'s own `Poll`.
    pub fn connect_addr_loop(&self, addr: SocketAddr) -> Result<LoopClient, Error> {
        let poll = Poll::new()?;
        let client = self.connect_addr(addr, poll.registry(), Token(0))?;
        Ok(LoopClient::with(poll, client))
    }
}

/// A client connection (`ws://`, or `wss://` with the `rustls` feature) for your own
/// `mio` loop. It derefs to [`MioConnection`]:
/// drive it as that describes (`handle_event`, `poll_event`, `drive`, `deadline`). The TCP
/// connect is nonblocking; [`Event::Connected`] reports the finished handshake.
#[derive(Debug)]
pub struct MioClient {
    inner: MioConnection,
}

impl MioClient {
    /// Resolves the URL's host (a blocking DNS lookup for names, none for IP literals: use
    /// [`connect_addr`](MioClient::connect_addr) to keep DNS off the loop), starts a
    /// nonblocking connect, queues the upgrade request and registers with `token`. The
    /// same as [`ClientBuilder::new`]`(url).config(config).connect(..)` (a 10 s connect
    /// timeout); the builder adds headers, subprotocols, timeouts and proxies.
    pub fn connect(
        url: &str,
        config: Config,
        registry: &Registry,
        token: Token,
    ) -> Result<MioClient, Error> {
        ClientBuilder::new(url)
            .config(config)
            .connect(registry, token)
    }

    /// [`connect`](MioClient::connect) with a request built by hand (subprotocols, headers).
    pub fn connect_request(
        request: &ClientRequest,
        config: Config,
        registry: &Registry,
        token: Token,
    ) -> Result<MioClient, Error> {
        ClientBuilder::from_request(request.clone())
            .config(config)
            .connect(registry, token)
    }

    /// Connects to `addr` with no DNS lookup at all (resolve the host off the loop thread
    /// yourself); the request's URL still gives the `Host` header and path. Otherwise as
    /// [`connect`](MioClient::connect).
    pub fn connect_addr(
        addr: SocketAddr,
        request: &ClientRequest,
        config: Config,
        registry: &Registry,
        token: Token,
    ) -> Result<MioClient, Error> {
        ClientBuilder::from_request(request.clone())
            .config(config)
            .connect_addr(addr, registry, token)
    }

    /// The connection.
    pub fn into_inner(self) -> MioConnection {
        self.inner
    }
}

impl Deref for MioClient {
    type Target = MioConnection;
    fn deref(&self) -> &MioConnection {
        &self.inner
    }
}

impl DerefMut for MioClient {
    fn deref_mut(&mut self) -> &mut MioConnection {
        &mut self.inner
    }
}

/// One [`MioClient`] with its own `Poll`: a simple blocking-style driver for examples and
/// tests. Sends queue; [`next_event`](LoopClient::next_event) writes them, then parses the
/// next event (only then: a reply to the previous event goes out before anything the core
/// decides about later input) or waits for one.
#[derive(Debug)]
pub struct LoopClient {
    poll: Poll,
    events: Events,
    client: MioClient,
}

impl LoopClient {
    fn with(poll: Poll, client: MioClient) -> LoopClient {
        LoopClient {
            poll,
            events: Events::with_capacity(16),
            client,
        }
    }

    /// Connects to a `ws://` URL (the handshake completes during `next_event`); for
    /// headers, subprotocols, timeouts and proxies use [`ClientBuilder::connect_loop`].
    pub fn connect(url: &str, config: Config) -> Result<LoopClient, Error> {
        ClientBuilder::new(url).config(config).connect_loop()
    }

    /// Connects with a request built by hand.
    pub fn connect_request(request: &ClientRequest, config: Config) -> Result<LoopClient, Error> {
        ClientBuilder::from_request(request.clone())
            .config(config)
            .connect_loop()
    }

    /// Connects to `addr` with no DNS lookup; the request gives the `Host` header and path.
    pub fn connect_addr(
        addr: SocketAddr,
        request: &ClientRequest,
        config: Config,
    ) -> Result<LoopClient, Error> {
        ClientBuilder::from_request(request.clone())
            .config(config)
            .connect_addr_loop(addr)
    }

    /// The client, for sends and state.
    pub fn client(&mut self) -> &mut MioClient {
        &mut self.client
    }

    /// Queues a message.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        self.client.send(message)
    }

    /// Writes what is queued, then returns the next event, waiting up to `timeout` for it.
    /// `Ok(None)` on timeout. After [`Event::Closed`] it finishes the transport (writes what
    /// is left, shuts the write side, drains the peer as the core asks, all within
    /// `timeout`) and returns `Ok(None)`; call it once more after Closed before dropping the
    /// client for a clean TCP ending.
    pub fn next_event(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        let end = Instant::now().checked_add(timeout);
        loop {
            let now = Instant::now();
            self.client.drive(self.poll.registry(), now);
            if self.client.is_closed() {
                if self.client.is_finished() {
                    let _ = self.client.deregister(self.poll.registry());
                    return Ok(None);
                }
            } else if let Some(ev) = self.client.poll_event() {
                return Ok(Some(ev));
            }
            if self.client.needs_drive() {
                continue;
            }
            if end.is_some_and(|e| now >= e) {
                return Ok(None);
            }
            let mut wait = end.map(|e| e.saturating_duration_since(now));
            if let Some(d) = self.client.deadline() {
                let d = d.saturating_duration_since(now);
                wait = Some(wait.map_or(d, |w| w.min(d)));
            }
            match self.poll.poll(&mut self.events, wait) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            for ev in self.events.iter() {
                self.client.note_event(ev);
            }
        }
    }
}

/// The TLS client configuration used when none is given: the platform's roots
/// (rustls-native-certs: the system store, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set),
/// plus webpki-roots with that feature; the process's default crypto provider, else ring.
/// Built once per process, on first use; the same as the other adapters' (all are
/// `wsmachine_rustls::default_client_config`).
#[cfg(feature = "rustls")]
pub fn default_tls_config() -> Result<std::sync::Arc<rustls::ClientConfig>, Error> {
    wsmachine_rustls::default_client_config().map_err(Error::Io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsmachine_proxy::ProxyError;

    #[cfg(not(feature = "rustls"))]
    #[test]
    fn wss_needs_the_rustls_feature() {
        let e = ClientBuilder::new("wss://127.0.0.1:1/")
            .connect_loop()
            .unwrap_err();
        assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
    }

    #[test]
    fn bad_inputs_are_reported_before_any_io() {
        let e = ClientBuilder::new("ws://127.0.0.1:1/")
            .proxy_from_env_with(|k| (k == "http_proxy").then(|| "socks4://p".to_string()))
            .connect_loop()
            .unwrap_err();
        assert!(
            matches!(e, Error::Proxy(ProxyError::InvalidUrl(_))),
            "{e:?}"
        );
        let e = ClientBuilder::new("ftp://h/").connect_loop().unwrap_err();
        assert!(matches!(e, Error::Handshake(_)), "{e:?}");
        let b = ClientBuilder::new("ws://h/").subprotocol("a b");
        assert!(b.request().is_err());
        // socks5:// sends addresses: a name is resolved here (this one cannot be).
        let e = ClientBuilder::new("ws://name.invalid/")
            .proxy("socks5://127.0.0.1:1")
            .connect_loop()
            .unwrap_err();
        assert!(matches!(e, Error::Io(_)), "{e:?}");
    }
}
