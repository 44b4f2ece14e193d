//! Appending to a buffer bytes written straight into its spare capacity, with no zeroing
//! first: what a reader wrote there (`Connection::read_input`, with no `unsafe` on the
//! reader's side), or a payload masked as it is copied (`handle_input`, a client's send).
//!
//! The reader gets the spare capacity as `&mut [MaybeUninit<u8>]` and hands back the bytes it
//! filled as `&mut [u8]` (as `rustix::io::read`, `std::io::BorrowedBuf` or
//! `<[MaybeUninit<u8>]>::write_copy_of_slice` do). Returning a `&mut [u8]` over those exact
//! bytes proves they are initialised: that proof is what the `set_len` in [`append_read`]
//! relies on. A slice anywhere else is copied in instead, so no reader can make the buffer
//! claim bytes it did not write. The masked copy ([`append_masked`]) writes every byte it
//! counts (`mask::copy_masked_into`'s contract, checked here under Miri, which reports any
//! read of a byte left unwritten).

#![allow(unsafe_code)]

use alloc::vec::Vec;
use core::mem::MaybeUninit;

use bytes::BytesMut;

/// Lets `read` fill at most `max` bytes of `buf`'s spare capacity and appends what it filled
/// (the slice it returns). Returns the number of bytes appended, or `read`'s error (nothing
/// appended). Cost: none beyond `read`, when it returns a prefix of the slice it was given;
/// a copy of what it returns otherwise.
pub(crate) fn append_read<E>(
    buf: &mut BytesMut,
    max: usize,
    read: impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> Result<&'a mut [u8], E>,
) -> Result<usize, E> {
    let len = buf.len();
    let spare = buf.spare_capacity_mut();
    let max = max.min(spare.len());
    let start = spare.as_ptr().cast::<u8>();
    let filled = read(&mut spare[..max])?;
    let n = filled.len();
    if core::ptr::eq(filled.as_ptr(), start) && n <= max {
        // SAFETY: `filled` was a live `&mut [u8]` starting at the first byte of `buf`'s spare
        // capacity and no longer than the part lent (which lies within the capacity), so it
        // covered exactly bytes `len..len + n` of the buffer's allocation: a valid `&mut [u8]`
        // can only exist over initialised bytes, and nothing has written to them since.
        unsafe { buf.set_len(len + n) };
    } else {
        // Not the bytes lent (the reader's own buffer, or a part further in): copied.
        let copy: Vec<u8> = filled.to_vec();
        buf.extend_from_slice(&copy);
    }
    Ok(n)
}

/// Appends `src` masked with `key` to `buf`, `src` starting `offset` bytes into its payload:
/// masked as it is copied, straight into the spare capacity. Cost: one read of `src` and one
/// write, 32 or 64 bytes per step where the CPU allows; a reallocation if the spare capacity
/// is short.
pub(crate) fn append_masked(buf: &mut BytesMut, src: &[u8], key: [u8; 4], offset: usize) {
    buf.reserve(src.len());
    let len = buf.len();
    let spare = buf.spare_capacity_mut();
    let written = crate::mask::copy_masked_into(spare, src, key, offset);
    // SAFETY: `copy_masked_into` wrote each of the first `written` slots of the spare
    // capacity (it writes every slot it counts), so bytes `len..len + written` of the
    // allocation are initialised, and `written` is at most the spare capacity.
    unsafe { buf.set_len(len + written) };
    // After the reserve the spare capacity holds all of `src`; were it ever short, the rest
    // is still appended, masked in place.
    if let Some(rest) = src.get(written..).filter(|r| !r.is_empty()) {
        let start = buf.len();
        buf.extend_from_slice(rest);
        if let Some(fresh) = buf.get_mut(start..) {
            crate::mask::apply_mask(fresh, key, offset.wrapping_add(written));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that writes `data` at the start of what it is lent, as a socket read does.
    fn fill(
        data: &[u8],
    ) -> impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> Result<&'a mut [u8], ()> + '_ {
        move |spare| {
            let n = data.len().min(spare.len());
            Ok(spare[..n].write_copy_of_slice(&data[..n]))
        }
    }

    #[test]
    fn a_prefix_is_appended_in_place() {
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(b"ab");
        let before = buf.as_ptr();
        assert_eq!(append_read(&mut buf, 64, fill(b"cdef")), Ok(4));
        assert_eq!(&buf[..], b"abcdef");
        assert_eq!(buf.as_ptr(), before, "no reallocation");
    }

    #[test]
    fn the_reader_gets_at_most_max_and_at_most_the_spare_capacity() {
        let mut buf = BytesMut::with_capacity(16);
        assert_eq!(append_read(&mut buf, 3, fill(b"0123456789")), Ok(3));
        assert_eq!(&buf[..], b"012");
        let spare = buf.capacity() - buf.len();
        let n = append_read(&mut buf, usize::MAX, |s: &mut [MaybeUninit<u8>]| {
            assert_eq!(s.len(), spare);
            Ok::<_, ()>(&mut [][..])
        });
        assert_eq!(n, Ok(0));
        assert_eq!(&buf[..], b"012");
    }

    #[test]
    fn a_full_buffer_lends_an_empty_slice() {
        let mut buf = BytesMut::new();
        assert_eq!(append_read(&mut buf, 10, fill(b"xyz")), Ok(0));
        assert!(buf.is_empty());
    }

    #[test]
    fn an_error_appends_nothing() {
        let mut buf = BytesMut::with_capacity(8);
        buf.extend_from_slice(b"k");
        let r = append_read(&mut buf, 8, |s: &mut [MaybeUninit<u8>]| {
            s[0].write(b'!');
            Err::<&mut [u8], _>("reset")
        });
        assert_eq!(r, Err("reset"));
        assert_eq!(&buf[..], b"k");
    }

    /// Every byte appended is the masked source byte: under Miri, reading a byte the copy
    /// left unwritten is an error.
    #[test]
    fn a_masked_copy_appends_every_byte_masked() {
        let (key, data, lens) = crate::mask::tests::sample();
        for len in lens {
            for (lead, offset) in [(0, 0), (1, 1), (3, 2), (5, 3), (64, 5)] {
                let src = &data[..len];
                let mut buf = BytesMut::with_capacity(lead);
                buf.extend_from_slice(&data[..lead]);
                append_masked(&mut buf, src, key, offset);
                let masked: Vec<u8> = src
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ key[(i + offset) % 4])
                    .collect();
                assert_eq!(&buf[..lead], &data[..lead]);
                assert_eq!(
                    &buf[lead..],
                    &masked[..],
                    "len {len} lead {lead} offset {offset}"
                );
            }
        }
    }

    #[test]
    fn a_slice_that_is_not_the_start_of_the_lent_bytes_is_copied() {
        let mut buf = BytesMut::with_capacity(32);
        buf.extend_from_slice(b">");
        let r = append_read(&mut buf, 32, |s: &mut [MaybeUninit<u8>]| {
            let filled = s[..6].write_copy_of_slice(b"skipme");
            Ok::<_, ()>(&mut filled[4..])
        });
        assert_eq!(r, Ok(2));
        assert_eq!(&buf[..], b">me");
    }
}
