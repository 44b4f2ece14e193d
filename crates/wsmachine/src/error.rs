//! Typed errors, split by fault: [`ProtocolError`] (the peer misbehaved; it carries the close
//! code we sent), [`SendError`] (the caller asked for something the connection cannot do now,
//! or misused the API), and [`ConnectionError`] (why a connection ended abnormally).

use core::fmt;

use crate::close::CloseCode;
use crate::handshake::HandshakeError;

/// The peer broke RFC 6455 or one of our limits. The connection was failed: a Close with
/// [`close_code`](ProtocolError::close_code) was queued and no further input is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV bits set with no extension that uses them, or RSV1 on a control or continuation
    /// frame (1002).
    ReservedBits(u8),
    /// A reserved opcode (1002).
    ReservedOpcode(u8),
    /// A 64-bit payload length with the top bit set (1002).
    LengthTopBitSet,
    /// A control frame with FIN clear (1002).
    FragmentedControl,
    /// A control frame over 125 bytes (1002).
    ControlTooLong(u64),
    /// A continuation frame with no message open (1002).
    OrphanContinuation,
    /// A new text or binary frame while a fragmented message is open (1002).
    ExpectedContinuation,
    /// A server got an unmasked frame (1002).
    UnmaskedFrame,
    /// A client got a masked frame (1002).
    MaskedFrame,
    /// A Close payload of one byte (1002).
    CloseOneByte,
    /// A close code that must not be on the wire (1002).
    InvalidCloseCode(u16),
    /// Invalid UTF-8 in a text message or a close reason (1007).
    InvalidUtf8,
    /// A frame over `max_frame_size` (1009).
    FrameTooLarge {
        /// The declared length.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A message over `max_message_size` (1009); for a compressed message, its wire size
    /// or its inflated size (inflation stops one byte past the limit).
    MessageTooLarge {
        /// The size the message would reach.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A message with more than `max_fragments` frames (1008).
    TooManyFragments(u64),
    /// A compressed message (permessage-deflate) that is not a valid deflate stream (1007:
    /// its payload is inconsistent with its type, as for bad UTF-8).
    InvalidCompressedData,
}

impl ProtocolError {
    /// The close code sent to the peer for this error.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData => {
                CloseCode::INVALID_DATA
            }
            ProtocolError::FrameTooLarge { .. } | ProtocolError::MessageTooLarge { .. } => {
                CloseCode::TOO_BIG
            }
            ProtocolError::TooManyFragments(_) => CloseCode::POLICY,
            _ => CloseCode::PROTOCOL,
        }
    }

    /// A short reason sent in the Close frame (ASCII, under 123 bytes).
    pub fn reason(&self) -> &'static str {
        match self {
            ProtocolError::ReservedBits(_) => "reserved bits set",
            ProtocolError::ReservedOpcode(_) => "reserved opcode",
            ProtocolError::LengthTopBitSet => "payload length top bit set",
            ProtocolError::FragmentedControl => "fragmented control frame",
            ProtocolError::ControlTooLong(_) => "control frame too long",
            ProtocolError::OrphanContinuation => "continuation without a message",
            ProtocolError::ExpectedContinuation => "expected a continuation frame",
            ProtocolError::UnmaskedFrame => "client frames must be masked",
            ProtocolError::MaskedFrame => "server frames must not be masked",
            ProtocolError::CloseOneByte => "one-byte close payload",
            ProtocolError::InvalidCloseCode(_) => "invalid close code",
            ProtocolError::InvalidUtf8 => "invalid UTF-8",
            ProtocolError::FrameTooLarge { .. } => "frame too large",
            ProtocolError::MessageTooLarge { .. } => "message too large",
            ProtocolError::TooManyFragments(_) => "too many fragments",
            ProtocolError::InvalidCompressedData => "invalid compressed data",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (close code {})", self.reason(), self.close_code().0)?;
        match self {
            ProtocolError::FrameTooLarge { len, limit }
            | ProtocolError::MessageTooLarge { len, limit } => {
                write!(f, ": {len} bytes, limit {limit}")
            }
            ProtocolError::InvalidCloseCode(c) => write!(f, ": {c}"),
            ProtocolError::ReservedOpcode(o) => write!(f, ": {o:#x}"),
            _ => Ok(()),
        }
    }
}

