//! An echo server on a hand-written `poll(2)` loop: no adapter, no runtime, just the
//! sans-IO core, non-blocking std sockets and `rustix::event::poll` (safe, no `unsafe`).
//! It shows the whole driver contract (see `Connection`'s docs) in one file:
//!
//! 1. feed the bytes read (only while the core wants input; EOF and errors too),
//! 2. drain events when the application is ready for the next one (here: when the echo of
//!    the previous message found room in the send queue),
//! 3. write the output with vectored writes, acknowledging partial writes,
//! 4. sleep in `poll` until the earliest `poll_timeout`, then `handle_timeout`,
//! 5. close: FIN once the core is closed and everything is written, keep reading while the
//!    core drains, drop the socket when it says so.
//!
//! ```text
//! cargo run -p wsmachine-examples --example poll_loop_echo -- [ADDR]
//! ```
//!
//! One thread serves every connection; messages up to 64 MiB; a ping after 30 s of silence
//! finds dead peers. Each connection's end is printed with its peer address. The loop
//! itself is [`serve`], which the tests run in-process.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use wsmachine::io::IoDirection;
use wsmachine::{
    Accept, CloseReport, Config, Connection, ConnectionError, Event, Message, State, Timestamp,
};

/// How one connection ended, handed to `serve`'s `on_end`.
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

/// One connection: its socket, its core and what the loop remembers about both.
struct Peer {
    stream: TcpStream,
    conn: Connection,
    /// The connection's clock origin: `now` is the time since then.
    started: Instant,
    /// A received message whose echo waits for room in the send queue. While it waits, no
    /// further event is polled: that is the application saying "not ready for more", which
    /// stops parsing, which (through `wants_input`) stops reading, which lets TCP push back
    /// on the peer. Memory stays within the core's documented bound.
    stalled: Option<Message>,
    /// EOF or a read error: no more reads.
    read_done: bool,
    /// FIN sent, or the write side died: no more writes.
    write_done: bool,
    ended: Ended,
}

