//! permessage-deflate (RFC 7692): what a connection offers or accepts, the parameters both
//! ends agreed on, and the per-connection compression state.
//!
//! Turn it on with [`Config::deflate`](crate::Config::deflate) (cargo feature `deflate`):
//! a client then offers the extension in its handshake and a server accepts the first
//! acceptable offer in [`Connection::accept`](crate::Connection::accept), with no other
//! change to the driving code. Without the feature, or when the peer does not agree, every
//! frame with RSV1 set fails the connection with 1002, as RFC 6455 requires. A connection
//! whose handshake ran elsewhere (RFC 8441, an HTTP framework that wrote the 101) runs the
//! parameters agreed there with
//! [`Connection::use_deflate`](crate::Connection::use_deflate).
//!
//! # Negotiation (RFC 7692 section 7.1)
//!
//! | parameter | client offers it when | server answers with it when |
//! |---|---|---|
//! | `server_no_context_takeover` | `server_no_context_takeover` is set | the client offered it, or it is set |
//! | `client_no_context_takeover` | `client_no_context_takeover` is set | the client offered it, or it is set |
//! | `server_max_window_bits` | `server_max_window_bits` < 15 | the client offered it (the smaller of the two values), or it is < 15 |
//! | `client_max_window_bits` | always (the value when < 15), to say the client supports it | the client offered it and the smaller of the two values is < 15, or the client gave a value |
//!
//! A server declines an offer with an unknown, duplicate or malformed parameter and tries the
//! next one; a client fails the handshake on such a response, on a second
//! `permessage-deflate` element, and on a response no offer of it allows (a larger window
//! than it asked for, `client_max_window_bits` it did not offer, a missing
//! `server_no_context_takeover` it asked for).
//!
//! Window bits 8: zlib (and so `zlib-rs`) cannot compress raw deflate with a 256-byte
//! window, and RFC 7692 7.1.2 lets a server answer only with a value *equal to or smaller
//! than* the one offered, so answering 9 to an offer of 8 would be a violation. Instead, a
//! compressor held to 8 bits runs zlib's RLE strategy, whose matches all have distance 1: its
//! output is valid for any window, so every value 8-15 is supported in both roles and no offer
//! is declined for it. A decompressor uses at least 9 bits, which also accepts the streams of
//! zlib-based peers that silently turn 8 into 9.
//!
//! # Data (RFC 7692 section 7.2)
//!
//! A message is compressed when its payload is at least
//! [`threshold`](DeflateConfig::threshold) bytes, unless sent with
//! [`send_uncompressed`](crate::Connection::send_uncompressed). A whole message whose
//! compressed form is not smaller than the message (random or already compressed data,
//! which deflate grows by a few bytes per 16 KiB) goes uncompressed instead, and the
//! compressor starts a fresh context: so compression never makes a message bigger on the
//! wire, and a message that fits the peer's frame limit plain fits it with the extension
//! in use. (The deflate pass is spent either way.) A caller-fragmented message
//! ([`send_fragment`](crate::Connection::send_fragment)) is compressed fragment by fragment
//! with a sync flush each, so every frame carries its data at once. RSV1 is set on the first
//! frame only. Control frames are never compressed; RSV1 on a control or continuation frame
//! fails the connection with 1002.
//!
//! Received compressed messages are inflated as their frames arrive, in bounded steps: the
//! inflated size counts against `max_message_size` (and the wire size too), and inflation
//! stops one byte past the limit and fails the connection with 1009, so a small message
//! that would inflate to gigabytes costs at most the limit in memory, and time in proportion
//! to it. Inflated text is UTF-8 checked as it is produced (fail-fast, 1007). Data that is
//! not a valid deflate stream (or a block that ends the stream, followed by more data) fails
//! with 1007 (invalid frame payload data, RFC 6455 7.4.1), the code for a payload that is
//! inconsistent with its type, like bad UTF-8.
//!
//! # Memory per connection
//!
//! Both states are created on first use, so a connection that never sends (or receives) a
//! compressed message pays nothing for that direction. A direction without context takeover
//! frees its state after every message: idle connections then hold no deflate memory at
//! all, at the cost of building the state again per message. Measured with a counting
//! global allocator (`tests/deflate_memory.rs`, zlib-rs 0.6.9, bytes held between messages):
//!
//! | state | window bits | memory level | bytes |
//! |---|---|---|---|
//! | compressor | 15 | 9 | 495,145 |
//! | compressor | 15 | 8 (default) | 380,457 |
//! | compressor | 8 (RLE on 9 bits) | 8 | 251,433 |
//! | compressor | 12 | 5 | 165,417 |
//! | compressor | 10 | 4 | 145,961 |
//! | compressor | 9 | 1 | 137,641 |
//! | decompressor | any (8-15) | - | 47,552 |
//!
//! The compressor's memory falls with its window
//! ([`server_max_window_bits`](DeflateConfig::server_max_window_bits) for a server,
//! [`client_max_window_bits`](DeflateConfig::client_max_window_bits) for a client) and
//! [`memory_level`](DeflateConfig::memory_level), down to zlib-rs's fixed 128 KiB hash
//! table. zlib-rs's decompressor always allocates a 32 KiB window, so the window the peer
//! is held to does not change it; what caps it is the peer's no context takeover (the
//! server's `client_no_context_takeover`, the client's `server_no_context_takeover`),
//! which frees it between messages. Worst case per connection, both directions with
//! context takeover at the defaults: about 428 KiB, on top of the `Limits`.

