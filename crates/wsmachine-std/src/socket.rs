//! The blocking WebSocket: one stream, one core connection, one owner.
//!
//! This is the driver contract's loop in blocking form. The core decides every protocol
//! question; this type only moves bytes and time:
//!
//! - writes: `write_transmit_io` (one `send`, or a `writev` when the output is in pieces),
//!   each failure told to the core with `handle_io_error`; each write times out at the
//!   core's next deadline (its timers run while a write waits) or after
//!   [`Options::write_timeout`] without progress;
//! - reads: only while the core `wants_input`, into a scratch buffer fed to `handle_input`;
//!   each read times out at the core's next deadline (`poll_timeout` becomes the read timeout);
//! - events: `poll_event` only when the caller asks for the next one (no parsing ahead);
//! - closing: once the core is closed and its output written, the write side is shut down
//!   (TCP FIN), then the peer is read (and discarded by the core) until
//!   `should_close_transport`.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use wsmachine::io::IoDirection;
use wsmachine::{
    CloseCode, CloseFrame, CloseReport, Config, Connection, ConnectionError, Decision, Event,
    Fragment, Message, MessageKind, Request, Response, SendError, State, Timestamp, Utf8Bytes,
};

use crate::error::Error;
use crate::stream::{PeerAddr, SetReadTimeout};

/// Adapter options: the core [`Config`] plus transport settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The core configuration (limits, timers, receive mode).
    pub config: Config,
    /// The longest one call waits for the peer to take bytes without any progress (default
    /// 30 s; `None`: as long as the core's timers let it). When it passes, the call returns
    /// [`Error::Io`] (`TimedOut`); the unwritten bytes stay queued, within
    /// [`Limits::max_send_queue`](wsmachine::Limits::max_send_queue), and go out with the
    /// next call that writes (a send, [`flush`](WebSocket::flush) or
    /// [`recv`](WebSocket::recv)). Whether the connection ends is the core's decision (its
    /// keepalive, close and drain timers). After the close, it bounds the wait to write the
    /// last bytes before the stream is given up. Needs a stream with write timeouts
    /// ([`SetReadTimeout::set_write_timeout`]).
    pub write_timeout: Option<Duration>,
    /// Size of the read buffer, in bytes (default 64 KiB): the most one read takes.
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

/// How a round of writing ended.
enum Written {
    /// Everything queued is written (and the stream flushed), or the core dropped it.
    Done,
    /// No byte went out for [`Options::write_timeout`]: the rest stays queued.
    Stalled(io::Error),
    /// The transport failed; the core was told.
    Ended(io::Error),
}

impl Written {
    fn into_result(self) -> Result<(), Error> {
        match self {
            Written::Done => Ok(()),
            Written::Stalled(e) | Written::Ended(e) => Err(Error::Io(e)),
        }
    }
}

/// A timeout this much longer than the wait it bounds is kept rather than set again: a
/// deadline may fire up to this late, and a busy connection saves a system call per read.
const TIMEOUT_SLACK: Duration = Duration::from_millis(1);

/// The shortest timeout set on a stream (a zero timeout means "none" to the OS).
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// The timeout to set for a blocking call starting at `now` that must return by `until`
/// (`None`: unbounded), or `None` when `armed`, the one set already, will do: it returns in
/// time and no earlier than half the wait.
fn timeout_change(
    armed: Option<Duration>,
    now: Instant,
    until: Option<Instant>,
) -> Option<Option<Duration>> {
    let Some(until) = until else {
        return armed.map(|_| None);
    };
    let want = until.saturating_duration_since(now).max(MIN_TIMEOUT);
    match armed {
        Some(a) if a <= want + TIMEOUT_SLACK && a >= want / 2 => None,
        _ => Some(Some(want)),
    }
}

/// The adapter's error for an error event of the core.
fn error_from(e: ConnectionError) -> Error {
    match e {
        ConnectionError::Protocol(p, at) => Error::Protocol(p, at),
        ConnectionError::Timeout(t) => Error::Timeout(t),
        ConnectionError::Handshake(h) => Error::Handshake(h),
        other => Error::Connection(other),
    }
}

