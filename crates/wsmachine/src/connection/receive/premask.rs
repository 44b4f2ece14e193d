//! Unmasking payload while it is copied in by [`Connection::handle_input`], instead of in a
//! second pass over the receive buffer when the frame is decoded.
//!
//! The decoder is lazy: it parses a frame only when events are pulled, so that a protocol
//! failure never overtakes what the application queued in reply to earlier events. The
//! copy made by `handle_input` cannot wait for it. So this follows the frame boundaries of
//! the stream as the bytes are appended (headers decoded with the decoder's own
//! [`FrameHeader::decode`], nothing validated or acted on), masks each payload piece as it
//! copies it into the buffer's spare capacity (one pass: `spare::append_masked`), and
//! records which buffer bytes are already unmasked; the decoder unmasks only the others. It starts
//! following only from a point where the decoder's state says exactly where the stream's
//! end is (between frames, in a header, or in a payload); input appended in place
//! (`input_buffer`, `read_input`, `handle_input_owned`) is not followed, and it stops there.
//!
//! [`Connection::handle_input`]: crate::Connection::handle_input

use core::ops::Range;

use bytes::{Buf, BytesMut};

use crate::frame::{FrameHeader, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::spare::append_masked;

/// Frames with less payload than this are not followed: for them, following costs more
/// than the second pass it saves. In `benches/throughput.rs`, followed 1 KiB text frames
/// were received 7-10% slower than before following existed, 16 KiB binary frames 6-16%
/// faster.
const FOLLOW_FROM: u64 = 4096;

/// Where the stream's end is, frame-wise.
#[derive(Clone, Copy)]
struct Position {
    /// The start of the next frame's header, `have` bytes of it (when `remaining` is 0).
    header: [u8; MAX_HEADER_LEN],
    have: usize,
    /// Payload bytes of the current frame still to come.
    remaining: u64,
    key: Option<[u8; 4]>,
    /// The mask offset of the next payload byte.
    offset: u64,
}

impl Position {
    fn in_payload(key: Option<[u8; 4]>, offset: u64, remaining: u64) -> Position {
        Position {
            header: [0; MAX_HEADER_LEN],
            have: 0,
            remaining,
            key,
            offset,
        }
    }
}

/// Which receive-buffer bytes `handle_input` already unmasked, and where it is in the
/// stream if it is following it.
#[derive(Default)]
pub(super) struct Premask {
    at: Option<Position>,
    /// Buffer indexes whose payload bytes are already unmasked (headers in it never are
    /// masked). Empty when none are.
    done: Range<usize>,
}

impl Premask {
    /// Whether no unmasked bytes are pending for the decoder, so following may (re)start.
    fn idle(&self) -> bool {
        self.done.is_empty()
    }

    /// Starts following between frames, or inside a frame header whose first bytes
    /// (`partial`, not yet a whole header) are the whole buffer.
    pub(super) fn start_in_header(&mut self, partial: &[u8]) {
        if !self.idle() || !matches!(FrameHeader::decode(partial), Ok(None)) {
            return;
        }
        let mut at = Position::in_payload(None, 0, 0);
        // An incomplete header is shorter than the longest one; checked all the same.
        let Some(start) = at.header.get_mut(..partial.len()) else {
            return;
        };
        start.copy_from_slice(partial);
        at.have = partial.len();
        self.at = Some(at);
    }

    /// Starts following inside a payload: `remaining` more bytes of it, the next at mask
    /// offset `offset`.
    pub(super) fn start_in_payload(&mut self, key: Option<[u8; 4]>, offset: u64, remaining: u64) {
        if self.idle() && remaining >= FOLLOW_FROM {
            self.at = Some(Position::in_payload(key, offset, remaining));
        }
    }

    /// Whether it is following the stream (then `append` unmasks).
    pub(super) fn following(&self) -> bool {
        self.at.is_some()
    }

    /// Input was appended without it: it no longer knows where the stream's end is.
    pub(super) fn stop(&mut self) {
        self.at = None;
    }

    /// The buffer lost its first `n` bytes.
    #[inline]
    fn consumed(&mut self, n: usize) {
        self.done = self.done.start.saturating_sub(n)..self.done.end.saturating_sub(n);
    }

    /// Drops the first `n` bytes of `buf`, the receive buffer; every consumption of it goes
    /// through here or [`take`](Self::take), so the unmasked range moves with the bytes.
    #[inline]
    pub(super) fn skip(&mut self, buf: &mut BytesMut, n: usize) {
        self.consumed(n);
        buf.advance(n);
    }

    /// Splits off the first `n` bytes of `buf`, the receive buffer (see [`skip`](Self::skip)).
    #[inline]
    pub(super) fn take(&mut self, buf: &mut BytesMut, n: usize) -> BytesMut {
        self.consumed(n);
        buf.split_to(n)
    }

    /// The buffer was emptied.
    pub(super) fn clear(&mut self) {
        *self = Premask::default();
    }

    /// Appends `bytes` to `buf`, unmasking the payload bytes of the frames it follows as it
    /// copies them. Cost: one copy of `bytes` (a masked copy for followed payload), and one
    /// header decode per frame followed.
    pub(super) fn append(&mut self, buf: &mut BytesMut, mut bytes: &[u8]) {
        buf.reserve(bytes.len());
        if self.done.is_empty() {
            self.done = buf.len()..buf.len();
        }
        while let Some(at) = self.at.as_mut() {
            if bytes.is_empty() {
                break;
            }
            if at.remaining > 0 {
                let n = usize::try_from(at.remaining).map_or(bytes.len(), |r| r.min(bytes.len()));
                let (payload, rest) = bytes.split_at(n);
                match at.key {
                    Some(key) => append_masked(buf, payload, key, (at.offset % 4) as usize),
                    None => buf.extend_from_slice(payload),
                }
                at.offset = at.offset.wrapping_add(n as u64);
                at.remaining -= n as u64;
                bytes = rest;
            } else {
                let take = (MAX_HEADER_LEN - at.have).min(bytes.len());
                at.header[at.have..at.have + take].copy_from_slice(&bytes[..take]);
                match FrameHeader::decode(&at.header[..at.have + take]) {
                    Ok(Some((h, len))) => {
                        let used = len.saturating_sub(at.have).min(take);
                        buf.extend_from_slice(&bytes[..used]);
                        bytes = &bytes[used..];
                        if h.payload_len < FOLLOW_FROM && h.payload_len > 0 {
                            self.at = None;
                        } else {
                            *at = Position::in_payload(h.mask, 0, h.payload_len);
                        }
                    }
                    Ok(None) => {
                        buf.extend_from_slice(&bytes[..take]);
                        bytes = &bytes[take..];
                        at.have += take;
                    }
                    // The decoder fails the connection here; nothing after it is read.
                    Err(_) => self.at = None,
                }
            }
            self.done.end = buf.len();
        }
        buf.extend_from_slice(bytes);
    }

    /// Unmasks the payload bytes `range` of `buf`, the first at mask offset `offset`,
    /// except those `append` already unmasked.
    #[inline]
    pub(super) fn unmask(&self, buf: &mut [u8], range: Range<usize>, key: [u8; 4], offset: u64) {
        // The common case (nothing copied in unmasked, or not these bytes) stays inline.
        if self.done.is_empty() || self.done.end <= range.start || self.done.start >= range.end {
            if let Some(b) = buf.get_mut(range) {
                apply_mask(b, key, (offset % 4) as usize);
            }
            return;
        }
        self.unmask_around(buf, range, key, offset);
    }

    /// [`unmask`](Self::unmask) where `range` overlaps what `append` unmasked.
    fn unmask_around(&self, buf: &mut [u8], range: Range<usize>, key: [u8; 4], offset: u64) {
        let skip = self.done.start.max(range.start)..self.done.end.min(range.end);
        if let Some(b) = buf
            .get_mut(range.start..skip.start)
            .filter(|b| !b.is_empty())
        {
            apply_mask(b, key, (offset % 4) as usize);
        }
        let after = offset.wrapping_add(skip.end.saturating_sub(range.start) as u64);
        if let Some(b) = buf.get_mut(skip.end..range.end).filter(|b| !b.is_empty()) {
            apply_mask(b, key, (after % 4) as usize);
        }
    }
}
