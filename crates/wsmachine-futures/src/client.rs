//! The client: [`ClientBuilder`] (URL, headers, subprotocols, config, timeouts, a proxy,
//! TLS) and the transport it opens: async-net TCP, optionally through a proxy (HTTP
//! CONNECT or SOCKS5: the sans-IO handshakes of `wsmachine-proxy`, run over the stream by
//! wsmachine-async's `proxy_tunnel`), optionally TLS (futures-rustls with the `rustls`
//! feature, or any connector of yours). The builder is wsmachine-async's generic
//! `ClientBuilder` (its methods and connect steps shared with the tokio adapter); this
//! module brings the futures side, on [`Runtime`]: the TCP connect, the name lookup and
//! TLS.

use std::io;
use std::net::{IpAddr, SocketAddr};
#[cfg(feature = "rustls")]
use std::sync::Arc;

use async_net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
#[cfg(feature = "rustls")]
use wsmachine_async::Error;
use wsmachine_async::{ClientRuntime, ClientStream, SelectableRuntime, Transport};

use crate::runtime::{FuturesStream, Runtime, transport, transport_with_peer};

/// Builds a client connection, as the tokio adapter's `ClientBuilder` does (the same
/// type, wsmachine-async's, with this crate's [`Runtime`]): the URL, extra headers
/// (`Authorization`, `Origin`, `Cookie`, ...), offered subprotocols, the
/// [`Config`](crate::Config), a connect timeout, a proxy, how `wss://` gets its TLS
/// (futures-rustls with the `rustls` feature, `tls_config` for your rustls configuration,
/// or `tls_connector` for any TLS library), and the [`Runtime`] the connection runs on
/// (`runtime`; default [`Runtime::default`]). TCP is async-net's, name lookups are
/// async-net's (a blocking lookup on its thread pool). Cheap to clone (build once,
/// `connect` many times).
///
/// ```no_run
/// # fn main() -> Result<(), wsmachine_futures::Error> {
/// use std::time::Duration;
/// smol::block_on(async {
///     let mut ws = wsmachine_futures::ClientBuilder::new("ws://127.0.0.1:9001/feed")
///         .header("Authorization", "Bearer s3cret")
///         .header("Origin", "https://example.com")
///         .subprotocol("v2.feed")
///         .connect_timeout(Some(Duration::from_secs(5)))
///         .proxy("socks5h://127.0.0.1:1080")
///         .connect()
///         .await?;
///     let subprotocol = ws.response().and_then(|r| r.subprotocol.clone());
///     # let _ = (subprotocol, ws.recv().await);
///     Ok(())
/// })
/// # }
/// ```
///
/// Any TLS connector (async-native-tls, futures-rustls set up your way; needs no cargo
/// feature) gets the URL's host and the `async_net::TcpStream`:
///
/// ```
/// # #[cfg(feature = "rustls")] fn demo(config: std::sync::Arc<wsmachine_futures::rustls::ClientConfig>) {
/// use wsmachine_futures::futures_rustls::{TlsConnector, rustls::pki_types::ServerName};
/// let tls = TlsConnector::from(config);
/// let builder = wsmachine_futures::ClientBuilder::new("wss://localhost:9443/")
///     .tls_connector(move |host, tcp| {
///         let tls = tls.clone();
///         async move {
///             let name = ServerName::try_from(host).map_err(std::io::Error::other)?;
///             tls.connect(name, tcp).await
///         }
///     });
/// # let _ = builder; }
/// ```
pub type ClientBuilder = wsmachine_async::ClientBuilder<Runtime>;

/// The futures adapter's half of [`ClientBuilder`]: TCP connects and name lookups with
/// async-net, TLS with futures-rustls (feature `rustls`), the timer and spawner of the
/// [`Runtime`] itself.
impl ClientRuntime for Runtime {
    type Tcp = TcpStream;
    type TcpTransport = FuturesStream<TcpStream>;
    #[cfg(feature = "rustls")]
    type TlsConfig = Arc<futures_rustls::rustls::ClientConfig>;
    #[cfg(not(feature = "rustls"))]
    type TlsConfig = std::convert::Infallible;
    const DEFAULT_TLS: bool = cfg!(feature = "rustls");

    fn engine(&self) -> std::sync::Arc<dyn wsmachine_async::Runtime> {
        Runtime::engine(self)
    }

    async fn connect_tcp(host: String, port: u16) -> io::Result<FuturesStream<TcpStream>> {
        let tcp = TcpStream::connect((host.as_str(), port)).await?;
        Ok(FuturesStream::new(tcp, None))
    }

    async fn resolve(host: String, port: u16) -> io::Result<IpAddr> {
        let addrs = async_net::resolve((host.as_str(), port)).await?;
        let addr = addrs
            .first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address"))?;
        Ok(addr.ip())
    }

    fn into_tcp(io: FuturesStream<TcpStream>) -> TcpStream {
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

impl<S> ClientStream<S> for Runtime
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

/// A [`ClientBuilder`] runs on the [`Runtime`] given to its `runtime` method.
impl SelectableRuntime for Runtime {}

/// The TLS handshake with futures-rustls for `host` (SNI and certificate name; an IP
/// address is checked as such and sends no SNI).
#[cfg(feature = "rustls")]
async fn rustls_connect(
    config: Arc<futures_rustls::rustls::ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> io::Result<futures_rustls::client::TlsStream<TcpStream>> {
    let name = wsmachine_rustls::server_name(host)?;
    futures_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
}

/// The TLS client configuration used when none is given: the platform's roots
/// (rustls-native-certs: the system store, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set),
/// plus webpki-roots with that feature; the process's default crypto provider, else ring.
/// Built once per process, on first use; the same as the std and tokio adapters' (all are
/// `wsmachine_rustls::default_client_config`).
#[cfg(feature = "rustls")]
pub fn default_tls_config() -> Result<Arc<futures_rustls::rustls::ClientConfig>, Error> {
    wsmachine_rustls::default_client_config().map_err(Error::Io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, ProxyError};
    use wsmachine::HandshakeError;

    #[cfg(not(feature = "rustls"))]
    #[test]
    fn wss_needs_the_rustls_feature_or_a_connector() {
        smol::block_on(async {
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
        })
    }

    #[test]
    fn bad_inputs_are_reported_by_connect_before_any_io() {
        smol::block_on(async {
            let r = ClientBuilder::new("ws://127.0.0.1:1/")
                .proxy("https://proxy:1")
                .connect()
                .await;
            assert!(matches!(r, Err(Error::Proxy(ProxyError::InvalidUrl(_)))));
            let r = ClientBuilder::new("ws://127.0.0.1:1/")
                .proxy_from_env_with(|k| (k == "http_proxy").then(|| "socks4://p:1".into()))
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
        })
    }
}
