//! # wsmachine-mio
//!
//! A readiness-driven WebSocket adapter for [`mio`] event loops: thousands of connections on
//! one thread, no thread or task per connection, driving the sans-IO [`wsmachine`] core.
//!
//! - [`Server`] owns a listener, a slab of connections keyed by [`mio::Token`] and a timer heap;
//!   [`Server::run_once`] waits for readiness and returns application events `(ConnId, Event)`.
//!   Sends are queued and written once per loop turn with vectored writes. One connection's
//!   failure removes only that connection.
//! - [`MioConnection`] is the building block for your own loop: feed it readiness
//!   ([`on_readable`](MioConnection::on_readable), [`on_writable`](MioConnection::on_writable)),
//!   the time ([`on_timeout`](MioConnection::on_timeout) at [`deadline`](MioConnection::deadline)),
//!   and drain [`poll_event`](MioConnection::poll_event).
//! - [`MioClient`] connects to a `ws://` URL inside your loop; [`LoopClient`] runs one client
//!   on its own `Poll` (examples, tests).
//!
//! Sockets are registered edge-triggered for both readable and writable; the adapter
//! remembers writability and reads until `WouldBlock` (or a per-turn budget, then it comes
//! back on the next turn).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod connection;
mod error;
mod server;

pub use client::{LoopClient, MioClient};
pub use connection::{Event, MioConnection};
pub use error::Error;
pub use server::{ConnId, Server, ServerOptions};
pub use wsmachine::Decision;

pub use mio;
pub use wsmachine;
pub use wsmachine::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, CloseReport, Config, Message, Request,
    Response,
};
