//! TLS between a [`MioConnection`](crate::MioConnection) and its non-blocking socket
//! (feature `rustls`): a `rustls::ClientConnection` fed with `read_tls` and drained with
//! `write_tls` as readiness allows. Without the feature the type has no values, so the
//! connection's code is the same either way and a plain connection pays nothing.

use std::io::{self, IoSlice};

use mio::net::TcpStream;

/// The TLS layer of a connection.
#[cfg(feature = "rustls")]
pub(crate) struct TlsLayer {
    conn: rustls::ClientConnection,
    /// `close_notify` was queued (once, before the TCP FIN).
    closing: bool,
}

/// No TLS without the `rustls` feature: no value of this type exists.
#[cfg(not(feature = "rustls"))]
pub(crate) enum TlsLayer {}

#[cfg(feature = "rustls")]
impl TlsLayer {
    /// Wraps a client connection (its ClientHello is already queued). Plaintext the
    /// WebSocket queues before the handshake ends waits in rustls, up to its buffer limit
    /// (64 KiB by default), so writes take no more than that at a time.
    pub(crate) fn new(conn: rustls::ClientConnection) -> Self {
        TlsLayer {
            conn,
            closing: false,
        }
    }

    /// Reads plaintext: first what rustls already decrypted, else TLS records from the
    /// socket (processing handshake messages on the way). `Ok(0)` is the end of the
    /// stream (a `close_notify`, or the TCP EOF without one: the WebSocket's own Close
    /// says whether the ending was clean); `WouldBlock` when the socket has no more; a
    /// TLS error (a certificate refused, a bad record) is `InvalidData`.
    pub(crate) fn read(&mut self, sock: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        use std::io::Read;
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // No plaintext yet: a record from the socket (`Ok(0)`: the TCP EOF, which the
            // reader reports on the next turn).
            self.conn.read_tls(sock)?;
            if let Err(e) = self.conn.process_new_packets() {
                // rustls queued an alert; send it if the socket takes it now.
                let _ = self.flush(sock);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
    }

    /// Queues plaintext (as much as rustls's buffer takes), then writes TLS records while
    /// the socket takes them. `WouldBlock` only when nothing could be queued and the
    /// socket is full.
    pub(crate) fn write_vectored(
        &mut self,
        sock: &mut TcpStream,
        bufs: &[IoSlice<'_>],
    ) -> io::Result<usize> {
        use std::io::Write;
        let n = self.conn.writer().write_vectored(bufs)?;
        match self.flush(sock) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && n > 0 => Ok(n),
            Err(e) => Err(e),
            Ok(()) if n == 0 && bufs.iter().any(|b| !b.is_empty()) => {
                // Everything was flushed, so rustls takes plaintext again.
                self.conn.writer().write_vectored(bufs)
            }
            Ok(()) => Ok(n),
        }
    }

    /// Writes queued TLS records while the socket takes them (`WouldBlock` when it is
    /// full, `WriteZero` if it takes nothing).
    pub(crate) fn flush(&mut self, sock: &mut TcpStream) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(sock)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// TLS records are waiting to be written.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// The TLS handshake is still running.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Queues `close_notify` once; returns whether it was queued now (then flush before
    /// the TCP FIN).
    pub(crate) fn close_notify(&mut self) -> bool {
        if self.closing {
            return false;
        }
        self.closing = true;
        self.conn.send_close_notify();
        true
    }
}

#[cfg(not(feature = "rustls"))]
impl TlsLayer {
    pub(crate) fn read(&mut self, _: &mut TcpStream, _: &mut [u8]) -> io::Result<usize> {
        match *self {}
    }

    pub(crate) fn write_vectored(
        &mut self,
        _: &mut TcpStream,
        _: &[IoSlice<'_>],
    ) -> io::Result<usize> {
        match *self {}
    }

    pub(crate) fn flush(&mut self, _: &mut TcpStream) -> io::Result<()> {
        match *self {}
    }

    pub(crate) fn wants_write(&self) -> bool {
        match *self {}
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        match *self {}
    }

    pub(crate) fn close_notify(&mut self) -> bool {
        match *self {}
    }
}
