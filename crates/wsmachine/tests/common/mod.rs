//! Shared helpers for the core's integration tests: raw frame building and a client/server
//! pair wired back to back in memory.
#![allow(dead_code)]

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

pub const KEY: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

/// A frame as a client would send it to a server (masked).
pub fn c2s(b0: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0, payload, Some(KEY))
}

/// A frame as a server would send it to a client (unmasked).
pub fn s2c(b0: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0, payload, None)
}

pub fn server() -> Connection {
    server_with(Config::default())
}

pub fn server_with(config: Config) -> Connection {
    Connection::open_with_random(
        Role::Server,
        config,
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(0)),
    )
}

pub fn client() -> Connection {
    client_with(Config::default())
}

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

/// Splits a byte stream into frames: (b0, masked, payload unmasked).
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
        let b0 = bytes[0];
        frames.push((b0, h.mask.is_some(), p));
        bytes = &bytes[n + len..];
    }
    frames
}

/// A client and a server joined in memory.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
}

impl Pair {
    pub fn new(config: Config) -> Pair {
        Pair {
            client: client_with(config),
            server: server_with(config),
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// A client and a server that ran the opening handshake at time `now`.
    pub fn handshake(config: Config, now: Timestamp) -> Pair {
        let request = wsmachine::ClientRequest::new("ws://localhost/").unwrap();
        let client = Connection::client_with_random(
            &request,
            config,
            now,
            Box::new(SeededRandom::from_u64(7)),
        )
        .unwrap();
        let mut server = Connection::server(config, now);
        let mut pair = Pair {
            client,
            server: Connection::server(config, now),
            client_events: Vec::new(),
            server_events: Vec::new(),
        };
        server.handle_input(now, &output(&mut pair.client));
        assert!(matches!(server.poll_event(), Some(Event::Request(_))));
        server.accept(now, &wsmachine::Accept::default()).unwrap();
        pair.client.handle_input(now, &output(&mut server));
        assert!(matches!(
            pair.client.poll_event(),
            Some(Event::Connected(_))
        ));
        pair.server = server;
        pair
    }

    /// Moves bytes both ways until both are quiet, collecting events.
    pub fn drive(&mut self) {
        loop {
            let c2s = output(&mut self.client);
            let s2c = output(&mut self.server);
            self.server.handle_input(Timestamp::ZERO, &c2s);
            self.client.handle_input(Timestamp::ZERO, &s2c);
            let se = drain(&mut self.server);
            let ce = drain(&mut self.client);
            let quiet = c2s.is_empty() && s2c.is_empty() && se.is_empty() && ce.is_empty();
            self.server_events.extend(se);
            self.client_events.extend(ce);
            if quiet {
                break;
            }
        }
    }
}
