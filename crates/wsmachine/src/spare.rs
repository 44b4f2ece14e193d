//! Appending to a buffer what a reader wrote into its spare capacity, with no zeroing first
//! and no `unsafe` on the reader's side (`Connection::read_input`).
//!
//! The reader gets the spare capacity as `&mut [MaybeUninit<u8>]` and hands back the bytes it
//! filled as `&mut [u8]` (as `rustix::io::read`, `std::io::BorrowedBuf` or
//! `<[MaybeUninit<u8>]>::write_copy_of_slice` do). Returning a `&mut [u8]` over those exact
//! bytes proves they are initialised: that proof is what the one `set_len` here relies on.
//! A slice anywhere else is copied in instead, so no reader can make the buffer claim bytes
//! it did not write.

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
