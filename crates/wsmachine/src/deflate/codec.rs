//! Raw deflate compression and inflation over `zlib-rs`'s safe streaming API.

use alloc::vec::Vec;
use bytes::BytesMut;
use zlib_rs::{Deflate, DeflateFlush, InflateFlush, Status};

/// The peer's data is not a valid deflate stream (close code 1007).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidData;

/// A raw deflate compressor for one connection's outgoing messages.
pub(crate) struct Compressor {
    inner: Deflate,
}

/// An upper bound on the raw deflate output for `len` input bytes with one sync flush.
pub(crate) fn bound(len: usize) -> usize {
    // zlib's deflateBound for stored blocks (5 bytes per 16 KiB block and more), plus the
    // sync flush's empty stored block and bit alignment.
    len.saturating_add(len >> 12)
        .saturating_add(len >> 14)
        .saturating_add(len >> 25)
        .saturating_add(32)
}

impl Compressor {
    /// A compressor with `window_bits` (8-15), `level` (0-9) and `memory_level` (1-9).
    /// zlib cannot compress raw deflate with 8 bits, so 8 runs the RLE strategy on a
    /// 9-bit window: every match it emits has distance 1, which any window allows.
    /// Cost: allocates the whole state (see the module docs for sizes).
    pub(crate) fn new(level: u8, window_bits: u8, memory_level: u8) -> Self {
        let (bits, strategy) = if window_bits <= 8 {
            (9, zlib_rs::Strategy::Rle)
        } else {
            (window_bits.min(15), zlib_rs::Strategy::Default)
        };
        let config = zlib_rs::DeflateConfig {
            level: i32::from(level.min(9)),
            method: zlib_rs::Method::Deflated,
            window_bits: -i32::from(bits),
            mem_level: i32::from(memory_level.clamp(1, 9)),
            strategy,
        };
        Compressor {
            inner: Deflate::new_with_config(config),
        }
    }

    /// Compresses all of `input` and sync-flushes, appending to `out`, which then always
    /// ends with the empty stored block `00 00 ff ff`. (zlib skips a sync flush that
    /// follows another with no input in between, which would leave an empty message with
    /// no block at all, and `00 00 ff ff` alone is not a complete block for the receiver:
    /// so the input goes in without flushing first, and the flush follows on its own.)
    /// Cost: one deflate pass; `out` grows by about the compressed size (zero-filled
    /// first, then truncated).
    pub(crate) fn compress_sync(&mut self, input: &[u8], out: &mut BytesMut) {
        self.run(input, out, DeflateFlush::NoFlush);
        self.run(&[], out, DeflateFlush::SyncFlush);
        debug_assert!(out.ends_with(&crate::deflate::TRAILER), "sync flush marker");
    }

    /// Feeds all of `input` with `flush`, appending the output to `out`.
    fn run(&mut self, input: &[u8], out: &mut BytesMut, flush: DeflateFlush) {
        let mut rest = input;
        loop {
            let space = bound(rest.len()).max(64);
            let start = out.len();
            out.resize(start.saturating_add(space), 0);
            let (in0, out0) = (self.inner.total_in(), self.inner.total_out());
            let result = self
                .inner
                .compress(rest, out.get_mut(start..).unwrap_or_default(), flush);
            let used = delta(self.inner.total_in(), in0).min(rest.len());
            let produced = delta(self.inner.total_out(), out0).min(space);
            out.truncate(start + produced);
            rest = rest.get(used..).unwrap_or_default();
            // Done when all input is in and the output did not fill the space. A stream
            // error cannot happen with this API's valid state; stop rather than spin.
            if result.is_err() || (rest.is_empty() && produced < space) {
                debug_assert!(result.is_ok(), "deflate: {result:?}");
                return;
            }
        }
    }
}

fn delta(now: u64, before: u64) -> usize {
    usize::try_from(now.saturating_sub(before)).unwrap_or(usize::MAX)
}

/// What one inflate call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inflated {
    /// Input bytes consumed.
    pub(crate) consumed: usize,
    /// Output bytes appended.
    pub(crate) produced: usize,
    /// The data ended the deflate stream (a block with BFINAL set).
    pub(crate) stream_end: bool,
}

/// A raw deflate decompressor for one connection's incoming messages.
pub(crate) struct Decompressor {
    inner: zlib_rs::Inflate,
}

