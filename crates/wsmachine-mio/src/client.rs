//! Clients: [`MioClient`] inside your loop, [`LoopClient`] on its own poll.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Poll, Registry, Token};
use wsmachine::{ClientRequest, Config, Message, SendError};

use crate::connection::{Event, MioConnection};
use crate::error::Error;

/// A `ws://` client connection for your own `mio` loop. It derefs to [`MioConnection`]:
/// drive it as that describes (`handle_event`, `poll_event`, `drive`, `deadline`). The TCP
/// connect is nonblocking; [`Event::Connected`] reports the finished handshake.
#[derive(Debug)]
pub struct MioClient {
    inner: MioConnection,
}

impl MioClient {
    /// Resolves the URL's host (a blocking DNS lookup for names, none for IP literals: use
    /// [`connect_addr`](MioClient::connect_addr) to keep DNS off the loop), starts a
    /// nonblocking connect, queues the upgrade request and registers with `token`.
    pub fn connect(
        url: &str,
        config: Config,
        registry: &Registry,
        token: Token,
    ) -> Result<MioClient, Error> {
        let request = ClientRequest::new(url)?;
        MioClient::connect_request(&request, config, registry, token)
    }

    /// [`connect`](MioClient::connect) with a request built by hand (subprotocols, headers).
    pub fn connect_request(
        request: &ClientRequest,
        config: Config,
        registry: &Registry,
        token: Token,
    ) -> Result<MioClient, Error> {
        if request.is_tls() {
            return Err(Error::Unsupported(
                "wss:// is not supported by the mio adapter",
            ));
        }
        let host = request.host().trim_start_matches('[').trim_end_matches(']');
        let addr: SocketAddr = (host, request.port())
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address"))?;
        MioClient::connect_addr(addr, request, config, registry, token)
    }

    /// Connects to `addr` with no DNS lookup at all (resolve the host off the loop thread
    /// yourself); the request's URL still gives the `Host` header and path. Otherwise as
    /// [`connect`](MioClient::connect).
    pub fn connect_addr(
        addr: SocketAddr,
        request: &ClientRequest,
        config: Config,
        registry: &Registry,
        token: Token,
    ) -> Result<MioClient, Error> {
        if request.is_tls() {
            return Err(Error::Unsupported(
                "wss:// is not supported by the mio adapter",
            ));
        }
        let stream = TcpStream::connect(addr)?;
        let mut inner = MioConnection::client(stream, request, config)?;
        inner.register(registry, token)?;
        Ok(MioClient { inner })
    }

    /// The connection.
    pub fn into_inner(self) -> MioConnection {
        self.inner
    }
}

impl Deref for MioClient {
    type Target = MioConnection;
    fn deref(&self) -> &MioConnection {
        &self.inner
    }
}

impl DerefMut for MioClient {
    fn deref_mut(&mut self) -> &mut MioConnection {
        &mut self.inner
    }
}

/// One [`MioClient`] with its own `Poll`: a simple blocking-style driver for examples and
/// tests. Sends queue; [`next_event`](LoopClient::next_event) writes them, then parses the
/// next event (only then: a reply to the previous event goes out before anything the core
/// decides about later input) or waits for one.
#[derive(Debug)]
pub struct LoopClient {
    poll: Poll,
    events: Events,
    client: MioClient,
}

impl LoopClient {
    /// Connects to a `ws://` URL (the handshake completes during `next_event`).
    pub fn connect(url: &str, config: Config) -> Result<LoopClient, Error> {
        let request = ClientRequest::new(url)?;
        LoopClient::connect_request(&request, config)
    }

    /// Connects with a request built by hand.
    pub fn connect_request(request: &ClientRequest, config: Config) -> Result<LoopClient, Error> {
        let poll = Poll::new()?;
        let client = MioClient::connect_request(request, config, poll.registry(), Token(0))?;
        Ok(LoopClient {
            poll,
            events: Events::with_capacity(16),
            client,
        })
    }

    /// Connects to `addr` with no DNS lookup; the request gives the `Host` header and path.
    pub fn connect_addr(
        addr: SocketAddr,
        request: &ClientRequest,
        config: Config,
    ) -> Result<LoopClient, Error> {
        let poll = Poll::new()?;
        let client = MioClient::connect_addr(addr, request, config, poll.registry(), Token(0))?;
        Ok(LoopClient {
            poll,
            events: Events::with_capacity(16),
            client,
        })
    }

    /// The client, for sends and state.
    pub fn client(&mut self) -> &mut MioClient {
        &mut self.client
    }

    /// Queues a message.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        self.client.send(message)
    }

    /// Writes what is queued, then returns the next event, waiting up to `timeout` for it.
    /// `Ok(None)` on timeout. After [`Event::Closed`] it finishes the transport (writes what
    /// is left, shuts the write side, drains the peer as the core asks, all within
    /// `timeout`) and returns `Ok(None)`; call it once more after Closed before dropping the
    /// client for a clean TCP ending.
    pub fn next_event(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        let end = Instant::now().checked_add(timeout);
        loop {
            let now = Instant::now();
            self.client.drive(self.poll.registry(), now);
            if self.client.is_closed() {
                if self.client.is_finished() {
                    let _ = self.client.deregister(self.poll.registry());
                    return Ok(None);
                }
            } else if let Some(ev) = self.client.poll_event() {
                return Ok(Some(ev));
            }
            if self.client.needs_drive() {
                continue;
            }
            if end.is_some_and(|e| now >= e) {
                return Ok(None);
            }
            let mut wait = end.map(|e| e.saturating_duration_since(now));
            if let Some(d) = self.client.deadline() {
                let d = d.saturating_duration_since(now);
                wait = Some(wait.map_or(d, |w| w.min(d)));
            }
            match self.poll.poll(&mut self.events, wait) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            for ev in self.events.iter() {
                self.client.note_event(ev);
            }
        }
    }
}
