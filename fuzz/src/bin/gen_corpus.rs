//! Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/) from real traffic:
//! a client core and a server core (the test-support `Pair`, on a simulated clock) run the
//! opening handshake and a few conversations in memory, and the bytes each side received
//! are recorded.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --bin gen_corpus -- fuzz/corpus` (see
//! scripts/gen-fuzz-corpus.sh). Deterministic: seeded keys, a simulated clock.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wsmachine::{Bytes, ClientRequest, CloseCode, Config, MessageKind, Timestamp};
use wsmachine_test_support::Pair;

/// What each side received, and where the handshake ends in it.
struct Traffic {
    /// Everything the server read: the request, then client frames.
    to_server: Vec<u8>,
    request_len: usize,
    /// Everything the client read: the 101 response, then server frames.
    to_client: Vec<u8>,
    response_len: usize,
}

fn scenario(seed: u64, which: u8) -> Traffic {
    let mut config = Config::default();
    if which == 1 {
        config.auto_fragment_size = Some(50);
    }
    let mut req = ClientRequest::new("ws://example.com:9001/chat?x=1").expect("uri");
    if which >= 2 {
        req = req
            .subprotocol("chat")
            .header("Origin", "http://example.com");
    }
    let mut p = Pair::connecting(&req, config, config, seed, Timestamp::ZERO);
    let request_len = p.client.pending_transmit();
    p.drive();
    let (c, s) = (&mut p.client, &mut p.server);
    match which {
        0 => {
            c.send_text("Hello, server!").unwrap();
            s.send_text("Hello, client!").unwrap();
            c.send_binary(vec![0u8, 1, 2, 3, 255]).unwrap();
            s.send_binary(Bytes::from(vec![7u8; 300])).unwrap();
            c.ping(Bytes::from_static(b"are you there")).unwrap();
            p.drive();
            p.client.close(p.now, CloseCode::NORMAL, "done").unwrap();
        }
        1 => {
            c.send_text("x".repeat(180)).unwrap();
            c.send_fragment(
                MessageKind::Text,
                Bytes::from_static("héllo ".as_bytes()),
                false,
            )
            .unwrap();
            c.send_fragment(
                MessageKind::Text,
                Bytes::from_static("wörld".as_bytes()),
                true,
            )
            .unwrap();
            s.send_fragment(MessageKind::Binary, Bytes::from_static(b"abc"), false)
                .unwrap();
            s.pong(Bytes::from_static(b"unsolicited")).unwrap();
            s.send_fragment(MessageKind::Binary, Bytes::from_static(b"def"), true)
                .unwrap();
            p.drive();
            p.server
                .close(p.now, CloseCode(4000), "server going")
                .unwrap();
        }
        2 => {
            c.send_text("ünïcödé ✓ 日本語 🎉").unwrap();
            s.send_text("").unwrap();
            c.send_binary(Vec::new()).unwrap();
            p.drive();
            // Keepalive: silence, then pings from both timers.
            p.run_for(Duration::from_secs(32));
            p.client.close(p.now, CloseCode::GOING_AWAY, "").unwrap();
        }
        _ => {
            for i in 0..5 {
                c.send_text(format!("message {i}")).unwrap();
                s.send_binary(vec![i as u8; 130 + i]).unwrap();
            }
            c.ping(Bytes::new()).unwrap();
            p.drive();
            p.server.close(p.now, CloseCode::POLICY, "policy").unwrap();
        }
    }
    p.drive();
    Traffic {
        to_server: p.to_server,
        request_len,
        to_client: p.to_client,
        response_len: p.response_len,
    }
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    fs::create_dir_all(&d).expect("mkdir");
    fs::write(d.join(name), bytes).expect("write");
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Deterministic filler for the structured targets' operation bytes.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn main() {
    let dir: PathBuf = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus".into())
        .into();
    for which in 0..4u8 {
        // The handshake targets derive the client's key from their chunk-seed byte.
        let seed_byte = 10 + which;
        let t = scenario(u64::from(seed_byte), which);
        let c2s = &t.to_server[t.request_len..];
        let s2c = &t.to_client[t.response_len..];
        let request = &t.to_server[..t.request_len];
        let response = &t.to_client[..t.response_len];
        let n = format!("real-{which}");

        // frame targets: [flags, chunk seed, bytes]
        write(&dir, "frame_server", &n, &cat(&[&[0, 0], c2s]));
        write(&dir, "frame_client", &n, &cat(&[&[0, 0], s2c]));
        let flags = [0x01u8, 0x42, 0x85, 0x9c][usize::from(which)];
        write(
            &dir,
            "frame_server",
            &format!("{n}-chunked"),
            &cat(&[&[flags, 0x47 + which], c2s]),
        );
        write(
            &dir,
            "frame_client",
            &format!("{n}-chunked"),
            &cat(&[&[flags, 0x83 + which], s2c]),
        );

        // handshake_server: [limits, chunk seed, mode, request + pipelined frames]
        let mode = [0u8, 2, 4, 1][usize::from(which)];
        write(
            &dir,
            "handshake_server",
            &n,
            &cat(&[&[0, 0, mode], request, c2s]),
        );
        write(
            &dir,
            "handshake_server",
            &format!("{n}-chunked"),
            &cat(&[&[0, 0x45, 2], request]),
        );

        // handshake_client: [limits, key/chunk seed, mode, response + frames]; mode bit 0
        // prepends the real accept for this key, so the tail starts after that header line.
        let offer = if which >= 2 { 2 } else { 0 };
        write(
            &dir,
            "handshake_client",
            &n,
            &cat(&[&[0, seed_byte, offer], response, s2c]),
        );
        let rest_headers: Vec<u8> = {
            // The response's header lines other than the three the prefix already has.
            let text = String::from_utf8_lossy(response);
            text.split("\r\n")
                .skip(1)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("Sec-WebSocket-Accept")
                        && !l.starts_with("Upgrade")
                        && !l.starts_with("Connection")
                })
                .flat_map(|l| format!("{l}\r\n").into_bytes())
                .collect()
        };
        write(
            &dir,
            "handshake_client",
            &format!("{n}-accepted"),
            &cat(&[&[0, seed_byte, 1 | offer], &rest_headers, b"\r\n", s2c]),
        );

        // stateful: [pool_len u16 LE][setup + ops][pool]; bit 0 of the first setup byte
        // picks the client role. The pool is fed at the end if no op takes it.
        for (role, pool) in [(0u8, c2s), (1u8, s2c)] {
            let mut ops = noise(
                u64::from(which) * 2 + u64::from(role),
                40 + usize::from(which) * 30,
            );
            ops[0] = role;
            let len = (pool.len() as u16).to_le_bytes();
            let name = format!("{n}-{}", if role == 1 { "client" } else { "server" });
            write(&dir, "stateful", &name, &cat(&[&len, &ops, pool]));
        }
    }
    // pair: operation bytes only (the pair makes its own traffic).
    for i in 0..6u64 {
        write(
            &dir,
            "pair",
            &format!("ops-{i}"),
            &noise(100 + i, 64 + 96 * i as usize),
        );
    }
    println!("corpus written to {}", dir.display());
}
