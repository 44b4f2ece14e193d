//! Incremental UTF-8 validation for text messages and close reasons.
//!
//! Input arrives in pieces (frames, and pieces of frames); a code point may be split across
//! them. The validator keeps at most three bytes of an unfinished code point and reports an
//! error the moment a byte cannot start or continue a valid sequence, so a bad text message is
//! failed (1007) on its first invalid byte, not when it ends.

/// Validates a byte stream fed in pieces. Cost: one SIMD pass over the bytes (`simdutf8`'s
/// `basic` validator, with runtime CPU detection under `std`), a second one only for a piece
/// that ends inside a code point or is invalid, plus at most four bytes copied per piece
/// boundary.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

/// The stream is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

/// Length of the sequence a leading byte starts, or `None` if it cannot lead one.
fn sequence_len(lead: u8) -> Option<usize> {
    match lead {
        0x00..=0x7f => Some(1),
        0xc2..=0xdf => Some(2),
        0xe0..=0xef => Some(3),
        0xf0..=0xf4 => Some(4),
        _ => None,
    }
}

/// How many bytes at the end of `input` are the start of a code point it cuts short (0-3),
/// judged by the last lead byte among them.
fn incomplete_tail(input: &[u8]) -> usize {
    for back in 1..=input.len().min(3) {
        let b = input[input.len() - back];
        if (0x80..=0xbf).contains(&b) {
            continue;
        }
        return match sequence_len(b) {
            Some(n) if n > back => back,
            _ => 0,
        };
    }
    0
}

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next piece. Errors as soon as the bytes so far cannot be a prefix of valid
    /// UTF-8.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let need = sequence_len(self.partial[0]).ok_or(InvalidUtf8)?;
            let take = need.saturating_sub(have).min(input.len());
            let mut buf = [0u8; 4];
            buf[..have].copy_from_slice(&self.partial[..have]);
            buf[have..have + take].copy_from_slice(&input[..take]);
            let filled = have + take;
            match core::str::from_utf8(&buf[..filled]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix; all input was used.
                    self.partial = buf;
                    self.partial_len = filled as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            input = &input[take..];
        }
        // The `basic` validator is the fastest but only says yes or no: it runs on the piece
        // without a code point cut at its end, which is kept if it is a valid prefix. A no
        // (invalid bytes) is examined again with `compat`, which says where and why.
        let cut = input.len() - incomplete_tail(input);
        let (whole, tail) = input.split_at(cut);
        if simdutf8::basic::from_utf8(whole).is_ok() {
            match core::str::from_utf8(tail) {
                Ok(_) => return Ok(()),
                Err(e) if e.valid_up_to() == 0 && e.error_len().is_none() => {
                    self.partial[..tail.len()].copy_from_slice(tail);
                    self.partial_len = tail.len() as u8;
                    return Ok(());
                }
                Err(_) => {}
            }
        }
        match simdutf8::compat::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(_) => Err(InvalidUtf8),
                None => {
                    let tail = &input[e.valid_up_to()..];
                    self.partial[..tail.len()].copy_from_slice(tail);
                    self.partial_len = tail.len() as u8;
                    Ok(())
                }
            },
        }
    }

    /// Ends the stream: an unfinished code point at the end is an error. Resets the validator.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }

    /// Whether the stream so far ends on a code point boundary.
    pub fn is_complete(&self) -> bool {
        self.partial_len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn check_all_splits(data: &[u8]) -> bool {
        let expected = core::str::from_utf8(data).is_ok();
        for a in 0..=data.len() {
            for b in a..=data.len() {
                let mut v = Utf8Validator::new();
                let ok = v.feed(&data[..a]).is_ok()
                    && v.feed(&data[a..b]).is_ok()
                    && v.feed(&data[b..]).is_ok()
                    && v.finish().is_ok();
                assert_eq!(ok, expected, "{data:x?} split at {a},{b}");
            }
        }
        expected
    }

    #[test]
    fn valid_text_in_any_three_pieces() {
        assert!(check_all_splits("aé€😀z".as_bytes()));
        assert!(check_all_splits(b""));
    }

    #[test]
    fn invalid_text_in_any_three_pieces() {
        for bad in [
            &b"\xed\xa0\x80"[..],
            b"\xc0\x80",
            b"\xf5\x80\x80\x80",
            b"a\xffb",
            b"\xf0\x9f\x98",
            b"\xe2\x82",
            b"\x80",
        ] {
            assert!(!check_all_splits(bad));
        }
    }

    /// A piece that ends in a cut sequence that can no longer be valid fails in that piece.
    #[test]
    fn an_impossible_sequence_at_the_end_of_a_piece_fails_at_once() {
        for piece in [
            &b"ok\xed\xa0"[..],
            b"\xe0\x80",
            b"ab\xf4\x90",
            b"\xf0\x80\x80",
        ] {
            assert_eq!(
                Utf8Validator::new().feed(piece),
                Err(InvalidUtf8),
                "{piece:x?}"
            );
        }
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"ok\xf0\x9f\x98"), Ok(()));
        assert!(!v.is_complete());
    }

    #[test]
    fn surrogate_fails_on_second_byte() {
        let mut v = Utf8Validator::new();
        v.feed(b"ok\xed").unwrap();
        assert_eq!(v.feed(b"\xa0"), Err(InvalidUtf8));
    }

    #[test]
    fn four_byte_code_point_one_byte_at_a_time() {
        let mut v = Utf8Validator::new();
        for b in "😀".as_bytes() {
            v.feed(&[*b]).unwrap();
        }
        assert!(v.is_complete());
        v.finish().unwrap();
    }

    #[test]
    fn matches_std_on_all_two_byte_strings() {
        let mut data = Vec::with_capacity(2);
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                data.clear();
                data.extend_from_slice(&[a, b]);
                let mut v = Utf8Validator::new();
                let ok =
                    v.feed(&data[..1]).is_ok() && v.feed(&data[1..]).is_ok() && v.finish().is_ok();
                assert_eq!(ok, core::str::from_utf8(&data).is_ok(), "{a:x} {b:x}");
            }
        }
    }
}
