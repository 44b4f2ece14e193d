//! Inflating a compressed message (permessage-deflate, RFC 7692 7.2.2) as its frames
//! arrive: each frame's unmasked bytes go to the decompressor and leave the receive buffer,
//! the 4-octet trailer follows the final frame, and the output is checked (size, UTF-8) as it
//! is produced.
//!
//! Bounds: the inflated size never passes `max_message_size` by more than one byte (the
//! output space offered to the decompressor is capped there), so a bomb costs at most the
//! limit in memory and time in proportion to it. Message mode grows the message buffer by
//! doubling, never past the limit; fragment mode inflates at most [`PIECE`] bytes per step.

use alloc::vec::Vec;
use bytes::Bytes;

use super::Step;
use crate::config::ReceiveMode;
use crate::connection::Connection;
use crate::deflate::TRAILER;
use crate::error::ProtocolError;
use crate::event::Event;
use crate::message::{Fragment, Message, MessageKind, Utf8Bytes};

/// Most bytes inflated per step in fragment mode (one piece).
const PIECE: usize = 32 * 1024;

/// The least output space offered per call in message mode.
const MIN_SPACE: usize = 4 * 1024;

/// A compressed message being inflated.
#[derive(Default)]
pub(in crate::connection) struct Inflating {
    /// The inflated message (message mode) or the current piece (fragment mode).
    out: Vec<u8>,
    /// Bytes inflated so far, counted against `max_message_size`.
    inflated: u64,
    /// How much of the trailer was fed after the final frame.
    trailer_fed: usize,
    /// The last call filled the space it was given: more output may be pending.
    more: bool,
    /// The peer's data ended the deflate stream (a block with BFINAL set).
    ended: bool,
    /// Payload bytes of the message's frames consumed so far.
    wire: u64,
}

/// Reserves room for `space` more bytes in `out`, growing by doubling (amortized) but never
/// past `cap` bytes in all.
fn reserve_capped(out: &mut Vec<u8>, space: usize, cap: usize) {
    let need = out.len().saturating_add(space);
    if out.capacity() >= need {
        return;
    }
    let target = out.capacity().saturating_mul(2).min(cap).max(need);
    out.reserve_exact(target - out.len());
}

