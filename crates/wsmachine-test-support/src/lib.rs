//! Test helpers shared by wsmachine's core tests, the fuzz crate and its corpus generator
//! (as h2 has `h2-support`): raw frame building and parsing, and a client/server [`Pair`]
//! joined in memory and driven on a simulated clock; the interop peers ([`peers`]); and, with
//! the `adapters` feature, in-process std, mio and smol servers and clients chosen by one
//! `adapter::Kind`, the classic-failure scenarios (`failures`) run against them, and the
//! standard exchange over the async handles tokio and smol share (`async_exchange`); the
//! real proxies of the proxy tests ([`proxies`]); with the `tls` feature, a CA made per run
//! (`tls`).
//! Unpublished; never a dependency of a library crate.

mod frames;
mod pair;
pub mod peers;
pub mod proxies;

#[cfg(feature = "adapters")]
pub mod adapter;
#[cfg(feature = "adapters")]
pub mod async_exchange;
#[cfg(feature = "adapters")]
pub mod failures;
#[cfg(feature = "tls")]
pub mod tls;

pub use frames::*;
pub use pair::Pair;
