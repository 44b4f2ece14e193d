//! The servers behind the example programs, as library functions so that the tests can run
//! them in-process on port 0. Demo code only: nothing here is part of an adapter's API.
//!
//! - [`std_echo`]: a blocking echo server over the std adapter (a thread per connection, up
//!   to a connection cap).
//! - [`mio_echo`]: a one-thread echo server over the mio adapter.
//! - [`tokio_echo`]: an echo server and a broadcast chat server over the tokio adapter.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod mio_echo;
pub mod std_echo;
pub mod tokio_echo;
