//! Endings: the close handshake we start, failing the connection (RFC 6455 7.1.7), timer
//! failures and the final [`Event::Closed`].

use alloc::string::ToString;
use bytes::Bytes;

use super::{Connection, Phase};
use crate::close::{CloseCode, CloseFrame};
use crate::error::{ConnectionError, ProtocolError, SendError, Timeout};
use crate::event::{CloseReport, Closer, Event};
use crate::frame::OpCode;
use crate::handshake::HandshakeError;
use crate::role::Role;
use crate::time::Timestamp;

impl Connection {
    /// Starts the close handshake at time `now`: queues a Close after the data already
    /// queued and starts the close timer. Further sends fail with [`SendError::Closing`];
    /// incoming messages are still delivered until the peer's Close.
    pub fn close(
        &mut self,
        now: Timestamp,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        self.rec.close(now, code, reason);
        let result = self.close_now(now, code, reason);
        self.rec.sent(&result, &mut self.tx);
        result
    }

    fn close_now(
        &mut self,
        now: Timestamp,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        self.timers.tick(now);
        self.check_can_send()?;
        self.queue_close(CloseFrame::new(code, reason)?);
        Ok(())
    }

    /// Queues our Close after the data already queued (a failure too: what the application
    /// sent before it, such as a reply to the last message delivered, is not lost) and
    /// starts the close timer.
    pub(super) fn queue_close(&mut self, frame: CloseFrame) {
        if self.close_sent.is_some() {
            return;
        }
        self.tx.push_data_frame(true, OpCode::Close, frame.encode());
        self.close_sent = Some(frame);
        if matches!(self.phase, Phase::Open) {
            self.phase = Phase::Closing;
        }
        self.sending = None;
        self.timers.arm_close(self.config.timers.close_timeout);
    }

    // ----- endings -----

    /// Ends the connection: reports [`Event::Closed`] and makes every later input a no-op.
    pub(super) fn finish(&mut self, closed_by: Closer) {
        if self.is_closed() {
            return;
        }
        let clean = self.close_sent.is_some() && self.close_received.is_some();
        let report = CloseReport {
            sent: self.close_sent.clone(),
            received: self.close_received.clone(),
            clean,
            closed_by,
            transport: self.transport,
        };
        self.phase = Phase::Closed;
        self.rx.clear();
        self.timers.clear();
        self.sending = None;
        self.events.push_back(Event::Closed(report));
    }

    /// Fails the connection (RFC 6455 7.1.7): error event, Close with the error's code, no
    /// further input, Closed.
    pub(super) fn fail(&mut self, error: ProtocolError) {
        self.events
            .push_back(Event::Error(ConnectionError::Protocol(error, self.rx.last)));
        let frame = CloseFrame {
            code: error.close_code(),
            reason: error.reason().to_string(),
        };
        self.queue_close(frame);
        self.finish(Closer::Us);
        // The peer may still be sending: read and discard its input for a while, so that
        // closing the socket with unread bytes does not reset it before our Close is read.
        if self.transport.is_none() {
            self.timers.drain = self
                .config
                .timers
                .drain_timeout
                .map(|d| self.timers.now() + d);
        }
    }

    /// The handshake failed: error event; a server queues the HTTP error response.
    pub(super) fn fail_handshake(&mut self, error: HandshakeError) {
        if self.role == Role::Server {
            if let Some(response) = error.response() {
                self.tx.push_handshake(Bytes::from(response));
            }
        }
        self.events
            .push_back(Event::Error(ConnectionError::Handshake(error)));
        self.finish(Closer::Us);
    }

    /// A timer gave up on the peer: error event, nothing more written, Closed.
    pub(super) fn fail_timeout(&mut self, timeout: Timeout) {
        self.events
            .push_back(Event::Error(ConnectionError::Timeout(timeout)));
        self.tx.kill();
        self.finish(Closer::Us);
    }
}