mod codec;
mod negotiate;

use alloc::string::String;
use bytes::{Bytes, BytesMut};

use crate::handshake::ExtensionOffer;
use crate::role::Role;
pub(crate) use codec::{Compressor, Decompressor, InvalidData};
pub(crate) use negotiate::{check_response, is_deflate, negotiate_offers, response_params};

/// The registered extension name, `permessage-deflate`.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// What a connection offers (client) or accepts (server) for permessage-deflate, and how it
/// compresses. Set [`Config::deflate`](crate::Config::deflate) to `Some` to use it.
///
/// The four RFC parameters are named from the wire's point of view, so one value serves
/// both roles: `server_*` limit the server's compressor (the client's decompressor),
/// `client_*` the client's compressor (the server's decompressor). The side that compresses
/// may always use a smaller window than agreed, and may always drop its context; the
/// settings for our own compressor are applied even when the peer did not ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Client: ask the server to compress every message with an empty window (frees the
    /// client's decompressor between messages). Server: do so whatever the client asked
    /// (frees the server's compressor between messages).
    ///
    /// The `*_no_context_takeover` settings are the way to bound the memory of idle
    /// connections; see the module docs for what each state costs.
    pub server_no_context_takeover: bool,
    /// Client: compress every message with an empty window, and say so in the offer.
    /// Server: require the client to (frees the server's decompressor between messages).
    pub client_no_context_takeover: bool,
    /// The largest window (8-15) for the server's compressor. Client: asked for in the offer
    /// when below 15. Server: the window it compresses with at most (less compressor
    /// memory). Values outside 8-15 are clamped.
    pub server_max_window_bits: u8,
    /// The largest window (8-15) for the client's compressor. Client: the window it
    /// compresses with at most (less compressor memory). Server: asked of the client when
    /// it offered the parameter; a client that did not offer it may use 15. Values outside
    /// 8-15 are clamped.
    pub client_max_window_bits: u8,
    /// Compression level, 0 (store) to 9 (best); default 6. Values above 9 are clamped.
    pub level: u8,
    /// zlib's memory level for our compressor, 1 (least memory, worse compression) to 9;
    /// default 8. Values outside 1-9 are clamped.
    pub memory_level: u8,
    /// Messages shorter than this many bytes are sent uncompressed; default 128.
    pub threshold: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: 6,
            memory_level: 8,
            threshold: 128,
        }
    }
}

