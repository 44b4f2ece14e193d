//! Sending: whole messages, caller-fragmented messages, pings and pongs, with the send
//! queue's byte limit as the backpressure signal.

use bytes::Bytes;

use super::{Connection, State};
use crate::error::SendError;
use crate::frame::{MAX_CONTROL_PAYLOAD, OpCode};
use crate::message::{Message, MessageKind, Utf8Bytes};
use crate::transmit::FrameKind;

/// RSV1: set on the first frame of a compressed message (RFC 7692 6).
const RSV1: u8 = 0b100;

impl Connection {
    // ----- sending -----

    pub(super) fn check_can_send(&self) -> Result<(), SendError> {
        match self.state() {
            State::Connecting => Err(SendError::NotOpen),
            State::Closed => Err(SendError::Closed),
            State::Closing => Err(SendError::Closing),
            State::Open if self.transport.is_some() => Err(SendError::Closed),
            State::Open => Ok(()),
        }
    }

    /// Refuses a send that would take the data queue over `max_send_queue`.
    fn check_queue(&self, cost: usize) -> Result<(), SendError> {
        let queued = self.tx.data_bytes();
        let limit = self.config.limits.max_send_queue;
        if queued.saturating_add(cost) > limit {
            return Err(SendError::QueueFull { queued, limit });
        }
        Ok(())
    }