impl Peer {
    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.started.elapsed())
    }

    /// The instant of the core's next deadline, if any.
    fn deadline(&self) -> Option<Instant> {
        self.conn
            .poll_timeout()
            .map(|d| self.started + d.as_duration())
    }

    /// What to wait for in `poll`: readable while the core wants input, writable while it
    /// has output that the socket did not take yet.
    fn interest(&self) -> PollFlags {
        let mut flags = PollFlags::empty();
        if !self.read_done && self.conn.wants_input() {
            flags |= PollFlags::IN;
        }
        if !self.write_done && self.conn.pending_transmit() > 0 {
            flags |= PollFlags::OUT;
        }
        flags
    }

    /// One round of the contract; returns whether anything moved (then run another).
    fn round(&mut self, scratch: &mut [u8]) -> bool {
        let now = self.now();
        let mut progress = false;

        // (4) Timers: a deadline that passed. The core arms every timer itself when it
        // sets it; one call per passed deadline, no retries.
        if self.conn.poll_timeout().is_some_and(|d| d <= now) {
            self.conn.handle_timeout(now);
            progress = true;
        }

        // (1) Read, once per round, only while the core wants input (input backpressure;
        // it stays true while the core drains a failed peer or a client awaits the
        // server's EOF). A plain `read` into a scratch buffer, then `handle_input` (one
        // copy; `input_buffer` + `handle_input_appended` would read in place), of at most
        // `read_size`: the rest of a large frame and the next header, so the next frame's
        // payload lands in room reserved for it.
        if !self.read_done && self.conn.wants_input() {
            let max = self.conn.read_size(scratch.len());
            match self.stream.read(&mut scratch[..max]) {
                Ok(0) => {
                    self.read_done = true;
                    self.conn.handle_eof();
                    progress = true;
                }
                Ok(n) => {
                    self.conn.handle_input(now, &scratch[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    // `true`: the transport is over (the core was told how); `false`:
                    // retry later (e.g. EINTR).
                    if self.conn.handle_io_error(&e, IoDirection::Read) {
                        self.read_done = true;
                    }
                    progress = true;
                }
            }
        }

        // (2) The application: the echo. Events are parsed lazily, one per call, and only
        // when the application is ready for the next: a reply queued before asking for the
        // next event goes out before a Close that a later bad frame causes.
        progress |= self.application(now);

        // (3) Write everything queued that the socket takes.
        progress |= self.write();

        // (5) Closed and everything written: shut our write side (FIN) once. Reading goes
        // on while the core drains; the socket is dropped when `should_close_transport`.
        if self.conn.is_closed() && self.conn.pending_transmit() == 0 && !self.write_done {
            let _ = self.stream.shutdown(Shutdown::Write);
            self.write_done = true;
            progress = true;
        }
        progress
    }

    /// Echo: drain events while the echo of each message fits in the send queue.
    fn application(&mut self, now: Timestamp) -> bool {
        let mut progress = false;
        loop {
            if let Some(message) = self.stalled.take() {
                let cost = self.conn.config().send_queue_cost(message.payload().len());
                if self.conn.state() == State::Open && cost > self.conn.send_capacity() {
                    // No room: wait until the socket took some output.
                    self.stalled = Some(message);
                    return progress;
                }
                // Refused only when closing (or larger than the whole queue): then the
                // echo is moot, and the events that follow say why.
                if self.conn.send(message).is_ok() {
                    self.ended.messages += 1;
                }
                progress = true;
            }
            let Some(event) = self.conn.poll_event() else {
                return progress;
            };
            progress = true;
            match event {
                // Server handshake: the application decides; here every valid request is
                // accepted with no subprotocol. (An invalid Accept would make the core
                // answer 500 and close by itself: keep driving either way.)
                Event::Request(_request) => {
                    let _ = self.conn.accept(now, &Accept::default());
                }
                Event::Message(message) => self.stalled = Some(message),
                Event::Error(e) => {
                    eprintln!("{}: error: {e}", self.ended.peer);
                    self.ended.error.get_or_insert(e);
                }
                Event::Closed(report) => self.ended.report = Some(report),
                // Pings are answered by the core itself, in order; pongs, fragments (not
                // in the default receive mode) and the peer's Close need nothing here.
                _ => {}
            }
        }
    }

    /// Writes straight from the core's transmit queue (`write_transmit_io`: one `send`, or a
    /// `writev` when the output is in several pieces). A partial write acknowledges only
    /// what the socket took; the rest stays queued, and `poll` waits for POLLOUT.
    fn write(&mut self) -> bool {
        let mut progress = false;
        while !self.write_done && self.conn.pending_transmit() > 0 {
            let result = self.conn.write_transmit_io(&mut self.stream);
            match result {
                Ok(0) => {
                    let e = io::Error::from(io::ErrorKind::WriteZero);
                    self.conn.handle_io_error(&e, IoDirection::Write);
                    self.write_done = true;
                    return true;
                }
                Ok(_) => progress = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return progress,
                Err(e) => {
                    if self.conn.handle_io_error(&e, IoDirection::Write) {
                        self.write_done = true;
                    }
                    return true;
                }
            }
        }
        progress
    }
}

/// Runs the echo server on `listener` forever, one thread for every connection; calls
/// `on_end` as each connection is dropped. Returns only if `poll` or the listener fails.
pub fn serve(
    listener: TcpListener,
    config: Config,
    mut on_end: impl FnMut(Ended),
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut peers: Vec<Peer> = Vec::new();
    let mut scratch = vec![0u8; 64 << 10];
    loop {
        // Sleep until a socket is ready or the earliest deadline of any connection.
        let now = Instant::now();
        let timeout = peers
            .iter()
            .filter_map(Peer::deadline)
            .min()
            .map(|at| at.saturating_duration_since(now));
        let ready = {
            let mut fds = Vec::with_capacity(peers.len() + 1);
            fds.push(PollFd::new(&listener, PollFlags::IN));
            fds.extend(peers.iter().map(|p| PollFd::new(&p.stream, p.interest())));
            let timeout = timeout.map(timespec);
            match poll(&mut fds, timeout.as_ref()) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            fds.iter().map(PollFd::revents).collect::<Vec<_>>()
        };

        // New connections: non-blocking, no Nagle, a server core each.
        if !ready[0].is_empty() {
            loop {
                match listener.accept() {
                    Ok((stream, peer)) => {
                        stream.set_nonblocking(true)?;
                        let _ = stream.set_nodelay(true);
                        peers.push(Peer {
                            stream,
                            conn: Connection::server(config, Timestamp::ZERO),
                            started: Instant::now(),
                            stalled: None,
                            read_done: false,
                            write_done: false,
                            ended: Ended {
                                peer,
                                messages: 0,
                                error: None,
                                report: None,
                            },
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // One failed accept (e.g. ECONNABORTED, EMFILE) is not the server's
                    // end: log it and wait for the next readiness.
                    Err(e) => {
                        eprintln!("accept failed: {e}");
                        break;
                    }
                }
            }
        }

        // Drive each connection that is ready or whose deadline passed, round after round
        // until nothing moves (a write may let the core want input again, and so on).
        let now = Instant::now();
        for (i, peer) in peers.iter_mut().enumerate() {
            let revents = ready.get(i + 1).copied().unwrap_or(PollFlags::empty());
            if revents.contains(PollFlags::ERR) {
                // A socket error (e.g. a reset) reported by poll even where we asked for
                // nothing: tell the core, or poll would report it again at once.
                if let Ok(Some(e)) = peer.stream.take_error() {
                    peer.conn.handle_io_error(&e, IoDirection::Read);
                    peer.read_done = true;
                }
            }
            let due = peer.deadline().is_some_and(|at| at <= now);
            if !revents.is_empty() || due {
                while peer.round(&mut scratch) {}
            }
        }

        // Drop the sockets the core is done with; one connection's end never touches
        // another's.
        let mut i = 0;
        while i < peers.len() {
            if peers[i].conn.should_close_transport() {
                let peer = peers.swap_remove(i);
                on_end(peer.ended);
            } else {
                i += 1;
            }
        }
    }
}

/// A `poll` timeout, rounded up to whole milliseconds (poll's resolution) so that the loop
/// does not wake just before a deadline.
fn timespec(d: Duration) -> Timespec {
    let ms = d.as_nanos().div_ceil(1_000_000).min(86_400_000) as u64;
    Timespec::try_from(Duration::from_millis(ms)).expect("a day fits in a timespec")
}

/// The example's config: 64 MiB messages (as every echo server example) and a keepalive
/// (a ping after 30 s of silence, dead 30 s later).
pub fn example_config() -> Config {
    let mut config = wsmachine_examples::big_message_config();
    config.timers.ping_interval = Some(Duration::from_secs(30));
    config.timers.pong_timeout = Some(Duration::from_secs(30));
    config
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let listener = TcpListener::bind(&addr)?;
    eprintln!("poll(2) echo server on ws://{}/", listener.local_addr()?);
    serve(listener, example_config(), |end| {
        eprintln!(
            "{}: closed after {} messages: {:?}{}",
            end.peer,
            end.messages,
            end.report,
            end.error
                .map(|e| format!(" (error: {e})"))
                .unwrap_or_default()
        )
    })
}
