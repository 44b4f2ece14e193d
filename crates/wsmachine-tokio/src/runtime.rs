//! tokio under the shared engine: the stream as a [`Transport`] (reads straight into the
//! core's receive buffer with `read_buf`, no zeroing) and tokio's clock, timer and spawner
//! as a [`Runtime`].

use std::any::Any;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use wsmachine_async::{Alarm, BackgroundTask, LazyAlarm, Runtime, Transport};

/// A tokio stream as the engine's [`Transport`].
pub struct TokioStream<S> {
    stream: S,
    peer: Option<SocketAddr>,
}

impl<S> TokioStream<S> {
    /// `stream` with a peer address the caller knows (nothing else is done to it).
    pub(crate) fn new(stream: S, peer: Option<SocketAddr>) -> Self {
        TokioStream { stream, peer }
    }

    /// The stream back.
    pub(crate) fn into_inner(self) -> S {
        self.stream
    }
}

/// The TCP socket under `stream`, when it is a `TcpStream` (or, with the `rustls`
/// feature, a tokio-rustls stream over one).
fn tcp_of<S: Any>(stream: &S) -> Option<&TcpStream> {
    let any = stream as &dyn Any;
    if let Some(tcp) = any.downcast_ref::<TcpStream>() {
        return Some(tcp);
    }
    #[cfg(feature = "rustls")]
    {
        if let Some(tls) = any.downcast_ref::<tokio_rustls::server::TlsStream<TcpStream>>() {
            return Some(tls.get_ref().0);
        }
        if let Some(tls) = any.downcast_ref::<tokio_rustls::client::TlsStream<TcpStream>>() {
            return Some(tls.get_ref().0);
        }
    }
    None
}

/// Boxes `stream` for the engine. When it is over a `TcpStream` (see [`tcp_of`]), turns
/// Nagle's algorithm off (every write already carries everything queued, in one vectored
/// write) and keeps the peer address for logging.
pub(crate) fn transport<S>(stream: S) -> Box<dyn Transport>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = tcp_of(&stream).and_then(|tcp| {
        let _ = tcp.set_nodelay(true);
        tcp.peer_addr().ok()
    });
    transport_with_peer(stream, peer)
}

/// Boxes `stream` for the engine with a peer address the caller found (the TCP socket
/// under a TLS stream of any connector).
pub(crate) fn transport_with_peer<S>(stream: S, peer: Option<SocketAddr>) -> Box<dyn Transport>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Box::new(TokioStream::new(stream, peer))
}

impl<S> Transport for TokioStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        hint: usize,
    ) -> Poll<io::Result<usize>> {
        // `read_buf` appends into the spare capacity without zeroing it, here at most
        // `hint` bytes.
        let mut limited = BufMut::limit(buf, hint.max(1));
        pin!(self.stream.read_buf(&mut limited)).poll(cx)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}

/// tokio's clock (paused in tests that pause it), `tokio::time::Sleep` re-armed in place,
/// and `tokio::spawn` on the current runtime.
struct Tokio;

impl Runtime for Tokio {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn alarm(&self) -> Box<dyn Alarm> {
        Box::new(LazyAlarm::new(
            |at: Instant| -> Pin<Box<Sleep>> { Box::pin(tokio::time::sleep_until(at.into())) },
            |sleep: &mut Pin<Box<Sleep>>, at: Instant| sleep.as_mut().reset(at.into()),
        ))
    }

    fn spawn(&self, task: BackgroundTask) -> bool {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(task);
                true
            }
            Err(_) => false,
        }
    }
}

/// The one tokio runtime handle the engine shares across connections.
pub(crate) fn runtime() -> Arc<dyn Runtime> {
    static TOKIO: OnceLock<Arc<dyn Runtime>> = OnceLock::new();
    TOKIO.get_or_init(|| Arc::new(Tokio)).clone()
}
