//! A broadcast chat server. Open `http://127.0.0.1:9002/` in a browser: the page (served
//! over plain HTTP on the same port) connects to `ws://<host>/ws`, and every text or binary
//! message from any client goes unchanged to every client, the sender included.
//!
//! ```text
//! cargo run -p wsmachine-examples --example chat -- 127.0.0.1:9002
//! CHAT_PING_MS=1000 CHAT_PONG_MS=1000 cargo run -p wsmachine-examples --example chat
//! ```
//!
//! Dead clients are found by keepalive (ping after `CHAT_PING_MS` of silence, give up
//! `CHAT_PONG_MS` later; default 5 s each) and pruned. A client whose queue
//! (`CHAT_QUEUE` messages, default 256) overflows is dropped so it cannot stall the others.

use std::time::Duration;

use tokio::net::TcpListener;
use wsmachine_examples::tokio_echo::{ChatOptions, serve_chat, stderr_log};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".to_string());
    let mut options = ChatOptions::default();
    options.config = options
        .config
        .ping_interval(Some(Duration::from_millis(env_u64("CHAT_PING_MS", 5_000))))
        .pong_timeout(Some(Duration::from_millis(env_u64("CHAT_PONG_MS", 5_000))));
    options.client_queue = env_u64("CHAT_QUEUE", 256) as usize;
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("chat server on http://{}/", listener.local_addr()?);
    serve_chat(listener, include_str!("chat.html"), options, stderr_log()).await;
    Ok(())
}
