//! # wsmachine-async
//!
//! The async engine that the tokio adapter (`wsmachine-tokio`) and the runtime-agnostic
//! adapter (`wsmachine-futures`, any `futures-io` stream: smol, async-std, ...) share:
//! the WebSocket handles and the loop that drives the sans-IO [`wsmachine`] core from the
//! task that polls them, written once. Use an adapter crate; use this one directly only to
//! plug in another runtime, by implementing [`Transport`] (the stream) and [`Runtime`]
//! (clock, timer, spawn) and opening connections with [`client`], [`server`] or [`open`].
//!
//! ## Design: no driver task
//!
//! A [`WebSocket`] is a [`Stream`](futures_core::Stream) of `Result<Message, Error>` and a
//! [`Sink`](futures_sink::Sink) of [`Message`](wsmachine::Message) over the stream, and it
//! calls the core directly from the task that polls it: receiving reads the stream straight
//! into the core's receive buffer, parses one event when the application asks for its next
//! item and never ahead of it, writes the pongs and replies the core queued (straight from
//! its transmit queue: one write when it is one slice, else a vectored write) and runs its
//! timers on the runtime's [`Alarm`]; sending queues in the core and writes. There is no
//! task and no channel between the application and the socket.
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
//! - **Cancel safety**: [`Receiver::recv`] can be dropped inside a `select!` without
//!   losing a message.
//! - **Errors are values**: a dead connection makes sends return an error; I/O errors,
//!   protocol errors and timer expiries (a dead peer found by keepalive) arrive as an `Err`
//!   item before the stream ends; [`Receiver::close_report`] then says how it closed.
//! - **Poll to progress**: with no driver task, nothing happens on a connection nobody
//!   polls. Keep receiving (pings are answered and timers run while a task waits in
//!   `recv`). A dropped [`Receiver`] is replaced by a small background task (if the
//!   [`Runtime`] can spawn) that discards what arrives until the connection ends; dropping
//!   every handle closes the connection with 1000 the same way.
//!
//! ## Memory per connection
//!
//! Everything a connection holds is in the core; the engine adds no queue. At most:
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
//!   is released while the stream has nothing to read) and no send buffer.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod client;
mod config;
mod error;
mod handshake;
mod runtime;
mod shared;
mod socket;

pub use builder::{ClientBuilder, ClientRuntime, ClientStream, SelectableRuntime};
pub use client::{ClientOptions, ConnectPlan, IntoClientRequest, proxy_tunnel, within};
pub use config::Config;
pub use error::Error;
pub use handshake::{
    client, client_with_prefix, from_connection, open, server, server_async, tcp_target,
};
pub use runtime::{Alarm, BackgroundTask, LazyAlarm, Runtime, Transport};
pub use socket::{Incoming, Receiver, Sender, WebSocket};

pub use wsmachine;
pub use wsmachine_proxy::{Proxy, ProxyError, ProxyKind, unbracketed};
