//! The permessage-deflate load generator: one process, a single-threaded tokio runtime, N
//! connections to an echo server, each keeping k text messages in flight. The messages are
//! JSON documents of 1,024 to 1,151 bytes with varied, seeded content (ids, names, e-mail
//! addresses, tags, numbers, timestamps and a sentence of words), 64 distinct ones per
//! connection sent in rotation; every echo is checked against the message it answers.
//!
//! The client side is the wsmachine core (`Connection`, driven here over a tokio
//! `TcpStream`), the same for every server measured, so that the servers are compared and
//! not the clients. With `--deflate` it offers permessage-deflate with the default
//! `DeflateConfig` (`permessage-deflate; client_max_window_bits`: level 6, 32 KiB window,
//! context takeover both ways, the settings zlib-based servers default to) and fails
//! unless the server accepts it; without, it offers nothing and every frame goes plain.
//!
//! Prints (and appends to `--out`) one JSON line: verified messages per second over the
//! measured window, the bytes on the wire per message each way (counted at the socket:
//! frame headers, masks and compressed payloads; the handshake is outside the window), the
//! server's CPU time per message (given `--server-pid`) and the generator's own CPU share
//! (near 1.0 when it is the bottleneck).
//!
//! ```text
//! deflate_loadgen --addr 127.0.0.1:9001 --label wsmachine [--deflate] --conns 10 \
//!     --in-flight 16 --warmup 1 --seconds 5 [--server-pid PID] [--out results.jsonl]
//! ```
//! Exits 1 if an echo differs, a connection fails, compression was asked for and not
//! agreed, or nothing was echoed.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::net::TcpStream;
use wsmachine::{
    ClientRequest, Config, Connection, DeflateConfig, Event, Limits, Message, Timestamp, Utf8Bytes,
};
use wsmachine_bench::{Window, XorShift, run_local};

/// Distinct messages per connection, sent in rotation.
const DISTINCT: usize = 64;

struct Args {
    addr: String,
    label: String,
    deflate: bool,
    conns: usize,
    in_flight: usize,
    warmup: f64,
    seconds: f64,
    server_pid: Option<u32>,
    out: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:9001".into(),
        label: "server".into(),
        deflate: false,
        conns: 10,
        in_flight: 16,
        warmup: 1.0,
        seconds: 5.0,
        server_pid: None,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--deflate" {
            a.deflate = true;
            continue;
        }
        let val = it
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let num = |v: &str| -> usize { v.parse().unwrap_or_else(|_| usage(&flag)) };
        match flag.as_str() {
            "--addr" => a.addr = val,
            "--label" => a.label = val,
            "--conns" => a.conns = num(&val).max(1),
            "--in-flight" => a.in_flight = num(&val).max(1),
            "--warmup" => a.warmup = val.parse().unwrap_or_else(|_| usage(&flag)),
            "--seconds" => a.seconds = val.parse().unwrap_or_else(|_| usage(&flag)),
            "--server-pid" => a.server_pid = Some(num(&val) as u32),
            "--out" => a.out = Some(val),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    a
}

fn usage(msg: &str) -> ! {
    wsmachine_bench::usage("deflate_loadgen", msg)
}

fn append_out(path: &Option<String>, line: &str) {
    wsmachine_bench::append_out("deflate_loadgen", path, line)
}

const WORDS: &[&str] = &[
    "order",
    "shipped",
    "payment",
    "pending",
    "customer",
    "account",
    "invoice",
    "delivery",
    "warehouse",
    "refund",
    "update",
    "status",
    "priority",
    "express",
    "standard",
    "review",
    "approved",
    "rejected",
    "item",
    "quantity",
    "discount",
    "coupon",
    "address",
    "city",
    "north",
    "south",
    "green",
    "blue",
    "small",
    "large",
    "fast",
    "slow",
    "new",
    "returned",
];
const NAMES: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
];

fn pick<'a>(rng: &mut XorShift, from: &[&'a str]) -> &'a str {
    from[(rng.next_u64() % from.len() as u64) as usize]
}

