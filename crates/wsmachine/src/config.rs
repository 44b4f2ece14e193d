//! Connection configuration: limits, timers and receive mode, with safe defaults.

use core::time::Duration;

use crate::handshake::HandshakeLimits;

/// How received data messages are handed to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReceiveMode {
    /// Whole messages ([`Event::Message`](crate::Event::Message)): memory up to
    /// `max_message_size` per connection.
    #[default]
    Messages,
    /// Pieces as they arrive ([`Event::Fragment`](crate::Event::Fragment)): memory bounded by
    /// what one read delivers, so a 10 GiB message streams in constant space.
    Fragments,
}

/// Memory limits. Every one bounds what a peer can make us hold; none is derived from a
/// length the peer declares before its bytes arrive.
///
/// | limit | default | on breach |
/// |---|---|---|
/// | `max_frame_size` | 16 MiB | fail with 1009 at the frame header |
/// | `max_message_size` | 64 MiB | fail with 1009 at the frame header that would pass it |
/// | `max_fragments` | 131,072 | fail with 1008 |
/// | `max_send_queue` | 64 MiB | the send returns [`SendError::QueueFull`](crate::SendError::QueueFull) |
/// | `max_pong_backlog` | 16 KiB | the oldest unwritten pongs are dropped (RFC 6455 5.5.3) |
/// | `input_high_water` | 64 KiB | [`wants_input`](crate::Connection::wants_input) turns false |
///
/// The defaults let through a 16 MiB message in one frame and a 4 MiB message sent as 64-byte
/// fragments (65,536 frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload of one received data frame, in bytes.
    pub max_frame_size: u64,
    /// Largest received message (sum of its frames), in bytes; applies in both receive modes.
    pub max_message_size: u64,
    /// Most frames in one received message.
    pub max_fragments: u64,
    /// Most bytes of data frames queued for sending and not yet written. Control frames
    /// (pongs up to `max_pong_backlog`, one ping, one close) are outside it.
    pub max_send_queue: usize,
    /// Most bytes of pong frames queued and not yet written. Every ping is answered, in
    /// order, while the pongs fit; past this, the oldest unstarted pongs are dropped, so
    /// only the latest pings are answered (RFC 6455 5.5.3), and a ping flood from a peer
    /// that does not read cannot grow memory.
    pub max_pong_backlog: usize,
    /// Input buffered and not yet parsed, beyond what the frame being received still needs,
    /// above which [`Connection::wants_input`](crate::Connection::wants_input) asks the caller
    /// to stop reading until events are drained.
    pub input_high_water: usize,
    /// Caps on the opening handshake's headers.
    pub handshake: HandshakeLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 1 << 17,
            max_send_queue: 64 << 20,
            max_pong_backlog: 16 << 10,
            input_high_water: 64 << 10,
            handshake: HandshakeLimits::default(),
        }
    }
}

/// Timers, all run on the caller's clock through `poll_timeout`/`handle_timeout`.
/// `None` turns a timer off.
///
/// | timer | default | what happens |
/// |---|---|---|
/// | `handshake_timeout` | 10 s | the opening handshake did not finish: error event, then Closed (1006) |
/// | `ping_interval` | 30 s | this long after the last byte received, send a keepalive ping |
/// | `pong_timeout` | 30 s | nothing received this long after that ping: the peer is dead; error event, then Closed (1006). A silent peer is found `ping_interval + pong_timeout` after its last byte |
/// | `close_timeout` | 10 s | our Close got no answer (or, for a client, the server did not end TCP): Closed |
/// | `idle_timeout` | off | no data message either way for this long (fires between 1x and 2x of it): start a close with 1001 |
/// | `drain_timeout` | 2 s | after we fail a connection, read and discard the peer's input this long at most (or until its EOF), so that closing the socket with unread input does not reset it and destroy our Close frame |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Deadline for the opening handshake.
    pub handshake_timeout: Option<Duration>,
    /// Keepalive ping interval when the peer is silent.
    pub ping_interval: Option<Duration>,
    /// How long to wait for any sign of life after a keepalive ping.
    pub pong_timeout: Option<Duration>,
    /// How long to wait for the close handshake to finish.
    pub close_timeout: Option<Duration>,
    /// Close the connection after this long without data messages.
    pub idle_timeout: Option<Duration>,
    /// How long to drain the peer's input after failing the connection.
    pub drain_timeout: Option<Duration>,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            handshake_timeout: Some(Duration::from_secs(10)),
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Some(Duration::from_secs(30)),
            close_timeout: Some(Duration::from_secs(10)),
            idle_timeout: None,
            drain_timeout: Some(Duration::from_secs(2)),
        }
    }
}

/// Everything a [`Connection`](crate::Connection) is configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Memory limits.
    pub limits: Limits,
    /// Timers.
    pub timers: Timers,
    /// Whole messages or streamed pieces.
    pub receive_mode: ReceiveMode,
    /// Answer pings with pongs automatically (default on). When off, pings are only reported
    /// and the caller sends pongs itself.
    pub auto_pong: bool,
    /// Split outgoing messages larger than this into frames of this size (default off).
    /// Control frames can go out between those frames.
    pub auto_fragment_size: Option<usize>,
    /// permessage-deflate (RFC 7692), default off (`None`). `Some`: a client offers it in
    /// its handshake, a server accepts the client's first acceptable offer in
    /// [`Connection::accept`](crate::Connection::accept) (unless the caller's
    /// [`Accept`](crate::Accept) lists the extension itself). This is all an adapter sets to
    /// enable compression. Memory: see [`deflate`](crate::deflate).
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
    /// Record every input and output of the connection into a transcript (feature
    /// `record`), default off: take it with
    /// [`Connection::take_transcript`](crate::Connection::take_transcript) and replay it with
    /// [`record::replay`](crate::record::replay). Memory and time: see the
    /// [`record`](crate::record) module.
    #[cfg(feature = "record")]
    pub record: bool,
}

impl Config {
    /// How many bytes a message with `payload_len` bytes counts against `max_send_queue`:
    /// the payload plus up to 14 header bytes for each frame it is split into. A message
    /// whose cost is over the limit can never be sent; raise the limit. permessage-deflate
    /// does not change it for whole messages (one that compression does not shrink goes
    /// plain); a compressed fragment of a caller-fragmented message counts its worst-case
    /// compressed size (a few bytes per 4 KiB more), so a send may still find the queue
    /// full where this said there was room: wait for written bytes and try again.
    pub fn send_queue_cost(&self, payload_len: usize) -> usize {
        // No division on the common path (no automatic fragmentation).
        let frames = match self.auto_fragment_size {
            Some(n) if n > 0 && payload_len > n => payload_len.div_ceil(n),
            _ => 1,
        };
        payload_len.saturating_add(frames.saturating_mul(crate::frame::MAX_HEADER_LEN))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            timers: Timers::default(),
            receive_mode: ReceiveMode::Messages,
            auto_pong: true,
            auto_fragment_size: None,
            #[cfg(feature = "deflate")]
            deflate: None,
            #[cfg(feature = "record")]
            record: false,
        }
    }
}
