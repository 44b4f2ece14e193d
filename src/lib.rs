//! Root package (never published): owns the whole-system tests in `tests/` and the benches in
//! `benches/`. The README's Rust examples are compiled and run as this crate's doc tests.
#![doc = include_str!("../README.md")]

/// `MIGRATING.md` (porting from tokio-tungstenite), included so that its Rust examples are
/// compiled as this crate's doc tests.
#[doc = include_str!("../MIGRATING.md")]
pub mod migrating {}
