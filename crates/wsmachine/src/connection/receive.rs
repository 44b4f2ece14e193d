//! The incoming side: the handshake bytes, then frames decoded from the receive buffer in
//! any chunking, validated, unmasked in place and assembled into events.
//!
//! A data frame's payload stays in the receive buffer while it arrives: each new byte is
//! unmasked (and, for text, UTF-8 checked) once, when it first arrives, and the whole payload
//! is split off without a copy when it is complete. In fragment mode pieces are split off as
//! they arrive instead. Payload copied in by `handle_input` is mostly unmasked during that
//! copy already (see [`premask`]).

use alloc::boxed::Box;
use bytes::{Buf, BytesMut};

use super::{Connection, Phase};
use crate::close::{CloseFrame, ClosePayloadError};
use crate::config::ReceiveMode;
use crate::error::{Diagnostic, ProtocolError};
use crate::event::{Closer, Event};
use crate::frame::{FrameHeader, HeaderError, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode};
use crate::handshake::HandshakeError;
use crate::message::{Fragment, Message, MessageKind, Utf8Bytes};
use crate::role::Role;
use crate::transmit::FrameKind;
use crate::utf8::Utf8Validator;

/// A frame whose header is decoded and whose payload is arriving.
struct FrameInProgress {
    header: FrameHeader,
    /// Payload bytes not yet split off the buffer.
    remaining: u64,
    /// Payload bytes already split off (fragment mode) — the mask offset of the buffer start.
    consumed: u64,
    /// Bytes at the start of the buffer already unmasked and checked.
    checked: usize,
}

/// A data message whose first frame has arrived.
struct MessageInProgress {
    kind: MessageKind,
    utf8: Utf8Validator,
    /// Payload bytes so far, including the frame in progress.
    size: u64,
    frames: u64,
    /// Completed frames' payloads (message mode).
    data: BytesMut,
    /// Whether a piece was delivered (fragment mode).
    started: bool,
    /// permessage-deflate: the message is compressed (RSV1 on its first frame).
    #[cfg(feature = "deflate")]
    inflating: Option<alloc::boxed::Box<inflate::Inflating>>,
}

/// Receive-side state.
pub(super) struct Receiver {
    pub(super) buf: BytesMut,
    /// The buffer's length when it was lent out by `input_buffer`.
    pub(super) lent_at: Option<usize>,
    frame: Option<FrameInProgress>,
    message: Option<MessageInProgress>,
    /// Bytes taken in since the connection opened (handshake included): the stream offset
    /// of the buffer's end, for diagnostics.
    pub(super) received: u64,
    /// Frame headers decoded or rejected so far.
    frames_seen: u64,
    /// The last frame header decoded or rejected: where a protocol failure happened.
    pub(super) last: Diagnostic,
    /// The last data frame was large: the next one probably is too, so a read between
    /// frames takes just a header first (see [`Receiver::read_size`]).
    large_frames: bool,
    /// Which buffered payload bytes `handle_input` unmasked as it copied them.
    premask: premask::Premask,
}

#[cfg(feature = "deflate")]
mod inflate;
mod premask;

/// What one parsing step did.
enum Step {
    /// Made progress; go on.
    Progress,
    /// Needs more input.
    Blocked,
}

impl MessageInProgress {
    /// Whether the message is compressed (permessage-deflate).
    fn is_compressed(&self) -> bool {
        #[cfg(feature = "deflate")]
        return self.inflating.is_some();
        #[cfg(not(feature = "deflate"))]
        false
    }
}

impl Receiver {
    pub(super) fn new() -> Self {
        Receiver {
            buf: BytesMut::new(),
            lent_at: None,
            frame: None,
            message: None,
            received: 0,
            frames_seen: 0,
            last: Diagnostic::default(),
            large_frames: false,
            premask: premask::Premask::default(),
        }
    }

