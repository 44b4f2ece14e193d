//! The runtime-neutral half of a client connect, for the adapter crates: what a request is
//! built from ([`IntoClientRequest`]), the options every adapter's client builder keeps
//! ([`ClientOptions`]: request, headers, subprotocols, config, connect timeout, proxy), a
//! step bounded by the runtime's timer ([`within`]) and the proxy handshake over any
//! [`Transport`] ([`proxy_tunnel`]). Opening the TCP connection and TLS stay with the
//! adapter.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::IpAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use wsmachine::{ClientRequest, HandshakeError};
use wsmachine_proxy::{Proxy, ProxyHandshake, ProxySetting, Target, unbracketed};

use crate::config::Config;
use crate::error::Error;
use crate::runtime::{Runtime, Transport};

/// What an adapter's `connect` and client builder take: a `ws://` or `wss://` URL
/// (`&str`, `String`), a built [`ClientRequest`], or with the `http` feature an
/// `http::Uri` or an `http::Request<()>` (its headers are sent, as tokio-tungstenite's
/// `IntoClientRequest` does; see `wsmachine_http::client_request_from_http`).
pub trait IntoClientRequest {
    /// The request, or why it is invalid.
    fn into_client_request(self) -> Result<ClientRequest, HandshakeError>;
}

impl IntoClientRequest for &str {
    fn into_client_request(self) -> Result<ClientRequest, HandshakeError> {
        ClientRequest::new(self)
    }
}

impl IntoClientRequest for &String {
    fn into_client_request(self) -> Result<ClientRequest, HandshakeError> {
        ClientRequest::new(self)
    }
}

impl IntoClientRequest for String {
    fn into_client_request(self) -> Result<ClientRequest, HandshakeError> {
        ClientRequest::new(&self)
    }
}

impl IntoClientRequest for ClientRequest {
    fn into_client_request(self) -> Result<ClientRequest, HandshakeError> {
        Ok(self)
    }
}

#[cfg(feature = "http")]
impl IntoClientRequest for &http::Uri {
    fn into_client_request(self) -> Result<ClientRequest, HandshakeError> {
        wsmachine_http::client_request_from_uri(self)
    }
}

#[cfg(feature = "http")]
impl IntoClientRequest for http::Uri {
    fn into_client_request(self) -> Result<ClientRequest, HandshakeError> {
        wsmachine_http::client_request_from_uri(&self)
    }
}

#[cfg(feature = "http")]
impl IntoClientRequest for &http::Request<()> {
    fn into_client_request(self) -> Result<ClientRequest, HandshakeError> {
        wsmachine_http::client_request_from_http(self)
    }
}

#[cfg(feature = "http")]
impl IntoClientRequest for http::Request<()> {
    fn into_client_request(self) -> Result<ClientRequest, HandshakeError> {
        wsmachine_http::client_request_from_http(&self)
    }
}

/// The runtime-neutral settings of a client connection, kept by an adapter's client
/// builder ([`ClientBuilder`](crate::ClientBuilder) wraps one and adds TLS): the request with
/// its headers and subprotocols (the first invalid input is remembered and reported before
/// any I/O), the [`Config`], a connect timeout (default 10 s) and a proxy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    request: Result<ClientRequest, HandshakeError>,
    config: Config,
    connect_timeout: Option<Duration>,
    proxy: ProxySetting,
}

impl ClientOptions {
    /// Options for `request` (see [`IntoClientRequest`]), with the default [`Config`], a
    /// 10 s connect timeout and no proxy.
    pub fn new(request: impl IntoClientRequest) -> Self {
        ClientOptions {
            request: request.into_client_request().and_then(checked),
            config: Config::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            proxy: ProxySetting::DIRECT,
        }
    }

    /// The request as built so far (or the first invalid input).
    pub fn request(&self) -> Result<&ClientRequest, &HandshakeError> {
        self.request.as_ref()
    }

    /// The request, or the first invalid input as [`Error::Handshake`] (a clone: the
    /// options can connect again).
    pub fn checked_request(&self) -> Result<ClientRequest, Error> {
        self.request.clone().map_err(Error::Handshake)
    }

