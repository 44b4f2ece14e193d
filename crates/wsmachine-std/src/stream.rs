//! What the adapter needs from a stream beyond `Read + Write`: read and write timeouts (to run
//! the core's timers while blocked), a shutdown, and the peer's address for logs.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// `Read` and `Write` for a wrapper whose `inner` field is the stream doing the I/O.
macro_rules! forward_io {
    ($wrapper:ident) => {
        impl<S: Read> Read for $wrapper<S> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.inner.read(buf)
            }
        }

        impl<S: Write> Write for $wrapper<S> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.inner.write(buf)
            }
            fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                self.inner.write_vectored(bufs)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.inner.flush()
            }
        }
    };
}

/// Timeouts and shutdown for a blocking stream.
///
/// While [`WebSocket::recv`](crate::WebSocket::recv) is blocked in a read, the adapter sets the
/// read timeout to the time left until the core's next deadline, so keepalive pings and
/// close timeouts fire on time; writes time out the same way (and after
/// [`Options::write_timeout`](crate::Options::write_timeout) without progress). A stream that
/// cannot time out its reads returns `Ok(false)`: the core's timers then advance only when a
/// read returns (bytes, EOF or an error), and after a failure the peer is not drained (the
/// stream is given up once our Close is written).
///
/// Implemented for `TcpStream`, `UnixStream`, [`Unmanaged`] (no timeouts) and [`WithSocket`]
/// (a TLS stream plus a clone of its TCP socket).
pub trait SetReadTimeout {
    /// Sets the read timeout (`None` blocks forever). Returns whether the stream supports it.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool>;

    /// Sets the write timeout (`None` blocks forever). Returns whether the stream supports it.
    /// The default does nothing and returns `Ok(false)`.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        let _ = timeout;
        Ok(false)
    }

    /// Shuts the write side down (TCP FIN) once the WebSocket is closed and flushed, while
    /// the peer may still be read (the core drains it after a failure). Called once. The
    /// default does nothing (the stream is closed when dropped).
    fn shutdown_write(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The peer's address, for logs.
pub trait PeerAddr {
    /// The address type.
    type Addr: std::fmt::Debug + Clone;
    /// The peer's address.
    fn peer_addr(&self) -> io::Result<Self::Addr>;
}

impl SetReadTimeout for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        TcpStream::set_read_timeout(self, timeout).map(|()| true)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        TcpStream::set_write_timeout(self, timeout).map(|()| true)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl PeerAddr for TcpStream {
    type Addr = SocketAddr;
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        TcpStream::peer_addr(self)
    }
}

#[cfg(unix)]
impl SetReadTimeout for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout).map(|()| true)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout).map(|()| true)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

#[cfg(unix)]
impl PeerAddr for std::os::unix::net::UnixStream {
    type Addr = std::os::unix::net::SocketAddr;
    fn peer_addr(&self) -> io::Result<Self::Addr> {
        std::os::unix::net::UnixStream::peer_addr(self)
    }
}

/// Wraps any `Read + Write` stream that has no timeouts (a pipe, an in-memory stream, a TLS
/// stream you do not want to forward). Timers then advance only when a read returns. An
/// optional address is reported by [`PeerAddr`].
#[derive(Debug)]
pub struct Unmanaged<S> {
    /// The stream.
    pub inner: S,
    /// What [`PeerAddr::peer_addr`] reports.
    pub peer: Option<SocketAddr>,
}

impl<S> Unmanaged<S> {
    /// Wraps `inner` with no peer address.
    pub fn new(inner: S) -> Self {
        Unmanaged { inner, peer: None }
    }

    /// Wraps `inner`, reporting `peer` as its address.
    pub fn with_peer(inner: S, peer: SocketAddr) -> Self {
        Unmanaged {
            inner,
            peer: Some(peer),
        }
    }
}

forward_io!(Unmanaged);

impl<S> SetReadTimeout for Unmanaged<S> {
    fn set_read_timeout(&mut self, _timeout: Option<Duration>) -> io::Result<bool> {
        Ok(false)
    }
}

impl<S> PeerAddr for Unmanaged<S> {
    type Addr = Option<SocketAddr>;
    fn peer_addr(&self) -> io::Result<Option<SocketAddr>> {
        Ok(self.peer)
    }
}

/// Wraps a stream layered over a `TcpStream` (a TLS stream, typically) together with a
/// clone of that socket (`TcpStream::try_clone`): reads and writes go to the wrapped stream,
/// while timeouts and the peer address go to the socket, so the core's timers work over TLS
/// too. (Socket options are per socket, so setting them through the clone affects the
/// stream underneath.) Once the WebSocket is closed and its last bytes are flushed through
/// the wrapped stream, the socket's write side is shut down (TCP FIN), as for a plain
/// `TcpStream`; no TLS `close_notify` is sent (rustls reports such an end as
/// `UnexpectedEof`, which the core takes as EOF).
#[derive(Debug)]
pub struct WithSocket<S> {
    /// The layered stream.
    pub inner: S,
    /// A handle to the TCP socket underneath.
    pub socket: TcpStream,
}

impl<S> WithSocket<S> {
    /// Wraps `inner`, which runs over `socket` (pass `tcp.try_clone()?`).
    pub fn new(inner: S, socket: TcpStream) -> Self {
        WithSocket { inner, socket }
    }
}

forward_io!(WithSocket);

impl<S> SetReadTimeout for WithSocket<S> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        self.socket.set_read_timeout(timeout).map(|()| true)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        self.socket.set_write_timeout(timeout).map(|()| true)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.socket.shutdown(Shutdown::Write)
    }
}

impl<S> PeerAddr for WithSocket<S> {
    type Addr = SocketAddr;
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.peer_addr()
    }
}