    /// Appends `bytes` (from `handle_input`, in a frame phase when `frames`), unmasking
    /// payload as it copies where it can follow the frames from the decoder's state.
    /// Cost: one copy, and one header decode per frame followed.
    pub(super) fn append(&mut self, bytes: &[u8], frames: bool) {
        if frames && !self.premask.following() {
            match &self.frame {
                None => self.premask.start_in_header(&self.buf),
                Some(f) => {
                    let buffered = self.buf.len() as u64;
                    if let Some(remaining) = f.remaining.checked_sub(buffered) {
                        let offset = f.consumed.wrapping_add(buffered);
                        self.premask
                            .start_in_payload(f.header.mask, offset, remaining);
                    }
                }
            }
        }
        if frames {
            self.premask.append(&mut self.buf, bytes);
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Input is about to be appended in place, where it cannot be followed.
    pub(super) fn appending_in_place(&mut self) {
        self.premask.stop();
    }

    /// Drops the first `n` buffered bytes.
    #[inline]
    fn skip(&mut self, n: usize) {
        self.premask.skip(&mut self.buf, n);
    }

    /// Splits off the first `n` buffered bytes.
    #[inline]
    fn take(&mut self, n: usize) -> BytesMut {
        self.premask.take(&mut self.buf, n)
    }

    /// Unmasks buffered payload bytes `range`, the first at mask offset `offset`, except
    /// those already unmasked as they were copied in.
    #[inline]
    fn unmask(&mut self, range: core::ops::Range<usize>, key: [u8; 4], offset: u64) {
        self.premask.unmask(&mut self.buf, range, key, offset);
    }

    /// A frame header starts the buffer and was decoded or rejected: it becomes the frame a
    /// failure is reported at.
    fn note_header(&mut self) {
        let offset = self.received.saturating_sub(self.buf.len() as u64);
        let header = [
            self.buf.first().copied().unwrap_or(0),
            self.buf.get(1).copied().unwrap_or(0),
        ];
        self.last = Diagnostic {
            offset,
            frame: self.frames_seen,
            header,
        };
        self.frames_seen = self.frames_seen.saturating_add(1);
    }

    /// An empty buffer holding more than this much capacity is released when parsing stops
    /// between frames, so an idle connection does not keep the memory its largest message
    /// needed.
    const IDLE_CAPACITY: usize = 64 * 1024;

    /// Releases the buffer's memory if it is empty and large, and no frame is arriving (the
    /// room reserved for a frame whose header was just read is kept for its payload).
    fn release_if_idle(&mut self) {
        if self.buf.is_empty() && self.frame.is_none() && self.buf.capacity() > Self::IDLE_CAPACITY
        {
            self.buf = BytesMut::new();
        }
    }

    /// Reserves room for the rest of the frame being received (its length already passed
    /// the limits) and the next frame's header, so the bytes still to come fit without
    /// reallocating and the read that ends the frame can bring the next header along.
    pub(super) fn reserve_missing(&mut self) {
        let Some(f) = &self.frame else { return };
        let need = usize::try_from(f.remaining).unwrap_or(usize::MAX);
        let missing = need.saturating_sub(self.buf.len());
        if missing > 0 {
            self.buf.reserve(missing.saturating_add(MAX_HEADER_LEN));
        }
    }

    /// Frames with at least this much payload get reads capped at their end (see
    /// [`read_size`](Self::read_size)): below it, an extra read costs more than the copy it
    /// saves.
    const CAP_READS_FROM: u64 = 32 * 1024;

    /// The most bytes worth reading next, given `max`: see [`read_cap`](Self::read_cap).
    pub(super) fn read_size(&self, max: usize) -> usize {
        self.read_cap().map_or(max, |cap| cap.min(max))
    }

    /// A cap on the next read, if one pays: the rest of a large frame being received and
    /// the next frame's header (so the next frame's length is known before its payload is
    /// read, and its payload lands in room reserved for all of it; at most 14 bytes are
    /// copied when that room is reserved); or, between frames after a large data frame,
    /// one frame header.
    pub(super) fn read_cap(&self) -> Option<usize> {
        match &self.frame {
            Some(f) if f.header.payload_len >= Self::CAP_READS_FROM => {
                let need = usize::try_from(f.remaining).unwrap_or(usize::MAX);
                let missing = need.saturating_sub(self.buf.len());
                (missing > 0).then(|| missing.saturating_add(MAX_HEADER_LEN))
            }
            None if self.large_frames && self.buf.is_empty() => Some(MAX_HEADER_LEN),
            _ => None,
        }
    }

    /// Notes the size of a data frame whose header was just decoded, for
    /// [`read_size`](Self::read_size).
    fn note_data_frame(&mut self, payload_len: u64) {
        self.large_frames = payload_len >= Self::CAP_READS_FROM;
    }

    /// Makes room for the next read: what [`read_size`](Self::read_size) allows when it is
    /// capped (the rest of a large frame, or a header), else `min_spare` bytes plus one
    /// frame header. A large frame's buffer is not grown past its end, which would move it.
    pub(super) fn reserve_for_read(&mut self, min_spare: usize) {
        self.reserve_missing();
        let room = self
            .read_cap()
            .unwrap_or(min_spare.saturating_add(MAX_HEADER_LEN));
        self.buf.reserve(room);
    }

    /// Buffered bytes beyond what the frame being received still needs.
    pub(super) fn unclaimed(&self) -> usize {
        let claimed = self
            .frame
            .as_ref()
            .map_or(0, |f| usize::try_from(f.remaining).unwrap_or(usize::MAX));
        self.buf.len().saturating_sub(claimed)
    }

    /// Drops all buffered input and partial state.
    pub(super) fn clear(&mut self) {
        self.buf = BytesMut::new();
        self.frame = None;
        self.message = None;
        self.premask.clear();
    }
}

/// Feeds the buffered input to a handshake parser, which keeps what it needs: on success
/// the head's bytes are consumed and the rest stays buffered for the frame layer.
fn feed_handshake<T>(
    buf: &mut BytesMut,
    feed: impl FnOnce(&[u8]) -> Result<Option<(T, usize)>, HandshakeError>,
) -> Result<Option<T>, HandshakeError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let done = feed(buf)?;
    match done {
        Some((head, n)) => {
            buf.advance(n.min(buf.len()));
            // The head's buffer is not kept for the frames: an idle connection holds none.
            if buf.is_empty() {
                *buf = BytesMut::new();
            }
            Ok(Some(head))
        }
        None => {
            buf.clear();
            Ok(None)
        }
    }
}

impl Connection {
    /// Parses buffered input until an event is queued or nothing more can be done; then, if
    /// the transport ended, ends the connection.
    pub(super) fn advance_input(&mut self) {
        while self.events.is_empty() {
            let step = match &mut self.phase {
                Phase::Closed => return,
                Phase::AwaitingDecision(_) => Step::Blocked,
                Phase::ClientHandshake(hs) => {
                    match feed_handshake(&mut self.rx.buf, |b| hs.feed(b)) {
                        Ok(Some(response)) => {
                            self.phase = Phase::Open;
                            #[cfg(feature = "deflate")]
                            self.deflate_connected(&response);
                            self.timers.handshake = None;
                            self.start_open_timers();
                            self.events.push_back(Event::Connected(Box::new(response)));
                            Step::Progress
                        }
                        Ok(None) => Step::Blocked,
                        Err(e) => {
                            self.fail_handshake(e);
                            return;
                        }
                    }
                }
                Phase::ServerHandshake(hs) => {
                    match feed_handshake(&mut self.rx.buf, |b| hs.feed(b)) {
                        Ok(Some(request)) => {
                            let request = Box::new(request);
                            self.events.push_back(Event::Request(request.clone()));
                            self.phase = Phase::AwaitingDecision(request);
                            Step::Progress
                        }
                        Ok(None) => Step::Blocked,
                        Err(e) => {
                            self.fail_handshake(e);
                            return;
                        }
                    }
                }
                Phase::Closing if self.close_received.is_some() => {
                    self.rx.clear();
                    Step::Blocked
                }
                Phase::Open | Phase::Closing => self.step_frame(),
            };
            if let Step::Blocked = step {
                self.rx.release_if_idle();
                if self.transport.is_some() && self.events.is_empty() {
                    self.transport_ended();
                }
                return;
            }
        }
    }

