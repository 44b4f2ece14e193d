//! Deadlines on the caller's clock: handshake, keepalive ping and pong, close, idle.
//!
//! The core learns the time only from constructors and
//! [`handle_timeout`](crate::Connection::handle_timeout). A timer started between those
//! (a Close queued by a send call) is *pending*: [`poll_timeout`](crate::Connection::poll_timeout)
//! reports the last known time for it, so the caller calls `handle_timeout` at once, which
//! arms it from the real time. Liveness and activity are flags set by input and sends and
//! examined when a deadline passes, so no clock is needed on the hot path.

use core::time::Duration;

use bytes::Bytes;

use crate::close::{CloseCode, CloseFrame};
use crate::connection::{Connection, Phase};
use crate::error::Timeout;
use crate::event::Closer;
use crate::frame::OpCode;
use crate::time::Timestamp;
use crate::transmit::FrameKind;

/// A deadline that is either set or waiting for the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    At(Timestamp),
    /// Arm at the next `handle_timeout(now)` as `now + duration`.
    Pending(Duration),
}

/// What the keepalive timer waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keepalive {
    /// Time to ping if nothing arrived.
    Ping,
    /// A ping went out; the peer must show life by then.
    Pong,
}

pub(crate) struct TimerSet {
    /// The latest time the caller told us.
    now: Timestamp,
    pub(crate) handshake: Option<Timestamp>,
    keepalive: Option<(Keepalive, Deadline)>,
    close: Option<Deadline>,
    idle: Option<Deadline>,
    /// Bytes arrived since the keepalive deadline was set.
    rx_seen: bool,
    /// A data message went either way since the idle deadline was set.
    data_seen: bool,
    pings_sent: u64,
}

impl TimerSet {
    pub(crate) fn new(now: Timestamp) -> Self {
        TimerSet {
            now,
            handshake: None,
            keepalive: None,
            close: None,
            idle: None,
            rx_seen: false,
            data_seen: false,
            pings_sent: 0,
        }
    }

    pub(crate) fn note_rx(&mut self, any: bool) {
        self.rx_seen |= any;
    }

    pub(crate) fn note_data(&mut self) {
        self.data_seen = true;
    }

    /// Starts the close timer unless it is running (a second start, e.g. a client that got
    /// the server's Close after sending its own, restarts it).
    pub(crate) fn arm_close(&mut self, timeout: Option<Duration>) {
        self.close = timeout.map(Deadline::Pending);
    }

    pub(crate) fn clear(&mut self) {
        self.handshake = None;
        self.keepalive = None;
        self.close = None;
        self.idle = None;
    }

    fn resolve(&self, d: Deadline) -> Timestamp {
        match d {
            Deadline::At(t) => t,
            Deadline::Pending(_) => self.now,
        }
    }

    fn arm(now: Timestamp, d: &mut Deadline) {
        if let Deadline::Pending(dur) = *d {
            *d = Deadline::At(now + dur);
        }
    }

    fn due(now: Timestamp, d: Option<Deadline>) -> bool {
        matches!(d, Some(Deadline::At(t)) if now >= t)
    }
}

impl Connection {
    pub(crate) fn start_open_timers(&mut self) {
        let t = self.config.timers;
        self.timers.keepalive = t
            .ping_interval
            .map(|d| (Keepalive::Ping, Deadline::Pending(d)));
        self.timers.idle = t.idle_timeout.map(Deadline::Pending);
    }

    /// The next deadline, or `None` if no timer runs. It may be in the past (a timer waiting
    /// for the clock): call [`handle_timeout`](Connection::handle_timeout) right away then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.is_closed() {
            return None;
        }
        let t = &self.timers;
        [
            t.handshake,
            t.keepalive.map(|(_, d)| t.resolve(d)),
            t.close.map(|d| t.resolve(d)),
            t.idle.map(|d| t.resolve(d)),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Tells the connection the time; it acts on every deadline that has passed. Calling it
    /// early, late or twice is harmless. Events it causes are read with `poll_event`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.is_closed() {
            return;
        }
        if now > self.timers.now {
            self.timers.now = now;
        }
        let now = self.timers.now;
        {
            let t = &mut self.timers;
            if let Some((_, d)) = t.keepalive.as_mut() {
                TimerSet::arm(now, d);
            }
            if let Some(d) = t.close.as_mut() {
                TimerSet::arm(now, d);
            }
            if let Some(d) = t.idle.as_mut() {
                TimerSet::arm(now, d);
            }
        }
        if self.timers.handshake.is_some_and(|t| now >= t) {
            self.timers.handshake = None;
            if !matches!(self.phase, Phase::Open) {
                self.fail_timeout(Timeout::Handshake);
                return;
            }
        }
        if TimerSet::due(now, self.timers.close) {
            self.timers.close = None;
            self.close_timed_out();
            return;
        }
        if let Some((mode, d)) = self.timers.keepalive {
            if TimerSet::due(now, Some(d)) {
                self.keepalive_due(mode, now);
                if self.is_closed() {
                    return;
                }
            }
        }
        if TimerSet::due(now, self.timers.idle) {
            self.idle_due(now);
        }
    }

    fn close_timed_out(&mut self) {
        if self.close_received.is_some() && self.close_sent.is_some() {
            // Client: both Closes exchanged but the server kept TCP open; we end it.
            self.finish(Closer::Us);
        } else {
            self.fail_timeout(Timeout::Close);
        }
    }

    fn keepalive_due(&mut self, mode: Keepalive, now: Timestamp) {
        let cfg = self.config.timers;
        let alive = core::mem::take(&mut self.timers.rx_seen);
        let interval = cfg.ping_interval.unwrap_or(Duration::from_secs(30));
        if alive {
            self.timers.keepalive = Some((Keepalive::Ping, Deadline::At(now + interval)));
            return;
        }
        match mode {
            Keepalive::Ping => {
                if self.close_sent.is_none() && !self.tx.is_dead() {
                    self.timers.pings_sent += 1;
                    let payload = Bytes::copy_from_slice(&self.timers.pings_sent.to_be_bytes());
                    let ping = self
                        .tx
                        .encoder
                        .encode(true, OpCode::Ping, payload, FrameKind::Ping);
                    self.tx.push_urgent(ping);
                }
                self.timers.keepalive = match cfg.pong_timeout {
                    Some(d) => Some((Keepalive::Pong, Deadline::At(now + d))),
                    None => Some((Keepalive::Ping, Deadline::At(now + interval))),
                };
            }
            Keepalive::Pong => self.fail_timeout(Timeout::Keepalive),
        }
    }

    fn idle_due(&mut self, now: Timestamp) {
        let Some(dur) = self.config.timers.idle_timeout else {
            self.timers.idle = None;
            return;
        };
        if core::mem::take(&mut self.timers.data_seen) {
            self.timers.idle = Some(Deadline::At(now + dur));
            return;
        }
        self.timers.idle = None;
        self.events
            .push_back(crate::Event::Error(crate::ConnectionError::Timeout(
                Timeout::Idle,
            )));
        if matches!(self.phase, Phase::Open) && self.close_sent.is_none() {
            self.queue_close(
                CloseFrame {
                    code: CloseCode::GOING_AWAY,
                    reason: "idle timeout".into(),
                },
                false,
            );
        }
    }
}
