//! An echo server: every text and binary message comes back unchanged.
//!
//! ```text
//! cargo run -p wsmachine-examples --example echo_server -- 127.0.0.1:9001
//! ```
//!
//! Any number of connections; messages up to 64 MiB; each connection's end is logged with
//! the peer address and its close report; one connection's failure never stops the accept
//! loop.

use tokio::net::TcpListener;
use wsmachine_examples::tokio_echo::{echo_config, serve_echo, stderr_log};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("echo server listening on ws://{}/", listener.local_addr()?);
    serve_echo(listener, echo_config(), stderr_log()).await;
    Ok(())
}
