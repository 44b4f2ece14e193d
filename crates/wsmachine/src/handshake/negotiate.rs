//! Parsers for `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` (RFC 6455 4.1, 9.1).
//!
//! Both are single forward passes over the bytes (each byte is looked at a bounded number of
//! times, never re-scanned), so they are linear in the input however hostile it is. Repeated
//! headers are merged as if their values were joined with `,` (RFC 7230 3.2.2), and empty list
//! elements (`a, , b`) are skipped as the RFC 7230 `#rule` allows.

use alloc::string::String;
use alloc::vec::Vec;

use super::error::HandshakeError;

/// True for the RFC 7230 `tchar` bytes: `!#$%&'*+-.^_`|~`, digits and letters.
pub fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' |
        b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// True when `s` is a non-empty RFC 7230 `token` (`1*tchar`).
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// A byte cursor that only moves forward.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }

    fn skip_ows(&mut self) {
        while let Some(b' ' | b'\t') = self.peek() {
            self.bump();
        }
    }

    /// Skips whitespace and commas: the empty elements of a `#rule` list.
    fn skip_empty_elements(&mut self) {
        while let Some(b' ' | b'\t' | b',') = self.peek() {
            self.bump();
        }
    }

    /// Takes the longest run of `tchar`s (possibly empty).
    fn token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if !is_tchar(b) {
                break;
            }
            self.bump();
        }
        self.bytes.get(start..self.pos).unwrap_or_default()
    }

    /// Takes a quoted-string starting at the current `"`, returning its unescaped content.
    fn quoted_string(&mut self) -> Result<String, &'static str> {
        self.bump(); // opening quote
        let mut out = String::new();
        loop {
            let b = self.peek().ok_or("unterminated quoted string")?;
            self.bump();
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let c = self.peek().ok_or("unterminated quoted string")?;
                    self.bump();
                    if c == b'\t' || (0x20..=0x7e).contains(&c) {
                        out.push(char::from(c));
                    } else {
                        return Err("invalid escaped byte in quoted string");
                    }
                }
                b'\t' | 0x20..=0x7e => out.push(char::from(b)),
                _ => return Err("invalid byte in quoted string"),
            }
        }
    }
}

/// Converts a token (ASCII by construction) to a `String` without a fallible step.
fn token_string(t: &[u8]) -> String {
    t.iter().map(|&b| char::from(b)).collect()
}

/// Parses the values of every `Sec-WebSocket-Protocol` header (in order) into the list of
/// subprotocol tokens, in order. Duplicates are kept as sent.
///
/// No values gives an empty list; values that are present but hold no token at all, or an
/// element that is not a single token (e.g. `b x` — a space inside an element — or
/// `chat;v=1`), are an [`HandshakeError::InvalidProtocolList`]. Cost: one pass, O(bytes).
pub fn parse_protocols<'a, I>(values: I) -> Result<Vec<String>, HandshakeError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut out = Vec::new();
    let mut any_value = false;
    for value in values {
        any_value = true;
        let mut c = Cursor::new(value);
        loop {
            c.skip_empty_elements();
            if c.peek().is_none() {
                break;
            }
            let t = c.token();
            if t.is_empty() {
                return Err(HandshakeError::InvalidProtocolList("expected a token"));
            }
            out.push(token_string(t));
            c.skip_ows();
            match c.peek() {
                None => break,
                Some(b',') => {}
                Some(_) => {
                    return Err(HandshakeError::InvalidProtocolList(
                        "expected ',' after a token",
                    ));
                }
            }
        }
    }
    if any_value && out.is_empty() {
        return Err(HandshakeError::InvalidProtocolList("empty list"));
    }
    Ok(out)
}

/// One parameter of an extension offer: `name` or `name=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionParam {
    /// The parameter name (a token).
    pub name: String,
    /// The value with quoted-string escapes removed, or `None` for a bare parameter.
    pub value: Option<String>,
}

/// One element of a `Sec-WebSocket-Extensions` list: an extension name and its parameters,
/// e.g. `permessage-deflate; client_max_window_bits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension name (a token).
    pub name: String,
    /// The parameters in the order given.
    pub params: Vec<ExtensionParam>,
}

