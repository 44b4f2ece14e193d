//! HTTP CONNECT: the request, and the response head.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use core::fmt::Write as _;
use core::net::IpAddr;

use crate::error::ProxyError;
use crate::{Credentials, Target};

/// True for bytes allowed in a registered name (RFC 3986 unreserved characters).
fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `host:port` for the request line and `Host`, IPv6 in brackets.
pub(crate) fn authority(target: &Target) -> Result<String, ProxyError> {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = match target {
        Target::Ip(IpAddr::V4(ip), port) => write!(out, "{ip}:{port}"),
        Target::Ip(IpAddr::V6(ip), port) => write!(out, "[{ip}]:{port}"),
        Target::Domain(name, port) => {
            if name.is_empty() || !name.bytes().all(name_byte) {
                return Err(ProxyError::InvalidInput(
                    "the target host is not a valid host name",
                ));
            }
            write!(out, "{name}:{port}")
        }
    };
    Ok(out)
}

/// The CONNECT request, with `Proxy-Authorization: Basic` for `credentials`.
pub(crate) fn request(
    target: &Target,
    credentials: Option<&Credentials>,
) -> Result<Vec<u8>, ProxyError> {
    let authority = authority(target)?;
    let mut out = String::with_capacity(128);
    let _ = write!(out, "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(c) = credentials {
        if c.username.contains(':') {
            return Err(ProxyError::InvalidInput(
                "a Basic user name cannot contain ':'",
            ));
        }
        let control = |s: &str| s.chars().any(char::is_control);
        if control(&c.username) || control(&c.password) {
            return Err(ProxyError::InvalidInput(
                "the credentials contain a control character",
            ));
        }
        let mut pair = String::with_capacity(c.username.len() + c.password.len() + 1);
        pair.push_str(&c.username);
        pair.push(':');
        pair.push_str(&c.password);
        let token = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
        let _ = write!(out, "Proxy-Authorization: Basic {token}\r\n");
    }
    out.push_str("\r\n");
    Ok(out.into_bytes())
}

/// Parses the response head in `buf`: `None` while incomplete, the head's length once a
/// 2xx arrived; any other status is an error.
pub(crate) fn response(buf: &[u8]) -> Result<Option<usize>, ProxyError> {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut slots);
    match parsed.parse(buf) {
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(n)) => {
            let status = parsed.code.unwrap_or(0);
            if (200..300).contains(&status) {
                Ok(Some(n))
            } else {
                Err(ProxyError::HttpStatus {
                    status,
                    reason: String::from(parsed.reason.unwrap_or("")),
                })
            }
        }
        Err(httparse::Error::TooManyHeaders) => {
            Err(ProxyError::Malformed("more than 64 header lines"))
        }
        Err(_) => Err(ProxyError::Malformed("the CONNECT response is not HTTP")),
    }
}
