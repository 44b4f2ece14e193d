//! What the connection reports to the caller, pulled with
//! [`Connection::poll_event`](crate::Connection::poll_event).

use alloc::boxed::Box;
use bytes::Bytes;

use crate::close::{CloseCode, CloseFrame};
use crate::error::ConnectionError;
use crate::handshake::{Request, Response};
use crate::message::{Fragment, Message};

/// Something that happened on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Server: a valid upgrade request arrived. Decide with
    /// [`accept`](crate::Connection::accept) or [`reject`](crate::Connection::reject);
    /// frames the client pipelined wait until then.
    Request(Box<Request>),
    /// Client: the server accepted the upgrade; the connection is open.
    Connected(Box<Response>),
    /// A whole data message ([`ReceiveMode::Messages`](crate::ReceiveMode::Messages)).
    Message(Message),
    /// A piece of a data message ([`ReceiveMode::Fragments`](crate::ReceiveMode::Fragments)).
    Fragment(Fragment),
    /// A ping arrived (already answered if auto-pong is on).
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The peer sent Close (already echoed if we had not sent one). Input after it is
    /// discarded.
    CloseReceived(CloseFrame),
    /// The connection is failing: the peer misbehaved, the handshake failed or a timer
    /// expired. [`Event::Closed`] follows.
    Error(ConnectionError),
    /// The connection is over; the last event. Write out what is still queued (unless the
    /// transport is dead), then close the transport.
    Closed(CloseReport),
}

/// Who ended the transport (TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Closer {
    /// We did, or should now: after the close handshake (server), a failure or a timeout.
    Us,
    /// The peer did (EOF or reset).
    Peer,
}

/// How the transport ended, as the caller reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportEnd {
    /// The peer sent EOF.
    Eof,
    /// The connection was reset.
    Reset,
    /// Our write side is shut (a write failed).
    WriteShut,
}

/// The summary of a finished connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReport {
    /// The Close we sent, if any (code 1005 means an empty Close).
    pub sent: Option<CloseFrame>,
    /// The Close we received, if any (code 1005 means an empty Close).
    pub received: Option<CloseFrame>,
    /// Both Close frames were exchanged before the transport ended.
    pub clean: bool,
    /// Who ended (or must now end) the transport.
    pub closed_by: Closer,
    /// How the transport ended, if the caller reported it before the close was decided.
    pub transport: Option<TransportEnd>,
}

impl CloseReport {
    /// The connection close code of RFC 6455 7.1.5: the code of the Close received, 1005 if
    /// it had none, 1006 if none was received.
    pub fn code(&self) -> CloseCode {
        match &self.received {
            Some(f) => f.code,
            None => CloseCode::ABNORMAL,
        }
    }
}
