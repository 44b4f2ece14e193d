//! The outgoing side: the role-fixed frame encoder and the queue of bytes to write.
//!
//! Frames wait whole in two queues: `urgent` (pongs, keepalive pings, the Close that fails a
//! connection) and `data` (messages, handshake bytes, an ordinary Close, in call order). The
//! writer finishes the frame it has started, then takes urgent frames first, so a pong or a
//! Close can go out between the frames of a large message without ever splitting a frame.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use bytes::{Bytes, BytesMut};

use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use crate::mask::apply_mask;
use crate::random::RandomSource;

/// Payloads up to this size are copied next to their header, so a small frame is one chunk.
const COALESCE_LIMIT: usize = 512;

/// Encodes frames for one role. A server encoder has no random source and cannot mask; a
/// client encoder masks every frame with a fresh key. The role is fixed when it is built.
pub(crate) enum Encoder {
    Server,
    Client(Box<dyn RandomSource>),
}

impl Encoder {
    /// Builds one frame. Cost: server frames over 512 bytes share `payload` without a copy;
    /// client frames copy the payload once to mask it (the caller's bytes are never changed).
    pub(crate) fn encode(
        &mut self,
        fin: bool,
        opcode: OpCode,
        payload: Bytes,
        kind: FrameKind,
    ) -> OutFrame {
        let mut head = [0u8; MAX_HEADER_LEN];
        let mask = match self {
            Encoder::Server => None,
            Encoder::Client(rng) => {
                let mut key = [0u8; 4];
                rng.fill(&mut key);
                Some(key)
            }
        };
        let header = FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let head_len = header.encode(&mut head);
        match mask {
            None if payload.len() > COALESCE_LIMIT => OutFrame {
                head,
                head_len: head_len as u8,
                payload,
                written: 0,
                kind,
            },
            _ => {
                let mut whole = BytesMut::with_capacity(head_len + payload.len());
                whole.extend_from_slice(&head[..head_len]);
                whole.extend_from_slice(&payload);
                if let Some(key) = mask {
                    apply_mask(&mut whole[head_len..], key, 0);
                }
                OutFrame {
                    head,
                    head_len: 0,
                    payload: whole.freeze(),
                    written: 0,
                    kind,
                }
            }
        }
    }
}

/// What a queued frame is, for coalescing pongs and for accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Data,
    Ping,
    Pong,
    Close,
    /// Raw handshake bytes (no frame header).
    Handshake,
}

/// A frame (or raw handshake bytes) waiting to be written: an inline header and a payload.
pub(crate) struct OutFrame {
    head: [u8; MAX_HEADER_LEN],
    head_len: u8,
    payload: Bytes,
    written: usize,
    kind: FrameKind,
}

impl OutFrame {
    /// Raw bytes with no frame header (handshake request or response).
    pub(crate) fn raw(bytes: Bytes) -> OutFrame {
        OutFrame {
            head: [0; MAX_HEADER_LEN],
            head_len: 0,
            payload: bytes,
            written: 0,
            kind: FrameKind::Handshake,
        }
    }

    fn len(&self) -> usize {
        usize::from(self.head_len) + self.payload.len()
    }

    fn remaining(&self) -> usize {
        self.len() - self.written
    }

    /// The unwritten bytes as at most two slices.
    fn slices(&self) -> impl Iterator<Item = &[u8]> {
        let h = usize::from(self.head_len);
        let head = self.head.get(self.written.min(h)..h).unwrap_or_default();
        let payload = self
            .payload
            .get(self.written.saturating_sub(h)..)
            .unwrap_or_default();
        [head, payload].into_iter().filter(|s| !s.is_empty())
    }
}

/// The queue of bytes to write, in the order they must hit the wire.
pub(crate) struct Transmitter {
    pub(crate) encoder: Encoder,
    /// The frame partly written, which must finish before any other.
    current: Option<OutFrame>,
    urgent: VecDeque<OutFrame>,
    data: VecDeque<OutFrame>,
    /// Unwritten bytes of data frames (counted against `max_send_queue`).
    data_bytes: usize,
    /// Unwritten bytes in total.
    total_bytes: usize,
    /// The transport can no longer be written: everything is dropped.
    dead: bool,
}

impl Transmitter {
    pub(crate) fn new(encoder: Encoder) -> Self {
        Transmitter {
            encoder,
            current: None,
            urgent: VecDeque::new(),
            data: VecDeque::new(),
            data_bytes: 0,
            total_bytes: 0,
            dead: false,
        }
    }

    /// Unwritten bytes of data frames.
    pub(crate) fn data_bytes(&self) -> usize {
        self.data_bytes
    }

    /// Unwritten bytes in total.
    pub(crate) fn total_bytes(&self) -> usize {
        self.total_bytes
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.dead
    }

    fn account(&mut self, frame: &OutFrame, add: bool) {
        let n = frame.remaining();
        let data = matches!(frame.kind, FrameKind::Data);
        if add {
            self.total_bytes += n;
            if data {
                self.data_bytes += n;
            }
        } else {
            self.total_bytes -= n;
            if data {
                self.data_bytes -= n;
            }
        }
    }

    /// Queues a frame behind the data already queued.
    pub(crate) fn push_data(&mut self, frame: OutFrame) {
        if !self.dead {
            self.account(&frame, true);
            self.data.push_back(frame);
        }
    }

