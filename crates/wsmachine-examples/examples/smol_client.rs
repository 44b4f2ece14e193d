//! A small client on smol (the runtime-agnostic futures adapter): connects to a `ws://`
//! URL, sends each line of stdin as a text message (or two greetings when stdin is a
//! terminal or empty), waits for each echo, pings, then closes and prints the close report.
//!
//! ```text
//! cargo run -p wsmachine-examples --example smol_client -- ws://127.0.0.1:9001/
//! echo hi | cargo run -p wsmachine-examples --example smol_client -- ws://127.0.0.1:9001/
//! ```

use std::io::{BufRead, IsTerminal, Write};

use wsmachine_examples::smol_echo;
use wsmachine_futures::{CloseCode, Incoming, Message, WebSocket};

/// Prints a line; a closed stdout (e.g. piped into `head`) is not an error worth a panic.
fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Receives until the next message (printing pings, pongs and errors on the way);
/// `None` once the connection is over.
async fn next_message(ws: &mut WebSocket) -> Option<Message> {
    loop {
        match ws.recv_event().await? {
            Incoming::Message(m) => return Some(m),
            Incoming::Pong(p) => say(format_args!("< pong {:?}", String::from_utf8_lossy(&p))),
            Incoming::Error(e) => say(format_args!("! {e}")),
            Incoming::Close(f) => say(format_args!("< close {} {:?}", f.code.0, f.reason)),
            _ => {}
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: smol_client ws://host:port/path")?;
    let mut lines: Vec<String> = Vec::new();
    if !std::io::stdin().is_terminal() {
        lines = std::io::stdin().lock().lines().collect::<Result<_, _>>()?;
    }
    if lines.is_empty() {
        lines = vec!["hello".into(), "héllo wörld 🎉".into()];
    }
    smol::block_on(async {
        let mut ws = smol_echo::runtime().connect(&url).await?;
        say(format_args!("connected to {url}"));
        for line in lines {
            say(format_args!("> {line}"));
            ws.send_text(line).await?;
            match next_message(&mut ws).await {
                Some(Message::Text(t)) => say(format_args!("< {t}")),
                Some(Message::Binary(b)) => say(format_args!("< [{} bytes]", b.len())),
                None => break,
            }
        }
        ws.ping(&b"are you there"[..]).await?;
        ws.close(CloseCode::NORMAL, "bye").await?;
        // The pong and the server's Close come back; recv ends once TCP is closed.
        while next_message(&mut ws).await.is_some() {}
        say(format_args!("closed: {:?}", ws.close_report()));
        Ok(())
    })
}
