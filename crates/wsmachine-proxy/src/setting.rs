//! A client builder's proxy setting, kept the same way by every adapter's `ClientBuilder`
//! (std, mio, and wsmachine-async's for tokio and futures): none, a proxy, or a bad URL's
//! error remembered until the builder connects; plus the host helpers their connects
//! share ([`unbracketed`], and with the `std` feature `resolve` and `process_env`).

use alloc::string::String;

use crate::error::ProxyError;
use crate::url::Proxy;

/// What a client builder's `proxy`, `proxy_config` and `proxy_from_env` methods set: connect
/// directly (the default), through a [`Proxy`], or the error of a bad proxy URL (or
/// environment value), reported by [`checked`](ProxySetting::checked) when the builder
/// connects, before any I/O. Cheap to clone (a `Proxy`: a few short strings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySetting(Option<Result<Proxy, ProxyError>>);

impl ProxySetting {
    /// Connect directly. Free.
    pub const DIRECT: ProxySetting = ProxySetting(None);

    /// Through the proxy at `url` ([`Proxy::parse`]: `http://`, `socks5://`,
    /// `socks5h://`, with percent-decoded credentials), or its error. Cost: the parse.
    pub fn parse(url: &str) -> ProxySetting {
        ProxySetting(Some(Proxy::parse(url)))
    }

    /// The proxy the environment names for a connection to `host:port` (`secure`: a
    /// `wss://` target), looked up with `env`: [`Proxy::from_env_for_host`]'s variables and
    /// rules (curl's); directly when none is set or `no_proxy` covers the host; a bad value
    /// is remembered as the error. Cost: up to six lookups and one parse.
    pub fn from_env_for_host(
        secure: bool,
        host: &str,
        port: u16,
        env: impl Fn(&str) -> Option<String>,
    ) -> ProxySetting {
        ProxySetting(Proxy::from_env_for_host(secure, host, port, env).transpose())
    }

    /// The proxy to connect through (`None`: directly), or the remembered error (a
    /// clone). Free but for the error's clone.
    pub fn checked(&self) -> Result<Option<&Proxy>, ProxyError> {
        match &self.0 {
            None => Ok(None),
            Some(Ok(p)) => Ok(Some(p)),
            Some(Err(e)) => Err(e.clone()),
        }
    }
}

impl From<Option<Proxy>> for ProxySetting {
    /// Through this proxy; `None`: directly.
    fn from(proxy: Option<Proxy>) -> ProxySetting {
        ProxySetting(proxy.map(Ok))
    }
}

/// A URL's host as a socket API wants it: an IPv6 address without its brackets (`[::1]`
/// is `::1`); anything else as it is. Free.
pub fn unbracketed(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Looks `name` up in the process's environment (`None` when unset or not UTF-8): the
/// lookup a builder's `proxy_from_env` passes to [`ProxySetting::from_env_for_host`].
/// Cost: one `std::env::var`.
#[cfg(feature = "std")]
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The first address of `host:port` (`host` as a URL has it, IPv6 in brackets or not): a
/// blocking `ToSocketAddrs` lookup for a name, none for an address. No address is a
/// `NotFound` error ("host has no address"). Cost: the lookup.
#[cfg(feature = "std")]
pub fn resolve(host: &str, port: u16) -> std::io::Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    (unbracketed(host), port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "host has no address"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProxyKind;

    #[test]
    fn a_setting_remembers_the_proxy_or_its_error() {
        assert_eq!(ProxySetting::default().checked(), Ok(None));
        assert_eq!(ProxySetting::DIRECT.checked(), Ok(None));
        let p = ProxySetting::parse("socks5h://u:p@127.0.0.1:1080");
        assert_eq!(p.checked().unwrap().unwrap().kind, ProxyKind::Socks5h);
        assert!(matches!(
            ProxySetting::parse("socks4://p:1").checked(),
            Err(ProxyError::InvalidUrl(_))
        ));
        let proxy = Proxy::parse("http://p:3128").unwrap();
        assert_eq!(
            ProxySetting::from(Some(proxy.clone())).checked(),
            Ok(Some(&proxy))
        );
        assert_eq!(ProxySetting::from(None).checked(), Ok(None));
        let env = |name: &str| (name == "all_proxy").then(|| String::from("p:3128"));
        assert_eq!(
            ProxySetting::from_env_for_host(true, "a.example", 443, env).checked(),
            Ok(Some(&proxy))
        );
        let env = |name: &str| (name == "http_proxy").then(|| String::from("socks4://p"));
        assert!(
            ProxySetting::from_env_for_host(false, "a.example", 80, env)
                .checked()
                .is_err()
        );
    }

    #[test]
    fn brackets_come_off_ipv6_addresses_only() {
        assert_eq!(unbracketed("[::1]"), "::1");
        assert_eq!(unbracketed("example.com"), "example.com");
        assert_eq!(unbracketed("[::1"), "[::1");
    }

    #[cfg(feature = "std")]
    #[test]
    fn addresses_resolve_without_a_lookup() {
        assert_eq!(resolve("[::1]", 80).unwrap(), "[::1]:80".parse().unwrap());
        assert_eq!(resolve("127.0.0.1", 9).unwrap().port(), 9);
    }
}
