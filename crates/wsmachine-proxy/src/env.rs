//! Proxies from the environment, read the way curl reads them: `http_proxy` /
//! `https_proxy` / `all_proxy` and `no_proxy` (each also in upper case). The process
//! environment is never touched here: the caller passes a lookup closure (an adapter passes
//! `|name| std::env::var(name).ok()`), so the logic is testable and `no_std`.

use alloc::format;
use alloc::string::String;
use core::net::IpAddr;

use crate::error::ProxyError;
use crate::url::Proxy;

/// The variables naming the proxy for a plain (`ws://`) target, in the order they are
/// tried.
const PLAIN: [&str; 4] = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"];
/// The same for a TLS (`wss://`) target.
const SECURE: [&str; 4] = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];
/// The exclusion list's variables, in the order they are tried.
const NO_PROXY: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// The first of `names` that `env` gives a non-blank value for.
fn first_set(names: &[&str], env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    names
        .iter()
        .filter_map(|name| env(name))
        .find(|v| !v.trim().is_empty())
}

impl Proxy {
    /// The proxy the environment names for a connection to `url` (`ws://`, `wss://`, or
    /// `http://` / `https://`), or `Ok(None)` to connect directly. See
    /// [`from_env_for_host`](Proxy::from_env_for_host) for the variables and their order.
    /// A URL that is none of these is [`ProxyError::InvalidUrl`]. Cost: O(url.len()) plus
    /// the lookups.
    ///
    /// ```
    /// use wsmachine_proxy::{Proxy, ProxyKind};
    /// let env = |name: &str| match name {
    ///     "https_proxy" => Some("socks5h://127.0.0.1:1080".to_string()),
    ///     "NO_PROXY" => Some("localhost, .internal.example".to_string()),
    ///     _ => None,
    /// };
    /// let p = Proxy::from_env_for("wss://feed.example.com/", env).unwrap().unwrap();
    /// assert_eq!((p.kind, p.port), (ProxyKind::Socks5h, 1080));
    /// assert_eq!(Proxy::from_env_for("wss://db.internal.example/", env), Ok(None));
    /// assert_eq!(Proxy::from_env_for("ws://feed.example.com/", env), Ok(None));
    /// ```
    pub fn from_env_for(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, ProxyError> {
        let (secure, host, port) = target_of(url)?;
        Proxy::from_env_for_host(secure, host, port, env)
    }

    /// The proxy the environment names for a connection to `host:port` (`secure`: a TLS
    /// target, `wss://`), or `Ok(None)` to connect directly. `env` looks a variable up
    /// (`|name| std::env::var(name).ok()` for the process's environment); a blank value
    /// counts as unset.
    ///
    /// - The proxy: for a plain target `http_proxy`, then `HTTP_PROXY`; for a TLS target
    ///   `https_proxy`, then `HTTPS_PROXY`; then `all_proxy`, then `ALL_PROXY`. The first
    ///   set wins, so the lower-case name wins when both are set, as in curl. (curl ignores
    ///   an upper-case `HTTP_PROXY`, which a CGI server may set from a request's `Proxy`
    ///   header; this reads it. Do not call this in a CGI program.) A value without a
    ///   scheme is `http://`; its URL is parsed by [`Proxy::parse`] (`http`, `socks5`,
    ///   `socks5h`) and a bad one is its error.
    /// - The exclusions: `no_proxy`, else `NO_PROXY` (see [`no_proxy_matches`]): when the
    ///   list matches the target, the result is `Ok(None)`.
    ///
    /// Cost: up to six lookups, one proxy URL parse, a scan of the exclusion list.
    pub fn from_env_for_host(
        secure: bool,
        host: &str,
        port: u16,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, ProxyError> {
        let names = if secure { &SECURE } else { &PLAIN };
        let Some(value) = first_set(names, &env) else {
            return Ok(None);
        };
        let excluded = first_set(&NO_PROXY, &env).is_some_and(|l| no_proxy_matches(&l, host, port));
        if excluded {
            return Ok(None);
        }
        let value = value.trim();
        if value.contains("://") {
            Proxy::parse(value).map(Some)
        } else {
            Proxy::parse(&format!("http://{value}")).map(Some)
        }
    }
}

/// Whether the exclusion list `list` (a `NO_PROXY` value) covers `host:port` (`host` as a
/// URL has it: a name, an IPv4 address, or an IPv6 address with or without brackets). The
/// list is separated by commas (spaces around entries are ignored); each entry is
///
/// - `*`: every host;
/// - a name: that host and every name under it, with or without a leading dot
///   (`example.com` and `.example.com` both cover `example.com` and `a.b.example.com`, not
///   `badexample.com`); names compare without case and without a trailing dot;
/// - an IP address (IPv6 with or without brackets): that address only, not names;
/// - an address block `ADDR/BITS` (`10.0.0.0/8`, `fd00::/8`), as curl accepts;
/// - any of these (but `*` and a block) with `:PORT` (`[::1]:8080`): only that port.
///
/// Cost: O(list.len() + host.len()), no allocation.
pub fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = bare(host);
    let host_ip = host.parse::<IpAddr>().ok();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| entry_matches(entry, host, host_ip, port))
}

