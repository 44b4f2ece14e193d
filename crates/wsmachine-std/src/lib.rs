//! # wsmachine-std
//!
//! A blocking WebSocket client and server over any `Read + Write` stream (a `TcpStream`, a
//! TLS stream, a Unix socket), driving the sans-IO [`wsmachine`] core. One [`WebSocket`] owns
//! its stream: every write goes through it, so there is never more than one writer.
//!
//! - Client: [`connect`] (`ws://` over TCP) or [`client`] over a stream you opened yourself
//!   (for `wss://`, pass your TLS stream); [`ClientBuilder`] for subprotocols, headers and config.
//! - Server: [`accept`] or [`ServerBuilder`], with an optional decision callback that accepts
//!   (choosing subprotocol and headers) or rejects (status and body) each upgrade request.
//! - The core's timers (keepalive ping, pong deadline, close and handshake timeouts) run from
//!   read timeouts while blocked in [`WebSocket::recv`]: see [`SetReadTimeout`].
//! - Errors are values ([`Error`]); nothing panics on peer behaviour.
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

pub use error::Error;
pub use handshake::{ClientBuilder, ServerBuilder, accept, client, connect};
pub use socket::{Options, Received, WebSocket};
pub use stream::{PeerAddr, SetReadTimeout, Unmanaged, WithSocket};
pub use wsmachine::Decision;

pub use wsmachine;
pub use wsmachine::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, CloseReport, Config, Message, Request,
    Response,
};
