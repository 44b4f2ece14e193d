//! The driver: one task per connection that owns the stream and the core `Connection`.
//!
//! It is written as a hand-rolled poll loop so that reading, writing, timers, commands and
//! event delivery all progress in one place with `&mut` access to everything, and so that
//! the stream needs no splitting or locking.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, Sleep};
use wsmachine::{
    Bytes, CloseCode, CloseReport, Connection, Event, Message, MessageKind, SendError, State,
    Timestamp,
};

use crate::config::Config;
use crate::error::Error;
use crate::socket::Incoming;

/// What the user's handles ask the driver to do.
pub(crate) enum Command {
    /// A whole message.
    Message(Message),
    /// One frame of a caller-fragmented message; the result goes back.
    Fragment {
        kind: MessageKind,
        data: Bytes,
        is_last: bool,
        reply: oneshot::Sender<Result<(), SendError>>,
    },
    /// A ping (payload already checked).
    Ping(Bytes),
    /// A pong (payload already checked).
    Pong(Bytes),
    /// Start the close handshake; the result goes back if asked.
    Close {
        code: CloseCode,
        reason: String,
        reply: Option<oneshot::Sender<Result<(), SendError>>>,
    },
}

const STATE_CONNECTING: u8 = 0;
const STATE_OPEN: u8 = 1;
const STATE_CLOSING: u8 = 2;
const STATE_CLOSED: u8 = 3;

/// State shared between the driver and the user's handles.
#[derive(Debug)]
pub(crate) struct Shared {
    state: AtomicU8,
    report: Mutex<Option<CloseReport>>,
    /// Payload bytes delivered to the event channel and not yet taken by the receiver.
    rx_bytes: AtomicUsize,
    /// The driver waits for the receiver to take bytes (its waker is in `rx_waker`).
    rx_waiting: AtomicBool,
    rx_waker: Mutex<Option<Waker>>,
    pub(crate) peer_addr: Option<SocketAddr>,
    pub(crate) config: Config,
}

impl Shared {
    pub(crate) fn new(peer_addr: Option<SocketAddr>, config: Config) -> Shared {
        Shared {
            state: AtomicU8::new(STATE_CONNECTING),
            report: Mutex::new(None),
            rx_bytes: AtomicUsize::new(0),
            rx_waiting: AtomicBool::new(false),
            rx_waker: Mutex::new(None),
            peer_addr,
            config,
        }
    }

