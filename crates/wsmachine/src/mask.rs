//! Payload masking (RFC 6455 5.3), in place, eight bytes at a time.
//!
//! Safe code only: the payload is walked in 8-byte words through `chunks_exact_mut`, which the
//! compiler turns into wide loads and XORs; the few bytes before and after are done singly.

/// XORs `buf` with the 4-byte mask `key`, where `buf` starts `offset` bytes into the frame
/// payload (so a payload can be unmasked in pieces as it arrives). Applying it twice restores
/// the input. Cost: one pass over `buf`, a word at a time.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // Rotate the key so that key[0] lines up with buf[0].
    let shift = offset % 4;
    let key = [
        key[shift],
        key[(shift + 1) % 4],
        key[(shift + 2) % 4],
        key[(shift + 3) % 4],
    ];
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let masked = u64::from_ne_bytes(bytes) ^ word;
        chunk.copy_from_slice(&masked.to_ne_bytes());
    }
    // Every chunk is 8 bytes, a multiple of 4, so the tail starts at key[0] again.
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// Writes `src` masked with `key` (from payload offset 0) into `dst`: the client's copy and
/// mask in one pass instead of a copy then an in-place pass. Only the first
/// `min(dst.len(), src.len())` bytes are written. Cost: one read of `src` and one write of
/// `dst`, a word at a time.
pub fn copy_masked(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let len = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..len], &src[..len]);
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (dc, sc) in (&mut d).zip(&mut s) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(sc);
        dc.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    for (i, (db, sb)) in d.into_remainder().iter_mut().zip(s.remainder()).enumerate() {
        *db = sb ^ key[i % 4];
    }
}

#[cfg(test)]
mod tests {
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