    /// Queues a whole message, split into frames of `auto_fragment_size` if configured.
    /// With permessage-deflate in use, a message of at least
    /// `DeflateConfig::threshold` bytes is compressed (RSV1 on
    /// its first frame), unless compressing does not make it smaller (then it goes plain
    /// and the compressor's context is reset). Cost: no copy for a server (frames share the payload); one masking
    /// copy for a client; compression is one deflate pass into a reused buffer.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        self.send_message(message, true)
    }

    /// [`send`](Self::send), never compressed: the per-message opt-out of permessage-deflate
    /// (for data that is already compressed, or must not share a compression context with
    /// secrets). Without the extension it is `send`.
    pub fn send_uncompressed(&mut self, message: Message) -> Result<(), SendError> {
        self.send_message(message, false)
    }

    fn send_message(&mut self, message: Message, may_compress: bool) -> Result<(), SendError> {
        self.rec.send(&message, may_compress);
        let result = self.send_message_now(message, may_compress);
        self.rec.sent(&result, &mut self.tx);
        result
    }

    fn send_message_now(&mut self, message: Message, may_compress: bool) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::MessageInProgress);
        }
        let opcode = match message.kind() {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        };
        let mut payload = message.into_payload();
        let frame_size = self
            .config
            .auto_fragment_size
            .filter(|&n| n > 0)
            .unwrap_or(usize::MAX);
        let compress = may_compress && self.compresses(payload.len());
        // Compression cannot be undone (it moves the shared context), so the queue is
        // checked first, against the plain cost: a message goes out compressed only if that
        // is smaller, so `Config::send_queue_cost` of its payload is exact either way.
        self.check_queue(self.config.send_queue_cost(payload.len()))?;
        self.timers.note_data();
        let mut rsv = 0;
        if compress {
            let compressed = self.compress_payload(payload.clone(), true);
            if compressed.len() < payload.len() {
                payload = compressed;
                rsv = RSV1;
            } else {
                // Incompressible: plain is smaller. The compressor saw data the peer
                // will not inflate, so its context goes.
                self.discard_compressor();
            }
        }
        if payload.len() <= frame_size {
            self.tx.push_data_frame_rsv(true, rsv, opcode, payload);
            return Ok(());
        }
        let mut at = 0;
        let mut op = opcode;
        while at < payload.len() {
            let end = at.saturating_add(frame_size).min(payload.len());
            let chunk = payload.slice(at..end);
            self.tx
                .push_data_frame_rsv(end == payload.len(), rsv, op, chunk);
            op = OpCode::Continuation;
            rsv = 0;
            at = end;
        }
        Ok(())
    }

    /// Queues a text message. Free for a `String` (its buffer is taken).
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), SendError> {
        self.send(Message::Text(text.into()))
    }

    /// Queues a binary message. Free for `Bytes` and `Vec<u8>`.
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Binary(data.into()))
    }

    /// Queues a binary message copied from `data`: the borrowed fast path, for when the
    /// bytes are not already in a `Bytes`. Cost: one copy into the reused output buffer, no
    /// allocation in steady state and no reference counting. A message that is compressed,
    /// split by `auto_fragment_size` or recorded takes [`send`](Self::send) after one
    /// copy into `Bytes`.
    pub fn send_binary_slice(&mut self, data: &[u8]) -> Result<(), SendError> {
        if self.needs_owned_send(data.len()) {
            return self.send(Message::Binary(Bytes::copy_from_slice(data)));
        }
        self.send_plain_slice(OpCode::Binary, data)
    }

    /// Queues a text message copied from `text`, as
    /// [`send_binary_slice`](Self::send_binary_slice) does (same cost).
    pub fn send_text_str(&mut self, text: &str) -> Result<(), SendError> {
        if self.needs_owned_send(text.len()) {
            return self.send(Message::Text(Utf8Bytes::from(text)));
        }
        self.send_plain_slice(OpCode::Text, text.as_bytes())
    }

    /// Whether a whole message of `len` bytes needs more than one plain frame copied into
    /// the output (compression, automatic fragmentation, recording).
    fn needs_owned_send(&self, len: usize) -> bool {
        self.compresses(len)
            || self.rec.is_on()
            || self
                .config
                .auto_fragment_size
                .is_some_and(|n| n > 0 && len > n)
    }

    /// One plain final frame copied from `payload`, with the checks of `send` in its order.
    fn send_plain_slice(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::MessageInProgress);
        }
        self.check_queue(self.config.send_queue_cost(payload.len()))?;
        self.timers.note_data();
        self.tx.push_data_slice(true, 0, opcode, payload);
        Ok(())
    }

    /// Queues one frame of a message the caller fragments itself. The first call opens a
    /// message of `kind`; later calls must pass the same kind; `is_last` ends it. Text
    /// fragments are checked so that the whole message is valid UTF-8 (a code point may span
    /// fragments). With permessage-deflate in use the message is compressed (whatever its
    /// size: the threshold applies to whole messages), each fragment with a sync flush so
    /// that its frame carries all of it.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: Bytes,
        is_last: bool,
    ) -> Result<(), SendError> {
        self.send_fragment_with(kind, data, is_last, true)
    }

    /// [`send_fragment`](Self::send_fragment), but a message it opens is not compressed
    /// (the per-message opt-out of permessage-deflate). The call that opens a message
    /// decides; later fragments follow it, whichever method sends them.
    pub fn send_fragment_uncompressed(
        &mut self,
        kind: MessageKind,
        data: Bytes,
        is_last: bool,
    ) -> Result<(), SendError> {
        self.send_fragment_with(kind, data, is_last, false)
    }

    fn send_fragment_with(
        &mut self,
        kind: MessageKind,
        data: Bytes,
        is_last: bool,
        may_compress: bool,
    ) -> Result<(), SendError> {
        self.rec.fragment(kind, &data, is_last, may_compress);
        let result = self.send_fragment_now(kind, data, is_last, may_compress);
        self.rec.sent(&result, &mut self.tx);
        result
    }

    fn send_fragment_now(
        &mut self,
        kind: MessageKind,
        data: Bytes,
        is_last: bool,
        may_compress: bool,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let (opcode, compress) = match (&self.sending, kind) {
            (Some((open, _, _)), k) if *open != k => return Err(SendError::KindMismatch),
            (Some((_, _, compress)), _) => (OpCode::Continuation, *compress),
            (None, MessageKind::Text) => (OpCode::Text, may_compress && self.deflate_in_use()),
            (None, MessageKind::Binary) => (OpCode::Binary, may_compress && self.deflate_in_use()),
        };
        let wire_len = if compress {
            Self::compressed_bound(data.len())
        } else {
            data.len()
        };
        self.check_queue(self.config.send_queue_cost(wire_len))?;
        let mut validator = self
            .sending
            .as_ref()
            .map(|(_, v, _)| v.clone())
            .unwrap_or_default();
        if kind == MessageKind::Text {
            validator.feed(&data).map_err(|_| SendError::InvalidUtf8)?;
            if is_last && !validator.is_complete() {
                return Err(SendError::InvalidUtf8);
            }
        }
        self.sending = if is_last {
            None
        } else {
            Some((kind, validator, compress))
        };
        self.timers.note_data();
        let rsv = if compress && opcode != OpCode::Continuation {
            RSV1
        } else {
            0
        };
        let data = if compress {
            self.compress_payload(data, is_last)
        } else {
            data
        };
        self.tx.push_data_frame_rsv(is_last, rsv, opcode, data);
        Ok(())
    }

    /// Queues a ping (at most 125 bytes) ahead of queued data; it replaces a ping not yet
    /// started, so pings never pile up.
    pub fn ping(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload, FrameKind::Ping)
    }

    /// Queues a pong (at most 125 bytes) ahead of queued data, behind other pongs; past
    /// [`Limits::max_pong_backlog`](crate::Limits::max_pong_backlog) the oldest unstarted
    /// pongs are dropped.
    pub fn pong(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload, FrameKind::Pong)
    }

    fn send_control(
        &mut self,
        opcode: OpCode,
        payload: Bytes,
        kind: FrameKind,
    ) -> Result<(), SendError> {
        self.rec.control(kind == FrameKind::Pong, &payload);
        let result = self.send_control_now(opcode, payload, kind);
        self.rec.sent(&result, &mut self.tx);
        result
    }

    fn send_control_now(
        &mut self,
        opcode: OpCode,
        payload: Bytes,
        kind: FrameKind,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong(payload.len()));
        }
        let frame = self.tx.encoder.encode(true, opcode, payload, kind);
        if kind == FrameKind::Pong {
            self.tx
                .push_pong(frame, self.config.limits.max_pong_backlog);
        } else {
            self.tx.push_urgent(frame);
        }
        Ok(())
    }
}
