//! Autobahn|Testsuite client driver for the tokio adapter (run by `scripts/autobahn.sh`
//! against `wstest -m fuzzingserver`):
//!
//! ```text
//! cargo run --release -p wsmachine-examples --example tokio_autobahn_client -- [ws://127.0.0.1:9001] [AGENT]
//! ```
//!
//! Asks the server for the number of cases, runs each case by echoing every message back
//! (text as text, binary as binary) until the connection closes, then asks the server to
//! write its reports.

use wsmachine_examples::tokio_echo::echo_config;
use wsmachine_tokio::{Error, Message, WebSocket};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "wsmachine-tokio".into());
    let base = base.trim_end_matches('/');
    if let Err(e) = run(base, &agent).await {
        eprintln!("autobahn_client: {e}");
        std::process::exit(1);
    }
}

/// Connects with 64 MiB message and frame limits (the same as the echo server example).
async fn open(url: &str) -> Result<WebSocket, Error> {
    wsmachine_tokio::connect_with(url, echo_config()).await
}

async fn run(base: &str, agent: &str) -> Result<(), Error> {
    // /getCaseCount: the server sends one text message, the count, then closes.
    let mut ws = open(&format!("{base}/getCaseCount")).await?;
    let count: u32 = match ws.recv().await {
        Some(Ok(Message::Text(t))) => t.as_str().trim().parse().unwrap_or(0),
        _ => 0,
    };
    while ws.recv().await.is_some() {}
    println!("{count} cases");

    for case in 1..=count {
        match open(&format!("{base}/runCase?case={case}&agent={agent}")).await {
            Ok(ws) => echo_until_closed(ws).await,
            Err(e) => eprintln!("case {case}: connect failed: {e}"),
        }
    }

    // /updateReports: the server writes the reports, then closes.
    let mut ws = open(&format!("{base}/updateReports?agent={agent}")).await?;
    while ws.recv().await.is_some() {}
    Ok(())
}

/// Echoes each message as soon as it arrives (before reading the next one). Pings and the
/// Close handshake are answered by the adapter; errors arrive as items before the end.
async fn echo_until_closed(mut ws: WebSocket) {
    while let Some(item) = ws.recv().await {
        if let Ok(message) = item {
            // A failed send means the connection is going away; recv then ends.
            let _ = ws.send(message).await;
        }
    }
}
