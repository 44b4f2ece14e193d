//! TEMPORARY STUB (replaced by the real handshake module).
#![allow(missing_docs, dead_code, unused)]
use crate::random::RandomSource;
use alloc::{string::String, vec::Vec};
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeLimits {
    pub max_header_bytes: usize,
    pub max_headers: usize,
}
impl Default for HandshakeLimits {
    fn default() -> Self {
        HandshakeLimits {
            max_header_bytes: 16384,
            max_headers: 64,
        }
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    Bad,
}
impl core::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("bad")
    }
}
impl HandshakeError {
    pub fn response(&self) -> Option<Vec<u8>> {
        None
    }
    pub fn http_status(&self) -> Option<u16> {
        None
    }
}
#[derive(Debug, Clone)]
pub struct ClientRequest;
pub struct ClientHandshake;
impl ClientHandshake {
    pub fn new(
        r: &ClientRequest,
        rng: &mut dyn RandomSource,
        l: HandshakeLimits,
    ) -> Result<Self, HandshakeError> {
        Ok(ClientHandshake)
    }
    pub fn request_bytes(&self) -> &[u8] {
        b""
    }
    pub fn feed(&mut self, i: &[u8]) -> Result<Option<(Response, usize)>, HandshakeError> {
        Err(HandshakeError::Bad)
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response;
pub struct ServerHandshake;
impl ServerHandshake {
    pub fn new(l: HandshakeLimits) -> Self {
        ServerHandshake
    }
    pub fn feed(&mut self, i: &[u8]) -> Result<Option<(Request, usize)>, HandshakeError> {
        Err(HandshakeError::Bad)
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request;
impl Request {
    pub fn accept_response(&self, a: &Accept) -> Result<Vec<u8>, HandshakeError> {
        Ok(Vec::new())
    }
}
#[derive(Debug, Clone, Default)]
pub struct Accept {
    pub subprotocol: Option<String>,
    pub extensions: Vec<String>,
    pub headers: Vec<(String, String)>,
}
pub fn reject_response(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    Vec::new()
}
