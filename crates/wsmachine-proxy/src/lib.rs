//! # wsmachine-proxy
//!
//! Client proxy handshakes as sans-IO state machines, in the style of the [wsmachine] core:
//! they never touch a socket. You connect to the proxy, then move bytes between the socket
//! and a [`ProxyHandshake`] until it says the tunnel is open; from then on the socket
//! carries the target's bytes (a WebSocket handshake, or TLS first for `wss://`).
//!
//! - **HTTP CONNECT** (RFC 9110 9.3.6) with optional Basic authentication
//!   (`Proxy-Authorization`); any 2xx opens the tunnel, anything else is
//!   [`ProxyError::HttpStatus`] (407 when the proxy wants credentials).
//! - **SOCKS5** (RFC 1928) with no authentication or username/password (RFC 1929); the
//!   target as an IP address or, for `socks5h://`, a host name the proxy resolves.
//!
//! `no_std` + `alloc`, so every adapter (blocking, async, event loop) and custom runtimes
//! drive the same code. Memory: the request bytes (under 600 bytes) and at most
//! [`MAX_RESPONSE_HEAD`] bytes of buffered reply.
//!
//! ```
//! use wsmachine_proxy::{Proxy, Target};
//! let proxy = Proxy::parse("http://user:pa%20ss@127.0.0.1:3128").unwrap();
//! let mut hs = proxy.handshake(&Target::domain("example.com", 443)).unwrap();
//! // write hs.transmit() to the socket (advance_transmit by what was written), then:
//! let written = hs.transmit().len();
//! hs.advance_transmit(written);
//! // feed what the proxy sends until it answers Some(n): input[n..] is the target's.
//! assert_eq!(hs.handle_input(b"HTTP/1.1 200 Connection established\r\n\r\n"), Ok(Some(39)));
//! assert!(hs.is_open());
//! ```
//!
//! [`Proxy::from_env_for`] picks the proxy the environment names for a target URL
//! (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, as curl reads them) through a
//! lookup closure, so every adapter's `proxy_from_env` shares one implementation;
//! [`ProxySetting`] is what every adapter's client builder keeps (a proxy, none, or a bad
//! URL's error until it connects). The `std` feature adds the two std-only helpers their
//! connects share: `process_env` (the lookup `proxy_from_env` passes) and `resolve` (a
//! host's first address).
//!
//! Why a crate of its own: the handshakes need neither the `http` crate nor `std`, and the
//! std, tokio and mio adapters all use them; the WebSocket core stays about WebSocket.
//!
//! [wsmachine]: https://docs.rs/wsmachine

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod env;
mod error;
mod http;
mod setting;
mod socks5;
mod url;

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

pub use env::no_proxy_matches;
pub use error::ProxyError;
pub use setting::{ProxySetting, unbracketed};
#[cfg(feature = "std")]
pub use setting::{process_env, resolve};
pub use url::{Credentials, Proxy, ProxyKind};

/// The most bytes of an HTTP proxy's response head that are buffered (16 KiB); a longer
/// head is [`ProxyError::HeadTooLarge`].
pub const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// Where the tunnel should lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An address (SOCKS5 sends it as is; HTTP CONNECT writes it as the authority).
    Ip(IpAddr, u16),
    /// A host name the proxy resolves (HTTP CONNECT always sends names; SOCKS5 sends names
    /// only for `socks5h://`, else the caller resolves first).
    Domain(String, u16),
}

impl Target {
    /// A target by host name (or an IP address written as text, which is parsed).
    pub fn domain(host: &str, port: u16) -> Target {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(ip) => Target::Ip(ip, port),
            Err(_) => Target::Domain(String::from(host), port),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        match self {
            Target::Ip(_, p) | Target::Domain(_, p) => *p,
        }
    }
}

/// A proxy handshake in progress: write [`transmit`](Self::transmit), feed the replies to
/// [`handle_input`](Self::handle_input), until it returns `Some`.
#[derive(Debug, Clone)]
pub struct ProxyHandshake {
    out: Vec<u8>,
    written: usize,
    input: Vec<u8>,
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    Http,
    Socks5(socks5::Socks5),
    Open,
    Failed,
}

