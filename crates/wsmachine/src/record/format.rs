//! The transcript's byte format: primitives, [`Record`] and how each is written and read.
//! The layout is documented in the [module docs](super#format).

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::config::{Config, Limits, ReceiveMode, Timers};
use crate::error::{Diagnostic, SendError};
use crate::event::TransportEnd;
use crate::handshake::{Accept, ClientRequest, HandshakeLimits};
use crate::message::MessageKind;
use crate::role::Role;
use crate::time::Timestamp;

/// The first five bytes of every transcript.
pub const MAGIC: [u8; 5] = *b"WSREC";
/// The format version this crate writes and reads (the sixth byte).
pub const VERSION: u8 = 1;

/// FNV-1a (64-bit) over byte slices fed in order: the digest a transcript keeps of each
/// chunk of output and of each received message, to check a replay without storing the
/// bytes twice. Not collision-resistant against an adversary; a replay compares digests of
/// bytes the same code produced. Cost: one multiply per byte.
#[derive(Debug, Clone, Copy)]
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The digest of what was fed.
    pub fn finish(self) -> u64 {
        self.0
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> u64 {
        let mut d = Digest::default();
        d.update(bytes);
        d.finish()
    }
}

/// The result of the command recorded just before it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The call succeeded.
    Ok,
    /// A send, ping, pong or close was refused.
    Send(SendError),
    /// `accept`/`reject`: no request awaited a decision.
    NoPendingRequest,
    /// `accept`: the accept options were invalid (the core answered 500 and closed).
    InvalidAccept,
}

