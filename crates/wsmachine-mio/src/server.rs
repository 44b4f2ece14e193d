//! A single-threaded server for many connections: listener, slab of connections, timer heap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use wsmachine::{Accept, CloseCode, Config, Connection, Decision, Message, Request, SendError};

use crate::connection::{DEFAULT_LINGER, Event, MioConnection};
use crate::error::Error;

const LISTENER: Token = Token(0);
/// Connections accepted per I/O turn before the others get a turn.
const ACCEPTS_PER_TURN: usize = 256;
/// Events handed out between two I/O turns at most (so that replies are written and other
/// sockets read while some connections have a long backlog of events).
const EVENTS_PER_TURN: usize = 64;
/// A connection that still has events to hand out writes its queued output only once this
/// much is pending; otherwise it writes when its events run out, so the replies to all the
/// messages of one read go out in one vectored write instead of one write each.
pub const WRITE_BATCH: usize = 64 << 10;
/// The first pause after a failed `accept` (EMFILE and friends); it doubles while accepts
/// keep failing, up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest pause between two `accept` attempts after failures.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Accept failures are reported at most once per this interval.
const ACCEPT_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// A connection's id: its slab slot plus a generation, so an id never names a later
/// connection that reuses the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    slot: u32,
    generation: u32,
}

impl ConnId {
    /// The `mio` token of this connection.
    pub fn token(&self) -> Token {
        Token(self.slot as usize + 1)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.slot, self.generation)
    }
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The core configuration of every connection (its limits bound each connection's
    /// memory, see [`Server`]).
    pub config: Config,
    /// Supported subprotocols; the first the client offers that is listed here is selected.
    pub subprotocols: Vec<String>,
    /// Extra headers on every accepting response.
    pub headers: Vec<(String, String)>,
    /// The most connections open at once (handshaking, open or closing). A connection
    /// beyond it is accepted and closed at once, before any byte is read or written (its
    /// client sees the connection end or reset); see [`Server::refused`]. Default 10,000.
    pub max_connections: usize,
    /// How long a closed connection may take to write its last bytes (the Close frame, an
    /// HTTP error response) and drain the peer before it is dropped anyway. Default 5 s.
    pub linger: Duration,
    /// Capacity of the readiness event buffer per turn.
    pub events_capacity: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            config: Config::default(),
            subprotocols: Vec::new(),
            headers: Vec::new(),
            max_connections: 10_000,
            linger: DEFAULT_LINGER,
            events_capacity: 1024,
        }
    }
}

type DecideFn = dyn FnMut(&Request, Accept) -> Decision + Send;
type AcceptErrorFn = dyn FnMut(&io::Error, u64) + Send;

struct Entry {
    mc: MioConnection,
    /// The deadline of this entry's live timer-heap item (older items are stale).
    armed: Option<Instant>,
    /// Listed in `Server::dirty`: to drive at the next I/O turn.
    dirty: bool,
    /// Listed in `Server::ready`: may have an event to hand out.
    ready: bool,
}

struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