impl ProxyHandshake {
    /// An HTTP CONNECT handshake to `target`, with Basic credentials if given. Fails for a
    /// host name with characters not allowed in a URI authority, or credentials with
    /// control characters. Cost: one allocation of the request.
    pub fn http_connect(
        target: &Target,
        credentials: Option<&Credentials>,
    ) -> Result<ProxyHandshake, ProxyError> {
        let out = http::request(target, credentials)?;
        Ok(ProxyHandshake::with(out, State::Http))
    }

    /// A SOCKS5 handshake to `target`, offering username/password authentication when
    /// `credentials` are given (and no authentication otherwise). Fails for a name, user
    /// name or password longer than 255 bytes, or an empty one.
    pub fn socks5(
        target: &Target,
        credentials: Option<&Credentials>,
    ) -> Result<ProxyHandshake, ProxyError> {
        let (machine, greeting) = socks5::Socks5::new(target, credentials)?;
        Ok(ProxyHandshake::with(greeting, State::Socks5(machine)))
    }

    fn with(out: Vec<u8>, state: State) -> ProxyHandshake {
        ProxyHandshake {
            out,
            written: 0,
            input: Vec::new(),
            state,
        }
    }

    /// The bytes to write to the proxy now (empty when waiting for its reply or done).
    pub fn transmit(&self) -> &[u8] {
        self.out.get(self.written..).unwrap_or_default()
    }

    /// Records that the first `n` bytes of [`transmit`](Self::transmit) were written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.written = self.written.saturating_add(n).min(self.out.len());
    }

    /// True while the handshake waits for bytes from the proxy (everything queued was
    /// written, and it is neither open nor failed).
    pub fn wants_input(&self) -> bool {
        self.transmit().is_empty() && matches!(self.state, State::Http | State::Socks5(_))
    }

    /// True once the tunnel is open.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open)
    }

    /// Feeds bytes read from the proxy. `Ok(None)`: more is needed (all of `input` was
    /// taken; check [`transmit`](Self::transmit), a SOCKS5 step may have queued its next
    /// message). `Ok(Some(n))`: the tunnel is open and `input[n..]` already came from the
    /// target. Any error is final (later calls return [`ProxyError::Failed`]), as is
    /// success ([`ProxyError::AlreadyOpen`]). Cost: a parse of the buffered reply (an
    /// HTTP head is parsed again on each call until complete); at most
    /// [`MAX_RESPONSE_HEAD`] bytes are buffered.
    pub fn handle_input(&mut self, input: &[u8]) -> Result<Option<usize>, ProxyError> {
        let before = self.input.len();
        let result = self.step(input, before);
        match &result {
            Ok(Some(_)) => {
                self.state = State::Open;
                self.input = Vec::new();
            }
            Err(ProxyError::Failed | ProxyError::AlreadyOpen) => {}
            Err(_) => {
                self.state = State::Failed;
                self.input = Vec::new();
            }
            Ok(None) => {}
        }
        result
    }

    fn step(&mut self, input: &[u8], before: usize) -> Result<Option<usize>, ProxyError> {
        match &mut self.state {
            State::Open => Err(ProxyError::AlreadyOpen),
            State::Failed => Err(ProxyError::Failed),
            State::Http => {
                let room = MAX_RESPONSE_HEAD.saturating_sub(before);
                let take = input.len().min(room);
                self.input
                    .extend_from_slice(input.get(..take).unwrap_or_default());
                match http::response(&self.input)? {
                    Some(head) => Ok(Some(head.saturating_sub(before))),
                    None if self.input.len() >= MAX_RESPONSE_HEAD => Err(ProxyError::HeadTooLarge),
                    None => Ok(None),
                }
            }
            State::Socks5(machine) => {
                // Replies are short; whatever is buffered beyond the step that consumes it
                // stays for the next one.
                self.input.extend_from_slice(input);
                let mut drained = 0usize;
                loop {
                    match machine.step(&self.input)? {
                        socks5::Step::NeedMore => {
                            if self.input.len() > MAX_RESPONSE_HEAD {
                                return Err(ProxyError::HeadTooLarge);
                            }
                            return Ok(None);
                        }
                        socks5::Step::Send { consumed, bytes } => {
                            self.input.drain(..consumed);
                            drained = drained.saturating_add(consumed);
                            self.out = bytes;
                            self.written = 0;
                        }
                        socks5::Step::Open { consumed } => {
                            // The buffer held `before` bytes from earlier calls, and
                            // `drained` bytes left it in this one.
                            let end = drained.saturating_add(consumed);
                            return Ok(Some(end.saturating_sub(before)));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
