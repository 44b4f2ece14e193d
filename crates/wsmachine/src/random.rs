//! Injectable randomness for masking keys and handshake keys.
//!
//! The core never reaches for a global random source on its own: a client [`Connection`]
//! holds a [`RandomSource`] given at construction. With the `std` feature (default) a
//! [`ThreadRandom`] backed by `rand::rng()` (a CSPRNG seeded by the OS) is the default;
//! tests and `no_std` users pass a [`SeededRandom`].
//!
//! [`Connection`]: crate::Connection

use rand::{RngCore, SeedableRng, rngs::StdRng};

/// A source of random bytes for masking keys (4 bytes per frame) and handshake keys (16 bytes).
///
/// Implementations must be unpredictable to the peer in production (RFC 6455 5.3); a
/// deterministic one is fine in tests.
pub trait RandomSource: Send {
    /// Fills `buf` with random bytes. Cost: one call into the generator per frame sent.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The default source: the thread-local CSPRNG of `rand` (`rand::rng()`), seeded by the OS.
#[cfg(feature = "std")]
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadRandom;

#[cfg(feature = "std")]
impl RandomSource for ThreadRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        rand::rng().fill_bytes(buf);
    }
}

/// A deterministic CSPRNG (ChaCha12 via `rand::rngs::StdRng`) from a caller-supplied seed:
/// for tests, fuzzing, and `no_std` targets that have their own entropy.
#[derive(Debug, Clone)]
pub struct SeededRandom(StdRng);

impl SeededRandom {
    /// Creates a source from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SeededRandom(StdRng::from_seed(seed))
    }

    /// Creates a source from a 64-bit seed (convenient in tests and property tests).
    pub fn from_u64(seed: u64) -> Self {
        SeededRandom(StdRng::seed_from_u64(seed))
    }
}

impl RandomSource for SeededRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        self.0.fill_bytes(buf);
    }
}

impl<R: RandomSource + ?Sized> RandomSource for alloc::boxed::Box<R> {
    fn fill(&mut self, buf: &mut [u8]) {
        (**self).fill(buf);
    }
}

/// Returns the default random source: [`ThreadRandom`] with `std`.
#[cfg(feature = "std")]
pub fn default_random() -> alloc::boxed::Box<dyn RandomSource> {
    alloc::boxed::Box::new(ThreadRandom)
}
