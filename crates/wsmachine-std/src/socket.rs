//! The blocking WebSocket: one stream, one core connection, one owner.

use std::io::{self, IoSlice, Read, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use wsmachine::{
    CloseCode, CloseFrame, CloseReport, Config, Connection, ConnectionError, Event, Fragment,
    Message, MessageKind, Request, Response, SendError, State, Timestamp, Utf8Bytes,
};

use crate::error::Error;
use crate::stream::{PeerAddr, SetReadTimeout};

/// Adapter options: the core [`Config`] plus transport settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The core configuration (limits, timers, receive mode).
    pub config: Config,
    /// Write timeout set on the stream (if it supports one). A write that times out fails
    /// the connection (the peer is not reading): the send returns [`Error::Io`] and the next
    /// `recv` reports the close. Default 30 s.
    pub write_timeout: Option<Duration>,
    /// Size of the read buffer, in bytes (default 64 KiB).
    pub read_buffer_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: Config::default(),
            write_timeout: Some(Duration::from_secs(30)),
            read_buffer_size: 64 * 1024,
        }
    }
}

impl Options {
    /// Options with this core configuration and default transport settings.
    pub fn with_config(config: Config) -> Self {
        Options {
            config,
            ..Options::default()
        }
    }
}

/// What [`WebSocket::recv_event`] returns: data and control events. Errors and the final
/// close come back as `Err` ([`Error::Protocol`], [`Error::Timeout`], [`Error::Closed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received {
    /// A whole message (receive mode `Messages`, the default).
    Message(Message),
    /// A piece of a message (receive mode `Fragments`).
    Fragment(Fragment),
    /// A ping arrived (already answered when `auto_pong` is on).
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The peer sent Close (already echoed); the close report follows as [`Error::Closed`].
    CloseReceived(CloseFrame),
}

/// A WebSocket over a blocking stream `S`.
///
/// Sends write through at once (the call blocks until the bytes are with the OS, bounded by
/// the write timeout). [`recv`](WebSocket::recv) blocks until a message arrives, running the
/// core's timers meanwhile, and answers pings and Close frames on its own.
///
/// The stream must be in blocking mode.
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    origin: Instant,
    buf: Vec<u8>,
    /// The stream honours read timeouts (otherwise timers advance when a read returns).
    timeouts: bool,
    report: Option<CloseReport>,
    shut: bool,
    request: Option<Request>,
    response: Option<Response>,
    subprotocol: Option<String>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("stream", &self.stream)
            .field("state", &self.conn.state())
            .field("role", &self.conn.role())
            .finish_non_exhaustive()
    }
}

/// How long a failed connection drains the peer's input before closing (see
/// [`WebSocket::recv`]).
const LINGER: Duration = Duration::from_secs(2);

fn is_reset(kind: io::ErrorKind) -> bool {
    use io::ErrorKind::*;
    matches!(
        kind,
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected
    )
}

impl<S: Read + Write + SetReadTimeout> WebSocket<S> {
    /// Wraps `stream` around a core connection built on the clock `origin` (its timestamps
    /// count from it). Sets the write timeout. For connections that need no handshake, build
    /// the core with [`Connection::open`] (e.g. after an HTTP/2 extended CONNECT).
    pub fn from_connection(
        mut stream: S,
        conn: Connection,
        origin: Instant,
        options: &Options,
    ) -> Self {
        let _ = stream.set_write_timeout(options.write_timeout);
        WebSocket {
            stream,
            conn,
            origin,
            buf: vec![0; options.read_buffer_size.max(512)],
            timeouts: true,
            report: None,
            shut: false,
            request: None,
            response: None,
            subprotocol: None,
        }
    }

    /// A WebSocket over `stream` that is already open (no handshake), in `role`.
    pub fn open(stream: S, role: wsmachine::Role, options: &Options) -> Self {
        let origin = Instant::now();
        let conn = Connection::open(role, options.config, Timestamp::ZERO);
        WebSocket::from_connection(stream, conn, origin, options)
    }

    pub(crate) fn set_request(&mut self, r: Request) {
        self.request = Some(r);
    }

