//! Shared helpers for the wsmachine fuzz targets: configs derived from fuzz input, a running
//! parser of everything a connection writes (the output oracle), an event-order oracle, and
//! a frame builder that makes valid (or deliberately broken) frames from fuzzed fields.
//!
//! Every check here panics with a message that names the broken invariant; libFuzzer turns
//! that panic into a crash report. See fuzz/README.md for the oracle.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arbitrary::Arbitrary;
use wsmachine::close::CloseFrame;
use wsmachine::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use wsmachine::mask::apply_mask;
use wsmachine::random::SeededRandom;
use wsmachine::{
    CloseCode, Config, Connection, ConnectionError, DeflateConfig, DeflateParams, Event, Limits,
    ReceiveMode, Role, Timeout, Timers, Timestamp,
};

/// Output bytes a connection may queue beyond `max_send_queue` and `max_pong_backlog`: one
/// ping, a pong being written, one Close, a keepalive ping (each at most 125 + 6 bytes), with
/// slack.
pub const CONTROL_ALLOWANCE: usize = 700;

/// `WSM_TRANSCRIPT_OUT=PATH`: every connection a target builds records its inputs, and the
/// transcript is written to `PATH` as the run goes (so a crashing input leaves the
/// transcript up to the crash), for `cargo fuzz run TARGET CRASH_FILE`. Targets with two
/// connections (`pair`) write `PATH` with `-client` and `-server` before its extension. At
/// the end of a run the transcript is replayed (`wsmachine::record::replay`) and must
/// reproduce the run. Copy a transcript into `crates/wsmachine/tests/transcripts/` and it
/// is a regression test.
pub fn transcript_out() -> Option<&'static Path> {
    static OUT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    OUT.get_or_init(|| std::env::var_os("WSM_TRANSCRIPT_OUT").map(PathBuf::from))
        .as_deref()
}

/// `WSM_FUZZ_REPLAY=1`: record every input in memory and replay it at the end of the run
/// (fuzzes the recorder and the replayer along with the core; slower).
pub fn replay_check() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("WSM_FUZZ_REPLAY").is_some())
}

/// Whether connections record (either variable above is set): targets set
/// `Config::record` from it.
pub fn recording() -> bool {
    transcript_out().is_some() || replay_check()
}

/// `path` with `-side` before its extension (`x.wsrec` -> `x-client.wsrec`).
pub fn side_path(path: &Path, side: &str) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{side}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{side}"),
    };
    path.with_file_name(name)
}

/// A deterministic random source for a client's masking keys.
pub fn rng(seed: u64) -> Box<SeededRandom> {
    Box::new(SeededRandom::from_u64(seed))
}

/// Small xorshift used to turn one input byte into a sequence of chunk sizes.
pub struct Chunker(u32, usize);

impl Chunker {
    /// `seed == 0` feeds everything in one chunk; otherwise chunks of 1..=max sizes.
    pub fn new(seed: u8) -> Self {
        let max = match seed >> 6 {
            0 => 3,
            1 => 17,
            2 => 200,
            _ => 4096,
        };
        Chunker(
            u32::from(seed) | 0x100,
            if seed == 0 { usize::MAX } else { max },
        )
    }

    pub fn next_len(&mut self) -> usize {
        if self.1 == usize::MAX {
            return usize::MAX;
        }
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        1 + (x as usize % self.1)
    }

    /// Splits `data` into chunks.
    pub fn split<'a>(&mut self, data: &'a [u8]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let n = self.next_len().min(rest.len());
            let (a, b) = rest.split_at(n);
            out.push(a);
            rest = b;
        }
        out
    }
}

/// A config from a flags byte (used by the raw-bytes targets, so that seed files are just a
/// two-byte prefix and real traffic).
///
/// - bit 0: fragment receive mode; bit 1: auto-pong off;
/// - bits 2-3: limits: 0 default, 1 small, 2 tiny, 3 medium;
/// - bit 4: auto-fragment outgoing messages at 7 bytes.
pub fn config_from_flags(flags: u8) -> Config {
    let mut c = Config::default();
    if flags & 1 != 0 {
        c.receive_mode = ReceiveMode::Fragments;
    }
    c.auto_pong = flags & 2 == 0;
    c.limits = match (flags >> 2) & 3 {
        0 => Limits::default(),
        1 => limits(1024, 4096, 8, 64 << 10),
        2 => limits(16, 32, 2, 256),
        _ => limits(64 << 10, 64 << 10, 1000, 64 << 10),
    };
    if flags & 0x10 != 0 {
        c.auto_fragment_size = Some(7);
    }
    c.record = recording();
    c
}

