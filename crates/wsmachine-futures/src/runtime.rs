//! The runtime pieces a `futures-io` stream does not bring: a timer (the [`Timer`] trait,
//! or async-io's by default) and, optionally, a spawner; and the stream as the engine's
//! transport.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use futures_io::{AsyncRead, AsyncWrite};
use wsmachine_async::{Alarm, BackgroundTask, LazyAlarm, Transport};

/// A timer from the caller's runtime: a future that completes at `deadline` (on the
/// `std::time::Instant` clock). Implement it to run the keepalive, close and idle timers on
/// a runtime of your own; with the default `async-io` feature, [`Runtime::async_io`] uses
/// `async_io::Timer` and needs none.
///
/// Cost: one call per deadline the connection waits for. A deadline that moves later
/// (keepalive after each read) keeps the sleep already made; it is replaced only when it
/// fires early or the deadline moves earlier.
///
/// ```
/// use std::{future::Future, pin::Pin, time::Instant};
/// struct MyTimer;
/// impl wsmachine_futures::Timer for MyTimer {
///     fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Future<Output = ()> + Send>> {
///         // e.g. Box::pin(my_runtime::sleep_until(deadline))
///         Box::pin(async move { let _ = deadline; })
///     }
/// }
/// let rt = wsmachine_futures::Runtime::with_timer(MyTimer);
/// # let _ = rt;
/// ```
pub trait Timer: Send + Sync + 'static {
    /// A future that completes once `deadline` has passed.
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

enum Clock {
    /// `async_io::Timer`, re-armed in place with `set_at`.
    #[cfg(feature = "async-io")]
    AsyncIo,
    /// The caller's timer.
    Custom(Arc<dyn Timer>),
}

type Spawner = Arc<dyn Fn(BackgroundTask) + Send + Sync>;

struct Parts {
    clock: Clock,
    spawner: Option<Spawner>,
}

/// What the connections opened through it run on besides their stream: a timer and,
/// optionally, a spawner. Cheap to clone (one `Arc`). Open connections with its methods
/// (the same as the crate's free functions, which use [`Runtime::default`]).
///
/// The spawner runs the small task that takes over when a [`Receiver`](crate::Receiver) is
/// dropped while the connection still runs (answering pings, finishing the close
/// handshake). Without one, such a connection makes progress only while a
/// [`Sender`](crate::Sender) is polled; when every handle is dropped its Close is written
/// as far as the stream takes it at once, and the stream is dropped.
///
/// ```no_run
/// # async fn demo(stream: smol::net::TcpStream) -> Result<(), wsmachine_futures::Error> {
/// let rt = wsmachine_futures::Runtime::async_io().spawner(|task| smol::spawn(task).detach());
/// let ws = rt.accept(stream).await?;
/// # let _ = ws; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Runtime(Arc<Parts>);

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let timer = match self.0.clock {
            #[cfg(feature = "async-io")]
            Clock::AsyncIo => "async-io",
            Clock::Custom(_) => "custom",
        };
        f.debug_struct("Runtime")
            .field("timer", &timer)
            .field("spawner", &self.0.spawner.is_some())
            .finish()
    }
}

#[cfg(feature = "async-io")]
impl Default for Runtime {
    /// [`Runtime::async_io`], with no spawner (shared by every call).
    fn default() -> Self {
        static DEFAULT: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();
        DEFAULT.get_or_init(Runtime::async_io).clone()
    }
}

impl Runtime {
    /// async-io's `Timer` (deadlines exact to the reactor's resolution; it works under any
    /// executor: smol's drives it, elsewhere async-io's own thread does), no spawner.
    #[cfg(feature = "async-io")]
    pub fn async_io() -> Runtime {
        Runtime(Arc::new(Parts {
            clock: Clock::AsyncIo,
            spawner: None,
        }))
    }

    /// The caller's [`Timer`], no spawner.
    pub fn with_timer(timer: impl Timer) -> Runtime {
        Runtime(Arc::new(Parts {
            clock: Clock::Custom(Arc::new(timer)),
            spawner: None,
        }))
    }

    /// Runs background tasks with `spawn` (e.g. `|t| smol::spawn(t).detach()`).
    pub fn spawner(self, spawn: impl Fn(BackgroundTask) + Send + Sync + 'static) -> Runtime {
        let clock = match &self.0.clock {
            #[cfg(feature = "async-io")]
            Clock::AsyncIo => Clock::AsyncIo,
            Clock::Custom(t) => Clock::Custom(t.clone()),
        };
        Runtime(Arc::new(Parts {
            clock,
            spawner: Some(Arc::new(spawn)),
        }))
    }

    /// The engine's view of it.
    pub(crate) fn engine(&self) -> Arc<dyn wsmachine_async::Runtime> {
        self.0.clone()
    }
}

