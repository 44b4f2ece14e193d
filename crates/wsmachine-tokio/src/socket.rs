//! The user's handles: [`WebSocket`], and its halves [`Sender`] and [`Receiver`].

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::sync::{mpsc, oneshot};
use wsmachine::{
    Bytes, CloseCode, CloseFrame, CloseReport, Fragment, Message, MessageKind, Request, Response,
    SendError, State, Utf8Bytes,
};

use crate::driver::{Command, Shared};
use crate::error::Error;

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
    /// The connection is over; the last event.
    Closed(CloseReport),
}

type ReserveFuture = Pin<
    Box<dyn Future<Output = Result<mpsc::OwnedPermit<Command>, mpsc::error::SendError<()>>> + Send>,
>;

/// The `Sink` state of one `Sender`.
enum SinkSlot {
    Idle,
    Reserving(ReserveFuture),
    Ready(mpsc::OwnedPermit<Command>),
}

/// The sending half: cheap to clone, usable from many tasks at once. Every send goes
/// through a bounded channel to the connection's driver, which is the only writer, so
/// messages from different clones never interleave on the wire.
///
/// Text versus binary is explicit: [`send_text`](Sender::send_text),
/// [`send_binary`](Sender::send_binary), or a [`Message`].
///
/// A send returns once the message is queued for the driver, not when it is written. A
/// send on a closing or closed connection returns an error (never panics); a message
/// queued just before the connection died is dropped.
pub struct Sender {
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    sink: Mutex<SinkSlot>,
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        Sender::new(self.tx.clone(), self.shared.clone())
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("peer_addr", &self.shared.peer_addr)
            .field("state", &self.shared.state())
            .finish()
    }
}

impl Sender {
    pub(crate) fn new(tx: mpsc::Sender<Command>, shared: Arc<Shared>) -> Sender {
        Sender {
            tx,
            shared,
            sink: Mutex::new(SinkSlot::Idle),
        }
    }

    /// Checks a message against the connection's state and the send queue's size.
    fn check_message(&self, message: &Message) -> Result<(), Error> {
        if let Some(e) = self.shared.send_refusal() {
            return Err(e);
        }
        let core = &self.shared.config.core;
        let limit = core.limits.max_send_queue;
        if core.send_queue_cost(message.payload().len()) > limit {
            return Err(Error::Send(SendError::QueueFull { queued: 0, limit }));
        }
        Ok(())
    }

    /// Sends a message, waiting while the connection's queues are full (backpressure).
    /// Cancel-safe in the sense that a cancelled send has sent nothing.
    pub async fn send(&self, message: Message) -> Result<(), Error> {
        self.check_message(&message)?;
        self.tx
            .send(Command::Message(message))
            .await
            .map_err(|_| Error::closed())
    }

