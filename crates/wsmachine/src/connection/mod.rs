//! The connection state machine: the one object a caller drives.
//!
//! Inputs ([`handle_input`](Connection::handle_input), [`handle_eof`](Connection::handle_eof),
//! [`handle_reset`](Connection::handle_reset), [`handle_timeout`](Connection::handle_timeout),
//! the `send_*` commands) never panic and are harmless in every state. Outputs are pulled:
//! [`poll_event`](Connection::poll_event), the transmit queue, and
//! [`poll_timeout`](Connection::poll_timeout).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::mem::MaybeUninit;

use crate::close::CloseFrame;
use crate::config::Config;
use crate::event::{Event, TransportEnd};
use crate::handshake::{ClientHandshake, ClientRequest, HandshakeError, Request, ServerHandshake};
use crate::message::MessageKind;
use crate::random::RandomSource;
use crate::role::Role;
use crate::time::Timestamp;
use crate::transmit::{Encoder, Transmitter};
use crate::utf8::Utf8Validator;
use receive::Receiver;
use timers::TimerSet;

mod closing;
#[cfg(feature = "deflate")]
mod deflate;
/// Without the `deflate` feature: no extension is ever in use.
#[cfg(not(feature = "deflate"))]
mod deflate {
    use super::Connection;
    use crate::frame::FrameHeader;
    use bytes::Bytes;

    impl Connection {
        pub(super) fn rsv1_allowed(&self, _: &FrameHeader) -> bool {
            false
        }
        pub(super) fn compresses(&self, _: usize) -> bool {
            false
        }
        pub(super) fn deflate_in_use(&self) -> bool {
            false
        }
        pub(super) fn compressed_bound(len: usize) -> usize {
            len
        }
        pub(super) fn compress_payload(&mut self, data: Bytes, _: bool) -> Bytes {
            data
        }
        pub(super) fn discard_compressor(&mut self) {}
    }
}
mod decision;
pub use decision::AcceptError;
mod receive;
mod record;
mod send;
mod timers;

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

enum Phase {
    ClientHandshake(Box<ClientHandshake>),
    ServerHandshake(Box<ServerHandshake>),
    /// A server waits for the caller's accept or reject.
    AwaitingDecision(Box<Request>),
    Open,
    /// A Close went out, came in, or both; data still flows the other way until the
    /// peer's Close (which `close_sent` and `close_received` record).
    Closing,
    Closed,
}