/// What one `poll_event` call returned, as a transcript keeps it: data events as kind,
/// length and [`Digest`], control events in full, the handshake events and errors as text,
/// the close report field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventRecord<'a> {
    /// No event (more input or a timeout is needed).
    None,
    /// `Event::Request`: method, target, key and offers, as text.
    Request(Cow<'a, str>),
    /// `Event::Connected`: status, subprotocol and extensions, as text.
    Connected(Cow<'a, str>),
    /// `Event::Message`.
    Message {
        /// Text or binary.
        kind: MessageKind,
        /// Payload length.
        len: u64,
        /// [`Digest`] of the payload.
        digest: u64,
    },
    /// `Event::Fragment`.
    Fragment {
        /// Text or binary.
        kind: MessageKind,
        /// The first piece of its message.
        first: bool,
        /// The last piece of its message.
        last: bool,
        /// Payload length.
        len: u64,
        /// [`Digest`] of the payload.
        digest: u64,
    },
    /// `Event::Ping` and its payload.
    Ping(&'a [u8]),
    /// `Event::Pong` and its payload.
    Pong(&'a [u8]),
    /// `Event::CloseReceived`.
    CloseReceived {
        /// The close code.
        code: u16,
        /// The reason.
        reason: Cow<'a, str>,
    },
    /// `Event::Error(ConnectionError::Protocol(..))`.
    ProtocolError {
        /// The close code sent.
        code: u16,
        /// The error as `Display` shows it.
        error: Cow<'a, str>,
        /// Where it happened.
        at: Diagnostic,
    },
    /// Any other `Event::Error` (handshake, timeout), as `Display` shows it.
    Error(Cow<'a, str>),
    /// `Event::Closed` and its report.
    Closed {
        /// The Close sent: code and reason.
        sent: Option<(u16, Cow<'a, str>)>,
        /// The Close received: code and reason.
        received: Option<(u16, Cow<'a, str>)>,
        /// Both Closes were exchanged.
        clean: bool,
        /// We end (or ended) the transport.
        closed_by_us: bool,
        /// How the caller said the transport ended.
        transport: Option<TransportEnd>,
    },
}

/// One entry of a transcript: an input given to the connection (replayed), or what an input
/// produced (checked). See the [module docs](super#format) for the bytes of each.
///
/// The construction variants carry a whole [`Config`]; records are read and written one at
/// a time, so the others' smaller size is not worth a box.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum Record<'a> {
    /// `Connection::open_with_random` (or `open`): the first record.
    Open {
        /// Client or server.
        role: Role,
        /// The time given.
        now: Timestamp,
        /// The configuration (its `record` flag is not kept).
        config: Config,
    },
    /// `Connection::server`: the first record.
    Server {
        /// The time given.
        now: Timestamp,
        /// The configuration.
        config: Config,
    },
    /// `Connection::client_with_random` (or `client`): the first record.
    Client {
        /// The time given.
        now: Timestamp,
        /// The configuration.
        config: Config,
        /// The request as the caller built it.
        request: Cow<'a, ClientRequest>,
    },
    /// Bytes from the peer: `handle_input`, `handle_input_owned` or the bytes appended
    /// before `handle_input_appended`.
    Input {
        /// The time given.
        now: Timestamp,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// `handle_eof` (or `handle_transport_end(Eof)`, `handle_io_error` meaning EOF).
    Eof,
    /// `handle_reset`.
    Reset,
    /// `handle_write_closed`.
    WriteClosed,
    /// `handle_timeout(now)`.
    Timeout {
        /// The time given.
        now: Timestamp,
    },
    /// `accept` (or `decide` with an accept), then an [`Outcome`].
    Accept {
        /// The time given.
        now: Timestamp,
        /// The accept options.
        accept: Cow<'a, Accept>,
    },
    /// `reject` (or `decide` with a rejection), then an [`Outcome`].
    Reject {
        /// The HTTP status.
        status: u16,
        /// Extra headers.
        headers: Cow<'a, [(String, String)]>,
        /// The body.
        body: &'a [u8],
    },
    /// `use_deflate`.
    #[cfg(feature = "deflate")]
    UseDeflate {
        /// The agreed parameters.
        params: crate::deflate::DeflateParams,
        /// Our compression settings.
        settings: crate::deflate::DeflateConfig,
    },
    /// `send` (and `send_text`, `send_binary`) or `send_uncompressed`, then an [`Outcome`].
    Send {
        /// Text or binary.
        kind: MessageKind,
        /// `send` (may compress) rather than `send_uncompressed`.
        compress: bool,
        /// The payload.
        payload: &'a [u8],
    },
    /// `send_fragment` or `send_fragment_uncompressed`, then an [`Outcome`].
    SendFragment {
        /// Text or binary.
        kind: MessageKind,
        /// `send_fragment` rather than `send_fragment_uncompressed`.
        compress: bool,
        /// `is_last`.
        last: bool,
        /// The data.
        payload: &'a [u8],
    },
    /// `ping`, then an [`Outcome`].
    Ping(&'a [u8]),
    /// `pong`, then an [`Outcome`].
    Pong(&'a [u8]),
    /// `close(now, code, reason)`, then an [`Outcome`].
    Close {
        /// The time given.
        now: Timestamp,
        /// The close code asked for.
        code: u16,
        /// The reason.
        reason: &'a str,
    },
    /// The result of the command just before.
    Outcome(Outcome),
    /// A `poll_event` call and what it returned.
    Event(EventRecord<'a>),
    /// `advance_transmit(n)`: the length and [`Digest`] of the `n` bytes it acknowledged
    /// (fewer if less was queued).
    Advance {
        /// The `n` passed.
        n: u64,
        /// Bytes actually acknowledged.
        len: u64,
        /// Their digest.
        digest: u64,
    },
    /// `poll_transmit` and the chunk it returned: length and digest.
    PollTransmit(Option<(u64, u64)>),
    /// `write_transmit_to(out, max)`: the bytes copied, length and digest.
    WriteTransmit {
        /// The `max` passed.
        max: u64,
        /// Bytes copied.
        len: u64,
        /// Their digest.
        digest: u64,
    },
    /// Bytes the connection drew from its random source during the record before
    /// (a client's handshake key, masking keys 64 bytes at a time).
    Random(&'a [u8]),
}

// ----- tags -----

const T_OPEN: u8 = 0x01;
const T_SERVER: u8 = 0x02;
const T_CLIENT: u8 = 0x03;
const T_INPUT: u8 = 0x10;
const T_EOF: u8 = 0x11;
const T_RESET: u8 = 0x12;
const T_WRITE_CLOSED: u8 = 0x13;
const T_TIMEOUT: u8 = 0x14;
const T_ACCEPT: u8 = 0x20;
const T_REJECT: u8 = 0x21;
const T_USE_DEFLATE: u8 = 0x22;
const T_SEND: u8 = 0x30;
const T_FRAGMENT: u8 = 0x31;
const T_PING: u8 = 0x32;
const T_PONG: u8 = 0x33;
const T_CLOSE: u8 = 0x34;
const T_OUTCOME: u8 = 0x3f;
const T_EVENT: u8 = 0x40;
const T_ADVANCE: u8 = 0x41;
const T_POLL_TRANSMIT: u8 = 0x42;
const T_WRITE_TRANSMIT: u8 = 0x43;
const T_RANDOM: u8 = 0x50;

// ----- writing -----

/// Appends the primitives of the format to a byte vector.
pub(crate) struct Out<'v>(pub(crate) &'v mut Vec<u8>);

impl Out<'_> {
    fn u8(&mut self, b: u8) {
        self.0.push(b);
    }
    fn bool(&mut self, b: bool) {
        self.0.push(u8::from(b));
    }
    fn uvar(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.uvar(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn duration(&mut self, d: Duration) {
        self.uvar(d.as_secs());
        self.uvar(u64::from(d.subsec_nanos()));
    }
    fn time(&mut self, t: Timestamp) {
        self.duration(t.as_duration());
    }
    fn opt_duration(&mut self, d: Option<Duration>) {
        match d {
            None => self.u8(0),
            Some(d) => {
                self.u8(1);
                self.duration(d);
            }
        }
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
    fn strs<S: AsRef<str>>(&mut self, list: &[S]) {
        self.uvar(list.len() as u64);
        for s in list {
            self.str(s.as_ref());
        }
    }
    fn pairs(&mut self, list: &[(String, String)]) {
        self.uvar(list.len() as u64);
        for (a, b) in list {
            self.str(a);
            self.str(b);
        }
    }
    fn kind(&mut self, k: MessageKind) {
        self.u8(match k {
            MessageKind::Text => 1,
            MessageKind::Binary => 2,
        });
    }

    fn config(&mut self, c: &Config) {
        let l = &c.limits;
        self.uvar(l.max_frame_size);
        self.uvar(l.max_message_size);
        self.uvar(l.max_fragments);
        self.uvar(l.max_send_queue as u64);
        self.uvar(l.max_pong_backlog as u64);
        self.uvar(l.input_high_water as u64);
        self.uvar(l.handshake.max_header_bytes as u64);
        self.uvar(l.handshake.max_headers as u64);
        let t = &c.timers;
        for d in [
            t.handshake_timeout,
            t.ping_interval,
            t.pong_timeout,
            t.close_timeout,
            t.idle_timeout,
            t.drain_timeout,
        ] {
            self.opt_duration(d);
        }
        self.u8(match c.receive_mode {
            ReceiveMode::Messages => 0,
            ReceiveMode::Fragments => 1,
        });
        self.bool(c.auto_pong);
        match c.auto_fragment_size {
            None => self.u8(0),
            Some(n) => {
                self.u8(1);
                self.uvar(n as u64);
            }
        }
        #[cfg(feature = "deflate")]
        match &c.deflate {
            None => self.u8(0),
            Some(d) => {
                self.u8(1);
                self.deflate_config(d);
            }
        }
        #[cfg(not(feature = "deflate"))]
        self.u8(0);
    }

    #[cfg(feature = "deflate")]
    fn deflate_config(&mut self, d: &crate::deflate::DeflateConfig) {
        self.bool(d.server_no_context_takeover);
        self.bool(d.client_no_context_takeover);
        self.u8(d.server_max_window_bits);
        self.u8(d.client_max_window_bits);
        self.u8(d.level);
        self.u8(d.memory_level);
        self.uvar(d.threshold as u64);
    }

    #[cfg(feature = "deflate")]
    fn deflate_params(&mut self, p: &crate::deflate::DeflateParams) {
        self.bool(p.server_no_context_takeover);
        self.bool(p.client_no_context_takeover);
        self.u8(p.server_max_window_bits.unwrap_or(0));
        self.u8(p.client_max_window_bits.unwrap_or(0));
    }

    fn request(&mut self, r: &ClientRequest) {
        self.bool(r.is_tls());
        self.str(&r.host_header());
        self.str(r.resource());
        self.strs(r.subprotocols());
        self.strs(r.extensions());
        self.pairs(r.headers());
    }

    fn send_error(&mut self, e: &SendError) {
        match *e {
            SendError::NotOpen => self.u8(1),
            SendError::Closing => self.u8(2),
            SendError::Closed => self.u8(3),
            SendError::QueueFull { queued, limit } => {
                self.u8(4);
                self.uvar(queued as u64);
                self.uvar(limit as u64);
            }
            SendError::ControlTooLong(n) => {
                self.u8(5);
                self.uvar(n as u64);
            }
            SendError::InvalidCloseCode(c) => {
                self.u8(6);
                self.uvar(u64::from(c));
            }
            SendError::ReasonTooLong(n) => {
                self.u8(7);
                self.uvar(n as u64);
            }
            SendError::InvalidUtf8 => self.u8(8),
            SendError::MessageInProgress => self.u8(9),
            SendError::KindMismatch => self.u8(10),
        }
    }

    fn close_pair(&mut self, p: &Option<(u16, Cow<'_, str>)>) {
        match p {
            None => self.u8(0),
            Some((code, reason)) => {
                self.u8(1);
                self.uvar(u64::from(*code));
                self.str(reason);
            }
        }
    }

    fn event(&mut self, e: &EventRecord<'_>) {
        match e {
            EventRecord::None => self.u8(0),
            EventRecord::Request(s) => {
                self.u8(1);
                self.str(s);
            }
            EventRecord::Connected(s) => {
                self.u8(2);
                self.str(s);
            }
            EventRecord::Message { kind, len, digest } => {
                self.u8(3);
                self.kind(*kind);
                self.uvar(*len);
                self.u64(*digest);
            }
            EventRecord::Fragment {
                kind,
                first,
                last,
                len,
                digest,
            } => {
                self.u8(4);
                self.kind(*kind);
                self.bool(*first);
                self.bool(*last);
                self.uvar(*len);
                self.u64(*digest);
            }
            EventRecord::Ping(p) => {
                self.u8(5);
                self.bytes(p);
            }
            EventRecord::Pong(p) => {
                self.u8(6);
                self.bytes(p);
            }
            EventRecord::CloseReceived { code, reason } => {
                self.u8(7);
                self.uvar(u64::from(*code));
                self.str(reason);
            }
            EventRecord::ProtocolError { code, error, at } => {
                self.u8(8);
                self.uvar(u64::from(*code));
                self.str(error);
                self.uvar(at.offset);
                self.uvar(at.frame);
                self.u8(at.header[0]);
                self.u8(at.header[1]);
            }
            EventRecord::Error(s) => {
                self.u8(9);
                self.str(s);
            }
            EventRecord::Closed {
                sent,
                received,
                clean,
                closed_by_us,
                transport,
            } => {
                self.u8(10);
                self.close_pair(sent);
                self.close_pair(received);
                self.bool(*clean);
                self.bool(*closed_by_us);
                self.u8(match transport {
                    None => 0,
                    Some(TransportEnd::Eof) => 1,
                    Some(TransportEnd::Reset) => 2,
                    Some(TransportEnd::WriteShut) => 3,
                });
            }
        }
    }

    /// Appends the header: magic and version.
    pub(crate) fn header(&mut self) {
        self.0.extend_from_slice(&MAGIC);
        self.u8(VERSION);
    }

    /// Appends one record.
    pub(crate) fn record(&mut self, r: &Record<'_>) {
        match r {
            Record::Open { role, now, config } => {
                self.u8(T_OPEN);
                self.u8(match role {
                    Role::Client => 0,
                    Role::Server => 1,
                });
                self.time(*now);
                self.config(config);
            }
            Record::Server { now, config } => {
                self.u8(T_SERVER);
                self.time(*now);
                self.config(config);
            }
            Record::Client {
                now,
                config,
                request,
            } => {
                self.u8(T_CLIENT);
                self.time(*now);
                self.config(config);
                self.request(request);
            }
            Record::Input { now, bytes } => {
                self.u8(T_INPUT);
                self.time(*now);
                self.bytes(bytes);
            }
            Record::Eof => self.u8(T_EOF),
            Record::Reset => self.u8(T_RESET),
            Record::WriteClosed => self.u8(T_WRITE_CLOSED),
            Record::Timeout { now } => {
                self.u8(T_TIMEOUT);
                self.time(*now);
            }
            Record::Accept { now, accept } => {
                self.u8(T_ACCEPT);
                self.time(*now);
                self.opt_str(accept.subprotocol.as_deref());
                self.strs(&accept.extensions);
                self.pairs(&accept.headers);
            }
            Record::Reject {
                status,
                headers,
                body,
            } => {
                self.u8(T_REJECT);
                self.uvar(u64::from(*status));
                self.pairs(headers);
                self.bytes(body);
            }
            #[cfg(feature = "deflate")]
            Record::UseDeflate { params, settings } => {
                self.u8(T_USE_DEFLATE);
                self.deflate_params(params);
                self.deflate_config(settings);
            }
            Record::Send {
                kind,
                compress,
                payload,
            } => {
                self.u8(T_SEND);
                self.kind(*kind);
                self.bool(*compress);
                self.bytes(payload);
            }
            Record::SendFragment {
                kind,
                compress,
                last,
                payload,
            } => {
                self.u8(T_FRAGMENT);
                self.kind(*kind);
                self.bool(*compress);
                self.bool(*last);
                self.bytes(payload);
            }
            Record::Ping(p) => {
                self.u8(T_PING);
                self.bytes(p);
            }
            Record::Pong(p) => {
                self.u8(T_PONG);
                self.bytes(p);
            }
            Record::Close { now, code, reason } => {
                self.u8(T_CLOSE);
                self.time(*now);
                self.uvar(u64::from(*code));
                self.str(reason);
            }
            Record::Outcome(o) => {
                self.u8(T_OUTCOME);
                match o {
                    Outcome::Ok => self.u8(0),
                    Outcome::Send(e) => self.send_error(e),
                    Outcome::NoPendingRequest => self.u8(0x40),
                    Outcome::InvalidAccept => self.u8(0x41),
                }
            }
            Record::Event(e) => {
                self.u8(T_EVENT);
                self.event(e);
            }
            Record::Advance { n, len, digest } => {
                self.u8(T_ADVANCE);
                self.uvar(*n);
                self.uvar(*len);
                self.u64(*digest);
            }
            Record::PollTransmit(chunk) => {
                self.u8(T_POLL_TRANSMIT);
                match chunk {
                    None => self.u8(0),
                    Some((len, digest)) => {
                        self.u8(1);
                        self.uvar(*len);
                        self.u64(*digest);
                    }
                }
            }
            Record::WriteTransmit { max, len, digest } => {
                self.u8(T_WRITE_TRANSMIT);
                self.uvar(*max);
                self.uvar(*len);
                self.u64(*digest);
            }
            Record::Random(b) => {
                self.u8(T_RANDOM);
                self.bytes(b);
            }
        }
    }
}

// ----- reading -----

/// Why a transcript could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// Byte offset in the transcript where reading failed.
    pub offset: usize,
    /// What was wrong.
    pub reason: &'static str,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad transcript at byte {}: {}", self.offset, self.reason)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FormatError {}

/// Reads the primitives of the format from a byte slice, never panicking.
struct In<'a> {
    buf: &'a [u8],
    at: usize,
}

type R<T> = Result<T, FormatError>;

impl<'a> In<'a> {
    fn err<T>(&self, reason: &'static str) -> R<T> {
        Err(FormatError {
            offset: self.at,
            reason,
        })
    }
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = match self.at.checked_add(n) {
            Some(e) if e <= self.buf.len() => e,
            _ => return self.err("truncated"),
        };
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn bool(&mut self) -> R<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => self.err("bad boolean"),
        }
    }
    fn uvar(&mut self) -> R<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                return self.err("varint overflows 64 bits");
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        self.err("varint too long")
    }
    fn usize(&mut self) -> R<usize> {
        let v = self.uvar()?;
        usize::try_from(v).or_else(|_| self.err("value too large for usize"))
    }
    fn u16(&mut self) -> R<u16> {
        let v = self.uvar()?;
        u16::try_from(v).or_else(|_| self.err("value too large for u16"))
    }
    fn u64(&mut self) -> R<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> R<&'a [u8]> {
        let n = self.usize()?;
        self.take(n)
    }
    fn str(&mut self) -> R<&'a str> {
        let at = self.at;
        let b = self.bytes()?;
        core::str::from_utf8(b).or(Err(FormatError {
            offset: at,
            reason: "string is not UTF-8",
        }))
    }
    fn string(&mut self) -> R<String> {
        Ok(String::from(self.str()?))
    }
    fn duration(&mut self) -> R<Duration> {
        let secs = self.uvar()?;
        let nanos = self.uvar()?;
        if nanos >= 1_000_000_000 {
            return self.err("nanoseconds out of range");
        }
        Ok(Duration::new(secs, nanos as u32))
    }
    fn time(&mut self) -> R<Timestamp> {
        Ok(Timestamp::from_duration(self.duration()?))
    }
    fn opt_duration(&mut self) -> R<Option<Duration>> {
        Ok(match self.bool()? {
            false => None,
            true => Some(self.duration()?),
        })
    }
    fn opt_str(&mut self) -> R<Option<&'a str>> {
        Ok(match self.bool()? {
            false => None,
            true => Some(self.str()?),
        })
    }
    fn strs(&mut self) -> R<Vec<String>> {
        let n = self.usize()?;
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(self.string()?);
        }
        Ok(v)
    }
    fn pairs(&mut self) -> R<Vec<(String, String)>> {
        let n = self.usize()?;
        let mut v = Vec::new();
        for _ in 0..n {
            v.push((self.string()?, self.string()?));
        }
        Ok(v)
    }
    fn kind(&mut self) -> R<MessageKind> {
        match self.u8()? {
            1 => Ok(MessageKind::Text),
            2 => Ok(MessageKind::Binary),
            _ => self.err("bad message kind"),
        }
    }

    fn config(&mut self) -> R<Config> {
        let limits = Limits {
            max_frame_size: self.uvar()?,
            max_message_size: self.uvar()?,
            max_fragments: self.uvar()?,
            max_send_queue: self.usize()?,
            max_pong_backlog: self.usize()?,
            input_high_water: self.usize()?,
            handshake: HandshakeLimits {
                max_header_bytes: self.usize()?,
                max_headers: self.usize()?,
            },
        };
        let timers = Timers {
            handshake_timeout: self.opt_duration()?,
            ping_interval: self.opt_duration()?,
            pong_timeout: self.opt_duration()?,
            close_timeout: self.opt_duration()?,
            idle_timeout: self.opt_duration()?,
            drain_timeout: self.opt_duration()?,
        };
        let receive_mode = match self.u8()? {
            0 => ReceiveMode::Messages,
            1 => ReceiveMode::Fragments,
            _ => return self.err("bad receive mode"),
        };
        let auto_pong = self.bool()?;
        let auto_fragment_size = match self.bool()? {
            false => None,
            true => Some(self.usize()?),
        };
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut config = Config {
            limits,
            timers,
            receive_mode,
            auto_pong,
            auto_fragment_size,
            ..Config::default()
        };
        if self.bool()? {
            #[cfg(feature = "deflate")]
            {
                config.deflate = Some(self.deflate_config()?);
            }
            #[cfg(not(feature = "deflate"))]
            return self
                .err("the transcript uses permessage-deflate: build with the 'deflate' feature");
        }
        Ok(config)
    }

    #[cfg(feature = "deflate")]
    fn deflate_config(&mut self) -> R<crate::deflate::DeflateConfig> {
        Ok(crate::deflate::DeflateConfig {
            server_no_context_takeover: self.bool()?,
            client_no_context_takeover: self.bool()?,
            server_max_window_bits: self.u8()?,
            client_max_window_bits: self.u8()?,
            level: self.u8()?,
            memory_level: self.u8()?,
            threshold: self.usize()?,
        })
    }

    #[cfg(feature = "deflate")]
    fn deflate_params(&mut self) -> R<crate::deflate::DeflateParams> {
        let bits = |b: u8| (b != 0).then_some(b);
        Ok(crate::deflate::DeflateParams {
            server_no_context_takeover: self.bool()?,
            client_no_context_takeover: self.bool()?,
            server_max_window_bits: bits(self.u8()?),
            client_max_window_bits: bits(self.u8()?),
        })
    }

    fn request(&mut self) -> R<ClientRequest> {
        let at = self.at;
        let tls = self.bool()?;
        let host = self.str()?;
        let resource = self.str()?;
        let scheme = if tls { "wss" } else { "ws" };
        let mut r = match ClientRequest::new(&format!("{scheme}://{host}{resource}")) {
            Ok(r) => r,
            Err(_) => return self.err("the client request's URI does not parse"),
        };
        for p in self.strs()? {
            r = r.subprotocol(p);
        }
        for e in self.strs()? {
            r = r.extension(e);
        }
        for (n, v) in self.pairs()? {
            r = r.header(n, v);
        }
        match r.check() {
            Ok(()) => Ok(r),
            Err(_) => Err(FormatError {
                offset: at,
                reason: "the client request is invalid",
            }),
        }
    }

    fn send_error(&mut self, tag: u8) -> R<SendError> {
        Ok(match tag {
            1 => SendError::NotOpen,
            2 => SendError::Closing,
            3 => SendError::Closed,
            4 => SendError::QueueFull {
                queued: self.usize()?,
                limit: self.usize()?,
            },
            5 => SendError::ControlTooLong(self.usize()?),
            6 => SendError::InvalidCloseCode(self.u16()?),
            7 => SendError::ReasonTooLong(self.usize()?),
            8 => SendError::InvalidUtf8,
            9 => SendError::MessageInProgress,
            10 => SendError::KindMismatch,
            _ => return self.err("bad outcome"),
        })
    }

    fn close_pair(&mut self) -> R<Option<(u16, Cow<'a, str>)>> {
        Ok(match self.bool()? {
            false => None,
            true => Some((self.u16()?, Cow::Borrowed(self.str()?))),
        })
    }

    fn event(&mut self) -> R<EventRecord<'a>> {
        Ok(match self.u8()? {
            0 => EventRecord::None,
            1 => EventRecord::Request(Cow::Borrowed(self.str()?)),
            2 => EventRecord::Connected(Cow::Borrowed(self.str()?)),
            3 => EventRecord::Message {
                kind: self.kind()?,
                len: self.uvar()?,
                digest: self.u64()?,
            },
            4 => EventRecord::Fragment {
                kind: self.kind()?,
                first: self.bool()?,
                last: self.bool()?,
                len: self.uvar()?,
                digest: self.u64()?,
            },
            5 => EventRecord::Ping(self.bytes()?),
            6 => EventRecord::Pong(self.bytes()?),
            7 => EventRecord::CloseReceived {
                code: self.u16()?,
                reason: Cow::Borrowed(self.str()?),
            },
            8 => EventRecord::ProtocolError {
                code: self.u16()?,
                error: Cow::Borrowed(self.str()?),
                at: Diagnostic {
                    offset: self.uvar()?,
                    frame: self.uvar()?,
                    header: [self.u8()?, self.u8()?],
                },
            },
            9 => EventRecord::Error(Cow::Borrowed(self.str()?)),
            10 => EventRecord::Closed {
                sent: self.close_pair()?,
                received: self.close_pair()?,
                clean: self.bool()?,
                closed_by_us: self.bool()?,
                transport: match self.u8()? {
                    0 => None,
                    1 => Some(TransportEnd::Eof),
                    2 => Some(TransportEnd::Reset),
                    3 => Some(TransportEnd::WriteShut),
                    _ => return self.err("bad transport end"),
                },
            },
            _ => return self.err("bad event"),
        })
    }

    fn record(&mut self) -> R<Record<'a>> {
        let tag_at = self.at;
        Ok(match self.u8()? {
            T_OPEN => Record::Open {
                role: match self.u8()? {
                    0 => Role::Client,
                    1 => Role::Server,
                    _ => return self.err("bad role"),
                },
                now: self.time()?,
                config: self.config()?,
            },
            T_SERVER => Record::Server {
                now: self.time()?,
                config: self.config()?,
            },
            T_CLIENT => Record::Client {
                now: self.time()?,
                config: self.config()?,
                request: Cow::Owned(self.request()?),
            },
            T_INPUT => Record::Input {
                now: self.time()?,
                bytes: self.bytes()?,
            },
            T_EOF => Record::Eof,
            T_RESET => Record::Reset,
            T_WRITE_CLOSED => Record::WriteClosed,
            T_TIMEOUT => Record::Timeout { now: self.time()? },
            T_ACCEPT => Record::Accept {
                now: self.time()?,
                accept: Cow::Owned(Accept {
                    subprotocol: self.opt_str()?.map(String::from),
                    extensions: self.strs()?,
                    headers: self.pairs()?,
                }),
            },
            T_REJECT => Record::Reject {
                status: self.u16()?,
                headers: Cow::Owned(self.pairs()?),
                body: self.bytes()?,
            },
            #[cfg(feature = "deflate")]
            T_USE_DEFLATE => Record::UseDeflate {
                params: self.deflate_params()?,
                settings: self.deflate_config()?,
            },
            #[cfg(not(feature = "deflate"))]
            T_USE_DEFLATE => {
                return self.err(
                    "the transcript uses permessage-deflate: build with the 'deflate' feature",
                );
            }
            T_SEND => Record::Send {
                kind: self.kind()?,
                compress: self.bool()?,
                payload: self.bytes()?,
            },
            T_FRAGMENT => Record::SendFragment {
                kind: self.kind()?,
                compress: self.bool()?,
                last: self.bool()?,
                payload: self.bytes()?,
            },
            T_PING => Record::Ping(self.bytes()?),
            T_PONG => Record::Pong(self.bytes()?),
            T_CLOSE => Record::Close {
                now: self.time()?,
                code: self.u16()?,
                reason: self.str()?,
            },
            T_OUTCOME => Record::Outcome(match self.u8()? {
                0 => Outcome::Ok,
                0x40 => Outcome::NoPendingRequest,
                0x41 => Outcome::InvalidAccept,
                tag => Outcome::Send(self.send_error(tag)?),
            }),
            T_EVENT => Record::Event(self.event()?),
            T_ADVANCE => Record::Advance {
                n: self.uvar()?,
                len: self.uvar()?,
                digest: self.u64()?,
            },
            T_POLL_TRANSMIT => Record::PollTransmit(match self.bool()? {
                false => None,
                true => Some((self.uvar()?, self.u64()?)),
            }),
            T_WRITE_TRANSMIT => Record::WriteTransmit {
                max: self.uvar()?,
                len: self.uvar()?,
                digest: self.u64()?,
            },
            T_RANDOM => Record::Random(self.bytes()?),
            _ => {
                return Err(FormatError {
                    offset: tag_at,
                    reason: "unknown record tag",
                });
            }
        })
    }
}

/// The records of a transcript, in order, each with its byte range in the transcript.
/// Made by [`records`]; stops after the first error.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    input: In<'a>,
    failed: bool,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<(core::ops::Range<usize>, Record<'a>), FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.input.at >= self.input.buf.len() {
            return None;
        }
        let start = self.input.at;
        let r = self.input.record();
        self.failed = r.is_err();
        Some(r.map(|r| (start..self.input.at, r)))
    }
}

