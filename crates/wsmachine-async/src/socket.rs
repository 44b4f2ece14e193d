//! The user's handles: [`WebSocket`], and its halves [`Sender`] and [`Receiver`].

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;
use wsmachine::{
    Bytes, CloseCode, CloseFrame, CloseReport, Fragment, Message, MessageKind, Request, Response,
    SendError, State, Utf8Bytes,
};

use crate::error::Error;
use crate::shared::{Inner, Shared, WRITE_BATCH};

/// Sending rounds per poll before yielding.
const BUDGET: usize = 32;

/// Everything the connection reports, as read with [`Receiver::recv_event`].
/// [`Receiver::recv`] and the `Stream` implementation give only messages and errors.
#[derive(Debug)]
#[non_exhaustive]
pub enum Incoming {
    /// A whole data message.
    Message(Message),
    /// A piece of a data message (only with
    /// [`ReceiveMode::Fragments`](wsmachine::ReceiveMode::Fragments)).
    Fragment(Fragment),
    /// A ping arrived (already answered if auto-pong is on).
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The peer sent a Close (already answered).
    Close(CloseFrame),
    /// The connection failed (protocol error, timer, I/O error); `Closed` follows.
    Error(Error),
    /// The connection is over; the last event. The stream is shut down and dropped before
    /// the next call returns `None`.
    Closed(CloseReport),
}

/// What one queued operation does to the core: `Ok(true)` once queued, `Ok(false)` while it
/// must wait for room.
type Queue<'a> = dyn FnMut(&mut Inner) -> Result<bool, Error> + Send + 'a;

/// The sending half: cheap to clone, usable from many tasks at once. All clones share the
/// connection behind one lock, so frames from different clones never interleave on the
/// wire, and every send writes straight to the stream from the calling task (no channel,
/// no driver task).
///
/// Text versus binary is explicit: [`send_text`](Sender::send_text),
/// [`send_binary`](Sender::send_binary), or a [`Message`].
///
/// A send waits while the core's send queue has no room for the message (byte
/// backpressure, [`Config::max_send_queue`](crate::Config::max_send_queue)), then returns
/// once the message is written to the stream. A send on a closing or closed connection
/// returns an error (never panics).
///
/// Sending never parses what arrives: the [`Receiver`] (or, once it is dropped, a
/// background task that discards what arrives) does, answering pings and seeing the peer's
/// Close. A send that has to wait reads the stream into the core (while the core wants
/// input, so at most [`Limits::input_high_water`](wsmachine::Limits::input_high_water)
/// beyond the frame being received), which keeps the keepalive fed while it waits.
pub struct Sender {
    shared: Arc<Shared>,
    /// `Sink`: a message given to `start_send` while the queue had no room.
    stash: Option<Message>,
    /// `Sink`: the byte count written reaches once this sink's messages are out.
    flush_to: u64,
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        Sender::new(self.shared.clone())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.last_sender_dropped();
        }
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("peer_addr", &self.shared.peer_addr)
            .field("state", &self.state())
            .finish()
    }
}

impl Sender {
    pub(crate) fn new(shared: Arc<Shared>) -> Sender {
        shared.senders.fetch_add(1, Ordering::SeqCst);
        Sender {
            shared,
            stash: None,
            flush_to: 0,
        }
    }

    /// Queues with `queue` (waiting for room), then writes until what was queued is out.
    fn poll_op(
        &self,
        cx: &mut Context<'_>,
        target: &mut Option<u64>,
        queue: &mut Queue<'_>,
    ) -> Poll<Result<(), Error>> {
        self.shared.poll_tx(cx, |inner, io| {
            for _ in 0..BUDGET {
                if target.is_none() {
                    match queue(inner) {
                        Err(e) => return Poll::Ready(Err(e)),
                        Ok(true) => *target = Some(inner.flush_target()),
                        Ok(false) => {}
                    }
                }
                if let Some(t) = *target {
                    inner.poll_write(io);
                    if inner.flushed(t) {
                        return Poll::Ready(Ok(()));
                    }
                }
                if !inner.poll_io(io, true) {
                    return Poll::Pending;
                }
            }
            io.waker().wake_by_ref();
            Poll::Pending
        })
    }

    async fn op(&self, queue: &mut Queue<'_>) -> Result<(), Error> {
        let mut target = None;
        std::future::poll_fn(|cx| self.poll_op(cx, &mut target, queue)).await
    }

