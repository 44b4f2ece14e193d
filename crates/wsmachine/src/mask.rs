//! Payload masking (RFC 6455 5.3), in place or while copying (into initialised bytes or
//! spare capacity), many bytes at a time.
//!
//! The loops are safe code over 32-byte blocks of four 64-bit words, which the compiler
//! vectorises. x86-64's baseline only has 128-bit SSE2, so with `std` the same loop is also
//! compiled for AVX2 and chosen at run time when the CPU has it (and for AVX-512 where the
//! CPU has AVX512F). That call is this module's only `unsafe` (the crate's other audited
//! module is `spare`): calling a function compiled for a CPU feature is sound exactly when
//! the CPU has the feature, which is checked first. The bodies are the same safe code, so
//! every path computes the same bytes; the unit tests call each path directly against the
//! bytewise definition, and the fuzz targets run the path this CPU picks.

/// Below this many bytes the portable loop is as fast as any: skip the feature check.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
const WIDE_MIN: usize = 64;

/// XORs `buf` with the 4-byte mask `key`, where `buf` starts `offset` bytes into the frame
/// payload (so a payload can be unmasked in pieces as it arrives). Applying it twice restores
/// the input. Cost: one pass over `buf`, 32 or 64 bytes per step where the CPU allows.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if buf.len() >= WIDE_MIN {
        if let Some(wide) = x86::detected() {
            return wide.mask(buf, key);
        }
    }
    mask_words(buf, key);
}

/// Writes `src` masked with `key` (from payload offset 0) into `dst`: a copy and the mask in
/// one pass instead of a copy then an in-place pass. Only the first
/// `min(dst.len(), src.len())` bytes are written. Cost: one read of `src` and one write of
/// `dst`, 32 or 64 bytes per step where the CPU allows.
pub fn copy_masked(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    copy_masked_into(dst, src, key, 0);
}

/// A byte the masked copy writes: initialised (`u8`) or spare capacity
/// (`MaybeUninit<u8>`, written without being read).
pub(crate) trait Slot {
    fn set(&mut self, byte: u8);
}

impl Slot for u8 {
    #[inline(always)]
    fn set(&mut self, byte: u8) {
        *self = byte;
    }
}

impl Slot for core::mem::MaybeUninit<u8> {
    #[inline(always)]
    fn set(&mut self, byte: u8) {
        self.write(byte);
    }
}

/// [`copy_masked`] into `dst` of either kind, where `src` starts `offset` bytes into the
/// payload. Writes every one of the first `min(dst.len(), src.len())` slots of `dst` and
/// returns that count: `spare::append_masked` relies on it.
pub(crate) fn copy_masked_into<T: Slot>(
    dst: &mut [T],
    src: &[u8],
    key: [u8; 4],
    offset: usize,
) -> usize {
    let len = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..len], &src[..len]);
    let key = rotate(key, offset);
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if len >= WIDE_MIN {
        if let Some(wide) = x86::detected() {
            wide.copy(dst, src, key);
            return len;
        }
    }
    copy_words(dst, src, key);
    len
}

/// The key rotated so that its first byte lines up with payload offset `offset`.
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    let shift = offset % 4;
    [
        key[shift],
        key[(shift + 1) % 4],
        key[(shift + 2) % 4],
        key[(shift + 3) % 4],
    ]
}

/// The key repeated over a 64-bit word.
#[inline(always)]
fn key_word(key: [u8; 4]) -> u64 {
    u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ])
}

/// Loads a native-endian word from an 8-byte slice.
#[inline(always)]
fn load(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_ne_bytes(w)
}

/// How many bytes to do singly before `ptr` reaches a 64-byte boundary: none for short
/// buffers, where the wide loop runs a few times at most and alignment does not pay.
#[inline(always)]
fn aligned_lead(ptr: *const u8, len: usize) -> usize {
    if len < 256 {
        return 0;
    }
    ptr.align_offset(64).min(len)
}

