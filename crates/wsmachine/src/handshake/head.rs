//! Incremental, linear-time framing of an HTTP/1.x head (start line + headers + empty line).
//!
//! [`HeadReader`] buffers at most `max_header_bytes` and finds the end of the head with a
//! four-state scanner whose state survives between calls, so every byte is examined exactly
//! once however the input is split (the equivalent of resuming the scan a few bytes before
//! where it stopped). `httparse` runs once, on the complete head.

use alloc::vec;
use alloc::vec::Vec;

use super::HandshakeLimits;
use super::error::HandshakeError;
use super::headers::Headers;

/// Where the scanner is relative to the `\n[\r]\n` that ends a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Only empty lines so far (RFC 7230 3.5 lets a recipient skip them; httparse does).
    Start,
    /// Inside a line.
    Text,
    /// Just after a `\n`.
    Lf,
    /// Just after `\n\r`.
    LfCr,
}

/// Whether a handshake is still reading its head; both ends are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Reading,
    Done,
    Failed,
}

/// Buffers the bytes of one head and reports when it is complete; also keeps the one-shot
/// outcome (done or failed) that both handshake roles share.
#[derive(Debug, Clone)]
pub(crate) struct HeadReader {
    buf: Vec<u8>,
    limit: usize,
    scan: Scan,
    progress: Progress,
}

impl HeadReader {
    /// A reader that refuses heads longer than `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        HeadReader {
            buf: Vec::new(),
            limit,
            scan: Scan::Start,
            progress: Progress::Reading,
        }
    }

    /// Refuses more input once the handshake succeeded or failed: `AlreadyComplete` or
    /// `AlreadyFailed`.
    pub(crate) fn check_reading(&self) -> Result<(), HandshakeError> {
        match self.progress {
            Progress::Reading => Ok(()),
            Progress::Done => Err(HandshakeError::AlreadyComplete),
            Progress::Failed => Err(HandshakeError::AlreadyFailed),
        }
    }

    /// Records the outcome of one feed: a parsed head or any error is final and frees the
    /// buffer; `Ok(None)` (head incomplete) changes nothing.
    pub(crate) fn settle<T>(&mut self, result: &Result<Option<T>, HandshakeError>) {
        self.progress = match result {
            Ok(None) => return,
            Ok(Some(_)) => Progress::Done,
            Err(_) => Progress::Failed,
        };
        self.buf = Vec::new();
    }

    /// True once a head was read and accepted by the parser.
    pub(crate) fn is_complete(&self) -> bool {
        self.progress == Progress::Done
    }

    /// Takes bytes from `input` until the head is complete. Returns `Some(n)` when it is,
    /// where `input[..n]` completed the head and `input[n..]` was not consumed; `None` when
    /// more input is needed (all of `input` was buffered). Fails with `HeadTooLarge` once
    /// `limit` bytes are buffered without an end. Cost: O(input.len()), memory ≤ `limit`.
    pub(crate) fn push(&mut self, input: &[u8]) -> Result<Option<usize>, HandshakeError> {
        let room = self.limit.saturating_sub(self.buf.len());
        let take = input.get(..room).unwrap_or(input);
        for (i, &b) in take.iter().enumerate() {
            let (next, done) = match (self.scan, b) {
                (Scan::Start, b'\r' | b'\n') => (Scan::Start, false),
                (Scan::Lf | Scan::LfCr, b'\n') => (Scan::Text, true),
                (Scan::Lf, b'\r') => (Scan::LfCr, false),
                (_, b'\n') => (Scan::Lf, false),
                _ => (Scan::Text, false),
            };
            self.scan = next;
            if done {
                let n = i.saturating_add(1);
                self.buf.extend_from_slice(take.get(..n).unwrap_or(take));
                return Ok(Some(n));
            }
        }
        self.buf.extend_from_slice(take);
        if self.buf.len() >= self.limit {
            return Err(HandshakeError::HeadTooLarge { limit: self.limit });
        }
        Ok(None)
    }

    /// The buffered head (complete once `push` returned `Some`).
    pub(crate) fn head(&self) -> &[u8] {
        &self.buf
    }
}

/// An httparse header array for a complete head of `head_len` bytes: `max_headers` slots at
/// most, and never more than that head can fill (a header line is at least 3 bytes, `a:\n`),
/// so limits set to `usize::MAX` ("no limit") cost no more than the head itself.
pub(crate) fn header_slots(
    limits: &HandshakeLimits,
    head_len: usize,
) -> Vec<httparse::Header<'static>> {
    let cap = limits.max_headers.min(head_len / 3 + 1);
    vec![httparse::EMPTY_HEADER; cap]
}

/// Maps an httparse failure to a handshake error.
pub(crate) fn map_httparse(e: httparse::Error, limits: &HandshakeLimits) -> HandshakeError {
    let why = match e {
        httparse::Error::TooManyHeaders => {
            return HandshakeError::TooManyHeaders {
                limit: limits.max_headers,
            };
        }
        httparse::Error::HeaderName => "invalid byte in a header name",
        httparse::Error::HeaderValue => "invalid byte in a header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Token => "invalid request line",
        httparse::Error::Version => "invalid HTTP version",
    };
    HandshakeError::MalformedHead(why)
}

/// Copies parsed headers into an owned [`Headers`].
pub(crate) fn owned_headers(parsed: &[httparse::Header<'_>]) -> Headers {
    let mut out = Headers::new();
    for h in parsed {
        out.push(h.name, h.value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_end_across_splits() {
        let data = b"\r\nGET / HTTP/1.1\r\nA: b\r\n\r\nrest";
        let head_len = data.len() - 4;
        for split in 0..=data.len() {
            let mut r = HeadReader::new(1024);
            let (a, b) = data.split_at(split);
            match r.push(a).unwrap() {
                Some(n) => {
                    assert_eq!(n, head_len);
                    assert!(split >= head_len);
                }
                None => {
                    assert!(split < head_len);
                    assert_eq!(r.push(b).unwrap(), Some(head_len - split));
                }
            }
            assert_eq!(r.head(), &data[..head_len]);
        }
    }

    #[test]
    fn bare_lf_and_limit() {
        let mut r = HeadReader::new(100);
        assert_eq!(r.push(b"GET / HTTP/1.1\nA: b\n\nX").unwrap(), Some(21));
        let mut r = HeadReader::new(10);
        assert_eq!(r.push(b"GET / HTT").unwrap(), None);
        assert_eq!(
            r.push(b"P/1.1\r\n\r\n"),
            Err(HandshakeError::HeadTooLarge { limit: 10 })
        );
        // A head of exactly `limit` bytes is accepted.
        let mut r = HeadReader::new(4);
        assert_eq!(r.push(b"a\n\nzz").unwrap(), Some(3));
        let mut r = HeadReader::new(4);
        assert_eq!(
            r.push(b"ab\r\n\r\n"),
            Err(HandshakeError::HeadTooLarge { limit: 4 })
        );
        let mut r = HeadReader::new(4);
        assert_eq!(
            r.push(b"a\r\n\r\n"),
            Err(HandshakeError::HeadTooLarge { limit: 4 })
        );
        let mut r = HeadReader::new(5);
        assert_eq!(r.push(b"a\r\n\r\nz").unwrap(), Some(5));
    }
}