    /// Sends a message: waits while the send queue has no room for it, then writes it.
    /// Returns once it is written to the stream (or the connection died meanwhile). A
    /// message larger than the whole send queue is refused at once
    /// ([`SendError::QueueFull`](wsmachine::SendError::QueueFull)). If the returned future
    /// is dropped, the message was either not queued at all, or queued and still goes out.
    pub async fn send(&self, message: Message) -> Result<(), Error> {
        let mut message = Some(message);
        self.op(&mut |inner| {
            let Some(m) = message.take() else {
                return Ok(true);
            };
            match inner.try_queue(m)? {
                None => Ok(true),
                Some(m) => {
                    message = Some(m);
                    Ok(false)
                }
            }
        })
        .await
    }

    /// Queues a message, waiting only while the send queue has no room for it, and returns
    /// without waiting for it to be written: it goes out when the receiving side runs out of
    /// events to hand out (before it waits for input), with the next `send` or flush, or at
    /// once when `WRITE_BATCH` (64 KiB) bytes are pending. In a receive loop (an echo, a
    /// request/reply protocol) this writes the replies to all the messages of one read
    /// together. Outside one, follow it with `send` or a `Sink` flush. Cost: no syscall
    /// below the batch size.
    pub async fn feed(&self, message: Message) -> Result<(), Error> {
        let mut message = Some(message);
        std::future::poll_fn(|cx| {
            self.shared.poll_tx(cx, |inner, io| {
                for _ in 0..BUDGET {
                    if let Some(m) = message.take() {
                        match inner.try_queue(m) {
                            Err(e) => return Poll::Ready(Err(e)),
                            Ok(None) => {
                                if inner.conn.pending_transmit() >= WRITE_BATCH {
                                    inner.poll_write(io);
                                }
                                return Poll::Ready(Ok(()));
                            }
                            Ok(Some(m)) => message = Some(m),
                        }
                    }
                    if !inner.poll_io(io, true) {
                        return Poll::Pending;
                    }
                }
                io.waker().wake_by_ref();
                Poll::Pending
            })
        })
        .await?;
        // A receiver waiting for input in another task writes it.
        self.shared.fanout.wake_rx_if_waiting();
        Ok(())
    }

