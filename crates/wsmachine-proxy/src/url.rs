//! Proxy URLs: `http://`, `socks5://`, `socks5h://`, with optional credentials.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::error::ProxyError;
use crate::{ProxyHandshake, Target};

/// Which protocol the proxy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// An HTTP proxy, tunnelling with CONNECT (`http://`, default port 80).
    Http,
    /// SOCKS5 with the target's address resolved by the client (`socks5://`, default port
    /// 1080).
    Socks5,
    /// SOCKS5 with the target's name resolved by the proxy (`socks5h://`, default port
    /// 1080).
    Socks5h,
}

/// A user name and password for the proxy (HTTP Basic, or SOCKS5 RFC 1929).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    /// Never prints the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// A proxy to reach the server through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The protocol.
    pub kind: ProxyKind,
    /// The proxy's host: a name, an IPv4 address, or an IPv6 address without brackets.
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// Credentials to present, if any.
    pub credentials: Option<Credentials>,
}

/// Decodes `%XX` escapes (RFC 3986) in a URL's user information.
fn percent_decode(s: &str) -> Result<String, ProxyError> {
    let bad = ProxyError::InvalidUrl("bad percent-escape in the credentials");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |j: usize| {
                bytes
                    .get(j)
                    .and_then(|c| char::from(*c).to_digit(16))
                    .ok_or(bad.clone())
            };
            let (hi, lo) = (hex(i + 1)?, hex(i + 2)?);
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ProxyError::InvalidUrl("credentials are not UTF-8"))
}

impl Proxy {
    /// A proxy without credentials.
    pub fn new(kind: ProxyKind, host: impl Into<String>, port: u16) -> Proxy {
        Proxy {
            kind,
            host: host.into(),
            port,
            credentials: None,
        }
    }

    /// The same proxy, presenting these credentials.
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Proxy {
        self.credentials = Some(Credentials {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    /// Parses `SCHEME://[USER[:PASSWORD]@]HOST[:PORT][/]` with scheme `http`, `socks5` or
    /// `socks5h` (any case); user and password are percent-decoded (`%40` for `@`); the
    /// host is a name, an IPv4 address or a bracketed IPv6 address. `https://` (TLS to the
    /// proxy) is refused, as are a path, query or fragment. Cost: O(url.len()).
    pub fn parse(url: &str) -> Result<Proxy, ProxyError> {
        let bad = ProxyError::InvalidUrl;
        let (scheme, rest) = url.split_once("://").ok_or(bad("missing \"://\""))?;
        let kind = if scheme.eq_ignore_ascii_case("http") {
            ProxyKind::Http
        } else if scheme.eq_ignore_ascii_case("socks5") {
            ProxyKind::Socks5
        } else if scheme.eq_ignore_ascii_case("socks5h") {
            ProxyKind::Socks5h
        } else if scheme.eq_ignore_ascii_case("https") {
            return Err(bad("TLS to the proxy (https://) is not supported"));
        } else {
            return Err(bad("the scheme must be http, socks5 or socks5h"));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if !tail.is_empty() && tail != "/" {
            return Err(bad("a proxy URL has no path, query or fragment"));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let credentials = match userinfo {
            Some(u) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                Some(Credentials {
                    username: percent_decode(user)?,
                    password: percent_decode(pass)?,
                })
            }
            None => None,
        };
        let (host, port) = if let Some(after) = hostport.strip_prefix('[') {
            let (lit, after) = after.split_once(']').ok_or(bad("unclosed '['"))?;
            if lit.parse::<core::net::Ipv6Addr>().is_err() {
                return Err(bad("invalid IPv6 address"));
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(bad("junk after ']'"))?),
            };
            (lit, port)
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        let host_ok = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':'));
        if host.is_empty() || !host_ok {
            return Err(bad("missing or invalid host"));
        }
        let port = match port {
            None if kind == ProxyKind::Http => 80,
            None => 1080,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&n| n != 0 && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or(bad("invalid port"))?,
        };
        Ok(Proxy {
            kind,
            host: String::from(host),
            port,
            credentials,
        })
    }

    /// True when the client must resolve the target's name itself and pass an address to
    /// [`handshake`](Self::handshake) (`socks5://`).
    pub fn resolves_locally(&self) -> bool {
        self.kind == ProxyKind::Socks5
    }

    /// Starts the handshake that asks this proxy for a tunnel to `target`. For
    /// `socks5://` the target must be an address ([`resolves_locally`](Self::resolves_locally));
    /// a name is [`ProxyError::InvalidInput`].
    pub fn handshake(&self, target: &Target) -> Result<ProxyHandshake, ProxyError> {
        let credentials = self.credentials.as_ref();
        match self.kind {
            ProxyKind::Http => ProxyHandshake::http_connect(target, credentials),
            ProxyKind::Socks5 if matches!(target, Target::Domain(..)) => {
                Err(ProxyError::InvalidInput(
                    "socks5:// sends addresses: resolve the name first, or use socks5h://",
                ))
            }
            ProxyKind::Socks5 | ProxyKind::Socks5h => ProxyHandshake::socks5(target, credentials),
        }
    }
}
