//! An ordered, owned list of HTTP header fields.

use alloc::string::String;
use alloc::vec::Vec;

use super::error::HandshakeError;
use super::negotiate::is_token;

/// One header field as received: the name as the peer spelled it and the raw value bytes
/// (leading and trailing whitespace already removed by the parser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The field name, as spelled by the peer (compare it case-insensitively).
    pub name: String,
    /// The field value; may contain bytes ≥ 0x80 (obs-text), so it is not a `String`.
    pub value: Vec<u8>,
}

/// The header fields of a request or response, in the order received; repeated names are
/// kept as separate entries.
///
/// Look-ups are linear scans: a head has at most `HandshakeLimits::max_headers` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    list: Vec<Header>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Headers { list: Vec::new() }
    }

    /// Appends a field (kept after the existing ones, even if the name repeats).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.list.push(Header {
            name: name.into(),
            value: value.into(),
        });
    }

    /// The value of the first field named `name` (ASCII case-insensitive). Cost: O(fields).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.get_all(name).next()
    }

    /// Like [`get`](Self::get), but `None` also when the value is not UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// The values of every field named `name` (ASCII case-insensitive), in order.
    pub fn get_all<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.list
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    /// How many fields named `name` (ASCII case-insensitive) there are.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// All fields in the order received.
    pub fn iter(&self) -> core::slice::Iter<'_, Header> {
        self.list.iter()
    }

    /// The number of fields (repeated names counted each time).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// True when any field named `name` holds `token` as an element of its comma-separated
    /// list (both compared ASCII case-insensitively, optional whitespace around elements
    /// ignored), e.g. `contains_token("Connection", "upgrade")` on
    /// `Connection: keep-alive, Upgrade`. Cost: one pass over those values.
    pub fn contains_token(&self, name: &str, token: &str) -> bool {
        let token = token.as_bytes();
        self.get_all(name).any(|value| {
            value
                .split(|&b| b == b',')
                .any(|elem| trim_ows(elem).eq_ignore_ascii_case(token))
        })
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = core::slice::Iter<'a, Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// Strips optional whitespace (SP / HTAB) from both ends.
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Header names the handshake writes itself; callers may not add them as extra headers.
const RESERVED: [&str; 10] = [
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

/// True when `name` (any case) is one of the headers the handshake writes itself.
pub(crate) fn is_reserved(name: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// True for bytes that may appear in a header value we emit: HTAB, SP, visible ASCII and
/// obs-text; no CR, LF, NUL or other control bytes.
pub(crate) fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// Checks a caller-supplied header before it is written: the name must be a token, the value
/// free of control bytes (CR, LF, NUL, ...), and the name not one the handshake writes itself.
pub(crate) fn check_header_input(name: &str, value: &str) -> Result<(), HandshakeError> {
    let bad = |reason| HandshakeError::InvalidHeaderInput {
        name: name.into(),
        reason,
    };
    if name.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(bad("name contains CR, LF or NUL"));
    }
    if !is_token(name.as_bytes()) {
        return Err(bad("name is not an HTTP token"));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(bad("value contains CR, LF or NUL"));
    }
    if !value.bytes().all(is_value_byte) {
        return Err(bad("value contains a control byte"));
    }
    if is_reserved(name) {
        return Err(HandshakeError::ReservedHeader(name.into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Headers {
        let mut h = Headers::new();
        h.push("Connection", "keep-alive, Upgrade");
        h.push("X-Multi", "a");
        h.push("x-multi", "b");
        h.push("Bin", &[0xffu8, b'a'][..]);
        h
    }

    #[test]
    fn lookups_are_case_insensitive_and_ordered() {
        let h = sample();
        assert_eq!(h.get("connection"), Some(&b"keep-alive, Upgrade"[..]));
        assert_eq!(h.get("X-MULTI"), Some(&b"a"[..]));
        assert_eq!(h.get_all("x-multi").collect::<Vec<_>>(), [&b"a"[..], b"b"]);
        assert_eq!(h.count("x-multi"), 2);
        assert_eq!(h.get_str("bin"), None);
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.len(), 4);
        assert_eq!(h.iter().next().map(|x| x.name.as_str()), Some("Connection"));
    }

    #[test]
    fn token_search() {
        let mut h = sample();
        assert!(h.contains_token("Connection", "upgrade"));
        assert!(h.contains_token("connection", "KEEP-ALIVE"));
        assert!(!h.contains_token("Connection", "close"));
        assert!(!h.contains_token("Connection", "upgrad"));
        h.push("Connection", "\tclose\t");
        assert!(h.contains_token("Connection", "close"));
    }

    #[test]
    fn header_input_checks() {
        assert!(check_header_input("X-Ok", "a b\tc é").is_ok());
        for (n, v) in [
            ("X-A", "a\r\nEvil: 1"),
            ("X-A", "a\nb"),
            ("X-A", "a\0b"),
            ("X-A", "a\x07b"),
            ("X A", "v"),
            ("", "v"),
            ("X:A", "v"),
            ("X\r\nA", "v"),
        ] {
            assert!(
                matches!(
                    check_header_input(n, v),
                    Err(HandshakeError::InvalidHeaderInput { .. })
                ),
                "{n:?}: {v:?}"
            );
        }
        assert_eq!(
            check_header_input("sec-websocket-key", "x"),
            Err(HandshakeError::ReservedHeader("sec-websocket-key".into()))
        );
    }
}
