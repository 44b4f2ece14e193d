//! Autobahn|Testsuite client driver for the tokio adapter (run by `scripts/autobahn.sh`
//! against `wstest -m fuzzingserver`):
//!
//! ```text
//! cargo run --release -p wsmachine-examples --example tokio_autobahn_client -- [ws://127.0.0.1:9001] [AGENT]
//! ```
//!
//! The driver itself (echo every message of every case) is `wsmachine_examples::async_autobahn`,
//! shared with `smol_autobahn_client`.

use wsmachine_examples::async_autobahn;

#[tokio::main]
async fn main() {
    let (base, agent) = async_autobahn::args("wsmachine-tokio");
    let open = |url: String| async move {
        wsmachine_tokio::connect_with(&url, async_autobahn::config()).await
    };
    if let Err(e) = async_autobahn::run(&base, &agent, open).await {
        eprintln!("autobahn_client: {e}");
        std::process::exit(1);
    }
}
