//! An echo server on `compio`, a completion-based runtime (io_uring on Linux): every text
//! and binary message goes back unchanged, before the connection's next event is parsed.
//! Used by the `uring_echo_server` example and by `tests/uring_echo.rs` (in-process, port 0).
//!
//! Completion I/O takes buffers by value and gives them back when the kernel is done, so
//! the core's owned-buffer API meets it without a copy:
//!
//! - Input: each read is handed an owned [`BytesMut`] (the spare capacity left after the
//!   previous read, split off the same allocation); the kernel fills it, and the filled
//!   part goes to [`Connection::handle_input_owned`] as it is. Reads split off one
//!   allocation are contiguous, so the core joins them in place; only a frame that straddles
//!   two allocations is copied once when joined (allocations are [`READ_CHUNK`] bytes).
//! - Output: [`Connection::poll_transmit`] yields owned [`Bytes`] chunks (frame headers and
//!   payloads, the payload being the message's own buffer), which are moved into the write
//!   operation and live as long as it is in flight.
//!
//! The driver contract, per connection, in one task: read only while
//! [`Connection::wants_input`]; `poll_event` only when the echo of the previous message is
//! queued; write one owned chunk (or two, vectored) at a time; once closed and everything is
//! written, shut the write side (FIN) once; drop the socket at
//! [`Connection::should_close_transport`]; sleep on compio's timer until
//! [`Connection::poll_timeout`], then `handle_timeout`. Operations in flight are never
//! cancelled while the connection lives (the loop waits on the read, the write and the timer
//! together); dropping a connection cancels its pending read, and compio keeps that buffer
//! until the kernel lets go of it.
//!
//! Driver choice: with compio's `io-uring` and `polling` features both on, the runtime
//! probes io_uring at startup and falls back to a readiness (epoll) driver if the kernel
//! refuses it (e.g. `/proc/sys/kernel/io_uring_disabled` = 2, seccomp, old kernels).
//! [`serve_with`] can force either driver; [`UringEchoError::Runtime`] says when the
//! requested driver could not start.
//!
//! Memory per connection: the core's bound (see [`Connection::wants_input`]) plus one read
//! allocation ([`READ_CHUNK`] bytes, or what the core still holds of it) plus the chunks of
//! one write in flight (popped from the send queue, so at most the queue's size again).

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Instant;

use compio::BufResult;
use compio::driver::{DriverType, ProactorBuilder};
use compio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use compio::net::{TcpListener, TcpStream};
use wsmachine::io::IoDirection;
use wsmachine::{
    Accept, Bytes, BytesMut, CloseReport, Config, Connection, ConnectionError, Event, Message,
    State, Timestamp,
};

/// The size of each read allocation: reads are split off it until less than
/// [`MIN_READ`] bytes of it remain, then a new one is made.
pub const READ_CHUNK: usize = 256 << 10;

/// The least spare room a read is given.
pub const MIN_READ: usize = 16 << 10;

/// Which driver to ask compio for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// io_uring if the kernel allows it, else the polling driver (compio's own probe).
    Auto,
    /// io_uring only: fail with [`UringEchoError::Runtime`] if the kernel refuses it.
    IoUring,
    /// The readiness (epoll) driver only.
    Polling,
}

/// Why the server could not start.
#[derive(Debug)]
pub enum UringEchoError {
    /// The runtime (with the driver asked for) could not be built: for
    /// [`Driver::IoUring`], the kernel refuses io_uring.
    Runtime(io::Error),
    /// Binding the listener failed.
    Bind(io::Error),
}

impl std::fmt::Display for UringEchoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UringEchoError::Runtime(e) => write!(f, "the compio runtime cannot start: {e}"),
            UringEchoError::Bind(e) => write!(f, "cannot bind the listener: {e}"),
        }
    }
}

impl std::error::Error for UringEchoError {}

/// How one connection ended, handed to [`serve_with`]'s `on_end`.
#[derive(Debug)]
pub struct Ended {
    /// The peer's address.
    pub peer: SocketAddr,
    /// Messages echoed.
    pub messages: u64,
    /// The first error the core reported (protocol error, timer, transport).
    pub error: Option<ConnectionError>,
    /// How it closed (`None` only if the core never reported `Closed`).
    pub report: Option<CloseReport>,
}

