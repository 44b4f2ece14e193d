//! The servers behind the example programs, as library functions so that the tests can run
//! them in-process on port 0. Demo code only: nothing here is part of an adapter's API.
//!
//! - [`std_echo`]: a blocking echo server over the std adapter (a thread per connection, up
//!   to a connection cap).
//! - [`mio_echo`]: a one-thread echo server over the mio adapter.
//! - [`tokio_echo`]: an echo server and a broadcast chat server over the tokio adapter.
//! - [`smol_echo`]: an echo server over the runtime-agnostic futures adapter, on smol.
//! - [`async_echo`], [`async_autobahn`]: what the tokio and smol servers and Autobahn
//!   clients share (one echo loop, one Autobahn driver over the shared `WebSocket`).
//! - [`tls_echo`]: a `wss://` echo server over the tokio adapter and tokio-rustls.
//! - [`http_echo`]: echo servers inside hyper and axum (the framework upgrades, the tokio
//!   adapter runs on the upgraded I/O), the axum one behind an async token check.
//! - [`uring_echo`]: an echo server on compio (io_uring, with a polling fallback), the
//!   core's owned input and output buffers meeting completion I/O without a copy.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod async_autobahn;
pub mod async_echo;
pub mod http_echo;
pub mod mio_echo;
pub mod smol_echo;
pub mod std_echo;
pub mod tls_echo;
pub mod tokio_echo;
pub mod uring_echo;

use wsmachine::{Config, DeflateConfig, Limits};

/// The config every echo server example and Autobahn client driver uses: 64 MiB frames and
/// messages, a 160 MiB send queue (so one connection holds at most about 64 MiB of input,
/// a 64 MiB message being assembled and 160 MiB of output; see each adapter's memory
/// bound), and permessage-deflate with the default [`DeflateConfig`] (offered by a client,
/// accepted by a server; about 428 KiB more per connection while both directions keep
/// their context, see `wsmachine::deflate`).
pub fn big_message_config() -> Config {
    Config {
        limits: Limits {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
            max_send_queue: 160 << 20,
            ..Limits::default()
        },
        deflate: Some(DeflateConfig::default()),
        ..Config::default()
    }
}

/// The command line of the echo server examples: `[ADDR] [MAX_CONNECTIONS]`, defaulting
/// to `127.0.0.1:9001` and `default_max`.
pub fn server_args(default_max: usize) -> std::io::Result<(String, usize)> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let max_connections = match args.next() {
        Some(n) => n.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("MAX_CONNECTIONS must be a number, not {n:?}"),
            )
        })?,
        None => default_max,
    };
    Ok((addr, max_connections))
}
