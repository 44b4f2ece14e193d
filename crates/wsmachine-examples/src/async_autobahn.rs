//! The Autobahn|Testsuite client driver of the tokio and smol examples, written once over
//! the shared `WebSocket` (`tokio_autobahn_client`, `smol_autobahn_client`): each passes
//! its adapter's `connect_with`.
//!
//! Asks the fuzzingserver for the number of cases, runs each case by echoing every message
//! back (text as text, binary as binary) until the connection closes, then asks the server
//! to write its reports.

use std::future::Future;

use wsmachine::Message;
use wsmachine_async::{Config, Error, WebSocket};

/// The client config of the Autobahn drivers: 64 MiB message and frame limits, the same as
/// the echo server examples ([`big_message_config`](crate::big_message_config)).
pub fn config() -> Config {
    Config::from(crate::big_message_config())
}

/// Runs every case of the fuzzingserver at `base` (e.g. `ws://127.0.0.1:9001`) as `agent`,
/// opening each connection with `open(url)`; then has the server write its reports.
pub async fn run<F, Fut>(base: &str, agent: &str, open: F) -> Result<(), Error>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<WebSocket, Error>>,
{
    let base = base.trim_end_matches('/');
    // /getCaseCount: the server sends one text message, the count, then closes.
    let mut ws = open(format!("{base}/getCaseCount")).await?;
    let count: u32 = match ws.recv().await {
        Some(Ok(Message::Text(t))) => t.as_str().trim().parse().unwrap_or(0),
        _ => 0,
    };
    while ws.recv().await.is_some() {}
    println!("{count} cases");

    for case in 1..=count {
        match open(format!("{base}/runCase?case={case}&agent={agent}")).await {
            Ok(ws) => echo_until_closed(ws).await,
            Err(e) => eprintln!("case {case}: connect failed: {e}"),
        }
    }

    // /updateReports: the server writes the reports, then closes.
    let mut ws = open(format!("{base}/updateReports?agent={agent}")).await?;
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

/// The command line of a driver: `[BASE_URL] [AGENT]`, defaulting to
/// `ws://127.0.0.1:9001` and `default_agent`.
pub fn args(default_agent: &str) -> (String, String) {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| default_agent.into());
    (base, agent)
}
