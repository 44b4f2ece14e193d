//! An echo server on compio, a completion-based runtime (io_uring, falling back to a
//! polling driver when the kernel refuses io_uring), with 64 MiB messages.
//!
//! Usage: `cargo run -p wsmachine-examples --example uring_echo_server [ADDR]`
//! (default `127.0.0.1:9001`). Prints the driver in use on stderr. Exit codes: 2 if the
//! compio runtime cannot start at all (neither io_uring nor polling), 1 if the address
//! cannot be bound.

use wsmachine_examples::uring_echo::{self, UringEchoError};

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_string());
    if let Ok(v) = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        && v.trim() != "0"
    {
        eprintln!(
            "uring_echo_server: io_uring_disabled = {} here; compio will use its polling driver",
            v.trim()
        );
    }
    match uring_echo::serve(&addr, wsmachine_examples::big_message_config()) {
        Ok(()) => {}
        Err(e @ UringEchoError::Runtime(_)) => {
            eprintln!("uring_echo_server: {e}");
            std::process::exit(2);
        }
        Err(e) => {
            eprintln!("uring_echo_server: {e}");
            std::process::exit(1);
        }
    }
}
