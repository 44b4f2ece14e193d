//! Load test: a few thousand concurrent clients against a running echo server, for a bounded
//! time. Each well-behaved client sends checksummed text and binary messages of random sizes
//! (and, per client, a random automatic fragment size) with a few in flight, and checks every
//! echo; a share of clients vanish mid-message with a TCP reset. It prints the connections
//! held, messages verified, messages lost (must be 0; exit status 1 otherwise) and the
//! server's peak RSS (from /proc, given `--server-pid`).
//!
//! ```text
//! cargo run --release --example load_test -- --url ws://127.0.0.1:9001/ \
//!     --connections 2000 --seconds 20 --vanish-percent 10 --server-pid PID
//! ```
//! `scripts/load-test.sh` starts the tokio and the mio echo servers and runs this against each.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsmachine::random::SeededRandom;
use wsmachine_tokio::{CloseCode, Message};

#[derive(Default)]
struct Stats {
    connected: AtomicUsize,
    open_now: AtomicUsize,
    peak_open: AtomicUsize,
    verified: AtomicU64,
    lost: AtomicU64,
    corrupted: AtomicU64,
    bytes: AtomicU64,
    vanished: AtomicUsize,
    failed_connects: AtomicUsize,
    errors: AtomicUsize,
}

struct Args {
    url: String,
    connections: usize,
    seconds: u64,
    vanish_percent: u64,
    server_pid: Option<u32>,
    in_flight: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        url: "ws://127.0.0.1:9001/".into(),
        connections: 2000,
        seconds: 20,
        vanish_percent: 10,
        server_pid: None,
        in_flight: 4,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let val = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = val,
            "--connections" => a.connections = val.parse().expect("--connections"),
            "--seconds" => a.seconds = val.parse().expect("--seconds"),
            "--vanish-percent" => a.vanish_percent = val.parse().expect("--vanish-percent"),
            "--server-pid" => a.server_pid = Some(val.parse().expect("--server-pid")),
            "--in-flight" => a.in_flight = val.parse().expect("--in-flight"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// A small deterministic generator per client (xorshift), so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// A message: 8-byte sequence number, 8-byte checksum of the body, then the body. Text
/// messages use hex digits so that they are valid UTF-8.
fn make_message(rng: &mut Rng, seq: u64) -> Message {
    let size = match rng.below(100) {
        0 => 256 * 1024 + rng.below(768 * 1024),
        1..=10 => 4096 + rng.below(60 * 1024),
        _ => rng.below(2048),
    } as usize;
    let text = rng.below(2) == 0;
    let body: Vec<u8> = (0..size)
        .map(|_| {
            let r = rng.next() as u8;
            if text {
                b"0123456789abcdef"[(r & 15) as usize]
            } else {
                r
            }
        })
        .collect();
    let head = format!("{seq:016x}{:016x}", fnv(&body));
    let mut data = head.into_bytes();
    data.extend_from_slice(&body);
    if text {
        Message::text(String::from_utf8(data).expect("hex is UTF-8"))
    } else {
        Message::binary(data)
    }
}

fn check_echo(msg: &Message, seq: u64) -> bool {
    let p = msg.payload();
    if p.len() < 32 {
        return false;
    }
    let (Ok(s), Ok(sum)) = (
        std::str::from_utf8(&p[..16]),
        std::str::from_utf8(&p[16..32]),
    ) else {
        return false;
    };
    u64::from_str_radix(s, 16) == Ok(seq) && u64::from_str_radix(sum, 16) == Ok(fnv(&p[32..]))
}

async fn well_behaved(id: usize, args: Arc<Args>, stats: Arc<Stats>, deadline: Instant) {
    let mut rng = Rng(0x9e3779b97f4a7c15 ^ (id as u64 + 1).wrapping_mul(0x2545f4914f6cdd1d));
    let fragment = match rng.below(3) {
        0 => None,
        1 => Some(512 + rng.below(4096) as usize),
        _ => Some(16 * 1024),
    };
    let config = wsmachine_tokio::Config::new()
        .max_message_size(64 << 20)
        .auto_fragment_size(fragment)
        .ping_interval(None);
    let ws = match wsmachine_tokio::connect_with(&args.url, config).await {
        Ok(ws) => ws,
        Err(_) => {
            stats.failed_connects.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    stats.connected.fetch_add(1, Ordering::Relaxed);
    let open = stats.open_now.fetch_add(1, Ordering::Relaxed) + 1;
    stats.peak_open.fetch_max(open, Ordering::Relaxed);
    let (sender, mut receiver) = ws.split();
    let mut sent = 0u64;
    let mut received = 0u64;
    let mut ok = true;
    while Instant::now() < deadline && ok {
        while sent - received < args.in_flight as u64 {
            let msg = make_message(&mut rng, sent);
            if sender.send(msg).await.is_err() {
                ok = false;
                break;
            }
            sent += 1;
        }
        match tokio::time::timeout(Duration::from_secs(30), receiver.recv()).await {
            Ok(Some(Ok(m))) => {
                if check_echo(&m, received) {
                    stats.verified.fetch_add(1, Ordering::Relaxed);
                    stats
                        .bytes
                        .fetch_add(m.payload().len() as u64, Ordering::Relaxed);
                } else {
                    stats.corrupted.fetch_add(1, Ordering::Relaxed);
                }
                received += 1;
            }
            _ => ok = false,
        }
    }
    // Collect the echoes still in flight, then close.
    while ok && received < sent {
        match tokio::time::timeout(Duration::from_secs(30), receiver.recv()).await {
            Ok(Some(Ok(m))) => {
                if check_echo(&m, received) {
                    stats.verified.fetch_add(1, Ordering::Relaxed);
                } else {
                    stats.corrupted.fetch_add(1, Ordering::Relaxed);
                }
                received += 1;
            }
            _ => ok = false,
        }
    }
    stats.lost.fetch_add(sent - received, Ordering::Relaxed);
    if !ok {
        stats.errors.fetch_add(1, Ordering::Relaxed);
    }
    let _ = sender.close(CloseCode::NORMAL, "done").await;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(10), receiver.recv()).await {}
    stats.open_now.fetch_sub(1, Ordering::Relaxed);
}

/// Opens the connection by hand, sends half of a masked frame, then resets the connection.
async fn vanisher(id: usize, args: Arc<Args>, stats: Arc<Stats>, deadline: Instant) {
    let request = match wsmachine::ClientRequest::new(&args.url) {
        Ok(r) => r,
        Err(_) => return,
    };
    let mut random = SeededRandom::from_u64(id as u64);
    let Ok(hs) =
        wsmachine::handshake::ClientHandshake::new(&request, &mut random, Default::default())
    else {
        return;
    };
    let addr = format!("{}:{}", request.host(), request.port());
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        stats.failed_connects.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let open = stats.open_now.fetch_add(1, Ordering::Relaxed) + 1;
    stats.peak_open.fetch_max(open, Ordering::Relaxed);
    stats.connected.fetch_add(1, Ordering::Relaxed);
    let _ = stream.write_all(hs.request_bytes()).await;
    let mut buf = vec![0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await;
    // Vanish at a random moment before the deadline, in the middle of a 100 KiB message.
    let mut rng = Rng(id as u64 * 7 + 3);
    let left = deadline.saturating_duration_since(Instant::now());
    tokio::time::sleep(Duration::from_millis(
        rng.below(left.as_millis() as u64 + 1),
    ))
    .await;
    let mut frame = vec![0x82, 0xff];
    frame.extend_from_slice(&(100u64 * 1024).to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    frame.extend(std::iter::repeat_n(0u8, 50 * 1024));
    let _ = stream.write_all(&frame).await;
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
    stats.vanished.fetch_add(1, Ordering::Relaxed);
    stats.open_now.fetch_sub(1, Ordering::Relaxed);
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let args = Arc::new(parse_args());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let mut tasks = Vec::with_capacity(args.connections);
        for id in 0..args.connections {
            let (a, s) = (args.clone(), stats.clone());
            let vanish = (id as u64 * 7919) % 100 < args.vanish_percent;
            tasks.push(if vanish {
                tokio::spawn(vanisher(id, a, s, deadline))
            } else {
                tokio::spawn(well_behaved(id, a, s, deadline))
            });
            if id % 100 == 99 {
                // Connect in waves so the listen backlog is not overrun.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    let s = &stats;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "load test against {} for {} s ({:.1} s with setup and drain)",
        args.url, args.seconds, elapsed
    );
    println!(
        "connections held: {} (peak open at once {})",
        s.connected.load(Ordering::Relaxed),
        s.peak_open.load(Ordering::Relaxed)
    );
    println!(
        "clients vanished (reset mid-message): {}",
        s.vanished.load(Ordering::Relaxed)
    );
    println!(
        "messages verified: {} ({:.1} MiB echoed)",
        s.verified.load(Ordering::Relaxed),
        s.bytes.load(Ordering::Relaxed) as f64 / 1048576.0
    );
    println!("messages lost: {}", s.lost.load(Ordering::Relaxed));
    println!(
        "messages corrupted: {}",
        s.corrupted.load(Ordering::Relaxed)
    );
    println!(
        "failed connects: {}, clients that saw an error: {}",
        s.failed_connects.load(Ordering::Relaxed),
        s.errors.load(Ordering::Relaxed)
    );
    match args.server_pid.and_then(peak_rss_kib) {
        Some(kib) => println!("server peak RSS: {:.1} MiB", kib as f64 / 1024.0),
        None => println!("server peak RSS: unknown (pass --server-pid)"),
    }
    let bad = s.lost.load(Ordering::Relaxed)
        + s.corrupted.load(Ordering::Relaxed)
        + s.failed_connects.load(Ordering::Relaxed) as u64
        + s.errors.load(Ordering::Relaxed) as u64;
    if bad > 0 {
        println!("FAIL: messages lost or corrupted, or clients failed");
        std::process::exit(1);
    }
    println!("OK");
}