/// One WebSocket connection, either role, with no I/O.
///
/// # The driver contract
///
/// Every adapter (and any loop of your own) drives a connection the same way; `now` is the
/// caller's monotonic clock, passed with every input that can start or move a timer:
///
/// 1. **Read** only while [`wants_input`](Connection::wants_input) is true (the input
///    backpressure signal), straight into [`input_buffer`](Connection::input_buffer) then
///    [`handle_input_appended`](Connection::handle_input_appended), or with
///    [`handle_input`](Connection::handle_input) /
///    [`handle_input_owned`](Connection::handle_input_owned), asking for at most
///    [`read_size`](Connection::read_size) bytes (optional: it keeps large payloads from
///    being moved; [`read_limit`](Connection::read_limit) allows larger reads of a large
///    frame's rest into `input_buffer`). EOF is
///    [`handle_eof`](Connection::handle_eof); an I/O error is
///    `handle_io_error` (behind `std`, in [`io`](crate::io)) or
///    [`handle_transport_end`](Connection::handle_transport_end).
/// 2. **Poll events** with [`poll_event`](Connection::poll_event) when the application asks
///    for its next one, never ahead of it: a reply queued before the next poll goes out
///    before any Close a later protocol violation causes. A server answers
///    [`Event::Request`] with [`accept`](Connection::accept) or
///    [`reject`](Connection::reject).
/// 3. **Write** what [`transmit_slices`](Connection::transmit_slices) (or
///    `transmit_io_slices`) shows and acknowledge it with
///    [`advance_transmit`](Connection::advance_transmit); partial writes lose nothing.
///    Over an `io::Write`, `write_transmit_io` does both in one call (one `write` when the
///    output is one slice, which is a cheaper system call than `writev`).
/// 4. **Sleep** until [`poll_timeout`](Connection::poll_timeout), then call
///    [`handle_timeout`](Connection::handle_timeout).
/// 5. **Close**: once [`is_closed`](Connection::is_closed) and nothing is left to write,
///    shut the transport's write side (FIN) and keep reading while `wants_input` (the
///    connection drains a failed peer, or a client waits for the server's EOF); drop the
///    transport when [`should_close_transport`](Connection::should_close_transport).
///
/// Every call is harmless in every state and never panics. Memory is bounded by
/// [`Limits`](crate::Limits) (see [`wants_input`](Connection::wants_input) for the bound).
pub struct Connection {
    role: Role,
    config: Config,
    phase: Phase,
    rx: Receiver,
    tx: Transmitter,
    /// Events parsed (or raised by a timer) but not yet taken: almost always at most one,
    /// as `poll_event` parses one at a time. Made with room for exactly one, so an open
    /// connection holds 80 bytes for it where a growing `VecDeque` keeps room for four
    /// (320) once it has held one; a burst (an error and then `Closed`) grows it.
    events: VecDeque<Event>,
    timers: TimerSet,
    close_sent: Option<CloseFrame>,
    close_received: Option<CloseFrame>,
    /// How the caller said the transport ended, if it did.
    transport: Option<TransportEnd>,
    /// Caller-driven outgoing fragmented message: its kind, for text a validator, and
    /// whether it is compressed.
    sending: Option<(MessageKind, Utf8Validator, bool)>,
    /// permessage-deflate, when agreed.
    #[cfg(feature = "deflate")]
    deflate: Option<Box<crate::deflate::DeflateState>>,
    /// The transcript being recorded (feature `record`, `Config::record`).
    rec: record::Rec,
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
        rec: record::Rec,
    ) -> Connection {
        let mut conn = Connection {
            role,
            config,
            phase,
            rx: Receiver::new(),
            tx: Transmitter::new(encoder),
            events: VecDeque::with_capacity(1),
            timers: TimerSet::new(now),
            close_sent: None,
            close_received: None,
            transport: None,
            sending: None,
            #[cfg(feature = "deflate")]
            deflate: None,
            rec,
        };
        conn.rec.tap(&mut conn.tx);
        if matches!(conn.phase, Phase::Open) {
            conn.start_open_timers();
        } else if let Some(d) = config.timers.handshake_timeout {
            conn.timers.handshake = Some(now + d);
        }
        conn
    }

    /// A client that will run the opening handshake for `request`; the request bytes are
    /// queued for transmission at once. Masking and handshake keys come from `random`. With
    /// `config.deflate` set (feature `deflate`), the permessage-deflate offer it describes is
    /// added, unless `request` offers the extension already.
    pub fn client_with_random(
        request: &ClientRequest,
        config: Config,
        now: Timestamp,
        mut random: Box<dyn RandomSource>,
    ) -> Result<Connection, HandshakeError> {
        let mut rec = record::Rec::client(&config, now, request);
        #[cfg(feature = "deflate")]
        let request = &deflate::with_offer(request, &config);
        let hs = rec.draw(random.as_mut(), |r| {
            ClientHandshake::new(request, r, config.limits.handshake)
        })?;
        let bytes = Bytes::copy_from_slice(hs.request_bytes());
        let phase = Phase::ClientHandshake(Box::new(hs));
        let encoder = Encoder::client(random);
        let mut conn = Connection::build(Role::Client, config, now, phase, encoder, rec);
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
        let rec = record::Rec::server(&config, now);
        Connection::build(Role::Server, config, now, phase, Encoder::Server, rec)
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
        let rec = record::Rec::open(role, &config, now);
        Connection::build(role, config, now, Phase::Open, encoder, rec)
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
            Phase::Open => State::Open,
            Phase::Closing => State::Closing,
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
    /// assembled plus `max_send_queue + max_pong_backlog` of output, plus, with
    /// permessage-deflate in use, the compressor and decompressor states (at most about
    /// 430 KiB at the defaults; see the `deflate` module). Also true while a
    /// client that received the server's Close waits for the server to end TCP (RFC 6455
    /// 7.1.1): bytes read then are discarded, and the EOF finishes the connection cleanly.
    pub fn wants_input(&self) -> bool {
        if self.is_closed() {
            return self.timers.drain.is_some();
        }
        if self.awaiting_server_eof() {
            return true;
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
    /// `bytes`, which also unmasks the payload of frames of 4 KiB or more (it follows
    /// the frame boundaries as it copies, so the decoder has no second pass to make).
    /// Feed bytes already in memory (a custom runtime's buffers, TLS plaintext, a test)
    /// here: the copy you would make anyway also unmasks large frames. Bytes still to be
    /// read from a socket can be read straight into the buffer instead, with
    /// [`read_input`](Self::read_input) or [`input_buffer`](Self::input_buffer).
    pub fn handle_input(&mut self, now: Timestamp, bytes: &[u8]) -> State {
        self.rec.input(now, bytes);
        self.timers.tick(now);
        if self.accepts_input() && !bytes.is_empty() {
            let frames = matches!(self.phase, Phase::Open | Phase::Closing);
            self.rx.append(bytes, frames);
            self.rx.received += bytes.len() as u64;
            self.timers.note_rx();
        }
        self.state()
    }

    /// Feeds an owned buffer read from the transport at time `now`. When nothing is
    /// buffered it is taken as the receive buffer without a copy, and messages are split
    /// from it without copying; contiguous reads split off one buffer are joined in place.
    pub fn handle_input_owned(&mut self, now: Timestamp, bytes: BytesMut) -> State {
        self.rec.input(now, &bytes);
        self.timers.tick(now);
        if self.accepts_input() && !bytes.is_empty() {
            self.rx.appending_in_place();
            self.timers.note_rx();
            self.rx.received += bytes.len() as u64;
            if self.rx.buf.is_empty() {
                self.rx.buf = bytes;
            } else {
                self.rx.buf.unsplit(bytes);
            }
        }
        self.state()
    }

    /// The receive buffer, to read from the transport straight into it: append what you
    /// read (e.g. with tokio's `AsyncReadExt::read_buf` or `BufMut`, which append without
    /// zeroing), then call [`handle_input_appended`](Self::handle_input_appended). It has at
    /// least `min_spare` bytes of spare capacity, plus room for one frame header (14 bytes)
    /// so that a read of `min_spare` bytes that starts a large frame leaves its first
    /// payload bytes in place when its rest is reserved; except while
    /// [`read_limit`](Self::read_limit) gives a cap, when it has room for that cap: while a
    /// large frame arrives, exactly the rest of that frame and the next header (its length
    /// already passed the limits, so a large message arrives in one allocation and is never
    /// moved), and right after one, a frame header. Read at most
    /// [`read_size`](Self::read_size) bytes into it (or up to `read_limit`, when it gives
    /// one). Only append: the bytes already in it are the connection's. A reader that fills
    /// uninitialised memory can use [`read_input`](Self::read_input) instead. Cost: a
    /// reallocation only when the spare capacity is short.
    pub fn input_buffer(&mut self, min_spare: usize) -> &mut BytesMut {
        self.rx.reserve_for_read(min_spare);
        self.rx.appending_in_place();
        self.rx.lent_at = Some(self.rx.buf.len());
        &mut self.rx.buf
    }

    /// Reads from the transport straight into the receive buffer without zeroing it first,
    /// and without `unsafe` on your side: `read` is lent the buffer's spare room, at most
    /// [`read_size(max)`](Self::read_size) bytes of it (reserved as
    /// [`input_buffer`](Self::input_buffer) reserves: pass your read size as `max`, not
    /// `usize::MAX`), uninitialised, and returns the part it filled, from the start of what
    /// it was lent: e.g. with rustix,
    /// `|spare| net::recv(&fd, spare, RecvFlags::empty()).map(|((filled, _), _)| filled)`.
    /// Then call [`handle_input_appended`](Self::handle_input_appended). Returns the
    /// number of bytes appended (0 with `max` 0, or at EOF), or `read`'s error, with nothing
    /// appended. Any slice `read` returns that is not the start of what it was lent is
    /// copied in instead. Cost: no copy and no zeroing; a reallocation only when the spare
    /// capacity is short.
    pub fn read_input<E>(
        &mut self,
        max: usize,
        read: impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> Result<&'a mut [u8], E>,
    ) -> Result<usize, E> {
        let max = self.rx.read_size(max);
        self.rx.reserve_for_read(max);
        self.rx.appending_in_place();
        self.rx.lent_at = Some(self.rx.buf.len());
        crate::spare::append_read(&mut self.rx.buf, max, read)
    }

    /// How many bytes to read from the transport next, at most `max` (your read size).
    /// While a large frame (32 KiB of payload or more) is arriving this is the rest of it
    /// plus one frame header (14 bytes) when that is less, so the read ends where the next
    /// frame's header ends: the next frame's payload then lands in room reserved for all of
    /// it (only those few header bytes are copied), and a large message is never moved once
    /// its length is known. Reading more is allowed (bytes are never lost), it only costs a
    /// copy of what was read past the header. Cost: a few comparisons.
    pub fn read_size(&self, max: usize) -> usize {
        self.rx.read_size(max)
    }

    /// The cap [`read_size`](Self::read_size) applies, if any: while a large frame arrives
    /// the rest of it and the next frame's header, or right after one a frame header. A
    /// caller reading into [`input_buffer`](Self::input_buffer) may read all of that at once
    /// (the buffer has room reserved for it), in fewer reads than its usual size allows;
    /// with `None`, read its usual size. Cost: a few comparisons.
    pub fn read_limit(&self) -> Option<usize> {
        self.rx.read_cap()
    }

    /// Takes the bytes appended to [`input_buffer`](Self::input_buffer) since it was lent,
    /// read at time `now`, as [`handle_input`](Self::handle_input) does but without a copy.
    /// After close they are dropped.
    pub fn handle_input_appended(&mut self, now: Timestamp) -> State {
        let appended = self.rx.lent_at.and_then(|at| self.rx.buf.get(at..));
        self.rec.input(now, appended.unwrap_or_default());
        self.timers.tick(now);
        let Some(at) = self.rx.lent_at.take() else {
            return self.state();
        };
        let at = at.min(self.rx.buf.len());
        if !self.accepts_input() {
            self.rx.buf.truncate(at);
        } else if self.rx.buf.len() > at {
            self.rx.received += (self.rx.buf.len() - at) as u64;
            self.timers.note_rx();
        }
        self.state()
    }

    /// A client got the server's Close and waits for the server to close the transport.
    fn awaiting_server_eof(&self) -> bool {
        self.role == crate::role::Role::Client
            && self.close_received.is_some()
            && self.transport.is_none()
            && !self.is_closed()
    }

    fn accepts_input(&self) -> bool {
        !self.is_closed() && self.transport.is_none() && self.close_received.is_none()
    }

    /// The peer ended its side (EOF). Events for what was fully received are still
    /// delivered, then [`Event::Closed`]: clean if the close handshake finished, else 1006.
    pub fn handle_eof(&mut self) -> State {
        self.rec.eof();
        self.end_transport(TransportEnd::Eof)
    }

    /// The connection was reset: as [`handle_eof`](Connection::handle_eof), and nothing more
    /// will be written.
    pub fn handle_reset(&mut self) -> State {
        self.rec.reset();
        self.tx.kill();
        self.end_transport(TransportEnd::Reset)
    }

    /// Our write side is shut (a write failed): nothing more can be sent, so the connection
    /// ends after the events already received.
    pub fn handle_write_closed(&mut self) -> State {
        self.rec.write_closed();
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
        let event = self.events.pop_front();
        self.rec.event(event.as_ref(), &mut self.tx);
        event
    }

    /// The unwritten output, in order, as slices for a vectored write. Frame headers and
    /// large payloads are separate slices; nothing is copied.
    pub fn transmit_slices(&self) -> impl Iterator<Item = &[u8]> {
        self.tx.slices()
    }

    /// Marks `n` bytes of [`transmit_slices`](Connection::transmit_slices) as written.
    /// Partial writes are fine: the rest stays queued.
    pub fn advance_transmit(&mut self, n: usize) {
        self.rec.advance(&self.tx, n);
        self.tx.advance(n);
    }

    /// Takes the next chunk of output as owned bytes, already counted as written. For
    /// callers that hand buffers to an async write: the bytes live as long as the chunk.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let chunk = self.tx.pop_chunk();
        self.rec.poll_transmit(chunk.as_ref());
        chunk
    }

    /// Copies as much output as fits into `out` and marks it written; returns the count.
    pub fn write_transmit_to(&mut self, out: &mut Vec<u8>, max: usize) -> usize {
        let start = out.len();
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
        self.rec
            .write_transmit(max, out.get(start..).unwrap_or_default());
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
    /// [`SendError::QueueFull`](crate::SendError::QueueFull): the backpressure signal.
    pub fn send_capacity(&self) -> usize {
        self.config
            .limits
            .max_send_queue
            .saturating_sub(self.tx.data_bytes())
    }
}
