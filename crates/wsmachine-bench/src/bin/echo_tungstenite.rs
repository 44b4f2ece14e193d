//! tokio-tungstenite's echo server, as its own example writes it (split, then `forward` the
//! text and binary messages to the sink, which flushes when no message is ready), on a
//! multi-threaded tokio runtime like ours; frames and messages up to 64 MiB.
//!
//! `echo_tungstenite [ADDR]` (default `127.0.0.1:9001`).

use futures_util::{StreamExt, TryStreamExt, future};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = wsmachine_bench::addr_arg();
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "tokio-tungstenite echo listening on {}",
        listener.local_addr()?
    );
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
            else {
                return;
            };
            let (write, read) = ws.split();
            let _ = read
                .try_filter(|m| future::ready(m.is_text() || m.is_binary()))
                .forward(write)
                .await;
        });
    }
}
