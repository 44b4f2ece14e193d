//! The replayer: runs a transcript's inputs through a fresh [`Connection`] that records
//! too, and checks that the new transcript is the old one, byte for byte.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;

use super::format::{FormatError, Record, records, records_at};
use crate::close::CloseCode;
use crate::connection::Connection;
use crate::message::{Message, MessageKind, Utf8Bytes};
use crate::random::RandomSource;

/// Serves the random bytes a transcript recorded, in order; zeros once they run out (the
/// replay then diverges where the recording had other bytes).
struct ReplayRandom {
    bytes: Vec<u8>,
    at: usize,
}

impl RandomSource for ReplayRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.bytes.get(self.at).copied().unwrap_or(0);
            self.at = self.at.saturating_add(1);
        }
    }
}

/// Where a replay first did something else than the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the first record that differs (0 is the construction).
    pub record: usize,
    /// Byte offset of the first differing byte in the transcript.
    pub offset: usize,
    /// The recorded record, as a dump line.
    pub expected: String,
    /// What the replay recorded there instead (`(nothing)` if it stopped short).
    pub actual: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replay diverged at record {} (byte {}): recorded `{}`, replayed `{}`",
            self.record, self.offset, self.expected, self.actual
        )
    }
}

/// Why a replay failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// The transcript is not well formed.
    Format(FormatError),
    /// The transcript does not start with a construction record, or has a second one.
    Construction(&'static str),
    /// The connection could not be built again (a client request the core now refuses).
    Build(String),
    /// The replay did not reproduce the recording.
    Diverged(Divergence),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Format(e) => write!(f, "{e}"),
            ReplayError::Construction(s) => write!(f, "bad transcript: {s}"),
            ReplayError::Build(s) => write!(f, "cannot build the connection again: {s}"),
            ReplayError::Diverged(d) => write!(f, "{d}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ReplayError {}

impl From<FormatError> for ReplayError {
    fn from(e: FormatError) -> Self {
        ReplayError::Format(e)
    }
}

/// A replay that reproduced its transcript.
#[derive(Debug)]
pub struct Replayed {
    /// The connection after the last input, in the state the recorded one was in.
    pub connection: Connection,
    /// Records in the transcript.
    pub records: usize,
    /// `poll_event` calls that returned an event.
    pub events: usize,
}

/// Builds the connection a construction record describes, drawing from `random`.
fn build(record: &Record<'_>, random: ReplayRandom) -> Result<Connection, ReplayError> {
    let random = Box::new(random);
    let recording = |c: &crate::config::Config| crate::config::Config { record: true, ..*c };
    match record {
        Record::Open { role, now, config } => Ok(Connection::open_with_random(
            *role,
            recording(config),
            *now,
            random,
        )),
        Record::Server { now, config } => Ok(Connection::server(recording(config), *now)),
        Record::Client {
            now,
            config,
            request,
        } => Connection::client_with_random(request, recording(config), *now, random)
            .map_err(|e| ReplayError::Build(format!("{e}"))),
        _ => Err(ReplayError::Construction(
            "the first record is not a construction",
        )),
    }
}

fn message(kind: MessageKind, payload: &[u8]) -> Result<Message, &'static str> {
    let bytes = Bytes::copy_from_slice(payload);
    Ok(match kind {
        MessageKind::Binary => Message::Binary(bytes),
        MessageKind::Text => Message::Text(
            Utf8Bytes::try_from_bytes(bytes).map_err(|_| "a text message is not UTF-8")?,
        ),
    })
}

/// Applies one input record to `conn`; returns whether it was an event poll that found an
/// event. Records that are outputs (outcomes, random bytes) do nothing.
fn apply(conn: &mut Connection, record: &Record<'_>, at: usize) -> Result<bool, ReplayError> {
    let bad = |reason| ReplayError::Format(FormatError { offset: at, reason });
    match record {
        Record::Open { .. } | Record::Server { .. } | Record::Client { .. } => {
            return Err(ReplayError::Construction("a second construction record"));
        }
        Record::Input { now, bytes } => {
            conn.handle_input(*now, bytes);
        }
        Record::Eof => {
            conn.handle_eof();
        }
        Record::Reset => {
            conn.handle_reset();
        }
        Record::WriteClosed => {
            conn.handle_write_closed();
        }
        Record::Timeout { now } => conn.handle_timeout(*now),
        Record::Accept { now, accept } => {
            let _ = conn.accept(*now, accept);
        }
        Record::Reject {
            status,
            headers,
            body,
        } => {
            let _ = conn.reject(*status, headers, body);
        }
        #[cfg(feature = "deflate")]
        Record::UseDeflate { params, settings } => conn.use_deflate(*params, *settings),
        Record::Send {
            kind,
            compress,
            payload,
        } => {
            let m = message(*kind, payload).map_err(bad)?;
            let _ = if *compress {
                conn.send(m)
            } else {
                conn.send_uncompressed(m)
            };
        }
        Record::SendFragment {
            kind,
            compress,
            last,
            payload,
        } => {
            let data = Bytes::copy_from_slice(payload);
            let _ = if *compress {
                conn.send_fragment(*kind, data, *last)
            } else {
                conn.send_fragment_uncompressed(*kind, data, *last)
            };
        }
        Record::Ping(p) => {
            let _ = conn.ping(Bytes::copy_from_slice(p));
        }
        Record::Pong(p) => {
            let _ = conn.pong(Bytes::copy_from_slice(p));
        }
        Record::Close { now, code, reason } => {
            let _ = conn.close(*now, CloseCode(*code), reason);
        }
        Record::Event(_) => return Ok(conn.poll_event().is_some()),
        Record::Advance { n, .. } => {
            let n = usize::try_from(*n).map_err(|_| bad("advance larger than usize"))?;
            conn.advance_transmit(n);
        }
        Record::PollTransmit(_) => {
            let _ = conn.poll_transmit();
        }
        Record::WriteTransmit { max, .. } => {
            let max = usize::try_from(*max).unwrap_or(usize::MAX);
            let mut sink = Vec::new();
            conn.write_transmit_to(&mut sink, max);
        }
        Record::Outcome(_) | Record::Random(_) => {}
    }
    Ok(false)
}

/// The record of `buf` that holds byte `offset`, as its index and a dump line. `buf` is a
/// whole transcript (`header`), or a run of whole records.
fn describe(buf: &[u8], header: bool, offset: usize) -> (usize, String) {
    let iter = if header {
        match records(buf) {
            Ok(iter) => iter,
            Err(_) => return (0, String::from("(the header)")),
        }
    } else {
        records_at(buf, 0)
    };
    for (i, r) in iter.enumerate() {
        match r {
            Ok((range, record)) if range.contains(&offset) => return (i, format!("{record}")),
            Ok(_) => {}
            Err(e) => return (i, format!("({e})")),
        }
    }
    (0, String::from("(nothing)"))
}

/// Compares the bytes the replay recorded in one step, `chunk` (whole records, or the
/// header and the first record when `at` is 0), which start at byte `at` of its
/// transcript, with the recording; the first differing byte is a divergence.
fn check(expected: &[u8], chunk: &[u8], at: usize) -> Result<(), ReplayError> {
    let want = expected.get(at..).unwrap_or_default();
    let common = want.len().min(chunk.len());
    let i = match (0..common).find(|&i| want[i] != chunk[i]) {
        Some(i) => i,
        None if chunk.len() > want.len() => want.len(),
        None => return Ok(()),
    };
    let (record, expected_line) = describe(expected, true, at + i);
    let (_, actual) = describe(chunk, at == 0, i);
    Err(ReplayError::Diverged(Divergence {
        record,
        offset: at + i,
        expected: expected_line,
        actual,
    }))
}

/// Replays `transcript` through a fresh connection: builds it as recorded (with the
/// recorded random bytes), gives it every recorded input in order (bytes, EOF, reset, time,
/// decisions, sends, event polls, transmit acknowledgements), records the replay, and
/// checks that the new transcript equals `transcript` byte for byte: same events, same
/// results, same output (by digest), same random draws. The first difference is reported as
/// a [`Divergence`]. Never panics, whatever the bytes.
///
/// Cost: the connection's own work for every input, a digest pass over every output byte
/// and message, and the replay's transcript (as large as the input).
pub fn replay(transcript: &[u8]) -> Result<Replayed, ReplayError> {
    // First pass: check the format and gather the random bytes; second: replay.
    let mut random = Vec::new();
    let mut count = 0;
    for r in records(transcript)? {
        if let (_, Record::Random(b)) = r? {
            random.extend_from_slice(b);
        }
        count += 1;
    }
    let mut list = records(transcript)?.flatten();
    let Some((_, first)) = list.next() else {
        return Err(ReplayError::Construction("the transcript has no records"));
    };
    let mut conn = build(
        &first,
        ReplayRandom {
            bytes: random,
            at: 0,
        },
    )?;
    let first = conn.take_transcript();
    check(transcript, &first, 0)?;
    let mut at = first.len();
    let mut events = 0;
    for (range, record) in list {
        if apply(&mut conn, &record, range.start)? {
            events += 1;
        }
        let chunk = conn.take_transcript();
        check(transcript, &chunk, at)?;
        at += chunk.len();
    }
    if at < transcript.len() {
        let (record, expected) = describe(transcript, true, at);
        return Err(ReplayError::Diverged(Divergence {
            record,
            offset: at,
            expected,
            actual: String::from("(nothing)"),
        }));
    }
    Ok(Replayed {
        connection: conn,
        records: count,
        events,
    })
}
