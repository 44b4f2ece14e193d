//! A client core and a server core joined back to back in memory, on a simulated clock.

use std::time::Duration;

use wsmachine::random::SeededRandom;
use wsmachine::{Accept, ClientRequest, Config, Connection, Event, Timestamp};

use crate::frames::{client_with, drain, server_with};

/// A client and a server joined in memory. [`drive`](Pair::drive) moves bytes both ways at
/// the simulated time [`now`](Pair::now) until both are quiet, collecting events (a server
/// accepts every upgrade request, choosing the first subprotocol offered);
/// [`step`](Pair::step) advances the clock to the earliest deadline of either side and fires
/// it. Every byte each side received is kept in [`to_server`](Pair::to_server) and
/// [`to_client`](Pair::to_client), so a run doubles as recorded traffic.
pub struct Pair {
    /// The client side.
    pub client: Connection,
    /// The server side.
    pub server: Connection,
    /// Events the client reported, in order.
    pub client_events: Vec<Event>,
    /// Events the server reported, in order.
    pub server_events: Vec<Event>,
    /// The simulated time, passed with every input.
    pub now: Timestamp,
    /// Every byte the server received.
    pub to_server: Vec<u8>,
    /// Every byte the client received.
    pub to_client: Vec<u8>,
    /// Length of the server's handshake response in `to_client` (0 without a handshake).
    pub response_len: usize,
}

impl Pair {
    fn joined(client: Connection, server: Connection, now: Timestamp) -> Pair {
        Pair {
            client,
            server,
            client_events: Vec::new(),
            server_events: Vec::new(),
            now,
            to_server: Vec::new(),
            to_client: Vec::new(),
            response_len: 0,
        }
    }

    /// An open pair (no handshake) with `config` on both sides, at time zero.
    pub fn new(config: Config) -> Pair {
        Pair::joined(client_with(config), server_with(config), Timestamp::ZERO)
    }

    /// An open pair (no handshake) with a config per side; the client's masking keys come
    /// from `seed`.
    pub fn open(client_config: Config, server_config: Config, seed: u64) -> Pair {
        let random = |seed| Box::new(SeededRandom::from_u64(seed));
        let client = Connection::open_with_random(
            wsmachine::Role::Client,
            client_config,
            Timestamp::ZERO,
            random(seed),
        );
        let server = Connection::open_with_random(
            wsmachine::Role::Server,
            server_config,
            Timestamp::ZERO,
            random(0),
        );
        Pair::joined(client, server, Timestamp::ZERO)
    }

    /// A pair that has not run the opening handshake yet: the client's request for
    /// `request` is queued, keys come from `seed`. Call [`drive`](Pair::drive) to run it.
    pub fn connecting(
        request: &ClientRequest,
        client_config: Config,
        server_config: Config,
        seed: u64,
        now: Timestamp,
    ) -> Pair {
        let client = Connection::client_with_random(
            request,
            client_config,
            now,
            Box::new(SeededRandom::from_u64(seed)),
        )
        .expect("client request");
        Pair::joined(client, Connection::server(server_config, now), now)
    }

    /// A client and a server that ran the opening handshake at time `now`, with no events
    /// left over.
    pub fn handshake(config: Config, now: Timestamp) -> Pair {
        let request = ClientRequest::new("ws://localhost/").expect("uri");
        let mut pair = Pair::connecting(&request, config, config, 7, now);
        pair.drive();
        assert!(matches!(pair.server_events[..], [Event::Request(_)]));
        assert!(matches!(pair.client_events[..], [Event::Connected(_)]));
        pair.server_events.clear();
        pair.client_events.clear();
        pair
    }

    /// Moves bytes both ways at [`now`](Pair::now) until both sides are quiet, collecting
    /// their events.
    pub fn drive(&mut self) {
        loop {
            let c2s = take_output(&mut self.client);
            let s2c = take_output(&mut self.server);
            self.to_server.extend_from_slice(&c2s);
            self.to_client.extend_from_slice(&s2c);
            self.server.handle_input(self.now, &c2s);
            self.client.handle_input(self.now, &s2c);
            let server_events = drain(&mut self.server);
            for e in &server_events {
                if let Event::Request(req) = e {
                    let subprotocol = req.subprotocols.first().cloned();
                    let accept = Accept {
                        subprotocol,
                        ..Accept::default()
                    };
                    self.server.accept(self.now, &accept).expect("accept");
                    self.response_len = self.to_client.len() + self.server.pending_transmit();
                }
            }
            let client_events = drain(&mut self.client);
            let quiet = c2s.is_empty()
                && s2c.is_empty()
                && server_events.is_empty()
                && client_events.is_empty();
            self.server_events.extend(server_events);
            self.client_events.extend(client_events);
            if quiet {
                break;
            }
        }
    }

    /// The earliest deadline of either side.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        match (self.client.poll_timeout(), self.server.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances the clock to the earliest deadline of either side, fires it on both and
    /// drives; returns the new time, or `None` (the clock unchanged) if neither side has a
    /// deadline.
    pub fn step(&mut self) -> Option<Timestamp> {
        let at = self.next_deadline()?;
        self.set_time(at.max(self.now));
        Some(self.now)
    }

    /// Runs the pair on simulated time for `d`: fires every deadline on the way, in order,
    /// then drives at the end time.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(at) = self.next_deadline() {
            if at > end {
                break;
            }
            self.set_time(at.max(self.now));
        }
        self.set_time(end);
    }

    fn set_time(&mut self, now: Timestamp) {
        self.now = now;
        self.client.handle_timeout(now);
        self.server.handle_timeout(now);
        self.drive();
    }
}

fn take_output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    conn.write_transmit_to(&mut out, usize::MAX);
    out
}