/// The portable loop: single bytes up to a 64-byte boundary (for long buffers) (a wide store that straddles
/// cache lines costs twice), then 32-byte blocks, 8-byte words and single bytes.
/// `inline(always)` so that each CPU-feature wrapper gets its own copy compiled with its
/// features.
#[inline(always)]
fn mask_words(buf: &mut [u8], key: [u8; 4]) {
    let lead = aligned_lead(buf.as_ptr(), buf.len());
    let (head, buf) = buf.split_at_mut(lead);
    for (i, byte) in head.iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
    let key = rotate(key, lead);
    let word = key_word(key);
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for w in block.chunks_exact_mut(8) {
            w.copy_from_slice(&(load(w) ^ word).to_ne_bytes());
        }
    }
    let mut words = blocks.into_remainder().chunks_exact_mut(8);
    for w in &mut words {
        w.copy_from_slice(&(load(w) ^ word).to_ne_bytes());
    }
    // Every block and word is a multiple of 4 bytes, so the tail starts at key[0] again.
    for (i, byte) in words.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// Writes 8 bytes into 8 slots.
#[inline(always)]
fn store<T: Slot>(dst: &mut [T], word: u64) {
    for (d, b) in dst.iter_mut().zip(word.to_ne_bytes()) {
        d.set(b);
    }
}

/// [`mask_words`] from `src` into `dst` (equal lengths), aligned on `dst`. Every slot of
/// `dst` is written: the head, the blocks, the words and the tail cover it.
#[inline(always)]
fn copy_words<T: Slot>(dst: &mut [T], src: &[u8], key: [u8; 4]) {
    let lead = aligned_lead(dst.as_ptr().cast(), dst.len());
    let (head, dst) = dst.split_at_mut(lead);
    let (head_src, src) = src.split_at(lead);
    for (i, (d, s)) in head.iter_mut().zip(head_src).enumerate() {
        d.set(s ^ key[i % 4]);
    }
    let key = rotate(key, lead);
    let word = key_word(key);
    let mut d = dst.chunks_exact_mut(32);
    let mut s = src.chunks_exact(32);
    for (db, sb) in (&mut d).zip(&mut s) {
        for (dw, sw) in db.chunks_exact_mut(8).zip(sb.chunks_exact(8)) {
            store(dw, load(sw) ^ word);
        }
    }
    let mut d = d.into_remainder().chunks_exact_mut(8);
    let mut s = s.remainder().chunks_exact(8);
    for (dw, sw) in (&mut d).zip(&mut s) {
        store(dw, load(sw) ^ word);
    }
    for (i, (db, sb)) in d.into_remainder().iter_mut().zip(s.remainder()).enumerate() {
        db.set(sb ^ key[i % 4]);
    }
}

/// The wide paths: the portable loops compiled for AVX2 and AVX-512, picked at run time.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(unsafe_code)]
mod x86 {
    extern crate std;

