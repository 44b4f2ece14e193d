//! The outgoing side: the role-fixed frame encoder and the queue of bytes to write.
//!
//! Frames wait whole in two queues: `urgent` (pongs, keepalive pings, the Close that fails a
//! connection) and `data` (messages, handshake bytes, an ordinary Close, in call order). The
//! writer finishes the frame it has started, then takes urgent frames first, so a pong or a
//! Close can go out between the frames of a large message without ever splitting a frame.

use alloc::boxed::Box;
use alloc::collections::{VecDeque, vec_deque};
use bytes::{Bytes, BytesMut};

use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use crate::random::RandomSource;
use crate::spare::append_masked;

/// Server data frames with payloads up to this size are appended to a shared staging buffer
/// instead of being queued alone: no allocation per small frame. (A client stages every
/// data frame, since it copies each payload to mask it anyway.)
const COALESCE_LIMIT: usize = 512;

/// The staging buffer is closed into one queued chunk at this size, so that an urgent frame
/// never waits behind more than about this much already-started output.
const STAGING_LIMIT: usize = 16 * 1024;

/// Encodes frames for one role. A server encoder has no random source and cannot mask; a
/// client encoder masks every frame with a fresh key. The role is fixed when it is built.
pub(crate) enum Encoder {
    Server,
    Client(MaskKeys),
}

/// Masking keys drawn from the random source 16 at a time (one generator call per 16 frames).
pub(crate) struct MaskKeys {
    random: Box<dyn RandomSource>,
    batch: [u8; 64],
    next: usize,
    /// Recording: every byte drawn, until the recorder takes them.
    #[cfg(feature = "record")]
    pub(crate) drawn: Option<alloc::vec::Vec<u8>>,
}

impl MaskKeys {
    fn next_key(&mut self) -> [u8; 4] {
        if self.next + 4 > self.batch.len() {
            self.random.fill(&mut self.batch);
            self.next = 0;
            #[cfg(feature = "record")]
            if let Some(d) = self.drawn.as_mut() {
                d.extend_from_slice(&self.batch);
            }
        }
        let mut key = [0u8; 4];
        key.copy_from_slice(&self.batch[self.next..self.next + 4]);
        self.next += 4;
        key
    }
}

impl Encoder {
    /// A client encoder: every frame it builds is masked with a key from `random`.
    pub(crate) fn client(random: Box<dyn RandomSource>) -> Encoder {
        Encoder::Client(MaskKeys {
            random,
            batch: [0; 64],
            next: 64,
            #[cfg(feature = "record")]
            drawn: None,
        })
    }

    /// Appends one whole frame to `out` (RSV bits `rsv`), masking the copied payload for a
    /// client. Cost: one copy of the payload (masked in place while in cache, for a client);
    /// the header is written with fixed-size stores.
    #[inline]
    fn encode_into(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: OpCode,
        payload: &[u8],
        out: &mut BytesMut,
    ) {
        let len = payload.len();
        let key = match self {
            Encoder::Server => None,
            Encoder::Client(keys) => Some(keys.next_key()),
        };
        let b0 = (u8::from(fin) << 7) | ((rsv & 0x07) << 4) | opcode.as_u8();
        let m = if key.is_some() { 0x80 } else { 0 };
        out.reserve(MAX_HEADER_LEN + len);
        // The shortest length form, as `FrameHeader::encode` writes it.
        if len <= 125 {
            out.extend_from_slice(&[b0, m | len as u8]);
        } else if let Ok(short) = u16::try_from(len) {
            let [hi, lo] = short.to_be_bytes();
            out.extend_from_slice(&[b0, m | 126, hi, lo]);
        } else {
            let l = (len as u64).to_be_bytes();
            out.extend_from_slice(&[b0, m | 127, l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7]]);
        }
        if let Some(key) = key {
            out.extend_from_slice(&key);
        }
        match key {
            Some(key) => append_masked(out, payload, key, 0),
            None => out.extend_from_slice(payload),
        }
    }

    /// Builds one frame to queue alone. Cost: a server's payload is shared without a copy
    /// or an allocation (the header is inline); a client's frame is one allocation (the
    /// masking copy).
    pub(crate) fn encode(
        &mut self,
        fin: bool,
        opcode: OpCode,
        payload: Bytes,
        kind: FrameKind,
    ) -> OutFrame {
        self.encode_rsv(fin, 0, opcode, payload, kind)
    }

    /// [`encode`](Self::encode) with RSV bits `rsv`.
    fn encode_rsv(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: OpCode,
        payload: Bytes,
        kind: FrameKind,
    ) -> OutFrame {
        if matches!(self, Encoder::Server) {
            let mut head = [0u8; MAX_HEADER_LEN];
            let n = FrameHeader {
                fin,
                rsv,
                opcode,
                mask: None,
                payload_len: payload.len() as u64,
            }
            .encode(&mut head);
            return OutFrame {
                head,
                head_len: n as u8,
                payload,
                written: 0,
                kind,
            };
        }
        let mut whole = BytesMut::new();
        self.encode_into(fin, rsv, opcode, &payload, &mut whole);
        OutFrame {
            head: [0; MAX_HEADER_LEN],
            head_len: 0,
            payload: whole.freeze(),
            written: 0,
            kind,
        }
    }
}