pub fn limits(frame: u64, message: u64, fragments: u64, queue: usize) -> Limits {
    Limits {
        max_frame_size: frame,
        max_message_size: message,
        max_fragments: fragments,
        max_send_queue: queue,
        ..Limits::default()
    }
}

/// Fuzzed configuration for the structured targets; limits are kept small so they are hit.
#[derive(Debug, Clone, Arbitrary)]
pub struct FuzzConfig {
    pub fragments_mode: bool,
    pub auto_pong: bool,
    /// 0..=3 selects the frame/message limit: 16, 1 KiB, 8 KiB, 64 KiB.
    pub limit_class: u8,
    pub max_fragments: u8,
    /// 0 means a 64 KiB send queue; otherwise this many KiB (1..=255).
    pub send_queue_kib: u8,
    pub auto_fragment: Option<u16>,
    /// Timers in milliseconds (0 = off).
    pub handshake_ms: u16,
    pub ping_ms: u16,
    pub pong_ms: u16,
    pub close_ms: u16,
    pub idle_ms: u16,
}

fn ms(v: u16) -> Option<Duration> {
    (v != 0).then(|| Duration::from_millis(u64::from(v)))
}

impl FuzzConfig {
    pub fn build(&self) -> Config {
        let size = match self.limit_class % 4 {
            0 => 16,
            1 => 1024,
            2 => 8 << 10,
            _ => 64 << 10,
        };
        let queue = match self.send_queue_kib {
            0 => 64 << 10,
            k => usize::from(k) << 10,
        };
        Config {
            limits: Limits {
                max_frame_size: size,
                max_message_size: size * 2,
                max_fragments: u64::from(self.max_fragments).max(1),
                max_send_queue: queue,
                ..Limits::default()
            },
            timers: Timers {
                handshake_timeout: ms(self.handshake_ms),
                ping_interval: ms(self.ping_ms),
                pong_timeout: ms(self.pong_ms),
                close_timeout: ms(self.close_ms),
                idle_timeout: ms(self.idle_ms),
                ..Timers::default()
            },
            receive_mode: if self.fragments_mode {
                ReceiveMode::Fragments
            } else {
                ReceiveMode::Messages
            },
            auto_pong: self.auto_pong,
            auto_fragment_size: self.auto_fragment.map(usize::from),
            deflate: None,
            record: recording(),
        }
    }
}

/// Fuzzed permessage-deflate settings (window bits 8-15, every level and memory level, a
/// threshold up to 255 bytes).
#[derive(Debug, Clone, Copy, Arbitrary)]
pub struct FuzzDeflate {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_bits: u8,
    pub client_bits: u8,
    pub level: u8,
    pub memory_level: u8,
    pub threshold: u8,
}

impl FuzzDeflate {
    pub fn settings(&self) -> DeflateConfig {
        DeflateConfig {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: 8 + self.server_bits % 8,
            client_max_window_bits: 8 + self.client_bits % 8,
            level: self.level % 10,
            memory_level: 1 + self.memory_level % 9,
            threshold: usize::from(self.threshold),
        }
    }

    /// The parameters as if both ends had agreed on these settings.
    pub fn params(&self) -> DeflateParams {
        let s = self.settings();
        DeflateParams {
            server_no_context_takeover: s.server_no_context_takeover,
            client_no_context_takeover: s.client_no_context_takeover,
            server_max_window_bits: Some(s.server_max_window_bits),
            client_max_window_bits: Some(s.client_max_window_bits),
        }
    }
}

/// A frame as seen on the output wire.
#[derive(Debug, Clone)]
pub struct WireFrame {
    pub fin: bool,
    pub opcode: OpCode,
    pub payload: Vec<u8>,
}