    /// Queues a frame ahead of queued data (after the frame being written). A pong replaces
    /// an unstarted pong, so at most one waits.
    pub(crate) fn push_urgent(&mut self, frame: OutFrame) {
        if self.dead {
            return;
        }
        if frame.kind == FrameKind::Pong {
            if let Some(i) = self.urgent.iter().position(|f| f.kind == FrameKind::Pong) {
                let old = self.urgent.remove(i);
                if let Some(old) = old {
                    self.account(&old, false);
                }
            }
        }
        self.account(&frame, true);
        self.urgent.push_back(frame);
    }

    /// Drops every queued data frame that has not started (a failed connection sends nothing
    /// more but its Close).
    pub(crate) fn drop_unstarted_data(&mut self) {
        while let Some(f) = self.data.pop_back() {
            self.account(&f, false);
        }
    }

    /// The transport is gone: drop everything, and ignore later pushes.
    pub(crate) fn kill(&mut self) {
        self.dead = true;
        self.current = None;
        self.urgent.clear();
        self.data.clear();
        self.data_bytes = 0;
        self.total_bytes = 0;
    }

    /// How many pongs are queued (an unstarted one plus at most one being written).
    pub(crate) fn pong_queued(&self) -> usize {
        self.urgent
            .iter()
            .filter(|f| f.kind == FrameKind::Pong)
            .count()
            + usize::from(
                self.current
                    .as_ref()
                    .is_some_and(|f| f.kind == FrameKind::Pong),
            )
    }

    /// The unwritten bytes, in wire order, as slices (for a vectored write).
    pub(crate) fn slices(&self) -> impl Iterator<Item = &[u8]> {
        self.current
            .iter()
            .chain(self.urgent.iter())
            .chain(self.data.iter())
            .flat_map(OutFrame::slices)
    }

    fn next_frame(&mut self) -> Option<OutFrame> {
        self.current
            .take()
            .or_else(|| self.urgent.pop_front())
            .or_else(|| self.data.pop_front())
    }

    /// Marks `n` bytes as written, in wire order. More than is queued is clamped.
    pub(crate) fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(mut frame) = self.next_frame() else {
                return;
            };
            let take = n.min(frame.remaining());
            frame.written += take;
            n -= take;
            self.total_bytes -= take;
            if frame.kind == FrameKind::Data {
                self.data_bytes -= take;
            }
            if frame.remaining() > 0 {
                self.current = Some(frame);
            }
        }
    }

    /// Takes the next unwritten chunk as owned bytes (a header, a payload, or both in one).
    /// Cost: a header split from a large payload is copied (at most 14 bytes).
    pub(crate) fn pop_chunk(&mut self) -> Option<Bytes> {
        let frame = self.next_frame()?;
        let h = usize::from(frame.head_len);
        let chunk = if frame.written < h {
            Bytes::copy_from_slice(&frame.head[frame.written..h])
        } else {
            frame.payload.slice(frame.written - h..)
        };
        self.current = Some(frame);
        self.advance(chunk.len());
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use alloc::vec::Vec;

    fn collect(t: &Transmitter) -> Vec<u8> {
        t.slices().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn server_never_masks_and_client_always_does() {
        let mut s = Encoder::Server;
        let mut c = Encoder::Client(Box::new(SeededRandom::from_u64(1)));
        for len in [0usize, 5, 600, 70_000] {
            let p = Bytes::from(alloc::vec![7u8; len]);
            let mut t = Transmitter::new(Encoder::Server);
            t.push_data(s.encode(true, OpCode::Binary, p.clone(), FrameKind::Data));
            assert_eq!(collect(&t)[1] & 0x80, 0);
            let mut t = Transmitter::new(Encoder::Server);
            t.push_data(c.encode(true, OpCode::Binary, p, FrameKind::Data));
            assert_eq!(collect(&t)[1] & 0x80, 0x80);
        }
    }

    #[test]
    fn urgent_frames_wait_for_the_started_frame_then_jump_the_queue() {
        let mut t = Transmitter::new(Encoder::Server);
        let big = Bytes::from(alloc::vec![1u8; 1000]);
        t.push_data(t_enc(OpCode::Binary, big.clone()));
        t.push_data(t_enc(OpCode::Binary, big));
        t.advance(3);
        t.push_urgent(Encoder::Server.encode(
            true,
            OpCode::Pong,
            Bytes::from_static(b"p"),
            FrameKind::Pong,
        ));
        let bytes = collect(&t);
        // The rest of the first frame (1004 - 3 bytes), then the pong, then the second frame.
        assert_eq!(&bytes[1001..1004], &[0x8a, 1, b'p']);
        assert_eq!(t.total_bytes(), bytes.len());
        let mut popped = Vec::new();
        while let Some(c) = t.pop_chunk() {
            popped.extend_from_slice(&c);
        }
        assert_eq!(popped, bytes);
        assert_eq!((t.total_bytes(), t.data_bytes()), (0, 0));
    }

    #[test]
    fn only_one_unstarted_pong_waits() {
        let mut t = Transmitter::new(Encoder::Server);
        for i in 0..1000u32 {
            t.push_urgent(Encoder::Server.encode(
                true,
                OpCode::Pong,
                Bytes::from(i.to_be_bytes().to_vec()),
                FrameKind::Pong,
            ));
        }
        assert_eq!(t.pong_queued(), 1);
        assert_eq!(collect(&t), [0x8a, 4, 0, 0, 3, 0xe7]);
    }

    fn t_enc(op: OpCode, p: Bytes) -> OutFrame {
        Encoder::Server.encode(true, op, p, FrameKind::Data)
    }
}
