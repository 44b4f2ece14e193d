//! The client's transport: TCP, optionally through a proxy (HTTP CONNECT or SOCKS5, the
//! sans-IO handshakes of `wsmachine-proxy`), optionally TLS (rustls, feature `rustls`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
#[cfg(feature = "rustls")]
use std::sync::Arc;
use std::time::Duration;

use wsmachine_proxy::{Proxy, Target};

use crate::error::Error;
use crate::stream::{PeerAddr, SetReadTimeout};

/// The stream [`connect`](crate::connect) opens: plain TCP for `ws://`, TLS over TCP for
/// `wss://` (feature `rustls`), either of them possibly through a proxy. Timeouts, the
/// write-side shutdown and the peer address act on the TCP socket (for a proxied
/// connection, the peer is the proxy).
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// Plain TCP (`ws://`).
    Plain(TcpStream),
    /// rustls over TCP (`wss://`).
    #[cfg(feature = "rustls")]
    Rustls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => &s.sock,
        }
    }

    /// True for a TLS stream.
    pub fn is_tls(&self) -> bool {
        !matches!(self, MaybeTlsStream::Plain(_))
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.read(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.read(buf),
        }
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write_vectored(bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.write_vectored(bufs),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.flush(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.flush(),
        }
    }
}

impl SetReadTimeout for MaybeTlsStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        self.tcp().set_read_timeout(timeout).map(|()| true)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        self.tcp().set_write_timeout(timeout).map(|()| true)
    }
    /// TLS: sends `close_notify` (through the write timeout) before the TCP FIN.
    fn shutdown_write(&mut self) -> io::Result<()> {
        #[cfg(feature = "rustls")]
        if let MaybeTlsStream::Rustls(s) = self {
            s.conn.send_close_notify();
            let rustls::StreamOwned { conn, sock } = &mut **s;
            while conn.wants_write() {
                conn.write_tls(sock)?;
            }
        }
        self.tcp().shutdown(Shutdown::Write)
    }
}

impl PeerAddr for MaybeTlsStream {
    type Addr = SocketAddr;
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().peer_addr()
    }
}

/// Connects to `host:port` (every address it resolves to, in order), each attempt bounded
/// by `timeout`.
pub(crate) fn tcp_connect(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in (wsmachine_proxy::unbracketed(host), port).to_socket_addrs()? {
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
        io::Error::new(io::ErrorKind::NotFound, "host has no address")
    })))
}

/// Opens a tunnel to `host:port` through `proxy`: connects to the proxy and runs its
/// handshake, each read and write bounded by `timeout`. Returns the socket and the bytes
/// that already came from the target (normally none: a WebSocket or TLS server waits for
/// the client). For `socks5://` the target's name is resolved here (its first address).
pub(crate) fn tunnel(
    proxy: &Proxy,
    host: &str,
    port: u16,
    timeout: Option<Duration>,
) -> Result<(TcpStream, Vec<u8>), Error> {
    let target = if proxy.resolves_locally() {
        Target::Ip(wsmachine_proxy::resolve(host, port)?.ip(), port)
    } else {
        Target::domain(host, port)
    };
    let mut handshake = proxy.handshake(&target)?;
    let mut tcp = tcp_connect(&proxy.host, proxy.port, timeout)?;
    tcp.set_read_timeout(timeout)?;
    tcp.set_write_timeout(timeout)?;
    let mut buf = [0u8; 1024];
    let leftover = loop {
        while !handshake.transmit().is_empty() {
            match tcp.write(handshake.transmit())? {
                0 => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                n => handshake.advance_transmit(n),
            }
        }
        let n = tcp.read(&mut buf)?;
        if n == 0 {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the proxy closed the connection during its handshake",
            )));
        }
        let input = buf.get(..n).unwrap_or_default();
        if let Some(start) = handshake.handle_input(input)? {
            break input.get(start..).unwrap_or_default().to_vec();
        }
    };
    tcp.set_read_timeout(None)?;
    tcp.set_write_timeout(None)?;
    Ok((tcp, leftover))
}

/// The TLS client configuration used when none is given: the platform's roots
/// (rustls-native-certs: the system store, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set),
/// plus webpki-roots with that feature; the process's default crypto provider, else ring.
/// Built once per process, on first use (reading the store costs milliseconds); the same
/// as the tokio adapter's (both are `wsmachine_rustls::default_client_config`).
#[cfg(feature = "rustls")]
pub fn default_tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    wsmachine_rustls::default_client_config().map_err(Error::Io)
}

/// Runs the TLS handshake over `tcp` for `host` (SNI and certificate name; an IP address
/// is checked as such and sends no SNI), each read and write bounded by `timeout`.
#[cfg(feature = "rustls")]
pub(crate) fn tls_connect(
    mut tcp: TcpStream,
    host: &str,
    config: Arc<rustls::ClientConfig>,
    timeout: Option<Duration>,
) -> Result<MaybeTlsStream, Error> {
    let name = wsmachine_rustls::server_name(host)?;
    let mut conn =
        rustls::ClientConnection::new(config, name).map_err(|e| Error::Io(io::Error::other(e)))?;
    tcp.set_read_timeout(timeout)?;
    tcp.set_write_timeout(timeout)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)?;
    }
    tcp.set_read_timeout(None)?;
    tcp.set_write_timeout(None)?;
    Ok(MaybeTlsStream::Rustls(Box::new(rustls::StreamOwned::new(
        conn, tcp,
    ))))
}