    /// Sends a text message.
    pub async fn send_text(&self, text: impl Into<Utf8Bytes>) -> Result<(), Error> {
        self.send(Message::Text(text.into())).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Message::Binary(data.into())).await
    }

    /// Sends a message if the command channel has room now; [`Error::Full`] if not.
    pub fn try_send(&self, message: Message) -> Result<(), Error> {
        self.check_message(&message)?;
        self.tx
            .try_send(Command::Message(message))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => Error::Full,
                mpsc::error::TrySendError::Closed(_) => Error::closed(),
            })
    }

    /// Sends one frame of a message fragmented by the caller: the first call opens a
    /// message of `kind`, later calls continue it, `is_last` ends it. Waits for the
    /// driver's verdict (e.g. [`SendError::InvalidUtf8`], [`SendError::KindMismatch`]).
    /// Fragments from different tasks at once make no sense: use one task per message.
    pub async fn send_fragment(
        &self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        is_last: bool,
    ) -> Result<(), Error> {
        if let Some(e) = self.shared.send_refusal() {
            return Err(e);
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Fragment {
                kind,
                data: data.into(),
                is_last,
                reply,
            })
            .await
            .map_err(|_| Error::closed())?;
        match rx.await {
            Ok(r) => r.map_err(Error::Send),
            Err(_) => Err(Error::closed()),
        }
    }

    /// Sends a ping (at most 125 bytes); the pong arrives as [`Incoming::Pong`].
    pub async fn ping(&self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let payload = payload.into();
        self.check_control(&payload)?;
        self.tx
            .send(Command::Ping(payload))
            .await
            .map_err(|_| Error::closed())
    }

    /// Sends an unsolicited pong (at most 125 bytes). Pings are answered automatically
    /// unless auto-pong is off.
    pub async fn pong(&self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let payload = payload.into();
        self.check_control(&payload)?;
        self.tx
            .send(Command::Pong(payload))
            .await
            .map_err(|_| Error::closed())
    }

    fn check_control(&self, payload: &Bytes) -> Result<(), Error> {
        if let Some(e) = self.shared.send_refusal() {
            return Err(e);
        }
        if payload.len() > 125 {
            return Err(Error::Send(SendError::ControlTooLong(payload.len())));
        }
        Ok(())
    }

    /// Starts the close handshake with `code` and `reason` (at most 123 bytes), after the
    /// messages already sent. Returns once the Close is queued; the [`Receiver`] still gets
    /// the messages that arrive until the peer's Close, then the stream ends and
    /// [`Receiver::close_report`] tells how it ended.
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if !code.is_sendable() {
            return Err(Error::Send(SendError::InvalidCloseCode(code.0)));
        }
        if reason.len() > wsmachine::close::MAX_REASON_LEN {
            return Err(Error::Send(SendError::ReasonTooLong(reason.len())));
        }
        if let Some(e) = self.shared.send_refusal() {
            return Err(e);
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Close {
                code,
                reason: reason.to_owned(),
                reply: Some(reply),
            })
            .await
            .map_err(|_| Error::closed())?;
        match rx.await {
            Ok(r) => r.map_err(Error::Send),
            Err(_) => Err(Error::closed()),
        }
    }

    /// The connection's state as last reported by its driver.
    pub fn state(&self) -> State {
        self.shared.state()
    }

    /// Whether the connection is closing or closed (sends will fail).
    pub fn is_closed(&self) -> bool {
        matches!(self.shared.state(), State::Closing | State::Closed)
    }

    /// The peer's address, when the stream is a `TcpStream`.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.shared.peer_addr
    }

    /// Waits until the connection is closed (its driver takes no more commands).
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    fn slot(self: Pin<&mut Self>) -> &mut SinkSlot {
        match self.get_mut().sink.get_mut() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn poll_reserve(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if let Some(e) = self.shared.send_refusal() {
            return Poll::Ready(Err(e));
        }
        let tx = self.tx.clone();
        let slot = self.as_mut().slot();
        loop {
            match slot {
                SinkSlot::Ready(_) => return Poll::Ready(Ok(())),
                SinkSlot::Idle => {
                    *slot = SinkSlot::Reserving(Box::pin(tx.clone().reserve_owned()));
                }
                SinkSlot::Reserving(fut) => match fut.as_mut().poll(cx) {
                    Poll::Ready(Ok(permit)) => *slot = SinkSlot::Ready(permit),
                    Poll::Ready(Err(_)) => {
                        *slot = SinkSlot::Idle;
                        return Poll::Ready(Err(Error::closed()));
                    }
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }

    fn start_command(self: Pin<&mut Self>, cmd: Command) -> Result<(), Error> {
        let slot = self.slot();
        match std::mem::replace(slot, SinkSlot::Idle) {
            SinkSlot::Ready(permit) => {
                permit.send(cmd);
                Ok(())
            }
            other => {
                *slot = other;
                Err(Error::Send(SendError::NotOpen))
            }
        }
    }
}

impl Sink<Message> for Sender {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_reserve(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.check_message(&item)?;
        self.start_command(Command::Message(item))
    }

    /// Ready once every message given to this sink is in the driver's channel.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    /// Starts the close handshake with 1000 (normal closure). It closes the whole
    /// connection, for every clone of this sender.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.is_closed() {
            return Poll::Ready(Ok(()));
        }
        match self.as_mut().poll_reserve(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
            Poll::Pending => return Poll::Pending,
        }
        let _ = self.start_command(Command::Close {
            code: CloseCode::NORMAL,
            reason: String::new(),
            reply: None,
        });
        Poll::Ready(Ok(()))
    }
}

/// The receiving half: a `Stream` of messages and errors, ending after the connection
/// closed. Receiving is cancel-safe: a [`recv`](Receiver::recv) dropped inside
/// `tokio::select!` loses nothing.
///
/// While the application does not receive, the driver stops reading the socket after
/// [`Config::event_queue`](crate::Config::event_queue) events (backpressure to the peer).
/// Keepalive then may find the peer silent: receive promptly.
pub struct Receiver {
    rx: mpsc::Receiver<Incoming>,
    shared: Arc<Shared>,
    done: bool,
    /// Keeps the command channel open while the receiver lives: the driver learns that
    /// every handle is gone (and closes the connection) when this and every `Sender` drop.
    _alive: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("peer_addr", &self.shared.peer_addr)
            .field("state", &self.shared.state())
            .finish()
    }
}

