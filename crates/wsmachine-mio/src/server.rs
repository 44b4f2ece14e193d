//! A single-threaded server for many connections: listener, slab of connections, timer heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use wsmachine::{Accept, CloseCode, Config, Connection, Decision, Message, Request, SendError};

use crate::connection::{Event, MioConnection};
use crate::error::Error;

const LISTENER: Token = Token(0);
const ACCEPTS_PER_TURN: usize = 1024;

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
    /// The core configuration of every connection.
    pub config: Config,
    /// Supported subprotocols; the first the client offers that is listed here is selected.
    pub subprotocols: Vec<String>,
    /// Extra headers on every accepting response.
    pub headers: Vec<(String, String)>,
    /// Connections above this are closed as soon as they are accepted.
    pub max_connections: usize,
    /// How long a closed connection may take to write its last bytes (the Close frame, an
    /// HTTP error response) before it is dropped.
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
            max_connections: 100_000,
            linger: Duration::from_secs(5),
            events_capacity: 1024,
        }
    }
}

type DecideFn = dyn FnMut(&Request, Accept) -> Decision + Send;

struct Entry {
    mc: MioConnection,
    /// The deadline currently in the heap for this entry.
    armed: Option<Instant>,
    /// Queued in `dirty` this turn.
    dirty: bool,
    /// Closed: drop it by then even if its last bytes are not written.
    linger_until: Option<Instant>,
}

struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