    /// A CPU feature level the wide loops are compiled for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Wide {
        Avx2,
        Avx512,
    }

    /// The widest level this CPU runs, if any (`is_x86_feature_detected!` caches the CPUID
    /// result, so this is an atomic load after the first call).
    #[inline]
    pub(super) fn detected() -> Option<Wide> {
        if std::is_x86_feature_detected!("avx512f") {
            Some(Wide::Avx512)
        } else if std::is_x86_feature_detected!("avx2") {
            Some(Wide::Avx2)
        } else {
            None
        }
    }

    impl Wide {
        /// [`super::mask_words`] at this level.
        pub(super) fn mask(self, buf: &mut [u8], key: [u8; 4]) {
            // SAFETY: a `Wide` is only made by `detected`, from the CPU's own feature
            // flags (or by the tests after the same check), so the CPU has the features
            // the function was compiled for. The functions are safe code otherwise.
            unsafe {
                match self {
                    Wide::Avx2 => mask_avx2(buf, key),
                    Wide::Avx512 => mask_avx512(buf, key),
                }
            }
        }

        /// [`super::copy_words`] at this level.
        pub(super) fn copy<T: super::Slot>(self, dst: &mut [T], src: &[u8], key: [u8; 4]) {
            // SAFETY: as in `mask`.
            unsafe {
                match self {
                    Wide::Avx2 => copy_avx2(dst, src, key),
                    Wide::Avx512 => copy_avx512(dst, src, key),
                }
            }
        }
    }

    #[target_feature(enable = "avx2")]
    fn mask_avx2(buf: &mut [u8], key: [u8; 4]) {
        super::mask_words(buf, key)
    }

    #[target_feature(enable = "avx512f")]
    fn mask_avx512(buf: &mut [u8], key: [u8; 4]) {
        super::mask_words(buf, key)
    }

    #[target_feature(enable = "avx2")]
    fn copy_avx2<T: super::Slot>(dst: &mut [T], src: &[u8], key: [u8; 4]) {
        super::copy_words(dst, src, key)
    }

    #[target_feature(enable = "avx512f")]
    fn copy_avx512<T: super::Slot>(dst: &mut [T], src: &[u8], key: [u8; 4]) {
        super::copy_words(dst, src, key)
    }

    /// Every level this CPU runs (for the tests).
    #[cfg(test)]
    pub(super) fn available() -> std::vec::Vec<Wide> {
        let mut v = std::vec::Vec::new();
        if std::is_x86_feature_detected!("avx2") {
            v.push(Wide::Avx2);
        }
        if std::is_x86_feature_detected!("avx512f") {
            v.push(Wide::Avx512);
        }
        v
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(i + offset) % 4];
        }
    }

    #[test]
    fn matches_bytewise_definition_for_every_length_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..40 {
            for offset in 0..8 {
                let data: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31)).collect();
                let mut fast = data.clone();
                let mut slow = data.clone();
                apply_mask(&mut fast, key, offset);
                naive(&mut slow, key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn copy_masked_equals_copy_then_mask() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..70 {
            let src: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(17)).collect();
            let mut expected = src.clone();
            naive(&mut expected, key, 0);
            let mut dst = alloc::vec![0xaa; len];
            copy_masked(&mut dst, &src, key);
            assert_eq!(dst, expected, "len {len}");
        }
    }

    /// A key, 700 bytes of data and the lengths to mask: across the block boundaries and
    /// the alignment threshold (fewer under Miri, which interprets every byte; every
    /// boundary kept). Shared with the masked-copy tests in `spare`.
    pub(crate) fn sample() -> ([u8; 4], Vec<u8>, Vec<usize>) {
        let key = [0x9c, 0x01, 0xf7, 0x42];
        let data: Vec<u8> = (0..700u32).map(|i| (i * 131 % 251) as u8).collect();
        let lens: Vec<usize> = if cfg!(miri) {
            (0..70).chain([255, 256, 257, 300, 513]).collect()
        } else {
            (0..300).chain([511, 512, 513, 640, 699]).collect()
        };
        (key, data, lens)
    }

    /// Every path (portable, and each wide level this CPU runs) against the definition,
    /// over lengths across the block boundaries and every offset and alignment.
    #[test]
    fn every_path_matches_the_definition() {
        let (key, data, lens) = sample();
        for len in lens {
            for start in 0..2 {
                for offset in 0..4 {
                    let src = &data[start..start + len];
                    let mut expected = src.to_vec();
                    naive(&mut expected, key, offset);
                    let mut portable = src.to_vec();
                    mask_words(&mut portable, rotate(key, offset));
                    assert_eq!(portable, expected, "portable len {len} offset {offset}");
                    let mut copied = alloc::vec![0u8; len];
                    copy_words(&mut copied, src, rotate(key, offset));
                    assert_eq!(copied, expected, "portable copy len {len} offset {offset}");
                    #[cfg(all(feature = "std", target_arch = "x86_64"))]
                    for wide in x86::available() {
                        let mut buf = src.to_vec();
                        wide.mask(&mut buf, rotate(key, offset));
                        assert_eq!(buf, expected, "{wide:?} len {len} offset {offset}");
                        let mut copied = alloc::vec![0u8; len];
                        wide.copy(&mut copied, src, rotate(key, offset));
                        assert_eq!(copied, expected, "{wide:?} copy len {len} offset {offset}");
                    }
                }
            }
        }
    }

    #[test]
    fn copy_masked_writes_only_the_shorter_length() {
        let key = [1, 2, 3, 4];
        let mut dst = [0u8; 3];
        copy_masked(&mut dst, &[0u8; 10], key);
        assert_eq!(dst, [1, 2, 3]);
        let mut dst = [9u8; 10];
        copy_masked(&mut dst, &[0u8; 2], key);
        assert_eq!(dst, [1, 2, 9, 9, 9, 9, 9, 9, 9, 9]);
    }

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 5.7: "Hello" masked with 37 fa 21 3d.
        let mut data = *b"Hello";
        apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn split_unmasking_equals_whole() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..=255).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        for cut in 0..data.len() {
            let mut parts = data.clone();
            let (a, b) = parts.split_at_mut(cut);
            apply_mask(a, key, 0);
            apply_mask(b, key, cut);
            assert_eq!(parts, whole);
        }
    }
}