    /// Sends a text message.
    pub async fn send_text(&self, text: impl Into<Utf8Bytes>) -> Result<(), Error> {
        self.send(Message::Text(text.into())).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Message::Binary(data.into())).await
    }

    /// Queues a message if the send queue has room for it now, and writes what the stream
    /// takes without waiting; [`Error::Full`] if there is no room. What the stream did not
    /// take goes out with the next poll of any handle of this connection.
    pub fn try_send(&self, message: Message) -> Result<(), Error> {
        self.shared.with(|inner, io| {
            let left = inner.try_queue(message)?;
            inner.poll_write(io);
            match left {
                None => Ok(()),
                Some(_) => Err(Error::Full),
            }
        })
    }

    /// Sends one frame of a message fragmented by the caller: the first call opens a
    /// message of `kind`, later calls continue it, `is_last` ends it. Errors such as
    /// [`SendError::InvalidUtf8`](wsmachine::SendError::InvalidUtf8) or
    /// [`SendError::KindMismatch`](wsmachine::SendError::KindMismatch) come back at once.
    /// Fragments from different tasks at once make no sense: use one task per message.
    pub async fn send_fragment(
        &self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        is_last: bool,
    ) -> Result<(), Error> {
        let mut data = Some(data.into());
        self.op(&mut |inner| {
            let Some(d) = data.take() else {
                return Ok(true);
            };
            if let Some(e) = inner.send_refusal() {
                return Err(e);
            }
            inner.check_cost(d.len())?;
            if !inner.has_room(d.len()) {
                data = Some(d);
                return Ok(false);
            }
            match inner.conn.send_fragment(kind, d.clone(), is_last) {
                Ok(()) => Ok(true),
                // A compressed fragment counts its worst-case compressed size, a little more
                // than `has_room` did: wait for written bytes while anything is queued.
                Err(SendError::QueueFull { .. })
                    if inner.conn.send_capacity() < inner.conn.config().limits.max_send_queue =>
                {
                    data = Some(d);
                    Ok(false)
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Sends a ping (at most 125 bytes), ahead of queued data; the pong arrives as
    /// [`Incoming::Pong`].
    pub async fn ping(&self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let payload = payload.into();
        self.op(&mut |inner| {
            inner.conn.ping(payload.clone())?;
            Ok(true)
        })
        .await
    }

    /// Sends an unsolicited pong (at most 125 bytes). Pings are answered automatically
    /// unless auto-pong is off.
    pub async fn pong(&self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let payload = payload.into();
        self.op(&mut |inner| {
            inner.conn.pong(payload.clone())?;
            Ok(true)
        })
        .await
    }

    /// Starts the close handshake with `code` and `reason` (at most 123 bytes), after the
    /// messages already sent; returns once the Close is written. The receiving side still
    /// gets the messages that arrive until the peer's Close, then its stream ends and
    /// [`Receiver::close_report`] tells how it ended.
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.op(&mut |inner| {
            let now = inner.now();
            inner.conn.close(now, code, reason)?;
            Ok(true)
        })
        .await
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.shared.lock().conn.state()
    }

    /// Whether the connection is closing or closed (sends will fail).
    pub fn is_closed(&self) -> bool {
        matches!(self.state(), State::Closing | State::Closed)
    }

    /// Bytes queued in the core and not yet written (data and control frames): what this
    /// connection holds for the peer right now.
    pub fn buffered_amount(&self) -> usize {
        self.shared.lock().conn.pending_transmit()
    }

    /// The peer's address, when the stream is a TCP stream the adapter recognizes (the
    /// tokio adapter also sees through a tokio-rustls stream over one); through a proxy,
    /// the proxy's.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.shared.peer_addr
    }

    /// Waits until the connection is closed, writing what is queued meanwhile. The peer's
    /// Close is read by the receiving side: keep receiving (or drop the [`Receiver`]).
    pub async fn closed(&self) {
        std::future::poll_fn(|cx| {
            self.shared.poll_tx(cx, |inner, io| {
                for _ in 0..BUDGET {
                    if inner.conn.is_closed() || inner.finished() {
                        return Poll::Ready(());
                    }
                    if !inner.poll_io(io, true) {
                        return Poll::Pending;
                    }
                }
                io.waker().wake_by_ref();
                Poll::Pending
            })
        })
        .await
    }

    /// `Sink`: queues the stashed message once there is room.
    fn poll_unstash(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.stash.is_none() {
            return Poll::Ready(Ok(()));
        }
        let mut target = None;
        let stash = &mut self.stash;
        let mut queue = |inner: &mut Inner| {
            let Some(m) = stash.take() else {
                return Ok(true);
            };
            match inner.try_queue(m)? {
                None => Ok(true),
                Some(m) => {
                    *stash = Some(m);
                    Ok(false)
                }
            }
        };
        // Only the queueing matters here: a target of 0 is flushed at once.
        let r = self.shared.poll_tx(cx, |inner, io| {
            for _ in 0..BUDGET {
                if target.is_none() {
                    match queue(inner) {
                        Err(e) => return Poll::Ready(Err(e)),
                        Ok(true) => {
                            target = Some(inner.flush_target());
                            return Poll::Ready(Ok(()));
                        }
                        Ok(false) => {}
                    }
                }
                if !inner.poll_io(io, true) {
                    return Poll::Pending;
                }
            }
            io.waker().wake_by_ref();
            Poll::Pending
        });
        if let Some(t) = target {
            self.flush_to = self.flush_to.max(t);
        }
        r
    }
}

impl Sink<Message> for Sender {
    type Error = Error;

    /// Ready when the message given last to `start_send` is queued in the core.
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.stash.is_none() {
            if let Some(e) = this.shared.lock().send_refusal() {
                return Poll::Ready(Err(e));
            }
        }
        this.poll_unstash(cx)
    }

    /// Queues the message in the core, or holds it in this `Sender` until there is room
    /// (one message at most: `poll_ready` waits for it).
    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        let this = self.get_mut();
        if this.stash.is_some() {
            return Err(Error::Full);
        }
        let mut inner = this.shared.lock();
        match inner.try_queue(item)? {
            None => this.flush_to = inner.flush_target(),
            Some(m) => this.stash = Some(m),
        }
        Ok(())
    }

    /// Ready once every message given to this sink is written to the stream.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.poll_unstash(cx)?.is_pending() {
            return Poll::Pending;
        }
        let mut target = Some(this.flush_to);
        this.poll_op(cx, &mut target, &mut |_| Ok(true))
    }

    /// Flushes, then starts the close handshake with 1000 (normal closure) and writes the
    /// Close. It closes the whole connection, for every clone of this sender.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.as_mut().poll_flush(cx)?.is_pending() {
            return Poll::Pending;
        }
        let this = self.get_mut();
        let mut target = None;
        this.poll_op(cx, &mut target, &mut |inner| {
            if inner.conn.state() == State::Open {
                let now = inner.now();
                inner.conn.close(now, CloseCode::NORMAL, "")?;
            }
            Ok(true)
        })
    }
}

