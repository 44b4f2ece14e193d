//! Adapter configuration: the core's [`wsmachine::Config`] plus the read size and the
//! linger bound.

use std::time::Duration;

use wsmachine::ReceiveMode;

/// Configuration of one connection: the core's limits and timers, plus how much room each
/// read asks for and how long a closed connection may linger. Build it with the chained
/// setters, or convert a core [`wsmachine::Config`] with `into()`.
///
/// The adapter adds no queue of its own: every byte a connection holds is in the core,
/// bounded by [`Limits`](wsmachine::Limits) (see the crate docs for the whole bound).
///
/// ```
/// use std::time::Duration;
/// let config = wsmachine_async::Config::new()
///     .max_message_size(64 << 20)
///     .ping_interval(Some(Duration::from_secs(20)))
///     .pong_timeout(Some(Duration::from_secs(10)));
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The core's configuration: limits, timers, receive mode, auto-pong, auto-fragmenting.
    pub core: wsmachine::Config,
    /// Spare room asked of the core's receive buffer before each read, in bytes (default
    /// 128 KiB, as tungstenite's read buffer: a burst of 64 KiB of payload arrives with its
    /// frame headers in one read, where a 64 KiB read left those few bytes for another).
    /// A read takes at most this much, or while a large frame arrives up to
    /// 256 KiB of its rest (the core reserves room for its declared length once it passed
    /// the limits, so it arrives in fewer reads and is never moved). An empty
    /// receive buffer is released while the stream has nothing to read, so an idle
    /// connection holds none.
    pub read_size: usize,
    /// Once the connection is closed (or every handle was dropped), how long at most to
    /// keep writing what is queued, draining the peer and shutting the stream down before
    /// dropping it anyway (default 10 s). It bounds the time a peer that reads nothing can
    /// hold a closed connection; the core's close and drain timers usually end it sooner.
    pub linger: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            core: wsmachine::Config::default(),
            read_size: 128 << 10,
            linger: Duration::from_secs(10),
        }
    }
}

impl From<wsmachine::Config> for Config {
    fn from(core: wsmachine::Config) -> Self {
        Config {
            core,
            ..Config::default()
        }
    }
}

impl Config {
    /// The defaults: the core's defaults, 16 KiB reads, a 10 s linger.
    pub fn new() -> Self {
        Config::default()
    }

    /// Largest payload of one received frame, in bytes.
    pub fn max_frame_size(mut self, bytes: u64) -> Self {
        self.core.limits.max_frame_size = bytes;
        self
    }

    /// Largest received message, in bytes.
    pub fn max_message_size(mut self, bytes: u64) -> Self {
        self.core.limits.max_message_size = bytes;
        self
    }

    /// Most frames in one received message.
    pub fn max_fragments(mut self, frames: u64) -> Self {
        self.core.limits.max_fragments = frames;
        self
    }

    /// Most bytes of data queued in the core and not yet written: the send backpressure
    /// bound ([`Sender::send`](crate::Sender::send) waits past it,
    /// [`Sender::try_send`](crate::Sender::try_send) returns [`Error::Full`](crate::Error::Full)).
    /// A single message larger than this cannot be sent.
    pub fn max_send_queue(mut self, bytes: usize) -> Self {
        self.core.limits.max_send_queue = bytes;
        self
    }

    /// Unparsed input, beyond the frame being received, above which the connection stops
    /// reading until the application takes its next message.
    pub fn input_high_water(mut self, bytes: usize) -> Self {
        self.core.limits.input_high_water = bytes;
        self
    }

    /// Deadline for the opening handshake.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.core.timers.handshake_timeout = timeout;
        self
    }

    /// Keepalive: send a ping after this long with nothing received.
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.core.timers.ping_interval = interval;
        self
    }

    /// Keepalive: how long to wait for a sign of life after a ping before the connection
    /// fails with [`Timeout::Keepalive`](wsmachine::Timeout::Keepalive).
    pub fn pong_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.core.timers.pong_timeout = timeout;
        self
    }

    /// How long to wait for the close handshake to finish.
    pub fn close_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.core.timers.close_timeout = timeout;
        self
    }

    /// Close the connection after this long without data messages.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.core.timers.idle_timeout = timeout;
        self
    }

    /// After failing a connection, how long at most to read and discard the peer's input
    /// (so that closing with unread input does not reset the Close frame away).
    pub fn drain_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.core.timers.drain_timeout = timeout;
        self
    }

    /// Whole messages (the default) or pieces as they arrive (read them with
    /// [`Receiver::recv_event`](crate::Receiver::recv_event)).
    pub fn receive_mode(mut self, mode: ReceiveMode) -> Self {
        self.core.receive_mode = mode;
        self
    }

    /// Answer pings automatically (default on).
    pub fn auto_pong(mut self, on: bool) -> Self {
        self.core.auto_pong = on;
        self
    }

    /// Split outgoing messages into frames of at most this many bytes.
    pub fn auto_fragment_size(mut self, bytes: Option<usize>) -> Self {
        self.core.auto_fragment_size = bytes;
        self
    }

    /// permessage-deflate (RFC 7692; cargo feature `deflate`): `Some` offers it (client) or
    /// accepts a client's offer (server) with these settings; `None` (the default) declines.
    /// The core negotiates, compresses and inflates (bounded by `max_message_size`).
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, deflate: Option<wsmachine::DeflateConfig>) -> Self {
        self.core.deflate = deflate;
        self
    }

    /// Spare room asked for each read (at least 512 bytes). See [`Config::read_size`].
    pub fn read_size(mut self, bytes: usize) -> Self {
        self.read_size = bytes.max(512);
        self
    }

    /// How long a closed connection may linger. See [`Config::linger`].
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }
}
