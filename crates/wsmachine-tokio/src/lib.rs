//! # wsmachine-tokio
//!
//! An async WebSocket (RFC 6455) client and server for tokio, driving the sans-IO
//! [`wsmachine`] core over any `AsyncRead + AsyncWrite + Unpin + Send + 'static` stream
//! (a `TcpStream`, a TLS stream, a `tokio::io::duplex` pipe).
//!
//! The handles, the driving loop and the configuration live in `wsmachine-async`, which
//! the runtime-agnostic adapter `wsmachine-futures` (smol, async-std, any `futures-io`
//! stream) shares: a [`WebSocket`] is the same type in both. This crate adds the tokio
//! stream (read with `read_buf` straight into the core's buffer), tokio's clock and timer
//! and `tokio::spawn`.
//!
//! ## Design: no driver task
//!
//! A [`WebSocket`] is a [`Stream`](futures_core::Stream) of `Result<Message, Error>` and a
//! [`Sink`](futures_sink::Sink) of [`Message`] over the stream, and it calls the core
//! directly from the task that polls it: receiving reads the stream straight into the
//! core's receive buffer (`read_buf` into `input_buffer`, no copy, no zeroing), parses one
//! event when the application asks for its next item and never ahead of it, writes the
//! pongs and replies the core queued (straight from its transmit queue: `send`, or `writev`
//! for several slices) and runs its timers on a `tokio::time::Sleep`; sending queues in the
//! core and writes. There is no task and no channel between the application and the socket.
//!
//! It [`split`](WebSocket::split)s into a [`Receiver`] and a cloneable [`Sender`] for other
//! tasks: they share the connection behind a mutex, and whichever is polled makes progress
//! for both (a send writes everything queued, the receiver's poll writes pongs too). The
//! stream and the timer wake every task waiting on the connection, so no handle steals
//! another's wake-up.
//!
//! - **Backpressure, in bytes**: [`Sender::send`] waits while the core's send queue
//!   ([`Config::max_send_queue`]) has no room for the message, and returns once it is
//!   written; [`Sender::try_send`] returns [`Error::Full`]. Reading stops while the
//!   application does not ask for the next message, and while the core holds more than
//!   [`Limits::input_high_water`](wsmachine::Limits::input_high_water) of unparsed input or
//!   its output backs up (the peer does not read): a peer that sends but never reads stalls
//!   on its own writes instead of growing our memory.
//! - **Closing, per the driver contract**: once the core is closed and everything is
//!   written, the write side is shut down (FIN) while the peer is still drained as the core
//!   asks, and the stream is dropped when the core says so (at the latest
//!   [`Config::linger`] later). The receiving stream ends (`None`) only then.
//! - **Cancel safety**: [`Receiver::recv`] can be dropped inside `tokio::select!` without
//!   losing a message.
//! - **Errors are values**: a dead connection makes sends return an error; I/O errors,
//!   protocol errors and timer expiries (a dead peer found by keepalive) arrive as an `Err`
//!   item before the stream ends; [`Receiver::close_report`] then says how it closed.
//! - **Poll to progress**: with no driver task, nothing happens on a connection nobody
//!   polls. Keep receiving (pings are answered and timers run while a task waits in
//!   `recv`). A dropped [`Receiver`] is replaced by a small background task that discards
//!   what arrives until the connection ends; dropping every handle closes the connection
//!   with 1000 the same way.
//!
//! ## Memory per connection
//!
//! Everything a connection holds is in the core; the adapter adds no queue. At most:
//!
//! - input: `input_high_water + max_frame_size + read_size` bytes (unparsed input beyond
//!   the frame being received, that frame, one read), plus `max_message_size` of a message
//!   being assembled;
//! - output: `max_send_queue` of data, plus `max_pong_backlog` of pongs and one ping and
//!   one Close (125 bytes each);
//! - a message given to a [`Sender`]'s `Sink::start_send` while the queue is full waits in
//!   that `Sender` (one message per clone used as a `Sink`, none with `send().await`);
//! - fixed: the core's state and the shared state (about 1.3 KB), the stream, its timer
//!   and the task that polls it. An idle connection holds no receive buffer (an empty one
//!   is released while the stream has nothing to read) and no send buffer: 5,000 idle
//!   connections to the echo server example take about 3.6-3.7 KB each of its RSS (the
//!   kernel's socket buffers aside).
//! - not counted: a TLS layer's own buffers (tokio-rustls keeps a few records, tens of
//!   KiB, bounded by rustls), and a proxy handshake's (under 20 KiB, gone once the tunnel
//!   is open).
//! - permessage-deflate (cargo feature `deflate`, `Config::deflate`): the core's
//!   compressor and decompressor, created on first use, about 428 KiB with both directions
//!   keeping their context at the defaults (see `wsmachine::deflate` for the table and the
//!   settings that cap it); an inflated message still counts against `max_message_size`.
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
//! ## Clients: URL, headers, TLS, proxies
//!
//! [`connect`] takes a URL (or a [`ClientRequest`], or with the `http` feature an
//! `http::Request<()>`); [`ClientBuilder`] adds headers (`Authorization`, `Origin`,
//! cookies), subprotocols, the [`Config`], a connect timeout and a proxy
//! ([`ClientBuilder::proxy`]: HTTP CONNECT with Basic auth, SOCKS5 with user/password, via
//! the sans-IO handshakes of `wsmachine-proxy`). The request and its options
//! (`ClientOptions`), [`IntoClientRequest`], the proxy handshake over the stream and the
//! connect timeout are wsmachine-async's, shared with the futures adapter; the TCP connect,
//! the name lookup for `socks5://` and TLS are this crate's.
//!
//! `wss://` needs the `rustls` feature (tokio-rustls; roots from the platform's store,
//! honouring `SSL_CERT_FILE`, plus Mozilla's with the `webpki-roots` feature; SNI from the
//! URL's host; the same choices as the std adapter, from `wsmachine-rustls`), or your own:
//! a `rustls::ClientConfig` (`ClientBuilder::tls_config`), any connector
//! ([`ClientBuilder::tls_connector`]), or a TLS stream you opened, passed to
//! [`client_with_stream`]. A server passes its TLS stream (e.g. tokio-rustls's
//! `TlsAcceptor::accept`) to [`accept_with`]; see the `tls_echo_server` example.
//!
//! ## Servers: the accept decision
//!
//! [`accept_with`] takes a callback that sees the request and returns a [`Decision`];
//! [`accept_with_async`] takes an async one (an auth check against a database), bounded
//! by the handshake deadline. HTTP servers that parse requests themselves (hyper, axum)
//! upgrade with `wsmachine-http` (re-exported with the `http` feature) and run [`open`] on
//! the upgraded I/O.
//!
//! When the stream is a `tokio::net::TcpStream` (or, with `rustls`, a tokio-rustls stream
//! over one), the adapter keeps its peer address (see [`WebSocket::peer_addr`], for
//! logging; through a proxy, the proxy's) and turns on `TCP_NODELAY`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod handshake;
mod runtime;

#[cfg(feature = "rustls")]
pub use client::default_tls_config;
pub use client::{ClientBuilder, TokioRuntime};
pub use handshake::{
    accept, accept_with, accept_with_async, accept_with_prefix, client_with_stream, connect,
    connect_with, from_connection, open,
};
#[cfg(feature = "rustls")]
pub use tokio_rustls::{self, rustls};
pub use wsmachine_async::{
    Config, Error, Incoming, IntoClientRequest, Proxy, ProxyError, ProxyKind, Receiver, Sender,
    WebSocket,
};
#[cfg(feature = "http")]
pub use wsmachine_http;

pub use wsmachine;
pub use wsmachine::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, CloseReport, ConnectionError, Decision,
    Fragment, Message, MessageKind, Request, Response, Role, SendError, State, Timeout, Utf8Bytes,
};