impl Receiver {
    pub(crate) fn new(
        rx: mpsc::Receiver<Incoming>,
        shared: Arc<Shared>,
        alive: mpsc::Sender<Command>,
    ) -> Receiver {
        Receiver {
            rx,
            shared,
            done: false,
            _alive: alive,
        }
    }

    /// The next event of any kind, or `None` once [`Incoming::Closed`] was returned.
    pub fn poll_recv_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Incoming>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(ev)) => {
                match &ev {
                    Incoming::Closed(_) => self.done = true,
                    Incoming::Message(m) => self.shared.event_taken(m.payload().len()),
                    Incoming::Fragment(f) => self.shared.event_taken(f.data.len()),
                    _ => {}
                }
                Poll::Ready(Some(ev))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
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
                Poll::Ready(Some(Incoming::Closed(_))) | Poll::Ready(None) => {
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(_)) => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The next message, or an error (I/O, protocol, a timer such as keepalive), or `None`
    /// once the connection is closed. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// How the connection ended: codes sent and received, clean or not, who closed first.
    /// `None` while it is open.
    pub fn close_report(&self) -> Option<CloseReport> {
        self.shared.report()
    }

    /// The connection's state as last reported by its driver.
    pub fn state(&self) -> State {
        self.shared.state()
    }

    /// The peer's address, when the stream is a `TcpStream`.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.shared.peer_addr
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.rx.close();
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
/// send, run by a driver task. [`split`](WebSocket::split) it to receive and send from
/// different tasks.
pub struct WebSocket {
    sender: Sender,
    receiver: Receiver,
    request: Option<Request>,
    response: Option<Response>,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("peer_addr", &self.receiver.shared.peer_addr)
            .field("state", &self.receiver.shared.state())
            .finish()
    }
}

impl WebSocket {
    pub(crate) fn new(
        sender: Sender,
        receiver: Receiver,
        request: Option<Request>,
        response: Option<Response>,
    ) -> WebSocket {
        WebSocket {
            sender,
            receiver,
            request,
            response,
        }
    }

    /// Splits into the receiving half and the (cloneable) sending half.
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

    /// How the connection ended; `None` while it is open.
    pub fn close_report(&self) -> Option<CloseReport> {
        self.receiver.close_report()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.receiver.state()
    }

    /// The peer's address, when the stream is a `TcpStream`.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.receiver.peer_addr()
    }

    /// Server: the client's upgrade request (path, query, headers).
    pub fn request(&self) -> Option<&Request> {
        self.request.as_ref()
    }

    /// Client: the server's upgrade response (e.g. the chosen subprotocol).
    pub fn response(&self) -> Option<&Response> {
        self.response.as_ref()
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
