//! Which end of the connection this is.

/// The role of an endpoint. It is fixed at construction and decides masking: a client masks
/// every frame it sends and rejects masked frames; a server never masks and rejects unmasked
/// frames (RFC 6455 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that opened the connection; it masks what it sends.
    Client,
    /// The endpoint that accepted the connection; it never masks.
    Server,
}

impl Role {
    /// The role of the other end.
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}