/// The receiving half: a `Stream` of messages and errors, ending after the connection
/// closed and its stream was shut down. Polling it is what drives the connection: it reads
/// the stream (only while the core wants input, and only when asked for the next item, so
/// a slow application slows the peer down), parses one event at a time, writes the pongs
/// and the Close echo, runs the timers (keepalive, close, idle) and, at the end, shuts the
/// stream down (FIN) and drains it as the core asks.
///
/// Receiving is cancel-safe: a [`recv`](Receiver::recv) dropped inside a `select!`
/// loses nothing. Receive promptly: while nobody receives, pings go unanswered and the
/// keepalive does not run.
///
/// Dropping the receiver hands the connection to a background task (spawned on the runtime,
/// if it can spawn) that reads and discards what arrives (so that pings are answered and
/// the close handshake finishes for the senders); once no sender is left either, it closes
/// the connection with 1000.
pub struct Receiver {
    shared: Arc<Shared>,
    done: bool,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("peer_addr", &self.shared.peer_addr)
            .field("state", &self.state())
            .finish()
    }
}

impl Receiver {
    pub(crate) fn new(shared: Arc<Shared>) -> Receiver {
        shared.receiver.store(true, Ordering::SeqCst);
        Receiver {
            shared,
            done: false,
        }
    }

    /// The next event of any kind, or `None` once [`Incoming::Closed`] was returned and the
    /// stream is shut down.
    pub fn poll_recv_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Incoming>> {
        if self.done {
            return Poll::Ready(None);
        }
        let r = self
            .shared
            .poll_rx(cx, |inner, io| inner.poll_next_item(io));
        if let Poll::Ready(None) = r {
            self.done = true;
        }
        r
    }

    /// The next event of any kind: messages, pings, pongs, the peer's Close, errors and
    /// finally [`Incoming::Closed`]; then `None`. Cancel-safe.
    pub async fn recv_event(&mut self) -> Option<Incoming> {
        std::future::poll_fn(|cx| self.poll_recv_event(cx)).await
    }

    /// Polls for the next message or error, skipping pings, pongs, fragments and the
    /// peer's Close.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            match self.poll_recv_event(cx) {
                Poll::Ready(Some(Incoming::Message(m))) => return Poll::Ready(Some(Ok(m))),
                Poll::Ready(Some(Incoming::Error(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(_)) => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The next message, or an error (I/O, protocol, a timer such as keepalive), or `None`
    /// once the connection is closed and its stream shut down. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// How the connection ended: codes sent and received, clean or not, who closed first.
    /// `None` until [`Incoming::Closed`] was received.
    pub fn close_report(&self) -> Option<CloseReport> {
        self.shared.lock().report.as_deref().cloned()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.shared.lock().conn.state()
    }

    /// The permessage-deflate parameters in use (feature `deflate`), as negotiated in the
    /// handshake or set on the core before [`from_connection`](crate::from_connection);
    /// `None` when messages are not compressed.
    #[cfg(feature = "deflate")]
    pub fn deflate_params(&self) -> Option<wsmachine::DeflateParams> {
        self.shared.lock().conn.deflate_params().copied()
    }

    /// The peer's address, when the stream is a TCP stream the adapter recognizes (the
    /// tokio adapter also sees through a tokio-rustls stream over one); through a proxy,
    /// the proxy's.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.shared.peer_addr
    }

    /// Takes the transcript the connection recorded since the last call, when its config
    /// had `record` set (feature `record`; empty otherwise); the chunks, concatenated, are
    /// what `wsmachine::record::replay` replays. Take it as you go, and once more after the
    /// stream ended (the connection stays in memory while a handle does). Cost: no copy.
    #[cfg(feature = "record")]
    pub fn take_transcript(&self) -> Vec<u8> {
        self.shared.lock().conn.take_transcript()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.receiver_dropped();
    }
}

impl Stream for Receiver {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

/// A WebSocket connection: a `Stream` of received messages and a `Sink` of messages to
/// send, driven by the task that polls it (there is no driver task).
/// [`split`](WebSocket::split) it to receive and send from different tasks.
pub struct WebSocket {
    sender: Sender,
    receiver: Receiver,
    request: Option<Box<Request>>,
    response: Option<Box<Response>>,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("peer_addr", &self.peer_addr())
            .field("state", &self.state())
            .finish()
    }
}

impl WebSocket {
    pub(crate) fn new(
        shared: Arc<Shared>,
        request: Option<Box<Request>>,
        response: Option<Box<Response>>,
    ) -> WebSocket {
        WebSocket {
            sender: Sender::new(shared.clone()),
            receiver: Receiver::new(shared),
            request,
            response,
        }
    }

