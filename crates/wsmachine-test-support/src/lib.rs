//! Test helpers shared by wsmachine's core tests, the fuzz crate and its corpus generator
//! (as h2 has `h2-support`): raw frame building and parsing, and a client/server [`Pair`]
//! joined in memory and driven on a simulated clock. Unpublished; never a dependency of a
//! library crate.

mod frames;
mod pair;

pub use frames::*;
pub use pair::Pair;