impl ExtensionOffer {
    /// An offer with no parameters.
    pub fn new(name: impl Into<String>) -> Self {
        ExtensionOffer {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter (builder style).
    pub fn with_param(mut self, name: impl Into<String>, value: Option<String>) -> Self {
        self.params.push(ExtensionParam {
            name: name.into(),
            value,
        });
        self
    }

    /// The first parameter named `name` (ASCII case-insensitive).
    pub fn param(&self, name: &str) -> Option<&ExtensionParam> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Serializes the offer as one list element: `name; p1; p2=v`. Values that are tokens
    /// are written bare, others as quoted-strings with `"` and `\` escaped.
    ///
    /// Names must be tokens and values printable ASCII; otherwise the result is not a valid
    /// header value and the handshake builders will refuse it.
    pub fn to_header_value(&self) -> String {
        let mut s = self.name.clone();
        for p in &self.params {
            s.push_str("; ");
            s.push_str(&p.name);
            if let Some(v) = &p.value {
                s.push('=');
                if is_token(v.as_bytes()) {
                    s.push_str(v);
                } else {
                    s.push('"');
                    for ch in v.chars() {
                        if ch == '"' || ch == '\\' {
                            s.push('\\');
                        }
                        s.push(ch);
                    }
                    s.push('"');
                }
            }
        }
        s
    }
}

impl core::fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

/// Parses the values of every `Sec-WebSocket-Extensions` header (in order) into offers.
///
/// Grammar (RFC 6455 9.1 with RFC 7230 lists): `extension = token *( OWS ";" OWS param )`,
/// `param = token [ OWS "=" OWS ( token / quoted-string ) ]`. Empty list elements are
/// skipped; an empty parameter (`;;` or a trailing `;`), a missing value after `=`, a bad
/// quoted-string or any other byte out of place is an
/// [`HandshakeError::InvalidExtensionList`]. Quoted values are unescaped but not required to
/// be tokens. Values that are present but hold no offer at all are an error; no values give
/// an empty list. Cost: one pass, O(bytes).
pub fn parse_extensions<'a, I>(values: I) -> Result<Vec<ExtensionOffer>, HandshakeError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let err = HandshakeError::InvalidExtensionList;
    let mut out = Vec::new();
    let mut any_value = false;
    for value in values {
        any_value = true;
        let mut c = Cursor::new(value);
        loop {
            c.skip_empty_elements();
            if c.peek().is_none() {
                break;
            }
            let name = c.token();
            if name.is_empty() {
                return Err(err("expected an extension name"));
            }
            let mut offer = ExtensionOffer::new(token_string(name));
            c.skip_ows();
            while c.peek() == Some(b';') {
                c.bump();
                c.skip_ows();
                let pname = c.token();
                if pname.is_empty() {
                    return Err(err("empty extension parameter"));
                }
                c.skip_ows();
                let mut pvalue = None;
                if c.peek() == Some(b'=') {
                    c.bump();
                    c.skip_ows();
                    if c.peek() == Some(b'"') {
                        pvalue = Some(c.quoted_string().map_err(err)?);
                    } else {
                        let v = c.token();
                        if v.is_empty() {
                            return Err(err("missing parameter value after '='"));
                        }
                        pvalue = Some(token_string(v));
                    }
                    c.skip_ows();
                }
                offer.params.push(ExtensionParam {
                    name: token_string(pname),
                    value: pvalue,
                });
            }
            out.push(offer);
            match c.peek() {
                None => break,
                Some(b',') => {}
                Some(_) => return Err(err("expected ',' or ';'")),
            }
        }
    }
    if any_value && out.is_empty() {
        return Err(err("empty list"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::vec;

    fn protos(v: &[&str]) -> Result<Vec<String>, HandshakeError> {
        parse_protocols(v.iter().map(|s| s.as_bytes()))
    }

    fn exts(v: &str) -> Result<Vec<ExtensionOffer>, HandshakeError> {
        parse_extensions([v.as_bytes()])
    }

    #[test]
    fn protocols_lists() {
        assert_eq!(protos(&["chat, superchat"]).unwrap(), ["chat", "superchat"]);
        assert_eq!(protos(&[" a ,, b\t", "c"]).unwrap(), ["a", "b", "c"]);
        assert_eq!(protos(&[]).unwrap(), Vec::<String>::new());
        assert!(protos(&[""]).is_err());
        assert!(protos(&[" , "]).is_err());
        assert!(protos(&["a b"]).is_err());
        assert!(protos(&["a;b"]).is_err());
        assert!(protos(&["\"a\""]).is_err());
    }

    #[test]
    fn protocol_with_long_inner_whitespace_is_a_fast_error() {
        let mut v = vec![b'b'];
        v.extend(core::iter::repeat_n(b' ', 32_768));
        v.push(b'x');
        let t = std::time::Instant::now();
        let r = parse_protocols([v.as_slice()]);
        std::println!("b + 32768 SP + x: {:?} in {:?}", r, t.elapsed());
        assert!(matches!(r, Err(HandshakeError::InvalidProtocolList(_))));
        // The same run of spaces followed by a comma is a valid list.
        let last = v.len() - 1;
        v[last] = b',';
        v.push(b'x');
        assert_eq!(parse_protocols([v.as_slice()]).unwrap(), ["b", "x"]);
    }

    #[test]
    fn extension_lists() {
        let got = exts("permessage-deflate; client_max_window_bits, x-foo ; a=1 ;b=\"q\\\"x\" ,")
            .unwrap();
        assert_eq!(
            got,
            [
                ExtensionOffer::new("permessage-deflate")
                    .with_param("client_max_window_bits", None),
                ExtensionOffer::new("x-foo")
                    .with_param("a", Some("1".into()))
                    .with_param("b", Some("q\"x".into())),
            ]
        );
        assert_eq!(
            got[1].to_header_value(),
            "x-foo; a=1; b=\"q\\\"x\"",
            "non-token values are re-quoted"
        );
        assert_eq!(exts(", ,a").unwrap(), [ExtensionOffer::new("a")]);
        assert_eq!(
            got[0]
                .param("CLIENT_MAX_WINDOW_BITS")
                .map(|p| p.value.clone()),
            Some(None)
        );
    }

    #[test]
    fn extension_errors() {
        for bad in [
            "permessage-deflate; server_max_window_bits=99;;,",
            "a;",
            "a; ",
            ";a",
            "a=1",
            "a; b=",
            "a; b=\"unterminated",
            "a; b=\"bad\x01\"",
            "a b",
            "a; b c",
            "",
            " , ",
            "a; b=\"x\\",
        ] {
            assert!(
                matches!(exts(bad), Err(HandshakeError::InvalidExtensionList(_))),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn extension_with_long_whitespace_is_linear() {
        let mut v = b"a".to_vec();
        v.extend(core::iter::repeat_n(b' ', 1 << 20));
        v.extend_from_slice(b"; b");
        v.extend(core::iter::repeat_n(b'\t', 1 << 20));
        v.extend_from_slice(b"= c x");
        let t = std::time::Instant::now();
        let r = parse_extensions([v.as_slice()]);
        std::println!("2 MiB of whitespace in an extension: {:?}", t.elapsed());
        assert!(r.is_err());
    }
}
