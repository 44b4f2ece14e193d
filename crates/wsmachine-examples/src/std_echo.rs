//! An echo server: every text and binary message goes back unchanged. A thread per
//! connection; one connection's failure never stops the accept loop. Used by the
//! `echo_server` example and by the tests (in-process, on port 0).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use wsmachine::{CloseReport, Config, Limits};

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
        config: Config {
            limits: Limits {
                max_frame_size: 64 << 20,
                max_message_size: 64 << 20,
                max_send_queue: 160 << 20,
                ..Limits::default()
            },
            ..Config::default()
        },
        write_timeout: Some(Duration::from_secs(30)),
        read_buffer_size: 64 * 1024,
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

/// Accepts connections on `listener` forever, a thread each, echoing; calls `on_end` (from
/// the connection's thread) when each ends. Accept errors are logged to stderr and the loop
/// goes on.
pub fn serve(
    listener: TcpListener,
    builder: ServerBuilder,
    on_end: impl Fn(ConnectionEnd) + Send + Sync + 'static,
) {
    let on_end = Arc::new(on_end);
    let builder = Arc::new(builder);
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let builder = Arc::clone(&builder);
                let on_end = Arc::clone(&on_end);
                let spawned = std::thread::Builder::new()
                    .name("ws-echo".into())
                    .spawn(move || on_end(echo_connection(stream, &builder)));
                if let Err(e) = spawned {
                    eprintln!("echo: cannot spawn a connection thread: {e}");
                }
            }
            Err(e) => {
                eprintln!("echo: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Binds `addr`, then runs [`serve`] on a background thread; returns the bound address.
/// For tests: the thread runs until the process exits.
pub fn spawn(
    addr: &str,
    builder: ServerBuilder,
    on_end: impl Fn(ConnectionEnd) + Send + Sync + 'static,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new()
        .name("ws-echo-accept".into())
        .spawn(move || serve(listener, builder, on_end))?;
    Ok(local)
}
