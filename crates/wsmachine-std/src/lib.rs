//! # wsmachine-std
//!
//! A blocking WebSocket client and server over any `Read + Write` stream (a `TcpStream`, a
//! TLS stream, a Unix socket), driving the sans-IO [`wsmachine`] core. One [`WebSocket`] owns
//! its stream: every write goes through it, so there is never more than one writer.
//!
//! - Client: [`connect`] (`ws://` over TCP; `wss://` with the `rustls` feature) or
//!   [`client`] over a stream you opened yourself (e.g. your own TLS stream);
//!   [`ClientBuilder`] for subprotocols, headers, config, a proxy
//!   ([`ClientBuilder::proxy`]: HTTP CONNECT or SOCKS5, with credentials) and, with
//!   `rustls`, your own `rustls::ClientConfig` (`ClientBuilder::tls_config`).
//! - Server: [`accept`] or [`ServerBuilder`], with an optional decision callback that accepts
//!   (choosing subprotocol and headers) or rejects (status and body) each upgrade request.
//! - The core's timers (keepalive ping, pong deadline, close, handshake and drain timeouts)
//!   run from read and write timeouts while a call blocks: see [`SetReadTimeout`].
//! - Errors are values ([`Error`]); nothing panics on peer behaviour.
//!
//! The adapter does I/O and timers only; every protocol decision is the core's
//! ([`Connection`](wsmachine::Connection)). Input is parsed only when you ask for the next
//! event, so a reply you send to a message goes out before anything the core does about
//! later input. When a connection ends, the call that reports it writes what is left, shuts
//! the write side down (TCP FIN) and, after a failure, reads and discards the peer's input
//! for up to [`Timers::drain_timeout`](wsmachine::Timers::drain_timeout), so the peer reads
//! our Close rather than a reset.
//!
//! # Memory per connection
//!
//! Bounded by the configuration ([`Limits`](wsmachine::Limits)), whatever the peer does:
//!
//! | what | at most |
//! |---|---|
//! | received bytes not yet parsed | `input_high_water + max_frame_size`, plus one read |
//! | a message being assembled | `max_message_size` |
//! | output not yet written | `max_send_queue + max_pong_backlog` (and one ping, one Close) |
//! | the adapter's read buffer (the size of one read) | [`Options::read_buffer_size`] |
//!
//! With the defaults that is 64 KiB + 16 MiB + 64 KiB, 64 MiB, 64 MiB + 16 KiB and 64 KiB:
//! about 144 MiB at worst, the read buffer and a few KiB for an idle connection.
//!
//! The adapter keeps no queue of its own: sends write through, and a write that stalls
//! keeps its bytes in the core's send queue (further sends wait for room, or fail with
//! `QueueFull` when one message alone is over `max_send_queue`). It reads only while
//! [`Connection::wants_input`](wsmachine::Connection::wants_input) allows, so a peer that
//! sends without reading stops being read once the output it leaves unread passes half of
//! `max_send_queue`; while a write is blocked, it reads only at the core's deadlines (what
//! already arrived, so that the keepalive sees the peer). Not counted: messages you hold
//! after [`WebSocket::recv`], the buffers of a layered stream (TLS), the thread's stack.
//!
//! ```no_run
//! # fn main() -> Result<(), wsmachine_std::Error> {
//! let (mut ws, _response) = wsmachine_std::connect("ws://127.0.0.1:9001/")?;
//! ws.send_text("hello")?;
//! let reply = ws.recv()?;
//! println!("{reply:?}");
//! ws.close(wsmachine::CloseCode::NORMAL, "bye")?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod handshake;
mod socket;
mod stream;
mod transport;

pub use error::Error;
pub use handshake::{ClientBuilder, ServerBuilder, accept, client, connect};
#[cfg(feature = "rustls")]
pub use rustls;
pub use socket::{Options, Received, WebSocket};
pub use stream::{PeerAddr, SetReadTimeout, Unmanaged, WithSocket};
pub use transport::MaybeTlsStream;
#[cfg(feature = "rustls")]
pub use transport::default_tls_config;
pub use wsmachine::Decision;
pub use wsmachine_proxy::{Proxy, ProxyError, ProxyKind};

pub use wsmachine;
pub use wsmachine::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, CloseReport, Config, Message, Request,
    Response,
};