impl Connection {
    /// One step of a compressed data frame: `available` unmasked payload bytes are at the
    /// start of the receive buffer.
    pub(super) fn step_inflate(&mut self, available: usize) -> Step {
        let limit = self.config.limits.max_message_size;
        let fragments = self.config.receive_mode == ReceiveMode::Fragments;
        let (Some(frame), Some(m), Some(state)) = (
            self.rx.frame.as_mut(),
            self.rx.message.as_mut(),
            self.deflate.as_deref_mut(),
        ) else {
            return Step::Blocked;
        };
        let Some(z) = m.inflating.as_deref_mut() else {
            return Step::Blocked;
        };
        let fin = frame.header.fin;
        let from_peer = frame.remaining > 0;
        if z.ended {
            // The stream is over: only our own trailer may follow it.
            if from_peer && available > 0 {
                return self.fail_step(ProtocolError::InvalidCompressedData);
            }
            if from_peer {
                return Step::Blocked;
            }
            z.trailer_fed = TRAILER.len();
            z.more = false;
        }
        if !from_peer && fin && z.wire == 0 {
            // An empty payload is no deflate data at all (a conforming sender sends at least
            // the byte 0x00): the trailer alone would open a stored block that the next
            // message would run into, so it is not appended.
            z.trailer_fed = TRAILER.len();
        }
        let input: &[u8] = if from_peer {
            self.rx.buf.get(..available).unwrap_or_default()
        } else if fin {
            TRAILER.get(z.trailer_fed..).unwrap_or_default()
        } else {
            &[]
        };
        if input.is_empty() && !z.more {
            if from_peer {
                return Step::Blocked;
            }
            if !fin {
                // This frame is all inflated; the next one continues the stream.
                self.rx.frame = None;
                return Step::Progress;
            }
            return self.finish_inflated(None);
        }
        let left = usize::try_from(limit.saturating_sub(z.inflated)).unwrap_or(usize::MAX);
        // One byte past the limit tells a message that is too big.
        let cap = left.saturating_add(1);
        let space = if fragments {
            z.out.clear();
            PIECE.min(cap)
        } else {
            let want = input
                .len()
                .saturating_mul(4)
                .max(MIN_SPACE)
                .max(if z.more { z.out.len() } else { 0 })
                .min(cap);
            let total_cap = z.out.len().saturating_add(cap);
            reserve_capped(&mut z.out, want, total_cap);
            want
        };
        let before = z.out.len();
        let Ok(r) = state.inflate(input, &mut z.out, space) else {
            return self.fail_step(ProtocolError::InvalidCompressedData);
        };
        if r.consumed == 0 && r.produced == 0 && !r.stream_end && !input.is_empty() {
            // Input and room, yet no progress: not a stream zlib can go on with. (With no
            // input, nothing more is pending: the last call filled its space exactly.)
            return self.fail_step(ProtocolError::InvalidCompressedData);
        }
        if from_peer {
            z.wire = z.wire.saturating_add(r.consumed as u64);
            self.rx.premask.skip(&mut self.rx.buf, r.consumed);
            frame.remaining = frame.remaining.saturating_sub(r.consumed as u64);
            frame.consumed = frame.consumed.saturating_add(r.consumed as u64);
            frame.checked = frame.checked.saturating_sub(r.consumed);
        } else {
            z.trailer_fed = z.trailer_fed.saturating_add(r.consumed);
        }
        z.more = r.produced == space;
        z.ended |= r.stream_end;
        z.inflated = z.inflated.saturating_add(r.produced as u64);
        if z.inflated > limit {
            let len = z.inflated;
            return self.fail_step(ProtocolError::MessageTooLarge { len, limit });
        }
        let fresh = z.out.get(before..).unwrap_or_default();
        if m.kind == MessageKind::Text && m.utf8.feed(fresh).is_err() {
            return self.fail_step(ProtocolError::InvalidUtf8);
        }
        let done =
            fin && frame.remaining == 0 && !z.more && (z.ended || z.trailer_fed >= TRAILER.len());
        if fragments && (r.produced > 0 || done) {
            let piece = Bytes::copy_from_slice(&z.out);
            if done {
                return self.finish_inflated(Some(piece));
            }
            let first = !m.started;
            m.started = true;
            self.events.push_back(Event::Fragment(Fragment {
                kind: m.kind,
                data: piece,
                is_first: first,
                is_last: false,
            }));
            return Step::Progress;
        }
        if done {
            return self.finish_inflated(None);
        }
        Step::Progress
    }

    /// The compressed message is complete: deliver it (or its last piece), and let the
    /// decompressor drop its context if the peer does not keep it.
    fn finish_inflated(&mut self, last_piece: Option<Bytes>) -> Step {
        self.rx.frame = None;
        let Some(mut m) = self.rx.message.take() else {
            return Step::Progress;
        };
        let z = m.inflating.take().unwrap_or_default();
        if m.kind == MessageKind::Text && m.utf8.finish().is_err() {
            return self.fail_step(ProtocolError::InvalidUtf8);
        }
        if let Some(state) = self.deflate.as_deref_mut() {
            state.end_inbound(z.ended);
        }
        self.timers.note_data();
        let event = match self.config.receive_mode {
            ReceiveMode::Fragments => Event::Fragment(Fragment {
                kind: m.kind,
                data: last_piece.unwrap_or_default(),
                is_first: !m.started,
                is_last: true,
            }),
            ReceiveMode::Messages => {
                let mut out = z.out;
                // A small message must not hold a much larger buffer for as long as the
                // caller keeps it.
                if out.capacity() - out.len() > out.len() / 2 {
                    out.shrink_to_fit();
                }
                let data = Bytes::from(out);
                Event::Message(match m.kind {
                    MessageKind::Binary => Message::Binary(data),
                    MessageKind::Text => Message::Text(Utf8Bytes::from_validated(data)),
                })
            }
        };
        self.events.push_back(event);
        Step::Progress
    }
}
