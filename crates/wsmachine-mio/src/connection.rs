//! One nonblocking connection driven by readiness: the building block of the server and the
//! client, usable in your own loop.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Instant;

use bytes::Bytes;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use wsmachine::{
    Accept, AcceptError, ClientRequest, CloseCode, CloseFrame, CloseReport, Config, Connection,
    Fragment, HandshakeError, Message, Request, Response, SendError, Timestamp,
};

use crate::error::Error;

/// Bytes read from one connection per readiness call before yielding to the others.
const READ_BUDGET: usize = 256 << 10;

/// What a connection reports to the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A server-side [`MioConnection`] got an upgrade request: call
    /// [`accept`](MioConnection::accept) or [`reject`](MioConnection::reject).
    /// ([`Server`](crate::Server) decides itself and reports [`Event::Accepted`].)
    Request(Request),
    /// [`Server`](crate::Server): the upgrade was accepted; the connection is open.
    Accepted(Request),
    /// Client: the server accepted the upgrade; the connection is open.
    Connected(Response),
    /// A whole data message.
    Message(Message),
    /// A piece of a data message (receive mode `Fragments`).
    Fragment(Fragment),
    /// A ping arrived (already answered when `auto_pong` is on).
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The peer sent Close (already echoed).
    CloseReceived(CloseFrame),
    /// The connection is failing (protocol error, timeout, I/O error, handshake failure);
    /// [`Event::Closed`] follows.
    Error(Error),
    /// The connection is over: the last event for it.
    Closed(CloseReport),
}

fn is_reset(kind: io::ErrorKind) -> bool {
    use io::ErrorKind::*;
    matches!(
        kind,
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected
    )
}

/// A WebSocket connection over a nonblocking `mio` TCP stream.
///
/// The loop contract: register it ([`register`](MioConnection::register)); on each readiness
/// event call [`handle_event`](MioConnection::handle_event) (or `on_readable`/`on_writable`);
/// at [`deadline`](MioConnection::deadline) call [`on_timeout`](MioConnection::on_timeout);
/// after any of these and after sends, drain [`poll_event`](MioConnection::poll_event) and call
/// [`flush`](MioConnection::flush) (once per loop turn is enough: sends only queue). When
/// [`wants_read`](MioConnection::wants_read) is true, call `on_readable` again next turn
/// without waiting for readiness. Drop it once [`is_finished`](MioConnection::is_finished).
pub struct MioConnection {
    stream: TcpStream,
    conn: Connection,
    origin: Instant,
    peer: Option<SocketAddr>,
    writable: bool,
    connecting: bool,
    read_closed: bool,
    more_input: bool,
    /// Reading stopped because our send queue is over half full (backpressure): the peer
    /// must read our output before we take more of its input.
    read_paused: bool,
    shut: bool,
    closed_event: bool,
    /// Closed after failing the peer: drain its input until EOF before dropping the socket.
    drain: bool,
    pending: VecDeque<Event>,
}

impl std::fmt::Debug for MioConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MioConnection")
            .field("peer", &self.peer)
            .field("state", &self.conn.state())
            .field("pending_transmit", &self.conn.pending_transmit())
            .finish_non_exhaustive()
    }
}

impl MioConnection {
    /// Wraps a connected stream and a core connection whose timestamps count from `origin`.
    pub fn new(stream: TcpStream, conn: Connection, origin: Instant) -> Self {
        let peer = stream.peer_addr().ok();
        MioConnection {
            stream,
            conn,
            origin,
            peer,
            writable: true,
            connecting: false,
            read_closed: false,
            more_input: false,
            read_paused: false,
            shut: false,
            closed_event: false,
            drain: false,
            pending: VecDeque::new(),
        }
    }

    /// A server connection on an accepted stream; it reports [`Event::Request`].
    pub fn server(stream: TcpStream, config: Config, origin: Instant) -> Self {
        let now = Timestamp::from_duration(origin.elapsed());
        let _ = stream.set_nodelay(true);
        MioConnection::new(stream, Connection::server(config, now), origin)
    }

    /// A client connection on `stream` (possibly still connecting, as returned by
    /// `mio::net::TcpStream::connect`); it reports [`Event::Connected`].
    pub fn client(
        stream: TcpStream,
        request: &ClientRequest,
        config: Config,
        origin: Instant,
    ) -> Result<Self, HandshakeError> {
        let now = Timestamp::from_duration(origin.elapsed());
        let conn = Connection::client(request, config, now)?;
        let _ = stream.set_nodelay(true);
        let mut mc = MioConnection::new(stream, conn, origin);
        mc.connecting = true;
        mc.writable = false;
        Ok(mc)
    }

