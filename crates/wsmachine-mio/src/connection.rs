//! One nonblocking connection driven by readiness: the I/O loop of the driver contract,
//! written once. [`Server`](crate::Server), [`MioClient`](crate::MioClient) and your own loop
//! all drive a connection through [`MioConnection::drive`].

use std::cell::RefCell;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use wsmachine::io::IoDirection;
use wsmachine::{
    Accept, AcceptError, ClientRequest, CloseCode, CloseFrame, CloseReport, Config, Connection,
    Decision, Fragment, HandshakeError, Message, Request, Response, SendError, Timestamp,
};
use wsmachine_proxy::ProxyHandshake;

use crate::error::Error;
use crate::tls::TlsLayer;

/// Bytes read from one connection per [`drive`](MioConnection::drive) before yielding to
/// the others (fairness); [`needs_drive`](MioConnection::needs_drive) then stays true.
const READ_BUDGET: usize = 1 << 20;

/// The largest single read, and so the most the input can exceed the core's input bound by.
/// Reads go into one zeroed buffer of this size per thread (allocated once, at the first
/// read on the thread), then the bytes read are appended to the core's receive buffer. A
/// connection therefore holds only the input it has not parsed yet (an idle one, none)
/// instead of a buffer sized for the largest read. The exception is the rest of a large
/// frame (when [`Connection::read_limit`] gives a cap; not over TLS; Unix): the core has
/// room reserved for it, and it is read straight there ([`Connection::read_input`]), saving
/// the copy.
pub const READ_MAX: usize = 256 << 10;