/// One JSON document of 1,024 to 1,151 bytes, its content drawn from `rng`: an event
/// with a user, items with prices, tags, a timestamp and a free-text note (words drawn at
/// random), the note made as long as the target length needs.
fn json_message(rng: &mut XorShift) -> String {
    let target = 1024 + (rng.next_u64() % 128) as usize;
    let name = pick(rng, NAMES);
    let mut s = format!(
        "{{\"id\":{},\"type\":\"{}\",\"ts\":\"2026-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\
         \"user\":{{\"id\":{},\"name\":\"{name}\",\"email\":\"{name}.{}@example.com\",\
         \"verified\":{}}},\"items\":[",
        rng.next_u64() % 1_000_000_000,
        pick(rng, WORDS),
        1 + rng.next_u64() % 12,
        1 + rng.next_u64() % 28,
        rng.next_u64() % 24,
        rng.next_u64() % 60,
        rng.next_u64() % 60,
        rng.next_u64() % 1000,
        rng.next_u64() % 100_000,
        rng.next_u64() % 1000,
        rng.next_u64() & 1 == 0,
    );
    let items = 2 + rng.next_u64() % 4;
    for i in 0..items {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "{{\"sku\":\"{}-{:05}\",\"qty\":{},\"price\":{}.{:02},\"label\":\"{} {}\"}}",
            pick(rng, WORDS).to_ascii_uppercase(),
            rng.next_u64() % 100_000,
            1 + rng.next_u64() % 9,
            rng.next_u64() % 500,
            rng.next_u64() % 100,
            pick(rng, WORDS),
            pick(rng, WORDS),
        ));
    }
    s.push_str("],\"tags\":[");
    for i in 0..3 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("\"{}\"", pick(rng, WORDS)));
    }
    s.push_str("],\"note\":\"");
    let tail = "\"}";
    while s.len() + tail.len() < target {
        s.push_str(pick(rng, WORDS));
        s.push(' ');
    }
    s.truncate(target - tail.len());
    s.push_str(tail);
    s
}

/// The messages one connection sends, in rotation.
fn plan(seed: u64) -> Vec<Utf8Bytes> {
    let mut rng = XorShift((0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x1000_0000_01B3)) | 1);
    (0..DISTINCT)
        .map(|_| Utf8Bytes::from(json_message(&mut rng)))
        .collect()
}

/// Shared by every connection task (one thread: `Cell`s).
#[derive(Default)]
struct Shared {
    verified: Cell<u64>,
    wire_out: Cell<u64>,
    wire_in: Cell<u64>,
    payload: Cell<u64>,
    agreed: Cell<Option<bool>>,
    failed: Cell<bool>,
}