/// Runs the echo server on `listener_addr` forever with compio's automatic driver choice
/// (io_uring, else polling), printing the driver in use, each ended connection and each
/// failed accept on stderr. Returns only if the runtime or the listener cannot start.
pub fn serve(listener_addr: &str, config: Config) -> Result<(), UringEchoError> {
    serve_with(
        listener_addr,
        config,
        Driver::Auto,
        |addr, driver| eprintln!("uring_echo: listening on ws://{addr} ({driver:?} driver)"),
        |ended| eprintln!("uring_echo: {ended:?}"),
    )
}

/// Runs the echo server on `listener_addr` forever on the `driver` asked for. Calls
/// `on_bound` once with the bound address and the driver compio actually chose
/// ([`Driver::IoUring`] or [`Driver::Polling`]), and
/// `on_end` as each connection is dropped. Returns only if the runtime or the listener
/// cannot start. Cost: one thread (the runtime's), one task per connection.
pub fn serve_with(
    listener_addr: &str,
    config: Config,
    driver: Driver,
    on_bound: impl FnOnce(SocketAddr, Driver),
    on_end: impl Fn(Ended) + 'static,
) -> Result<(), UringEchoError> {
    let mut proactor = ProactorBuilder::new();
    match driver {
        Driver::Auto => {}
        Driver::IoUring => {
            proactor.driver_type(DriverType::IoUring);
        }
        Driver::Polling => {
            proactor.driver_type(DriverType::Poll);
        }
    }
    let runtime = compio::runtime::RuntimeBuilder::new()
        .with_proactor(proactor)
        .build()
        .map_err(UringEchoError::Runtime)?;
    let chosen = if runtime.driver_type().is_iouring() {
        Driver::IoUring
    } else {
        Driver::Polling
    };
    runtime.block_on(async move {
        let listener = TcpListener::bind(listener_addr)
            .await
            .map_err(UringEchoError::Bind)?;
        on_bound(listener.local_addr().map_err(UringEchoError::Bind)?, chosen);
        let on_end = Rc::new(on_end);
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let on_end = Rc::clone(&on_end);
                    compio::runtime::spawn(async move {
                        on_end(drive(stream, peer, config).await);
                    })
                    .detach();
                }
                // One failed accept (e.g. ECONNABORTED, EMFILE) is not the server's end.
                Err(e) => eprintln!("uring_echo: accept failed: {e}"),
            }
        }
    })
}

/// A read in flight: the buffer is the kernel's until it completes.
type ReadOp = Pin<Box<dyn Future<Output = BufResult<usize, BytesMut>>>>;
/// A write (or the FIN) in flight: the chunks are the kernel's until it completes.
type WriteOp = Pin<Box<dyn Future<Output = io::Result<()>>>>;

/// What woke the connection's loop.
enum Woke {
    Read(BufResult<usize, BytesMut>),
    Write(io::Result<()>),
    Timer,
}

