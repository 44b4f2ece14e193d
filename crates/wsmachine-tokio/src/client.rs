//! The client: [`ClientBuilder`] (URL, headers, subprotocols, config, timeouts, a proxy,
//! TLS) and the transport it opens: TCP, optionally through a proxy (HTTP CONNECT or
//! SOCKS5: the sans-IO handshakes of `wsmachine-proxy`, run over the stream by
//! wsmachine-async's `proxy_tunnel`), optionally TLS (tokio-rustls with the `rustls`
//! feature, or any connector of yours). The builder is wsmachine-async's generic
//! `ClientBuilder` (its methods and connect steps shared with the futures adapter); this
//! module brings tokio's part, [`TokioRuntime`]: the TCP connect, the name lookup and TLS.

use std::io;
use std::net::{IpAddr, SocketAddr};
#[cfg(feature = "rustls")]
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
#[cfg(feature = "rustls")]
use wsmachine_async::Error;
use wsmachine_async::{ClientRuntime, ClientStream, Transport};

use crate::runtime::{TokioStream, runtime, transport, transport_with_peer};

/// Builds a client connection, as the std adapter's `ClientBuilder` does: the URL, extra
/// headers (`Authorization`, `Origin`, `Cookie`, ...), offered subprotocols, the
/// [`Config`](crate::Config), a connect timeout, a proxy, and how `wss://` gets its TLS
/// (tokio-rustls with the `rustls` feature, `tls_config` for your rustls configuration,
/// or `tls_connector` for any TLS library). The methods are wsmachine-async's, shared with
/// the futures adapter; TCP, name lookups and TLS are tokio's ([`TokioRuntime`]). Cheap to
/// clone (build once, `connect` many times).
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
///
/// Any TLS connector (native-tls, OpenSSL, tokio-rustls set up your way; needs no cargo
/// feature) gets the URL's host and the `tokio::net::TcpStream`:
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
pub type ClientBuilder = wsmachine_async::ClientBuilder<TokioRuntime>;

/// tokio's half of [`ClientBuilder`]: TCP connects and name lookups with `tokio::net`,
/// TLS with tokio-rustls (feature `rustls`: `default_tls_config` or the configuration
/// given to `tls_config`), the connection's timers on tokio's clock. A zero-sized marker:
/// there is nothing to choose, nothing to pay.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioRuntime;

impl ClientRuntime for TokioRuntime {
    type Tcp = TcpStream;
    type TcpTransport = TokioStream<TcpStream>;
    #[cfg(feature = "rustls")]
    type TlsConfig = Arc<tokio_rustls::rustls::ClientConfig>;
    #[cfg(not(feature = "rustls"))]
    type TlsConfig = std::convert::Infallible;
    const DEFAULT_TLS: bool = cfg!(feature = "rustls");

    fn engine(&self) -> std::sync::Arc<dyn wsmachine_async::Runtime> {
        runtime()
    }

    async fn connect_tcp(host: String, port: u16) -> io::Result<TokioStream<TcpStream>> {
        let tcp = TcpStream::connect((host.as_str(), port)).await?;
        Ok(TokioStream::new(tcp, None))
    }

    async fn resolve(host: String, port: u16) -> io::Result<IpAddr> {
        let mut addrs = tokio::net::lookup_host((host.as_str(), port)).await?;
        let addr = addrs
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address"))?;
        Ok(addr.ip())
    }

    fn into_tcp(io: TokioStream<TcpStream>) -> TcpStream {
        io.into_inner()
    }

    fn prepare_tcp(tcp: &TcpStream) -> Option<SocketAddr> {
        let _ = tcp.set_nodelay(true);
        tcp.peer_addr().ok()
    }

    fn tcp_transport(tcp: TcpStream, peer: Option<SocketAddr>) -> Box<dyn Transport> {
        transport_with_peer(tcp, peer)
    }

    #[cfg(feature = "rustls")]
    async fn tls(
        config: Option<&Self::TlsConfig>,
        host: &str,
        tcp: TcpStream,
        peer: Option<SocketAddr>,
    ) -> Result<Box<dyn Transport>, Error> {
        let config = match config {
            Some(config) => config.clone(),
            None => crate::default_tls_config()?,
        };
        let tls = rustls_connect(config, host, tcp).await?;
        Ok(transport_with_peer(tls, peer))
    }
}

impl<S> ClientStream<S> for TokioRuntime
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn transport_with_peer(stream: S, peer: Option<SocketAddr>) -> Box<dyn Transport> {
        transport_with_peer(stream, peer)
    }

    fn transport(stream: S) -> Box<dyn Transport> {
        transport(stream)
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
    use crate::{Error, ProxyError};
    use wsmachine::HandshakeError;

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
