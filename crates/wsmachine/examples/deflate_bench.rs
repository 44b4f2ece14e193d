//! Compressed versus plain echo of 1 KiB JSON messages of varied, seeded content, client core
//! against server core in memory: messages per second and bytes on the wire each way.
//!
//! `cargo run --release -p wsmachine --features deflate --example deflate_bench [MESSAGES]`
//!
//! Dev-only numbers for the permessage-deflate work (no peer process, no sockets: the cost
//! of the protocol engine and zlib-rs alone).

use std::time::Instant;

use wsmachine::random::SeededRandom;
use wsmachine::{
    Config, Connection, DeflateConfig, DeflateParams, Event, Message, Role, Timestamp,
};

/// About 1 KiB of JSON whose values vary with `i` (seeded, reproducible).
fn json(i: u64) -> String {
    let mut s = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut out = String::from("{\"events\":[");
    while out.len() < 1000 {
        let r = next();
        out.push_str(&format!(
            "{{\"id\":{},\"user\":\"user{}\",\"kind\":\"{}\",\"price\":{}.{:02},\"ok\":{}}},",
            r % 100_000,
            r % 997,
            ["click", "view", "buy", "scroll"][(r % 4) as usize],
            r % 1000,
            r % 100,
            r % 2 == 0
        ));
    }
    out.pop();
    out.push_str("]}");
    out
}

fn run(name: &str, messages: u64, deflate: Option<(DeflateParams, DeflateConfig)>) {
    let open = |role| {
        Connection::open_with_random(
            role,
            Config::default(),
            Timestamp::ZERO,
            Box::new(SeededRandom::from_u64(1)),
        )
    };
    let (mut c, mut s) = (open(Role::Client), open(Role::Server));
    if let Some((p, d)) = deflate {
        c.use_deflate(p, d);
        s.use_deflate(p, d);
    }
    let payload: u64 = (0..messages).map(|i| json(i).len() as u64).sum();
    let (mut up, mut down) = (0u64, 0u64);
    let mut wire = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    for batch in 0..messages / 100 {
        for i in 0..100 {
            c.send_text(json(batch * 100 + i)).unwrap();
        }
        wire.clear();
        c.write_transmit_to(&mut wire, usize::MAX);
        up += wire.len() as u64;
        s.handle_input(Timestamp::ZERO, &wire);
        while let Some(e) = s.poll_event() {
            if let Event::Message(m) = e {
                s.send(m).unwrap();
            }
        }
        wire.clear();
        s.write_transmit_to(&mut wire, usize::MAX);
        down += wire.len() as u64;
        c.handle_input(Timestamp::ZERO, &wire);
        let mut got = 0;
        while let Some(e) = c.poll_event() {
            assert!(matches!(e, Event::Message(Message::Text(_))));
            got += 1;
        }
        assert_eq!(got, 100);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<34} {:>9.0} echoes/s  payload {:>6.1} MB  wire up {:>6.1} MB  down {:>6.1} MB  ({:.1}% of plain)",
        messages as f64 / secs,
        payload as f64 / 1e6,
        up as f64 / 1e6,
        down as f64 / 1e6,
        100.0 * down as f64 / payload as f64
    );
}

fn main() {
    let messages: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let d = DeflateConfig {
        threshold: 0,
        ..DeflateConfig::default()
    };
    let nct = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateParams::default()
    };
    run("plain", messages, None);
    run(
        "deflate (level 6, window 15)",
        messages,
        Some((DeflateParams::default(), d)),
    );
    run(
        "deflate (level 1, window 15)",
        messages,
        Some((DeflateParams::default(), DeflateConfig { level: 1, ..d })),
    );
    let small = DeflateParams {
        server_max_window_bits: Some(10),
        client_max_window_bits: Some(10),
        ..DeflateParams::default()
    };
    run(
        "deflate (level 6, window 10, mem 4)",
        messages,
        Some((
            small,
            DeflateConfig {
                memory_level: 4,
                ..d
            },
        )),
    );
    run("deflate, no context takeover", messages, Some((nct, d)));
}