/// One exclusion entry against the (bare) host.
fn entry_matches(entry: &str, host: &str, host_ip: Option<IpAddr>, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    if let Some((addr, bits)) = entry.split_once('/') {
        return match (host_ip, bare(addr).parse::<IpAddr>(), bits.parse::<u8>()) {
            (Some(h), Ok(net), Ok(bits)) => in_block(h, net, bits),
            _ => false,
        };
    }
    let (name, entry_port) = split_port(entry);
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    let name = bare(name);
    if let Ok(ip) = name.parse::<IpAddr>() {
        return host_ip == Some(ip);
    }
    if host_ip.is_some() {
        return false;
    }
    let name = name.strip_prefix('.').unwrap_or(name);
    let name = name.strip_suffix('.').unwrap_or(name);
    let host = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > host.len() {
        return false;
    }
    let (head, tail) = host.split_at(host.len() - name.len());
    tail.eq_ignore_ascii_case(name) && (head.is_empty() || head.ends_with('.'))
}

/// `HOST:PORT`, `[V6]:PORT` -> the host and the port; anything else (a bare IPv6 address,
/// a name, an entry whose port does not parse) is all host.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some((v6, after)) = entry.strip_prefix('[').and_then(|r| r.split_once(']')) {
        return (v6, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match entry.split_once(':') {
        Some((h, p)) if !p.contains(':') => match p.parse() {
            Ok(p) => (h, Some(p)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// The host without IPv6 brackets.
fn bare(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Whether `ip` lies in the block `net/bits` (same family only).
fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// `(secure, host, port)` of a `ws://`, `wss://`, `http://` or `https://` URL.
fn target_of(url: &str) -> Result<(bool, &str, u16), ProxyError> {
    let bad = ProxyError::InvalidUrl;
    let (scheme, rest) = url.split_once("://").ok_or(bad("missing \"://\""))?;
    let secure = if scheme.eq_ignore_ascii_case("ws") || scheme.eq_ignore_ascii_case("http") {
        false
    } else if scheme.eq_ignore_ascii_case("wss") || scheme.eq_ignore_ascii_case("https") {
        true
    } else {
        return Err(bad(
            "the target URL must be ws://, wss://, http:// or https://",
        ));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if hostport.starts_with('[') {
        let close = hostport.find(']').ok_or(bad("unclosed '['"))?;
        let (host, after) = hostport.split_at(close + 1);
        (host, after.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad("the target URL has no host"));
    }
    let port = match port {
        None | Some("") => {
            if secure {
                443
            } else {
                80
            }
        }
        Some(p) => p
            .parse()
            .map_err(|_| bad("invalid port in the target URL"))?,
    };
    Ok((secure, host, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProxyKind;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    /// An environment of `(name, value)` pairs.
    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn proxied(url: &str, vars: &[(&str, &str)]) -> Option<(ProxyKind, String, u16)> {
        Proxy::from_env_for(url, env(vars))
            .unwrap()
            .map(|p| (p.kind, p.host, p.port))
    }

    #[test]
    fn the_scheme_picks_the_variable_and_lower_case_wins() {
        let vars = [
            ("http_proxy", "http://plain:3128"),
            ("HTTP_PROXY", "http://PLAIN:3128"),
            ("HTTPS_PROXY", "socks5://secure:1080"),
            ("ALL_PROXY", "socks5h://all:1081"),
        ];
        assert_eq!(
            proxied("ws://example.com/", &vars),
            Some((ProxyKind::Http, "plain".into(), 3128))
        );
        assert_eq!(
            proxied("wss://example.com/", &vars),
            Some((ProxyKind::Socks5, "secure".into(), 1080))
        );
        // Only the upper-case name set: it is used.
        assert_eq!(
            proxied("ws://e/", &[("HTTP_PROXY", "http://up:1")]),
            Some((ProxyKind::Http, "up".into(), 1))
        );
        // all_proxy when the scheme's is unset or blank; lower case first.
        let all = [
            ("https_proxy", "  "),
            ("all_proxy", "socks5h://low:2"),
            ("ALL_PROXY", "socks5h://up:3"),
        ];
        assert_eq!(
            proxied("wss://e/", &all),
            Some((ProxyKind::Socks5h, "low".into(), 2))
        );
        assert_eq!(proxied("wss://e/", &[("http_proxy", "http://p:1")]), None);
        assert_eq!(proxied("ws://e/", &[("https_proxy", "http://p:1")]), None);
        assert_eq!(proxied("ws://e/", &[]), None);
    }

    #[test]
    fn values_without_a_scheme_are_http_and_bad_ones_are_errors() {
        let p = Proxy::from_env_for("ws://e/", env(&[("http_proxy", "u:p%40@proxy:8080")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.kind, p.host.as_str(), p.port),
            (ProxyKind::Http, "proxy", 8080)
        );
        assert_eq!(p.credentials.unwrap().password, "p@");
        for bad in ["https://tls-proxy:443", "socks4://old:1080", "http://h:0"] {
            let r = Proxy::from_env_for("ws://e/", env(&[("http_proxy", bad)]));
            assert!(matches!(r, Err(ProxyError::InvalidUrl(_))), "{bad}: {r:?}");
        }
        // A bad proxy the exclusions cover is never parsed.
        let r = Proxy::from_env_for(
            "ws://e/",
            env(&[("http_proxy", "https://x"), ("no_proxy", "e")]),
        );
        assert_eq!(r, Ok(None));
        assert!(Proxy::from_env_for("ftp://e/", env(&[])).is_err());
        assert!(Proxy::from_env_for("ws:///", env(&[])).is_err());
    }

    #[test]
    fn target_urls() {
        assert_eq!(target_of("ws://h/x"), Ok((false, "h", 80)));
        assert_eq!(target_of("WSS://u:p@h:9/x?y#z"), Ok((true, "h", 9)));
        assert_eq!(target_of("https://[::1]/"), Ok((true, "[::1]", 443)));
        assert_eq!(target_of("ws://[::1]:81"), Ok((false, "[::1]", 81)));
        assert_eq!(target_of("http://h:"), Ok((false, "h", 80)));
        assert!(target_of("ws://h:x/").is_err());
        assert!(target_of("ws://[::1/").is_err());
    }

    #[test]
    fn no_proxy_names_suffixes_and_wildcard() {
        let list = "localhost, .corp.example,internal.example., Foo.Test";
        for (host, hit) in [
            ("localhost", true),
            ("LOCALHOST.", true),
            ("corp.example", true),
            ("a.b.corp.example", true),
            ("internal.example", true),
            ("x.internal.example", true),
            ("foo.test", true),
            ("notcorp.example", false),
            ("example", false),
            ("localhost.evil", false),
            ("127.0.0.1", false),
        ] {
            assert_eq!(no_proxy_matches(list, host, 80), hit, "{host}");
        }
        assert!(no_proxy_matches("*", "anything", 1));
        assert!(no_proxy_matches("a, *", "1.2.3.4", 1));
        assert!(!no_proxy_matches("", "h", 1));
        assert!(!no_proxy_matches(" , ,", "h", 1));
        assert!(!no_proxy_matches(".", "h", 1));
    }

    #[test]
    fn no_proxy_addresses_blocks_and_ports() {
        let list = "127.0.0.1, ::1, [fe80::2], 10.0.0.0/8, fd00::/8, example.com:8080, [::2]:9";
        for (host, port, hit) in [
            ("127.0.0.1", 80, true),
            ("127.0.0.2", 80, false),
            ("[::1]", 80, true),
            ("::1", 80, true),
            ("[fe80::2]", 1, true),
            ("10.200.3.4", 1, true),
            ("11.0.0.1", 1, false),
            ("[fd12::1]", 1, true),
            ("[fe12::1]", 1, false),
            ("example.com", 8080, true),
            ("www.example.com", 8080, true),
            ("example.com", 80, false),
            ("[::2]", 9, true),
            ("[::2]", 10, false),
            // An address entry never matches a name, nor a block a name.
            ("one.0.0.10", 1, false),
        ] {
            assert_eq!(no_proxy_matches(list, host, port), hit, "{host}:{port}");
        }
        assert!(no_proxy_matches("0.0.0.0/0", "8.8.8.8", 1));
        assert!(!no_proxy_matches("0.0.0.0/0", "::1", 1));
        assert!(!no_proxy_matches("10.0.0.0/40", "10.0.0.1", 1));
        assert!(!no_proxy_matches("10.0.0.0/x", "10.0.0.1", 1));
    }

    #[test]
    fn no_proxy_lower_case_wins_and_covers_the_target() {
        let vars = [
            ("http_proxy", "http://p:1"),
            ("no_proxy", "a.example"),
            ("NO_PROXY", "b.example"),
        ];
        assert_eq!(proxied("ws://x.a.example/", &vars), None);
        assert!(proxied("ws://b.example/", &vars).is_some());
        let upper = [("http_proxy", "http://p:1"), ("NO_PROXY", "b.example")];
        assert_eq!(proxied("ws://b.example:81/", &upper), None);
        assert_eq!(
            Proxy::from_env_for_host(
                false,
                "[::1]",
                80,
                env(&[("http_proxy", "http://p:1"), ("no_proxy", "::1"),])
            ),
            Ok(None)
        );
    }
}
