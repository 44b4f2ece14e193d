//! # wsmachine-tokio
//!
//! An async WebSocket (RFC 6455) client and server for tokio, driving the sans-IO
//! [`wsmachine`] core over any `AsyncRead + AsyncWrite + Unpin + Send + 'static` stream
//! (a `TcpStream`, a TLS stream, a `tokio::io::duplex` pipe).
//!
//! ## Design
//!
//! Each connection has one **driver task** that owns the stream and the core
//! [`Connection`](wsmachine::Connection). It is the only reader and the only writer: every
//! send from every task goes through a bounded command channel to it, so frames are never
//! interleaved. It reads into a `BytesMut` fed to the core without copying, writes with
//! vectored writes straight from the core's transmit queue, and runs the core's timers
//! (keepalive, close, handshake, idle) on tokio's clock.
//!
//! The user holds a [`WebSocket`]: a [`Stream`](futures_core::Stream) of
//! `Result<Message, Error>` and a [`Sink`](futures_sink::Sink) of [`Message`]. It
//! [`split`](WebSocket::split)s into a [`Receiver`] and a cloneable [`Sender`] that can live
//! on different tasks.
//!
//! - **Backpressure**: the driver stops taking commands while the core's send queue is full;
//!   then the command channel fills, [`Sender::send`] waits and [`Sender::try_send`] returns
//!   [`Error::Full`]. Likewise the driver stops reading the socket while the application does
//!   not take received messages.
//! - **Cancel safety**: [`Receiver::recv`] can be dropped inside `tokio::select!` without
//!   losing a message.
//! - **Errors are values**: a dead connection makes sends return an error; I/O errors,
//!   protocol errors and timer expiries (a dead peer found by keepalive) arrive as an `Err`
//!   item before the stream ends; [`Receiver::close_report`] then says how it closed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wsmachine_tokio::Error> {
//! use wsmachine_tokio::{Message, CloseCode};
//! let mut ws = wsmachine_tokio::connect("ws://127.0.0.1:9001/").await?;
//! ws.send(Message::text("hello")).await?;
//! if let Some(Ok(reply)) = ws.recv().await {
//!     println!("{reply:?}");
//! }
//! ws.close(CloseCode::NORMAL, "bye").await?;
//! while ws.recv().await.is_some() {}
//! println!("{:?}", ws.close_report());
//! # Ok(()) }
//! ```
//!
//! TLS (`wss://`) is the caller's job: open a TLS stream with the TLS library of your choice
//! and pass it to [`client_with_stream`] (or to [`accept_with`] on a server).
//!
//! When the stream is a `tokio::net::TcpStream`, the adapter keeps its peer address (see
//! [`WebSocket::peer_addr`], for logging) and turns on `TCP_NODELAY`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod driver;
mod error;
mod handshake;
mod socket;

pub use config::Config;
pub use error::Error;
pub use handshake::{
    accept, accept_with, accept_with_prefix, client_with_stream, connect, connect_with, open,
};
pub use socket::{Incoming, Receiver, Sender, WebSocket};

pub use wsmachine;
pub use wsmachine::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, CloseReport, ConnectionError, Decision,
    Fragment, Message, MessageKind, Request, Response, Role, SendError, State, Timeout, Utf8Bytes,
};