    /// Adds a request header, written after the handshake's own in the order added. A name
    /// the handshake writes itself (`Host`, `Sec-WebSocket-*`, ...) or a value with control
    /// bytes is remembered as the request's error.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request = self.request.and_then(|r| checked(r.header(name, value)));
        self
    }

    /// Offers a subprotocol (`Sec-WebSocket-Protocol`), in order of preference.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.request = self.request.and_then(|r| checked(r.subprotocol(protocol)));
        self
    }

    /// The connection's configuration.
    pub fn config(mut self, config: impl Into<Config>) -> Self {
        self.config = config.into();
        self
    }

    /// The configuration set so far.
    pub fn current_config(&self) -> Config {
        self.config
    }

    /// The bound on each step before the WebSocket handshake (TCP connect, proxy handshake,
    /// TLS handshake); `None`: no bound.
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The connect timeout set so far.
    pub fn current_connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The WebSocket handshake's deadline ([`Config::handshake_timeout`]).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config = self.config.handshake_timeout(timeout);
        self
    }

    /// Connects through the proxy at `url` (`http://`, `socks5://`, `socks5h://`; see
    /// [`Proxy::parse`]); a bad URL is remembered and reported by
    /// [`checked_proxy`](ClientOptions::checked_proxy) as [`Error::Proxy`].
    pub fn proxy(mut self, url: &str) -> Self {
        self.proxy = ProxySetting::parse(url);
        self
    }

    /// Connects through this proxy; `None`: directly.
    pub fn proxy_config(mut self, proxy: Option<Proxy>) -> Self {
        self.proxy = proxy.into();
        self
    }

    /// Connects through the proxy the environment names for this request's URL, read now
    /// from the process's environment: `http_proxy` / `HTTP_PROXY` for `ws://`,
    /// `https_proxy` / `HTTPS_PROXY` for `wss://`, then `all_proxy` / `ALL_PROXY`, the
    /// lower-case name first (as curl), none when `no_proxy` / `NO_PROXY` covers the host
    /// (see [`Proxy::from_env_for_host`]); directly when none is set. A bad value is
    /// reported by [`checked_proxy`](ClientOptions::checked_proxy). Opt-in: nothing reads
    /// the environment unless this is called. Cost: a few environment lookups.
    pub fn proxy_from_env(self) -> Self {
        self.proxy_from_env_with(wsmachine_proxy::process_env)
    }

    /// [`proxy_from_env`](ClientOptions::proxy_from_env) with the variables looked up by
    /// `env` instead of in the process's environment (tests, a configuration file). With
    /// an invalid request, nothing changes (the request's error is reported first).
    pub fn proxy_from_env_with(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        if let Ok(r) = &self.request {
            self.proxy = ProxySetting::from_env_for_host(r.is_tls(), r.host(), r.port(), env);
        }
        self
    }

    /// The proxy to connect through (`None`: directly), or the bad proxy URL's error.
    pub fn checked_proxy(&self) -> Result<Option<&Proxy>, Error> {
        self.proxy.checked().map_err(Error::Proxy)
    }
}

/// What a client `connect` does, checked before any I/O ([`ClientOptions::plan`]): the
/// request, the proxy, the connect timeout and the config. The adapter opens TCP with
/// [`open`](ConnectPlan::open) (direct or through the proxy, bounded by the connect
/// timeout), adds TLS for `wss://`, and runs the handshake.
#[derive(Debug, Clone)]
pub struct ConnectPlan {
    /// The request (its URL gives host, port and `wss://`).
    pub request: ClientRequest,
    /// The proxy to go through, if any.
    pub proxy: Option<Proxy>,
    /// The bound on each step before the WebSocket handshake.
    pub connect_timeout: Option<Duration>,
    /// The connection's configuration.
    pub config: Config,
}

impl ClientOptions {
    /// Checks the options before any I/O: the request's first invalid input
    /// ([`Error::Handshake`]), `wss://` without a TLS layer (`has_tls` false:
    /// [`Error::TlsRequired`]), a bad proxy ([`Error::Proxy`]). Cost: clones the request.
    pub fn plan(&self, has_tls: bool) -> Result<ConnectPlan, Error> {
        let request = self.checked_request()?;
        if request.is_tls() && !has_tls {
            return Err(Error::TlsRequired);
        }
        Ok(ConnectPlan {
            proxy: self.checked_proxy()?.cloned(),
            request,
            connect_timeout: self.connect_timeout,
            config: self.config,
        })
    }
}

impl ConnectPlan {
    /// The host to connect to: the URL's, an IPv6 address without its brackets.
    pub fn host(&self) -> &str {
        unbracketed(self.request.host())
    }

    /// The port to connect to (the URL's, or 80 / 443).
    pub fn port(&self) -> u16 {
        self.request.port()
    }