/// What a queued frame is, for coalescing pongs and for accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    /// Data frames (or a chunk of whole small data frames) and an ordinary Close.
    Data,
    Ping,
    Pong,
    /// Raw handshake bytes (no frame header).
    Handshake,
}

/// A frame (or a chunk of whole frames, or raw handshake bytes) waiting to be written: an
/// inline header and a payload. Another frame is never inserted inside one.
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
        OutFrame::chunk(bytes, FrameKind::Handshake)
    }

    fn chunk(bytes: Bytes, kind: FrameKind) -> OutFrame {
        OutFrame {
            head: [0; MAX_HEADER_LEN],
            head_len: 0,
            payload: bytes,
            written: 0,
            kind,
        }
    }

    fn len(&self) -> usize {
        usize::from(self.head_len) + self.payload.len()
    }

    fn remaining(&self) -> usize {
        self.len() - self.written
    }

    /// The unwritten bytes: the rest of the header, then the rest of the payload (either
    /// may be empty).
    fn unwritten(&self) -> (&[u8], &[u8]) {
        let h = usize::from(self.head_len);
        let head = self.head.get(self.written.min(h)..h).unwrap_or_default();
        let payload = self
            .payload
            .get(self.written.saturating_sub(h)..)
            .unwrap_or_default();
        (head, payload)
    }
}

/// The frames queued ahead of the staging buffer, in wire order.
type Queued<'a> = core::iter::Chain<
    core::iter::Chain<core::option::Iter<'a, OutFrame>, vec_deque::Iter<'a, OutFrame>>,
    vec_deque::Iter<'a, OutFrame>,
>;

/// The unwritten output as non-empty slices, in wire order: each queued frame's header and
/// payload, then the staging buffer. When only small frames are waiting (the common case)
/// it is the staging buffer alone, without walking the queues.
pub(crate) struct Slices<'a> {
    /// The queued frames, `None` once done or when there are none.
    queued: Option<Queued<'a>>,
    /// A payload to hand out after its header.
    pending: &'a [u8],
    /// The staging buffer, `None` once handed out. Kept as the buffer, not as a slice of
    /// it: its length was usually just stored (a send), and reading pointer and length back
    /// as one 16-byte load would wait for that store (a store-forwarding stall that was a
    /// fifth of a small send in the bench).
    staging: Option<&'a BytesMut>,
}

impl<'a> Iterator for Slices<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if !self.pending.is_empty() {
            return Some(core::mem::take(&mut self.pending));
        }
        if let Some(queued) = &mut self.queued {
            for frame in queued.by_ref() {
                match frame.unwritten() {
                    (head, payload) if !head.is_empty() => {
                        self.pending = payload;
                        return Some(head);
                    }
                    (_, payload) if !payload.is_empty() => return Some(payload),
                    _ => {}
                }
            }
            self.queued = None;
        }
        let staging = self.staging.take()?;
        let len = staging.len();
        (len > 0).then(|| &staging[..len])
    }
}