/// Parses everything a connection writes, in order, and checks each frame: it decodes, its
/// mask bit matches the role (server never, client always), RSV bits are clear (with
/// `deflate`, RSV1 may mark the first frame of a data message, and only that), control
/// frames are final and at most 125 bytes, a Close carries a sendable code (or nothing) and a
/// UTF-8 reason, and no frame follows our Close.
pub struct OutputWatcher {
    role: Role,
    /// permessage-deflate is in use: RSV1 is allowed on a message's first frame.
    pub deflate: bool,
    buf: Vec<u8>,
    /// Raw (non-frame) bytes still to skip: an HTTP response in front of the frames.
    skip: usize,
    pub close_sent: Option<Option<CloseCode>>,
    pub frames: usize,
    pub bytes: usize,
    /// Data frames parsed, for targets that want them.
    pub keep: bool,
    pub kept: Vec<WireFrame>,
}

impl OutputWatcher {
    pub fn new(role: Role) -> Self {
        OutputWatcher {
            role,
            deflate: false,
            buf: Vec::new(),
            skip: 0,
            close_sent: None,
            frames: 0,
            bytes: 0,
            keep: false,
            kept: Vec::new(),
        }
    }

    /// The next `n` bytes written are not frames (an HTTP response).
    pub fn skip_raw(&mut self, n: usize) {
        assert!(
            self.buf.is_empty(),
            "raw bytes queued after a partial frame"
        );
        self.skip += n;
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        self.bytes += bytes.len();
        if self.skip > 0 {
            let n = self.skip.min(bytes.len());
            self.skip -= n;
            bytes = &bytes[n..];
        }
        self.buf.extend_from_slice(bytes);
        loop {
            let (h, n) = match FrameHeader::decode(&self.buf) {
                Ok(Some(x)) => x,
                Ok(None) => return,
                Err(e) => panic!(
                    "output is not a valid frame header: {e:?} ({:02x?})",
                    &self.buf[..self.buf.len().min(14)]
                ),
            };
            let total = n + h.payload_len as usize;
            if self.buf.len() < total {
                return;
            }
            match self.role {
                Role::Server => assert!(h.mask.is_none(), "server emitted a masked frame: {h:?}"),
                Role::Client => {
                    assert!(h.mask.is_some(), "client emitted an unmasked frame: {h:?}")
                }
            }
            let first_data = matches!(h.opcode, OpCode::Text | OpCode::Binary);
            if !(self.deflate && first_data && h.rsv == 0b100) {
                assert_eq!(h.rsv, 0, "output frame with RSV bits: {h:?}");
            }
            assert!(
                self.close_sent.is_none(),
                "frame emitted after our Close: {h:?}"
            );
            let mut payload = self.buf[n..total].to_vec();
            if let Some(key) = h.mask {
                apply_mask(&mut payload, key, 0);
            }
            if h.opcode.is_control() {
                assert!(h.fin, "fragmented control frame emitted: {h:?}");
                assert!(payload.len() <= 125, "control frame over 125 bytes: {h:?}");
            }
            if h.opcode == OpCode::Close {
                match CloseFrame::parse(&payload) {
                    Ok(f) if payload.is_empty() => {
                        let _ = f;
                        self.close_sent = Some(None);
                    }
                    Ok(f) => {
                        assert!(f.code.is_sendable(), "unsendable close code {:?}", f.code);
                        self.close_sent = Some(Some(f.code));
                    }
                    Err(e) => panic!("emitted an invalid Close payload {payload:02x?}: {e:?}"),
                }
            }
            if self.keep {
                self.kept.push(WireFrame {
                    fin: h.fin,
                    opcode: h.opcode,
                    payload,
                });
            }
            self.frames += 1;
            self.buf.drain(..total);
        }
    }

    /// Takes everything the connection has queued and parses it.
    pub fn drain_all(&mut self, conn: &mut Connection) {
        while let Some(chunk) = conn.poll_transmit() {
            assert!(!chunk.is_empty(), "poll_transmit returned an empty chunk");
            self.push(&chunk);
        }
        assert_eq!(
            conn.pending_transmit(),
            0,
            "poll_transmit left bytes queued"
        );
    }

