//! A small client: connects to a `ws://` or `wss://` URL (extra arguments `Name: value` are
//! sent as request headers), sends each line of stdin as a text message (or two greetings
//! when stdin is a terminal or empty), prints the replies, then closes.
//!
//! ```text
//! cargo run -p wsmachine-tokio --example client -- ws://127.0.0.1:9001/
//! echo hi | cargo run -p wsmachine-tokio --example client -- ws://127.0.0.1:9001/
//! cargo run -p wsmachine-tokio --features rustls --example client -- \
//!     wss://localhost:9443/ "Authorization: Bearer s3cret"
//! ```
//!
//! `wss://` needs the `rustls` feature; the server's certificate is checked against the
//! platform's roots, or the file `SSL_CERT_FILE` names (e.g. the one the `tls_echo_server`
//! example writes).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use wsmachine_tokio::{CloseCode, Incoming, Message};

/// Prints a line; a closed stdout (e.g. piped into `head`) is not an error worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: client ws[s]://host:port/path [\"Name: value\"...]")?;
    let mut builder = wsmachine_tokio::ClientBuilder::new(&url);
    for header in args {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("a header is \"Name: value\", not {header:?}"))?;
        builder = builder.header(name.trim(), value.trim());
    }
    let ws = builder.connect().await?;
    say!("connected to {url}");
    let (sender, mut receiver) = ws.split();

    // Print everything that comes back, on its own task.
    let printer = tokio::spawn(async move {
        while let Some(event) = receiver.recv_event().await {
            match event {
                Incoming::Message(Message::Text(t)) => say!("< {t}"),
                Incoming::Message(Message::Binary(b)) => say!("< [{} bytes]", b.len()),
                Incoming::Pong(_) => say!("< pong"),
                Incoming::Close(f) => say!("< close {} {:?}", f.code.0, f.reason),
                Incoming::Error(e) => say!("! {e}"),
                Incoming::Closed(report) => say!("closed: {report:?}"),
                _ => {}
            }
        }
    });

    let mut lines = Vec::new();
    if !std::io::stdin().is_terminal() {
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        while let Some(line) = stdin.next_line().await? {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        lines = vec!["hello".into(), "héllo wörld 🎉".into()];
    }
    for line in lines {
        say!("> {line}");
        sender.send_text(line).await?;
    }
    sender.send_binary(vec![1u8, 2, 3]).await?;
    sender.ping(&b"are you there"[..]).await?;
    // Give the replies a moment, then close and wait for the close handshake.
    tokio::time::sleep(Duration::from_millis(500)).await;
    sender.close(CloseCode::NORMAL, "bye").await?;
    tokio::time::timeout(Duration::from_secs(10), printer).await??;
    Ok(())
}
