//! permessage-deflate hooks of the connection: the client's offer, the server's choice, the
//! agreed state, and compression of outgoing payloads. (Inflation is in `receive/inflate.rs`.)

use alloc::boxed::Box;
use alloc::vec::Vec;
use bytes::Bytes;

use super::Connection;
use crate::config::Config;
use crate::deflate::{
    DeflateConfig, DeflateParams, DeflateState, check_response, is_deflate, negotiate_offers,
    response_params,
};
use crate::frame::{FrameHeader, OpCode};
use crate::handshake::{Accept, ClientRequest, Request, Response, parse_extensions};
use crate::role::Role;

/// RSV1, the bit permessage-deflate sets on a compressed message's first frame.
const RSV1: u8 = 0b100;

/// The request a client sends: `request` plus the offer `config.deflate` asks for, unless
/// the caller already offered permessage-deflate itself.
pub(super) fn with_offer(request: &ClientRequest, config: &Config) -> ClientRequest {
    let offered = request
        .extensions()
        .iter()
        .filter_map(|e| parse_extensions([e.as_bytes()]).ok())
        .flatten()
        .any(|o| is_deflate(&o.name));
    match config.deflate {
        Some(d) if !offered => request.clone().extension(d.offer()),
        _ => request.clone(),
    }
}

/// The accept a server sends: `accept` plus the answer to the client's first acceptable
/// permessage-deflate offer when `config.deflate` is set and the caller did not list the
/// extension itself.
pub(super) fn with_answer(request: &Request, accept: &Accept, config: &Config) -> Accept {
    let mut accept = accept.clone();
    let listed = accept
        .extensions
        .iter()
        .filter_map(|e| parse_extensions([e.as_bytes()]).ok())
        .flatten()
        .any(|o| is_deflate(&o.name));
    if let (Some(d), false) = (config.deflate, listed) {
        if let Some(params) = negotiate_offers(&request.extensions, &d) {
            accept.extensions.push(params.to_header_value());
        }
    }
    accept
}

/// The state for the permessage-deflate element among `accepted` (already validated as an
/// answer to `offers`), if there is one.
fn agreed(
    role: Role,
    offers: &[crate::handshake::ExtensionOffer],
    accepted: &[crate::handshake::ExtensionOffer],
    config: &Config,
) -> Option<Box<DeflateState>> {
    let element = accepted.iter().find(|e| is_deflate(&e.name))?;
    let params = if offers.is_empty() {
        response_params(element).ok()?
    } else {
        check_response(offers, element).ok()?
    };
    let settings = config.deflate.unwrap_or_default();
    Some(Box::new(DeflateState::new(role, params, &settings)))
}

impl Connection {
    /// Server: the accept was written; run what it agreed to.
    pub(super) fn deflate_accepted(&mut self, request: &Request, accept: &Accept) {
        let accepted: Vec<_> = accept
            .extensions
            .iter()
            .filter_map(|e| parse_extensions([e.as_bytes()]).ok())
            .flatten()
            .collect();
        self.deflate = agreed(Role::Server, &request.extensions, &accepted, &self.config);
    }

    /// Client: the server's response was validated; run what it agreed to.
    pub(super) fn deflate_connected(&mut self, response: &Response) {
        self.deflate = agreed(Role::Client, &[], &response.extensions, &self.config);
    }

    /// Whether RSV1 is allowed on this frame: permessage-deflate is in use and the frame
    /// starts a data message. (RSV1 on a control or continuation frame is always an error.)
    pub(super) fn rsv1_allowed(&self, h: &FrameHeader) -> bool {
        h.rsv == RSV1 && self.deflate.is_some() && matches!(h.opcode, OpCode::Text | OpCode::Binary)
    }

    /// Whether a whole message of `len` bytes is compressed: the extension is in use and
    /// the message reaches the threshold.
    pub(super) fn compresses(&self, len: usize) -> bool {
        self.deflate.as_ref().is_some_and(|d| len >= d.threshold)
    }

    /// Whether permessage-deflate is in use (a caller-fragmented message is compressed).
    pub(super) fn deflate_in_use(&self) -> bool {
        self.deflate.is_some()
    }

    /// An upper bound of the wire size of `len` bytes once compressed.
    pub(super) fn compressed_bound(len: usize) -> usize {
        DeflateState::bound(len)
    }

    /// Compresses one piece of an outgoing message (`last` ends it).
    pub(super) fn compress_payload(&mut self, data: Bytes, last: bool) -> Bytes {
        match self.deflate.as_deref_mut() {
            Some(d) => d.compress(&data, last),
            None => data,
        }
    }

    /// Forgets the compressor's context: a message it compressed is going out uncompressed.
    pub(super) fn discard_compressor(&mut self) {
        if let Some(d) = self.deflate.as_deref_mut() {
            d.discard_compressor();
        }
    }

    /// The permessage-deflate parameters agreed in the handshake (or set with
    /// [`use_deflate`](Self::use_deflate)); `None` if the extension is not in use.
    pub fn deflate_params(&self) -> Option<&DeflateParams> {
        self.deflate.as_deref().map(DeflateState::params)
    }

    /// Runs permessage-deflate with the agreed `params` on a connection whose negotiation
    /// happened elsewhere (built with [`open`](Self::open) /
    /// [`open_with_random`](Self::open_with_random): RFC 8441 over HTTP/2, or an HTTP server
    /// that wrote the 101 itself), compressing as `settings` says. Call it before the first
    /// message either way; later it would break the streams both ends keep. Cost: no
    /// allocation until the first compressed message.
    pub fn use_deflate(&mut self, params: DeflateParams, settings: DeflateConfig) {
        self.rec.use_deflate(&params, &settings);
        self.deflate = Some(Box::new(DeflateState::new(self.role, params, &settings)));
    }
}