impl Clone for In<'_> {
    fn clone(&self) -> Self {
        In {
            buf: self.buf,
            at: self.at,
        }
    }
}

impl fmt::Debug for In<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {} of {} bytes", self.at, self.buf.len())
    }
}

/// Checks the header of `transcript` (magic and version) and iterates over its records.
/// Cost: nothing is copied; payloads are borrowed from `transcript`.
pub fn records(transcript: &[u8]) -> Result<Records<'_>, FormatError> {
    let mut input = In {
        buf: transcript,
        at: 0,
    };
    if input.take(MAGIC.len()).ok() != Some(&MAGIC[..]) {
        return Err(FormatError {
            offset: 0,
            reason: "not a wsmachine transcript (no WSREC magic)",
        });
    }
    match input.u8() {
        Ok(VERSION) => {}
        Ok(_) => {
            return Err(FormatError {
                offset: MAGIC.len(),
                reason: "unsupported transcript version",
            });
        }
        Err(e) => return Err(e),
    }
    Ok(Records {
        input,
        failed: false,
    })
}

/// The records of `buf` from byte `at` on (a record boundary), without a header.
pub(crate) fn records_at(buf: &[u8], at: usize) -> Records<'_> {
    Records {
        input: In { buf, at },
        failed: false,
    }
}