    pub(crate) fn set_response(&mut self, r: Response) {
        self.subprotocol = r.subprotocol.clone();
        self.response = Some(r);
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.origin.elapsed())
    }

    /// The core connection (state, limits, counters). Read-only: go through this type to act.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// The upgrade request this server accepted.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_ref()
    }

    /// The upgrade response this client received.
    pub fn response(&self) -> Option<&Response> {
        self.response.as_ref()
    }

    /// The negotiated subprotocol, if any (either role).
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The close report once the connection is closed.
    pub fn close_report(&self) -> Option<&CloseReport> {
        self.report.as_ref()
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably. Reading or writing it directly corrupts the connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Gives the stream back (whatever is still queued is dropped).
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// Changes the write timeout.
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        self.stream.set_write_timeout(timeout)
    }

    // ----- writing -----

    /// Writes everything queued. On failure the core learns that our write side is shut
    /// (the connection then ends) and the error is returned.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.write_out().map_err(Error::Io)
    }

    fn write_out(&mut self) -> io::Result<()> {
        while self.conn.pending_transmit() > 0 {
            let mut slices: [IoSlice<'_>; 32] = [IoSlice::new(&[]); 32];
            let mut n = 0;
            for s in self.conn.transmit_slices().take(32) {
                slices[n] = IoSlice::new(s);
                n += 1;
            }
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => {
                    self.conn.handle_write_closed();
                    return Err(io::ErrorKind::WriteZero.into());
                }
                Ok(w) => self.conn.advance_transmit(w),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if is_reset(e.kind()) {
                        self.conn.handle_reset();
                    } else {
                        self.conn.handle_write_closed();
                    }
                    return Err(e);
                }
            }
        }
        let _ = self.stream.flush();
        if self.conn.should_close_transport() && !self.shut {
            self.shut = true;
            let _ = self.stream.shutdown_write();
        }
        Ok(())
    }

    fn after_send(&mut self, r: Result<(), SendError>) -> Result<(), Error> {
        r?;
        self.flush()
    }

    /// Sends a message and writes it out. [`SendError::QueueFull`] (as [`Error::Send`]) only
    /// if the message alone exceeds `max_send_queue`.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        let r = self.conn.send(message);
        self.after_send(r)
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), Error> {
        self.send(Message::Text(text.into()))
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Message::Binary(data.into()))
    }

    /// Sends one frame of a message you fragment yourself (see
    /// [`Connection::send_fragment`]).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        is_last: bool,
    ) -> Result<(), Error> {
        let r = self.conn.send_fragment(kind, data.into(), is_last);
        self.after_send(r)
    }

    /// Sends a ping (at most 125 bytes). Its pong comes back through
    /// [`recv_event`](WebSocket::recv_event) as [`Received::Pong`].
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let r = self.conn.ping(payload.into());
        self.after_send(r)
    }

    /// Sends a pong (for `auto_pong: false`).
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let r = self.conn.pong(payload.into());
        self.after_send(r)
    }

    /// Closes: sends Close with `code` and `reason`, then reads (discarding data) until the
    /// close handshake finishes or the close timeout passes, and returns the report.
    /// If the connection is already closing or closed, just waits for or returns the report.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<CloseReport, Error> {
        match self.start_close(code, reason) {
            Ok(()) | Err(Error::Io(_)) => {}
            Err(Error::Send(SendError::Closing | SendError::Closed | SendError::NotOpen)) => {}
            Err(e) => return Err(e),
        }
        loop {
            match self.recv_event() {
                Ok(_) => {}
                Err(Error::Closed(report)) => return Ok(report),
                Err(_) => {}
            }
        }
    }

    /// Starts the close handshake: sends Close with `code` and `reason` and returns without
    /// waiting. Keep calling [`recv`](WebSocket::recv) (messages still arrive until the
    /// peer's Close) until it returns [`Error::Closed`], or use [`close`](WebSocket::close).
    pub fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let now = self.now();
        self.conn.close(now, code, reason)?;
        // The close timer the call started needs the clock now.
        self.conn.handle_timeout(self.now());
        self.flush()
    }

    // ----- reading -----

    /// Waits for the next message, skipping pings, pongs and the peer's Close frame (they
    /// are answered automatically). When we fail the connection (a protocol error by the
    /// peer), the call drains the peer's input for up to 2 s before reporting the close, so
    /// that the peer reads our Close frame instead of a TCP reset. Errors: [`Error::Protocol`], [`Error::Timeout`] or
    /// [`Error::Io`], then [`Error::Closed`] with the report on this and every later call.
    /// In receive mode `Fragments`, use [`recv_event`](WebSocket::recv_event): this call
    /// skips fragments.
    pub fn recv(&mut self) -> Result<Message, Error> {
        loop {
            if let Received::Message(m) = self.recv_event()? {
                return Ok(m);
            }
        }
    }

    /// Waits for the next event: a message, fragment, ping, pong or the peer's Close.
    pub fn recv_event(&mut self) -> Result<Received, Error> {
        loop {
            if let Some(r) = &self.report {
                return Err(Error::Closed(r.clone()));
            }
            while let Some(ev) = self.conn.poll_event() {
                let out = match ev {
                    Event::Message(m) => Ok(Received::Message(m)),
                    Event::Fragment(f) => Ok(Received::Fragment(f)),
                    Event::Ping(p) => Ok(Received::Ping(p)),
                    Event::Pong(p) => Ok(Received::Pong(p)),
                    Event::CloseReceived(c) => Ok(Received::CloseReceived(c)),
                    Event::Error(e) => Err(match e {
                        ConnectionError::Protocol(p) => Error::Protocol(p),
                        ConnectionError::Timeout(t) => Error::Timeout(t),
                        ConnectionError::Handshake(h) => Error::Handshake(h),
                        other => Error::Connection(other),
                    }),
                    Event::Closed(report) => {
                        let _ = self.write_out();
                        self.linger(&report);
                        self.report = Some(report.clone());
                        Err(Error::Closed(report))
                    }
                    _ => continue,
                };
                // Pongs, Close echoes and error Closes go out before the caller sees the event.
                let _ = self.write_out();
                return out;
            }
            // Nothing parsed: write what is queued, then wait for input or a deadline.
            let _ = self.write_out();
            self.fill()?;
        }
    }

    /// After we failed the connection (our Close sent, none received, the peer's side still
    /// open), reads and discards for a short while until the peer's EOF: closing a socket
    /// with unread input sends a reset, which can destroy our Close frame before the peer
    /// reads it. Only for streams with read timeouts; bounded by [`LINGER`].
    fn linger(&mut self, report: &CloseReport) {
        if !(self.timeouts
            && report.sent.is_some()
            && report.received.is_none()
            && report.transport.is_none())
        {
            return;
        }
        let end = Instant::now() + LINGER;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || !matches!(self.stream.set_read_timeout(Some(left)), Ok(true)) {
                return;
            }
            match self.stream.read(&mut self.buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// One read, bounded by the next core deadline. Feeds the result to the core.
    fn fill(&mut self) -> Result<(), Error> {
        let now = self.now();
        let deadline = self.conn.poll_timeout();
        if let Some(d) = deadline {
            if d <= now {
                self.conn.handle_timeout(now);
                return Ok(());
            }
        }
        if self.timeouts {
            let wait = deadline.map(|d| {
                d.saturating_duration_since(now)
                    .max(Duration::from_millis(1))
            });
            match self.stream.set_read_timeout(wait) {
                Ok(true) => {}
                Ok(false) | Err(_) => self.timeouts = false,
            }
        }
        let result = self.stream.read(&mut self.buf);
        let mut out = Ok(());
        match result {
            Ok(0) => {
                self.conn.handle_eof();
            }
            Ok(n) => {
                let now = self.now();
                self.conn.handle_input(now, &self.buf[..n]);
            }
            Err(e) => match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {}
                io::ErrorKind::Interrupted => {}
                k if is_reset(k) => {
                    self.conn.handle_reset();
                }
                _ => {
                    self.conn.handle_reset();
                    out = Err(Error::Io(e));
                }
            },
        }
        self.conn.handle_timeout(self.now());
        out
    }

    /// Drives the handshake: returns the `Request` (server) or `Response` (client) event.
    pub(crate) fn handshake_event(&mut self) -> Result<Event, Error> {
        let mut error: Option<Error> = None;
        loop {
            while let Some(ev) = self.conn.poll_event() {
                match ev {
                    Event::Request(_) | Event::Connected(_) => return Ok(ev),
                    Event::Error(ConnectionError::Handshake(h)) => {
                        error = Some(Error::Handshake(h));
                    }
                    Event::Error(ConnectionError::Timeout(t)) => error = Some(Error::Timeout(t)),
                    Event::Error(ConnectionError::Protocol(p)) => error = Some(Error::Protocol(p)),
                    Event::Error(other) => error = Some(Error::Connection(other)),
                    Event::Closed(report) => {
                        let _ = self.write_out();
                        self.report = Some(report.clone());
                        return Err(error.unwrap_or(Error::Closed(report)));
                    }
                    _ => {}
                }
            }
            self.write_out()?;
            self.fill()?;
        }
    }

    /// Accepts or rejects the pending request (server) and writes the response.
    pub(crate) fn decide(&mut self, decision: &crate::Decision) -> Result<(), Error> {
        match decision {
            crate::Decision::Accept(a) => {
                let now = self.now();
                self.conn.accept(now, a)?;
                self.subprotocol = a.subprotocol.clone();
                self.conn.handle_timeout(self.now());
                self.flush()
            }
            crate::Decision::Reject {
                status,
                headers,
                body,
            } => {
                self.conn.reject(*status, headers, body)?;
                while let Some(ev) = self.conn.poll_event() {
                    if let Event::Closed(r) = ev {
                        self.report = Some(r);
                    }
                }
                let _ = self.write_out();
                Err(Error::Rejected(*status))
            }
        }
    }
}

impl<S: PeerAddr> WebSocket<S> {
    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<S::Addr> {
        self.stream.peer_addr()
    }
}