impl wsmachine_async::Runtime for Parts {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn alarm(&self) -> Box<dyn Alarm> {
        match &self.clock {
            #[cfg(feature = "async-io")]
            Clock::AsyncIo => Box::new(LazyAlarm::new(async_io::Timer::at, |t, at| t.set_at(at))),
            Clock::Custom(timer) => {
                let (make, reset) = (timer.clone(), timer.clone());
                Box::new(LazyAlarm::new(
                    move |at| make.sleep_until(at),
                    move |s, at| *s = reset.sleep_until(at),
                ))
            }
        }
    }

    fn spawn(&self, task: BackgroundTask) -> bool {
        match &self.spawner {
            Some(spawn) => {
                spawn(task);
                true
            }
            None => false,
        }
    }
}

/// A `futures-io` stream as the engine's transport.
pub struct FuturesStream<S> {
    stream: S,
    peer: Option<SocketAddr>,
    /// Bytes offered to the next read. `futures-io` reads need initialised memory, so the
    /// window is zeroed before each read: it adapts to what reads return (doubling when a
    /// read fills it, halving when one uses under a quarter) so that zeroing costs about
    /// what the data does, not a full read size per small message.
    window: usize,
}

/// The smallest and first read window.
const MIN_WINDOW: usize = 4 << 10;

impl<S> FuturesStream<S> {
    /// `stream` with a peer address the caller knows (nothing else is done to it).
    #[cfg(feature = "async-io")]
    pub(crate) fn new(stream: S, peer: Option<SocketAddr>) -> Self {
        FuturesStream {
            stream,
            peer,
            window: MIN_WINDOW,
        }
    }

    /// The stream back.
    #[cfg(feature = "async-io")]
    pub(crate) fn into_inner(self) -> S {
        self.stream
    }
}

/// Boxes `stream` for the engine with a peer address the caller found (the TCP socket
/// under a TLS stream of any connector).
#[cfg(feature = "async-io")]
pub(crate) fn transport_with_peer<S>(stream: S, peer: Option<SocketAddr>) -> Box<dyn Transport>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Box::new(FuturesStream {
        stream,
        peer,
        window: MIN_WINDOW,
    })
}

/// Boxes `stream` for the engine. When it is an async-net or async-io TCP stream (smol's
/// `TcpStream` is async-net's), turns Nagle's algorithm off (every write carries everything
/// queued, in one vectored write) and keeps the peer address for logging.
pub(crate) fn transport<S>(stream: S) -> Box<dyn Transport>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = tcp_peer(&stream);
    Box::new(FuturesStream {
        stream,
        peer,
        window: MIN_WINDOW,
    })
}

#[cfg(feature = "async-io")]
fn tcp_peer<S: 'static>(stream: &S) -> Option<SocketAddr> {
    use std::any::Any;
    let any = stream as &dyn Any;
    if let Some(tcp) = any.downcast_ref::<async_net::TcpStream>() {
        let _ = tcp.set_nodelay(true);
        return tcp.peer_addr().ok();
    }
    let tcp = any.downcast_ref::<async_io::Async<std::net::TcpStream>>()?;
    let _ = tcp.get_ref().set_nodelay(true);
    tcp.get_ref().peer_addr().ok()
}

#[cfg(not(feature = "async-io"))]
fn tcp_peer<S: 'static>(_: &S) -> Option<SocketAddr> {
    None
}

impl<S> Transport for FuturesStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// `futures-io` reads into initialized memory: zeroes `hint` bytes (the configured read
    /// size) of the spare capacity, reads into them, and keeps what was read. No copy; a
    /// `memset` of the read window per read.
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        hint: usize,
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let spare = buf.capacity() - len;
        let window = spare.min(hint).min(self.window).max(1);
        buf.resize(len + window, 0);
        let r = Pin::new(&mut self.stream).poll_read(cx, &mut buf[len..]);
        let n = match r {
            Poll::Ready(Ok(n)) => n.min(window),
            _ => 0,
        };
        buf.truncate(len + n);
        // Adapt only when the window, not the room or the caller's cap, set the size.
        if window == self.window {
            if n == window {
                self.window = self.window.saturating_mul(2);
            } else if n > 0 && n < window / 4 {
                self.window = (self.window / 2).max(MIN_WINDOW);
            }
        }
        r
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

    /// `AsyncWrite::poll_close`, which for async-net's (smol's) `TcpStream` shuts the
    /// write side down (FIN); async-io's `Async<TcpStream>` only flushes there, so it gets
    /// a `shutdown(Write)` after it. A stream of your own should shut its write side in
    /// `poll_close` too (the driver contract's FIN after the Close).
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.stream).poll_close(cx);
        #[cfg(feature = "async-io")]
        if let Poll::Ready(Ok(())) = r {
            let any = &self.stream as &dyn std::any::Any;
            if let Some(tcp) = any.downcast_ref::<async_io::Async<std::net::TcpStream>>() {
                return Poll::Ready(tcp.get_ref().shutdown(std::net::Shutdown::Write));
            }
        }
        r
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}