impl DeflateConfig {
    /// The client's offer, one `Sec-WebSocket-Extensions` list element:
    /// `permessage-deflate; client_max_window_bits[=N]` plus the parameters set above.
    pub fn offer(&self) -> String {
        let mut s = String::from(EXTENSION_NAME);
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        let server_bits = clamp_bits(self.server_max_window_bits);
        if server_bits < 15 {
            push_bits(&mut s, "server_max_window_bits", server_bits);
        }
        let client_bits = clamp_bits(self.client_max_window_bits);
        if client_bits < 15 {
            push_bits(&mut s, "client_max_window_bits", client_bits);
        } else {
            s.push_str("; client_max_window_bits");
        }
        s
    }

    /// Server: the answer to the client's first acceptable `permessage-deflate` offer among
    /// `offers` (a [`Request`](crate::Request)'s `extensions`), as
    /// [`Connection::accept`](crate::Connection::accept) makes it; `None` when the client
    /// offered none that is well formed. For a server whose 101 is written elsewhere: put
    /// [`DeflateParams::to_header_value`] in its `Sec-WebSocket-Extensions` (through
    /// [`Accept::extensions`](crate::Accept::extensions)) and run the connection with
    /// [`Connection::use_deflate`](crate::Connection::use_deflate). Cost: one pass over
    /// the offers' parameters.
    pub fn negotiate(&self, offers: &[ExtensionOffer]) -> Option<DeflateParams> {
        negotiate_offers(offers, self)
    }
}

/// The permessage-deflate parameters both ends agreed on: the server's response element.
/// `None` for a window means the parameter was absent (15 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeflateParams {
    /// The server compresses every message with an empty window.
    pub server_no_context_takeover: bool,
    /// The client compresses every message with an empty window.
    pub client_no_context_takeover: bool,
    /// The largest window the server's compressor uses (8-15).
    pub server_max_window_bits: Option<u8>,
    /// The largest window the client's compressor uses (8-15).
    pub client_max_window_bits: Option<u8>,
}

impl DeflateParams {
    /// The parameters the `permessage-deflate` element among `extensions` states: a
    /// client's [`Response::extensions`](crate::Response::extensions) (already checked
    /// against the offer by the handshake), or an accepted server response's list parsed
    /// with [`parse_extensions`](crate::handshake::parse_extensions). `None` when no
    /// element is `permessage-deflate` or the first one is malformed (unknown, duplicate
    /// or out-of-range parameter). Cost: one pass over the elements.
    pub fn from_extensions(extensions: &[ExtensionOffer]) -> Option<DeflateParams> {
        let element = extensions.iter().find(|e| is_deflate(&e.name))?;
        response_params(element).ok()
    }

    /// The response element that states these parameters, e.g.
    /// `permessage-deflate; server_no_context_takeover; client_max_window_bits=10`.
    pub fn to_header_value(&self) -> String {
        let mut s = String::from(EXTENSION_NAME);
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if let Some(b) = self.server_max_window_bits {
            push_bits(&mut s, "server_max_window_bits", b);
        }
        if let Some(b) = self.client_max_window_bits {
            push_bits(&mut s, "client_max_window_bits", b);
        }
        s
    }
}

fn push_bits(s: &mut String, name: &str, bits: u8) {
    s.push_str("; ");
    s.push_str(name);
    s.push('=');
    if bits >= 10 {
        s.push('1');
    }
    s.push(char::from(b'0' + bits % 10));
}

/// Clamps a window size to the RFC's 8-15.
pub(crate) fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(8, 15)
}

/// The 4 octets a sync flush ends with, removed from a compressed message's tail by the
/// sender and appended by the receiver (RFC 7692 7.2.1, 7.2.2).
pub(crate) const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// One connection's permessage-deflate state: the agreed parameters seen from our role, and
/// the compressor and decompressor, each created on first use.
pub(crate) struct DeflateState {
    params: DeflateParams,
    /// Our compressor's window bits (8-15) and whether it drops its context per message.
    own_bits: u8,
    own_reset: bool,
    /// The window the peer compresses with at most, and whether it drops its context.
    peer_bits: u8,
    peer_reset: bool,
    level: u8,
    memory_level: u8,
    pub(crate) threshold: usize,
    compressor: Option<Compressor>,
    decompressor: Option<Decompressor>,
    /// Compressed output, split off per message; its memory is reused once written.
    scratch: BytesMut,
}

