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

/// Where a protocol failure happened, so that a log shows what the peer did wrong and not
/// only the close code: the offending frame's position in the received byte stream, its
/// index among the frames received, and its first two header bytes.
///
/// Every [`ConnectionError::Protocol`] carries one. The frame is the one whose header or
/// payload broke the rule: for a bad header (reserved bits, opcode, mask, length, limits),
/// the header itself; for invalid UTF-8 or deflate data, the frame whose payload showed it
/// (for a text message that ends inside a code point, its final frame); for a bad Close
/// payload, the Close frame.
///
/// Cost: three counters kept by the receive path (two additions per read and per frame);
/// nothing is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Diagnostic {
    /// Byte offset of the frame's first header byte in the stream received from the peer,
    /// counting every byte since the connection opened (a handshake's bytes included).
    pub offset: u64,
    /// Index of the frame among the frames received, from 0 (control frames count).
    pub frame: u64,
    /// The frame's first two header bytes as received: FIN, RSV1-3 and the opcode; MASK and
    /// the 7-bit length.
    pub header: [u8; 2],
}

impl Diagnostic {
    /// The FIN bit of the offending header.
    pub fn fin(&self) -> bool {
        self.header[0] & 0x80 != 0
    }

    /// The RSV1-3 bits of the offending header, as a number from 0 to 7 (RSV1 is 4).
    pub fn rsv(&self) -> u8 {
        (self.header[0] >> 4) & 0x07
    }

    /// The opcode of the offending header (reserved values included).
    pub fn opcode(&self) -> u8 {
        self.header[0] & 0x0f
    }

    /// The MASK bit of the offending header.
    pub fn masked(&self) -> bool {
        self.header[1] & 0x80 != 0
    }
}

impl fmt::Display for Diagnostic {
    /// `at byte 1234 (frame 5, header 0xc1 0x85)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at byte {} (frame {}, header {:#04x} {:#04x})",
            self.offset, self.frame, self.header[0], self.header[1]
        )
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
    /// The peer misbehaved: what it did, and where ([`Diagnostic`]: the frame's offset in
    /// the received stream, its index and its header bytes).
    Protocol(ProtocolError, Diagnostic),
    /// The opening handshake failed (for a server, the error response was queued).
    Handshake(HandshakeError),
    /// A timer expired.
    Timeout(Timeout),
}

impl ConnectionError {
    /// Where the peer broke the protocol, for [`ConnectionError::Protocol`].
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            ConnectionError::Protocol(_, at) => Some(at),
            _ => None,
        }
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Protocol(e, at) => write!(f, "protocol error: {e} {at}"),
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
            ConnectionError::Protocol(e, _) => Some(e),
            ConnectionError::Handshake(e) => Some(e),
            ConnectionError::Timeout(e) => Some(e),
        }
    }
}
#[cfg(feature = "std")]
impl std::error::Error for Timeout {}
#[cfg(feature = "std")]
impl std::error::Error for SendError {}