impl Decompressor {
    /// A decompressor for a peer compressing with at most `window_bits` (8-15); it uses at
    /// least 9 bits, since zlib-based senders turn 8 into 9. Cost: allocates the state; the
    /// window (`1 << bits` bytes) is allocated on first use.
    pub(crate) fn new(window_bits: u8) -> Self {
        Decompressor {
            inner: zlib_rs::Inflate::new(false, window_bits.clamp(9, 15)),
        }
    }

    /// Inflates from `input`, appending at most `space` bytes to `out`. Returns how much it
    /// consumed and produced; a full `space` means more output may be pending. Cost: the
    /// output is zero-filled before inflating into it; `out` grows by at most `space`.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        space: usize,
    ) -> Result<Inflated, InvalidData> {
        let start = out.len();
        out.resize(start.saturating_add(space), 0);
        let (in0, out0) = (self.inner.total_in(), self.inner.total_out());
        let result = self.inner.decompress(
            input,
            out.get_mut(start..).unwrap_or_default(),
            InflateFlush::SyncFlush,
        );
        let consumed = delta(self.inner.total_in(), in0).min(input.len());
        let produced = delta(self.inner.total_out(), out0).min(space);
        out.truncate(start + produced);
        match result {
            Ok(status) => Ok(Inflated {
                consumed,
                produced,
                stream_end: status == Status::StreamEnd,
            }),
            Err(_) => Err(InvalidData),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn inflate_all(d: &mut Decompressor, data: &[u8]) -> Result<Vec<u8>, InvalidData> {
        let mut out = Vec::new();
        let mut rest = data;
        loop {
            let r = d.inflate(rest, &mut out, 4096)?;
            rest = &rest[r.consumed..];
            if rest.is_empty() && r.produced < 4096 {
                return Ok(out);
            }
        }
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| b"the quick brown fox jumps over the lazy dog "[i % 44] ^ (i / 1000) as u8)
            .collect()
    }

    #[test]
    fn every_window_and_level_round_trips_with_context_takeover() {
        for bits in 8..=15u8 {
            for level in [0u8, 1, 6, 9] {
                let mut c = Compressor::new(level, bits, 8);
                let mut d = Decompressor::new(bits);
                for len in [0usize, 1, 0, 0, 100, 5000, 70_000, 0] {
                    let data = sample(len);
                    let mut out = BytesMut::new();
                    c.compress_sync(&data, &mut out);
                    assert!(
                        out.ends_with(&crate::deflate::TRAILER),
                        "{bits} {level} {len}"
                    );
                    assert!(out.len() <= bound(len), "{} > bound({len})", out.len());
                    assert_eq!(inflate_all(&mut d, &out).unwrap(), data, "{bits} {level}");
                }
            }
        }
    }

    #[test]
    fn an_eight_bit_window_only_references_one_byte_back() {
        // A 256-byte window: inflating with 8 bits must work (zlib-rs inflate allows 8),
        // here through a raw 8-bit inflater to prove the distances.
        let mut c = Compressor::new(9, 8, 8);
        let data = sample(20_000);
        let mut out = BytesMut::new();
        c.compress_sync(&data, &mut out);
        let mut strict = zlib_rs::Inflate::new(false, 8);
        let mut got = vec![0u8; data.len() + 16];
        let r = strict.decompress(&out, &mut got, InflateFlush::SyncFlush);
        assert!(r.is_ok());
        assert_eq!(&got[..strict.total_out() as usize], &data[..]);
        assert!(
            out.len() < data.len(),
            "RLE still compresses runs and Huffman-codes"
        );
    }

    #[test]
    fn garbage_is_invalid_data() {
        let mut d = Decompressor::new(15);
        // BTYPE 11 is reserved.
        assert_eq!(inflate_all(&mut d, &[0xff, 0xff, 0xff]), Err(InvalidData));
    }

    #[test]
    fn a_later_message_may_reference_the_last_one() {
        // Context takeover: the second message repeats the first, 4000 bytes back.
        let block: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let mut c = Compressor::new(9, 15, 8);
        let (mut first, mut second) = (BytesMut::new(), BytesMut::new());
        c.compress_sync(&block, &mut first);
        c.compress_sync(&block, &mut second);
        assert!(second.len() < 100, "the repeat was found: {}", second.len());
        let mut d = Decompressor::new(12);
        assert!(inflate_all(&mut d, &first).is_ok_and(|d| d == block));
        assert!(inflate_all(&mut d, &second).is_ok_and(|d| d == block));
        // Without the first message's context the second is invalid.
        assert!(inflate_all(&mut Decompressor::new(15), &second).is_err());
    }
}