    /// Writes at most `n` bytes the vectored way (`transmit_slices` + `advance_transmit`).
    pub fn drain_some(&mut self, conn: &mut Connection, n: usize) {
        let before = conn.pending_transmit();
        let listed: usize = conn.transmit_slices().map(<[u8]>::len).sum();
        assert_eq!(
            listed, before,
            "transmit_slices disagrees with pending_transmit"
        );
        let mut taken = Vec::new();
        for s in conn.transmit_slices() {
            let k = s.len().min(n - taken.len());
            taken.extend_from_slice(&s[..k]);
            if taken.len() == n {
                break;
            }
        }
        conn.advance_transmit(n);
        assert_eq!(
            conn.pending_transmit(),
            before - taken.len(),
            "advance_transmit accounting"
        );
        self.push(&taken);
    }

    /// One `write_transmit_io` into a stream that takes at most `n` bytes per call, as a
    /// socket that takes part of a write: checks that exactly what the stream took was
    /// acknowledged, and that a stream with room always got something.
    pub fn drain_io(&mut self, conn: &mut Connection, n: usize) {
        /// Takes up to `cap` bytes per call, from one slice or several.
        struct Capped {
            cap: usize,
            taken: Vec<u8>,
        }
        impl Write for Capped {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let k = buf.len().min(self.cap);
                self.taken.extend_from_slice(&buf[..k]);
                Ok(k)
            }
            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                let start = self.taken.len();
                for b in bufs {
                    let k = b.len().min(self.cap - (self.taken.len() - start));
                    self.taken.extend_from_slice(&b[..k]);
                }
                Ok(self.taken.len() - start)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let before = conn.pending_transmit();
        let mut w = Capped {
            cap: n,
            taken: Vec::new(),
        };
        let got = conn
            .write_transmit_io(&mut w)
            .expect("a writer into memory does not fail");
        assert_eq!(got, w.taken.len(), "write_transmit_io's count");
        assert!(
            got <= n.min(before),
            "took more than was pending or allowed"
        );
        assert_eq!(
            conn.pending_transmit(),
            before - got,
            "write_transmit_io accounting"
        );
        assert!(
            n == 0 || before == 0 || got > 0,
            "a stream with room got nothing"
        );
        self.push(&w.taken);
    }
}

/// Checks the event stream: an `Error` is followed by `Closed`, nothing follows `Closed`,
/// the close report agrees with itself.
#[derive(Default)]
pub struct EventWatcher {
    pub closed: bool,
    pub error: Option<ConnectionError>,
    /// An error not yet followed by `Closed`.
    error_pending: bool,
    pub close_received: bool,
    pub events: usize,
}

impl EventWatcher {
    pub fn on_event(&mut self, ev: &Event) {
        self.events += 1;
        assert!(!self.closed, "event after Closed: {ev:?}");
        if self.error_pending {
            assert!(
                matches!(ev, Event::Closed(_)),
                "Event::Error not followed by Event::Closed but by {ev:?} (error {:?})",
                self.error
            );
        }
        match ev {
            Event::Error(e) => {
                // The idle timeout reports an error and then starts an ordinary close
                // handshake (documented in timers.rs), so Closed comes later.
                if !matches!(e, ConnectionError::Timeout(Timeout::Idle)) {
                    self.error_pending = true;
                }
                self.error = Some(e.clone());
            }
            Event::CloseReceived(f) => {
                assert!(
                    f.code.is_sendable() || f.code == CloseCode::NO_STATUS,
                    "CloseReceived with a code that cannot be on the wire: {f:?}"
                );
                self.close_received = true;
            }
            Event::Closed(r) => {
                self.closed = true;
                self.error_pending = false;
                if let Some(s) = &r.sent {
                    assert!(
                        s.code.is_sendable() || s.code == CloseCode::NO_STATUS,
                        "report says we sent unsendable code {:?}",
                        s.code
                    );
                }
                assert_eq!(
                    r.clean,
                    r.sent.is_some() && r.received.is_some(),
                    "clean flag disagrees: {r:?}"
                );
            }
            _ => {}
        }
    }

    /// Polls until `None` (or `max` events); checks each. Returns the events.
    pub fn drain(&mut self, conn: &mut Connection, max: usize) -> Vec<Event> {
        let mut out = Vec::new();
        while out.len() < max {
            match conn.poll_event() {
                Some(ev) => {
                    self.on_event(&ev);
                    out.push(ev);
                }
                None => break,
            }
        }
        out
    }
}