/// The length of the header ([`MAGIC`] and [`VERSION`]).
pub const HEADER_LEN: usize = MAGIC.len() + 1;

// ----- display -----

struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 48;
        for b in self.0.iter().take(SHOWN) {
            write!(f, "{b:02x}")?;
        }
        if self.0.len() > SHOWN {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

fn ms(t: &Timestamp) -> impl fmt::Display {
    let d = t.as_duration();
    format!("{}.{:06}s", d.as_secs(), d.subsec_micros())
}

impl fmt::Display for Record<'_> {
    /// One line for a dump: the call and its arguments, payloads in hex (the first 48 bytes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Open { role, now, config } => {
                write!(f, "open {role:?} at {} {config:?}", ms(now))
            }
            Record::Server { now, config } => write!(f, "server at {} {config:?}", ms(now)),
            Record::Client {
                now,
                config,
                request,
            } => write!(f, "client at {} {request:?} {config:?}", ms(now)),
            Record::Input { now, bytes } => {
                write!(
                    f,
                    "input at {}: {} bytes {}",
                    ms(now),
                    bytes.len(),
                    Hex(bytes)
                )
            }
            Record::Eof => f.write_str("eof"),
            Record::Reset => f.write_str("reset"),
            Record::WriteClosed => f.write_str("write closed"),
            Record::Timeout { now } => write!(f, "timeout at {}", ms(now)),
            Record::Accept { now, accept } => write!(f, "accept at {} {accept:?}", ms(now)),
            Record::Reject {
                status,
                headers,
                body,
            } => write!(f, "reject {status} {headers:?} body {}", Hex(body)),
            #[cfg(feature = "deflate")]
            Record::UseDeflate { params, settings } => {
                write!(f, "use deflate {params:?} {settings:?}")
            }
            Record::Send {
                kind,
                compress,
                payload,
            } => write!(
                f,
                "send {kind:?}{}: {} bytes {}",
                if *compress { "" } else { " uncompressed" },
                payload.len(),
                Hex(payload)
            ),
            Record::SendFragment {
                kind,
                compress,
                last,
                payload,
            } => write!(
                f,
                "send fragment {kind:?}{}{}: {} bytes {}",
                if *compress { "" } else { " uncompressed" },
                if *last { " last" } else { "" },
                payload.len(),
                Hex(payload)
            ),
            Record::Ping(p) => write!(f, "ping {}", Hex(p)),
            Record::Pong(p) => write!(f, "pong {}", Hex(p)),
            Record::Close { now, code, reason } => {
                write!(f, "close at {} {code} {reason:?}", ms(now))
            }
            Record::Outcome(o) => write!(f, "  -> {o:?}"),
            Record::Event(e) => write!(f, "poll_event -> {e}"),
            Record::Advance { n, len, digest } => {
                write!(
                    f,
                    "advance_transmit({n}): {len} bytes, digest {digest:016x}"
                )
            }
            Record::PollTransmit(None) => f.write_str("poll_transmit -> None"),
            Record::PollTransmit(Some((len, digest))) => {
                write!(f, "poll_transmit -> {len} bytes, digest {digest:016x}")
            }
            Record::WriteTransmit { max, len, digest } => write!(
                f,
                "write_transmit_to(max {max}): {len} bytes, digest {digest:016x}"
            ),
            Record::Random(b) => write!(f, "  random {}", Hex(b)),
        }
    }
}

