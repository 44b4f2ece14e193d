//! Frame headers (RFC 6455 5.2): opcodes, decoding from a byte prefix, encoding.
//!
//! Header decoding looks at most 14 bytes and allocates nothing; the payload length is only a
//! number until the bytes arrive.

/// A frame opcode (RFC 6455 5.2, 11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: starts a text message.
    Text,
    /// 0x2: starts a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// Decodes a 4-bit opcode; the reserved ones (0x3-0x7, 0xB-0xF) give `None`.
    pub fn from_u8(v: u8) -> Option<OpCode> {
        Some(match v {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong are control frames: at most 125 bytes, never fragmented.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// The largest payload a control frame may carry.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The longest header: 2 bytes, an 8-byte length and a 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The final fragment of a message.
    pub fin: bool,
    /// The three reserved bits, RSV1 in bit 2 down to RSV3 in bit 0.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The declared payload length.
    pub payload_len: u64,
}

/// Why a header could not be decoded. Each maps to close code 1002.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// An opcode the RFC reserves.
    ReservedOpcode(u8),
    /// A 64-bit length with its most significant bit set.
    LengthTopBitSet,
}

impl FrameHeader {
    /// Decodes a header from the start of `buf`. `Ok(None)` means more bytes are needed;
    /// `Ok(Some((header, n)))` means the header took `n` bytes. Cost: reads at most 14 bytes.
    pub fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, HeaderError> {
        let (b0, b1) = match buf {
            [b0, b1, ..] => (*b0, *b1),
            _ => return Ok(None),
        };
        let opcode = OpCode::from_u8(b0 & 0x0f).ok_or(HeaderError::ReservedOpcode(b0 & 0x0f))?;
        let masked = b1 & 0x80 != 0;
        let (payload_len, mut at) = match b1 & 0x7f {
            126 => match buf.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(b) => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    let len = u64::from_be_bytes(a);
                    if len >> 63 != 0 {
                        return Err(HeaderError::LengthTopBitSet);
                    }
                    (len, 10)
                }
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        let mask = if masked {
            match buf.get(at..at + 4) {
                Some(k) => {
                    at += 4;
                    Some([k[0], k[1], k[2], k[3]])
                }
                None => return Ok(None),
            }
        } else {
            None
        };
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0x07,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, at)))
    }

    /// Encodes the header into `out` with the shortest length form; returns the byte count.
    #[inline(always)]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x07) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut at = match self.payload_len {
            n @ 0..=125 => {
                out[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xffff => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(h: FrameHeader) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut out);
        assert_eq!(FrameHeader::decode(&out[..n]), Ok(Some((h, n))));
        for short in 0..n {
            assert_eq!(FrameHeader::decode(&out[..short]), Ok(None));
        }
    }

    #[test]
    fn every_length_class_round_trips() {
        for len in [0, 1, 125, 126, 127, 0xffff, 0x1_0000, u64::MAX >> 1] {
            for mask in [None, Some([9, 8, 7, 6])] {
                roundtrip(FrameHeader {
                    fin: len % 2 == 0,
                    rsv: 0,
                    opcode: OpCode::Binary,
                    mask,
                    payload_len: len,
                });
            }
        }
    }

    #[test]
    fn shortest_length_form_is_used() {
        let mut out = [0u8; MAX_HEADER_LEN];
        let h = |len| FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Text,
            mask: None,
            payload_len: len,
        };
        assert_eq!(h(125).encode(&mut out), 2);
        assert_eq!(h(126).encode(&mut out), 4);
        assert_eq!(h(65535).encode(&mut out), 4);
        assert_eq!(h(65536).encode(&mut out), 10);
    }

    #[test]
    fn reserved_opcodes_and_top_bit_are_errors() {
        for op in [0x3, 0x7, 0xB, 0xF] {
            assert_eq!(
                FrameHeader::decode(&[0x80 | op, 0]),
                Err(HeaderError::ReservedOpcode(op))
            );
        }
        let mut buf = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(FrameHeader::decode(&buf), Err(HeaderError::LengthTopBitSet));
        buf[2] = 0x7f;
        assert!(FrameHeader::decode(&buf).unwrap().is_some());
    }
}