/// A connection with both oracles attached, plus the "nothing after Closed" and queue-bound
/// checks.
pub struct Watched {
    pub conn: Connection,
    pub out: OutputWatcher,
    pub ev: EventWatcher,
    /// Bytes queued when the connection was first seen closed; never grows after.
    pub queued_at_close: Option<usize>,
    /// The transmit queue was dropped (reset, write shut, fatal timeout): never grows again.
    pub killed: bool,
    pub queue_limit: Option<usize>,
    /// Bytes to tolerate over the queue bound, for a target that knowingly queues more
    /// control frames than `Limits` allows for (0 in every target now); reset when the queue
    /// is empty.
    pub extra_allowance: usize,
    pub now: Timestamp,
    /// What the connection recorded so far (when it records), and the file it goes to.
    pub transcript: Vec<u8>,
    pub transcript_file: Option<(PathBuf, std::fs::File)>,
}

impl Watched {
    pub fn new(conn: Connection, now: Timestamp) -> Self {
        let role = conn.role();
        Watched {
            conn,
            out: OutputWatcher::new(role),
            ev: EventWatcher::default(),
            queued_at_close: None,
            killed: false,
            queue_limit: None,
            extra_allowance: 0,
            now,
            transcript: Vec::new(),
            transcript_file: None,
        }
    }

    /// With `WSM_TRANSCRIPT_OUT` set, writes this connection's transcript to that path
    /// (`side`: `Some("client")` inserts `-client` before the extension).
    pub fn write_transcript(&mut self, side: Option<&str>) {
        let Some(out) = transcript_out() else { return };
        let path = match side {
            Some(s) => side_path(out, s),
            None => out.to_path_buf(),
        };
        let file = std::fs::File::create(&path)
            .unwrap_or_else(|e| panic!("WSM_TRANSCRIPT_OUT {}: {e}", path.display()));
        self.transcript_file = Some((path, file));
        self.take_transcript();
    }

    /// Moves what the connection recorded into `transcript` and the file.
    fn take_transcript(&mut self) {
        let t = self.conn.take_transcript();
        if t.is_empty() {
            return;
        }
        if let Some((path, f)) = self.transcript_file.as_mut() {
            f.write_all(&t)
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        }
        self.transcript.extend_from_slice(&t);
    }

    /// The run is over: the transcript, if any, must replay identically.
    pub fn replay_transcript(&mut self) {
        self.take_transcript();
        if !self.conn.is_recording() {
            return;
        }
        if let Err(e) = wsmachine::record::replay(&self.transcript) {
            panic!("the run's transcript does not replay: {e}");
        }
        if let Some((path, _)) = &self.transcript_file {
            eprintln!(
                "transcript: {} ({} bytes, replays identically)",
                path.display(),
                self.transcript.len()
            );
        }
    }

    /// Runs after every step.
    pub fn check(&mut self) {
        self.take_transcript();
        let pending = self.conn.pending_transmit();
        if pending == 0 {
            self.extra_allowance = 0;
        }
        if let Some(limit) = self.queue_limit {
            let pongs = self.conn.config().limits.max_pong_backlog;
            assert!(
                pending <= limit + pongs + CONTROL_ALLOWANCE + self.extra_allowance,
                "{pending} bytes queued, over max_send_queue {limit} + {pongs} + {CONTROL_ALLOWANCE}"
            );
        }
        if self.killed {
            assert_eq!(pending, 0, "bytes queued after the transport was dropped");
        }
        if let Some(q) = self.queued_at_close {
            assert!(
                pending <= q,
                "output queued after Closed: {pending} bytes pending, {q} at close"
            );
            self.queued_at_close = Some(pending);
            assert!(
                self.conn.poll_timeout().is_none() || self.conn.wants_input(),
                "a deadline after Closed other than the drain"
            );
        } else if self.conn.is_closed() {
            self.queued_at_close = Some(pending);
        }
        if self.ev.closed {
            assert!(
                self.conn.is_closed(),
                "Closed reported but the connection is not closed"
            );
        }
    }

