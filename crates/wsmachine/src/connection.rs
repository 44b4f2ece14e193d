//! The connection state machine: the one object a caller drives.
//!
//! Inputs ([`handle_input`](Connection::handle_input), [`handle_eof`](Connection::handle_eof),
//! [`handle_reset`](Connection::handle_reset), [`handle_timeout`](Connection::handle_timeout),
//! the `send_*` commands) never panic and are harmless in every state. Outputs are pulled:
//! [`poll_event`](Connection::poll_event), the transmit queue, and
//! [`poll_timeout`](Connection::poll_timeout).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};

use crate::close::{CloseCode, CloseFrame, MAX_REASON_LEN};
use crate::config::Config;
use crate::error::{ConnectionError, ProtocolError, SendError, Timeout};
use crate::event::{CloseReport, Closer, Event, TransportEnd};
use crate::frame::{MAX_CONTROL_PAYLOAD, OpCode};
use crate::handshake::{
    Accept, ClientHandshake, ClientRequest, Decision, HandshakeError, Request, ServerHandshake,
    reject_response,
};
use crate::message::{Message, MessageKind, Utf8Bytes};
use crate::random::RandomSource;
use crate::receive::Receiver;
use crate::role::Role;
use crate::time::Timestamp;
use crate::timers::TimerSet;
use crate::transmit::{Encoder, FrameKind, Transmitter};
use crate::utf8::Utf8Validator;

/// The connection's state as the caller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The opening handshake is under way.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// A Close was sent or received; the close handshake is finishing.
    Closing,
    /// Over: [`Event::Closed`] was (or is about to be) reported; every input is a no-op.
    Closed,
}

pub(crate) enum Phase {
    ClientHandshake(Box<ClientHandshake>),
    ServerHandshake(Box<ServerHandshake>),
    /// A server waits for the caller's accept or reject.
    AwaitingDecision(Box<Request>),
    Open,
    Closed,
}

/// One WebSocket connection, either role, with no I/O.
///
/// Feed it what the transport delivers, drain [`poll_event`](Connection::poll_event) after
/// each feed, write out what [`transmit_slices`](Connection::transmit_slices) shows and
/// acknowledge it with [`advance_transmit`](Connection::advance_transmit), and call
/// [`handle_timeout`](Connection::handle_timeout) at [`poll_timeout`](Connection::poll_timeout).
/// Memory is bounded by [`Limits`](crate::Limits).
pub struct Connection {
    pub(crate) role: Role,
    pub(crate) config: Config,
    pub(crate) phase: Phase,
    pub(crate) rx: Receiver,
    pub(crate) tx: Transmitter,
    pub(crate) events: VecDeque<Event>,
    pub(crate) timers: TimerSet,
    pub(crate) close_sent: Option<CloseFrame>,
    pub(crate) close_received: Option<CloseFrame>,
    /// How the caller said the transport ended, if it did.
    pub(crate) transport: Option<TransportEnd>,
    /// Caller-driven outgoing fragmented message: its kind and, for text, a validator.
    pub(crate) sending: Option<(MessageKind, Utf8Validator)>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("close_sent", &self.close_sent)
            .field("close_received", &self.close_received)
            .field("transport", &self.transport)
            .field("buffered_input", &self.rx.buf.len())
            .field("pending_transmit", &self.tx.total_bytes())
            .field("next_timeout", &self.poll_timeout())
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn build(
        role: Role,
        config: Config,
        now: Timestamp,
        phase: Phase,
        encoder: Encoder,
    ) -> Connection {
        let mut conn = Connection {
            role,
            config,
            phase,
            rx: Receiver::new(),
            tx: Transmitter::new(encoder),
            events: VecDeque::new(),
            timers: TimerSet::new(now),
            close_sent: None,
            close_received: None,
            transport: None,
            sending: None,
        };
        if matches!(conn.phase, Phase::Open) {
            conn.start_open_timers();
        } else if let Some(d) = config.timers.handshake_timeout {
            conn.timers.handshake = Some(now + d);
        }
        conn
    }