/// The queue of bytes to write, in the order they must hit the wire: the started frame,
/// urgent frames, queued data, then the staging buffer of small data frames.
pub(crate) struct Transmitter {
    pub(crate) encoder: Encoder,
    /// The frame partly written, which must finish before any other.
    current: Option<OutFrame>,
    urgent: VecDeque<OutFrame>,
    data: VecDeque<OutFrame>,
    /// Whole small data frames, not started, after everything in `data`.
    staging: BytesMut,
    /// Unwritten bytes of data frames (counted against `max_send_queue`).
    data_bytes: usize,
    /// Unwritten bytes in total.
    total_bytes: usize,
    /// Bytes of unstarted pongs in `urgent`.
    pong_bytes: usize,
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
            staging: BytesMut::new(),
            data_bytes: 0,
            total_bytes: 0,
            pong_bytes: 0,
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

    fn add(&mut self, n: usize, kind: FrameKind) {
        self.total_bytes += n;
        if kind == FrameKind::Data {
            self.data_bytes += n;
        }
    }

    fn sub(&mut self, n: usize, kind: FrameKind) {
        // Every byte added under a kind is removed under the same kind; the debug check
        // (on in fuzz builds) catches a mismatch, release builds never underflow.
        debug_assert!(n <= self.total_bytes);
        self.total_bytes = self.total_bytes.saturating_sub(n);
        if kind == FrameKind::Data {
            debug_assert!(n <= self.data_bytes);
            self.data_bytes = self.data_bytes.saturating_sub(n);
        }
    }

    /// Queues a data frame (or an ordinary Close) behind the data already queued. Small ones
    /// are appended to the staging buffer.
    pub(crate) fn push_data_frame(&mut self, fin: bool, opcode: OpCode, payload: Bytes) {
        self.push_data_frame_rsv(fin, 0, opcode, payload);
    }

    /// [`push_data_frame`](Self::push_data_frame) with RSV bits `rsv` (RSV1 marks the first
    /// frame of a compressed message).
    pub(crate) fn push_data_frame_rsv(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: OpCode,
        payload: Bytes,
    ) {
        if self.dead {
            return;
        }
        // A client copies every payload to mask it: into the staging buffer, whose memory is
        // reused once written, rather than a fresh allocation per frame. A server stages
        // only small frames and shares large payloads without a copy.
        let stage = payload.len() <= COALESCE_LIMIT || matches!(self.encoder, Encoder::Client(_));
        if stage {
            self.push_data_slice(fin, rsv, opcode, &payload);
        } else {
            let frame = self
                .encoder
                .encode_rsv(fin, rsv, opcode, payload, FrameKind::Data);
            self.push_data(frame);
        }
    }

    /// Queues a data frame copied from `payload` into the staging buffer (masked for a
    /// client), behind the data already queued.
    pub(crate) fn push_data_slice(&mut self, fin: bool, rsv: u8, opcode: OpCode, payload: &[u8]) {
        if self.dead {
            return;
        }
        let before = self.staging.len();
        self.encoder
            .encode_into(fin, rsv, opcode, payload, &mut self.staging);
        self.add(self.staging.len() - before, FrameKind::Data);
        if self.staging.len() >= STAGING_LIMIT {
            self.close_staging();
        }
    }

    /// Moves the staging buffer into the data queue as one chunk (already counted).
    fn close_staging(&mut self) {
        if !self.staging.is_empty() {
            let chunk = self.staging.split().freeze();
            self.data.push_back(OutFrame::chunk(chunk, FrameKind::Data));
        }
    }

    /// Queues a prepared frame behind the data already queued.
    pub(crate) fn push_data(&mut self, frame: OutFrame) {
        if !self.dead {
            self.close_staging();
            self.add(frame.remaining(), frame.kind);
            self.data.push_back(frame);
        }
    }

    /// Queues raw handshake bytes (request or response) so that nothing can go before them:
    /// they are the connection's first output, so they become the started frame, which
    /// urgent frames wait for and failures do not drop.
    pub(crate) fn push_handshake(&mut self, bytes: Bytes) {
        if self.dead {
            return;
        }
        let frame = OutFrame::raw(bytes);
        self.add(frame.remaining(), frame.kind);
        match self.current {
            None => self.current = Some(frame),
            Some(_) => self.urgent.push_front(frame),
        }
    }