thread_local! {
    /// The read buffer shared by the connections driven on this thread (see [`READ_MAX`]).
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Vectored-write slices per `write_vectored` call.
const WRITE_SLICES: usize = 64;

/// How long a connection may take, after [`Event::Closed`], to write its last bytes (the
/// Close, an HTTP error response) and finish the drain, before it is finished anyway.
pub const DEFAULT_LINGER: Duration = Duration::from_secs(5);

/// What a connection reports to the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A server-side [`MioConnection`] got an upgrade request: call
    /// [`accept`](MioConnection::accept), [`reject`](MioConnection::reject) or
    /// [`decide`](MioConnection::decide).
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

/// A WebSocket connection over a nonblocking `mio` TCP stream: the driver contract's loop
/// for one connection.
///
/// # The loop
///
/// 1. [`register`](MioConnection::register) it with a token.
/// 2. For each readiness event of that token: [`handle_event`](MioConnection::handle_event)
///    (records the readiness, then [`drive`](MioConnection::drive)s).
/// 3. When the application wants the next event: [`poll_event`](MioConnection::poll_event).
///    It parses lazily, one event per call, so a reply sent for an event goes out before
///    anything the core decides about later input (a failing Close).
/// 4. After events and sends: [`drive`](MioConnection::drive) (writes, reads more now that
///    input was consumed, shuts the write side once closed, re-registers interest).
///    While [`needs_drive`](MioConnection::needs_drive) is true, drive again without waiting
///    for readiness (poll with a zero timeout).
/// 5. Sleep no longer than [`deadline`](MioConnection::deadline); `drive` at or after it.
/// 6. Drop it (after [`deregister`](MioConnection::deregister)) once
///    [`is_finished`](MioConnection::is_finished).
///
/// `drive` reads only while the core [wants input](Connection::wants_input), through the
/// thread's read buffer into the core's receive buffer, or the rest of a large frame
/// straight into it (see [`READ_MAX`]); writes with
/// vectored writes; reports I/O errors to the core with
/// [`handle_io_error`](Connection::handle_io_error); registers `READABLE` only while it wants
/// input and `WRITABLE` only while output is pending (edge-triggered, readiness remembered).
///
/// # Memory
///
/// Nothing is queued here beyond the core: at most one I/O error waiting to be reported,
/// and for a client through a proxy, while its handshake runs, the proxy's request (under
/// 600 bytes) and at most `wsmachine_proxy::MAX_RESPONSE_HEAD` (16 KiB) of its reply.
/// Over TLS (feature `rustls`), rustls's own buffers come on top: about 16 KiB of received
/// records and up to its buffer limit (64 KiB by default) of output being encrypted.
/// Per connection, with the core's [`Limits`](wsmachine::Limits): input up to
/// `input_high_water + max_frame_size + READ_MAX` (256 KiB, one read past the high
/// water mark), a fragmented message being assembled up to `max_message_size`, output up to
/// `max_send_queue + max_pong_backlog` plus one ping, one Close and the handshake response;
/// plus this struct and the core's fixed state (about a kilobyte).
pub struct MioConnection {
    stream: TcpStream,
    conn: Connection,
    origin: Instant,
    peer: Option<SocketAddr>,
    /// The token and interest currently registered, if registered.
    token: Option<Token>,
    registered: Option<Interest>,
    /// Registering failed once: the connection was ended, no more attempts.
    registration_failed: bool,
    /// The last readiness said readable / writable, and no `WouldBlock` since.
    readable: bool,
    writable: bool,
    /// The last readiness said the peer ended its side (or an error): read to the end.
    read_closed: bool,
    /// A client's nonblocking connect is in progress.
    connecting: bool,
    /// A client's proxy handshake, run after the connect and before the WebSocket
    /// handshake's bytes go out (the tunnel is not open yet).
    proxy: Option<Box<ProxyHandshake>>,
    /// The end of the connect timeout: the TCP connect, the proxy handshake and the TLS
    /// handshake must be done by then.
    setup_deadline: Option<Instant>,
    /// TLS over the socket (feature `rustls`), after the proxy's tunnel if any.
    tls: Option<Box<TlsLayer>>,
    /// No more reads: EOF, or a read error ended the transport.
    read_done: bool,
    /// No more writes: a write error ended the transport.
    write_dead: bool,
    /// The write side is shut down (FIN sent).
    shut: bool,
    bytes_read: u64,
    bytes_written: u64,
    /// Successful write calls.
    writes: u64,
    /// An I/O or proxy error that ended the transport, reported just before
    /// [`Event::Closed`].
    io_error: Option<Error>,
    /// [`Event::Closed`], held back while `io_error` is reported first.
    held_closed: Option<CloseReport>,
    /// [`Event::Closed`] was returned by `poll_event`.
    closed_delivered: bool,
    /// When [`Event::Closed`] was delivered; the linger runs from there.
    closed_at: Option<Instant>,
    linger: Duration,
    lingered: bool,
}

impl std::fmt::Debug for MioConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MioConnection")
            .field("peer", &self.peer)
            .field("state", &self.conn.state())
            .field("pending_transmit", &self.conn.pending_transmit())
            .field("registered", &self.registered)
            .field("readable", &self.readable)
            .field("writable", &self.writable)
            .finish_non_exhaustive()
    }
}

impl MioConnection {
    /// Wraps a connected stream and a core connection whose [`Timestamp`]s count from
    /// `origin` (the `Instant` that is `Timestamp::ZERO` for it). Both readiness flags start
    /// set: the first [`drive`](MioConnection::drive) tries to read and write at once.
    pub fn new(stream: TcpStream, conn: Connection, origin: Instant) -> Self {
        let peer = stream.peer_addr().ok();
        MioConnection {
            stream,
            conn,
            origin,
            peer,
            token: None,
            registered: None,
            registration_failed: false,
            readable: true,
            writable: true,
            read_closed: false,
            connecting: false,
            proxy: None,
            setup_deadline: None,
            tls: None,
            read_done: false,
            write_dead: false,
            shut: false,
            bytes_read: 0,
            bytes_written: 0,
            writes: 0,
            io_error: None,
            held_closed: None,
            closed_delivered: false,
            closed_at: None,
            linger: DEFAULT_LINGER,
            lingered: false,
        }
    }

    /// A server connection on an accepted stream, its clock starting now; it reports
    /// [`Event::Request`]. Sets `TCP_NODELAY`.
    pub fn server(stream: TcpStream, config: Config) -> Self {
        let origin = Instant::now();
        let _ = stream.set_nodelay(true);
        MioConnection::new(stream, Connection::server(config, Timestamp::ZERO), origin)
    }

