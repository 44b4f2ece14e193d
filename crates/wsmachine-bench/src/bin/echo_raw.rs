//! A raw TCP echo: every byte read is written back, no WebSocket at all; the ceiling of
//! what loopback, tokio and the load generator allow. One task per connection on a
//! multi-threaded tokio runtime like the WebSocket servers; a 64 KiB buffer per connection,
//! allocated at the first byte.
//!
//! `echo_raw [ADDR] [SPIN_US]` (default `127.0.0.1:9001`, no spin). With `SPIN_US`, the
//! server busy-waits that many microseconds after each read before it writes the bytes
//! back: a server doing more work per read, to show what the closed-loop echo rewards
//! (`scripts/echo-spin.sh`).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = wsmachine_bench::addr_arg();
    let spin = match std::env::args().nth(2) {
        None => Duration::ZERO,
        Some(us) => match us.parse() {
            Ok(us) => Duration::from_micros(us),
            Err(_) => wsmachine_bench::usage("echo_raw", "SPIN_US must be a whole number"),
        },
    };
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("raw TCP echo listening on {}", listener.local_addr()?);
    loop {
        let (mut stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            if stream.readable().await.is_err() {
                return;
            }
            let mut buf = vec![0u8; 64 << 10];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if !spin.is_zero() {
                            let start = Instant::now();
                            while start.elapsed() < spin {
                                std::hint::spin_loop();
                            }
                        }
                        if stream.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}
