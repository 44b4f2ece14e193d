//! Autobahn|Testsuite client driver for the mio adapter (run by `scripts/autobahn.sh`
//! against `wstest -m fuzzingserver`):
//!
//! ```text
//! cargo run --release -p wsmachine-examples --example mio_autobahn_client -- [ws://127.0.0.1:9001] [AGENT]
//! ```
//!
//! Asks the server for the number of cases, runs each case by echoing every message back
//! (text as text, binary as binary) until the connection closes, then asks the server to
//! write its reports. Each connection runs on its own `LoopClient` (a one-client mio loop).

use std::time::Duration;

use wsmachine_examples::mio_echo as echo;
use wsmachine_mio::{Event, LoopClient, Message};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Longest wait for any event; a case that stays silent this long is abandoned.
const WAIT: Duration = Duration::from_secs(120);

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "wsmachine-mio".into());
    let base = base.trim_end_matches('/');
    if let Err(e) = run(base, &agent) {
        eprintln!("autobahn_client: {e}");
        std::process::exit(1);
    }
}

/// Connects with 64 MiB message and frame limits (the same as the echo server example).
fn open(url: &str) -> Result<LoopClient> {
    Ok(LoopClient::connect(
        url,
        echo::big_message_options().config,
    )?)
}

fn run(base: &str, agent: &str) -> Result<()> {
    // /getCaseCount: the server sends one text message, the count, then closes.
    let mut c = open(&format!("{base}/getCaseCount"))?;
    let mut count: u32 = 0;
    while let Some(ev) = c.next_event(WAIT)? {
        if let Event::Message(Message::Text(t)) = ev {
            count = t.as_str().trim().parse().unwrap_or(0);
        }
    }
    println!("{count} cases");

    for case in 1..=count {
        let result = open(&format!("{base}/runCase?case={case}&agent={agent}"))
            .and_then(|mut c| echo_until_closed(&mut c));
        if let Err(e) = result {
            eprintln!("case {case}: {e}");
        }
    }

    // /updateReports: the server writes the reports, then closes.
    let mut c = open(&format!("{base}/updateReports?agent={agent}"))?;
    while c.next_event(WAIT)?.is_some() {}
    Ok(())
}

/// Echoes each message as soon as it arrives (queued here, written by the next
/// `next_event` before it parses anything more). Pings and Close are answered by the core.
/// After Closed, one more `next_event` finishes the transport (FIN, drain) before the
/// client is dropped.
fn echo_until_closed(c: &mut LoopClient) -> Result<()> {
    loop {
        match c.next_event(WAIT)? {
            // A failed send means the connection is going away; Closed follows.
            Some(Event::Message(m)) => drop(c.send(m)),
            Some(Event::Closed(_)) => {
                while c.next_event(WAIT)?.is_some() {}
                return Ok(());
            }
            Some(_) => {}
            None if c.client().is_closed() => return Ok(()),
            None => return Err("no event for 120 s".into()),
        }
    }
}