    /// Opens the stream under the WebSocket (or TLS) handshake: `connect(host, port)` to
    /// the URL's host, or to the proxy's and then the proxy handshake
    /// ([`proxy_tunnel`]) for a tunnel to the URL's host; for `socks5://`, the target is
    /// first resolved with `resolve(host, port)` (its address goes to the proxy). The TCP
    /// connect, or all of the proxy's steps, are bounded by the connect timeout on the
    /// runtime's timer ([`within`]). Returns the stream and the bytes that already came
    /// from the target through the tunnel (normally none). Cost: the I/O; a 1 KiB read
    /// buffer while the proxy handshake runs.
    pub async fn open<T, C, CF, R, RF>(
        &self,
        runtime: &dyn Runtime,
        connect: C,
        resolve: R,
    ) -> Result<(T, Vec<u8>), Error>
    where
        T: Transport,
        C: FnOnce(String, u16) -> CF,
        CF: Future<Output = io::Result<T>>,
        R: FnOnce(String, u16) -> RF,
        RF: Future<Output = io::Result<IpAddr>>,
    {
        let (host, port) = (self.host().to_string(), self.port());
        let Some(proxy) = &self.proxy else {
            let io = within(runtime, self.connect_timeout, async {
                Ok(connect(host, port).await?)
            })
            .await?;
            return Ok((io, Vec::new()));
        };
        within(runtime, self.connect_timeout, async {
            let target = if proxy.resolves_locally() {
                Target::Ip(resolve(host, port).await?, port)
            } else {
                Target::domain(&host, port)
            };
            let handshake = proxy.handshake(&target)?;
            let mut io = connect(proxy.host.clone(), proxy.port).await?;
            let early = proxy_tunnel(&mut io, handshake).await?;
            Ok((io, early))
        })
        .await
    }

    /// For `wss://`: fails when the server spoke through the tunnel before the TLS
    /// handshake (`early` not empty: no TLS server does).
    pub fn check_no_early_bytes(early: &[u8]) -> Result<(), Error> {
        if early.is_empty() {
            return Ok(());
        }
        Err(Error::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "the server spoke before the TLS handshake",
        )))
    }
}

/// The request, or the first invalid input its builder methods remembered.
fn checked(request: ClientRequest) -> Result<ClientRequest, HandshakeError> {
    request.check().map(|()| request)
}

/// Runs `step`, bounded by `timeout` on the runtime's timer: past it, `step` is dropped
/// and the result is an `io::ErrorKind::TimedOut` [`Error::Io`]. Costs one alarm while it
/// runs (none with `None`).
pub async fn within<T>(
    runtime: &dyn Runtime,
    timeout: Option<Duration>,
    step: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let Some(timeout) = timeout else {
        return step.await;
    };
    let deadline = runtime.now() + timeout;
    let mut alarm = runtime.alarm();
    let mut step = pin!(step);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = step.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        if alarm.poll_until(cx, deadline).is_ready() {
            return Poll::Ready(Err(Error::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "connect timed out",
            ))));
        }
        Poll::Pending
    })
    .await
}

/// Runs a proxy's handshake (the sans-IO [`ProxyHandshake`] of `wsmachine-proxy`) over
/// `io`, a stream connected to the proxy, until the tunnel is open; returns the bytes that
/// already came from the target behind it (normally none: a WebSocket or TLS server waits
/// for the client). Reads at most 1 KiB at a time; the proxy's reply is bounded by
/// `wsmachine-proxy`. A refusal is [`Error::Proxy`], a closed connection
/// `UnexpectedEof`.
pub async fn proxy_tunnel<T: Transport + ?Sized>(
    io: &mut T,
    mut handshake: ProxyHandshake,
) -> Result<Vec<u8>, Error> {
    const READ: usize = 1024;
    let mut buf = BytesMut::new();
    loop {
        while !handshake.transmit().is_empty() {
            let n = std::future::poll_fn(|cx| {
                io.poll_write_vectored(cx, &[IoSlice::new(handshake.transmit())])
            })
            .await?;
            if n == 0 {
                return Err(Error::Io(io::ErrorKind::WriteZero.into()));
            }
            handshake.advance_transmit(n);
        }
        std::future::poll_fn(|cx| io.poll_flush(cx)).await?;
        buf.clear();
        buf.reserve(READ);
        let n = std::future::poll_fn(|cx| io.poll_read_into(cx, &mut buf, READ)).await?;
        if n == 0 {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the proxy closed the connection during its handshake",
            )));
        }
        if let Some(start) = handshake.handle_input(&buf)? {
            return Ok(buf.get(start..).unwrap_or_default().to_vec());
        }
    }
}
