//! tokio-websockets' echo server, as its own example writes it (`next` then `send` for text
//! and binary messages, in an `unconstrained` task; outgoing frames unsplit), on a
//! multi-threaded tokio runtime like ours; messages up to 64 MiB.
//!
//! `echo_tokio_websockets [ADDR]` (default `127.0.0.1:9001`).

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_websockets::{Config, Limits, ServerBuilder};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = wsmachine_bench::addr_arg();
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "tokio-websockets echo listening on {}",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(tokio::task::unconstrained(async move {
            let _ = stream.set_nodelay(true);
            let Ok((_request, mut ws)) = ServerBuilder::new()
                .config(Config::default().frame_size(usize::MAX))
                .limits(Limits::default().max_payload_len(Some(64 << 20)))
                .accept(stream)
                .await
            else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                    return;
                }
            }
        }));
    }
}
