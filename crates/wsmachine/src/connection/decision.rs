//! The server's decision on an upgrade request: accept (101) or reject (an HTTP error).

use alloc::string::String;
use bytes::Bytes;

use super::{Connection, Phase};
use crate::event::Closer;
use crate::handshake::{Accept, Decision, HandshakeError, reject_response};
use crate::time::Timestamp;

impl Connection {
    // ----- handshake decisions (server) -----

    /// Accepts the pending upgrade request at time `now` with the chosen subprotocol,
    /// extensions and extra headers; queues the 101 response, opens the connection and
    /// starts its timers.
    ///
    /// If `accept` is invalid for the request (a subprotocol the client did not offer, a
    /// bad header, an extension the core does not run), the connection answers `500
    /// Internal Server Error` and closes, and the error is returned: every caller gets the
    /// same response on the wire.
    ///
    /// With `Config::deflate` set (feature `deflate`) and no permessage-deflate element in
    /// `accept`, the client's first acceptable permessage-deflate offer is answered and
    /// the extension runs from here on (`deflate_params` tells).
    pub fn accept(&mut self, now: Timestamp, accept: &Accept) -> Result<(), AcceptError> {
        self.rec.accept(now, accept);
        let result = self.accept_now(now, accept);
        self.rec.decided(&result, &mut self.tx);
        result
    }

    fn accept_now(&mut self, now: Timestamp, accept: &Accept) -> Result<(), AcceptError> {
        self.timers.tick(now);
        let Phase::AwaitingDecision(req) = &self.phase else {
            return Err(AcceptError::NoPendingRequest);
        };
        #[cfg(feature = "deflate")]
        let accept = &super::deflate::with_answer(req, accept, &self.config);
        let response = match req.accept_response(accept) {
            Ok(r) => r,
            Err(e) => {
                let body = b"invalid accept options";
                self.tx
                    .push_handshake(Bytes::from(reject_response(500, &[], body)));
                self.finish(Closer::Us);
                return Err(AcceptError::Handshake(e));
            }
        };
        self.tx.push_handshake(Bytes::from(response));
        #[cfg(feature = "deflate")]
        if let Phase::AwaitingDecision(req) = core::mem::replace(&mut self.phase, Phase::Open) {
            self.deflate_accepted(&req, accept);
        }
        self.phase = Phase::Open;
        self.timers.handshake = None;
        self.start_open_timers();
        Ok(())
    }

    /// Applies a [`Decision`] to the pending upgrade request at time `now`:
    /// [`accept`](Connection::accept) or [`reject`](Connection::reject).
    pub fn decide(&mut self, now: Timestamp, decision: &Decision) -> Result<(), AcceptError> {
        match decision {
            Decision::Accept(accept) => self.accept(now, accept),
            Decision::Reject {
                status,
                headers,
                body,
            } => self.reject(*status, headers, body),
        }
    }

    /// Rejects the pending upgrade request with an HTTP `status`, headers and body; queues
    /// the response and closes (the transport should be closed once it is written).
    pub fn reject(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), AcceptError> {
        self.rec.reject(status, headers, body);
        let result = self.reject_now(status, headers, body);
        self.rec.decided(&result, &mut self.tx);
        result
    }

    fn reject_now(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), AcceptError> {
        if !matches!(self.phase, Phase::AwaitingDecision(_)) {
            return Err(AcceptError::NoPendingRequest);
        }
        let response = reject_response(status, headers, body);
        self.tx.push_handshake(Bytes::from(response));
        self.finish(Closer::Us);
        Ok(())
    }
}

/// Why [`Connection::accept`] or [`Connection::reject`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceptError {
    /// No request awaits a decision (not a server, not yet received, or already decided).
    NoPendingRequest,
    /// The accept options are invalid (e.g. a subprotocol the client did not offer).
    Handshake(HandshakeError),
}

impl core::fmt::Display for AcceptError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AcceptError::NoPendingRequest => f.write_str("no handshake request awaits a decision"),
            AcceptError::Handshake(e) => write!(f, "invalid accept: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for AcceptError {}
