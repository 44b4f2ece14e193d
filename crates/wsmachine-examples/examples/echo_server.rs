//! An echo server: every text and binary message comes back unchanged.
//!
//! ```text
//! cargo run -p wsmachine-examples --example echo_server -- [ADDR] [MAX_CONNECTIONS]
//! cargo run -p wsmachine-examples --example echo_server -- 127.0.0.1:9001 10000
//! ```
//!
//! Up to `MAX_CONNECTIONS` connections at once (default 10,000; more wait in the listen
//! backlog); messages up to 64 MiB; each connection's end is logged with the peer address
//! and its close report; one connection's failure never stops the accept loop, and a
//! failing `accept` (e.g. out of file descriptors) is logged at most once per second and
//! backed off.

use tokio::net::TcpListener;
use wsmachine_examples::tokio_echo::{
    DEFAULT_MAX_CONNECTIONS, echo_config, serve_echo_capped, stderr_log,
};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (addr, max_connections) = wsmachine_examples::server_args(DEFAULT_MAX_CONNECTIONS)?;
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "echo server listening on ws://{}/ (at most {max_connections} connections)",
        listener.local_addr()?
    );
    serve_echo_capped(listener, echo_config(), max_connections, stderr_log()).await;
    Ok(())
}