/// A WebSocket server on one thread: call [`run_once`](Server::run_once) in a loop.
///
/// Each turn: queued sends are written (one vectored write burst per connection), readiness is
/// awaited (bounded by the caller's timeout and the earliest timer), new connections are
/// accepted, input is read and parsed, expired timers fire (a binary heap of
/// `(deadline, slot, generation)`, stale entries skipped), and application events are
/// returned. Handshakes are decided by the options (subprotocols, headers) or by the
/// [`on_request`](Server::on_request) callback.
pub struct Server {
    poll: Poll,
    events: Events,
    listener: TcpListener,
    local: SocketAddr,
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    origin: Instant,
    opts: ServerOptions,
    decide: Option<Box<DecideFn>>,
    dirty: Vec<usize>,
    again: Vec<usize>,
    remove: Vec<usize>,
    accept_again: bool,
    accept_retry: Option<Instant>,
    scratch: Vec<u8>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local", &self.local)
            .field("connections", &self.live)
            .finish_non_exhaustive()
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
        Ok(Server {
            poll,
            events: Events::with_capacity(opts.events_capacity.max(16)),
            listener,
            local,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            timers: BinaryHeap::new(),
            origin: Instant::now(),
            opts,
            decide: None,
            dirty: Vec::new(),
            again: Vec::new(),
            remove: Vec::new(),
            accept_again: false,
            accept_retry: None,
            scratch: vec![0; 256 * 1024],
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

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Open connections (including those still handshaking or lingering).
    pub fn connections(&self) -> usize {
        self.live
    }

    /// Ids of all live connections.
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
        if let Some(e) = self.slots[slot].entry.as_mut() {
            if !e.dirty {
                e.dirty = true;
                self.dirty.push(slot);
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

    /// Queues a message; it is written at the start of the next turn.
    /// [`SendError::QueueFull`] is the backpressure signal; an unknown id gives `Closed`.
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

    /// The peer's address. Valid for an id until the turn after its [`Event::Closed`].
    pub fn peer_addr(&self, id: ConnId) -> Option<SocketAddr> {
        self.entry(id).and_then(|e| e.mc.peer_addr())
    }

    /// The core connection of `id`.
    pub fn connection(&self, id: ConnId) -> Option<&Connection> {
        self.entry(id).map(|e| e.mc.connection())
    }

    /// Writes every queued send now (normally done at the start of each turn).
    pub fn flush(&mut self) -> Vec<(ConnId, Event)> {
        let mut out = Vec::new();
        self.service_dirty(Instant::now(), &mut out);
        out
    }

    /// One loop turn: writes queued sends, waits up to `timeout` (`None`: until something
    /// happens) for readiness or the next timer, handles it, and returns the events.
    pub fn run_once(&mut self, timeout: Option<Duration>) -> io::Result<Vec<(ConnId, Event)>> {
        let mut out = Vec::new();
        for slot in std::mem::take(&mut self.remove) {
            self.drop_slot(slot);
        }
        let now = Instant::now();
        self.service_dirty(now, &mut out);
        if !out.is_empty() {
            return Ok(out);
        }

        let mut wait = timeout;
        if !self.again.is_empty() || self.accept_again {
            wait = Some(Duration::ZERO);
        }
        let mut earliest = self.timers.peek().map(|Reverse((t, _, _))| *t);
        if let Some(r) = self.accept_retry {
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

        let mut accept = self.accept_again || self.accept_retry.is_some_and(|t| t <= now);
        let ready: Vec<(Token, bool, bool, bool)> = self
            .events
            .iter()
            .map(|e| {
                (
                    e.token(),
                    e.is_writable() || e.is_error(),
                    e.is_readable() || e.is_read_closed() || e.is_error(),
                    false,
                )
            })
            .collect();
        for (token, writable, readable, _) in ready {
            if token == LISTENER {
                accept = true;
                continue;
            }
            let slot = token.0 - 1;
            let Some(e) = self.slots.get_mut(slot).and_then(|s| s.entry.as_mut()) else {
                continue;
            };
            if writable {
                e.mc.on_writable(now);
            }
            if readable {
                e.mc.on_readable_with(now, &mut self.scratch);
            }
            self.mark_dirty(slot);
        }
        for slot in std::mem::take(&mut self.again) {
            if let Some(e) = self.slots.get_mut(slot).and_then(|s| s.entry.as_mut()) {
                e.mc.on_readable_with(now, &mut self.scratch);
                self.mark_dirty(slot);
            }
        }
        if accept {
            self.accept_all(now);
        }
        while let Some(Reverse((t, slot, generation))) = self.timers.peek().copied() {
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
                continue; // stale
            }
            e.armed = None;
            e.mc.on_timeout(now);
            self.mark_dirty(slot);
        }
        self.service_dirty(now, &mut out);
        Ok(out)
    }

    fn accept_all(&mut self, now: Instant) {
        self.accept_again = false;
        self.accept_retry = None;
        for _ in 0..ACCEPTS_PER_TURN {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if self.live >= self.opts.max_connections {
                        drop(stream);
                        continue;
                    }
                    let mc = MioConnection::server(stream, self.opts.config, self.origin);
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
                    let s = &mut self.slots[slot];
                    s.entry = Some(Entry {
                        mc,
                        armed: None,
                        dirty: false,
                        linger_until: None,
                    });
                    let token = Token(slot + 1);
                    let registered = match s.entry.as_mut() {
                        Some(e) => e.mc.register(self.poll.registry(), token),
                        None => Ok(()),
                    };
                    self.live += 1;
                    if registered.is_err() {
                        self.drop_slot(slot);
                        continue;
                    }
                    // Data may already be there: read it without waiting for an edge.
                    if let Some(e) = self.slots[slot].entry.as_mut() {
                        e.mc.on_readable_with(now, &mut self.scratch);
                    }
                    self.mark_dirty(slot);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // EMFILE and friends: try again shortly rather than spin.
                    self.accept_retry = Some(now + Duration::from_millis(10));
                    return;
                }
            }
        }
        self.accept_again = true;
    }

    fn drop_slot(&mut self, slot: usize) {
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

    /// Services every connection touched this turn: timers due, events, decisions, writes,
    /// timer re-arming, removal.
    fn service_dirty(&mut self, now: Instant, out: &mut Vec<(ConnId, Event)>) {
        let mut i = 0;
        while i < self.dirty.len() {
            let slot = self.dirty[i];
            i += 1;
            self.service(slot, now, out);
        }
        self.dirty.clear();
    }

    fn service(&mut self, slot: usize, now: Instant, out: &mut Vec<(ConnId, Event)>) {
        let generation = self.slots[slot].generation;
        let id = ConnId {
            slot: slot as u32,
            generation,
        };
        let Some(e) = self.slots[slot].entry.as_mut() else {
            return;
        };
        e.dirty = false;
        if e.mc.deadline().is_some_and(|d| d <= now) {
            e.mc.on_timeout(now);
        }
        loop {
            while let Some(ev) = e.mc.poll_event() {
                match ev {
                    Event::Request(req) => {
                        let mut accept = Accept {
                            subprotocol: req
                                .subprotocols
                                .iter()
                                .find(|p| self.opts.subprotocols.iter().any(|s| s == *p))
                                .cloned(),
                            extensions: Vec::new(),
                            headers: self.opts.headers.clone(),
                        };
                        let decision = match self.decide.as_mut() {
                            Some(f) => f(&req, std::mem::take(&mut accept)),
                            None => Decision::Accept(accept),
                        };
                        match decision {
                            Decision::Accept(a) => match e.mc.accept(&a) {
                                Ok(()) => out.push((id, Event::Accepted(req))),
                                Err(err) => {
                                    out.push((id, Event::Error(Error::Accept(err))));
                                    let _ = e.mc.reject(500, &[], b"");
                                }
                            },
                            Decision::Reject {
                                status,
                                headers,
                                body,
                            } => {
                                out.push((id, Event::Error(Error::Rejected(status))));
                                let _ = e.mc.reject(status, &headers, &body);
                            }
                        }
                        // Open timers start pending: give them the clock.
                        e.mc.on_timeout(now);
                    }
                    other => out.push((id, other)),
                }
            }
            e.mc.flush();
            // A failed write can produce more events (Closed); drain them too.
            if !e.mc.is_closed() && e.mc.connection().is_closed() {
                continue;
            }
            break;
        }
        if e.mc.wants_read() {
            self.again.push(slot);
        }
        if e.mc.is_closed() {
            if e.mc.is_finished() {
                self.remove.push(slot);
                e.armed = None;
                return;
            }
            if e.linger_until.is_none() {
                e.linger_until = Some(now + self.opts.linger);
            }
        }
        let next = match e.linger_until {
            Some(l) if l <= now => {
                self.remove.push(slot);
                e.armed = None;
                return;
            }
            Some(l) => Some(l),
            None => e.mc.deadline(),
        };
        if next != e.armed {
            e.armed = next;
            if let Some(t) = next {
                self.timers.push(Reverse((t, slot, generation)));
            }
        }
    }
}
