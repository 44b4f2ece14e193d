//! What every adapter over `std::io` needs from the core, written once: the output as an
//! `IoSlice` array for a vectored write, one write of it to an `io::Write`, and what an
//! `io::Error` means for the connection.

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

/// Slices gathered for one vectored write by [`Connection::write_transmit_io`] (Linux takes
/// up to 1024; 64 covers a batch of small messages, each a header and a payload).
const WRITE_SLICES: usize = 64;

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

    /// Writes the unwritten output to `w` with one call and acknowledges what it took:
    /// `write` when the output is one contiguous slice (every small batch of replies),
    /// `write_vectored` of up to 64 slices otherwise. On a socket that is `send` rather than
    /// `writev`, whose path costs more per call on Linux (see `benches/README.md`). Returns
    /// the bytes written; `Ok(0)` with output pending means the stream took nothing (report
    /// it as `io::ErrorKind::WriteZero`). Cost: the system call; no copy.
    pub fn write_transmit_io<W: io::Write + ?Sized>(&mut self, w: &mut W) -> io::Result<usize> {
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
        let n = self.transmit_io_slices(&mut slices);
        let written = match &slices[..n] {
            [] => return Ok(0),
            [one] => w.write(one)?,
            many => w.write_vectored(many)?,
        };
        self.advance_transmit(written);
        Ok(written)
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
    use crate::{Config, Role, Timestamp};
    use alloc::vec;
    use alloc::vec::Vec;

    /// A stream that takes at most `limit` bytes per call and records which call it got.
    struct Recorder {
        limit: usize,
        calls: Vec<&'static str>,
        taken: Vec<u8>,
    }

    impl Recorder {
        fn new(limit: usize) -> Self {
            Recorder {
                limit,
                calls: Vec::new(),
                taken: Vec::new(),
            }
        }
    }

    impl io::Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls.push("write");
            let n = buf.len().min(self.limit);
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls.push("write_vectored");
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.limit - n);
                self.taken.extend_from_slice(&b[..take]);
                n += take;
            }
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_transmit_sends_one_slice_plainly_and_acknowledges_what_was_taken() {
        let mut conn = Connection::open(Role::Server, Config::default(), Timestamp::ZERO);
        let mut w = Recorder::new(usize::MAX);
        assert_eq!(conn.write_transmit_io(&mut w).unwrap(), 0, "nothing queued");
        assert!(w.calls.is_empty());

        conn.send_binary_slice(b"hello").unwrap();
        assert_eq!(conn.write_transmit_io(&mut w).unwrap(), 7);
        assert_eq!(w.calls, ["write"]);
        assert_eq!(w.taken, b"\x82\x05hello");
        assert_eq!(conn.pending_transmit(), 0);

        // A large payload is queued by reference: header and payload are two slices.
        let payload = bytes::Bytes::from(vec![7u8; 100_000]);
        conn.send_binary(payload.clone()).unwrap();
        let mut slices = [IoSlice::new(&[]); 4];
        assert!(
            conn.transmit_io_slices(&mut slices) > 1,
            "premise: output in pieces"
        );
        let mut w = Recorder::new(1000);
        assert_eq!(
            conn.write_transmit_io(&mut w).unwrap(),
            1000,
            "a partial write"
        );
        assert_eq!(w.calls, ["write_vectored"]);
        assert_eq!(conn.pending_transmit(), 100_010 - 1000);
        let mut rest = Recorder::new(usize::MAX);
        while conn.pending_transmit() > 0 {
            assert!(conn.write_transmit_io(&mut rest).unwrap() > 0);
        }
        let all = [w.taken, rest.taken].concat();
        assert_eq!(all[..4], [0x82, 127, 0, 0]);
        assert_eq!(all[10..], payload[..]);

        // A stream that takes nothing: `Ok(0)`, and the output stays queued.
        conn.send_binary_slice(b"x").unwrap();
        assert_eq!(conn.write_transmit_io(&mut Recorder::new(0)).unwrap(), 0);
        assert_eq!(conn.pending_transmit(), 3);
    }

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
