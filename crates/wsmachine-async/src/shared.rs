//! The connection state every handle shares: the core [`Connection`], the stream and the
//! timer behind one mutex. There is no driver task: whichever handle is polled does the
//! I/O the driver contract asks for, under the lock, with `&mut` access to everything.
//!
//! - The stream and the timer are always polled with one waker of the connection's own, a
//!   [`FanOut`], which wakes every task waiting on the connection (the receiving task and the
//!   sending tasks). So a readiness or a deadline reaches whoever waits, whichever handle
//!   polled last, and a handle polled from another task never steals a waker.
//! - A task registers in the fan-out only when it is about to wait, then tries once more
//!   before returning `Pending` (no lost wake-up, no spurious wake-up on the common path).
//!   The receiving task tries again only if a wake-up came while it was not registered
//!   (the fan-out records that), which saves a second pass over the I/O on every wait.
//! - Only the receiving side (the [`Receiver`](crate::Receiver), or the background task that
//!   replaces it once it is dropped) calls `poll_event`, and only when asked for its next
//!   item: the core never parses ahead of the application. It reads the stream when the core
//!   has no event to give; a sender that has to wait reads too (never parsing), while the
//!   core wants input.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use bytes::BytesMut;
use wsmachine::io::IoDirection;
use wsmachine::{CloseCode, CloseReport, Connection, Event, Message, SendError, State, Timestamp};

use crate::config::Config;
use crate::error::Error;
use crate::runtime::{Alarm, Runtime, Transport};
use crate::socket::Incoming;

/// Rounds of I/O per poll before yielding to the scheduler.
const BUDGET: usize = 32;
/// Slices per vectored write.
const SLICES: usize = 16;
/// The most one read takes of the rest of a large frame: a few reads for a 1 MiB frame
/// instead of one per `read_size`, yet what one read brings (with the kernel's copy of it)
/// is still in a 1 MiB L2 cache when the core unmasks it. One 1 MiB read is slower.
const LARGE_READ: usize = 256 << 10;

/// The tasks waiting on one connection.
#[derive(Default)]
struct Slots {
    /// The receiving task.
    rx: Option<Waker>,
    /// Sending tasks (waiting for room, for a flush, or for the end).
    tx: Vec<Waker>,
}

/// The waker handed to the stream and the timer: it wakes every waiting task. It holds no
/// reference to the connection (only task wakers), so no reference cycle goes through the
/// I/O driver.
#[derive(Default)]
pub(crate) struct FanOut {
    slots: Mutex<Slots>,
    /// `slots.rx` is set; written under the `slots` lock (see [`FanOut::wake_rx_if_waiting`]).
    rx_waiting: AtomicBool,
    /// A wake-up for the receiver came while none was registered (it was running, or about
    /// to register); written under the `slots` lock, taken by the next registration.
    rx_missed: AtomicBool,
}

impl FanOut {
    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The receiving task waits. Returns whether a wake-up came since it last registered
    /// while none was registered: then it must look again before it waits (what woke it
    /// may have been missed), else it may wait at once.
    pub(crate) fn register_rx(&self, waker: &Waker) -> bool {
        let mut s = self.slots();
        match &s.rx {
            Some(w) if w.will_wake(waker) => {}
            _ => s.rx = Some(waker.clone()),
        }
        self.rx_waiting.store(true, Ordering::Release);
        self.rx_missed.swap(false, Ordering::AcqRel)
    }

    /// A sending task waits.
    pub(crate) fn register_tx(&self, waker: &Waker) {
        let mut s = self.slots();
        if !s.tx.iter().any(|w| w.will_wake(waker)) {
            s.tx.push(waker.clone());
        }
    }

