//! The proxy handshake's error.

use alloc::string::String;
use core::fmt;

/// Why a proxy URL was refused or a proxy handshake failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL is not `http://`, `socks5://` or `socks5h://` with a host (and
    /// optional `user:password@` and port), or has a path, query or fragment.
    InvalidUrl(&'static str),
    /// The target or the credentials cannot be sent (a name too long for SOCKS5, a control
    /// character, ...).
    InvalidInput(&'static str),
    /// The HTTP proxy answered CONNECT with a status other than 2xx (407: it wants
    /// credentials, or refused the ones sent; 403: not allowed).
    HttpStatus {
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// The HTTP proxy's response head is longer than
    /// [`MAX_RESPONSE_HEAD`](crate::MAX_RESPONSE_HEAD).
    HeadTooLarge,
    /// The proxy's reply is not valid HTTP or SOCKS5.
    Malformed(&'static str),
    /// The SOCKS5 proxy accepts none of the authentication methods offered (it wants
    /// credentials when none were given, or the reverse).
    NoAcceptableMethod,
    /// The SOCKS5 proxy refused the username and password (RFC 1929 status).
    AuthenticationFailed(u8),
    /// The SOCKS5 proxy could not open the tunnel: the RFC 1928 reply code (1 general
    /// failure, 2 not allowed by ruleset, 3 network unreachable, 4 host unreachable,
    /// 5 connection refused, 6 TTL expired, 7 command not supported, 8 address type not
    /// supported).
    Socks5Reply(u8),
    /// `handle_input` after the handshake failed.
    Failed,
    /// `handle_input` after the tunnel opened (its bytes are the target's).
    AlreadyOpen,
}

impl ProxyError {
    /// The meaning of a SOCKS5 reply code.
    fn socks5_reply_text(code: u8) -> &'static str {
        match code {
            1 => "general SOCKS server failure",
            2 => "connection not allowed by ruleset",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            7 => "command not supported",
            8 => "address type not supported",
            _ => "unassigned reply code",
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::InvalidUrl(why) => write!(f, "invalid proxy URL: {why}"),
            ProxyError::InvalidInput(why) => write!(f, "cannot ask the proxy: {why}"),
            ProxyError::HttpStatus { status, reason } => {
                write!(f, "the proxy answered CONNECT with {status} {reason}")
            }
            ProxyError::HeadTooLarge => f.write_str("the proxy's response head is too large"),
            ProxyError::Malformed(why) => write!(f, "malformed proxy reply: {why}"),
            ProxyError::NoAcceptableMethod => {
                f.write_str("the SOCKS5 proxy accepts none of the offered authentication methods")
            }
            ProxyError::AuthenticationFailed(status) => {
                write!(
                    f,
                    "the SOCKS5 proxy refused the credentials (status {status})"
                )
            }
            ProxyError::Socks5Reply(code) => write!(
                f,
                "the SOCKS5 proxy could not connect: {} ({code})",
                ProxyError::socks5_reply_text(*code)
            ),
            ProxyError::Failed => f.write_str("the proxy handshake already failed"),
            ProxyError::AlreadyOpen => f.write_str("the proxy tunnel is already open"),
        }
    }
}

impl core::error::Error for ProxyError {}