    /// A client connection on `stream` (possibly still connecting, as returned by
    /// `mio::net::TcpStream::connect`), its clock starting now; it reports
    /// [`Event::Connected`]. The upgrade request is queued at once.
    pub fn client(
        stream: TcpStream,
        request: &ClientRequest,
        config: Config,
    ) -> Result<Self, HandshakeError> {
        let origin = Instant::now();
        let conn = Connection::client(request, config, Timestamp::ZERO)?;
        let _ = stream.set_nodelay(true);
        let mut mc = MioConnection::new(stream, conn, origin);
        mc.connecting = true;
        mc.readable = false;
        mc.writable = false;
        Ok(mc)
    }

    /// A client connection on `stream` connected (or connecting) to a proxy: once the
    /// connect finishes, `proxy`'s handshake runs over the socket, non-blocking, inside
    /// [`drive`](MioConnection::drive) (the sans-IO state machine of `wsmachine-proxy`:
    /// its request written as the socket takes it, its replies read into a 1 KiB stack
    /// buffer), and only once the tunnel is open do the WebSocket handshake's bytes go out
    /// (bytes the target sent behind the proxy's reply are fed to the core). A refusal is
    /// reported as [`Error::Proxy`] before [`Event::Closed`].
    pub fn client_through_proxy(
        stream: TcpStream,
        request: &ClientRequest,
        config: Config,
        proxy: ProxyHandshake,
    ) -> Result<Self, HandshakeError> {
        let mut mc = MioConnection::client(stream, request, config)?;
        mc.proxy = Some(Box::new(proxy));
        Ok(mc)
    }

    /// Bounds the client's setup (the TCP connect and a proxy's handshake) by `deadline`:
    /// past it the connection ends with a `TimedOut` [`Error::Io`] before
    /// [`Event::Closed`]. No effect once the setup is done. The WebSocket handshake has
    /// the core's own deadline (`Timers::handshake_timeout`, counted from the
    /// connection's creation).
    pub fn set_connect_deadline(&mut self, deadline: Option<Instant>) {
        self.setup_deadline = deadline;
    }

    /// Runs TLS over the socket (after the proxy's tunnel, if any): `tls` is a rustls
    /// client connection for the server's name (its ClientHello goes out first, then the
    /// WebSocket handshake's bytes once TLS is up). Call it before the first
    /// [`drive`](MioConnection::drive). Costs rustls's buffers: about 16 KiB of received
    /// records, and at most its buffer limit (64 KiB by default) of plaintext waiting to
    /// be encrypted on top of the core's output bound. A TLS failure (e.g. a certificate
    /// refused) is an `InvalidData` [`Error::Io`] before [`Event::Closed`].
    #[cfg(feature = "rustls")]
    pub fn use_tls(&mut self, tls: rustls::ClientConnection) {
        self.tls = Some(Box::new(TlsLayer::new(tls)));
    }

    /// The connection runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The TCP connect or the proxy handshake is still running.
    fn in_setup(&self) -> bool {
        self.connecting || self.proxy.is_some()
    }