    /// Wakes the receiving task, if it waits.
    pub(crate) fn wake_rx(&self) {
        let w = self.take_rx(&mut self.slots());
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Takes the receiver's waker to wake it (under the `slots` lock), or records that a
    /// wake-up found none.
    fn take_rx(&self, s: &mut Slots) -> Option<Waker> {
        self.rx_waiting.store(false, Ordering::Release);
        let w = s.rx.take();
        if w.is_none() {
            self.rx_missed.store(true, Ordering::Release);
        }
        w
    }

    /// [`wake_rx`](Self::wake_rx) without taking the lock when no receiver waits: for a
    /// caller that changed the connection under its lock, which the receiver also holds
    /// while it looks and then registers (so it either saw the change itself or registered
    /// before it, and then this sees the flag). Cost: one atomic load.
    pub(crate) fn wake_rx_if_waiting(&self) {
        if self.rx_waiting.load(Ordering::Acquire) {
            self.wake_rx();
        }
    }

    /// Wakes the sending tasks that wait.
    pub(crate) fn wake_tx(&self) {
        let tx = {
            let mut s = self.slots();
            if s.tx.is_empty() {
                return;
            }
            std::mem::take(&mut s.tx)
        };
        self.wake_senders(tx);
    }

    /// Wakes `tx` (taken from `slots.tx`, outside the lock), then gives the list's
    /// allocation back for the next waiters.
    fn wake_senders(&self, mut tx: Vec<Waker>) {
        if tx.is_empty() {
            return;
        }
        for w in tx.drain(..) {
            w.wake();
        }
        let mut s = self.slots();
        if s.tx.is_empty() {
            s.tx = tx;
        }
    }

    /// The stream or the timer is ready: wakes every waiting task, with one lock.
    fn wake_all(&self) {
        let (rx, tx) = {
            let mut s = self.slots();
            let rx = self.take_rx(&mut s);
            let tx = if s.tx.is_empty() {
                Vec::new()
            } else {
                std::mem::take(&mut s.tx)
            };
            (rx, tx)
        };
        if let Some(w) = rx {
            w.wake();
        }
        self.wake_senders(tx);
    }
}

impl Wake for FanOut {
    fn wake(self: Arc<Self>) {
        self.wake_all();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_all();
    }
}

/// What one attempt at an operation came to.
pub(crate) enum Step<T> {
    /// Done.
    Ready(T),
    /// Waiting for the stream, the timer or another task.
    Pending,
    /// Made progress for a whole budget: yield to the scheduler, then go on.
    Yield,
}

/// Output pending at which the receiving side writes at once instead of when its events
/// run out, and at which [`Sender::feed`](crate::Sender::feed) writes.
pub(crate) const WRITE_BATCH: usize = 64 << 10;

/// Everything behind the lock.
pub(crate) struct Inner {
    pub(crate) conn: Connection,
    /// The stream (type-erased, so that the handles are not generic), until the transport
    /// is over.
    io: Option<Box<dyn Transport>>,
    /// The clock, the timers and the spawner.
    runtime: Arc<dyn Runtime>,
    origin: Instant,
    /// Made at the first deadline, then re-armed.
    alarm: Option<Box<dyn Alarm>>,
    read_size: usize,
    linger: std::time::Duration,
    /// Set once the connection is closed or abandoned: drop the stream by then at the latest.
    linger_until: Option<Instant>,
    /// EOF or a read error: read no more.
    read_done: bool,
    /// Our write side is shut (FIN sent) or dead.
    write_done: bool,
    needs_flush: bool,
    /// Bytes written since the start (to tell a sender when its message is out).
    pub(crate) written: u64,
    /// Times `handle_timeout` ran (to wake the receiver when a sender fired a timer).
    fired: u64,
    /// Reads that fed the core (to wake the receiver when a sender read for it).
    reads: u64,
    /// The first I/O error, reported as an `Err` item before the end.
    io_error: Option<io::Error>,
    /// Boxed, like `stash`: only a closed connection has one, and every idle one would
    /// otherwise carry its size.
    pub(crate) report: Option<Box<CloseReport>>,
    /// The `Closed` item held back behind the I/O error.
    stash: Option<Box<Incoming>>,
    /// `Event::Closed` was pulled from the core.
    closed_seen: bool,
}

impl Inner {
    fn new(
        io: Box<dyn Transport>,
        runtime: Arc<dyn Runtime>,
        conn: Connection,
        origin: Instant,
        config: &Config,
    ) -> Inner {
        Inner {
            conn,
            io: Some(io),
            runtime,
            origin,
            alarm: None,
            read_size: config.read_size.max(512),
            linger: config.linger,
            linger_until: None,
            read_done: false,
            write_done: false,
            needs_flush: false,
            written: 0,
            fired: 0,
            reads: 0,
            io_error: None,
            report: None,
            stash: None,
            closed_seen: false,
        }
    }

