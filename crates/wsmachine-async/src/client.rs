//! The runtime-neutral half of a client connect, for the adapter crates: what a request is
//! built from ([`IntoClientRequest`]), the options every adapter's client builder keeps
//! ([`ClientOptions`]: request, headers, subprotocols, config, connect timeout, proxy), a
//! step bounded by the runtime's timer ([`within`]) and the proxy handshake over any
//! [`Transport`] ([`proxy_tunnel`]). Opening the TCP connection and TLS stay with the
//! adapter.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use wsmachine::{ClientRequest, HandshakeError};
use wsmachine_proxy::{Proxy, ProxyError, ProxyHandshake};

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
/// builder (the tokio adapter's `ClientBuilder` wraps one and adds TLS): the request with
/// its headers and subprotocols (the first invalid input is remembered and reported before
/// any I/O), the [`Config`], a connect timeout (default 10 s) and a proxy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    request: Result<ClientRequest, HandshakeError>,
    config: Config,
    connect_timeout: Option<Duration>,
    proxy: Option<Result<Proxy, ProxyError>>,
}

impl ClientOptions {
    /// Options for `request` (see [`IntoClientRequest`]), with the default [`Config`], a
    /// 10 s connect timeout and no proxy.
    pub fn new(request: impl IntoClientRequest) -> Self {
        ClientOptions {
            request: request.into_client_request().and_then(checked),
            config: Config::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            proxy: None,
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
        self.proxy = Some(Proxy::parse(url));
        self
    }

    /// Connects through this proxy; `None`: directly.
    pub fn proxy_config(mut self, proxy: Option<Proxy>) -> Self {
        self.proxy = proxy.map(Ok);
        self
    }

    /// The proxy to connect through (`None`: directly), or the bad proxy URL's error.
    pub fn checked_proxy(&self) -> Result<Option<&Proxy>, Error> {
        match &self.proxy {
            None => Ok(None),
            Some(Ok(p)) => Ok(Some(p)),
            Some(Err(e)) => Err(Error::Proxy(e.clone())),
        }
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