fn add(c: &Cell<u64>, n: u64) {
    c.set(c.get() + n);
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Connects and keeps `k` messages in flight, checking every echo, until the runtime is
/// dropped at the end of the measurement or a failure, which it reports.
async fn drive(a: Rc<Args>, plan: Vec<Utf8Bytes>, shared: Rc<Shared>, id: usize) {
    if let Err(e) = drive_inner(&a, &plan, &shared).await {
        eprintln!("connection {id}: {e}");
        shared.failed.set(true);
    }
}

async fn drive_inner(a: &Args, plan: &[Utf8Bytes], shared: &Shared) -> io::Result<()> {
    let stream = TcpStream::connect(&a.addr).await?;
    stream.set_nodelay(true)?;
    let origin = Instant::now();
    let now = || Timestamp::from_duration(origin.elapsed());
    let config = Config {
        limits: Limits {
            max_send_queue: 4 << 20,
            ..Limits::default()
        },
        deflate: a.deflate.then(DeflateConfig::default),
        ..Config::default()
    };
    let request = ClientRequest::new(&format!("ws://{}/", a.addr))
        .map_err(|e| invalid(format!("request: {e}")))?;
    let mut conn = Connection::client(&request, config, now())
        .map_err(|e| invalid(format!("handshake: {e}")))?;
    let k = a.in_flight as u64;
    let (mut open, mut sent, mut done) = (false, 0u64, 0u64);
    let mut out = Vec::with_capacity(64 << 10);
    let mut out_pos = 0;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let mut progress = false;
        while let Some(ev) = conn.poll_event() {
            progress = true;
            match ev {
                Event::Connected(_) => {
                    let agreed = conn.deflate_params().is_some();
                    if agreed != a.deflate {
                        return Err(invalid(format!(
                            "permessage-deflate asked for: {}, agreed: {agreed}",
                            a.deflate
                        )));
                    }
                    shared.agreed.set(Some(agreed));
                    open = true;
                }
                Event::Message(Message::Text(t)) => {
                    let want = &plan[(done % DISTINCT as u64) as usize];
                    if t.as_str() != want.as_str() {
                        return Err(invalid(format!(
                            "echo {done} differs ({} bytes, {} expected)",
                            t.len(),
                            want.len()
                        )));
                    }
                    done += 1;
                    add(&shared.verified, 1);
                    add(&shared.payload, want.len() as u64);
                }
                Event::Message(Message::Binary(_)) => {
                    return Err(invalid("a binary echo of a text message".into()));
                }
                Event::Error(e) => return Err(invalid(format!("connection error: {e}"))),
                Event::Closed(r) => return Err(invalid(format!("closed: {r:?}"))),
                _ => {}
            }
        }
        while open && sent < done + k {
            conn.send_text(plan[(sent % DISTINCT as u64) as usize].clone())
                .map_err(|e| invalid(format!("send: {e:?}")))?;
            sent += 1;
            progress = true;
        }
        if out_pos == out.len() {
            out.clear();
            out_pos = 0;
            conn.write_transmit_to(&mut out, 256 << 10);
        }
        if out_pos < out.len() {
            match stream.try_write(&out[out_pos..]) {
                Ok(n) => {
                    out_pos += n;
                    add(&shared.wire_out, n as u64);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if conn.wants_input() {
            match stream.try_read(&mut buf) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                Ok(n) => {
                    add(&shared.wire_in, n as u64);
                    conn.handle_input(now(), &buf[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if !progress {
            let interest = if out_pos < out.len() {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            stream.ready(interest).await?;
        }
    }
}

async fn run(a: Rc<Args>) -> bool {
    let shared = Rc::new(Shared::default());
    for id in 0..a.conns {
        tokio::task::spawn_local(drive(a.clone(), plan(id as u64), shared.clone(), id));
    }
    tokio::time::sleep(Duration::from_secs_f64(a.warmup)).await;
    let snap = |s: &Shared| {
        (
            s.verified.get(),
            s.wire_out.get(),
            s.wire_in.get(),
            s.payload.get(),
        )
    };
    let window = Window::start(a.server_pid);
    let before = snap(&shared);
    tokio::time::sleep(Duration::from_secs_f64(a.seconds)).await;
    let after = snap(&shared);
    let m = window.finish();
    let secs = m.secs;
    let count = after.0 - before.0;
    let per_msg = |b: u64, e: u64| {
        if count == 0 {
            "null".to_string()
        } else {
            format!("{:.1}", (e - b) as f64 / count as f64)
        }
    };
    let server_cpu_us = m.server_cpu_us_per_msg(count, 2);
    let loadgen_busy = m.loadgen_cpu_share();
    let rate = count as f64 / secs;
    append_out(
        &a.out,
        &format!(
            "{{\"kind\":\"deflate-echo\",\"server\":\"{}\",\"deflate\":{},\"conns\":{},\
             \"in_flight\":{},\"seconds\":{secs:.3},\"messages\":{count},\
             \"msgs_per_s\":{rate:.0},\"payload_bytes_per_msg\":{},\
             \"wire_out_per_msg\":{},\"wire_in_per_msg\":{},\
             \"server_cpu_us_per_msg\":{server_cpu_us},\"loadgen_cpu_share\":{loadgen_busy}}}",
            a.label,
            a.deflate,
            a.conns,
            a.in_flight,
            per_msg(before.3, after.3),
            per_msg(before.1, after.1),
            per_msg(before.2, after.2),
        ),
    );
    if shared.failed.get() {
        eprintln!("{}: a connection failed (see above)", a.label);
        return false;
    }
    if count == 0 || shared.agreed.get().is_none() {
        eprintln!("{}: no message echoed", a.label);
        return false;
    }
    true
}

fn main() {
    run_local(run(Rc::new(parse_args())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_varied_json_of_about_a_kibibyte() {
        let p = plan(3);
        assert_eq!(p.len(), DISTINCT);
        for m in &p {
            let s = m.as_str();
            assert!((1024..1152).contains(&s.len()), "{}", s.len());
            assert!(s.starts_with("{\"id\":") && s.ends_with("\"}"), "{s}");
            // Balanced braces and brackets, and an even number of quotes: JSON-shaped.
            let count = |c| s.chars().filter(|&x| x == c).count();
            assert_eq!(count('{'), count('}'));
            assert_eq!(count('['), count(']'));
            assert_eq!(count('"') % 2, 0);
        }
        let distinct: std::collections::HashSet<_> = p.iter().map(|m| m.as_str()).collect();
        assert_eq!(distinct.len(), DISTINCT);
        assert_eq!(plan(3)[0].as_str(), p[0].as_str(), "seeded");
        assert_ne!(plan(4)[0].as_str(), p[0].as_str());
    }
}
