//! Single-threaded echo server for thousands of connections:
//! `cargo run -p wsmachine-examples --example mio_echo_server [ADDR]` (default `127.0.0.1:9001`).
//! Messages up to 64 MiB; logs each connection's end with the peer address.

use std::sync::atomic::AtomicBool;

use wsmachine_examples::mio_echo::{EchoServer, big_message_options};

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let addr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bad address {addr}: {e}");
            std::process::exit(2);
        }
    };
    let mut server = match EchoServer::bind(addr, big_message_options()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("listening on {}", server.local_addr());
    let stop = AtomicBool::new(false);
    if let Err(e) = server.run_until(&stop, |end| println!("connection ended: {end}")) {
        eprintln!("poll failed: {e}");
        std::process::exit(1);
    }
}