/// A timer that expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// The opening handshake took too long.
    Handshake,
    /// No sign of life after a keepalive ping: the peer is gone.
    Keepalive,
    /// The close handshake did not finish in time.
    Close,
    /// No data messages for the idle timeout.
    Idle,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::Handshake => "the opening handshake timed out",
            Timeout::Keepalive => "keepalive: no sign of life from the peer after a ping",
            Timeout::Close => "the close handshake timed out",
            Timeout::Idle => "idle timeout: no data messages",
        })
    }
}

/// Why a connection ended abnormally, reported in [`Event::Error`](crate::Event::Error) just
/// before [`Event::Closed`](crate::Event::Closed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer misbehaved.
    Protocol(ProtocolError),
    /// The opening handshake failed (for a server, the error response was queued).
    Handshake(HandshakeError),
    /// A timer expired.
    Timeout(Timeout),
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Protocol(e) => write!(f, "protocol error: {e}"),
            ConnectionError::Handshake(e) => write!(f, "handshake failed: {e}"),
            ConnectionError::Timeout(t) => write!(f, "{t}"),
        }
    }
}

/// A send or close the connection refused. Nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The opening handshake has not finished.
    NotOpen,
    /// We already sent a Close; no more data may follow it.
    Closing,
    /// The connection is closed.
    Closed,
    /// The send queue would pass `max_send_queue`: write out what is queued first.
    QueueFull {
        /// Bytes queued now.
        queued: usize,
        /// The limit.
        limit: usize,
    },
    /// A control payload over 125 bytes.
    ControlTooLong(usize),
    /// A close code that must not be sent (1005, 1006, 1015, reserved or undefined).
    InvalidCloseCode(u16),
    /// A close reason over 123 bytes.
    ReasonTooLong(usize),
    /// A text fragment that would make the message invalid UTF-8.
    InvalidUtf8,
    /// A whole message while a fragmented one is still open.
    MessageInProgress,
    /// A fragment of a different kind from the open message.
    KindMismatch,
}

impl SendError {
    /// Whether this is the caller's mistake (a bad argument or call order) rather than the
    /// connection's state (closing, closed, full).
    pub fn is_api_misuse(&self) -> bool {
        !matches!(
            self,
            SendError::Closing
                | SendError::Closed
                | SendError::QueueFull { .. }
                | SendError::NotOpen
        )
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotOpen => f.write_str("the handshake has not finished"),
            SendError::Closing => f.write_str("the connection is closing"),
            SendError::Closed => f.write_str("the connection is closed"),
            SendError::QueueFull { queued, limit } => {
                write!(f, "send queue full ({queued} of {limit} bytes)")
            }
            SendError::ControlTooLong(n) => write!(f, "control payload of {n} bytes (max 125)"),
            SendError::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            SendError::ReasonTooLong(n) => write!(f, "close reason of {n} bytes (max 123)"),
            SendError::InvalidUtf8 => f.write_str("text fragment is not valid UTF-8"),
            SendError::MessageInProgress => f.write_str("a fragmented message is still open"),
            SendError::KindMismatch => f.write_str("fragment kind differs from the open message"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProtocolError {}
#[cfg(feature = "std")]
impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectionError::Protocol(e) => Some(e),
            ConnectionError::Handshake(e) => Some(e),
            ConnectionError::Timeout(e) => Some(e),
        }
    }
}
#[cfg(feature = "std")]
impl std::error::Error for Timeout {}
#[cfg(feature = "std")]
impl std::error::Error for SendError {}
