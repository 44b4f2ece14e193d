//! What the engine needs from an async runtime, as two small object-safe traits: the
//! stream ([`Transport`]) and the clock, timer and spawner ([`Runtime`]). An adapter
//! crate implements them once for its runtime (wsmachine-tokio for tokio, wsmachine-futures
//! for `futures-io` streams and a caller-chosen timer); everything else is shared.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;

/// A task the engine runs in the background: the one that replaces a dropped
/// [`Receiver`](crate::Receiver) until the connection ends.
pub type BackgroundTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A byte stream as the engine drives it: poll-based reads that append to the core's
/// receive buffer, vectored writes, flush and write-side shutdown. Implemented by each
/// adapter over its runtime's `AsyncRead + AsyncWrite` (the stream is `Unpin`, so `&mut
/// self` is enough).
pub trait Transport: Send + 'static {
    /// Reads once, appending to `buf` (the core's receive buffer, with spare capacity
    /// reserved). `hint` is the configured read size: a transport that must initialize
    /// memory before reading into it (a `&mut [u8]` read) zeroes at most that much of the
    /// spare capacity; one that can read into uninitialized memory may fill all of it.
    /// `Ok(0)` is EOF. On `Pending` or an error nothing was appended.
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        hint: usize,
    ) -> Poll<io::Result<usize>>;

    /// Writes some of `bufs`, in order; returns how many bytes it took.
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// Writes some of `buf`; returns how many bytes it took. The engine calls this when its
    /// output is one contiguous slice (every small batch of replies): on a socket that is
    /// `send`, cheaper per call than `writev` on Linux. The default makes it a vectored
    /// write of one slice.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    /// Flushes what the stream buffers.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Shuts the write side down (TCP FIN), once everything is written.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// The peer's address, if the stream knows it (a TCP stream), for logging.
    fn peer_addr(&self) -> Option<SocketAddr> {
        None
    }
}

/// One connection's timer: a resettable one-shot alarm.
pub trait Alarm: Send {
    /// Polls for `deadline` to pass: `Ready` only once it has (on the runtime's clock),
    /// `Pending` with the task's waker registered otherwise. The deadline may change
    /// between calls; the alarm follows the latest one.
    fn poll_until(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()>;
}

/// What the engine needs from the runtime besides the stream: a monotonic clock, a timer
/// per connection, and (optionally) a way to run a background task.
pub trait Runtime: Send + Sync + 'static {
    /// Now, on the clock the alarms use (tokio's may be paused in tests, for instance).
    fn now(&self) -> Instant;

    /// A new timer for one connection (made at its first deadline, then reused).
    fn alarm(&self) -> Box<dyn Alarm>;

    /// Runs `task` in the background until it finishes; returns `false` (dropping it) if
    /// this runtime cannot spawn here. Used when the [`Receiver`](crate::Receiver) is
    /// dropped while the connection still runs: without a spawn the connection is then
    /// driven only while a [`Sender`](crate::Sender) is polled.
    fn spawn(&self, task: BackgroundTask) -> bool;
}

/// An [`Alarm`] over a one-shot sleep future made per deadline, re-armed lazily: a later
/// deadline keeps the armed sleep (when it fires early the alarm re-arms for the new
/// deadline), an earlier one replaces it. With keepalive on, the deadline moves at every
/// read; this makes about one sleep per interval instead of one per wait.
///
/// `S` is the sleep: made by `make` at the first deadline, then re-armed in place by
/// `reset` (which may just replace it).
pub struct LazyAlarm<S, M, R> {
    /// The sleep, kept once made (re-armed with `reset`).
    sleep: Option<S>,
    /// The deadline it is armed for, until it fires.
    at: Option<Instant>,
    make: M,
    reset: R,
}

impl<S, M, R> LazyAlarm<S, M, R>
where
    S: Future + Unpin + Send,
    M: Fn(Instant) -> S + Send,
    R: Fn(&mut S, Instant) + Send,
{
    /// An alarm making its sleeps with `make` and re-arming them with `reset`.
    pub fn new(make: M, reset: R) -> Self {
        LazyAlarm {
            sleep: None,
            at: None,
            make,
            reset,
        }
    }
}

impl<S, M, R> Alarm for LazyAlarm<S, M, R>
where
    S: Future + Unpin + Send,
    M: Fn(Instant) -> S + Send,
    R: Fn(&mut S, Instant) + Send,
{
    fn poll_until(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        loop {
            let Some(sleep) = self.sleep.as_mut() else {
                self.sleep = Some((self.make)(deadline));
                self.at = Some(deadline);
                continue;
            };
            match self.at {
                Some(at) if at <= deadline => {
                    if Pin::new(&mut *sleep).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.at = None;
                    if at == deadline {
                        return Poll::Ready(());
                    }
                    // Fired for a deadline that has since moved later: wait again.
                }
                // Not armed (it fired before), or armed for later than now needed.
                _ => {
                    (self.reset)(sleep, deadline);
                    self.at = Some(deadline);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// A sleep on a fake clock: ready once the clock reached its deadline.
    struct FakeSleep {
        at: Instant,
        clock: Arc<Mutex<Instant>>,
    }

    impl Future for FakeSleep {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if *self.clock.lock().unwrap() >= self.at {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    #[test]
    fn lazy_alarm_keeps_its_sleep_for_later_deadlines_and_fires_only_when_due() {
        let t0 = Instant::now();
        let clock = Arc::new(Mutex::new(t0));
        let made = Arc::new(AtomicUsize::new(0));
        let resets = Arc::new(AtomicUsize::new(0));
        let (c, m, r) = (clock.clone(), made.clone(), resets.clone());
        let mut alarm = LazyAlarm::new(
            move |at| {
                m.fetch_add(1, SeqCst);
                FakeSleep {
                    at,
                    clock: c.clone(),
                }
            },
            move |s: &mut FakeSleep, at| {
                r.fetch_add(1, SeqCst);
                s.at = at;
            },
        );
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let ms = |n| t0 + Duration::from_millis(n);
        let set = |n| *clock.lock().unwrap() = ms(n);

        assert!(alarm.poll_until(&mut cx, ms(100)).is_pending());
        // The deadline moves later (keepalive after a read): the sleep stays as it is.
        assert!(alarm.poll_until(&mut cx, ms(150)).is_pending());
        assert_eq!((made.load(SeqCst), resets.load(SeqCst)), (1, 0));
        // The old deadline passes: not due yet, re-armed for the new one.
        set(120);
        assert!(alarm.poll_until(&mut cx, ms(150)).is_pending());
        assert_eq!(resets.load(SeqCst), 1);
        // An earlier deadline re-arms at once, and is due when the clock reaches it.
        assert!(alarm.poll_until(&mut cx, ms(130)).is_pending());
        assert_eq!(resets.load(SeqCst), 2);
        set(130);
        assert!(alarm.poll_until(&mut cx, ms(130)).is_ready());
        // A new deadline reuses the sleep.
        assert!(alarm.poll_until(&mut cx, ms(200)).is_pending());
        set(200);
        assert!(alarm.poll_until(&mut cx, ms(200)).is_ready());
        assert_eq!((made.load(SeqCst), resets.load(SeqCst)), (1, 3));
    }
}