impl fmt::Display for EventRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventRecord::None => f.write_str("None"),
            EventRecord::Request(s) => write!(f, "Request {s}"),
            EventRecord::Connected(s) => write!(f, "Connected {s}"),
            EventRecord::Message { kind, len, digest } => {
                write!(f, "Message {kind:?} {len} bytes, digest {digest:016x}")
            }
            EventRecord::Fragment {
                kind,
                first,
                last,
                len,
                digest,
            } => write!(
                f,
                "Fragment {kind:?}{}{} {len} bytes, digest {digest:016x}",
                if *first { " first" } else { "" },
                if *last { " last" } else { "" }
            ),
            EventRecord::Ping(p) => write!(f, "Ping {}", Hex(p)),
            EventRecord::Pong(p) => write!(f, "Pong {}", Hex(p)),
            EventRecord::CloseReceived { code, reason } => {
                write!(f, "CloseReceived {code} {reason:?}")
            }
            EventRecord::ProtocolError { error, at, .. } => {
                write!(f, "Error protocol: {error} {at}")
            }
            EventRecord::Error(s) => write!(f, "Error {s}"),
            EventRecord::Closed {
                sent,
                received,
                clean,
                closed_by_us,
                transport,
            } => write!(
                f,
                "Closed sent {sent:?} received {received:?} clean {clean} by {} transport {transport:?}",
                if *closed_by_us { "us" } else { "peer" }
            ),
        }
    }
}