/// A WebSocket over a blocking stream `S`.
///
/// Sends write through: the call returns once the bytes are with the OS (or after
/// [`Options::write_timeout`] without progress, the rest staying queued).
/// [`recv`](WebSocket::recv) blocks until a message arrives, running the core's timers
/// meanwhile; pings and Close frames are answered by the core.
///
/// The stream must be in blocking mode. Memory: see the crate documentation.
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    origin: Instant,
    buf: Vec<u8>,
    /// The stream honours read timeouts (otherwise the core's timers advance only when a
    /// read returns, and there is no drain after a failure).
    read_timeouts: bool,
    /// The stream honours write timeouts.
    write_timeouts: bool,
    /// The read and write timeouts set on the stream now.
    read_armed: Option<Duration>,
    write_armed: Option<Duration>,
    write_timeout: Option<Duration>,
    /// Bytes went to the stream since its last successful flush.
    unflushed: bool,
    /// A write failed for good: nothing more goes to the stream.
    dead: bool,
    /// Our write side is shut down.
    shut: bool,
    report: Option<CloseReport>,
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

impl<S: Read + Write + SetReadTimeout> WebSocket<S> {
    /// Wraps `stream` around a core connection built on the clock `origin` (its timestamps
    /// count from it). For connections that need no handshake, build the core with
    /// [`Connection::open`] (e.g. after an HTTP/2 extended CONNECT). Cost: the read buffer
    /// ([`Options::read_buffer_size`]) and two system calls to learn whether the stream
    /// takes timeouts.
    pub fn from_connection(
        mut stream: S,
        conn: Connection,
        origin: Instant,
        options: &Options,
    ) -> Self {
        let read_timeouts = matches!(stream.set_read_timeout(None), Ok(true));
        let write_timeouts = matches!(stream.set_write_timeout(None), Ok(true));
        WebSocket {
            stream,
            conn,
            origin,
            buf: vec![0; options.read_buffer_size.max(512)],
            read_timeouts,
            write_timeouts,
            read_armed: None,
            write_armed: None,
            write_timeout: options.write_timeout,
            unflushed: false,
            dead: false,
            shut: false,
            report: None,
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

    /// Takes the transcript the connection recorded since the last call, when its config
    /// had `record` set (feature `record`; empty otherwise). The chunks, concatenated, are
    /// the transcript [`wsmachine::record::replay`] replays. Call it as you go (each round
    /// of sends and receives) to keep the connection's memory small, and once more after
    /// [`Error::Closed`]. Cost: no copy.
    #[cfg(feature = "record")]
    pub fn take_transcript(&mut self) -> Vec<u8> {
        self.conn.take_transcript()
    }

    /// Changes [`Options::write_timeout`] for the calls that follow.
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.write_timeout = timeout;
    }

    // ----- time and timeouts -----

    /// The instant of a core timestamp.
    fn instant(&self, t: Timestamp) -> Instant {
        self.origin + t.as_duration()
    }

    /// Runs the core's timers if its next deadline has passed; returns that deadline
    /// otherwise.
    fn run_timers(&mut self, now: Instant) -> Result<(), Option<Instant>> {
        let ts = Timestamp::from_duration(now.saturating_duration_since(self.origin));
        match self.conn.poll_timeout() {
            Some(d) if d <= ts => {
                self.conn.handle_timeout(ts);
                Ok(())
            }
            d => Err(d.map(|d| self.instant(d))),
        }
    }

    fn arm_read(&mut self, now: Instant, until: Option<Instant>) {
        if !self.read_timeouts {
            return;
        }
        if let Some(t) = timeout_change(self.read_armed, now, until) {
            match self.stream.set_read_timeout(t) {
                Ok(true) => self.read_armed = t,
                Ok(false) | Err(_) => self.read_timeouts = false,
            }
        }
    }

    fn arm_write(&mut self, now: Instant, until: Option<Instant>) {
        if !self.write_timeouts {
            return;
        }
        if let Some(t) = timeout_change(self.write_armed, now, until) {
            match self.stream.set_write_timeout(t) {
                Ok(true) => self.write_armed = t,
                Ok(false) | Err(_) => self.write_timeouts = false,
            }
        }
    }

    // ----- writing -----

    /// Writes everything queued (contract steps 4 and 5). While a write waits, the core's
    /// timers run at their deadlines; then the write side is shut down if the core is
    /// closed and everything is out.
    fn write_pending(&mut self) -> Written {
        let mut progress = Instant::now();
        loop {
            let flush = self.unflushed && !self.dead;
            if self.conn.pending_transmit() == 0 && !flush {
                break;
            }
            let now = Instant::now();
            let deadline = match self.run_timers(now) {
                Ok(()) => continue,
                Err(d) => d,
            };
            let stall = self.write_timeout.map(|t| progress + t);
            if stall.is_some_and(|s| now >= s) {
                return Written::Stalled(io::ErrorKind::TimedOut.into());
            }
            let until = match (deadline, stall) {
                (Some(d), Some(s)) => Some(d.min(s)),
                (d, s) => d.or(s),
            };
            self.arm_write(now, until);
            let result = if self.conn.pending_transmit() > 0 {
                match self.conn.write_transmit_io(&mut self.stream) {
                    Ok(0) => Err(io::ErrorKind::WriteZero.into()),
                    Ok(_) => {
                        self.unflushed = true;
                        progress = Instant::now();
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            } else {
                self.stream.flush().map(|()| self.unflushed = false)
            };
            match result {
                Ok(()) => {}
                Err(e) if self.conn.handle_io_error(&e, IoDirection::Write) => {
                    self.dead = true;
                    return Written::Ended(e);
                }
                // Interrupted, or timed out at a deadline: take what the peer sent meanwhile
                // (its answer to a keepalive ping may be there), then run the timers.
                Err(_) => self.take_arrived_input(),
            }
        }
        self.shut_down_if_closed();
        Written::Done
    }

    /// While a write waits for the peer: reads what already arrived, if the core wants
    /// input, with the shortest timeout, so that the core's timers see the peer alive.
    fn take_arrived_input(&mut self) {
        if !self.read_timeouts || !self.conn.wants_input() {
            return;
        }
        let now = Instant::now();
        self.arm_read(now, Some(now));
        self.read_once();
    }

    /// Contract step 5: once closed and written out, shut the write side down (TCP FIN),
    /// once.
    fn shut_down_if_closed(&mut self) {
        if !self.shut
            && !self.dead
            && self.conn.is_closed()
            && self.conn.pending_transmit() == 0
            && !self.unflushed
        {
            self.shut = true;
            let _ = self.stream.shutdown_write();
        }
    }

    /// Writes everything queued. Fails with [`Error::Io`] if the transport failed (the core
    /// was told; the next `recv` reports the close) or if no byte went out for
    /// [`Options::write_timeout`] (the rest stays queued).
    pub fn flush(&mut self) -> Result<(), Error> {
        self.write_pending().into_result()
    }

    /// Queues with `push`, waiting for written bytes while the send queue is full (byte
    /// backpressure), then writes everything out.
    fn send_with(
        &mut self,
        mut push: impl FnMut(&mut Connection) -> Result<(), SendError>,
    ) -> Result<(), Error> {
        loop {
            match push(&mut self.conn) {
                Ok(()) => break,
                // Data is queued: write it out, then try again (once the queue is empty,
                // a message that still does not fit is refused).
                Err(SendError::QueueFull { .. })
                    if self.conn.send_capacity() < self.conn.config().limits.max_send_queue =>
                {
                    self.write_pending().into_result()?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.write_pending().into_result()
    }

    /// Sends a message and writes it out. `Ok` once it is with the OS (or the connection
    /// ended meanwhile: the next `recv` reports how). [`SendError::QueueFull`] (as
    /// [`Error::Send`]) only if the message alone exceeds `max_send_queue`; [`Error::Io`] if
    /// the write stalled (the message stays queued) or the transport failed.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.send_with(|c| c.send(message.clone()))
    }

    /// Sends a text message (see [`send`](WebSocket::send)).
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), Error> {
        self.send(Message::Text(text.into()))
    }

    /// Sends a binary message (see [`send`](WebSocket::send)).
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
        let data = data.into();
        self.send_with(|c| c.send_fragment(kind, data.clone(), is_last))
    }

    /// Sends a ping (at most 125 bytes). Its pong comes back through
    /// [`recv_event`](WebSocket::recv_event) as [`Received::Pong`].
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let payload = payload.into();
        self.send_with(|c| c.ping(payload.clone()))
    }

    /// Sends a pong (for `auto_pong: false`).
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let payload = payload.into();
        self.send_with(|c| c.pong(payload.clone()))
    }

    /// Closes: sends Close with `code` and `reason`, then reads (discarding data) until the
    /// close handshake finishes or the core's close timeout passes, and returns the report.
    /// If the connection is already closing or closed, just waits for or returns the report.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<CloseReport, Error> {
        match self.start_close(code, reason) {
            Ok(()) | Err(Error::Io(_)) => {}
            Err(Error::Send(SendError::Closing | SendError::Closed | SendError::NotOpen)) => {}
            Err(e) => return Err(e),
        }
        loop {
            if let Err(Error::Closed(report)) = self.recv_event() {
                return Ok(report);
            }
        }
    }

