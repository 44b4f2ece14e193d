//! # wsmachine-mio
//!
//! A readiness-driven WebSocket adapter for [`mio`] event loops: thousands of connections on
//! one thread, no thread or task per connection, driving the sans-IO [`wsmachine`] core. It
//! does I/O and timers only; every protocol decision is the core's.
//!
//! - [`MioConnection`] is the driver contract's loop for one connection, written once:
//!   reads while the core wants input (one read buffer per thread, appended to the core's
//!   receive buffer, so an idle connection holds no read buffer; the rest of a large frame
//!   straight into the room the core reserved for it), events parsed only
//!   when asked for, writes straight from the core's queue (`send`, or `writev` for
//!   several slices), TCP FIN once closed and written, drop when the core
//!   says so, the core's deadlines, and `READABLE`/`WRITABLE` interest only while needed.
//!   Use it in your own loop.
//! - [`Server`] owns a listener, a slab of [`MioConnection`]s keyed by [`mio::Token`] and a
//!   timer heap; [`Server::next_event`] hands out the next application event of any
//!   connection, and replies sent before the next call are written before that connection's
//!   next event is even parsed. It caps connections ([`ServerOptions::max_connections`])
//!   and backs off when `accept` fails. One connection's failure removes only that one.
//! - [`MioClient`] connects to a `ws://` URL inside your loop; [`LoopClient`] runs one client
//!   on its own `Poll` (examples, tests). [`ClientBuilder`] builds either with headers
//!   (`Authorization`, `Origin`, cookies), subprotocols, connect and handshake timeouts and
//!   a proxy (HTTP CONNECT with Basic auth, SOCKS5 with user/password, or the
//!   environment's `http_proxy` / `all_proxy` / `no_proxy`): the proxy's handshake is
//!   `wsmachine-proxy`'s sans-IO state machine, driven non-blocking by readiness in
//!   [`MioConnection::drive`] like the WebSocket bytes. With the `rustls` feature,
//!   `wss://` runs rustls over the non-blocking socket the same way
//!   (`MioConnection::use_tls` for a connection of your own).
//!
//! ## Memory per connection
//!
//! Bounded by the core's [`Limits`](wsmachine::Limits), with nothing queued on top: input up
//! to `input_high_water + max_frame_size` plus one read ([`READ_MAX`], 256 KiB), a
//! fragmented message being assembled up to `max_message_size`, output up to
//! `max_send_queue + max_pong_backlog` plus one ping, one Close and the handshake response,
//! and about a kilobyte of fixed state. A client over TLS adds rustls's buffers (about
//! 16 KiB in, up to 64 KiB out by default); a proxy's handshake, while it runs, under
//! 17 KiB. A peer that sends without reading stops being read once our unwritten output
//! passes half of `max_send_queue`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod connection;
mod error;
mod server;
mod tls;

#[cfg(feature = "rustls")]
pub use client::default_tls_config;
pub use client::{ClientBuilder, LoopClient, MioClient};
pub use connection::{DEFAULT_LINGER, Event, MioConnection, READ_MAX};
pub use error::Error;
#[cfg(feature = "rustls")]
pub use rustls;
pub use server::{ConnId, Server, ServerOptions, WRITE_BATCH};
pub use wsmachine::Decision;
pub use wsmachine_proxy::{Proxy, ProxyError, ProxyKind};

pub use mio;
pub use wsmachine;
pub use wsmachine::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, CloseReport, Config, Message, Request,
    Response,
};
