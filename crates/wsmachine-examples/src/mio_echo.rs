//! An echo server on one thread for thousands of connections: every text and binary message
//! goes back unchanged, before the connection's next event is parsed. Used by the
//! `mio_echo_server` example and by the tests (in-process, on port 0).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wsmachine::{CloseCode, CloseReport, SendError};

use wsmachine_mio::Error;
use wsmachine_mio::Event;
use wsmachine_mio::{ConnId, Server, ServerOptions};

/// How one echo connection ended.
#[derive(Debug)]
pub struct ConnectionEnd {
    /// The connection's id.
    pub id: ConnId,
    /// The peer's address, if known.
    pub peer: Option<SocketAddr>,
    /// Messages echoed.
    pub messages: u64,
    /// The first error reported (protocol error, keepalive timeout, I/O error, failed
    /// handshake), if any.
    pub error: Option<Error>,
    /// The close report.
    pub report: CloseReport,
}

impl std::fmt::Display for ConnectionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.peer {
            Some(p) => write!(f, "{p}")?,
            None => write!(f, "?")?,
        }
        write!(
            f,
            " {}: {} messages, close {} ({}, sent {:?})",
            self.id,
            self.messages,
            self.report.code().0,
            if self.report.clean {
                "clean"
            } else {
                "not clean"
            },
            self.report.sent.as_ref().map(|c| c.code.0)
        )?;
        if let Some(e) = &self.error {
            write!(f, ", error: {e}")?;
        }
        Ok(())
    }
}

/// Options for big messages: 64 MiB frames and messages, a 160 MiB send queue (so a
/// connection holds at most about 64 + 64 + 64 MiB of input and message, and 160 MiB of
/// output; see `wsmachine_mio::MioConnection`), and the default connection cap.
pub fn big_message_options() -> ServerOptions {
    ServerOptions {
        config: crate::big_message_config(),
        ..ServerOptions::default()
    }
}

#[derive(Default)]
struct Stats {
    peer: Option<SocketAddr>,
    messages: u64,
    error: Option<Error>,
}

/// The echo server: a [`Server`] plus per-connection statistics.
#[derive(Debug)]
pub struct EchoServer {
    server: Server,
    stats: HashMap<ConnId, Stats>,
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats")
            .field("peer", &self.peer)
            .field("messages", &self.messages)
            .finish_non_exhaustive()
    }
}

impl EchoServer {
    /// Binds `addr` (port 0 for any).
    pub fn bind(addr: SocketAddr, opts: ServerOptions) -> io::Result<EchoServer> {
        Ok(EchoServer {
            server: Server::bind(addr, opts)?,
            stats: HashMap::new(),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The server (for its counters and settings).
    pub fn server(&mut self) -> &mut Server {
        &mut self.server
    }

    /// Takes the next event (waiting up to `timeout`) and echoes it if it is a message;
    /// returns the connection's end if that event ended it. Each message is sent back before
    /// the connection's next event is parsed.
    pub fn step(&mut self, timeout: Option<Duration>) -> io::Result<Option<ConnectionEnd>> {
        let Some((id, ev)) = self.server.next_event(timeout)? else {
            return Ok(None);
        };
        let peer = self.server.peer_addr(id);
        let stats = self.stats.entry(id).or_insert_with(|| Stats {
            peer,
            ..Stats::default()
        });
        match ev {
            Event::Message(m) => match self.server.send(id, m) {
                Ok(()) => stats.messages += 1,
                Err(e @ SendError::QueueFull { .. }) => {
                    // The reader is too slow even with reading paused for it: give up.
                    stats.error.get_or_insert(Error::Send(e));
                    let _ = self.server.close(id, CloseCode::POLICY, "reader too slow");
                }
                Err(e) => {
                    stats.error.get_or_insert(Error::Send(e));
                }
            },
            Event::Error(e) => {
                stats.error.get_or_insert(e);
            }
            Event::Closed(report) => {
                let s = self.stats.remove(&id).unwrap_or_default();
                return Ok(Some(ConnectionEnd {
                    id,
                    peer: s.peer,
                    messages: s.messages,
                    error: s.error,
                    report,
                }));
            }
            _ => {}
        }
        Ok(None)
    }

    /// Runs until `stop` is set (checked after every event, and every 50 ms when idle),
    /// calling `on_end` for each connection that ends.
    pub fn run_until(
        &mut self,
        stop: &AtomicBool,
        mut on_end: impl FnMut(ConnectionEnd),
    ) -> io::Result<()> {
        while !stop.load(Ordering::Relaxed) {
            if let Some(end) = self.step(Some(Duration::from_millis(50)))? {
                on_end(end);
            }
        }
        Ok(())
    }
}
