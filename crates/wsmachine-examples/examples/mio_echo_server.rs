//! Single-threaded echo server for thousands of connections:
//! `cargo run -p wsmachine-examples --example mio_echo_server [ADDR] [MAX_CONNECTIONS]`
//! (default `127.0.0.1:9001`, 10,000 connections: one past the cap is closed at once).
//! Messages up to 64 MiB; logs each connection's end with the peer address.

use std::sync::atomic::AtomicBool;

use wsmachine_examples::mio_echo::{EchoServer, big_message_options};

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9001".into());
    let addr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bad address {addr}: {e}");
            std::process::exit(2);
        }
    };
    let mut opts = big_message_options();
    if let Some(cap) = args.next() {
        match cap.parse() {
            Ok(n) if n > 0 => opts.max_connections = n,
            _ => {
                eprintln!("bad connection cap {cap}: expected a positive integer");
                std::process::exit(2);
            }
        }
    }
    let cap = opts.max_connections;
    let mut server = match EchoServer::bind(addr, opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "listening on {} (at most {cap} connections)",
        server.local_addr()
    );
    let stop = AtomicBool::new(false);
    if let Err(e) = server.run_until(&stop, |end| println!("connection ended: {end}")) {
        eprintln!("poll failed: {e}");
        std::process::exit(1);
    }
}