/// One connection, start to end, by the driver contract.
async fn drive(stream: TcpStream, peer: SocketAddr, config: Config) -> Ended {
    let started = Instant::now();
    let now = || Timestamp::from_duration(started.elapsed());
    let mut conn = Connection::server(config, Timestamp::ZERO);
    let mut ended = Ended {
        peer,
        messages: 0,
        error: None,
        report: None,
    };
    // The unfilled rest of the current read allocation.
    let mut spare = BytesMut::new();
    let mut read: Option<ReadOp> = None;
    let mut write: Option<WriteOp> = None;
    // A received message whose echo waits for room in the send queue: while it waits, no
    // event is polled, parsing stops, `wants_input` turns false and TCP pushes back.
    let mut stalled: Option<Message> = None;
    let mut read_done = false;
    let mut write_done = false;
    let mut fin_sent = false;
    loop {
        echo(&mut conn, &mut stalled, &mut ended, now());

        // Write: one owned chunk (two, vectored, when a header and its payload wait).
        // `poll_transmit` counts them as written; a failed write ends the write side.
        if write.is_none() && !write_done {
            if let Some(first) = conn.poll_transmit() {
                let mut s = stream.clone();
                write = Some(match conn.poll_transmit() {
                    Some(second) => {
                        Box::pin(async move { s.write_vectored_all((first, (second,))).await.0 })
                    }
                    None => Box::pin(async move { s.write_all::<Bytes>(first).await.0 }),
                });
            } else if conn.is_closed() && !fin_sent {
                // Closed and all written: FIN once; reading goes on while the core drains.
                fin_sent = true;
                let mut s = stream.clone();
                write = Some(Box::pin(async move { s.shutdown().await }));
            }
        }
        if conn.should_close_transport() && write.is_none() {
            break;
        }

        // Read only while the core wants input, into an owned buffer.
        if read.is_none() && !read_done && conn.wants_input() {
            if spare.capacity() < MIN_READ {
                spare = BytesMut::with_capacity(READ_CHUNK);
            }
            let buf = std::mem::take(&mut spare);
            let mut s = stream.clone();
            read = Some(Box::pin(async move { s.read(buf).await }));
        }

        let deadline = conn.poll_timeout().map(|d| started + d.as_duration());
        if read.is_none() && write.is_none() && deadline.is_none() {
            // Nothing can move this connection any more (e.g. both directions failed and
            // the core holds no timer): it is over.
            break;
        }
        let mut sleep = deadline.map(|at| Box::pin(compio::time::sleep_until(at)));
        let woke = poll_fn(|cx| {
            if let Some(op) = read.as_mut()
                && let Poll::Ready(r) = op.as_mut().poll(cx)
            {
                return Poll::Ready(Woke::Read(r));
            }
            if let Some(op) = write.as_mut()
                && let Poll::Ready(r) = op.as_mut().poll(cx)
            {
                return Poll::Ready(Woke::Write(r));
            }
            if let Some(timer) = sleep.as_mut()
                && timer.as_mut().poll(cx).is_ready()
            {
                return Poll::Ready(Woke::Timer);
            }
            Poll::Pending
        })
        .await;
        match woke {
            Woke::Read(BufResult(result, mut buf)) => {
                read = None;
                match result {
                    Ok(0) => {
                        read_done = true;
                        conn.handle_eof();
                    }
                    Ok(_) => {
                        // The filled part, without a copy; the rest of the allocation
                        // stays for the next read, contiguous with this one.
                        let filled = buf.split();
                        spare = buf;
                        conn.handle_input_owned(now(), filled);
                    }
                    Err(e) => {
                        spare = buf;
                        if conn.handle_io_error(&e, IoDirection::Read) {
                            read_done = true;
                        }
                    }
                }
            }
            Woke::Write(result) => {
                write = None;
                if let Err(e) = result {
                    // The chunks in flight are lost (compio's write_all already retried
                    // what can be retried): the write side is over either way.
                    if !conn.handle_io_error(&e, IoDirection::Write) {
                        conn.handle_write_closed();
                    }
                    write_done = true;
                }
            }
            Woke::Timer => conn.handle_timeout(now()),
        }
    }
    // Events still queued (e.g. `Closed` after an EOF) are reported, not echoed.
    while let Some(event) = conn.poll_event() {
        note(&mut ended, event);
    }
    ended
}

/// The application: drain events while the echo of each message fits in the send queue.
fn echo(conn: &mut Connection, stalled: &mut Option<Message>, ended: &mut Ended, now: Timestamp) {
    loop {
        if let Some(message) = stalled.take() {
            let cost = conn.config().send_queue_cost(message.payload().len());
            if conn.state() == State::Open && cost > conn.send_capacity() {
                // No room: wait until a write completes.
                *stalled = Some(message);
                return;
            }
            // Refused only when closing (or larger than the whole queue): the echo is
            // then moot, and the events that follow say why.
            if conn.send(message).is_ok() {
                ended.messages += 1;
            }
        }
        let Some(event) = conn.poll_event() else {
            return;
        };
        match event {
            // Every valid request is accepted with no subprotocol (an invalid Accept makes
            // the core answer 500 and close by itself: keep driving either way).
            Event::Request(_request) => {
                let _ = conn.accept(now, &Accept::default());
            }
            Event::Message(message) => *stalled = Some(message),
            other => note(ended, other),
        }
    }
}

/// Records the events the echo does not act on.
fn note(ended: &mut Ended, event: Event) {
    match event {
        Event::Error(e) => {
            ended.error.get_or_insert(e);
        }
        Event::Closed(report) => ended.report = Some(report),
        // Pings are answered by the core itself, in order; pongs, fragments and the
        // peer's Close need nothing here.
        _ => {}
    }
}
