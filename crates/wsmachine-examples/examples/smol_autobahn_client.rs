//! Autobahn|Testsuite client driver for the runtime-agnostic futures adapter on smol (run
//! by `scripts/autobahn.sh` against `wstest -m fuzzingserver`):
//!
//! ```text
//! cargo run --release -p wsmachine-examples --example smol_autobahn_client -- [ws://127.0.0.1:9001] [AGENT]
//! ```
//!
//! The driver itself (echo every message of every case) is `wsmachine_examples::async_autobahn`,
//! shared with `tokio_autobahn_client`; connections open on smol's `TcpStream` with
//! async-io's timer.

use wsmachine_examples::{async_autobahn, smol_echo};

fn main() {
    let (base, agent) = async_autobahn::args("wsmachine-smol");
    let runtime = smol_echo::runtime();
    let open = |url: String| {
        let runtime = runtime.clone();
        async move { runtime.connect_with(&url, async_autobahn::config()).await }
    };
    if let Err(e) = smol::block_on(async_autobahn::run(&base, &agent, open)) {
        eprintln!("autobahn_client: {e}");
        std::process::exit(1);
    }
}