    pub(crate) fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            STATE_CONNECTING => State::Connecting,
            STATE_OPEN => State::Open,
            STATE_CLOSING => State::Closing,
            _ => State::Closed,
        }
    }

    fn set_state(&self, state: State) {
        let v = match state {
            State::Connecting => STATE_CONNECTING,
            State::Open => STATE_OPEN,
            State::Closing => STATE_CLOSING,
            State::Closed => STATE_CLOSED,
        };
        // Never go back (e.g. from Closed to Open).
        self.state.fetch_max(v, Ordering::AcqRel);
    }

    pub(crate) fn report(&self) -> Option<CloseReport> {
        self.report.lock().map(|r| r.clone()).unwrap_or(None)
    }

    fn set_report(&self, report: CloseReport) {
        if let Ok(mut r) = self.report.lock() {
            *r = Some(report);
        }
    }

    /// The receiver took an event carrying `bytes` of payload: wake the driver if it waits
    /// for room.
    pub(crate) fn event_taken(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        self.rx_bytes.fetch_sub(bytes, Ordering::SeqCst);
        if self.rx_waiting.swap(false, Ordering::SeqCst) {
            if let Some(w) = self.rx_waker.lock().ok().and_then(|mut w| w.take()) {
                w.wake();
            }
        }
    }

    /// The receiver is gone: nothing waits for the application any more; wake the driver
    /// (it then finds the event channel closed and drops later events).
    pub(crate) fn receiver_dropped(&self) {
        self.rx_bytes.store(0, Ordering::SeqCst);
        self.rx_waiting.store(false, Ordering::SeqCst);
        if let Some(w) = self.rx_waker.lock().ok().and_then(|mut w| w.take()) {
            w.wake();
        }
    }

    /// Whether the received bytes waiting for the application are at the limit; if so the
    /// driver's waker is stored and woken when the receiver takes some.
    fn rx_over_budget(&self, cx: &Context<'_>) -> bool {
        let limit = self.config.event_queue_bytes;
        if self.rx_bytes.load(Ordering::SeqCst) < limit {
            return false;
        }
        if let Ok(mut w) = self.rx_waker.lock() {
            *w = Some(cx.waker().clone());
        }
        self.rx_waiting.store(true, Ordering::SeqCst);
        if self.rx_bytes.load(Ordering::SeqCst) < limit {
            self.rx_waiting.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// The error a send gets from the connection's state, if it cannot send now.
    pub(crate) fn send_refusal(&self) -> Option<Error> {
        match self.state() {
            State::Open => None,
            State::Connecting => Some(Error::Send(SendError::NotOpen)),
            State::Closing => Some(Error::Send(SendError::Closing)),
            State::Closed => Some(Error::closed()),
        }
    }
}

type ReserveFuture = Pin<
    Box<
        dyn Future<Output = Result<mpsc::OwnedPermit<Incoming>, mpsc::error::SendError<()>>> + Send,
    >,
>;

/// Loop iterations per poll before yielding to the scheduler.
const BUDGET: usize = 64;
/// Most slices in one vectored write.
const MAX_SLICES: usize = 64;
/// Non-vectored streams: coalesce small chunks up to this many bytes per write.
const COALESCE: usize = 64 << 10;

/// What the handshake phase ended with.
pub(crate) enum HandshakeOutcome {
    /// Client: the server accepted; server: a request awaits a decision.
    Event(Event),
    /// It failed; everything queued (an HTTP error response) was flushed and the stream
    /// closed.
    Failed(Error),
}

pub(crate) struct Driver<S> {
    io: Option<S>,
    conn: Connection,
    config: Config,
    base: Instant,
    sleep: Pin<Box<Sleep>>,
    read_buf: BytesMut,
    read_open: bool,
    write_dead: bool,
    needs_flush: bool,
    io_error: Option<io::Error>,
    coalesce: Vec<u8>,
    /// Set when the connection closed but output is still queued: give up at this time.
    linger_until: Option<Instant>,
    /// The last deadline acted on, to never spin on one the core keeps reporting.
    last_fired: Option<Timestamp>,
    // Run phase.
    cmd_rx: Option<mpsc::Receiver<Command>>,
    stalled: Option<Command>,
    events_tx: Option<mpsc::Sender<Incoming>>,
    reserve: Option<ReserveFuture>,
    outbox: VecDeque<Incoming>,
    shared: Arc<Shared>,
    auto_closed: bool,
    /// The application holds `event_queue_bytes` of received payload: stop reading.
    rx_blocked: bool,
    /// The core had no more events to give after the last read.
    core_drained: bool,
    // Handshake phase.
    hs_error: Option<Error>,
}

impl<S> Driver<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    pub(crate) fn new(io: S, conn: Connection, base: Instant, shared: Arc<Shared>) -> Self {
        let config = shared.config;
        Driver {
            io: Some(io),
            conn,
            config,
            base,
            sleep: Box::pin(tokio::time::sleep_until(base)),
            read_buf: BytesMut::new(),
            read_open: true,
            write_dead: false,
            needs_flush: false,
            io_error: None,
            coalesce: Vec::new(),
            linger_until: None,
            last_fired: None,
            cmd_rx: None,
            stalled: None,
            events_tx: None,
            reserve: None,
            outbox: VecDeque::new(),
            shared,
            auto_closed: false,
            rx_blocked: false,
            core_drained: false,
            hs_error: None,
        }
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(crate) fn now(&self) -> Timestamp {
        Timestamp::from_duration(Instant::now().saturating_duration_since(self.base))
    }

    // ----- the pieces of the loop; each returns whether it made progress -----

    /// Runs the core's timers (or, once closed, the linger deadline).
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let at = if let Some(deadline) = self.conn.poll_timeout() {
            let now = self.now();
            if deadline <= now && self.last_fired != Some(deadline) {
                self.last_fired = Some(deadline);
                self.conn.handle_timeout(now);
                return true;
            }
            // (A past deadline that handle_timeout did not clear is retried a millisecond
            // later rather than in a busy loop.)
            (self.base + deadline.as_duration()).max(Instant::now() + Duration::from_millis(1))
        } else if let Some(at) = self.linger_until {
            if self.io.is_none() {
                return false;
            }
            if Instant::now() >= at {
                return self.give_up_transport();
            }
            at
        } else {
            return false;
        };
        if self.sleep.deadline() != at {
            self.sleep.as_mut().reset(at);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                if self.conn.is_closed() {
                    self.give_up_transport()
                } else {
                    let now = self.now().max(Timestamp::from_duration(
                        at.saturating_duration_since(self.base),
                    ));
                    self.conn.handle_timeout(now);
                    true
                }
            }
            Poll::Pending => false,
        }
    }

    /// Drops the stream without waiting any longer.
    fn give_up_transport(&mut self) -> bool {
        if self.io.take().is_some() {
            self.read_open = false;
            self.write_dead = true;
            true
        } else {
            false
        }
    }

    /// Writes what the core has queued, then flushes.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        let Some(io) = self.io.as_mut() else {
            return false;
        };
        while !self.write_dead && self.conn.pending_transmit() > 0 {
            let res = if io.is_write_vectored() {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let mut n = 0;
                for s in self.conn.transmit_slices() {
                    if s.is_empty() {
                        continue;
                    }
                    slices[n] = IoSlice::new(s);
                    n += 1;
                    if n == MAX_SLICES {
                        break;
                    }
                }
                Pin::new(&mut *io).poll_write_vectored(cx, &slices[..n])
            } else {
                let first = self.conn.transmit_slices().find(|s| !s.is_empty());
                match first {
                    Some(s) if s.len() >= COALESCE / 4 => Pin::new(&mut *io).poll_write(cx, s),
                    _ => {
                        // Many small chunks (headers, small frames): copy a batch into one
                        // buffer so that a non-vectored stream gets one write for them.
                        self.coalesce.clear();
                        for s in self.conn.transmit_slices() {
                            let room = COALESCE - self.coalesce.len();
                            let take = s.len().min(room);
                            self.coalesce.extend_from_slice(&s[..take]);
                            if self.coalesce.len() == COALESCE {
                                break;
                            }
                        }
                        Pin::new(&mut *io).poll_write(cx, &self.coalesce)
                    }
                }
            };
            match res {
                Poll::Ready(Ok(0)) => {
                    self.write_failed(io::Error::from(io::ErrorKind::WriteZero));
                    return true;
                }
                Poll::Ready(Ok(n)) => {
                    self.conn.advance_transmit(n);
                    self.needs_flush = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    self.write_failed(e);
                    return true;
                }
                Poll::Pending => return progress,
            }
        }
        if self.needs_flush && !self.write_dead {
            let Some(io) = self.io.as_mut() else {
                return progress;
            };
            match Pin::new(io).poll_flush(cx) {
                Poll::Ready(Ok(())) => {
                    self.needs_flush = false;
                    progress = true;
                }
                Poll::Ready(Err(e)) => {
                    self.write_failed(e);
                    return true;
                }
                Poll::Pending => {}
            }
        }
        progress
    }

    fn write_failed(&mut self, e: io::Error) {
        self.write_dead = true;
        self.needs_flush = false;
        let reset = matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
        );
        if reset {
            self.conn.handle_reset();
        } else {
            self.conn.handle_write_closed();
        }
        if self.io_error.is_none() {
            self.io_error = Some(e);
        }
    }

    /// Reads once into the read buffer and feeds the core.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.read_open || self.conn.is_closed() {
            return false;
        }
        let Some(io) = self.io.as_mut() else {
            return false;
        };
        if self.read_buf.len() < 4096 {
            self.read_buf = BytesMut::zeroed(self.config.read_buffer.max(4096));
        }
        let mut rb = ReadBuf::new(&mut self.read_buf[..]);
        match Pin::new(io).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    self.read_open = false;
                    self.conn.handle_eof();
                } else {
                    let chunk = self.read_buf.split_to(n);
                    self.conn.handle_input_owned(self.now(), chunk);
                    self.core_drained = false;
                }
                true
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => true,
            Poll::Ready(Err(e)) => {
                self.read_open = false;
                self.conn.handle_reset();
                self.write_dead = true;
                if self.io_error.is_none() {
                    self.io_error = Some(e);
                }
                true
            }
            Poll::Pending => false,
        }
    }

    /// Once the core is closed: shut the stream when everything is written (or the
    /// transport is dead), or start the linger deadline.
    fn poll_transport_end(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.conn.is_closed() || self.io.is_none() {
            return false;
        }
        if self.write_dead {
            return self.give_up_transport();
        }
        if !self.conn.should_close_transport() || self.needs_flush {
            if self.linger_until.is_none() {
                self.linger_until = Some(Instant::now() + self.config.linger);
                return true;
            }
            return false;
        }
        let Some(io) = self.io.as_mut() else {
            return false;
        };
        match Pin::new(io).poll_shutdown(cx) {
            Poll::Ready(_) => self.give_up_transport(),
            Poll::Pending => {
                if self.linger_until.is_none() {
                    self.linger_until = Some(Instant::now() + self.config.linger);
                    return true;
                }
                false
            }
        }
    }

    // ----- handshake phase -----

    /// Drives the opening handshake until a `Request` (server) or `Connected` (client)
    /// event, or failure.
    pub(crate) fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<HandshakeOutcome> {
        for _ in 0..BUDGET {
            let mut progress = false;
            if self.hs_error.is_none() {
                while let Some(ev) = self.conn.poll_event() {
                    progress = true;
                    match ev {
                        Event::Request(_) | Event::Connected(_) => {
                            return Poll::Ready(HandshakeOutcome::Event(ev));
                        }
                        Event::Error(e) => {
                            self.hs_error = Some(match e {
                                wsmachine::ConnectionError::Handshake(h) => Error::Handshake(h),
                                other => Error::Connection(other),
                            });
                        }
                        Event::Closed(report) => {
                            self.shared.set_report(report);
                            let err = self
                                .hs_error
                                .take()
                                .or_else(|| self.io_error.take().map(Error::Io))
                                .unwrap_or_else(|| {
                                    Error::Io(io::Error::from(io::ErrorKind::UnexpectedEof))
                                });
                            self.hs_error = Some(err);
                            break;
                        }
                        _ => {}
                    }
                }
            }
            progress |= self.poll_timer(cx);
            progress |= self.poll_write(cx);
            progress |= self.poll_transport_end(cx);
            if self.hs_error.is_some() && self.io.is_none() {
                let err = self.hs_error.take().unwrap_or_else(Error::closed);
                return Poll::Ready(HandshakeOutcome::Failed(err));
            }
            progress |= self.poll_read(cx);
            if !progress {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Flushes what is queued (an HTTP rejection), shuts the stream and returns.
    pub(crate) async fn finish_closed(mut self) {
        std::future::poll_fn(|cx| {
            for _ in 0..BUDGET {
                while self.conn.poll_event().is_some() {}
                let mut progress = self.poll_timer(cx);
                progress |= self.poll_write(cx);
                progress |= self.poll_transport_end(cx);
                if self.io.is_none() {
                    return Poll::Ready(());
                }
                if !progress {
                    return Poll::Pending;
                }
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await
    }

    // ----- run phase -----

    /// Switches to the run phase with these channels.
    pub(crate) fn start(
        &mut self,
        cmd_rx: mpsc::Receiver<Command>,
        events_tx: mpsc::Sender<Incoming>,
    ) {
        self.cmd_rx = Some(cmd_rx);
        self.events_tx = Some(events_tx);
        self.update_state();
    }

    fn update_state(&self) {
        self.shared.set_state(self.conn.state());
    }

    /// Pulls core events and hands them to the application, one at a time, while the event
    /// channel has room and the application holds less than `event_queue_bytes` of
    /// received payload. The socket is read only once the core has no event left
    /// (`core_drained`), so its buffer holds at most one read beyond a partial frame.
    fn pull_events(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        self.rx_blocked = false;
        loop {
            if !self.outbox.is_empty() {
                progress |= self.poll_deliver(cx);
                if !self.outbox.is_empty() {
                    break;
                }
            }
            if self.events_tx.is_some() && self.shared.rx_over_budget(cx) {
                self.rx_blocked = true;
                break;
            }
            let Some(ev) = self.conn.poll_event() else {
                self.core_drained = true;
                break;
            };
            progress = true;
            match ev {
                Event::Message(m) => {
                    self.shared
                        .rx_bytes
                        .fetch_add(m.payload().len(), Ordering::SeqCst);
                    self.outbox.push_back(Incoming::Message(m));
                }
                Event::Fragment(f) => {
                    self.shared
                        .rx_bytes
                        .fetch_add(f.data.len(), Ordering::SeqCst);
                    self.outbox.push_back(Incoming::Fragment(f));
                }
                Event::Ping(p) => self.outbox.push_back(Incoming::Ping(p)),
                Event::Pong(p) => self.outbox.push_back(Incoming::Pong(p)),
                Event::CloseReceived(f) => self.outbox.push_back(Incoming::Close(f)),
                Event::Error(e) => self.outbox.push_back(Incoming::Error(Error::Connection(e))),
                Event::Closed(report) => {
                    if let Some(e) = self.io_error.take() {
                        self.outbox.push_back(Incoming::Error(Error::Io(e)));
                    }
                    self.shared.set_report(report.clone());
                    self.outbox.push_back(Incoming::Closed(report));
                }
                Event::Request(_) | Event::Connected(_) => {}
                _ => {}
            }
        }
        if progress {
            self.update_state();
        }
        progress
    }

    /// Hands the outbox to the application, as far as the event channel has room.
    fn poll_deliver(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        while !self.outbox.is_empty() {
            let Some(tx) = self.events_tx.as_ref() else {
                // Nobody listens: drop the events.
                self.outbox.clear();
                return true;
            };
            if let Some(fut) = self.reserve.as_mut() {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(Ok(permit)) => {
                        self.reserve = None;
                        if let Some(item) = self.outbox.pop_front() {
                            permit.send(item);
                        }
                        progress = true;
                        continue;
                    }
                    Poll::Ready(Err(_)) => {
                        self.reserve = None;
                        self.events_tx = None;
                        continue;
                    }
                    Poll::Pending => return progress,
                }
            }
            let Some(item) = self.outbox.pop_front() else {
                break;
            };
            match tx.try_send(item) {
                Ok(()) => progress = true,
                Err(mpsc::error::TrySendError::Full(item)) => {
                    self.outbox.push_front(item);
                    self.reserve = Some(Box::pin(tx.clone().reserve_owned()));
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.events_tx = None;
                    progress = true;
                }
            }
        }
        progress
    }

    /// Takes commands from the channel while the core's send queue has room.
    fn poll_commands(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        for _ in 0..256 {
            if let Some(cmd) = self.stalled.take() {
                if let Some(cmd) = self.apply(cmd) {
                    self.stalled = Some(cmd);
                    return progress;
                }
                progress = true;
            }
            if self.conn.is_closed() {
                // Refuse what is waiting; the handles see the closed state.
                if let Some(rx) = self.cmd_rx.as_mut() {
                    rx.close();
                    while let Ok(cmd) = rx.try_recv() {
                        refuse(cmd, SendError::Closed);
                    }
                }
                return progress;
            }
            let Some(rx) = self.cmd_rx.as_mut() else {
                return progress;
            };
            match rx.poll_recv(cx) {
                Poll::Ready(Some(cmd)) => {
                    self.stalled = Some(cmd);
                    progress = true;
                }
                Poll::Ready(None) => {
                    self.cmd_rx = None;
                    return true;
                }
                Poll::Pending => return progress,
            }
        }
        progress
    }

    /// Applies a command to the core; gives it back if the send queue is full.
    fn apply(&mut self, cmd: Command) -> Option<Command> {
        match cmd {
            Command::Message(m) => match self.conn.send(m.clone()) {
                Err(SendError::QueueFull { .. }) if !self.queue_empty() => {
                    Some(Command::Message(m))
                }
                _ => None,
            },
            Command::Fragment {
                kind,
                data,
                is_last,
                reply,
            } => match self.conn.send_fragment(kind, data.clone(), is_last) {
                Err(SendError::QueueFull { .. }) if !self.queue_empty() => {
                    Some(Command::Fragment {
                        kind,
                        data,
                        is_last,
                        reply,
                    })
                }
                r => {
                    let _ = reply.send(r);
                    None
                }
            },
            Command::Ping(p) => {
                let _ = self.conn.ping(p);
                None
            }
            Command::Pong(p) => {
                let _ = self.conn.pong(p);
                None
            }
            Command::Close {
                code,
                reason,
                reply,
            } => {
                let r = self.conn.close(self.now(), code, &reason);
                self.update_state();
                if let Some(reply) = reply {
                    let _ = reply.send(r);
                }
                None
            }
        }
    }

    fn queue_empty(&self) -> bool {
        self.conn.send_capacity() >= self.config.core.limits.max_send_queue
    }

    /// Every handle is gone (the command channel, which the receiver also holds, is
    /// closed): close the connection normally.
    fn maybe_auto_close(&mut self) -> bool {
        if self.auto_closed || self.cmd_rx.is_some() || self.stalled.is_some() {
            return false;
        }
        self.auto_closed = true;
        if self.conn.state() == State::Open {
            let _ = self.conn.close(self.now(), CloseCode::NORMAL, "");
            self.update_state();
        }
        true
    }

    fn poll_run(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..BUDGET {
            let mut progress = self.poll_deliver(cx);
            progress |= self.pull_events(cx);
            progress |= self.poll_commands(cx);
            progress |= self.maybe_auto_close();
            progress |= self.poll_timer(cx);
            progress |= self.poll_write(cx);
            progress |= self.poll_transport_end(cx);
            if self.outbox.is_empty() && !self.rx_blocked && self.core_drained {
                progress |= self.poll_read(cx);
            }
            if self.io.is_none()
                && self.conn.is_closed()
                && self.outbox.is_empty()
                && self.reserve.is_none()
            {
                // Make sure the Closed event was pulled.
                if !self.pull_events(cx) {
                    return Poll::Ready(());
                }
                progress = true;
            }
            if !progress {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Runs the connection to its end.
    pub(crate) async fn run(mut self) {
        std::future::poll_fn(|cx| self.poll_run(cx)).await;
        self.shared.set_state(State::Closed);
    }
}

/// Answers a command the driver will not carry out.
fn refuse(cmd: Command, e: SendError) {
    match cmd {
        Command::Fragment { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Command::Close {
            reply: Some(reply), ..
        } => {
            let _ = reply.send(Err(e));
        }
        _ => {}
    }
}

impl<S> Drop for Driver<S> {
    fn drop(&mut self) {
        // However the driver ends (even if its task is aborted), the handles see it closed.
        self.shared.set_state(State::Closed);
    }
}
