//! # wsmachine-futures
//!
//! A runtime-agnostic async WebSocket (RFC 6455) client and server: it drives the sans-IO
//! [`wsmachine`] core over any `futures-io` `AsyncRead + AsyncWrite + Unpin + Send +
//! 'static` stream (smol's and async-net's `TcpStream`, `async_io::Async<TcpStream>`,
//! async-std's, a TLS stream from futures-rustls or async-tls, an in-memory pipe).
//!
//! The API is the tokio adapter's (`wsmachine-tokio`), and so are the handles: both
//! crates re-export the same [`WebSocket`], [`Sender`], [`Receiver`], [`Config`] and
//! [`Error`] from `wsmachine-async`, the engine they share, so code written against one
//! runs on the other. What this crate adds is the `futures-io` stream and the runtime
//! pieces such a stream does not bring (see [`Runtime`]):
//!
//! - **Timers** (keepalive, close, idle, handshake): by default async-io's `Timer` (feature
//!   `async-io`, on by default). It is runtime-neutral: smol drives it on its own threads,
//!   under any other executor async-io's fallback thread does. It is the best-kept
//!   runtime-neutral timer (the smol-rs project's, released regularly, the one smol and
//!   async-std themselves use), takes an absolute `Instant` deadline and is re-armed in
//!   place (`set_at`), where `futures-timer` only takes durations, runs a global timer
//!   thread of its own and sees few releases. Or bring your runtime's timer through the
//!   small [`Timer`] trait ([`Runtime::with_timer`]).
//! - **A spawner**, optional ([`Runtime::spawner`]): for the task that takes over a
//!   dropped [`Receiver`] (see [`Runtime`] for what happens without one).
//! - **TCP**: [`connect`] opens an async-net `TcpStream` (feature `async-io`); for
//!   [`accept`], bring the stream from your runtime's listener.
//!
//! ## Design: no driver task
//!
//! A [`WebSocket`] is a [`Stream`](futures_core::Stream) of `Result<Message, Error>` and a
//! [`Sink`](futures_sink::Sink) of [`Message`], and it drives the core from the task that
//! polls it: receiving reads the stream into the core's receive buffer, parses one event
//! when the application asks for its next item and never ahead of it, writes the pongs and
//! replies the core queued (straight from its transmit queue, one slice with `poll_write`,
//! several with `poll_write_vectored`) and runs its timers; sending queues in the core and
//! writes. No task, no channel in between.
//! [`split`](WebSocket::split) gives a [`Receiver`] and a cloneable [`Sender`] that share
//! the connection behind a mutex; whichever is polled makes progress for both.
//!
//! - **Backpressure, in bytes**: [`Sender::send`] waits while the core's send queue
//!   ([`Config::max_send_queue`]) has no room for the message and returns once it is
//!   written; [`Sender::try_send`] returns [`Error::Full`]. Reading stops while the
//!   application does not ask for the next message, and while the core holds more than
//!   [`Limits::input_high_water`](wsmachine::Limits::input_high_water) of unparsed input or
//!   the peer does not read what we send.
//! - **Closing, per the driver contract**: once the core is closed and everything is
//!   written, the write side is shut down (`AsyncWrite::poll_close`: FIN on a TCP stream)
//!   while the peer is drained as the core asks; the stream is dropped when the core says
//!   so (at the latest [`Config::linger`] later). The receiving stream ends (`None`) then.
//! - **Cancel safety**: [`Receiver::recv`] can be dropped inside a `select!` without
//!   losing a message.
//! - **Errors are values**: I/O errors, protocol errors and timer expiries (a dead peer
//!   found by keepalive) arrive as an `Err` item before the stream ends;
//!   [`Receiver::close_report`] then says how it closed.
//! - **Poll to progress**: nothing happens on a connection nobody polls; keep receiving.
//!
//! ## Memory per connection
//!
//! The adapter adds no queue: at most `input_high_water + max_frame_size + read_size` of
//! input plus `max_message_size` being assembled, `max_send_queue + max_pong_backlog` and
//! two control frames of output, one message per `Sender` used as a `Sink` while the queue
//! is full, and the fixed state (the core, about 1.3 KB shared, the stream, a timer). An
//! idle connection holds no receive buffer. Reads: `futures-io` reads into initialized
//! memory, so each read zeroes [`Config::read_size`] bytes of the receive buffer's spare
//! room first (a `memset`, no copy; the tokio adapter's `read_buf` needs none).
//!
//! ```no_run
//! # fn main() -> Result<(), wsmachine_futures::Error> {
//! use wsmachine_futures::{CloseCode, Message};
//! smol::block_on(async {
//!     let mut ws = wsmachine_futures::connect("ws://127.0.0.1:9001/").await?;
//!     ws.send(Message::text("hello")).await?;
//!     if let Some(Ok(reply)) = ws.recv().await {
//!         println!("{reply:?}");
//!     }
//!     ws.close(CloseCode::NORMAL, "bye").await?;
//!     while ws.recv().await.is_some() {}
//!     println!("{:?}", ws.close_report());
//!     Ok(())
//! })
//! # }
//! ```
//!
//! ## Clients: URL, headers, TLS, proxies
//!
//! [`connect`] takes a URL (or a [`ClientRequest`]); [`ClientBuilder`] adds headers
//! (`Authorization`, `Origin`, cookies), subprotocols, the [`Config`], connect and
//! handshake timeouts, a proxy ([`ClientBuilder::proxy`]: HTTP CONNECT with Basic auth,
//! SOCKS5 with user/password; or [`ClientBuilder::proxy_from_env`]: `http_proxy`,
//! `https_proxy`, `all_proxy`, `no_proxy`) and the [`Runtime`]. The request, its options,
//! the proxy handshake over the stream and the connect timeout are wsmachine-async's,
//! shared with the tokio adapter; the async-net TCP connect, the name lookup and TLS are
//! this crate's (all with the default `async-io` feature).
//!
//! `wss://` needs the `rustls` feature (futures-rustls; roots from the platform's store,
//! honouring `SSL_CERT_FILE`, plus Mozilla's with the `webpki-roots` feature; SNI from the
//! URL's host; the same choices as the std and tokio adapters, from `wsmachine-rustls`),
//! or your own: a `rustls::ClientConfig` (`ClientBuilder::tls_config`), any connector
//! ([`ClientBuilder::tls_connector`]), or a TLS stream you opened, passed to
//! [`client_with_stream`]. A server passes its TLS stream (e.g. futures-rustls's
//! `TlsAcceptor::accept`) to [`accept_with`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "async-io")]
mod client;
mod handshake;
mod runtime;

#[cfg(feature = "async-io")]
pub use client::ClientBuilder;
#[cfg(all(feature = "async-io", feature = "rustls"))]
pub use client::default_tls_config;
#[cfg(feature = "rustls")]
pub use futures_rustls::{self, rustls};

#[cfg(feature = "async-io")]
pub use handshake::{
    accept, accept_with, accept_with_prefix, client_with_stream, connect, connect_with,
    from_connection, open,
};
pub use runtime::{Runtime, Timer};
pub use wsmachine_async::{
    BackgroundTask, Config, Error, Incoming, IntoClientRequest, Proxy, ProxyError, ProxyKind,
    Receiver, Sender, WebSocket,
};

pub use wsmachine;
pub use wsmachine::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, CloseReport, ConnectionError, Decision,
    Fragment, Message, MessageKind, Request, Response, Role, SendError, State, Timeout, Utf8Bytes,
};
