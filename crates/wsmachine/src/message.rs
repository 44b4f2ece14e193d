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