    /// The transport is gone and all complete input has been parsed.
    fn transport_ended(&mut self) {
        let waiting_for_server_eof = self.role == Role::Client && self.close_received.is_some();
        let closed_by = if waiting_for_server_eof
            || self.transport != Some(crate::event::TransportEnd::WriteShut)
        {
            Closer::Peer
        } else {
            Closer::Us
        };
        self.finish(closed_by);
    }

    /// Parses at most one frame header or one piece of payload.
    fn step_frame(&mut self) -> Step {
        match self.rx.frame {
            None => self.step_header(),
            Some(_) => self.step_payload(),
        }
    }

    fn step_header(&mut self) -> Step {
        let decoded = FrameHeader::decode(&self.rx.buf);
        if !matches!(decoded, Ok(None)) {
            self.rx.note_header();
        }
        let (header, n) = match decoded {
            Ok(Some(h)) => h,
            Ok(None) => return Step::Blocked,
            Err(HeaderError::ReservedOpcode(op)) => {
                return self.fail_step(ProtocolError::ReservedOpcode(op));
            }
            Err(HeaderError::LengthTopBitSet) => {
                return self.fail_step(ProtocolError::LengthTopBitSet);
            }
        };
        if let Err(e) = self.check_header(&header) {
            return self.fail_step(e);
        }
        let whole_message_here = self.config.receive_mode == ReceiveMode::Messages
            && header.fin
            && header.rsv == 0
            && matches!(header.opcode, OpCode::Text | OpCode::Binary)
            && header.payload_len <= (self.rx.buf.len() - n) as u64;
        self.rx.skip(n);
        if whole_message_here {
            return self.single_frame_message(header);
        }
        if matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            let kind = if header.opcode == OpCode::Text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            self.rx.message = Some(MessageInProgress {
                kind,
                utf8: Utf8Validator::new(),
                size: 0,
                frames: 0,
                data: BytesMut::new(),
                started: false,
                #[cfg(feature = "deflate")]
                inflating: (header.rsv != 0).then(alloc::boxed::Box::default),
            });
        }
        if let Some(m) = self
            .rx
            .message
            .as_mut()
            .filter(|_| !header.opcode.is_control())
        {
            m.size = m.size.saturating_add(header.payload_len);
            m.frames = m.frames.saturating_add(1);
        }
        self.rx.frame = Some(FrameInProgress {
            header,
            remaining: header.payload_len,
            consumed: 0,
            checked: 0,
        });
        // A data frame whose length passed the limits and is assembled whole: reserve the
        // rest of it now, so it arrives into one allocation instead of growing by copies.
        // (Only whole messages reserve room, so only they read a header first.)
        if self.config.receive_mode == ReceiveMode::Messages && !header.opcode.is_control() {
            self.rx.note_data_frame(header.payload_len);
            self.rx.reserve_missing();
        }
        // The payload is often already here: go on without another round.
        self.step_payload()
    }

