//! Deadlines on the caller's clock: handshake, keepalive ping and pong, close, idle, and the
//! drain after a failure.
//!
//! The time comes in with every input that can start or move a timer (the constructors,
//! [`handle_input`](crate::Connection::handle_input), [`accept`](crate::Connection::accept),
//! [`close`](crate::Connection::close) and [`handle_timeout`](crate::Connection::handle_timeout)),
//! so every deadline is armed when it is set and [`poll_timeout`](crate::Connection::poll_timeout)
//! never reports one that is not. Events parsed later by `poll_event` use the time of the
//! input that brought their bytes.

use core::time::Duration;

use bytes::Bytes;

use super::{Connection, Phase};
use crate::close::{CloseCode, CloseFrame};
use crate::error::Timeout;
use crate::event::Closer;
use crate::frame::OpCode;
use crate::time::Timestamp;
use crate::transmit::FrameKind;

/// The keepalive: the time of the last byte received and, once a ping went out for silence,
/// when it went.
#[derive(Debug, Clone, Copy)]
pub(super) struct Keepalive {
    last_rx: Timestamp,
    ping_sent: Option<Timestamp>,
}

#[derive(Debug)]
pub(super) struct TimerSet {
    /// The latest time the caller told us.
    now: Timestamp,
    pub(super) handshake: Option<Timestamp>,
    keepalive: Option<Keepalive>,
    close: Option<Timestamp>,
    idle: Option<Timestamp>,
    /// After we failed the connection: read and discard the peer's input until then.
    pub(super) drain: Option<Timestamp>,
    /// A data message went either way since the idle deadline was set.
    data_seen: bool,
    pings_sent: u64,
}

impl TimerSet {
    pub(super) fn new(now: Timestamp) -> Self {
        TimerSet {
            now,
            handshake: None,
            keepalive: None,
            close: None,
            idle: None,
            drain: None,
            data_seen: false,
            pings_sent: 0,
        }
    }

    /// The caller's time; it never goes backwards.
    pub(super) fn tick(&mut self, now: Timestamp) -> Timestamp {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    /// The latest time the caller gave.
    pub(super) fn now(&self) -> Timestamp {
        self.now
    }

    /// Bytes arrived (at the last time given): the peer is alive.
    pub(super) fn note_rx(&mut self) {
        if let Some(k) = self.keepalive.as_mut() {
            k.last_rx = self.now;
            k.ping_sent = None;
        }
    }

    pub(super) fn note_data(&mut self) {
        self.data_seen = true;
    }

    /// Starts (or restarts) the close timer from the last time given.
    pub(super) fn arm_close(&mut self, timeout: Option<Duration>) {
        self.close = timeout.map(|d| self.now + d);
    }

    /// Stops every timer but the drain.
    pub(super) fn clear(&mut self) {
        self.handshake = None;
        self.keepalive = None;
        self.close = None;
        self.idle = None;
    }

    fn keepalive_deadline(&self, interval: Duration, pong: Option<Duration>) -> Option<Timestamp> {
        let k = self.keepalive?;
        Some(match (k.ping_sent, pong) {
            (Some(sent), Some(p)) => sent + p,
            _ => k.last_rx + interval,
        })
    }
}

impl Connection {
    /// Starts the keepalive and idle timers when the connection opens (at the last time
    /// given): the first keepalive ping is due `ping_interval` after it.
    pub(super) fn start_open_timers(&mut self) {
        let t = self.config.timers;
        let now = self.timers.now;
        self.timers.keepalive = t.ping_interval.map(|_| Keepalive {
            last_rx: now,
            ping_sent: None,
        });
        self.timers.idle = t.idle_timeout.map(|d| now + d);
    }

    /// The next deadline, or `None` if no timer runs. Sleep until it (or until input), then
    /// call [`handle_timeout`](Connection::handle_timeout). Every deadline is armed when it
    /// is set, so it is never earlier than the time of the input that set it.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let t = &self.timers;
        if self.is_closed() {
            return t.drain;
        }
        let cfg = self.config.timers;
        let keepalive = cfg
            .ping_interval
            .and_then(|i| t.keepalive_deadline(i, cfg.pong_timeout));
        [t.handshake, keepalive, t.close, t.idle]
            .into_iter()
            .flatten()
            .min()
    }

    /// Tells the connection the time; it acts on every deadline that has passed. Calling it
    /// early, late or twice is harmless. Events it causes are read with `poll_event`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.rec.timeout(now);
        self.run_timers(now);
        self.rec.timeout_done(&mut self.tx);
    }

    fn run_timers(&mut self, now: Timestamp) {
        let now = self.timers.tick(now);
        if self.is_closed() {
            if self.timers.drain.is_some_and(|d| now >= d) {
                self.timers.drain = None;
            }
            return;
        }
        if self.timers.handshake.is_some_and(|t| now >= t) {
            self.timers.handshake = None;
            if !matches!(self.phase, Phase::Open | Phase::Closing) {
                self.fail_timeout(Timeout::Handshake);
                return;
            }
        }
        if self.timers.close.is_some_and(|t| now >= t) {
            self.timers.close = None;
            self.close_timed_out();
            return;
        }
        let cfg = self.config.timers;
        if let Some(interval) = cfg.ping_interval {
            if self
                .timers
                .keepalive_deadline(interval, cfg.pong_timeout)
                .is_some_and(|d| now >= d)
            {
                self.keepalive_due(now);
                if self.is_closed() {
                    return;
                }
            }
        }
        if self.timers.idle.is_some_and(|t| now >= t) {
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

    /// Nothing arrived for `ping_interval`: ping (once); nothing for `pong_timeout` after
    /// that ping: the peer is dead.
    fn keepalive_due(&mut self, now: Timestamp) {
        let Some(k) = self.timers.keepalive.as_mut() else {
            return;
        };
        if k.ping_sent.is_some() {
            self.fail_timeout(Timeout::Keepalive);
            return;
        }
        match self.config.timers.pong_timeout {
            Some(_) => k.ping_sent = Some(now),
            // No pong deadline: ping every interval of silence, never fail.
            None => k.last_rx = now,
        }
        if self.close_sent.is_none() && !self.tx.is_dead() {
            self.timers.pings_sent += 1;
            let payload = Bytes::copy_from_slice(&self.timers.pings_sent.to_be_bytes());
            let ping = self
                .tx
                .encoder
                .encode(true, OpCode::Ping, payload, FrameKind::Ping);
            self.tx.push_urgent(ping);
        }
    }

    fn idle_due(&mut self, now: Timestamp) {
        let Some(dur) = self.config.timers.idle_timeout else {
            self.timers.idle = None;
            return;
        };
        if core::mem::take(&mut self.timers.data_seen) {
            self.timers.idle = Some(now + dur);
            return;
        }
        self.timers.idle = None;
        self.events
            .push_back(crate::Event::Error(crate::ConnectionError::Timeout(
                Timeout::Idle,
            )));
        if matches!(self.phase, Phase::Open) {
            self.queue_close(CloseFrame {
                code: CloseCode::GOING_AWAY,
                reason: "idle timeout".into(),
            });
        }
    }
}
