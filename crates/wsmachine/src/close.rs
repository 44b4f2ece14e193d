//! Close codes and Close frame payloads (RFC 6455 5.5.1, 7.4; IANA "WebSocket Close Code
//! Number Registry").
//!
//! Codes accepted on the wire, from a peer or from our caller:
//! - 1000-1003, 1007-1011: defined by RFC 6455;
//! - 1012-1014: registered with IANA (service restart, try again later, bad gateway);
//! - 3000-3999: registered for libraries and frameworks;
//! - 4000-4999: private use.
//!
//! Never on the wire: 0-999 (unused), 1004 (reserved), 1005, 1006 and 1015 (local-only
//! meanings: no code, abnormal closure, TLS failure), 1016-2999 (reserved for future RFCs),
//! 5000 and up (undefined). A peer that sends one fails the connection with 1002.

use alloc::string::{String, ToString};
use bytes::{BufMut, Bytes, BytesMut};

use crate::utf8::Utf8Validator;

/// A close status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: going away (server shutdown, page left).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED: CloseCode = CloseCode(1003);
    /// 1005: no code was present (local only, never sent).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: closed without a Close frame (local only, never sent).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data inconsistent with the message type (bad UTF-8).
    pub const INVALID_DATA: CloseCode = CloseCode(1007);
    /// 1008: policy violation.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: message too big.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: internal error.
    pub const INTERNAL: CloseCode = CloseCode(1011);

    /// Whether this code may appear in a Close frame on the wire (see the module docs).
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(v: u16) -> Self {
        CloseCode(v)
    }
}

/// The largest close reason in bytes: a control payload of 125 minus the 2-byte code.
pub const MAX_REASON_LEN: usize = 123;

/// A Close frame's contents: a code and a UTF-8 reason of at most 123 bytes.
///
/// An empty Close payload (no status) is represented by code 1005 and an empty reason, as
/// RFC 6455 7.1.5 reports it; encoding such a frame gives an empty payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, possibly empty.
    pub reason: String,
}

/// Why a Close payload was refused; all map to close code 1002 except bad UTF-8 (1007).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClosePayloadError {
    /// A 1-byte payload: a code needs two.
    OneByte,
    /// A code that must not appear on the wire.
    InvalidCode(u16),
    /// The reason is not UTF-8.
    InvalidUtf8,
}

impl CloseFrame {
    /// A Close we may send: `code` must be sendable ([`CloseCode::is_sendable`]) and `reason`
    /// at most [`MAX_REASON_LEN`] bytes; otherwise the matching [`SendError`](crate::SendError). Cost: one copy
    /// of `reason`.
    pub fn new(code: CloseCode, reason: &str) -> Result<CloseFrame, crate::SendError> {
        if !code.is_sendable() {
            return Err(crate::SendError::InvalidCloseCode(code.0));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(crate::SendError::ReasonTooLong(reason.len()));
        }
        Ok(CloseFrame {
            code,
            reason: reason.to_string(),
        })
    }

    /// A Close with no status code (an empty payload).
    pub fn no_status() -> CloseFrame {
        CloseFrame {
            code: CloseCode::NO_STATUS,
            reason: String::new(),
        }
    }

    /// Parses a received Close payload: empty gives [`CloseFrame::no_status`], otherwise a
    /// code and a reason, both validated.
    pub fn parse(payload: &[u8]) -> Result<CloseFrame, ClosePayloadError> {
        match payload {
            [] => Ok(CloseFrame::no_status()),
            [_] => Err(ClosePayloadError::OneByte),
            [hi, lo, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                if !code.is_sendable() {
                    return Err(ClosePayloadError::InvalidCode(code.0));
                }
                let mut v = Utf8Validator::new();
                v.feed(reason).map_err(|_| ClosePayloadError::InvalidUtf8)?;
                v.finish().map_err(|_| ClosePayloadError::InvalidUtf8)?;
                let reason =
                    core::str::from_utf8(reason).map_err(|_| ClosePayloadError::InvalidUtf8)?;
                Ok(CloseFrame {
                    code,
                    reason: String::from(reason),
                })
            }
        }
    }

    /// Encodes this frame's payload (code then reason; empty for code 1005).
    pub fn encode(&self) -> Bytes {
        if self.code == CloseCode::NO_STATUS {
            return Bytes::new();
        }
        let mut out = BytesMut::with_capacity(2 + self.reason.len());
        out.put_u16(self.code.0);
        out.extend_from_slice(self.reason.as_bytes());
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_refuses_what_may_not_be_sent() {
        use crate::SendError;
        assert!(CloseFrame::new(CloseCode::NORMAL, "bye").is_ok());
        assert_eq!(
            CloseFrame::new(CloseCode(1005), ""),
            Err(SendError::InvalidCloseCode(1005))
        );
        let long = "x".repeat(MAX_REASON_LEN + 1);
        assert_eq!(
            CloseFrame::new(CloseCode::NORMAL, &long),
            Err(SendError::ReasonTooLong(MAX_REASON_LEN + 1))
        );
        let frame = CloseFrame::new(CloseCode(4000), &long[1..]).unwrap();
        assert_eq!(CloseFrame::parse(&frame.encode()), Ok(frame));
    }

    #[test]
    fn sendable_ranges() {
        let ok = [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ];
        let bad = [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ];
        for c in ok {
            assert!(CloseCode(c).is_sendable(), "{c}");
        }
        for c in bad {
            assert!(!CloseCode(c).is_sendable(), "{c}");
        }
    }

    #[test]
    fn parse_payloads() {
        assert_eq!(CloseFrame::parse(&[]), Ok(CloseFrame::no_status()));
        assert!(CloseFrame::no_status().encode().is_empty());
        assert_eq!(CloseFrame::parse(&[3]), Err(ClosePayloadError::OneByte));
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xe8]),
            Ok(CloseFrame {
                code: CloseCode(1000),
                reason: String::new()
            })
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xed]),
            Err(ClosePayloadError::InvalidCode(1005))
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xe8, 0xff]),
            Err(ClosePayloadError::InvalidUtf8)
        );
        let f = CloseFrame {
            code: CloseCode(4000),
            reason: String::from("bye ✓"),
        };
        assert_eq!(CloseFrame::parse(&f.encode()), Ok(f));
    }
}
