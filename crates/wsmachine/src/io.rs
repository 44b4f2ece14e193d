//! What every adapter over `std::io` needs from the core, written once: the output as an
//! `IoSlice` array for a vectored write, and what an `io::Error` means for the connection.

use std::io::{self, IoSlice};

use crate::connection::{Connection, State};
use crate::event::TransportEnd;

/// Which way the failed I/O went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoDirection {
    /// A read from the transport.
    Read,
    /// A write to the transport.
    Write,
}

/// What an I/O error means for the transport: `None` if the operation should simply be
/// retried later (`WouldBlock`, `Interrupted`, `TimedOut`), else how the transport ended.
/// A reset, an abort, a broken pipe or a socket no longer connected is a reset either way;
/// any other write error shuts our write side; any other read error is a reset.
pub fn transport_end(error: &io::Error, direction: IoDirection) -> Option<TransportEnd> {
    use io::ErrorKind::*;
    match error.kind() {
        WouldBlock | Interrupted | TimedOut => None,
        ConnectionReset | ConnectionAborted | BrokenPipe | NotConnected => {
            Some(TransportEnd::Reset)
        }
        UnexpectedEof if direction == IoDirection::Read => Some(TransportEnd::Eof),
        _ => Some(match direction {
            IoDirection::Read => TransportEnd::Reset,
            IoDirection::Write => TransportEnd::WriteShut,
        }),
    }
}

impl Connection {
    /// Fills `out` with the unwritten output, in order, for one vectored write; returns how
    /// many slices were filled. Acknowledge what the write took with
    /// [`advance_transmit`](Connection::advance_transmit). Cost: no copy.
    pub fn transmit_io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, s) in out.iter_mut().zip(self.transmit_slices()) {
            *slot = IoSlice::new(s);
            n += 1;
        }
        n
    }

    /// Tells the connection that a read or write failed with `error`. Returns `true` if the
    /// transport is over (the core was told, see [`transport_end`]), `false` if the caller
    /// should retry later. A write that returned `Ok(0)` is reported as
    /// `io::ErrorKind::WriteZero`.
    pub fn handle_io_error(&mut self, error: &io::Error, direction: IoDirection) -> bool {
        match transport_end(error, direction) {
            None => false,
            Some(end) => {
                self.handle_transport_end(end);
                true
            }
        }
    }

    /// Tells the connection how the transport ended: [`handle_eof`](Connection::handle_eof),
    /// [`handle_reset`](Connection::handle_reset) or
    /// [`handle_write_closed`](Connection::handle_write_closed).
    pub fn handle_transport_end(&mut self, end: TransportEnd) -> State {
        match end {
            TransportEnd::Eof => self.handle_eof(),
            TransportEnd::Reset => self.handle_reset(),
            TransportEnd::WriteShut => self.handle_write_closed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_the_same_way_for_every_adapter() {
        let e = |k| io::Error::from(k);
        use io::ErrorKind::*;
        for k in [WouldBlock, Interrupted, TimedOut] {
            assert_eq!(transport_end(&e(k), IoDirection::Read), None);
            assert_eq!(transport_end(&e(k), IoDirection::Write), None);
        }
        for k in [ConnectionReset, ConnectionAborted, BrokenPipe, NotConnected] {
            assert_eq!(
                transport_end(&e(k), IoDirection::Write),
                Some(TransportEnd::Reset)
            );
            assert_eq!(
                transport_end(&e(k), IoDirection::Read),
                Some(TransportEnd::Reset)
            );
        }
        assert_eq!(
            transport_end(&e(WriteZero), IoDirection::Write),
            Some(TransportEnd::WriteShut)
        );
        assert_eq!(
            transport_end(&e(UnexpectedEof), IoDirection::Read),
            Some(TransportEnd::Eof)
        );
        assert_eq!(
            transport_end(&e(Other), IoDirection::Read),
            Some(TransportEnd::Reset)
        );
    }
}
