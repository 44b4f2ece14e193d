//! An echo server inside hyper 1: hyper parses the HTTP request, `wsmachine-http` validates
//! the upgrade and builds the `101`, hyper hands over the connection and the tokio adapter
//! echoes on it (at any path).
//!
//! ```text
//! cargo run -p wsmachine-examples --example hyper_echo_server -- [ADDR]
//! ```
//!
//! `ADDR` defaults to `127.0.0.1:9001`. Messages up to 64 MiB; a request that is not a
//! valid upgrade gets the core's error response (400, 405, 426 with
//! `Sec-WebSocket-Version: 13`).

use tokio::net::TcpListener;
use wsmachine_examples::http_echo::serve_hyper_echo;
use wsmachine_examples::tokio_echo::{echo_config, stderr_log};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "hyper echo server listening on ws://{}/",
        listener.local_addr()?
    );
    serve_hyper_echo(listener, echo_config(), stderr_log()).await;
    Ok(())
}
