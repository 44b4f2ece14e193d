//! Data messages as handed to and from the caller.

use alloc::string::String;
use bytes::Bytes;
use core::fmt;

/// Bytes known to be valid UTF-8: a received text message, shared without copying.
///
/// [`as_str`](Utf8Bytes::as_str) checks the bytes again (one fast pass, no copy) because the
/// crate forbids `unsafe`; [`into_bytes`](Utf8Bytes::into_bytes) is free.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wraps bytes after checking they are UTF-8; gives them back if not.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, Bytes> {
        if simdutf8::basic::from_utf8(&bytes).is_ok() {
            Ok(Utf8Bytes(bytes))
        } else {
            Err(bytes)
        }
    }

    /// Wraps bytes the receive path has already validated incrementally.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        Utf8Bytes(bytes)
    }

    /// Wraps a static string without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// The text. Cost: one SIMD UTF-8 check over the bytes (they were validated on receipt,
    /// so this never fails in practice; it yields `""` rather than panic if it somehow did).
    pub fn as_str(&self) -> &str {
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The raw bytes, shared.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The raw bytes, free.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Utf8Bytes {
    /// Free: takes the string's buffer.
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    /// Copies the string.
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a data message is text or binary: explicit on every send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text.
    Text,
    /// Arbitrary bytes.
    Binary,
}

/// A whole data message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message, validated UTF-8.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Text(_) => MessageKind::Text,
            Message::Binary(_) => MessageKind::Binary,
        }
    }

    /// The payload bytes, shared.
    pub fn payload(&self) -> &Bytes {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The payload bytes, free.
    pub fn into_payload(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// A text message from anything string-like.
    pub fn text(s: impl Into<Utf8Bytes>) -> Message {
        Message::Text(s.into())
    }

    /// A binary message from anything byte-like.
    pub fn binary(b: impl Into<Bytes>) -> Message {
        Message::Binary(b.into())
    }

    /// True for a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// True for a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.payload().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.payload().is_empty()
    }

    /// The text of a text message; `None` for a binary one. Cost: one UTF-8 check (see
    /// [`Utf8Bytes::as_str`]).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t.as_str()),
            Message::Binary(_) => None,
        }
    }

    /// The payload bytes, free (the name tungstenite uses; same as
    /// [`into_payload`](Self::into_payload)).
    pub fn into_data(self) -> Bytes {
        self.into_payload()
    }

    /// The payload as text: a text message's, free; a binary message's if it is valid
    /// UTF-8 (one check, no copy), else the bytes back in `Err`.
    pub fn into_text(self) -> Result<Utf8Bytes, Bytes> {
        match self {
            Message::Text(t) => Ok(t),
            Message::Binary(b) => Utf8Bytes::try_from_bytes(b),
        }
    }
}

impl From<Utf8Bytes> for Message {
    /// A text message, free.
    fn from(t: Utf8Bytes) -> Self {
        Message::Text(t)
    }
}

impl From<String> for Message {
    /// A text message, free (takes the string's buffer).
    fn from(s: String) -> Self {
        Message::Text(s.into())
    }
}

impl From<&str> for Message {
    /// A text message; copies the string.
    fn from(s: &str) -> Self {
        Message::Text(s.into())
    }
}

impl From<Bytes> for Message {
    /// A binary message, free.
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<alloc::vec::Vec<u8>> for Message {
    /// A binary message, free (takes the vector's buffer).
    fn from(v: alloc::vec::Vec<u8>) -> Self {
        Message::Binary(v.into())
    }
}

impl From<&[u8]> for Message {
    /// A binary message; copies the bytes.
    fn from(b: &[u8]) -> Self {
        Message::Binary(Bytes::copy_from_slice(b))
    }
}

/// A piece of a data message, delivered in [`ReceiveMode::Fragments`](crate::ReceiveMode).
///
/// Pieces follow frame and read boundaries, not message structure: a frame may arrive as
/// several pieces. For text, the concatenation of a message's pieces is valid UTF-8 (checked
/// as they arrive), but one piece may end inside a code point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// Text or binary (the kind of the message's first frame).
    pub kind: MessageKind,
    /// The bytes of this piece, unmasked.
    pub data: Bytes,
    /// The first piece of its message.
    pub is_first: bool,
    /// The last piece of its message.
    pub is_last: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_and_conversions() {
        let t = Message::from("héllo");
        assert!(t.is_text() && !t.is_binary());
        assert_eq!((t.len(), t.is_empty()), (6, false));
        assert_eq!(t.as_text(), Some("héllo"));
        assert_eq!(
            t.clone().into_data(),
            Bytes::from_static("héllo".as_bytes())
        );
        assert_eq!(t.into_text().unwrap(), "héllo");

        let b = Message::from(alloc::vec![0xffu8, 0]);
        assert!(b.is_binary() && !b.is_text());
        assert_eq!(b.as_text(), None);
        assert_eq!(b.clone().into_text(), Err(Bytes::from_static(&[0xff, 0])));
        assert_eq!(Message::from(&b"ok"[..]).into_text().unwrap(), "ok");
        assert!(Message::from(String::new()).is_empty());
        assert_eq!(Message::from(Bytes::new()), Message::binary(Bytes::new()));
        assert_eq!(Message::from(Utf8Bytes::from("x")), Message::text("x"));
    }
}
