//! Autobahn|Testsuite client driver for the blocking adapter (run by `scripts/autobahn.sh`
//! against `wstest -m fuzzingserver`):
//!
//! ```text
//! cargo run --release -p wsmachine-examples --example std_autobahn_client -- [ws://127.0.0.1:9001] [AGENT]
//! ```
//!
//! Asks the server for the number of cases, runs each case by echoing every message back
//! (text as text, binary as binary) until the connection closes, then asks the server to
//! write its reports.

use wsmachine_examples::std_echo as echo;
use wsmachine_std::{ClientBuilder, Error, Message, WebSocket};

type Socket = WebSocket<wsmachine_std::MaybeTlsStream>;

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "wsmachine-std".into());
    let base = base.trim_end_matches('/');
    if let Err(e) = run(base, &agent) {
        eprintln!("autobahn_client: {e}");
        std::process::exit(1);
    }
}

/// Connects with 64 MiB message and frame limits (the same as the echo server example).
fn open(url: &str) -> Result<Socket, Error> {
    let (ws, _response) = ClientBuilder::new(url)
        .options(echo::big_message_options())
        .connect()?;
    Ok(ws)
}

fn run(base: &str, agent: &str) -> Result<(), Error> {
    // /getCaseCount: the server sends one text message, the count, then closes.
    let mut ws = open(&format!("{base}/getCaseCount"))?;
    let count: u32 = match ws.recv()? {
        Message::Text(t) => t.as_str().trim().parse().unwrap_or(0),
        Message::Binary(_) => 0,
    };
    drain(&mut ws);
    println!("{count} cases");

    for case in 1..=count {
        match open(&format!("{base}/runCase?case={case}&agent={agent}")) {
            Ok(mut ws) => echo_until_closed(&mut ws),
            Err(e) => eprintln!("case {case}: connect failed: {e}"),
        }
    }

    // /updateReports: the server writes the reports, then closes.
    let mut ws = open(&format!("{base}/updateReports?agent={agent}"))?;
    drain(&mut ws);
    Ok(())
}

/// Echoes each message as soon as it arrives, before asking for the next one (so the echo
/// goes out before any Close the core sends about later input). The core answers pings and
/// Close frames; every error is followed by `Error::Closed`, which `recv` returns once the
/// connection is over (written out, FIN sent, the peer drained after a failure).
fn echo_until_closed(ws: &mut Socket) {
    loop {
        match ws.recv() {
            // A failed send ends the connection; the next recv reports it.
            Ok(m) => drop(ws.send(m)),
            Err(Error::Closed(_)) => return,
            Err(_) => {}
        }
    }
}

/// Reads (discarding) until the connection is closed.
fn drain(ws: &mut Socket) {
    while !matches!(ws.recv(), Err(Error::Closed(_))) {}
}
