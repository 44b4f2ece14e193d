//! An echo server inside axum, behind an async token check: the handler validates the
//! upgrade with `wsmachine-http`, awaits the token store (a stand-in for a database),
//! answers `101` or `401`, and on the upgraded connection the tokio adapter echoes (at any
//! path).
//!
//! ```text
//! cargo run -p wsmachine-examples --example axum_echo_server -- [ADDR] [TOKEN...]
//! ```
//!
//! `ADDR` defaults to `127.0.0.1:9001`. With tokens, a client must present one as
//! `Authorization: Bearer TOKEN` or `?token=TOKEN`; without, everyone may connect.
//! Messages up to 64 MiB.

use std::sync::Arc;

use tokio::net::TcpListener;
use wsmachine_examples::http_echo::{AxumEcho, TokenStore, serve_axum_echo};
use wsmachine_examples::tokio_echo::{echo_config, stderr_log};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let tokens = TokenStore::new(args);
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "axum echo server listening on ws://{}/",
        listener.local_addr()?
    );
    let app = AxumEcho {
        tokens: Arc::new(tokens),
        config: echo_config(),
        log: stderr_log(),
    };
    serve_axum_echo(listener, app).await
}
