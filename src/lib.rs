//! Root package (never published): owns the whole-system tests in `tests/` and the benches in
//! `benches/`. The README's Rust examples are compiled and run as this crate's doc tests.
#![doc = include_str!("../README.md")]
