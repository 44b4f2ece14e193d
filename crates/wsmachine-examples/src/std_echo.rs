//! An echo server: every text and binary message goes back unchanged. A thread per
//! connection, at most [`DEFAULT_MAX_CONNECTIONS`] (or the cap given) at once: past the cap,
//! new connections wait in the listen backlog until one ends. One connection's failure never
//! stops the accept loop; accept errors (such as running out of file descriptors) back off
//! and are logged at most once a second. Used by the `std_echo_server` example and by the
//! tests (in-process, on port 0).
//!
//! Memory: each connection holds at most the std adapter's bound (see the `wsmachine_std`
//! crate documentation) plus its thread's stack, so the server holds at most the cap times
//! that.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use wsmachine::CloseReport;

use wsmachine_std::Error;
use wsmachine_std::ServerBuilder;
use wsmachine_std::{Options, Received};

/// How one echo connection ended.
#[derive(Debug)]
pub struct ConnectionEnd {
    /// The peer's address, if known.
    pub peer: Option<SocketAddr>,
    /// Messages echoed.
    pub messages: u64,
    /// The first error seen (protocol error, keepalive timeout, I/O error, failed
    /// handshake), if any.
    pub error: Option<Error>,
    /// The close report, if the connection got past the handshake.
    pub report: Option<CloseReport>,
}

impl std::fmt::Display for ConnectionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.peer {
            Some(p) => write!(f, "{p}")?,
            None => write!(f, "?")?,
        }
        write!(f, ": {} messages", self.messages)?;
        if let Some(r) = &self.report {
            write!(
                f,
                ", close {} ({}, sent {:?})",
                r.code().0,
                if r.clean { "clean" } else { "not clean" },
                r.sent.as_ref().map(|c| c.code.0)
            )?;
        }
        if let Some(e) = &self.error {
            write!(f, ", error: {e}")?;
        }
        Ok(())
    }
}

/// Options for big messages: 64 MiB frames and messages, a 160 MiB send queue.
pub fn big_message_options() -> Options {
    Options {
        config: crate::big_message_config(),
        ..Options::default()
    }
}

/// Serves one connection: handshake, echo until closed. Returns how it ended.
pub fn echo_connection(stream: TcpStream, builder: &ServerBuilder) -> ConnectionEnd {
    let peer = stream.peer_addr().ok();
    let _ = stream.set_nodelay(true);
    let mut end = ConnectionEnd {
        peer,
        messages: 0,
        error: None,
        report: None,
    };
    let mut ws = match builder.accept(stream) {
        Ok(ws) => ws,
        Err(e) => {
            end.error = Some(e);
            return end;
        }
    };
    // Every error leads to Closed within a few calls.
    loop {
        match ws.recv_event() {
            Ok(Received::Message(m)) => match ws.send(m) {
                Ok(()) => end.messages += 1,
                Err(e) => {
                    end.error.get_or_insert(e);
                }
            },
            Ok(_) => {}
            Err(Error::Closed(r)) => {
                end.report = Some(r);
                break;
            }
            Err(e) => {
                end.error.get_or_insert(e);
            }
        }
    }
    end
}

/// How many connections [`serve`] serves at once unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// The connections being served, up to a cap.
struct Slots {
    count: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

/// One connection's place under the cap, given back when dropped (also if its thread
/// panics).
struct Slot(Arc<Slots>);

impl Slots {
    /// Waits until fewer than `max` connections are served, then takes a place.
    fn acquire(self: &Arc<Self>) -> Slot {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        while *count >= self.max {
            count = self
                .freed
                .wait(count)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *count += 1;
        Slot(Arc::clone(self))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut count = self.0.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count -= 1;
        self.0.freed.notify_one();
    }
}

/// A log line at most once a second; the lines in between are counted.
struct RateLimitedLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    fn log(&mut self, line: std::fmt::Arguments<'_>) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            self.suppressed += 1;
            return;
        }
        if self.suppressed > 0 {
            eprintln!(
                "echo: {line} ({} more since the last report)",
                self.suppressed
            );
        } else {
            eprintln!("echo: {line}");
        }
        self.last = Some(now);
        self.suppressed = 0;
    }
}

/// The first and the longest pause after an accept error.
const BACKOFF_MIN: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// [`serve_capped`] with [`DEFAULT_MAX_CONNECTIONS`].
pub fn serve(
    listener: TcpListener,
    builder: ServerBuilder,
    on_end: impl Fn(ConnectionEnd) + Send + Sync + 'static,
) {
    serve_capped(listener, builder, DEFAULT_MAX_CONNECTIONS, on_end)
}

/// Accepts connections on `listener` forever, a thread each, echoing, with at most
/// `max_connections` (at least 1) served at once: at the cap, the loop stops accepting until
/// one ends, so new connections wait in the listen backlog. Calls `on_end` (from the
/// connection's thread) when each ends. After an accept error the loop pauses, 5 ms doubling
/// up to 1 s until an accept succeeds, and logs to stderr at most once a second.
pub fn serve_capped(
    listener: TcpListener,
    builder: ServerBuilder,
    max_connections: usize,
    on_end: impl Fn(ConnectionEnd) + Send + Sync + 'static,
) {
    let on_end = Arc::new(on_end);
    let builder = Arc::new(builder);
    let slots = Arc::new(Slots {
        count: Mutex::new(0),
        freed: Condvar::new(),
        max: max_connections.max(1),
    });
    let mut log = RateLimitedLog {
        last: None,
        suppressed: 0,
    };
    let mut backoff = BACKOFF_MIN;
    loop {
        let slot = slots.acquire();
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) => {
                    log.log(format_args!("accept failed: {e}; pausing {backoff:?}"));
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        };
        backoff = BACKOFF_MIN;
        let builder = Arc::clone(&builder);
        let on_end = Arc::clone(&on_end);
        let spawned = std::thread::Builder::new()
            .name("ws-echo".into())
            .spawn(move || {
                let _slot = slot;
                on_end(echo_connection(stream, &builder));
            });
        if let Err(e) = spawned {
            log.log(format_args!("cannot spawn a connection thread: {e}"));
        }
    }
}

/// [`spawn_capped`] with [`DEFAULT_MAX_CONNECTIONS`].
pub fn spawn(
    addr: &str,
    builder: ServerBuilder,
    on_end: impl Fn(ConnectionEnd) + Send + Sync + 'static,
) -> std::io::Result<SocketAddr> {
    spawn_capped(addr, builder, DEFAULT_MAX_CONNECTIONS, on_end)
}

/// Binds `addr`, then runs [`serve_capped`] on a background thread; returns the bound
/// address. For tests: the thread runs until the process exits.
pub fn spawn_capped(
    addr: &str,
    builder: ServerBuilder,
    max_connections: usize,
    on_end: impl Fn(ConnectionEnd) + Send + Sync + 'static,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new()
        .name("ws-echo-accept".into())
        .spawn(move || serve_capped(listener, builder, max_connections, on_end))?;
    Ok(local)
}