    fn ts(&self, now: Instant) -> Timestamp {
        Timestamp::from_duration(now.saturating_duration_since(self.origin))
    }

    /// Registers the stream for readable and writable readiness (edge-triggered).
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut self.stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    /// Deregisters the stream.
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.stream)
    }

    /// The interest this connection needs right now: always readable, writable when output
    /// is queued or a connect is in progress. (The built-in loops register both once.)
    pub fn interest(&self) -> Interest {
        if self.connecting || self.conn.pending_transmit() > 0 {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }

    /// Handles one readiness event for this connection's token.
    pub fn handle_event(&mut self, event: &mio::event::Event, now: Instant) {
        if event.is_writable() || event.is_error() {
            self.on_writable(now);
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.on_readable(now);
        }
    }

    /// The stream is readable: reads until `WouldBlock` (or the per-call budget; then
    /// [`wants_read`](MioConnection::wants_read) is true) and feeds the core.
    pub fn on_readable(&mut self, now: Instant) {
        let mut scratch = [0u8; 16 * 1024];
        self.on_readable_with(now, &mut scratch);
    }

    /// [`on_readable`](MioConnection::on_readable) with a caller-provided read buffer (one
    /// buffer can serve every connection of a loop).
    pub fn on_readable_with(&mut self, now: Instant, scratch: &mut [u8]) {
        self.more_input = false;
        if self.read_closed || self.connecting || scratch.is_empty() {
            return;
        }
        if self.conn.is_closed() {
            if self.drain {
                self.drain_input(scratch);
            }
            return;
        }
        if self.send_queue_high() {
            self.read_paused = true;
            return;
        }
        let mut total = 0usize;
        loop {
            match self.stream.read(scratch) {
                Ok(0) => {
                    self.conn.handle_eof();
                    self.read_closed = true;
                    break;
                }
                Ok(n) => {
                    self.conn.handle_input(self.ts(now), &scratch[..n]);
                    total += n;
                    if total >= READ_BUDGET {
                        self.more_input = true;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if !is_reset(e.kind()) {
                        self.pending.push_back(Event::Error(Error::Io(e)));
                    }
                    self.conn.handle_reset();
                    self.read_closed = true;
                    break;
                }
            }
        }
        let t = self.ts(now);
        self.conn.handle_timeout(t);
    }

    /// Reads and discards input after we failed the connection, until EOF: closing a socket
    /// with unread input sends a reset, which can destroy our Close before the peer reads it.
    fn drain_input(&mut self, scratch: &mut [u8]) {
        let mut total = 0usize;
        loop {
            match self.stream.read(scratch) {
                Ok(0) => {
                    self.read_closed = true;
                    return;
                }
                Ok(n) => {
                    total += n;
                    if total >= READ_BUDGET {
                        self.more_input = true;
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.read_closed = true;
                    return;
                }
            }
        }
    }

    /// The stream is writable: finishes a connect in progress, then writes what is queued.
    pub fn on_writable(&mut self, _now: Instant) {
        if self.connecting {
            match self.stream.take_error() {
                Ok(Some(e)) | Err(e) => {
                    self.connecting = false;
                    self.pending.push_back(Event::Error(Error::Io(e)));
                    self.conn.handle_reset();
                    self.read_closed = true;
                    return;
                }
                Ok(None) => {}
            }
            match self.stream.peer_addr() {
                Ok(addr) => {
                    self.peer = Some(addr);
                    self.connecting = false;
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => {
                    self.connecting = false;
                    self.pending.push_back(Event::Error(Error::Io(e)));
                    self.conn.handle_reset();
                    self.read_closed = true;
                    return;
                }
            }
        }
        self.writable = true;
        self.flush();
    }

    /// Writes as much queued output as the socket takes (vectored writes), until it would
    /// block. A write error ends the connection (reported through `poll_event`). Once the
    /// connection is closed and flushed, shuts the write side (TCP FIN).
    pub fn flush(&mut self) {
        if self.connecting || self.shut {
            return;
        }
        while self.writable && self.conn.pending_transmit() > 0 {
            let mut slices: [IoSlice<'_>; 64] = [IoSlice::new(&[]); 64];
            let mut n = 0;
            for s in self.conn.transmit_slices().take(64) {
                slices[n] = IoSlice::new(s);
                n += 1;
            }
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => {
                    self.conn.handle_write_closed();
                }
                Ok(w) => self.conn.advance_transmit(w),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if is_reset(e.kind()) {
                        self.conn.handle_reset();
                    } else {
                        self.pending.push_back(Event::Error(Error::Io(e)));
                        self.conn.handle_write_closed();
                    }
                }
            }
        }
        if self.read_paused && !self.send_queue_high() {
            // Our output drained: read again (readiness was consumed while paused).
            self.read_paused = false;
            self.more_input = true;
        }
        if self.closed_event && self.conn.should_close_transport() && !self.shut {
            self.shut = true;
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }

    /// Tells the core the time: call it at (or after) [`deadline`](MioConnection::deadline).
    pub fn on_timeout(&mut self, now: Instant) {
        let t = self.ts(now);
        self.conn.handle_timeout(t);
    }

    /// The next core deadline, as an `Instant` (may be in the past: call
    /// [`on_timeout`](MioConnection::on_timeout) at once).
    pub fn deadline(&self) -> Option<Instant> {
        self.conn
            .poll_timeout()
            .map(|t| self.origin + t.as_duration())
    }

    /// The next event, if any. After [`Event::Closed`] it returns `None` for good.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(e) = self.pending.pop_front() {
            return Some(e);
        }
        let ev = self.conn.poll_event()?;
        Some(match ev {
            wsmachine::Event::Request(r) => Event::Request(*r),
            wsmachine::Event::Connected(r) => Event::Connected(*r),
            wsmachine::Event::Message(m) => Event::Message(m),
            wsmachine::Event::Fragment(f) => Event::Fragment(f),
            wsmachine::Event::Ping(p) => Event::Ping(p),
            wsmachine::Event::Pong(p) => Event::Pong(p),
            wsmachine::Event::CloseReceived(c) => Event::CloseReceived(c),
            wsmachine::Event::Error(e) => Event::Error(e.into()),
            wsmachine::Event::Closed(r) => {
                self.closed_event = true;
                self.drain = r.sent.is_some() && r.received.is_none() && r.transport.is_none();
                self.flush();
                Event::Closed(r)
            }
            _ => return None,
        })
    }

    /// Whether more than half of the send queue is used: then reading pauses until the peer
    /// takes our output, so a peer that sends without reading cannot make us queue without
    /// bound.
    fn send_queue_high(&self) -> bool {
        let limit = self.conn.config().limits.max_send_queue;
        self.conn.send_capacity() < limit / 2
    }

    /// Input was left unread (budget): call `on_readable` next turn without readiness.
    pub fn wants_read(&self) -> bool {
        self.more_input && !self.read_closed
    }

    /// Output is queued and the socket last said it can take it: call `flush`.
    pub fn wants_write(&self) -> bool {
        self.writable && !self.connecting && !self.shut && self.conn.pending_transmit() > 0
    }

    /// [`Event::Closed`] was delivered, the output is written (or cannot be) and, if we
    /// failed the peer, its input was drained to EOF: drop it. (The server also drops
    /// connections that linger past [`ServerOptions::linger`](crate::ServerOptions::linger).)
    pub fn is_finished(&self) -> bool {
        self.closed_event && self.conn.pending_transmit() == 0 && (!self.drain || self.read_closed)
    }

    /// [`Event::Closed`] was delivered.
    pub fn is_closed(&self) -> bool {
        self.closed_event
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The core connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The core connection, mutably (sends queue; call `flush` after).
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The stream.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Accepts the pending upgrade request (server).
    pub fn accept(&mut self, accept: &Accept) -> Result<(), AcceptError> {
        let now = self.ts(Instant::now());
        self.conn.accept(now, accept)
    }

    /// Rejects the pending upgrade request (server); the connection then closes.
    pub fn reject(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), AcceptError> {
        self.conn.reject(status, headers, body)
    }

    /// Queues a message (written by the next `flush`).
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        self.conn.send(message)
    }

    /// Queues a ping.
    pub fn ping(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.conn.ping(payload)
    }

    /// Starts the close handshake (the Close is written by the next `flush`; the close
    /// timer starts at the next `on_timeout`, which [`deadline`](MioConnection::deadline)
    /// asks for at once).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        let now = self.ts(Instant::now());
        self.conn.close(now, code, reason)
    }
}