    /// A client that will run the opening handshake for `request`; the request bytes are
    /// queued for transmission at once. Masking and handshake keys come from `random`.
    pub fn client_with_random(
        request: &ClientRequest,
        config: Config,
        now: Timestamp,
        mut random: Box<dyn RandomSource>,
    ) -> Result<Connection, HandshakeError> {
        let hs = ClientHandshake::new(request, random.as_mut(), config.limits.handshake)?;
        let bytes = Bytes::copy_from_slice(hs.request_bytes());
        let phase = Phase::ClientHandshake(Box::new(hs));
        let mut conn = Connection::build(Role::Client, config, now, phase, Encoder::client(random));
        conn.tx.push_handshake(bytes);
        Ok(conn)
    }

    /// A client with the default random source (`rand::rng()`).
    #[cfg(feature = "std")]
    pub fn client(
        request: &ClientRequest,
        config: Config,
        now: Timestamp,
    ) -> Result<Connection, HandshakeError> {
        Connection::client_with_random(request, config, now, crate::random::default_random())
    }

    /// A server that waits for an upgrade request; it reports [`Event::Request`] and then
    /// waits for [`accept`](Connection::accept) or [`reject`](Connection::reject).
    pub fn server(config: Config, now: Timestamp) -> Connection {
        let phase = Phase::ServerHandshake(Box::new(ServerHandshake::new(config.limits.handshake)));
        Connection::build(Role::Server, config, now, phase, Encoder::Server)
    }

    /// A connection already open, with no handshake: for transports that upgraded elsewhere
    /// (RFC 8441 over HTTP/2, an existing HTTP server) and for tests. A client needs
    /// `random` for its masking keys; a server ignores it.
    pub fn open_with_random(
        role: Role,
        config: Config,
        now: Timestamp,
        random: Box<dyn RandomSource>,
    ) -> Connection {
        let encoder = match role {
            Role::Client => Encoder::client(random),
            Role::Server => Encoder::Server,
        };
        Connection::build(role, config, now, Phase::Open, encoder)
    }

    /// [`open_with_random`](Connection::open_with_random) with the default random source.
    #[cfg(feature = "std")]
    pub fn open(role: Role, config: Config, now: Timestamp) -> Connection {
        Connection::open_with_random(role, config, now, crate::random::default_random())
    }