    pub fn drain_events(&mut self) -> Vec<Event> {
        let evs = self.ev.drain(&mut self.conn, usize::MAX);
        for e in &evs {
            if let Event::Error(ConnectionError::Timeout(t)) = e
                && !matches!(t, Timeout::Idle)
            {
                self.killed = true;
            }
        }
        if self.conn.is_closed() {
            assert!(
                self.ev.closed,
                "connection closed but Event::Closed never came"
            );
            assert!(self.conn.poll_event().is_none(), "event after Closed");
        }
        self.check();
        evs
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.conn.handle_input(self.now, bytes);
        self.check();
    }

    pub fn advance_time(&mut self, d: Duration) {
        self.now = self.now + d;
        self.conn.handle_timeout(self.now);
        self.check();
    }

    /// EOF, drain: the connection must end with Closed.
    pub fn finish_with_eof(&mut self) {
        self.conn.handle_eof();
        self.drain_events();
        assert!(self.ev.closed, "EOF did not end in Event::Closed");
        assert!(self.conn.is_closed());
        self.out.drain_all(&mut self.conn);
        if !self.killed {
            assert_eq!(
                self.out.skip, 0,
                "queued handshake bytes were never written"
            );
        }
        assert!(self.conn.should_close_transport());
        // Every later input is a harmless no-op.
        self.conn.handle_input(self.now, b"\x81\x00");
        self.conn.handle_eof();
        self.conn.handle_reset();
        self.conn
            .handle_timeout(self.now + Duration::from_secs(3600));
        assert!(self.conn.send_text("x").is_err());
        assert!(self.conn.poll_event().is_none(), "event after Closed");
        assert_eq!(self.conn.pending_transmit(), 0, "output after Closed");
        self.replay_transcript();
    }
}

/// A frame described by fuzzed fields; [`FrameSpec::encode`] makes the bytes for a peer of
/// `sender` role, masked correctly unless `wrong_mask` is set.
#[derive(Debug, Clone, Arbitrary)]
pub struct FrameSpec {
    pub fin: bool,
    /// Usually 0: only the low 3 bits are used, and only when `set_rsv`.
    pub rsv: u8,
    pub set_rsv: bool,
    /// Index into the six valid opcodes; `raw_opcode` overrides when set.
    pub opcode: u8,
    pub raw_opcode: Option<u8>,
    pub wrong_mask: bool,
    pub key: [u8; 4],
    /// Force the 16- or 64-bit length form (non-minimal encodings are legal).
    pub long_form: u8,
    pub payload: FramePayload,
}

#[derive(Debug, Clone, Arbitrary)]
pub enum FramePayload {
    Bytes(Vec<u8>),
    Text(String),
    /// `len` copies of `byte`: big frames cheaply.
    Repeat {
        byte: u8,
        len: u16,
    },
    Close {
        code: u16,
        reason: String,
    },
}

const OPCODES: [u8; 6] = [0x0, 0x1, 0x2, 0x8, 0x9, 0xA];

impl FrameSpec {
    pub fn encode(&self, sender: Role) -> Vec<u8> {
        let payload: Vec<u8> = match &self.payload {
            FramePayload::Bytes(b) => b.clone(),
            FramePayload::Text(s) => s.as_bytes().to_vec(),
            FramePayload::Repeat { byte, len } => vec![*byte; usize::from(*len)],
            FramePayload::Close { code, reason } => {
                let mut v = code.to_be_bytes().to_vec();
                v.extend_from_slice(reason.as_bytes());
                v
            }
        };
        let op = self
            .raw_opcode
            .map(|o| o & 0x0f)
            .unwrap_or(OPCODES[usize::from(self.opcode) % OPCODES.len()]);
        encode_frame(
            self.fin,
            if self.set_rsv { self.rsv & 7 } else { 0 },
            op,
            (sender == Role::Client) != self.wrong_mask,
            self.key,
            self.long_form,
            &payload,
        )
    }
}

