//! Client on a mio loop: `cargo run -p wsmachine-mio --example mio_client ws://127.0.0.1:9001/`
//! sends a few messages, prints the replies and closes.

use std::time::Duration;

use wsmachine_mio::{CloseCode, Config, Event, LoopClient, Message};

fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    if let Err(e) = run(&url) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn next(c: &mut LoopClient) -> Result<Event, Box<dyn std::error::Error>> {
    c.next_event(Duration::from_secs(10))?
        .ok_or_else(|| "timed out or closed".into())
}

fn run(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut c = LoopClient::connect(url, Config::default())?;
    match next(&mut c)? {
        Event::Connected(r) => println!("connected to {url} (subprotocol {:?})", r.subprotocol),
        other => return Err(format!("handshake failed: {other:?}").into()),
    }
    let messages = [
        Message::text("hello"),
        Message::text("héllo wörld 🎉"),
        Message::binary(vec![0u8, 1, 2, 3, 255]),
        Message::text(""),
    ];
    for m in messages {
        c.send(m)?;
        loop {
            match next(&mut c)? {
                Event::Message(Message::Text(t)) => println!("text reply: {t:?}"),
                Event::Message(Message::Binary(b)) => println!("binary reply: {:?}", &b[..]),
                Event::Ping(_) | Event::Pong(_) => continue,
                other => return Err(format!("unexpected: {other:?}").into()),
            }
            break;
        }
    }
    c.client().close(CloseCode::NORMAL, "bye")?;
    loop {
        match next(&mut c)? {
            Event::Closed(r) => {
                println!(
                    "closed: code {} ({})",
                    r.code().0,
                    if r.clean { "clean" } else { "not clean" }
                );
                return Ok(());
            }
            _ => continue,
        }
    }
}
