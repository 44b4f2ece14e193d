//! SOCKS5 (RFC 1928) with username/password authentication (RFC 1929).

use alloc::vec;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::error::ProxyError;
use crate::{Credentials, Target};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0x00;
const USER_PASS: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xff;
const CONNECT: u8 = 0x01;

/// Where the exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Greeting sent; waiting for the method selection (2 bytes).
    Method,
    /// Credentials sent; waiting for their status (2 bytes).
    Auth,
    /// CONNECT sent; waiting for the reply (variable length).
    Reply,
}

/// What one step did with the buffered reply bytes.
pub(crate) enum Step {
    /// Not enough bytes yet.
    NeedMore,
    /// `consumed` bytes made a reply; send `bytes` next.
    Send { consumed: usize, bytes: Vec<u8> },
    /// The tunnel is open after `consumed` bytes.
    Open { consumed: usize },
}

#[derive(Debug, Clone)]
pub(crate) struct Socks5 {
    phase: Phase,
    /// The RFC 1929 sub-negotiation, when credentials were given.
    auth: Option<Vec<u8>>,
    /// The CONNECT request.
    connect: Vec<u8>,
}

/// A field of at most 255 bytes, at least 1, prefixed with its length.
fn short(out: &mut Vec<u8>, field: &[u8], what: &'static str) -> Result<(), ProxyError> {
    let len = u8::try_from(field.len())
        .ok()
        .filter(|&n| n > 0)
        .ok_or(ProxyError::InvalidInput(what))?;
    out.push(len);
    out.extend_from_slice(field);
    Ok(())
}

impl Socks5 {
    /// The machine and the greeting to send first.
    pub(crate) fn new(
        target: &Target,
        credentials: Option<&Credentials>,
    ) -> Result<(Socks5, Vec<u8>), ProxyError> {
        let mut connect = vec![VERSION, CONNECT, 0];
        match target {
            Target::Ip(IpAddr::V4(ip), _) => {
                connect.push(0x01);
                connect.extend_from_slice(&ip.octets());
            }
            Target::Ip(IpAddr::V6(ip), _) => {
                connect.push(0x04);
                connect.extend_from_slice(&ip.octets());
            }
            Target::Domain(name, _) => {
                connect.push(0x03);
                short(
                    &mut connect,
                    name.as_bytes(),
                    "a SOCKS5 host name is 1 to 255 bytes",
                )?;
            }
        }
        connect.extend_from_slice(&target.port().to_be_bytes());
        let auth = match credentials {
            Some(c) => {
                let mut a = vec![1u8];
                short(
                    &mut a,
                    c.username.as_bytes(),
                    "a SOCKS5 user name is 1 to 255 bytes",
                )?;
                short(
                    &mut a,
                    c.password.as_bytes(),
                    "a SOCKS5 password is 1 to 255 bytes",
                )?;
                Some(a)
            }
            None => None,
        };
        let greeting = if auth.is_some() {
            vec![VERSION, 2, NO_AUTH, USER_PASS]
        } else {
            vec![VERSION, 1, NO_AUTH]
        };
        let machine = Socks5 {
            phase: Phase::Method,
            auth,
            connect,
        };
        Ok((machine, greeting))
    }

    /// Takes the next reply from the front of `buf`, if complete.
    pub(crate) fn step(&mut self, buf: &[u8]) -> Result<Step, ProxyError> {
        match self.phase {
            Phase::Method => {
                let [version, method, ..] = *buf else {
                    return Ok(Step::NeedMore);
                };
                if version != VERSION {
                    return Err(ProxyError::Malformed("not a SOCKS5 method selection"));
                }
                match method {
                    NO_AUTH => {
                        self.phase = Phase::Reply;
                        Ok(Step::Send {
                            consumed: 2,
                            bytes: self.connect.clone(),
                        })
                    }
                    USER_PASS => match self.auth.take() {
                        Some(bytes) => {
                            self.phase = Phase::Auth;
                            Ok(Step::Send { consumed: 2, bytes })
                        }
                        None => Err(ProxyError::Malformed(
                            "the proxy chose username/password, which was not offered",
                        )),
                    },
                    NO_ACCEPTABLE => Err(ProxyError::NoAcceptableMethod),
                    _ => Err(ProxyError::Malformed(
                        "the proxy chose a method that was not offered",
                    )),
                }
            }
            Phase::Auth => {
                let [version, status, ..] = *buf else {
                    return Ok(Step::NeedMore);
                };
                if version != 1 {
                    return Err(ProxyError::Malformed("not an RFC 1929 status"));
                }
                if status != 0 {
                    return Err(ProxyError::AuthenticationFailed(status));
                }
                self.phase = Phase::Reply;
                Ok(Step::Send {
                    consumed: 2,
                    bytes: self.connect.clone(),
                })
            }
            Phase::Reply => {
                let [version, reply, _reserved, atyp, ..] = *buf else {
                    return Ok(Step::NeedMore);
                };
                if version != VERSION {
                    return Err(ProxyError::Malformed("not a SOCKS5 reply"));
                }
                if reply != 0 {
                    return Err(ProxyError::Socks5Reply(reply));
                }
                let address = match atyp {
                    0x01 => 4,
                    0x04 => 16,
                    0x03 => match buf.get(4) {
                        Some(&n) => 1 + usize::from(n),
                        None => return Ok(Step::NeedMore),
                    },
                    _ => return Err(ProxyError::Malformed("unknown address type in reply")),
                };
                let total = 4 + address + 2;
                if buf.len() < total {
                    return Ok(Step::NeedMore);
                }
                Ok(Step::Open { consumed: total })
            }
        }
    }
}
