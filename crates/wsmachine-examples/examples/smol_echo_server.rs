//! An echo server on smol (the runtime-agnostic futures adapter): every text and binary
//! message comes back unchanged.
//!
//! ```text
//! cargo run -p wsmachine-examples --example smol_echo_server -- [ADDR] [MAX_CONNECTIONS]
//! SMOL_THREADS=2 cargo run -p wsmachine-examples --example smol_echo_server -- 127.0.0.1:9001
//! ```
//!
//! Up to `MAX_CONNECTIONS` connections at once (default 10,000; more wait in the listen
//! backlog); messages up to 64 MiB; each connection's end is logged with the peer address
//! and its close report; one connection's failure never stops the accept loop.

use std::sync::Arc;

use wsmachine_examples::smol_echo::{DEFAULT_MAX_CONNECTIONS, echo_config, serve_echo, stderr_log};

fn main() -> std::io::Result<()> {
    let (addr, max_connections) = wsmachine_examples::server_args(DEFAULT_MAX_CONNECTIONS)?;
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind(&addr).await?;
        eprintln!(
            "smol echo server listening on ws://{}/ (at most {max_connections} connections)",
            listener.local_addr()?
        );
        let on_end = Arc::new(|_| {});
        serve_echo(
            listener,
            echo_config(),
            max_connections,
            stderr_log(),
            on_end,
        )
        .await;
        Ok(())
    })
}
