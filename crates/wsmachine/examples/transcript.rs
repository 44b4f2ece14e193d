//! Reads transcripts (feature `record`): prints their records one per line, or replays them
//! and reports the first divergence.
//!
//! ```text
//! cargo run -p wsmachine --features record --example transcript -- dump FILE...
//! cargo run -p wsmachine --features record --example transcript -- replay FILE...
//! ```
//! `replay` exits with status 1 if a transcript does not replay identically.

use wsmachine::record;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let files: Vec<String> = args.collect();
    if !matches!(mode.as_str(), "dump" | "replay") || files.is_empty() {
        eprintln!("usage: transcript dump|replay FILE...");
        std::process::exit(2);
    }
    let mut failed = false;
    for file in &files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{file}: {e}");
                failed = true;
                continue;
            }
        };
        if mode == "dump" {
            println!("{file}: {} bytes", bytes.len());
            match record::records(&bytes) {
                Ok(records) => {
                    for (i, r) in records.enumerate() {
                        match r {
                            Ok((range, r)) => println!("{i:5} @{:<7} {r}", range.start),
                            Err(e) => {
                                println!("{e}");
                                failed = true;
                            }
                        }
                    }
                }
                Err(e) => {
                    println!("{e}");
                    failed = true;
                }
            }
            continue;
        }
        match record::replay(&bytes) {
            Ok(r) => println!(
                "{file}: replays identically ({} records, {} events, ends {:?})",
                r.records,
                r.events,
                r.connection.state()
            ),
            Err(e) => {
                println!("{file}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