    /// Starts the close handshake: sends Close with `code` and `reason` and returns without
    /// waiting. Keep calling [`recv`](WebSocket::recv) (messages still arrive until the
    /// peer's Close) until it returns [`Error::Closed`], or use [`close`](WebSocket::close).
    pub fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let now = self.now();
        self.conn.close(now, code, reason)?;
        self.write_pending().into_result()
    }

    // ----- reading -----

    /// One read into the scratch buffer, fed to the core (contract step 2).
    fn read_once(&mut self) {
        // At most the rest of a large frame and the next header (`Connection::read_size`).
        let max = self.conn.read_size(self.buf.len());
        match self.stream.read(&mut self.buf[..max]) {
            Ok(0) => {
                self.conn.handle_eof();
            }
            Ok(n) => {
                let now = self.now();
                self.conn.handle_input(now, &self.buf[..n]);
            }
            Err(e) => {
                self.conn.handle_io_error(&e, IoDirection::Read);
            }
        }
    }

    /// Waits for what the core waits for (contract steps 2 and 6): a read while it wants
    /// input, timed out at its next deadline; else a sleep until that deadline. Runs the
    /// timers when the deadline has passed.
    fn wait(&mut self) {
        let now = Instant::now();
        let deadline = match self.run_timers(now) {
            Ok(()) => return,
            Err(d) => d,
        };
        match deadline {
            Some(d) if !self.conn.wants_input() => {
                std::thread::sleep(d.saturating_duration_since(now));
            }
            // Reading is the only way left to learn anything when no deadline is set.
            _ => {
                self.arm_read(now, deadline);
                self.read_once();
            }
        }
    }

    /// Waits for the next message, skipping pings, pongs and the peer's Close frame (the
    /// core answers them). Errors: [`Error::Protocol`], [`Error::Timeout`], then
    /// [`Error::Closed`] with the report on this and every later call; [`Error::Io`] if
    /// queued output could not be written for [`Options::write_timeout`] (call again to go
    /// on). In receive mode `Fragments`, use [`recv_event`](WebSocket::recv_event): this call
    /// skips fragments.
    pub fn recv(&mut self) -> Result<Message, Error> {
        loop {
            if let Received::Message(m) = self.recv_event()? {
                return Ok(m);
            }
        }
    }

    /// Waits for the next event: a message, fragment, ping, pong or the peer's Close.
    ///
    /// Input is parsed only here, one event per call: a reply sent before the next call
    /// goes out before anything the core does about later input (such as a failing Close).
    /// When the connection ends, the call writes what is left, shuts the write side down and
    /// reads while the core drains the peer (after a failure, up to
    /// [`Timers::drain_timeout`](wsmachine::Timers::drain_timeout), so that the peer reads
    /// our Close rather than a reset) before it returns [`Error::Closed`].
    pub fn recv_event(&mut self) -> Result<Received, Error> {
        loop {
            if let Some(r) = &self.report {
                return Err(Error::Closed(r.clone()));
            }
            if let Some(event) = self.conn.poll_event() {
                match event {
                    Event::Message(m) => return Ok(Received::Message(m)),
                    Event::Fragment(f) => return Ok(Received::Fragment(f)),
                    Event::Ping(p) => return Ok(Received::Ping(p)),
                    Event::Pong(p) => return Ok(Received::Pong(p)),
                    // The Close that answers it goes out before the caller sees it.
                    Event::CloseReceived(c) => {
                        let _ = self.write_pending();
                        return Ok(Received::CloseReceived(c));
                    }
                    Event::Error(e) => {
                        let _ = self.write_pending();
                        return Err(error_from(e));
                    }
                    Event::Closed(report) => return Err(Error::Closed(self.closed(report))),
                    _ => continue,
                }
            }
            if let Written::Stalled(e) = self.write_pending() {
                return Err(Error::Io(e));
            }
            self.wait();
        }
    }

    /// The connection is closed: writes what is left (the write side is then shut down) and
    /// reads while the core drains the peer, until it says the transport may close. Keeps
    /// and returns the report.
    fn closed(&mut self, report: CloseReport) -> CloseReport {
        while let Written::Done = self.write_pending() {
            // Without read timeouts a drain could block for ever: the stream is given up.
            if self.conn.should_close_transport() || !self.read_timeouts {
                break;
            }
            self.wait();
        }
        self.report = Some(report.clone());
        report
    }

    /// Polls events until the core reports the close (after a rejection or a failed
    /// handshake nothing else comes), then finishes the transport.
    fn drive_to_closed(&mut self) -> CloseReport {
        loop {
            if let Some(event) = self.conn.poll_event() {
                if let Event::Closed(report) = event {
                    return self.closed(report);
                }
                continue;
            }
            let _ = self.write_pending();
            self.wait();
        }
    }

    /// Drives the handshake: returns the `Request` (server) or `Connected` (client) event.
    pub(crate) fn handshake_event(&mut self) -> Result<Event, Error> {
        let mut error: Option<Error> = None;
        loop {
            if let Some(event) = self.conn.poll_event() {
                match event {
                    Event::Request(_) | Event::Connected(_) => return Ok(event),
                    Event::Error(e) => {
                        error.get_or_insert(error_from(e));
                    }
                    Event::Closed(report) => {
                        let report = self.closed(report);
                        return Err(error.unwrap_or(Error::Closed(report)));
                    }
                    _ => {}
                }
                continue;
            }
            if let Written::Stalled(e) = self.write_pending() {
                return Err(Error::Io(e));
            }
            self.wait();
        }
    }

    /// Applies the server's decision on the pending request and writes the response. A
    /// rejection, or an accept the core refused (it answers 500), closes the connection.
    pub(crate) fn decide(&mut self, decision: &Decision) -> Result<(), Error> {
        let now = self.now();
        let result = self.conn.decide(now, decision);
        if self.conn.is_closed() {
            let report = self.drive_to_closed();
            return Err(match (result, decision) {
                (Err(e), _) => Error::Accept(e),
                (Ok(()), Decision::Reject { status, .. }) => Error::Rejected(*status),
                (Ok(()), Decision::Accept(_)) => Error::Closed(report),
            });
        }
        result?;
        if let Decision::Accept(a) = decision {
            self.subprotocol = a.subprotocol.clone();
        }
        self.write_pending().into_result()
    }
}

