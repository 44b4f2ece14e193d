//! Echo server: `cargo run -p wsmachine-examples --example std_echo_server [ADDR]` (default
//! `127.0.0.1:9001`). A thread per connection; messages up to 64 MiB; logs each connection's
//! end with the peer address.

use wsmachine_examples::std_echo as echo;
use wsmachine_std::ServerBuilder;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = match std::net::TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    println!("listening on {local}");
    let builder = ServerBuilder::new().options(echo::big_message_options());
    echo::serve(listener, builder, |end| println!("connection ended: {end}"));
}