    /// Every check that can be made from the header alone, before any payload is read.
    fn check_header(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        if h.rsv != 0 && !self.rsv1_allowed(h) {
            return Err(ProtocolError::ReservedBits(h.rsv));
        }
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            if !h.fin {
                return Err(ProtocolError::FragmentedControl);
            }
            if h.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::ControlTooLong(h.payload_len));
            }
            return Ok(());
        }
        let limits = &self.config.limits;
        let (size, frames) = match (&self.rx.message, h.opcode) {
            (None, OpCode::Continuation) => return Err(ProtocolError::OrphanContinuation),
            (Some(_), OpCode::Text | OpCode::Binary) => {
                return Err(ProtocolError::ExpectedContinuation);
            }
            (Some(m), _) => (m.size, m.frames),
            (None, _) => (0, 0),
        };
        if h.payload_len > limits.max_frame_size {
            return Err(ProtocolError::FrameTooLarge {
                len: h.payload_len,
                limit: limits.max_frame_size,
            });
        }
        let total = size.saturating_add(h.payload_len);
        if total > limits.max_message_size {
            return Err(ProtocolError::MessageTooLarge {
                len: total,
                limit: limits.max_message_size,
            });
        }
        if frames >= limits.max_fragments {
            return Err(ProtocolError::TooManyFragments(frames.saturating_add(1)));
        }
        Ok(())
    }

    fn fail_step(&mut self, e: ProtocolError) -> Step {
        self.fail(e);
        Step::Progress
    }

    fn step_payload(&mut self) -> Step {
        let Some(frame) = self.rx.frame.as_mut() else {
            return Step::Blocked;
        };
        let header = frame.header;
        // Unmask and check the bytes that arrived since the last step.
        let available = usize::try_from(frame.remaining)
            .unwrap_or(usize::MAX)
            .min(self.rx.buf.len());
        if available > frame.checked {
            if let Some(key) = header.mask {
                let offset = frame.consumed.wrapping_add(frame.checked as u64);
                self.rx
                    .premask
                    .unmask(&mut self.rx.buf, frame.checked..available, key, offset);
            }
            // `checked < available <= buf.len()`: the buffer never shrinks under a frame.
            let Some(fresh) = self.rx.buf.get(frame.checked..available) else {
                return Step::Blocked;
            };
            // Compressed text is checked as it is inflated instead.
            let text = match header.opcode {
                OpCode::Continuation | OpCode::Text => self
                    .rx
                    .message
                    .as_ref()
                    .is_some_and(|m| m.kind == MessageKind::Text && !m.is_compressed()),
                _ => false,
            };
            if text {
                if let Some(m) = self.rx.message.as_mut() {
                    if m.utf8.feed(fresh).is_err() {
                        return self.fail_step(ProtocolError::InvalidUtf8);
                    }
                }
            }
            frame.checked = available;
        }
        let complete = available as u64 == frame.remaining;
        if header.opcode.is_control() {
            if !complete {
                return Step::Blocked;
            }
            let payload = self.rx.take(available).freeze();
            self.rx.frame = None;
            self.handle_control(header.opcode, payload);
            return Step::Progress;
        }
        #[cfg(feature = "deflate")]
        if self.rx.message.as_ref().is_some_and(|m| m.is_compressed()) {
            return self.step_inflate(available);
        }
        match self.config.receive_mode {
            ReceiveMode::Messages => {
                if !complete {
                    return Step::Blocked;
                }
                let payload = self.rx.take(available);
                self.rx.frame = None;
                let Some(m) = self.rx.message.as_mut() else {
                    return Step::Progress;
                };
                if m.data.is_empty() {
                    m.data = payload;
                } else {
                    m.data.unsplit(payload);
                }
                if header.fin {
                    self.finish_message();
                }
                Step::Progress
            }
            ReceiveMode::Fragments => {
                let last = complete && header.fin;
                let Some(m) = self.rx.message.as_mut() else {
                    return Step::Blocked;
                };
                // Deliver what arrived; skip empty pieces except a message's first or last.
                if available == 0 && !complete {
                    return Step::Blocked;
                }
                // (`self.rx.take` would borrow all of `rx`; `frame` and `m` live in it.)
                let data = self.rx.premask.take(&mut self.rx.buf, available).freeze();
                frame.remaining -= available as u64;
                frame.consumed += available as u64;
                frame.checked = 0;
                if complete {
                    self.rx.frame = None;
                }
                if last && m.kind == MessageKind::Text && m.utf8.finish().is_err() {
                    return self.fail_step(ProtocolError::InvalidUtf8);
                }
                if !data.is_empty() || !m.started || last {
                    let piece = Fragment {
                        kind: m.kind,
                        data,
                        is_first: !m.started,
                        is_last: last,
                    };
                    m.started = true;
                    self.events.push_back(Event::Fragment(piece));
                }
                if last {
                    self.rx.message = None;
                    self.timers.note_data();
                }
                Step::Progress
            }
        }
    }

    /// The common case, a whole message in one frame that is all buffered: split, unmask and
    /// check it at once, with no per-message state.
    fn single_frame_message(&mut self, header: FrameHeader) -> Step {
        let len = header.payload_len as usize;
        if let Some(key) = header.mask {
            self.rx.unmask(0..len, key, 0);
        }
        let data = self.rx.take(len).freeze();
        let message = if header.opcode == OpCode::Text {
            if simdutf8::basic::from_utf8(&data).is_err() {
                return self.fail_step(ProtocolError::InvalidUtf8);
            }
            Message::Text(Utf8Bytes::from_validated(data))
        } else {
            Message::Binary(data)
        };
        self.timers.note_data();
        self.events.push_back(Event::Message(message));
        Step::Progress
    }

    fn finish_message(&mut self) {
        let Some(mut m) = self.rx.message.take() else {
            return;
        };
        self.timers.note_data();
        let data = core::mem::take(&mut m.data).freeze();
        let message = match m.kind {
            MessageKind::Binary => Message::Binary(data),
            MessageKind::Text => {
                if m.utf8.finish().is_err() {
                    self.fail(ProtocolError::InvalidUtf8);
                    return;
                }
                Message::Text(Utf8Bytes::from_validated(data))
            }
        };
        self.events.push_back(Event::Message(message));
    }

    fn handle_control(&mut self, opcode: OpCode, payload: bytes::Bytes) {
        match opcode {
            OpCode::Ping => {
                if self.config.auto_pong && self.close_sent.is_none() {
                    let pong = self.tx.encoder.encode(
                        true,
                        OpCode::Pong,
                        payload.clone(),
                        FrameKind::Pong,
                    );
                    self.tx.push_pong(pong, self.config.limits.max_pong_backlog);
                }
                self.events.push_back(Event::Ping(payload));
            }
            OpCode::Pong => self.events.push_back(Event::Pong(payload)),
            OpCode::Close => match CloseFrame::parse(&payload) {
                Ok(frame) => self.handle_close(frame),
                Err(ClosePayloadError::OneByte) => self.fail(ProtocolError::CloseOneByte),
                Err(ClosePayloadError::InvalidCode(c)) => {
                    self.fail(ProtocolError::InvalidCloseCode(c))
                }
                Err(ClosePayloadError::InvalidUtf8) => self.fail(ProtocolError::InvalidUtf8),
            },
            OpCode::Continuation | OpCode::Text | OpCode::Binary => {}
        }
    }

    fn handle_close(&mut self, frame: CloseFrame) {
        self.close_received = Some(frame.clone());
        if matches!(self.phase, Phase::Open) {
            self.phase = Phase::Closing;
        }
        self.events.push_back(Event::CloseReceived(frame.clone()));
        self.rx.clear();
        // Echo the code we received (RFC 6455 5.5.1), unless we already sent a Close.
        self.queue_close(CloseFrame {
            code: frame.code,
            reason: alloc::string::String::new(),
        });
        match self.role {
            // The server ends TCP first (RFC 6455 7.1.1) once its Close is written.
            Role::Server => self.finish(Closer::Us),
            // The client waits for the server to end TCP, up to the close timeout.
            Role::Client => self.timers.arm_close(self.config.timers.close_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::frame::MAX_HEADER_LEN;
    use crate::random::SeededRandom;
    use crate::{Config, Connection, Event, Message, Role, Timestamp};
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    use bytes::BytesMut;

    /// An open server (no handshake) with the default config and seeded randomness.
    fn server() -> Connection {
        Connection::open_with_random(
            Role::Server,
            Config::default(),
            Timestamp::ZERO,
            Box::new(SeededRandom::from_u64(0)),
        )
    }

    /// A masked frame with a 16-bit length, or a 64-bit one from 64 KiB on.
    fn masked_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        let key = [1, 2, 3, 4];
        let mut out = alloc::vec![b0];
        match u16::try_from(payload.len()) {
            Ok(len) => {
                out.push(0x80 | 126);
                out.extend_from_slice(&len.to_be_bytes());
            }
            Err(_) => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    #[test]
    fn an_owned_buffer_is_unmasked_in_place_and_shared_not_copied() {
        let mut s = server();
        let mut input = masked_frame(0x82, &[7u8; 1000]);
        input.extend(masked_frame(0x81, &[b'z'; 500]));
        let buf = BytesMut::from(&input[..]);
        let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
        s.handle_input_owned(Timestamp::ZERO, buf);
        let inside = |m: &Message| range.contains(&(m.payload().as_ptr() as usize));
        let Some(Event::Message(a)) = s.poll_event() else {
            panic!()
        };
        let Some(Event::Message(b)) = s.poll_event() else {
            panic!()
        };
        assert!(
            inside(&a) && inside(&b),
            "payloads point into the caller's buffer"
        );
        assert_eq!(a.payload().as_ref(), &[7u8; 1000][..]);
        assert_eq!(b.payload().as_ref(), &[b'z'; 500][..]);
    }

    /// `poll_event` parses one event at a time, so an open connection's event queue never
    /// grows past the room for one it is made with (a growing queue would keep room for
    /// four, 320 bytes, for the connection's life).
    #[test]
    fn the_event_queue_keeps_room_for_one_event() {
        let mut s = server();
        let mut input = Vec::new();
        for i in 0..20u8 {
            input.extend(masked_frame(0x82, &[i; 10]));
            input.extend(masked_frame(0x89, &[i]));
        }
        s.handle_input(Timestamp::ZERO, &input);
        let mut events = 0;
        while let Some(e) = s.poll_event() {
            assert!(matches!(e, Event::Message(_) | Event::Ping(_)), "{e:?}");
            events += 1;
        }
        assert_eq!(events, 40);
        assert_eq!(s.events.capacity(), 1);
    }

    /// Reads sized by `read_size` into `input_buffer` put each large frame's payload where
    /// it stays: once a large frame's header was seen, the rest of the frame is reserved
    /// whole and reads stop at the end of the next frame's header.
    #[test]
    fn large_frames_read_by_read_size_are_never_moved() {
        let mut s = server();
        const LEN: usize = 40_000;
        let frames: Vec<Vec<u8>> = (0..5u8)
            .map(|i| masked_frame(0x82, &alloc::vec![i; LEN]))
            .collect();
        let stream: Vec<u8> = frames.concat();
        // (stream offset, address) where each read put its first byte.
        let mut reads: Vec<(usize, usize)> = Vec::new();
        let mut at = 0;
        let mut messages = Vec::new();
        while at < stream.len() {
            let max = s.read_size(64 << 10);
            let buf = s.input_buffer(64 << 10);
            assert!(
                buf.capacity() - buf.len() >= max,
                "room for what read_size asks"
            );
            let take = max.min(stream.len() - at);
            reads.push((at, buf.as_ptr() as usize + buf.len()));
            buf.extend_from_slice(&stream[at..at + take]);
            at += take;
            s.handle_input_appended(Timestamp::ZERO);
            while let Some(e) = s.poll_event() {
                let Event::Message(m) = e else {
                    panic!("{e:?}")
                };
                messages.push(m);
            }
        }
        assert_eq!(messages.len(), 5);
        let frame_len = frames[0].len();
        let payload_at = |i: usize| i * frame_len + (frame_len - LEN);
        // A header read may bring a few payload bytes along (14 bytes for an 8-byte
        // header); those are copied when the rest is reserved. Every byte from here on must
        // stay where its read put it.
        const SKIP: usize = MAX_HEADER_LEN;
        for (i, m) in messages.iter().enumerate() {
            assert_eq!(m.payload().as_ref(), &alloc::vec![i as u8; LEN][..]);
            let byte = payload_at(i) + SKIP;
            let (start, addr) = *reads.iter().rev().find(|r| r.0 <= byte).unwrap();
            // The second frame shares the first read (no large frame seen yet): it is moved
            // when its rest is reserved. Every other payload stays where it was read.
            if i != 1 {
                assert_eq!(
                    m.payload().as_ptr() as usize + SKIP,
                    addr + (byte - start),
                    "message {i} moved"
                );
            }
        }
        // One read takes the first frame and the start of the second, one the second's
        // rest; after that one read per frame (its rest and the next header).
        assert_eq!(reads.len(), 2 + 3, "{} reads", reads.len());
    }

    /// `handle_input` unmasks large frames' payload as it copies them, from where the
    /// decoder stands; small frames and bytes appended in place are left to the decoder.
    #[test]
    fn handle_input_unmasks_payload_as_it_copies_from_where_the_decoder_stands() {
        let now = Timestamp::ZERO;
        let large = alloc::vec![7u8; 5000];
        let small = alloc::vec![9u8; 100];
        let mut stream = masked_frame(0x82, &large);
        stream.extend(masked_frame(0x82, &small));
        stream.extend(masked_frame(0x82, &large));
        let (first, second) = (large.len() + 8, large.len() + 8 + small.len() + 6);
        let mut s = server();
        // Fed in pieces that split headers and payloads, without polling in between.
        for piece in stream.chunks(1500) {
            s.handle_input(now, piece);
        }
        // The large frames' payloads are unmasked already; the small frame is not followed
        // (neither is what comes after it until the decoder catches up).
        assert!(s.rx.buf[8..first] == large[..], "unmasked as copied");
        assert!(
            s.rx.buf[first + 6..second] != small[..],
            "small: not followed"
        );
        assert!(
            s.rx.buf[second + 8..] != large[..],
            "after it: not followed"
        );
        let got: Vec<_> = core::iter::from_fn(|| s.poll_event()).collect();
        assert_eq!(
            got,
            [&large, &small, &large].map(|p| Event::Message(Message::binary(p.clone())))
        );
        // Read in place, the bytes stay masked until decoded.
        let frame = masked_frame(0x82, &large);
        s.input_buffer(16 << 10).extend_from_slice(&frame);
        s.handle_input_appended(now);
        assert!(s.rx.buf[8..] != large[..], "read in place: masked");
        // Between frames again, `handle_input` follows from the next header on.
        let Some(Event::Message(m)) = s.poll_event() else {
            panic!("no message")
        };
        assert_eq!(m.payload(), &large[..]);
        s.handle_input(now, &frame[..3000]);
        assert!(s.rx.buf[8..] == large[..2992], "followed from the header");
        s.handle_input(now, &frame[3000..]);
        assert!(s.rx.buf[8..] == large[..], "and on");
        let Some(Event::Message(m)) = s.poll_event() else {
            panic!("no message")
        };
        assert_eq!(m.payload(), &large[..]);
    }

    /// `read_limit` lets a reader take the whole rest of a large frame in one read (its room
    /// is reserved), however small its usual read size, with the next frame's header: one
    /// read per frame after the first, each payload left where it was read.
    #[test]
    fn read_limit_takes_the_rest_of_a_large_frame_in_one_read() {
        let mut s = server();
        const LEN: usize = 200_000;
        const USUAL: usize = 16 << 10;
        let stream: Vec<u8> = (0..3u8)
            .flat_map(|i| masked_frame(0x82, &alloc::vec![i; LEN]))
            .collect();
        let frame_len = stream.len() / 3;
        let (mut at, mut reads) = (0, 0);
        let mut messages = Vec::new();
        while at < stream.len() {
            let max = s.read_limit().unwrap_or(USUAL);
            let buf = s.input_buffer(USUAL);
            assert!(
                buf.capacity() - buf.len() >= max,
                "room for what read_limit allows"
            );
            let take = max.min(stream.len() - at);
            let first = buf.as_ptr() as usize + buf.len();
            buf.extend_from_slice(&stream[at..at + take]);
            at += take;
            reads += 1;
            s.handle_input_appended(Timestamp::ZERO);
            while let Some(e) = s.poll_event() {
                let Event::Message(m) = e else {
                    panic!("{e:?}")
                };
                // The message ends where its last read put its last byte: nothing was
                // moved after that read.
                let frame_end = (messages.len() + 1) * frame_len;
                let end = m.payload().as_ptr() as usize + m.payload().len();
                assert_eq!(
                    end,
                    first + (frame_end - (at - take)),
                    "message {} moved",
                    messages.len()
                );
                messages.push(m);
            }
        }
        assert_eq!(messages.len(), 3);
        for (i, m) in messages.iter().enumerate() {
            assert_eq!(m.payload().as_ref(), &alloc::vec![i as u8; LEN][..]);
        }
        // First frame: one usual read, then its rest with the next header (an 8-byte
        // length makes it 14 bytes: no payload byte is read early); then one read each.
        assert_eq!(reads, 2 + 2);
    }

    /// A large buffer is released once its message is out and no frame is arriving (an
    /// idle connection keeps none), but the room reserved for a frame whose header was
    /// just read is kept for its payload.
    #[test]
    fn a_large_buffer_is_released_between_frames_but_not_before_a_payload() {
        let mut s = server();
        const LEN: usize = 200_000;
        let frame = masked_frame(0x82, &alloc::vec![3u8; LEN]);
        s.handle_input(Timestamp::ZERO, &frame);
        let Some(Event::Message(m)) = s.poll_event() else {
            panic!("no message")
        };
        assert_eq!(m.payload().len(), LEN);
        drop(m);
        assert!(s.poll_event().is_none());
        assert!(
            s.rx.buf.capacity() <= super::Receiver::IDLE_CAPACITY,
            "released when idle"
        );
        // The next frame's header alone: its room is reserved and stays.
        let next = masked_frame(0x82, &alloc::vec![4u8; LEN]);
        s.handle_input(Timestamp::ZERO, &next[..MAX_HEADER_LEN]);
        assert!(s.poll_event().is_none());
        assert!(s.rx.buf.capacity() >= LEN, "room kept for the payload");
        s.handle_input(Timestamp::ZERO, &next[MAX_HEADER_LEN..]);
        assert!(matches!(s.poll_event(), Some(Event::Message(m)) if m.payload().len() == LEN));
    }

    #[test]
    fn contiguous_owned_reads_are_joined_without_a_copy() {
        // A reader that fills one buffer and splits off each read, as the adapters do.
        let mut s = server();
        let input = masked_frame(0x82, &[9u8; 3000]);
        let mut reader = BytesMut::with_capacity(input.len());
        let base = reader.as_ptr() as usize;
        for part in input.chunks(700) {
            reader.extend_from_slice(part);
            s.handle_input_owned(Timestamp::ZERO, reader.split());
        }
        let Some(Event::Message(m)) = s.poll_event() else {
            panic!()
        };
        assert_eq!(
            m.payload().as_ptr() as usize,
            base + 8,
            "the payload was never moved"
        );
        assert_eq!(m.payload().len(), 3000);
    }
}