impl<S: PeerAddr> WebSocket<S> {
    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<S::Addr> {
        self.stream.peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_set_again_only_when_it_would_fire_late_or_far_too_early() {
        let now = Instant::now();
        let s = Duration::from_secs;
        // Nothing to bound: unset once, then leave alone.
        assert_eq!(timeout_change(Some(s(5)), now, None), Some(None));
        assert_eq!(timeout_change(None, now, None), None);
        // A deadline in 10 s: set it; keep 10 s, or anything between 5 s and 10 s + slack.
        assert_eq!(
            timeout_change(None, now, Some(now + s(10))),
            Some(Some(s(10)))
        );
        assert_eq!(timeout_change(Some(s(10)), now, Some(now + s(10))), None);
        assert_eq!(timeout_change(Some(s(6)), now, Some(now + s(10))), None);
        // Too late, or so early it would wake up for nothing again and again.
        assert_eq!(
            timeout_change(Some(s(11)), now, Some(now + s(10))),
            Some(Some(s(10)))
        );
        assert_eq!(
            timeout_change(Some(s(1)), now, Some(now + s(10))),
            Some(Some(s(10)))
        );
        // A deadline already passed: the shortest timeout, never zero (zero means none).
        assert_eq!(
            timeout_change(None, now + s(1), Some(now)),
            Some(Some(MIN_TIMEOUT))
        );
    }
}