/// A WebSocket server on one thread, for thousands of connections.
///
/// Ask it for the next event with [`next_event`](Server::next_event) (or a batch with
/// [`run_once`](Server::run_once)); reply with [`send`](Server::send) and the other
/// commands before asking again. Events are parsed only when asked for, one at a time per
/// connection, so a reply to a message is queued before the core looks at what came after
/// it (a failing Close goes out after your reply, as Autobahn 3.2-5.15 require). Replies
/// are written when the connection has no more events to hand out, or once
/// [`WRITE_BATCH`] bytes are pending, so the replies to all the messages of one read go
/// out in one vectored write ([`flush`](Server::flush) writes everything at once).
///
/// Each I/O turn drives the connections that need it through the same loop as a
/// [`MioConnection`] of your own (vectored writes, reads while the core wants input, FIN
/// once closed and written, drop once the core says so), waits for readiness no longer
/// than the earliest deadline (a binary heap of `(deadline, slot, generation)` holding at
/// most one live item per connection; stale items are skipped, and the heap is rebuilt
/// when they pile up), accepts new connections and fires due timers. Handshakes are decided
/// by the options (subprotocols, headers) or by the [`on_request`](Server::on_request)
/// callback. One connection's failure removes only that connection.
///
/// Accepting: past [`ServerOptions::max_connections`] a new connection is closed at once.
/// When `accept` fails (out of file descriptors, memory), accepting pauses 10 ms, doubling
/// while it keeps failing up to 1 s, and the failure is reported at most once a second
/// (to stderr, or to [`on_accept_error`](Server::on_accept_error)).
///
/// Memory per connection follows the core's limits and nothing else: see
/// [`MioConnection`] (input up to `input_high_water + max_frame_size` plus one read of at
/// most 256 KiB, `max_message_size` being assembled, `max_send_queue + max_pong_backlog`
/// of output); the server adds a slab slot and at most one live timer item per connection,
/// and a ready list and a dirty list of at most one entry per connection.
pub struct Server {
    poll: Poll,
    events: Events,
    listener: TcpListener,
    local: SocketAddr,
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    opts: ServerOptions,
    decide: Option<Box<DecideFn>>,
    on_accept_error: Box<AcceptErrorFn>,
    /// Connections to drive at the next I/O turn.
    dirty: Vec<usize>,
    /// The dirty list being driven (kept for its allocation).
    driving: Vec<usize>,
    /// Connections that may have events, in round-robin order, with their generation.
    ready: VecDeque<(usize, u32)>,
    /// Events handed out since the last I/O turn.
    since_io: usize,
    /// The accept budget ran out: accept again next turn without waiting.
    accept_more: bool,
    /// Accepting pauses until then after a failure.
    accept_paused_until: Option<Instant>,
    accept_backoff: Duration,
    accept_errors: u64,
    accept_logged_at: Option<Instant>,
    accept_unlogged: u64,
    refused: u64,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local", &self.local)
            .field("connections", &self.live)
            .field("refused", &self.refused)
            .field("accept_errors", &self.accept_errors)
            .finish_non_exhaustive()
    }
}

/// The pause after one more failed `accept`: 10 ms, then doubling, at most 1 s.
fn next_backoff(previous: Duration) -> Duration {
    (previous * 2).clamp(ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX)
}

fn log_accept_error(e: &io::Error, unreported: u64) {
    if unreported > 0 {
        eprintln!("wsmachine-mio: accept failed: {e} ({unreported} more failures not shown)");
    } else {
        eprintln!("wsmachine-mio: accept failed: {e}");
    }
}