impl DeflateState {
    /// The state for `role` after agreeing on `params`, compressing as `config` says.
    /// Allocates nothing until a message is compressed or inflated.
    pub(crate) fn new(role: Role, params: DeflateParams, config: &DeflateConfig) -> Self {
        let server_bits = params.server_max_window_bits.map_or(15, clamp_bits);
        let client_bits = params.client_max_window_bits.map_or(15, clamp_bits);
        let (own_bits, own_reset, peer_bits, peer_reset) = match role {
            Role::Server => (
                server_bits.min(clamp_bits(config.server_max_window_bits)),
                params.server_no_context_takeover || config.server_no_context_takeover,
                client_bits,
                params.client_no_context_takeover,
            ),
            Role::Client => (
                client_bits.min(clamp_bits(config.client_max_window_bits)),
                params.client_no_context_takeover || config.client_no_context_takeover,
                server_bits,
                params.server_no_context_takeover,
            ),
        };
        DeflateState {
            params,
            own_bits,
            own_reset,
            peer_bits,
            peer_reset,
            level: config.level.min(9),
            memory_level: config.memory_level.clamp(1, 9),
            threshold: config.threshold,
            compressor: None,
            decompressor: None,
            scratch: BytesMut::new(),
        }
    }

    /// The agreed parameters.
    pub(crate) fn params(&self) -> &DeflateParams {
        &self.params
    }

    /// An upper bound on the compressed size of `len` bytes (for the send-queue check,
    /// made before compressing since compression cannot be undone).
    pub(crate) fn bound(len: usize) -> usize {
        codec::bound(len)
    }

    /// Compresses one piece of an outgoing message with a sync flush; `last` ends the
    /// message (the trailer is removed, and without context takeover the compressor is
    /// freed). Cost: one pass of deflate; the output reuses the scratch buffer's memory.
    pub(crate) fn compress(&mut self, data: &[u8], last: bool) -> Bytes {
        let (bits, level, mem) = (self.own_bits, self.level, self.memory_level);
        let c = self
            .compressor
            .get_or_insert_with(|| Compressor::new(level, bits, mem));
        c.compress_sync(data, &mut self.scratch);
        if last {
            // The output ends with the sync flush's empty stored block: its last 4 octets
            // go, its header byte stays (so an empty message is the single byte 0x00,
            // RFC 7692 7.2.3.6).
            if self.scratch.ends_with(&TRAILER) {
                self.scratch.truncate(self.scratch.len() - TRAILER.len());
            } else {
                self.scratch.extend_from_slice(&[0]);
            }
            if self.own_reset {
                self.compressor = None;
            }
        }
        self.scratch.split().freeze()
    }

    /// Forgets the compressor's context (frees its state): after a compressed message was
    /// sent uncompressed instead, so that no later message refers to data the peer never
    /// inflated. The peer's decompressor needs no reset: a fresh stream refers only to
    /// what it sends itself.
    pub(crate) fn discard_compressor(&mut self) {
        self.compressor = None;
    }

    /// Inflates from `input` into `out` (appending at most `space` bytes); see
    /// [`Decompressor::inflate`].
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut alloc::vec::Vec<u8>,
        space: usize,
    ) -> Result<codec::Inflated, InvalidData> {
        let bits = self.peer_bits;
        self.decompressor
            .get_or_insert_with(|| Decompressor::new(bits))
            .inflate(input, out, space)
    }

    /// A received compressed message ended (`stream_end`: its data closed the deflate
    /// stream, so the next message needs a fresh one). Without the peer's context takeover
    /// the decompressor is freed.
    pub(crate) fn end_inbound(&mut self, stream_end: bool) {
        if self.peer_reset || stream_end {
            self.decompressor = None;
        }
    }
}