    /// The connection's clock: time since its origin.
    pub(crate) fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.runtime.now().saturating_duration_since(self.origin))
    }

    /// Whether the transport is over (the stream was dropped).
    pub(crate) fn finished(&self) -> bool {
        self.io.is_none()
    }

    // ----- the I/O of the driver contract -----

    /// Timers, due ones only (the caller read the clock once): runs
    /// `handle_timeout` when the core's deadline passed and drops the stream when the linger
    /// deadline passed.
    fn fire_due_timers(&mut self, now: Instant) -> bool {
        if self.io.is_none() {
            return false;
        }
        let ts = Timestamp::from_duration(now.saturating_duration_since(self.origin));
        let mut progress = false;
        if self.conn.poll_timeout().is_some_and(|d| d <= ts) {
            self.conn.handle_timeout(ts);
            self.fired += 1;
            progress = true;
        }
        if self.linger_until.is_some_and(|l| l <= now) {
            self.give_up();
            progress = true;
        }
        progress
    }

    /// Sleeps until the next deadline (the core's, or the linger); `true` if it is due.
    fn arm_timer(&mut self, cx: &mut Context<'_>) -> bool {
        if self.io.is_none() {
            return false;
        }
        let core = self
            .conn
            .poll_timeout()
            .map(|d| self.origin + d.as_duration());
        let at = match (core, self.linger_until) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return false,
        };
        let runtime = &self.runtime;
        let alarm = self.alarm.get_or_insert_with(|| runtime.alarm());
        if alarm.poll_until(cx, at).is_pending() {
            return false;
        }
        // The timer may round: act as of the deadline at least.
        let now = self.runtime.now().max(at);
        self.fire_due_timers(now)
    }

    /// Writes what the core has queued (vectored, no copy), then flushes.
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(io) = self.io.as_mut() else {
            return false;
        };
        if self.write_done {
            return false;
        }
        let mut progress = false;
        while self.conn.pending_transmit() > 0 {
            let mut slices = [IoSlice::new(&[]); SLICES];
            let n = self.conn.transmit_io_slices(&mut slices);
            // One slice is a plain write (`send`), as `Connection::write_transmit_io` does.
            let written = match &slices[..n] {
                [one] => io.poll_write(cx, one),
                many => io.poll_write_vectored(cx, many),
            };
            match written {
                Poll::Ready(Ok(0)) => {
                    self.write_failed(io::Error::from(io::ErrorKind::WriteZero));
                    return true;
                }
                Poll::Ready(Ok(n)) => {
                    self.conn.advance_transmit(n);
                    self.written += n as u64;
                    self.needs_flush = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) => {
                    if self.conn.handle_io_error(&e, IoDirection::Write) {
                        self.write_failed(e);
                        return true;
                    }
                    if e.kind() != io::ErrorKind::Interrupted {
                        // WouldBlock from a stream that did not register a wake-up.
                        cx.waker().wake_by_ref();
                        return progress;
                    }
                }
                Poll::Pending => return progress,
            }
        }
        if self.needs_flush {
            match io.poll_flush(cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(e)) => {
                    if self.conn.handle_io_error(&e, IoDirection::Write) {
                        self.write_failed(e);
                        return true;
                    }
                    cx.waker().wake_by_ref();
                }
                Poll::Pending => {}
            }
        }
        progress
    }

    /// The core was told; remember the error for the application.
    fn write_failed(&mut self, e: io::Error) {
        if e.kind() == io::ErrorKind::WriteZero {
            self.conn.handle_io_error(&e, IoDirection::Write);
        }
        self.write_done = true;
        self.needs_flush = false;
        self.io_error.get_or_insert(e);
    }

    /// Once the core is closed and everything is written: FIN (once), then drop the stream
    /// when the core says so (after the drain that follows a failure).
    fn poll_end(&mut self, cx: &mut Context<'_>) -> bool {
        if self.io.is_none() || !self.conn.is_closed() {
            return false;
        }
        if self.linger_until.is_none() {
            self.linger_until = Some(self.runtime.now() + self.linger);
        }
        let mut progress = false;
        if !self.write_done && self.conn.pending_transmit() == 0 && !self.needs_flush {
            if let Some(io) = self.io.as_mut() {
                if io.poll_shutdown(cx).is_ready() {
                    self.write_done = true;
                    progress = true;
                }
            }
        }
        if self.write_done && self.conn.should_close_transport() {
            self.drop_stream();
            progress = true;
        }
        progress
    }

    fn drop_stream(&mut self) {
        self.io = None;
        self.alarm = None;
        self.read_done = true;
        self.write_done = true;
    }

    /// The linger ran out: drop the stream; the core learns the transport is gone.
    fn give_up(&mut self) {
        if self.io.is_some() {
            self.drop_stream();
            if !self.conn.is_closed() {
                self.conn.handle_reset();
            }
        }
    }

    /// Reads once, straight into the core's receive buffer, while the core wants input.
    fn poll_read(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        if self.read_done || !self.conn.wants_input() {
            return false;
        }
        let Some(io) = self.io.as_mut() else {
            return false;
        };
        // `read_size` bytes, or while a large frame arrives up to `LARGE_READ` of its rest
        // and the next header (the core reserved room for them) but never further: the
        // next frame's payload then lands in room reserved for all of it.
        let max = self
            .conn
            .read_limit()
            .map_or(self.read_size, |cap| cap.min(LARGE_READ));
        let buf = self.conn.input_buffer(self.read_size);
        let res = io.poll_read_into(cx, buf, max);
        let ts = Timestamp::from_duration(now.saturating_duration_since(self.origin));
        if res.is_ready() {
            self.reads += 1;
        }
        match res {
            Poll::Pending => {
                // Nothing to read: an idle connection keeps no receive buffer.
                if buf.is_empty() && buf.capacity() > 0 {
                    *buf = BytesMut::new();
                }
                false
            }
            Poll::Ready(Ok(0)) => {
                self.conn.handle_input_appended(ts);
                self.read_done = true;
                self.conn.handle_eof();
                true
            }
            Poll::Ready(Ok(_)) => {
                self.conn.handle_input_appended(ts);
                true
            }
            Poll::Ready(Err(e)) => {
                self.conn.handle_input_appended(ts);
                if self.conn.handle_io_error(&e, IoDirection::Read) {
                    self.read_done = true;
                    self.io_error.get_or_insert(e);
                } else if e.kind() != io::ErrorKind::Interrupted {
                    cx.waker().wake_by_ref();
                    return false;
                }
                true
            }
        }
    }

    /// One round of I/O: due timers, writes, the transport's end, one read (if `read`);
    /// with no progress, arms the timer. Returns whether anything moved.
    pub(crate) fn poll_io(&mut self, cx: &mut Context<'_>, read: bool) -> bool {
        let now = self.runtime.now();
        self.poll_io_at(cx, read, now)
    }

    /// [`poll_io`](Self::poll_io) with the time read by the caller.
    fn poll_io_at(&mut self, cx: &mut Context<'_>, read: bool, now: Instant) -> bool {
        let mut progress = self.fire_due_timers(now);
        progress |= self.poll_write(cx);
        progress |= self.poll_end(cx);
        if read {
            progress |= self.poll_read(cx, now);
        }
        if !progress {
            progress = self.arm_timer(cx);
        }
        progress
    }

    // ----- the receiving side -----

    /// The application's next item: events parsed one at a time, only now; reads only when
    /// the core has no event to give. After `Closed`, keeps driving the transport to its
    /// end (write, FIN, drain), then `None`.
    pub(crate) fn poll_next_item(&mut self, cx: &mut Context<'_>) -> Step<Option<Incoming>> {
        // The clock is read once per call, at the first round of I/O: the rounds of one
        // call follow each other at once (a write, then the read that finds nothing).
        let mut now = None;
        for _ in 0..BUDGET {
            if let Some(item) = self.stash.take() {
                return Step::Ready(Some(*item));
            }
            if !self.closed_seen {
                if let Some(event) = self.conn.poll_event() {
                    // Replies, pongs and the Close echo go out when the events run out
                    // (`poll_io` below, before waiting for input) or once `WRITE_BATCH`
                    // bytes are pending: one write for the replies to the messages of one
                    // read, not one per message. The core keeps them in order before any
                    // later Close, whenever they are written.
                    if self.conn.pending_transmit() >= WRITE_BATCH || self.conn.is_closed() {
                        self.poll_write(cx);
                        self.poll_end(cx);
                    }
                    match self.item(event) {
                        Some(item) => return Step::Ready(Some(item)),
                        None => continue,
                    }
                }
            } else if self.io.is_none() {
                return Step::Ready(None);
            }
            let at = *now.get_or_insert_with(|| self.runtime.now());
            if !self.poll_io_at(cx, true, at) {
                return Step::Pending;
            }
        }
        Step::Yield
    }

    fn item(&mut self, event: Event) -> Option<Incoming> {
        Some(match event {
            Event::Message(m) => Incoming::Message(m),
            Event::Fragment(f) => Incoming::Fragment(f),
            Event::Ping(p) => Incoming::Ping(p),
            Event::Pong(p) => Incoming::Pong(p),
            Event::CloseReceived(f) => Incoming::Close(f),
            Event::Error(e) => Incoming::Error(Error::from_connection(e)),
            Event::Closed(report) => {
                self.closed_seen = true;
                self.report = Some(Box::new(report.clone()));
                match self.io_error.take() {
                    Some(e) => {
                        self.stash = Some(Box::new(Incoming::Closed(report)));
                        Incoming::Error(Error::Io(e))
                    }
                    None => Incoming::Closed(report),
                }
            }
            _ => return None,
        })
    }

    /// Opening handshake: drives until `Request` (server) or `Connected` (client); on
    /// failure, drives the transport to its end (the HTTP error response goes out) and
    /// gives the error.
    pub(crate) fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Step<Result<Event, Error>> {
        for _ in 0..BUDGET {
            if !self.closed_seen {
                if let Some(event) = self.conn.poll_event() {
                    match event {
                        Event::Request(_) | Event::Connected(_) => return Step::Ready(Ok(event)),
                        Event::Error(e) => {
                            self.stash = Some(Box::new(Incoming::Error(Error::from_connection(e))));
                        }
                        Event::Closed(report) => {
                            self.closed_seen = true;
                            self.report = Some(Box::new(report));
                        }
                        _ => {}
                    }
                    continue;
                }
            } else if self.io.is_none() {
                let error = match (self.stash.take().map(|b| *b), self.io_error.take()) {
                    (Some(Incoming::Error(e)), _) => e,
                    (_, Some(e)) => Error::Io(e),
                    _ => Error::Io(io::Error::from(io::ErrorKind::UnexpectedEof)),
                };
                return Step::Ready(Err(error));
            }
            if !self.poll_io(cx, true) {
                return Step::Pending;
            }
        }
        Step::Yield
    }

    // ----- the sending side -----

    /// The error a send gets from the connection's state, if it cannot send now.
    pub(crate) fn send_refusal(&self) -> Option<Error> {
        match self.conn.state() {
            State::Open => None,
            State::Connecting => Some(Error::Send(SendError::NotOpen)),
            State::Closing => Some(Error::Send(SendError::Closing)),
            State::Closed => Some(Error::closed()),
        }
    }

    /// Queues `message` if the send queue has room for it; gives it back if not. A message
    /// that cannot fit even in an empty queue is an error.
    pub(crate) fn try_queue(&mut self, message: Message) -> Result<Option<Message>, Error> {
        if let Some(e) = self.send_refusal() {
            return Err(e);
        }
        self.check_cost(message.payload().len())?;
        if self.conn.config().send_queue_cost(message.payload().len()) > self.conn.send_capacity() {
            return Ok(Some(message));
        }
        self.conn.send(message).map_err(Error::Send)?;
        Ok(None)
    }

    /// Refuses a payload that could never fit in the send queue.
    pub(crate) fn check_cost(&self, len: usize) -> Result<(), Error> {
        let config = self.conn.config();
        let limit = config.limits.max_send_queue;
        if config.send_queue_cost(len) > limit {
            let queued = limit - self.conn.send_capacity();
            return Err(Error::Send(SendError::QueueFull { queued, limit }));
        }
        Ok(())
    }

    /// Whether `len` payload bytes fit in the send queue now.
    pub(crate) fn has_room(&self, len: usize) -> bool {
        self.conn.config().send_queue_cost(len) <= self.conn.send_capacity()
    }

    /// The byte count `written` reaches once everything queued so far is written.
    pub(crate) fn flush_target(&self) -> u64 {
        self.written + self.conn.pending_transmit() as u64
    }

    /// Whether everything up to `target` is written (or nothing more can be).
    pub(crate) fn flushed(&self, target: u64) -> bool {
        self.written >= target || self.conn.pending_transmit() == 0
    }

    /// Every handle is gone: close normally (if open) and bound the rest by the linger.
    fn abandon(&mut self) {
        if self.conn.state() == State::Open {
            let now = self.now();
            let _ = self.conn.close(now, CloseCode::NORMAL, "");
        }
        if self.linger_until.is_none() && self.io.is_some() {
            self.linger_until = Some(self.runtime.now() + self.linger);
        }
    }
}