    /// Splits into the (cloneable) sending half and the receiving half.
    pub fn split(self) -> (Sender, Receiver) {
        (self.sender, self.receiver)
    }

    /// A new handle to the sending half.
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// The next message or error; `None` once closed. Cancel-safe. See [`Receiver::recv`].
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        self.receiver.recv().await
    }

    /// The next event of any kind. See [`Receiver::recv_event`].
    pub async fn recv_event(&mut self) -> Option<Incoming> {
        self.receiver.recv_event().await
    }

    /// Sends a message. See [`Sender::send`].
    pub async fn send(&self, message: Message) -> Result<(), Error> {
        self.sender.send(message).await
    }

    /// Queues a message without waiting for it to be written. See [`Sender::feed`].
    pub async fn feed(&self, message: Message) -> Result<(), Error> {
        self.sender.feed(message).await
    }

    /// Sends a text message.
    pub async fn send_text(&self, text: impl Into<Utf8Bytes>) -> Result<(), Error> {
        self.sender.send_text(text).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.sender.send_binary(data).await
    }

    /// Sends without waiting; [`Error::Full`] under backpressure. See [`Sender::try_send`].
    pub fn try_send(&self, message: Message) -> Result<(), Error> {
        self.sender.try_send(message)
    }

    /// Sends one frame of a caller-fragmented message. See [`Sender::send_fragment`].
    pub async fn send_fragment(
        &self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        is_last: bool,
    ) -> Result<(), Error> {
        self.sender.send_fragment(kind, data, is_last).await
    }

    /// Sends a ping. See [`Sender::ping`].
    pub async fn ping(&self, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.sender.ping(payload).await
    }

    /// Sends a pong. See [`Sender::pong`].
    pub async fn pong(&self, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.sender.pong(payload).await
    }

    /// Starts the close handshake; keep receiving until `None` to see it finish. See
    /// [`Sender::close`].
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.sender.close(code, reason).await
    }

    /// How the connection ended; `None` until [`Incoming::Closed`] was received.
    pub fn close_report(&self) -> Option<CloseReport> {
        self.receiver.close_report()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.receiver.state()
    }

    /// Bytes queued and not yet written. See [`Sender::buffered_amount`].
    pub fn buffered_amount(&self) -> usize {
        self.sender.buffered_amount()
    }

    /// The permessage-deflate parameters in use. See [`Receiver::deflate_params`].
    #[cfg(feature = "deflate")]
    pub fn deflate_params(&self) -> Option<wsmachine::DeflateParams> {
        self.receiver.deflate_params()
    }

    /// Takes what the connection recorded. See [`Receiver::take_transcript`].
    #[cfg(feature = "record")]
    pub fn take_transcript(&self) -> Vec<u8> {
        self.receiver.take_transcript()
    }

    /// The peer's address, when the stream is a TCP stream the adapter recognizes (the
    /// tokio adapter also sees through a tokio-rustls stream over one); through a proxy,
    /// the proxy's.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.receiver.peer_addr()
    }

    /// Server: the client's upgrade request (path, query, headers).
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// Server: takes the upgrade request out, freeing its memory once you are done with it
    /// (a long-lived connection need not hold its request headers).
    pub fn take_request(&mut self) -> Option<Box<Request>> {
        self.request.take()
    }

    /// Client: the server's upgrade response (e.g. the chosen subprotocol).
    pub fn response(&self) -> Option<&Response> {
        self.response.as_deref()
    }
}

impl Stream for WebSocket {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().receiver.poll_recv(cx)
    }
}

impl Sink<Message> for WebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().sender).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        Pin::new(&mut self.get_mut().sender).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().sender).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().sender).poll_close(cx)
    }
}