    /// The connect deadline applies: the setup or the TLS handshake is still running.
    fn connect_deadline_applies(&self) -> bool {
        self.in_setup() || self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    /// TLS records are waiting to be written.
    fn tls_wants_write(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// The core's output can go out now: always on a plain socket; over TLS once its
    /// handshake is done (until then rustls would only buffer it).
    fn plain_output_ready(&self) -> bool {
        self.conn.pending_transmit() > 0 && self.tls.as_ref().is_none_or(|t| !t.is_handshaking())
    }

    /// Ends a connection whose setup (connect, proxy handshake) failed: no byte of ours
    /// went to the server, so the transport is simply dead; `error` is reported before
    /// [`Event::Closed`].
    fn fail_setup(&mut self, error: Error) {
        self.connecting = false;
        self.proxy = None;
        self.readable = false;
        self.read_done = true;
        self.write_dead = true;
        if self.io_error.is_none() && !self.conn.is_closed() {
            self.io_error = Some(error);
        }
        self.conn.handle_reset();
    }

    fn ts(&self, now: Instant) -> Timestamp {
        Timestamp::from_duration(now.saturating_duration_since(self.origin))
    }

    /// Sets how long the connection may take after [`Event::Closed`] to write its last
    /// bytes and drain the peer before [`is_finished`](MioConnection::is_finished) says to
    /// drop it anyway (default [`DEFAULT_LINGER`], 5 s): a peer that never reads cannot hold
    /// a closed connection open.
    pub fn set_linger(&mut self, linger: Duration) {
        self.linger = linger;
    }

    // ----- registration -----

    /// The interest the connection needs now: `READABLE` while the core wants input,
    /// `WRITABLE` while output is pending or a connect is in progress; `None` when neither
    /// (then it is not registered at all).
    pub fn interest(&self) -> Option<Interest> {
        if let Some(hs) = self.proxy.as_ref().filter(|_| !self.connecting) {
            return match (hs.wants_input(), !hs.transmit().is_empty()) {
                (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
                (true, false) => Some(Interest::READABLE),
                (false, true) => Some(Interest::WRITABLE),
                (false, false) => None,
            };
        }
        let read = !self.read_done && !self.connecting && self.conn.wants_input();
        let output = self.plain_output_ready() || self.tls_wants_write();
        let write = self.connecting || (!self.write_dead && !self.shut && output);
        match (read, write) {
            (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (true, false) => Some(Interest::READABLE),
            (false, true) => Some(Interest::WRITABLE),
            (false, false) => None,
        }
    }

    /// Registers the stream with `token` for the interest it needs now (edge-triggered).
    /// [`drive`](MioConnection::drive) keeps the registration up to date afterwards.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        if self.registered.is_some() {
            registry.deregister(&mut self.stream)?;
            self.registered = None;
        }
        self.token = Some(token);
        self.update_registration(registry)
    }

    /// Deregisters the stream (call before dropping a registered connection).
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.token = None;
        if self.registered.take().is_some() {
            registry.deregister(&mut self.stream)?;
        }
        Ok(())
    }

    /// The registration the connection should have now (none once finished; no change
    /// after a registration failed).
    fn wanted_registration(&self) -> Option<Interest> {
        if self.registration_failed {
            self.registered
        } else if self.is_finished() {
            None
        } else {
            self.interest()
        }
    }

    /// Brings the registration in line with [`interest`](MioConnection::interest): one
    /// `epoll_ctl` (or equivalent) when it changed, none otherwise. Registering again
    /// reports readiness that is already there, so no edge is lost while not registered.
    fn update_registration(&mut self, registry: &Registry) -> io::Result<()> {
        let Some(token) = self.token else {
            return Ok(());
        };
        let want = self.wanted_registration();
        if want == self.registered {
            return Ok(());
        }
        match (self.registered, want) {
            (Some(_), Some(i)) => registry.reregister(&mut self.stream, token, i)?,
            (None, Some(i)) => registry.register(&mut self.stream, token, i)?,
            (Some(_), None) => registry.deregister(&mut self.stream)?,
            (None, None) => {}
        }
        self.registered = want;
        Ok(())
    }

    // ----- driving -----

    /// Records one readiness event for this connection's token, then
    /// [`drive`](MioConnection::drive)s.
    pub fn handle_event(&mut self, event: &mio::event::Event, registry: &Registry, now: Instant) {
        self.note_event(event);
        self.drive(registry, now);
    }

    /// Records one readiness event without doing I/O (for a loop that drives later). An
    /// error or a hang-up counts as readable and writable, so that the next read or write
    /// reports it; a hang-up of the read side is remembered until the EOF is read.
    pub fn note_event(&mut self, event: &mio::event::Event) {
        let hup = event.is_read_closed() || event.is_error();
        self.readable |= event.is_readable() || hup;
        self.read_closed |= hup;
        self.writable |= event.is_writable() || event.is_write_closed() || event.is_error();
    }

    /// Does all the I/O the connection can do now, in the contract's order: a finished
    /// connect, the core's timers if due, writes while output is pending and the socket
    /// takes it, the write-side shutdown once closed and written, reads (up to a budget)
    /// while the core wants input, and the registration update. It never parses input:
    /// that happens in [`poll_event`](MioConnection::poll_event). Cost: the syscalls it
    /// needs; one copy of each byte read (from the thread's read buffer, allocated at the
    /// thread's first read, into the core's receive buffer); no allocation but the core's.
    ///
    /// Returns whether [`poll_event`](MioConnection::poll_event) may now have something new:
    /// bytes or the end of the stream were read, a timer fired, a connect finished, or a
    /// write failed.
    pub fn drive(&mut self, registry: &Registry, now: Instant) -> bool {
        let mut news = false;
        let core_deadline = self
            .conn
            .poll_timeout()
            .map(|t| self.origin + t.as_duration());
        if core_deadline.is_some_and(|d| d <= now) {
            let t = self.ts(now);
            self.conn.handle_timeout(t);
            news = true;
            if self.in_setup() && self.conn.is_closed() {
                // The handshake deadline passed during the connect or the proxy's
                // handshake: the core reports it; nothing of ours was sent.
                self.connecting = false;
                self.proxy = None;
                self.read_done = true;
                self.write_dead = true;
            }
        }
        if self.connect_deadline_applies() && self.setup_deadline.is_some_and(|d| d <= now) {
            let e = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
            self.fail_setup(Error::Io(e));
            news = true;
        }
        if self.connecting {
            self.finish_connect();
            news |= !self.connecting;
        }
        if !self.connecting && self.proxy.is_some() {
            news |= self.drive_proxy(now);
        }
        if !self.in_setup() {
            let dead = self.write_dead;
            self.write_output();
            news |= self.write_dead != dead;
            self.shutdown_if_done();
            news |= self.read_input(now);
            if self.tls.is_some() {
                // Reading may have produced TLS records (handshake, alerts, key updates)
                // or finished the handshake, which lets the core's output go.
                self.write_output();
            }
        }
        if self.closed_at.is_some_and(|at| now >= at + self.linger) {
            self.lingered = true;
        }
        if let Err(e) = self.update_registration(registry) {
            // A connection the poll cannot watch cannot be served: end it like a reset.
            self.registration_failed = true;
            self.note_error(e);
            self.read_done = true;
            self.write_dead = true;
            self.conn.handle_reset();
            news = true;
        }
        news
    }

    /// Whether [`drive`](MioConnection::drive) has work it can do without new readiness:
    /// input is readable and wanted (the read budget ran out, or events were drained and
    /// the core takes input again), output is pending on a writable socket, the write side
    /// is due to be shut down, or the registration is out of date (the core wants input
    /// again after events were drained, so `READABLE` must be registered again).
    pub fn needs_drive(&self) -> bool {
        if self.token.is_some() && self.wanted_registration() != self.registered {
            return true;
        }
        if self.connecting {
            return false;
        }
        if let Some(hs) = &self.proxy {
            return (self.readable && hs.wants_input())
                || (self.writable && !hs.transmit().is_empty());
        }
        let read = self.readable && !self.read_done && self.conn.wants_input();
        let write = self.writable
            && !self.write_dead
            && !self.shut
            && (self.plain_output_ready() || self.tls_wants_write() || self.wants_shutdown());
        read || write
    }

    /// A nonblocking connect finished (or failed) once the socket is writable.
    fn finish_connect(&mut self) {
        if !self.writable {
            return;
        }
        let err = match self.stream.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match self.stream.peer_addr() {
                Ok(addr) => {
                    self.peer = Some(addr);
                    None
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    // Spurious wake-up: still connecting.
                    self.writable = false;
                    return;
                }
                Err(e) => Some(e),
            },
        };
        self.connecting = false;
        self.readable = true;
        if let Some(e) = err {
            self.fail_setup(Error::Io(e));
        }
    }