/// One connection, shared by its handles.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    pub(crate) fanout: Arc<FanOut>,
    /// The fan-out as a waker, for the stream and the timer.
    io_waker: Waker,
    pub(crate) peer_addr: Option<SocketAddr>,
    /// Live `Sender`s.
    pub(crate) senders: AtomicUsize,
    /// The `Receiver` lives.
    pub(crate) receiver: AtomicBool,
}

impl Shared {
    pub(crate) fn new(
        io: Box<dyn Transport>,
        runtime: Arc<dyn Runtime>,
        conn: Connection,
        origin: Instant,
        config: &Config,
    ) -> Arc<Shared> {
        let fanout = Arc::new(FanOut::default());
        let peer_addr = io.peer_addr();
        Arc::new(Shared {
            inner: Mutex::new(Inner::new(io, runtime, conn, origin, config)),
            io_waker: Waker::from(fanout.clone()),
            fanout,
            peer_addr,
            senders: AtomicUsize::new(0),
            receiver: AtomicBool::new(false),
        })
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the connection with the fan-out's context for the I/O, then wakes the
    /// tasks waiting on what `f` moved: sending tasks when bytes were written or the state
    /// changed; the receiving task when the state changed, a timer fired, the core started
    /// wanting input again (a sender wrote out the backlog that stopped reading) or (unless
    /// `f` runs for the receiver itself) input was read.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Inner, &mut Context<'_>) -> R) -> R {
        self.with_side(false, f)
    }