    /// Queues a frame ahead of queued data (after the frame being written). A ping replaces
    /// an unstarted ping, so at most one waits.
    pub(crate) fn push_urgent(&mut self, frame: OutFrame) {
        if self.dead {
            return;
        }
        if frame.kind == FrameKind::Ping {
            self.remove_first_unstarted(FrameKind::Ping);
        }
        self.add(frame.remaining(), frame.kind);
        self.urgent.push_back(frame);
    }

    /// Queues a pong behind the pongs already waiting, so pings are answered in order. While
    /// unstarted pongs would then hold more than `budget` bytes, the oldest are dropped: the
    /// latest pings are answered (RFC 6455 5.5.3) and the backlog stays bounded.
    pub(crate) fn push_pong(&mut self, frame: OutFrame, budget: usize) {
        if self.dead {
            return;
        }
        let len = frame.remaining();
        while self.pong_bytes.saturating_add(len) > budget {
            if !self.remove_first_unstarted(FrameKind::Pong) {
                break;
            }
        }
        self.pong_bytes += len;
        self.add(len, FrameKind::Pong);
        self.urgent.push_back(frame);
    }

    /// Removes the first unstarted frame of `kind` from the urgent queue; false if none.
    fn remove_first_unstarted(&mut self, kind: FrameKind) -> bool {
        let Some(old) = self
            .urgent
            .iter()
            .position(|f| f.kind == kind)
            .and_then(|i| self.urgent.remove(i))
        else {
            return false;
        };
        self.sub(old.remaining(), old.kind);
        if kind == FrameKind::Pong {
            self.pong_bytes = self.pong_bytes.saturating_sub(old.remaining());
        }
        true
    }

    /// The transport is gone: drop everything, and ignore later pushes.
    pub(crate) fn kill(&mut self) {
        self.dead = true;
        self.current = None;
        self.urgent.clear();
        self.data.clear();
        self.staging = BytesMut::new();
        self.data_bytes = 0;
        self.total_bytes = 0;
        self.pong_bytes = 0;
    }

    /// Bytes of pongs queued and not started (bounded by the pong budget).
    #[cfg(test)]
    pub(crate) fn pong_backlog(&self) -> usize {
        self.pong_bytes
    }

    /// How many pongs are queued, including one being written.
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