/// Encodes one frame. `opcode` is raw (reserved values allowed); `long_form` 1 forces the
/// 16-bit length, 2 the 64-bit one.
pub fn encode_frame(
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    key: [u8; 4],
    long_form: u8,
    payload: &[u8],
) -> Vec<u8> {
    let len = payload.len() as u64;
    let mut out = Vec::with_capacity(payload.len() + MAX_HEADER_LEN);
    out.push((u8::from(fin) << 7) | (rsv << 4) | (opcode & 0x0f));
    let m = if masked { 0x80 } else { 0 };
    match long_form % 3 {
        1 if len <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        2 => {
            out.push(m | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
        _ => {
            // Shortest form.
            let mut head = [0u8; MAX_HEADER_LEN];
            let h = FrameHeader {
                fin,
                rsv,
                opcode: OpCode::Binary,
                mask: None,
                payload_len: len,
            };
            let n = h.encode(&mut head);
            out.push(m | head[1]);
            out.extend_from_slice(&head[2..n]);
        }
    }
    let start = out.len();
    if masked {
        out.extend_from_slice(&key);
    }
    let body = out.len();
    out.extend_from_slice(payload);
    if masked {
        apply_mask(&mut out[body..], key, 0);
    }
    let _ = start;
    out
}

/// The raw-bytes frame targets: `[flags, chunk_seed, bytes...]` fed to a handshake-free
/// connection of `role`, events drained after every chunk, then EOF. With flag 0x20 the
/// chunks go in as owned buffers, or (odd seed) are appended to `input_buffer`. With seed
/// bit 1 permessage-deflate is in use (agreed without a handshake).
pub fn run_frame_target(role: Role, data: &[u8]) {
    let (flags, seed, bytes) = match data {
        [f, s, rest @ ..] => (*f, *s, rest),
        _ => return,
    };
    let config = config_from_flags(flags);
    let mut conn =
        Connection::open_with_random(role, config, Timestamp::ZERO, rng(u64::from(seed)));
    // Seed bit 1: permessage-deflate agreed (bits 2-3: no context takeover each way), so
    // compressed frames are inflated, and echoes compressed.
    let deflate = seed & 2 != 0;
    if deflate {
        let params = DeflateParams {
            server_no_context_takeover: seed & 4 != 0,
            client_no_context_takeover: seed & 8 != 0,
            ..DeflateParams::default()
        };
        let settings = DeflateConfig {
            threshold: 0,
            ..DeflateConfig::default()
        };
        conn.use_deflate(params, settings);
    }
    let mut w = Watched::new(conn, Timestamp::ZERO);
    w.write_transcript(None);
    w.out.deflate = deflate;
    w.queue_limit = Some(config.limits.max_send_queue);
    let owned = flags & 0x20 != 0;
    let write_as_we_go = flags & 0x40 != 0;
    for chunk in Chunker::new(seed).split(bytes) {
        if owned && seed & 1 == 1 {
            // Read straight into the connection's receive buffer.
            w.conn.input_buffer(chunk.len()).extend_from_slice(chunk);
            w.conn.handle_input_appended(w.now);
        } else if owned {
            w.conn
                .handle_input_owned(w.now, bytes::BytesMut::from(chunk));
        } else {
            w.conn.handle_input(w.now, chunk);
        }
        w.check();
        let evs = w.drain_events();
        for ev in &evs {
            // An echo of the received message exercises the send path for the role too.
            if let Event::Message(m) = ev
                && flags & 0x80 != 0
            {
                let _ = w.conn.send(m.clone());
            }
        }
        if write_as_we_go {
            w.out.drain_all(&mut w.conn);
        }
        w.check();
    }
    w.out.drain_all(&mut w.conn);
    w.finish_with_eof();
}

/// Handshake limits from a flags byte: bits 0-1 pick the head size (16 KiB, 512, 128, 40),
/// bits 2-3 the header count (64, 8, 3, 1).
pub fn handshake_limits(flags: u8) -> wsmachine::HandshakeLimits {
    wsmachine::HandshakeLimits {
        max_header_bytes: [16 << 10, 512, 128, 40][usize::from(flags & 3)],
        max_headers: [64, 8, 3, 1][usize::from((flags >> 2) & 3)],
    }
}

/// Checks an HTTP error response the server queued: a status line with a 4xx code, a
/// complete head.
pub fn check_http_error_response(bytes: &[u8]) {
    assert!(
        bytes.starts_with(b"HTTP/1.1 4"),
        "error response does not start with an HTTP/1.1 4xx status line: {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
    );
    assert!(
        bytes.windows(4).any(|w| w == b"\r\n\r\n"),
        "error response head never ends"
    );
}
