//! Client: `cargo run -p wsmachine-std --example std_client ws://127.0.0.1:9001/` sends a few
//! messages, prints the replies and closes.

use wsmachine_std::{CloseCode, Message};

fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    if let Err(e) = run(&url) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(url: &str) -> Result<(), wsmachine_std::Error> {
    let (mut ws, response) = wsmachine_std::connect(url)?;
    println!(
        "connected to {url} (subprotocol {:?})",
        response.subprotocol
    );
    let messages = [
        Message::text("hello"),
        Message::text("héllo wörld 🎉"),
        Message::binary(vec![0u8, 1, 2, 3, 255]),
        Message::text(""),
    ];
    for m in messages {
        ws.send(m)?;
        match ws.recv()? {
            Message::Text(t) => println!("text reply: {t:?}"),
            Message::Binary(b) => println!("binary reply: {:?}", &b[..]),
        }
    }
    let report = ws.close(CloseCode::NORMAL, "bye")?;
    println!(
        "closed: code {} ({})",
        report.code().0,
        if report.clean { "clean" } else { "not clean" }
    );
    Ok(())
}
