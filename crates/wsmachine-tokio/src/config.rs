//! Adapter configuration: the core's [`wsmachine::Config`] plus channel and buffer sizes.

use std::time::Duration;

use wsmachine::ReceiveMode;

/// Configuration of one connection: the core's limits and timers, and the adapter's queue
/// and buffer sizes. Build it with the chained setters, or convert a core
/// [`wsmachine::Config`] with `into()`.
///
/// ```
/// use std::time::Duration;
/// let config = wsmachine_tokio::Config::new()
///     .max_message_size(64 << 20)
///     .ping_interval(Some(Duration::from_secs(20)))
///     .pong_timeout(Some(Duration::from_secs(10)));
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The core's configuration: limits, timers, receive mode, auto-pong, auto-fragmenting.
    pub core: wsmachine::Config,
    /// How many commands (messages, pings, closes) can wait in the channel to the driver
    /// before [`Sender::send`](crate::Sender::send) waits (default 64).
    pub command_queue: usize,
    /// How many received events can wait for the application before the driver stops
    /// reading the socket (default 64).
    pub event_queue: usize,
    /// How many bytes of received payload can wait for the application before the driver
    /// stops reading the socket (default 16 MiB; one message is always let through).
    pub event_queue_bytes: usize,
    /// Size of each read buffer (default 64 KiB).
    pub read_buffer: usize,
    /// How long to keep writing out what is queued (a Close frame, an HTTP error response)
    /// after the connection closed, before dropping the socket (default 5 s).
    pub linger: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            core: wsmachine::Config::default(),
            command_queue: 64,
            event_queue: 64,
            event_queue_bytes: 16 << 20,
            read_buffer: 64 << 10,
            linger: Duration::from_secs(5),
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
    /// The defaults: the core's defaults, 64 queued commands, 64 queued events (at most
    /// 16 MiB), 64 KiB reads.
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

    /// Most bytes of data queued in the core and not yet written; a single message larger
    /// than this cannot be sent.
    pub fn max_send_queue(mut self, bytes: usize) -> Self {
        self.core.limits.max_send_queue = bytes;
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

    /// Capacity of the command channel to the driver.
    pub fn command_queue(mut self, commands: usize) -> Self {
        self.command_queue = commands.max(1);
        self
    }

    /// Capacity of the event channel from the driver.
    pub fn event_queue(mut self, events: usize) -> Self {
        self.event_queue = events.max(1);
        self
    }

    /// Bytes of received payload that can wait for the application.
    pub fn event_queue_bytes(mut self, bytes: usize) -> Self {
        self.event_queue_bytes = bytes.max(1);
        self
    }

    /// Size of each read buffer.
    pub fn read_buffer(mut self, bytes: usize) -> Self {
        self.read_buffer = bytes.max(4096);
        self
    }

    /// How long to keep flushing after the connection closed.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }
}