    /// Runs the proxy handshake as far as the socket allows: writes its request (or next
    /// SOCKS5 message) while writable, reads its replies into a stack buffer while it
    /// wants input. When the tunnel opens, the bytes that came after the proxy's reply are
    /// the target's and go to the core. Returns whether anything changed for the
    /// application (the tunnel failed; or it opened with bytes from the target).
    fn drive_proxy(&mut self, now: Instant) -> bool {
        let mut buf = [0u8; 1024];
        loop {
            let Some(hs) = self.proxy.as_mut() else {
                return false;
            };
            if self.writable && !hs.transmit().is_empty() {
                match self.stream.write(hs.transmit()) {
                    Ok(0) => {
                        self.fail_setup(Error::Io(io::ErrorKind::WriteZero.into()));
                        return true;
                    }
                    Ok(n) => {
                        self.bytes_written += n as u64;
                        hs.advance_transmit(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                    Err(e) => {
                        self.fail_setup(Error::Io(e));
                        return true;
                    }
                }
                continue;
            }
            if !(self.readable && hs.wants_input()) {
                return false;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the proxy closed the connection during its handshake",
                    );
                    self.fail_setup(Error::Io(e));
                    return true;
                }
                Ok(n) => {
                    self.bytes_read += n as u64;
                    let input = buf.get(..n).unwrap_or_default();
                    match hs.handle_input(input) {
                        Ok(None) => {}
                        Ok(Some(start)) => {
                            self.proxy = None;
                            let early = input.get(start..).unwrap_or_default();
                            if early.is_empty() {
                                return false;
                            }
                            let t = self.ts(now);
                            self.conn.handle_input(t, early);
                            return true;
                        }
                        Err(e) => {
                            self.fail_setup(Error::Proxy(e));
                            return true;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                Err(e) => {
                    self.fail_setup(Error::Io(e));
                    return true;
                }
            }
        }
    }

    /// Reads while the core wants input and the socket has it, up to [`READ_BUDGET`] bytes:
    /// each read goes into the thread's read buffer (see [`READ_MAX`]) and is appended to
    /// the core's receive buffer, except the rest of a large frame, read straight into the
    /// room the core reserved for it (so a large message arrives into one allocation).
    /// Returns whether anything (bytes, EOF, an error) was read.
    ///
    /// A short read means the socket's buffer was emptied: readiness is cleared then, as an
    /// edge-triggered registration reports any byte that arrives later (this saves the read
    /// that would only say `WouldBlock`), unless the last readiness reported the peer's EOF,
    /// which is then read at once.
    fn read_input(&mut self, now: Instant) -> bool {
        if !(self.readable && !self.read_done && self.conn.wants_input()) {
            return false;
        }
        READ_BUF.with(|cell| {
            let mut scratch = cell.borrow_mut();
            if scratch.is_empty() {
                *scratch = vec![0; READ_MAX];
            }
            self.read_input_with(now, &mut scratch)
        })
    }

    fn read_input_with(&mut self, now: Instant, scratch: &mut [u8]) -> bool {
        let mut news = false;
        let mut budget = READ_BUDGET;
        while self.readable && !self.read_done && budget > 0 && self.conn.wants_input() {
            // At most the rest of a large frame and the next header (`Connection::read_size`).
            let max = self.conn.read_size(scratch.len());
            // The rest of a large frame goes straight into the room the core reserved for
            // it (`read_input`: no zeroing, no copy); other reads into the thread's buffer,
            // so that a connection holds no read-sized buffer of its own.
            // (Unix only: there rustix reads into uninitialised memory without `unsafe`.)
            let in_place = cfg!(unix) && self.tls.is_none() && self.conn.read_limit().is_some();
            let result = match &mut self.tls {
                #[cfg(unix)]
                _ if in_place => read_in_place(&mut self.conn, &self.stream, max),
                Some(tls) => tls.read(&mut self.stream, &mut scratch[..max]),
                None => self.stream.read(&mut scratch[..max]),
            };
            // The core takes what was read, with the time, whatever the read returned: a
            // read into the thread's buffer is copied in by `handle_input` (which unmasks
            // large payloads as it copies); an in-place read was appended already.
            let t = self.ts(now);
            match (in_place, &result) {
                (false, Ok(n)) => self.conn.handle_input(t, &scratch[..*n]),
                _ => self.conn.handle_input_appended(t),
            };
            match result {
                Ok(0) => {
                    news = true;
                    self.read_done = true;
                    self.conn.handle_eof();
                }
                Ok(n) => {
                    news = true;
                    self.bytes_read += n as u64;
                    budget = budget.saturating_sub(n);
                    // Unless the peer's EOF (already reported) is still to be read. (Not
                    // over TLS: a short read of plaintext says nothing about the socket.)
                    if n < max && !self.read_closed && self.tls.is_none() {
                        self.readable = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if self.conn.handle_io_error(&e, IoDirection::Read) {
                        news = true;
                        self.read_done = true;
                        if matches!(
                            e.kind(),
                            io::ErrorKind::ConnectionReset
                                | io::ErrorKind::ConnectionAborted
                                | io::ErrorKind::BrokenPipe
                                | io::ErrorKind::NotConnected
                        ) {
                            self.write_dead = true;
                        }
                        self.note_error(e);
                    } else {
                        self.readable = false;
                    }
                }
            }
        }
        news
    }

    /// Writes queued output while the socket takes it (`write_transmit_io`; over TLS:
    /// into rustls, then its records to the socket, including handshake records and
    /// `close_notify` when the core has nothing queued).
    fn write_output(&mut self) {
        while self.writable
            && !self.write_dead
            && (self.plain_output_ready() || self.tls_wants_write())
        {
            if !self.plain_output_ready() {
                let Some(tls) = &mut self.tls else {
                    return;
                };
                match tls.flush(&mut self.stream) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                    Err(e) => {
                        self.conn.handle_io_error(&e, IoDirection::Write);
                        self.write_dead = true;
                        self.note_error(e);
                    }
                }
                continue;
            }
            let result = match &mut self.tls {
                Some(tls) => {
                    let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
                    let n = self.conn.transmit_io_slices(&mut slices);
                    let r = tls.write_vectored(&mut self.stream, &slices[..n]);
                    if let Ok(n) = r {
                        self.conn.advance_transmit(n);
                    }
                    r
                }
                None => self.conn.write_transmit_io(&mut self.stream),
            };
            match result {
                Ok(0) => {
                    let e = io::Error::from(io::ErrorKind::WriteZero);
                    self.conn.handle_io_error(&e, IoDirection::Write);
                    self.write_dead = true;
                    self.note_error(e);
                }
                Ok(n) => {
                    self.bytes_written += n as u64;
                    self.writes += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if self.conn.handle_io_error(&e, IoDirection::Write) {
                        self.write_dead = true;
                        self.note_error(e);
                    } else {
                        self.writable = false;
                    }
                }
            }
        }
    }

    /// Closed and everything written: the write side should be shut (TCP FIN) while the
    /// core may still drain the peer's input.
    fn wants_shutdown(&self) -> bool {
        !self.shut
            && self.conn.is_closed()
            && self.conn.pending_transmit() == 0
            && !self.tls_wants_write()
    }

    /// The FIN once closed and written; over TLS, `close_notify` first (written before
    /// the FIN, as far as the socket takes it now, else on a later drive).
    fn shutdown_if_done(&mut self) {
        if self.wants_shutdown() && !self.write_dead {
            if self.tls.as_mut().is_some_and(|t| t.close_notify()) {
                self.write_output();
                if !self.wants_shutdown() || self.write_dead {
                    return;
                }
            }
            self.shut = true;
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }

    /// Keeps an I/O error that ended a live connection, to report before Closed.
    fn note_error(&mut self, e: io::Error) {
        if !self.conn.is_closed() && self.io_error.is_none() {
            self.io_error = Some(Error::Io(e));
        }
    }

    // ----- events and state -----

    /// The next event, parsed now (at most one frame's worth of work per core event). Call
    /// it only when the application wants its next event: input behind it stays unparsed
    /// until then. After [`Event::Closed`] it returns `None` for good. Call
    /// [`drive`](MioConnection::drive) after handling events (the core may want more input
    /// now, and replies are waiting to be written).
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(report) = self.held_closed.take() {
            self.closed_delivered = true;
            self.closed_at = Some(Instant::now());
            return Some(Event::Closed(report));
        }
        loop {
            let ev = self.conn.poll_event()?;
            return Some(match ev {
                wsmachine::Event::Request(r) => Event::Request(*r),
                wsmachine::Event::Connected(r) => Event::Connected(*r),
                wsmachine::Event::Message(m) => Event::Message(m),
                wsmachine::Event::Fragment(f) => Event::Fragment(f),
                wsmachine::Event::Ping(p) => Event::Ping(p),
                wsmachine::Event::Pong(p) => Event::Pong(p),
                wsmachine::Event::CloseReceived(c) => Event::CloseReceived(c),
                wsmachine::Event::Error(e) => Event::Error(e.into()),
                wsmachine::Event::Closed(r) => {
                    if let Some(e) = self.io_error.take() {
                        self.held_closed = Some(r);
                        return Some(Event::Error(e));
                    }
                    self.closed_delivered = true;
                    self.closed_at = Some(Instant::now());
                    Event::Closed(r)
                }
                _ => continue,
            });
        }
    }

    /// The next deadline, as an `Instant` (may be in the past: [`drive`](MioConnection::drive)
    /// at once): the core's next timer, and once [`Event::Closed`] was delivered, the end
    /// of the linger.
    pub fn deadline(&self) -> Option<Instant> {
        let core = self
            .conn
            .poll_timeout()
            .map(|t| self.origin + t.as_duration());
        let linger = match self.closed_at {
            Some(at) if !self.is_finished() => Some(at + self.linger),
            _ => None,
        };
        let setup = self
            .setup_deadline
            .filter(|_| self.connect_deadline_applies());
        [core, linger, setup].into_iter().flatten().min()
    }

    /// Drop it now: [`Event::Closed`] was delivered and the core says the transport may be
    /// closed (output written or the transport dead, drain over), or the linger ran out.
    pub fn is_finished(&self) -> bool {
        self.closed_delivered && (self.conn.should_close_transport() || self.lingered)
    }

    /// [`Event::Closed`] was delivered.
    pub fn is_closed(&self) -> bool {
        self.closed_delivered
    }

    /// Bytes read so far: what went to the core (plaintext over TLS), plus a proxy's
    /// handshake replies.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Bytes written so far (plaintext over TLS; a proxy's handshake included).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Write calls that wrote something so far (each a `write_vectored` of up to 64 slices):
    /// with [`bytes_written`](MioConnection::bytes_written), how well output is batched.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The core connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The core connection, mutably (sends queue; [`drive`](MioConnection::drive) after).
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The stream.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    // ----- commands (each queues; drive writes) -----

    /// Accepts the pending upgrade request (server). An invalid `accept` makes the core
    /// answer 500 and close: keep driving.
    pub fn accept(&mut self, accept: &Accept) -> Result<(), AcceptError> {
        let now = self.ts(Instant::now());
        self.conn.accept(now, accept)
    }

    /// Rejects the pending upgrade request (server) with an HTTP status; the connection then
    /// closes once the response is written.
    pub fn reject(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), AcceptError> {
        self.conn.reject(status, headers, body)
    }

    /// Applies a [`Decision`] to the pending upgrade request (server).
    pub fn decide(&mut self, decision: &Decision) -> Result<(), AcceptError> {
        let now = self.ts(Instant::now());
        self.conn.decide(now, decision)
    }

    /// Queues a message. [`SendError::QueueFull`] past `Limits::max_send_queue`: wait for
    /// written progress (drive, writability) and retry.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        self.conn.send(message)
    }

    /// Queues a ping.
    pub fn ping(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.conn.ping(payload)
    }

    /// Starts the close handshake (queues the Close after what is already queued and
    /// starts the close timer).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        let now = self.ts(Instant::now());
        self.conn.close(now, code, reason)
    }
}

/// One read of at most `max` bytes from `stream` straight into `conn`'s receive buffer
/// ([`Connection::read_input`]), through rustix's `recv`, which fills uninitialised memory
/// and returns the part it filled. The caller then calls `handle_input_appended`.
#[cfg(unix)]
fn read_in_place(conn: &mut Connection, stream: &TcpStream, max: usize) -> io::Result<usize> {
    conn.read_input(max, |spare| {
        rustix::net::recv(stream, spare, rustix::net::RecvFlags::empty())
            .map(|((filled, _), _)| filled)
            .map_err(io::Error::from)
    })
}