    fn with_side<R>(&self, receiver: bool, f: impl FnOnce(&mut Inner, &mut Context<'_>) -> R) -> R {
        let mut inner = self.lock();
        let snapshot = |i: &Inner| {
            (
                i.written,
                i.conn.state(),
                i.finished(),
                i.fired,
                i.reads,
                i.conn.wants_input(),
            )
        };
        let before = snapshot(&inner);
        let mut cx = Context::from_waker(&self.io_waker);
        let r = f(&mut inner, &mut cx);
        let after = snapshot(&inner);
        drop(inner);
        let moved = before.1 != after.1 || before.2 != after.2;
        if moved || before.0 != after.0 {
            self.fanout.wake_tx();
        }
        let unblocked = !before.5 && after.5;
        if moved || unblocked || before.3 != after.3 || (!receiver && before.4 != after.4) {
            self.fanout.wake_rx();
        }
        r
    }

    /// Polls an operation of a sending task: tries, and if it must wait, registers the task
    /// and tries once more (so a wake-up between the two is not lost).
    pub(crate) fn poll_tx<R>(
        &self,
        cx: &mut Context<'_>,
        mut attempt: impl FnMut(&mut Inner, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        self.with(|inner, io| {
            if let Poll::Ready(r) = attempt(inner, io) {
                return Poll::Ready(r);
            }
            self.fanout.register_tx(cx.waker());
            attempt(inner, io)
        })
    }

    /// Polls for the receiving side's next item (registering the task as the receiver when
    /// it must wait).
    pub(crate) fn poll_rx<R>(
        &self,
        cx: &mut Context<'_>,
        mut attempt: impl FnMut(&mut Inner, &mut Context<'_>) -> Step<R>,
    ) -> Poll<R> {
        let step = self.with_side(true, |inner, io| match attempt(inner, io) {
            // Everything that could move the connection meanwhile either runs under this
            // lock (the senders) or wakes the fan-out (the stream, the timer), which records
            // a wake-up that found no receiver: only then is a second look needed.
            Step::Pending if self.fanout.register_rx(cx.waker()) => attempt(inner, io),
            other => other,
        });
        match step {
            Step::Ready(r) => Poll::Ready(r),
            Step::Pending => Poll::Pending,
            Step::Yield => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    /// The receiver is gone: if the transport is not over, a background task takes its
    /// place (reading, answering pings, discarding what arrives) until it is; with no sender
    /// left either, it closes the connection normally first.
    pub(crate) fn receiver_dropped(self: &Arc<Self>) {
        self.receiver.store(false, Ordering::SeqCst);
        let abandoned = self.senders.load(Ordering::SeqCst) == 0;
        let running = self.with(|inner, io| {
            if inner.finished() && inner.closed_seen {
                return None;
            }
            if abandoned {
                inner.abandon();
                // Write the Close now if the stream takes it (no timer: a drop may happen
                // outside a runtime).
                inner.poll_write(io);
            }
            Some(inner.runtime.clone())
        });
        if let Some(runtime) = running {
            runtime.spawn(Box::pin(finish(self.clone())));
        }
    }

    /// The last sender is gone: if the receiver is gone too, wake the background task so
    /// that it closes the connection.
    pub(crate) fn last_sender_dropped(&self) {
        if !self.receiver.load(Ordering::SeqCst) {
            self.fanout.wake_rx();
        }
    }
}

/// The background task that replaces a dropped receiver: drives the connection to its end,
/// discarding what arrives; closes normally once no sender is left.
async fn finish(shared: Arc<Shared>) {
    std::future::poll_fn(|cx| {
        shared.poll_rx(cx, |inner, io| {
            for _ in 0..BUDGET {
                if shared.senders.load(Ordering::SeqCst) == 0 {
                    inner.abandon();
                }
                match inner.poll_next_item(io) {
                    Step::Ready(Some(_)) => {}
                    Step::Ready(None) => return Step::Ready(()),
                    Step::Pending => return Step::Pending,
                    Step::Yield => return Step::Yield,
                }
            }
            Step::Yield
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_wake_up_that_finds_no_receiver_makes_the_next_registration_look_again() {
        let fanout = FanOut::default();
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        // Nothing came: wait at once.
        assert!(!fanout.register_rx(&waker));
        // A registered receiver is woken; no second look is owed.
        fanout.wake_rx();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(!fanout.register_rx(&waker));
        fanout.wake_rx();
        // While the receiver runs (not registered), a wake-up is recorded, once.
        fanout.wake_rx();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(fanout.register_rx(&waker), "the missed wake-up is reported");
        assert!(!fanout.register_rx(&waker), "and only once");
        // `wake_rx_if_waiting` wakes a registered receiver and skips otherwise.
        fanout.wake_rx_if_waiting();
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        fanout.wake_rx_if_waiting();
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
    }
}
