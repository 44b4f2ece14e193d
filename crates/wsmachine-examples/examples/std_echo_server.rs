//! Echo server: `cargo run -p wsmachine-examples --example std_echo_server [ADDR [MAX]]`
//! (default `127.0.0.1:9001`, at most 256 connections at once). A thread per connection;
//! messages up to 64 MiB; logs each connection's end with the peer address.

use wsmachine_examples::std_echo as echo;
use wsmachine_std::ServerBuilder;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9001".into());
    let max = match args.next().map(|a| a.parse::<usize>()) {
        None => echo::DEFAULT_MAX_CONNECTIONS,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("the connection cap (second argument) must be a positive number");
            std::process::exit(2);
        }
    };
    let listener = match std::net::TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    println!("listening on {local} (at most {max} connections at once)");
    let builder = ServerBuilder::new().options(echo::big_message_options());
    echo::serve_capped(listener, builder, max, |end| {
        println!("connection ended: {end}")
    });
}
