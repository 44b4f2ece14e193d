//! Frames by hand: build any frame (valid or not), split a byte stream into frames, and the
//! one-line ways to make a connection, drain its events and take its output.

use wsmachine::random::SeededRandom;
use wsmachine::{Config, Connection, Event, Role, Timestamp};

/// Builds one frame's bytes exactly as given, valid or not. `mask` masks the payload.
pub fn raw_frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// The masking key [`c2s`] uses.
pub const KEY: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

/// A frame as a client would send it to a server (masked with [`KEY`]).
pub fn c2s(b0: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0, payload, Some(KEY))
}

/// A frame as a server would send it to a client (unmasked).
pub fn s2c(b0: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0, payload, None)
}

/// An open server (no handshake) with the default config, at time zero.
pub fn server() -> Connection {
    server_with(Config::default())
}

/// An open server (no handshake) with `config`, at time zero.
pub fn server_with(config: Config) -> Connection {
    Connection::open_with_random(
        Role::Server,
        config,
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(0)),
    )
}

/// An open client (no handshake, seeded masking keys) with the default config, at time zero.
pub fn client() -> Connection {
    client_with(Config::default())
}

/// An open client (no handshake, seeded masking keys) with `config`, at time zero.
pub fn client_with(config: Config) -> Connection {
    Connection::open_with_random(
        Role::Client,
        config,
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(7)),
    )
}

/// Drains every event the connection has.
pub fn drain(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// Takes every queued output byte.
pub fn output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    conn.write_transmit_to(&mut out, usize::MAX);
    out
}

/// Splits a byte stream of whole frames into `(first byte, masked, unmasked payload)`.
/// Panics on a partial or malformed frame: it is for checking output the core produced.
pub fn parse_frames(mut bytes: &[u8]) -> Vec<(u8, bool, Vec<u8>)> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let (h, n) = wsmachine::frame::FrameHeader::decode(bytes)
            .unwrap()
            .expect("whole frame");
        let len = h.payload_len as usize;
        let mut p = bytes[n..n + len].to_vec();
        if let Some(k) = h.mask {
            wsmachine::mask::apply_mask(&mut p, k, 0);
        }
        frames.push((bytes[0], h.mask.is_some(), p));
        bytes = &bytes[n + len..];
    }
    frames
}

/// A reader for `Connection::read_input` that copies from `src` into the uninitialised room
/// it is lent, as a socket read fills it, and returns what it filled. (`write_copy_of_slice`
/// is newer than the crate's MSRV; only tests use it, as the safe way to fill such room.)
#[allow(clippy::incompatible_msrv)]
pub fn fill_from(
    src: &[u8],
) -> impl for<'a> FnOnce(&'a mut [std::mem::MaybeUninit<u8>]) -> Result<&'a mut [u8], ()> + '_ {
    move |spare| {
        let n = spare.len().min(src.len());
        Ok(spare[..n].write_copy_of_slice(&src[..n]))
    }
}