impl Server {
    /// Binds `addr` (e.g. `127.0.0.1:0`) and creates the poll.
    pub fn bind(addr: SocketAddr, opts: ServerOptions) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        Server::from_listener(listener, opts)
    }

    /// Serves on an existing listener (taken from `std`, e.g. to bind it yourself).
    pub fn from_listener(mut listener: TcpListener, opts: ServerOptions) -> io::Result<Server> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let local = listener.local_addr()?;
        let capacity = opts.events_capacity.max(16);
        Ok(Server {
            poll,
            events: Events::with_capacity(capacity),
            listener,
            local,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            timers: BinaryHeap::new(),
            opts,
            decide: None,
            on_accept_error: Box::new(log_accept_error),
            dirty: Vec::new(),
            driving: Vec::new(),
            ready: VecDeque::new(),
            since_io: 0,
            accept_more: false,
            accept_paused_until: None,
            accept_backoff: Duration::ZERO,
            accept_errors: 0,
            accept_logged_at: None,
            accept_unlogged: 0,
            refused: 0,
        })
    }

    /// Sets the decision callback: it gets each valid upgrade request and the default
    /// [`Accept`] (negotiated subprotocol, the options' headers) and returns the decision.
    pub fn on_request(
        &mut self,
        decide: impl FnMut(&Request, Accept) -> Decision + Send + 'static,
    ) {
        self.decide = Some(Box::new(decide));
    }

    /// Sets where accept failures are reported (default: a line on stderr). It is called at
    /// most once per second, with the error and how many failures since the last report
    /// were not reported.
    pub fn on_accept_error(&mut self, report: impl FnMut(&io::Error, u64) + Send + 'static) {
        self.on_accept_error = Box::new(report);
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Open connections (including those still handshaking or closing).
    pub fn connections(&self) -> usize {
        self.live
    }

    /// Connections closed at once because [`ServerOptions::max_connections`] were open.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Failed `accept` calls so far (each one pauses accepting, see [`Server`]).
    pub fn accept_errors(&self) -> u64 {
        self.accept_errors
    }

    /// Ids of all live connections. Cost: a walk over the slab.
    pub fn ids(&self) -> Vec<ConnId> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.entry.is_some())
            .map(|(i, s)| ConnId {
                slot: i as u32,
                generation: s.generation,
            })
            .collect()
    }

    fn entry(&self, id: ConnId) -> Option<&Entry> {
        let s = self.slots.get(id.slot as usize)?;
        if s.generation != id.generation {
            return None;
        }
        s.entry.as_ref()
    }

    fn entry_mut(&mut self, id: ConnId) -> Option<&mut Entry> {
        let s = self.slots.get_mut(id.slot as usize)?;
        if s.generation != id.generation {
            return None;
        }
        s.entry.as_mut()
    }

    fn mark_dirty(&mut self, slot: usize) {
        if let Some(e) = self.slots.get_mut(slot).and_then(|s| s.entry.as_mut()) {
            if !e.dirty {
                e.dirty = true;
                self.dirty.push(slot);
            }
        }
    }

    fn mark_ready(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        if let Some(e) = s.entry.as_mut() {
            if !e.ready {
                e.ready = true;
                self.ready.push_back((slot, s.generation));
            }
        }
    }

    fn with_conn<T>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut MioConnection) -> Result<T, SendError>,
    ) -> Result<T, SendError> {
        let e = self.entry_mut(id).ok_or(SendError::Closed)?;
        let r = f(&mut e.mc);
        self.mark_dirty(id.slot as usize);
        r
    }

    /// Queues a message; it is written at the next I/O turn. [`SendError::QueueFull`] is the
    /// backpressure signal (the peer does not read; retry after later turns, or close); an
    /// unknown id gives `Closed`.
    pub fn send(&mut self, id: ConnId, message: Message) -> Result<(), SendError> {
        self.with_conn(id, |c| c.send(message))
    }

    /// Queues a ping.
    pub fn ping(&mut self, id: ConnId, payload: Bytes) -> Result<(), SendError> {
        self.with_conn(id, |c| c.ping(payload))
    }

    /// Starts the close handshake.
    pub fn close(&mut self, id: ConnId, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.with_conn(id, |c| c.close(code, reason))
    }

    /// Bytes of data that can still be queued on `id` (0 if unknown).
    pub fn send_capacity(&self, id: ConnId) -> usize {
        self.entry(id)
            .map(|e| e.mc.connection().send_capacity())
            .unwrap_or(0)
    }

    /// The peer's address. Valid for an id until the next call after its [`Event::Closed`].
    pub fn peer_addr(&self, id: ConnId) -> Option<SocketAddr> {
        self.entry(id).and_then(|e| e.mc.peer_addr())
    }

    /// The core connection of `id`.
    pub fn connection(&self, id: ConnId) -> Option<&Connection> {
        self.entry(id).map(|e| e.mc.connection())
    }

    /// The adapter connection of `id` (byte counters, state).
    pub fn mio_connection(&self, id: ConnId) -> Option<&MioConnection> {
        self.entry(id).map(|e| &e.mc)
    }

    /// Takes the transcript `id` recorded since the last call, when its config had
    /// `record` set (feature `record`; empty otherwise or for an unknown id). Like
    /// [`peer_addr`](Server::peer_addr), valid until the next call after its
    /// [`Event::Closed`]: take the last piece then. Cost: no copy.
    #[cfg(feature = "record")]
    pub fn take_transcript(&mut self, id: ConnId) -> Vec<u8> {
        self.entry_mut(id)
            .map(|e| e.mc.connection_mut().take_transcript())
            .unwrap_or_default()
    }

    /// Writes every queued send now (normally done by the next I/O turn, or, for a
    /// connection that still has events to hand out, once they run out or
    /// [`WRITE_BATCH`] bytes are pending).
    pub fn flush(&mut self) {
        self.drive_dirty(Instant::now(), true);
    }

    /// The next event of any connection, waiting up to `timeout` (`None`: until there is
    /// one); `Ok(None)` when the time ran out. Connections take turns; one connection's next
    /// event is parsed only now, after whatever you did with its previous one. I/O errors of
    /// a connection are events of that connection; an `Err` is a failure of the poll itself.
    pub fn next_event(&mut self, timeout: Option<Duration>) -> io::Result<Option<(ConnId, Event)>> {
        // The end is computed only once there is nothing to hand out (no clock read per
        // event while events are waiting). No end (wait for ever) for `None` and for
        // timeouts too long to add.
        let mut end: Option<Option<Instant>> = None;
        let mut end_at =
            || *end.get_or_insert_with(|| timeout.and_then(|t| Instant::now().checked_add(t)));
        loop {
            if self.ready.is_empty() || self.since_io >= EVENTS_PER_TURN {
                let wait = if self.ready.is_empty() {
                    end_at().map(|e| e.saturating_duration_since(Instant::now()))
                } else {
                    Some(Duration::ZERO)
                };
                self.io_turn(wait)?;
            }
            if let Some(item) = self.next_ready_event(false) {
                self.since_io += 1;
                return Ok(Some(item));
            }
            if end_at().is_some_and(|e| Instant::now() >= e) {
                return Ok(None);
            }
        }
    }

    /// One turn: an I/O turn (waiting up to `timeout` if no connection has events), then
    /// the next event of each connection that has one: at most one per connection, so its
    /// next one is parsed only at the next call, after your replies to this one.
    pub fn run_once(&mut self, timeout: Option<Duration>) -> io::Result<Vec<(ConnId, Event)>> {
        let wait = if self.ready.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        self.io_turn(wait)?;
        let mut out = Vec::new();
        for _ in 0..self.ready.len() {
            if let Some(item) = self.next_ready_event(true) {
                out.push(item);
            }
        }
        Ok(out)
    }

    /// Takes connections off the ready list until one has an event (`once`: looks at one
    /// list entry only). A connection with an event goes to the back of the list.
    fn next_ready_event(&mut self, once: bool) -> Option<(ConnId, Event)> {
        while let Some((slot, generation)) = self.ready.pop_front() {
            let valid = self
                .slots
                .get(slot)
                .is_some_and(|s| s.generation == generation && s.entry.is_some());
            if valid {
                let id = ConnId {
                    slot: slot as u32,
                    generation,
                };
                let ev = self.poll_conn(id);
                if ev.is_none() {
                    // Out of events: write the replies to them and read more.
                    self.mark_dirty(slot);
                }
                if let Some(entry) = self.slots[slot].entry.as_mut() {
                    if ev.is_some() {
                        self.ready.push_back((slot, generation));
                    } else {
                        entry.ready = false;
                    }
                }
                if let Some(ev) = ev {
                    return Some((id, ev));
                }
            }
            if once {
                break;
            }
        }
        None
    }

    /// Parses the next event of `id`, deciding an upgrade request on the way.
    fn poll_conn(&mut self, id: ConnId) -> Option<Event> {
        let slot = id.slot as usize;
        let entry = self.slots[slot].entry.as_mut()?;
        match entry.mc.poll_event()? {
            Event::Request(req) => {
                let accept = Accept {
                    subprotocol: req
                        .subprotocols
                        .iter()
                        .find(|p| self.opts.subprotocols.iter().any(|s| s == *p))
                        .cloned(),
                    extensions: Vec::new(),
                    headers: self.opts.headers.clone(),
                };
                let decision = match self.decide.as_mut() {
                    Some(f) => f(&req, accept),
                    None => Decision::Accept(accept),
                };
                // An invalid accept makes the core answer 500 and close by itself.
                Some(match entry.mc.decide(&decision) {
                    Err(e) => Event::Error(Error::Accept(e)),
                    Ok(()) => match decision {
                        Decision::Accept(_) => Event::Accepted(req),
                        Decision::Reject { status, .. } => Event::Error(Error::Rejected(status)),
                    },
                })
            }
            other => Some(other),
        }
    }

    /// Drives what is dirty, waits for readiness (up to `wait`, less if a timer or an
    /// accept retry is due sooner, not at all if work is waiting), accepts, marks what is
    /// ready and what timed out, and drives all of it.
    fn io_turn(&mut self, wait: Option<Duration>) -> io::Result<()> {
        self.since_io = 0;
        let now = Instant::now();
        self.drive_dirty(now, false);

        let mut wait = wait;
        if !self.dirty.is_empty() || !self.ready.is_empty() || self.accept_more {
            wait = Some(Duration::ZERO);
        }
        let mut earliest = self.timers.peek().map(|Reverse((t, _, _))| *t);
        if let Some(r) = self.accept_paused_until {
            earliest = Some(earliest.map_or(r, |t| t.min(r)));
        }
        if let Some(t) = earliest {
            let d = t.saturating_duration_since(now);
            wait = Some(wait.map_or(d, |w| w.min(d)));
        }
        match self.poll.poll(&mut self.events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let now = Instant::now();

        let mut accept = self.accept_more;
        for ev in self.events.iter() {
            if ev.token() == LISTENER {
                accept = true;
                continue;
            }
            let slot = ev.token().0 - 1;
            if let Some(e) = self.slots.get_mut(slot).and_then(|s| s.entry.as_mut()) {
                e.mc.note_event(ev);
                if !e.dirty {
                    e.dirty = true;
                    self.dirty.push(slot);
                }
            }
        }
        match self.accept_paused_until {
            Some(t) if t > now => {}
            Some(_) => {
                self.accept_paused_until = None;
                self.accept_connections(now);
            }
            None if accept => self.accept_connections(now),
            None => {}
        }
        while let Some(&Reverse((t, slot, generation))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            let Some(s) = self.slots.get_mut(slot) else {
                continue;
            };
            if s.generation != generation {
                continue;
            }
            let Some(e) = s.entry.as_mut() else { continue };
            if e.armed != Some(t) {
                continue; // stale: a sooner item replaced it
            }
            e.armed = None;
            self.mark_dirty(slot);
        }
        self.drive_dirty(now, false);
        Ok(())
    }

    fn accept_connections(&mut self, now: Instant) {
        self.accept_more = false;
        for _ in 0..ACCEPTS_PER_TURN {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    self.accept_backoff = Duration::ZERO;
                    if self.live >= self.opts.max_connections {
                        self.refused += 1;
                        drop(stream);
                        continue;
                    }
                    self.add_connection(MioConnection::server(stream, self.opts.config), now);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // The client gave up before we accepted: nothing to pause for.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) => {}
                Err(e) => {
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM...: pause rather than spin.
                    self.accept_backoff = next_backoff(self.accept_backoff);
                    self.accept_paused_until = Some(now + self.accept_backoff);
                    self.report_accept_error(&e, now);
                    return;
                }
            }
        }
        self.accept_more = true;
    }

    fn report_accept_error(&mut self, e: &io::Error, now: Instant) {
        self.accept_errors += 1;
        if self
            .accept_logged_at
            .is_none_or(|t| now >= t + ACCEPT_LOG_INTERVAL)
        {
            (self.on_accept_error)(e, self.accept_unlogged);
            self.accept_unlogged = 0;
            self.accept_logged_at = Some(now);
        } else {
            self.accept_unlogged += 1;
        }
    }

    fn add_connection(&mut self, mut mc: MioConnection, now: Instant) {
        mc.set_linger(self.opts.linger);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                self.slots.len() - 1
            }
        };
        if let Err(e) = mc.register(self.poll.registry(), Token(slot + 1)) {
            self.free.push(slot);
            self.report_accept_error(&e, now);
            return;
        }
        self.slots[slot].entry = Some(Entry {
            mc,
            armed: None,
            dirty: false,
            ready: false,
        });
        self.live += 1;
        // The request may be there already: the turn's drive reads it.
        self.mark_dirty(slot);
    }

    fn remove(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        if let Some(mut e) = s.entry.take() {
            let _ = e.mc.deregister(self.poll.registry());
            s.generation = s.generation.wrapping_add(1);
            self.free.push(slot);
            self.live -= 1;
        }
    }

    /// Drives every dirty connection once (those with work left over are dirty again for
    /// the next turn). Unless `force`, a connection that still has events to hand out and
    /// less than [`WRITE_BATCH`] bytes to write is skipped and stays dirty: it is driven when
    /// its events run out (it has unparsed input, so reading more can wait too).
    fn drive_dirty(&mut self, now: Instant, force: bool) {
        std::mem::swap(&mut self.dirty, &mut self.driving);
        for i in 0..self.driving.len() {
            let slot = self.driving[i];
            self.drive(slot, now, force);
        }
        self.driving.clear();
        if self.timers.len() > 2 * self.live + 64 {
            self.rebuild_timers();
        }
    }

    /// One connection's I/O, then its place in the ready list, the dirty list (work left
    /// over: the read budget ran out) and the timer heap; drops it once finished. Deferred
    /// (see [`drive_dirty`](Server::drive_dirty)) while the connection has events to hand
    /// out and little to write, unless `force`.
    fn drive(&mut self, slot: usize, now: Instant, force: bool) {
        let generation = self.slots[slot].generation;
        let Some(e) = self.slots[slot].entry.as_mut() else {
            return;
        };
        if !force && e.ready && e.mc.connection().pending_transmit() < WRITE_BATCH {
            // Stays dirty (for `flush`); driven once its events run out.
            self.dirty.push(slot);
            return;
        }
        e.dirty = false;
        let news = e.mc.drive(self.poll.registry(), now);
        if e.mc.is_finished() {
            self.remove(slot);
            return;
        }
        let again = e.mc.needs_drive();
        if let Some(want) = e.mc.deadline() {
            if e.armed.is_none_or(|a| want < a) {
                e.armed = Some(want);
                self.timers.push(Reverse((want, slot, generation)));
            }
        }
        if news {
            self.mark_ready(slot);
        }
        if again {
            self.mark_dirty(slot);
        }
    }

    /// Drops stale timer items: one item per connection with a deadline.
    fn rebuild_timers(&mut self) {
        let items: Vec<_> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let armed = s.entry.as_ref()?.armed?;
                Some(Reverse((armed, i, s.generation)))
            })
            .collect();
        self.timers = BinaryHeap::from(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn accept_backoff_doubles_from_10_ms_to_1_s() {
        let mut b = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..10 {
            b = next_backoff(b);
            seen.push(b.as_millis());
        }
        assert_eq!(seen, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    }

    #[test]
    fn accept_errors_are_reported_at_most_once_a_second() {
        let mut server =
            Server::bind("127.0.0.1:0".parse().unwrap(), ServerOptions::default()).unwrap();
        let reports = Arc::new(Mutex::new(Vec::new()));
        let r = Arc::clone(&reports);
        server.on_accept_error(move |e, unreported| {
            r.lock().unwrap().push((e.raw_os_error(), unreported));
        });
        let e = io::Error::from_raw_os_error(24); // EMFILE
        let t0 = Instant::now();
        for i in 0..1000 {
            // 1000 failures within 999 ms: one report.
            server.report_accept_error(&e, t0 + Duration::from_millis(i));
        }
        server.report_accept_error(&e, t0 + Duration::from_millis(1000));
        server.report_accept_error(&e, t0 + Duration::from_millis(1001));
        assert_eq!(*reports.lock().unwrap(), [(Some(24), 0), (Some(24), 999)]);
        assert_eq!(server.accept_errors(), 1002);
    }
}
