//! What the tokio and smol echo servers share, written once over the handles both adapters
//! re-export from `wsmachine-async` (a [`WebSocket`] is the same type on tokio and on
//! smol): the echo loop of one connection, the log sink, and the accept-error limiter.
//! Runtime-neutral: nothing here spawns, sleeps or opens a socket.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsmachine::CloseReport;
use wsmachine_async::{Error, WebSocket};

/// A log sink: called with one line per noteworthy event.
pub type Log = Arc<dyn Fn(String) + Send + Sync>;

/// A log sink that prints to stderr.
pub fn stderr_log() -> Log {
    Arc::new(|line| eprintln!("{line}"))
}

/// One line describing how a connection ended.
pub fn describe_report(report: &CloseReport) -> String {
    let code = |f: &Option<wsmachine::CloseFrame>| match f {
        Some(f) => f.code.0.to_string(),
        None => "none".into(),
    };
    format!(
        "code {} (received {}, sent {}), {}, closed by {:?}{}",
        report.code().0,
        code(&report.received),
        code(&report.sent),
        if report.clean { "clean" } else { "not clean" },
        report.closed_by,
        match report.transport {
            Some(t) => format!(", transport {t:?}"),
            None => String::new(),
        }
    )
}

/// A peer address for a log line (`?` when unknown).
pub fn peer_name(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "?".into(), |a| a.to_string())
}

/// For the log: ` (permessage-deflate; <agreed parameters>)` when `ws` compresses, else
/// nothing.
pub fn compression_note(ws: &WebSocket) -> String {
    ws.deflate_params()
        .map(|p| format!(" ({})", p.to_header_value()))
        .unwrap_or_default()
}

/// How one echo connection ended.
#[derive(Debug)]
pub struct ConnectionEnd {
    /// The peer's address, if known.
    pub peer: Option<SocketAddr>,
    /// Messages echoed.
    pub messages: u64,
    /// The first error the connection reported (protocol error, keepalive timeout, I/O
    /// error), if any.
    pub error: Option<Error>,
    /// The close report.
    pub report: Option<CloseReport>,
}

/// Echoes every text and binary message back unchanged until the connection ends; logs
/// errors and the end with the peer address; returns how it ended.
///
/// Each reply is sent before the next message is asked for, so a reply to the last message
/// before a protocol error goes out before the failing Close (Autobahn 3.2-3.4, 4.1.3-5,
/// 4.2.3-5, 5.15). The receive loop also drives the connection's end: it returns once the
/// stream is shut down.
pub async fn echo_connection(mut ws: WebSocket, log: &Log) -> ConnectionEnd {
    // A long-lived connection need not keep its request headers. What lives across the
    // awaits is kept small (an idle connection costs its task's size): the peer's name is
    // formatted only to log, the first error is boxed.
    drop(ws.take_request());
    let mut messages = 0;
    let mut error: Option<Box<Error>> = None;
    while let Some(item) = ws.recv().await {
        match item {
            Ok(message) => {
                messages += 1;
                // Queued only: written with the replies to the rest of this read, when
                // `recv` runs out of events.
                if let Err(e) = ws.feed(message).await {
                    if !e.is_closed() {
                        log(format!(
                            "{}: echo send failed: {e}",
                            peer_name(ws.peer_addr())
                        ));
                    }
                }
            }
            Err(e) => {
                log(format!("{}: error: {e}", peer_name(ws.peer_addr())));
                error.get_or_insert_with(|| Box::new(e));
            }
        }
    }
    let end = ConnectionEnd {
        peer: ws.peer_addr(),
        messages,
        error: error.map(|e| *e),
        report: ws.close_report(),
    };
    let peer = peer_name(end.peer);
    match &end.report {
        Some(r) => log(format!("{peer}: closed: {}", describe_report(r))),
        None => log(format!("{peer}: closed")),
    }
    end
}

/// [`echo_connection`], returning only the close report.
pub async fn echo(ws: WebSocket, log: &Log) -> Option<CloseReport> {
    echo_connection(ws, log).await.report
}

/// Rate-limits the accept loop's error log (one line per second at most, with a count of
/// the lines left out) and backs off while the process is out of file descriptors or
/// memory (10 ms doubling up to 1 s), instead of spinning on a failing `accept`.
#[derive(Debug, Default)]
pub struct AcceptErrors {
    last_log: Option<Instant>,
    suppressed: u64,
    pause: Duration,
}

impl AcceptErrors {
    /// A fresh limiter.
    pub fn new() -> Self {
        AcceptErrors::default()
    }

    /// An `accept` succeeded: no more backoff.
    pub fn succeeded(&mut self) {
        self.pause = Duration::ZERO;
    }

    /// An `accept` failed with `error`: logs it (at most once per second) and returns how
    /// long to pause before the next `accept`: a growing pause for running out of file
    /// descriptors (EMFILE, ENFILE) or memory (ENOBUFS, ENOMEM), none for errors about one
    /// connection (e.g. ECONNABORTED).
    pub fn failed(&mut self, error: &io::Error, log: &Log) -> Duration {
        // Linux errno values: ENFILE 23, EMFILE 24, ENOBUFS 105, ENOMEM 12.
        let exhausted = matches!(error.raw_os_error(), Some(23 | 24 | 105 | 12));
        self.pause = if exhausted {
            (self.pause * 2).clamp(Duration::from_millis(10), Duration::from_secs(1))
        } else {
            Duration::ZERO
        };
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
        {
            let more = std::mem::take(&mut self.suppressed);
            let more = if more > 0 {
                format!(" ({more} more since the last line)")
            } else {
                String::new()
            };
            log(format!(
                "accept failed: {error}{more}; pausing {:?}",
                self.pause
            ));
            self.last_log = Some(now);
        } else {
            self.suppressed += 1;
        }
        self.pause
    }
}