    // ----- state -----

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::ClientHandshake(_) | Phase::ServerHandshake(_) | Phase::AwaitingDecision(_) => {
                State::Connecting
            }
            Phase::Open if self.close_sent.is_some() || self.close_received.is_some() => {
                State::Closing
            }
            Phase::Open => State::Open,
            Phase::Closed => State::Closed,
        }
    }

    /// Whether the connection is over (every input is now a no-op).
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// The Close we sent, if any.
    pub fn close_sent(&self) -> Option<&CloseFrame> {
        self.close_sent.as_ref()
    }

    /// The Close we received, if any.
    pub fn close_received(&self) -> Option<&CloseFrame> {
        self.close_received.as_ref()
    }

    /// Whether the caller should now close the transport: the connection is closed,
    /// everything queued has been written (or the transport is dead), and the drain after a
    /// failure is over. Once closed and written, a caller may shut down its write side
    /// before this turns true.
    pub fn should_close_transport(&self) -> bool {
        self.is_closed() && self.tx.total_bytes() == 0 && self.timers.drain.is_none()
    }

    /// Whether the caller should read from the transport now: the backpressure signal for
    /// input. False while a server waits for its [`Decision`](crate::Decision), while more
    /// than [`Limits::input_high_water`](crate::Limits::input_high_water) bytes beyond the
    /// frame being received wait to be parsed (drain [`poll_event`](Self::poll_event)),
    /// while the unwritten output is over half of
    /// [`Limits::max_send_queue`](crate::Limits::max_send_queue) (the peer is not reading
    /// what we send), and once no more input is useful. True while draining the peer after a
    /// failure (the input is then discarded). Memory per connection therefore stays under
    /// `max(input_high_water + max_frame_size)` of input plus `max_message_size` being
    /// assembled plus `max_send_queue + max_pong_backlog` of output.
    pub fn wants_input(&self) -> bool {
        if self.is_closed() {
            return self.timers.drain.is_some();
        }
        if !self.accepts_input() || matches!(self.phase, Phase::AwaitingDecision(_)) {
            return false;
        }
        let output_backlog = self.tx.total_bytes() > self.config.limits.max_send_queue / 2;
        !output_backlog && self.rx.unclaimed() <= self.config.limits.input_high_water
    }

    // ----- inputs -----

    /// Feeds bytes read from the transport at time `now`. They are copied into the receive
    /// buffer and parsed as events are polled; any byte counts as a sign of life for the
    /// keepalive. Returns the state; after close the bytes are dropped.
    ///
    /// Memory: the limits apply as `poll_event` parses, so drain events until `None` before
    /// feeding more, and read only while [`wants_input`](Self::wants_input) says so. Bytes
    /// fed without polling, or while a server waits for your
    /// [`Decision`](crate::Decision) on a request, are held until then. Cost: one copy of
    /// `bytes` (use [`handle_input_owned`](Self::handle_input_owned) to avoid it).
    pub fn handle_input(&mut self, now: Timestamp, bytes: &[u8]) -> State {
        self.timers.tick(now);
        if self.accepts_input() && !bytes.is_empty() {
            self.rx.buf.extend_from_slice(bytes);
            self.timers.note_rx();
        }
        self.state()
    }

    /// Feeds an owned buffer read from the transport at time `now`. When nothing is
    /// buffered it is taken as the receive buffer without a copy, and messages are split
    /// from it without copying; contiguous reads split off one buffer are joined in place.
    pub fn handle_input_owned(&mut self, now: Timestamp, bytes: BytesMut) -> State {
        self.timers.tick(now);
        if self.accepts_input() && !bytes.is_empty() {
            self.timers.note_rx();
            if self.rx.buf.is_empty() {
                self.rx.buf = bytes;
            } else {
                self.rx.buf.unsplit(bytes);
            }
        }
        self.state()
    }

    fn accepts_input(&self) -> bool {
        !self.is_closed() && self.transport.is_none() && self.close_received.is_none()
    }

    /// The peer ended its side (EOF). Events for what was fully received are still
    /// delivered, then [`Event::Closed`]: clean if the close handshake finished, else 1006.
    pub fn handle_eof(&mut self) -> State {
        self.end_transport(TransportEnd::Eof)
    }

    /// The connection was reset: as [`handle_eof`](Connection::handle_eof), and nothing more
    /// will be written.
    pub fn handle_reset(&mut self) -> State {
        self.tx.kill();
        self.end_transport(TransportEnd::Reset)
    }

    /// Our write side is shut (a write failed): nothing more can be sent, so the connection
    /// ends after the events already received.
    pub fn handle_write_closed(&mut self) -> State {
        self.tx.kill();
        self.end_transport(TransportEnd::WriteShut)
    }

    fn end_transport(&mut self, how: TransportEnd) -> State {
        if self.is_closed() {
            // Nothing more to drain from a peer that is gone.
            self.timers.drain = None;
        } else if self.transport.is_none() {
            self.transport = Some(how);
        }
        self.state()
    }

    // ----- outputs -----

    /// The next event, parsing buffered input as needed. `None` means more input (or a
    /// timeout) is needed. Cost: at most one frame's header and payload are parsed per call.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() {
            self.advance_input();
        }
        self.events.pop_front()
    }

    /// The unwritten output, in order, as slices for a vectored write. Frame headers and
    /// large payloads are separate slices; nothing is copied.
    pub fn transmit_slices(&self) -> impl Iterator<Item = &[u8]> {
        self.tx.slices()
    }

    /// Marks `n` bytes of [`transmit_slices`](Connection::transmit_slices) as written.
    /// Partial writes are fine: the rest stays queued.
    pub fn advance_transmit(&mut self, n: usize) {
        self.tx.advance(n);
    }

    /// Takes the next chunk of output as owned bytes, already counted as written. For
    /// callers that hand buffers to an async write: the bytes live as long as the chunk.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.tx.pop_chunk()
    }

    /// Copies as much output as fits into `out` and marks it written; returns the count.
    pub fn write_transmit_to(&mut self, out: &mut Vec<u8>, max: usize) -> usize {
        let mut n = 0;
        for s in self.tx.slices() {
            let take = s.len().min(max.saturating_sub(n));
            out.extend_from_slice(&s[..take]);
            n += take;
            if n == max {
                break;
            }
        }
        self.tx.advance(n);
        n
    }

    /// Pongs queued and not fully written. Their unstarted bytes stay within
    /// [`Limits::max_pong_backlog`](crate::Limits::max_pong_backlog), however many pings
    /// arrive.
    pub fn pending_pongs(&self) -> usize {
        self.tx.pong_queued()
    }

    /// Unwritten output bytes in total.
    pub fn pending_transmit(&self) -> usize {
        self.tx.total_bytes()
    }

    /// How many more bytes of data frames can be queued before sends return
    /// [`SendError::QueueFull`]: the backpressure signal.
    pub fn send_capacity(&self) -> usize {
        self.config
            .limits
            .max_send_queue
            .saturating_sub(self.tx.data_bytes())
    }

    // ----- handshake decisions (server) -----

    /// Accepts the pending upgrade request at time `now` with the chosen subprotocol,
    /// extensions and extra headers; queues the 101 response, opens the connection and
    /// starts its timers.
    ///
    /// If `accept` is invalid for the request (a subprotocol the client did not offer, a
    /// bad header), the connection answers `500 Internal Server Error` and closes, and the
    /// error is returned: every caller gets the same response on the wire.
    pub fn accept(&mut self, now: Timestamp, accept: &Accept) -> Result<(), AcceptError> {
        self.timers.tick(now);
        let Phase::AwaitingDecision(req) = &self.phase else {
            return Err(AcceptError::NoPendingRequest);
        };
        let response = match req.accept_response(accept) {
            Ok(r) => r,
            Err(e) => {
                let body = b"invalid accept options";
                self.tx
                    .push_handshake(Bytes::from(reject_response(500, &[], body)));
                self.finish(Closer::Us);
                return Err(AcceptError::Handshake(e));
            }
        };
        self.tx.push_handshake(Bytes::from(response));
        self.phase = Phase::Open;
        self.timers.handshake = None;
        self.start_open_timers();
        Ok(())
    }

    /// Applies a [`Decision`] to the pending upgrade request at time `now`:
    /// [`accept`](Connection::accept) or [`reject`](Connection::reject).
    pub fn decide(&mut self, now: Timestamp, decision: &Decision) -> Result<(), AcceptError> {
        match decision {
            Decision::Accept(accept) => self.accept(now, accept),
            Decision::Reject {
                status,
                headers,
                body,
            } => self.reject(*status, headers, body),
        }
    }

    /// Rejects the pending upgrade request with an HTTP `status`, headers and body; queues
    /// the response and closes (the transport should be closed once it is written).
    pub fn reject(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), AcceptError> {
        if !matches!(self.phase, Phase::AwaitingDecision(_)) {
            return Err(AcceptError::NoPendingRequest);
        }
        let response = reject_response(status, headers, body);
        self.tx.push_handshake(Bytes::from(response));
        self.finish(Closer::Us);
        Ok(())
    }

    // ----- sending -----

    fn check_can_send(&self) -> Result<(), SendError> {
        match self.state() {
            State::Connecting => Err(SendError::NotOpen),
            State::Closed => Err(SendError::Closed),
            State::Closing => Err(SendError::Closing),
            State::Open if self.transport.is_some() => Err(SendError::Closed),
            State::Open => Ok(()),
        }
    }

    /// Refuses a send that would take the data queue over `max_send_queue`.
    fn check_queue(&self, cost: usize) -> Result<(), SendError> {
        let queued = self.tx.data_bytes();
        let limit = self.config.limits.max_send_queue;
        if queued.saturating_add(cost) > limit {
            return Err(SendError::QueueFull { queued, limit });
        }
        Ok(())
    }

    fn push_data_frame(&mut self, fin: bool, opcode: OpCode, payload: Bytes) {
        self.tx.push_data_frame(fin, opcode, payload);
    }

    /// Queues a whole message, split into frames of `auto_fragment_size` if configured.
    /// Cost: no copy for a server (frames share the payload); one masking copy for a client.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::MessageInProgress);
        }
        let opcode = match message.kind() {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        };
        let payload = message.into_payload();
        let frame_size = self
            .config
            .auto_fragment_size
            .filter(|&n| n > 0)
            .unwrap_or(usize::MAX);
        self.check_queue(self.config.send_queue_cost(payload.len()))?;
        self.timers.note_data();
        if payload.len() <= frame_size {
            self.push_data_frame(true, opcode, payload);
            return Ok(());
        }
        let mut at = 0;
        let mut op = opcode;
        while at < payload.len() {
            let end = at.saturating_add(frame_size).min(payload.len());
            self.push_data_frame(end == payload.len(), op, payload.slice(at..end));
            op = OpCode::Continuation;
            at = end;
        }
        Ok(())
    }

    /// Queues a text message. Free for a `String` (its buffer is taken).
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), SendError> {
        self.send(Message::Text(text.into()))
    }

    /// Queues a binary message. Free for `Bytes` and `Vec<u8>`.
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Binary(data.into()))
    }

    /// Queues one frame of a message the caller fragments itself. The first call opens a
    /// message of `kind`; later calls must pass the same kind; `is_last` ends it. Text
    /// fragments are checked so that the whole message is valid UTF-8 (a code point may span
    /// fragments).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: Bytes,
        is_last: bool,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let opcode = match (&self.sending, kind) {
            (Some((open, _)), k) if *open != k => return Err(SendError::KindMismatch),
            (Some(_), _) => OpCode::Continuation,
            (None, MessageKind::Text) => OpCode::Text,
            (None, MessageKind::Binary) => OpCode::Binary,
        };
        self.check_queue(self.config.send_queue_cost(data.len()))?;
        let mut validator = self
            .sending
            .as_ref()
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if kind == MessageKind::Text {
            validator.feed(&data).map_err(|_| SendError::InvalidUtf8)?;
            if is_last && !validator.is_complete() {
                return Err(SendError::InvalidUtf8);
            }
        }
        self.sending = if is_last {
            None
        } else {
            Some((kind, validator))
        };
        self.timers.note_data();
        self.push_data_frame(is_last, opcode, data);
        Ok(())
    }

    /// Queues a ping (at most 125 bytes) ahead of queued data; it replaces a ping not yet
    /// started, so pings never pile up.
    pub fn ping(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload, FrameKind::Ping)
    }

    /// Queues a pong (at most 125 bytes) ahead of queued data, behind other pongs; past
    /// [`Limits::max_pong_backlog`](crate::Limits::max_pong_backlog) the oldest unstarted
    /// pongs are dropped.
    pub fn pong(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload, FrameKind::Pong)
    }

    fn send_control(
        &mut self,
        opcode: OpCode,
        payload: Bytes,
        kind: FrameKind,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong(payload.len()));
        }
        let frame = self.tx.encoder.encode(true, opcode, payload, kind);
        if kind == FrameKind::Pong {
            self.tx
                .push_pong(frame, self.config.limits.max_pong_backlog);
        } else {
            self.tx.push_urgent(frame);
        }
        Ok(())
    }

    /// Starts the close handshake at time `now`: queues a Close after the data already
    /// queued and starts the close timer. Further sends fail with [`SendError::Closing`];
    /// incoming messages are still delivered until the peer's Close.
    pub fn close(
        &mut self,
        now: Timestamp,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        self.timers.tick(now);
        self.check_can_send()?;
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code.0));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(SendError::ReasonTooLong(reason.len()));
        }
        self.queue_close(CloseFrame {
            code,
            reason: reason.to_string(),
        });
        Ok(())
    }

    /// Queues our Close after the data already queued (a failure too: what the application
    /// sent before it, such as a reply to the last message delivered, is not lost) and
    /// starts the close timer.
    pub(crate) fn queue_close(&mut self, frame: CloseFrame) {
        if self.close_sent.is_some() {
            return;
        }
        self.tx.push_data_frame(true, OpCode::Close, frame.encode());
        self.close_sent = Some(frame);
        self.sending = None;
        self.timers.arm_close(self.config.timers.close_timeout);
    }

    // ----- endings -----

    /// Ends the connection: reports [`Event::Closed`] and makes every later input a no-op.
    pub(crate) fn finish(&mut self, closed_by: Closer) {
        if self.is_closed() {
            return;
        }
        let clean = self.close_sent.is_some() && self.close_received.is_some();
        let report = CloseReport {
            sent: self.close_sent.clone(),
            received: self.close_received.clone(),
            clean,
            closed_by,
            transport: self.transport,
        };
        self.phase = Phase::Closed;
        self.rx.clear();
        self.timers.clear();
        self.sending = None;
        self.events.push_back(Event::Closed(report));
    }

    /// Fails the connection (RFC 6455 7.1.7): error event, Close with the error's code, no
    /// further input, Closed.
    pub(crate) fn fail(&mut self, error: ProtocolError) {
        self.events
            .push_back(Event::Error(ConnectionError::Protocol(error)));
        let frame = CloseFrame {
            code: error.close_code(),
            reason: error.reason().to_string(),
        };
        self.queue_close(frame);
        self.finish(Closer::Us);
        // The peer may still be sending: read and discard its input for a while, so that
        // closing the socket with unread bytes does not reset it before our Close is read.
        if self.transport.is_none() {
            self.timers.drain = self
                .config
                .timers
                .drain_timeout
                .map(|d| self.timers.now() + d);
        }
    }

    /// The handshake failed: error event; a server queues the HTTP error response.
    pub(crate) fn fail_handshake(&mut self, error: HandshakeError) {
        if self.role == Role::Server {
            if let Some(response) = error.response() {
                self.tx.push_handshake(Bytes::from(response));
            }
        }
        self.events
            .push_back(Event::Error(ConnectionError::Handshake(error)));
        self.finish(Closer::Us);
    }

    /// A timer gave up on the peer: error event, nothing more written, Closed.
    pub(crate) fn fail_timeout(&mut self, timeout: Timeout) {
        self.events
            .push_back(Event::Error(ConnectionError::Timeout(timeout)));
        self.tx.kill();
        self.finish(Closer::Us);
    }
}

/// Why [`Connection::accept`] or [`Connection::reject`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceptError {
    /// No request awaits a decision (not a server, not yet received, or already decided).
    NoPendingRequest,
    /// The accept options are invalid (e.g. a subprotocol the client did not offer).
    Handshake(HandshakeError),
}

impl core::fmt::Display for AcceptError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AcceptError::NoPendingRequest => f.write_str("no handshake request awaits a decision"),
            AcceptError::Handshake(e) => write!(f, "invalid accept: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for AcceptError {}
