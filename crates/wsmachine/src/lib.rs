//! # wsmachine
//!
//! A sans-IO WebSocket protocol engine (RFC 6455): the opening handshake, frames, messages and
//! the connection state machine, with no sockets, threads or clocks. The caller feeds bytes,
//! transport events and the time into a [`Connection`], and pulls out events, bytes to write
//! and the next deadline.
//!
//! - A server never masks and a client always does: the role is fixed at construction.
//! - Peer misbehaviour fails the connection with the right close code
//!   ([`ProtocolError::close_code`]); API misuse is a [`SendError`]; nothing panics.
//! - EOF or a reset in any state ends in [`Event::Closed`], clean or with code 1006.
//! - Memory is bounded by [`Limits`], never by what the peer declares.
//! - With the `deflate` feature, permessage-deflate (RFC 7692) is negotiated and run by the
//!   core: set `Config::deflate` (see the `deflate` module).
//! - Every protocol failure says where it happened ([`Diagnostic`]: the offending frame's
//!   byte offset in the received stream, its index and its header bytes).
//! - With the `record` feature, `Config::record` makes a connection record a transcript of
//!   its inputs that `record::replay` replays identically (see the `record` module).
//!
//! See the README for a walk-through of driving a connection by hand.

#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod close;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
mod event;
pub mod frame;
pub mod handshake;
#[cfg(feature = "std")]
pub mod io;
pub mod mask;
mod message;
pub mod random;
#[cfg(feature = "record")]
pub mod record;
mod role;
mod spare;
mod time;
mod transmit;
pub mod utf8;

pub use bytes::{Bytes, BytesMut};
pub use close::{CloseCode, CloseFrame};
pub use config::{Config, Limits, ReceiveMode, Timers};
pub use connection::{AcceptError, Connection, State};
#[cfg(feature = "deflate")]
pub use deflate::{DeflateConfig, DeflateParams};
pub use error::{ConnectionError, Diagnostic, ProtocolError, SendError, Timeout};
pub use event::{CloseReport, Closer, Event, TransportEnd};
pub use handshake::{
    Accept, ClientRequest, Decision, HandshakeError, HandshakeLimits, Request, Response,
};
pub use message::{Fragment, Message, MessageKind, Utf8Bytes};
pub use random::RandomSource;
pub use role::Role;
pub use time::Timestamp;