    /// The unwritten bytes, in wire order, as non-empty slices (for a vectored write).
    #[inline]
    pub(crate) fn slices(&self) -> Slices<'_> {
        let queued = self.current.is_some() || !self.urgent.is_empty() || !self.data.is_empty();
        Slices {
            queued: queued.then(|| {
                self.current
                    .iter()
                    .chain(self.urgent.iter())
                    .chain(self.data.iter())
            }),
            pending: &[],
            staging: Some(&self.staging),
        }
    }

    fn next_frame(&mut self) -> Option<OutFrame> {
        if let Some(f) = self.current.take() {
            return Some(f);
        }
        if let Some(f) = self.urgent.pop_front() {
            if f.kind == FrameKind::Pong {
                // It is being written now: no longer part of the droppable backlog.
                self.pong_bytes = self.pong_bytes.saturating_sub(f.remaining());
            }
            return Some(f);
        }
        self.data.pop_front()
    }

    /// Marks `n` bytes as written, in wire order. More than is queued is clamped.
    pub(crate) fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(mut frame) = self.next_frame() else {
                if self.staging.is_empty() {
                    return;
                }
                if n >= self.staging.len() {
                    // All staged frames written: reuse the buffer as it is.
                    self.sub(self.staging.len(), FrameKind::Data);
                    self.staging.clear();
                    return;
                }
                // Partly written: it becomes the started chunk that nothing may cut into.
                self.close_staging();
                continue;
            };
            let take = n.min(frame.remaining());
            frame.written += take;
            n -= take;
            self.sub(take, frame.kind);
            if frame.remaining() > 0 {
                self.current = Some(frame);
            }
        }
    }

    /// Takes the next unwritten chunk as owned bytes (a header, a payload, or several small
    /// frames in one). Cost: a header split from a large payload is copied (at most 14 bytes).
    pub(crate) fn pop_chunk(&mut self) -> Option<Bytes> {
        let frame = match self.next_frame() {
            Some(f) => f,
            None => {
                self.close_staging();
                self.data.pop_front()?
            }
        };
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
        let mut c = Encoder::client(Box::new(SeededRandom::from_u64(1)));
        for len in [0usize, 5, 600, 70_000] {
            let p = Bytes::from(alloc::vec![7u8; len]);
            let mut t = Transmitter::new(Encoder::Server);
            t.push_data(s.encode(true, OpCode::Binary, p.clone(), FrameKind::Data));
            t.push_data_frame(true, OpCode::Binary, p.clone());
            assert_eq!(collect(&t)[1] & 0x80, 0);
            let mut t = Transmitter::new(Encoder::Server);
            t.push_data(c.encode(true, OpCode::Binary, p, FrameKind::Data));
            assert_eq!(collect(&t)[1] & 0x80, 0x80);
            let mut t = Transmitter::new(Encoder::client(Box::new(SeededRandom::from_u64(2))));
            t.push_data_frame(true, OpCode::Binary, Bytes::from(alloc::vec![7u8; len]));
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

    fn pong(i: u32) -> OutFrame {
        Encoder::Server.encode(
            true,
            OpCode::Pong,
            Bytes::from(i.to_be_bytes().to_vec()),
            FrameKind::Pong,
        )
    }

    #[test]
    fn pongs_go_out_in_order_within_the_budget_then_the_oldest_are_dropped() {
        let mut t = Transmitter::new(Encoder::Server);
        for i in 0..10u32 {
            t.push_pong(pong(i), 60);
        }
        // Ten 6-byte pongs fit in 60 bytes: all of them, in order.
        let expect: Vec<u8> = (0..10u32)
            .flat_map(|i| [&[0x8a, 4][..], &i.to_be_bytes()].concat())
            .collect();
        assert_eq!(collect(&t), expect);
        // A flood keeps only the latest that fit.
        for i in 10..100_000u32 {
            t.push_pong(pong(i), 60);
        }
        assert_eq!(t.pong_queued(), 10);
        assert_eq!(t.pong_backlog(), 60);
        let expect: Vec<u8> = (99_990..100_000u32)
            .flat_map(|i| [&[0x8a, 4][..], &i.to_be_bytes()].concat())
            .collect();
        assert_eq!(collect(&t), expect);
        // A pong being written is not dropped and no longer counts against the backlog.
        t.advance(3);
        t.push_pong(pong(7), 60);
        assert_eq!(&collect(&t)[..3], &expect[3..6]);
        assert_eq!(t.pong_backlog(), 60);
    }

    #[test]
    fn small_frames_share_a_staging_buffer_that_urgent_frames_cannot_cut() {
        let mut t = Transmitter::new(Encoder::Server);
        for i in 0..100u8 {
            t.push_data_frame(true, OpCode::Binary, Bytes::from(alloc::vec![i; 10]));
        }
        assert_eq!(t.slices().count(), 1, "one staged chunk");
        assert_eq!(t.data_bytes(), 1200);
        t.advance(5);
        t.push_urgent(Encoder::Server.encode(true, OpCode::Pong, Bytes::new(), FrameKind::Pong));
        let bytes = collect(&t);
        // The started chunk finishes before the pong.
        assert_eq!(&bytes[1195..], &[0x8a, 0]);
        t.push_data_frame(true, OpCode::Text, Bytes::from_static(b"after"));
        let frames: alloc::vec::Vec<u8> = collect(&t);
        assert_eq!(&frames[frames.len() - 7..], b"\x81\x05after");
        t.advance(usize::MAX);
        assert_eq!((t.total_bytes(), t.data_bytes()), (0, 0));
    }

    #[test]
    fn staging_is_closed_into_bounded_chunks() {
        let mut t = Transmitter::new(Encoder::Server);
        for _ in 0..1000 {
            t.push_data_frame(true, OpCode::Binary, Bytes::from(alloc::vec![0u8; 100]));
        }
        assert!(
            t.slices()
                .all(|s| s.len() <= STAGING_LIMIT + COALESCE_LIMIT + MAX_HEADER_LEN)
        );
        assert_eq!(t.total_bytes(), 102_000);
    }

    fn t_enc(op: OpCode, p: Bytes) -> OutFrame {
        Encoder::Server.encode(true, op, p, FrameKind::Data)
    }
}
