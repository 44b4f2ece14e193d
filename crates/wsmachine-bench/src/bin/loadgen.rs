//! The loopback load generator: one process, a single-threaded tokio runtime (the other
//! core is the server's), N connections to an echo server, each keeping k pre-encoded
//! masked binary frames in flight. Every echoed byte is checked against the expected
//! server frame (or, with `--raw`, against the bytes sent, for a raw TCP echo). Prints
//! the verified messages per second over the measured window (and, given `--server-pid`,
//! the server's CPU time per message, which a machine shared with other work disturbs
//! less; plus the generator's own CPU share, near 1.0 when it is the bottleneck), and
//! appends one JSON line to `--out` if given.
//!
//! ```text
//! loadgen --addr 127.0.0.1:9001 --label tokio --case 100x20B --conns 100 --size 20 \
//!     --in-flight 32 --warmup 1 --seconds 5 [--rate MSGS_PER_S] [--server-pid PID] [--raw] \
//!     [--out results.jsonl]
//! loadgen --addr 127.0.0.1:9001 --label tokio --idle 5000 --server-pid PID [--raw] [--out ..]
//! ```
//! With `--rate`, the load is open-loop: every millisecond each connection may send its
//! share of that many messages per second (still at most k in flight), in one write, so
//! every server sees the same bursts and makes the same reads and writes per message
//! while it keeps up; its CPU time per message then compares the servers' own work. (In
//! the default closed loop, a server that answers sooner gets smaller batches, more system
//! calls per message and so more CPU per message.) The JSON line then has `"rate"`.
//!
//! The idle mode opens N connections (handshake done, nothing sent), waits, and reports the
//! server's resident memory growth per connection (from `/proc/PID/status`). Exits 1 if a
//! byte differs, a connection fails, or nothing was echoed.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;
use wsmachine_bench::{Window, XorShift, client_handshake, encode_frame, rss_kib, run_local};

/// Distinct messages per connection, sent in rotation, so a misplaced echo is caught.
const DISTINCT: usize = 8;

struct Args {
    addr: String,
    label: String,
    case: String,
    conns: usize,
    size: usize,
    in_flight: usize,
    warmup: f64,
    seconds: f64,
    raw: bool,
    idle: Option<usize>,
    /// Open loop: messages per second over all connections.
    rate: Option<f64>,
    server_pid: Option<u32>,
    out: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:9001".into(),
        label: "server".into(),
        case: String::new(),
        conns: 1,
        size: 20,
        in_flight: 1,
        warmup: 1.0,
        seconds: 5.0,
        raw: false,
        idle: None,
        rate: None,
        server_pid: None,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--raw" {
            a.raw = true;
            continue;
        }
        let val = it
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let num = |v: &str| -> usize { v.parse().unwrap_or_else(|_| usage(&flag)) };
        match flag.as_str() {
            "--addr" => a.addr = val,
            "--label" => a.label = val,
            "--case" => a.case = val,
            "--conns" => a.conns = num(&val),
            "--size" => a.size = num(&val),
            "--in-flight" => a.in_flight = num(&val).max(1),
            "--warmup" => a.warmup = val.parse().unwrap_or_else(|_| usage(&flag)),
            "--seconds" => a.seconds = val.parse().unwrap_or_else(|_| usage(&flag)),
            "--idle" => a.idle = Some(num(&val)),
            "--rate" => {
                let r: f64 = val.parse().unwrap_or_else(|_| usage(&flag));
                if r.is_nan() || r <= 0.0 {
                    usage(&flag);
                }
                a.rate = Some(r);
            }
            "--server-pid" => a.server_pid = Some(num(&val) as u32),
            "--out" => a.out = Some(val),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    if a.case.is_empty() {
        a.case = format!("{}x{}Bx{}", a.conns, a.size, a.in_flight);
    }
    a
}

fn usage(msg: &str) -> ! {
    wsmachine_bench::usage("loadgen", msg)
}

fn append_out(path: &Option<String>, line: &str) {
    wsmachine_bench::append_out("loadgen", path, line)
}

/// What one connection sends and expects, in a cycle of [`DISTINCT`] messages: the bytes
/// and, for each, where its frame ends (prefix sums starting at 0).
struct Plan {
    send: Vec<u8>,
    send_ends: Vec<usize>,
    expect: Vec<u8>,
    expect_ends: Vec<usize>,
}

impl Plan {
    fn new(size: usize, raw: bool, seed: u64) -> Plan {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x1000_0000_01B3));
        let mut p = Plan {
            send: Vec::new(),
            send_ends: vec![0],
            expect: Vec::new(),
            expect_ends: vec![0],
        };
        let mut payload = vec![0u8; size];
        for _ in 0..DISTINCT {
            rng.fill(&mut payload);
            let mask = (rng.next_u64() as u32).to_be_bytes();
            encode_frame(&mut p.send, 2, &payload, Some(mask));
            p.send_ends.push(p.send.len());
            if !raw {
                encode_frame(&mut p.expect, 2, &payload, None);
                p.expect_ends.push(p.expect.len());
            }
        }
        if raw {
            p.expect = p.send.clone();
            p.expect_ends = p.send_ends.clone();
        }
        p
    }

    /// Bytes of the first `n` frames of the endless send stream.
    fn send_pos(&self, n: u64) -> u64 {
        let cycles = n / DISTINCT as u64;
        cycles * self.send.len() as u64 + self.send_ends[(n % DISTINCT as u64) as usize] as u64
    }

    /// Whole echoed messages within the first `bytes` of the expected stream.
    fn messages_in(&self, bytes: u64) -> u64 {
        let len = self.expect.len() as u64;
        let rest = (bytes % len) as usize;
        // `expect_ends[0] == 0` always counts, hence the `- 1`.
        (bytes / len) * DISTINCT as u64
            + (self.expect_ends.partition_point(|&e| e <= rest) - 1) as u64
    }
}

/// Shared by every connection task (one thread: `Cell`s).
#[derive(Default)]
struct Shared {
    verified: Cell<u64>,
    failed: Cell<bool>,
    /// Open loop: whole milliseconds since the start, advanced by the ticker, which
    /// notifies every connection waiting for its next quota.
    ticks: Cell<u64>,
    tick: Notify,
}

/// Open loop: how many messages one connection may have sent by `ticks` milliseconds.
#[derive(Clone, Copy)]
struct Pace {
    per_conn_per_s: f64,
}

impl Pace {
    fn allowed(self, ticks: u64) -> u64 {
        (self.per_conn_per_s * ticks as f64 / 1000.0) as u64
    }
}

/// Advances `shared.ticks` every millisecond (from the clock, so a late tick catches up)
/// and wakes the connections.
async fn ticker(shared: Rc<Shared>) {
    let start = Instant::now();
    let mut next = start;
    loop {
        next += Duration::from_millis(1);
        tokio::time::sleep_until(next).await;
        shared.ticks.set(start.elapsed().as_millis() as u64);
        shared.tick.notify_waiters();
    }
}

async fn connect(addr: &str, raw: bool) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    if !raw {
        client_handshake(&mut stream, addr).await?;
    }
    Ok(stream)
}

/// Keeps `k` frames in flight on `stream` and checks the echo, forever (the runtime is
/// dropped at the end of the measurement) or until a failure, which it reports.
async fn drive(
    stream: TcpStream,
    plan: Rc<Plan>,
    k: u64,
    pace: Option<Pace>,
    shared: Rc<Shared>,
    id: usize,
) {
    if let Err(e) = drive_inner(&stream, &plan, k, pace, &shared).await {
        eprintln!("connection {id}: {e}");
        shared.failed.set(true);
    }
}

async fn drive_inner(
    stream: &TcpStream,
    plan: &Plan,
    k: u64,
    pace: Option<Pace>,
    shared: &Shared,
) -> io::Result<()> {
    let send_len = plan.send.len() as u64;
    let expect_len = plan.expect.len();
    let mut written: u64 = 0;
    let mut received: u64 = 0;
    let mut done: u64 = 0;
    let mut buf = vec![0u8; 64 << 10];
    // Open loop: messages sent so far count from the first tick this connection sees.
    let base = pace.map_or(0, |p| p.allowed(shared.ticks.get()));
    let target = |done: u64| match pace {
        Some(p) => (done + k).min(p.allowed(shared.ticks.get()) - base),
        None => done + k,
    };
    loop {
        let mut progress = false;
        let limit = plan.send_pos(target(done));
        if written < limit {
            let off = (written % send_len) as usize;
            let end = (off as u64 + (limit - written)).min(send_len) as usize;
            match stream.try_write(&plan.send[off..end]) {
                Ok(n) => {
                    written += n as u64;
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        match stream.try_read(&mut buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed",
                ));
            }
            Ok(n) => {
                let mut chunk = &buf[..n];
                while !chunk.is_empty() {
                    let off = (received % expect_len as u64) as usize;
                    let take = chunk.len().min(expect_len - off);
                    if chunk[..take] != plan.expect[off..off + take] {
                        let at = chunk[..take]
                            .iter()
                            .zip(&plan.expect[off..])
                            .position(|(a, b)| a != b)
                            .unwrap_or(0);
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("echo differs at stream byte {}", received + at as u64),
                        ));
                    }
                    received += take as u64;
                    chunk = &chunk[take..];
                }
                if received > written {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "echo ahead of sends",
                    ));
                }
                let now_done = plan.messages_in(received);
                shared
                    .verified
                    .set(shared.verified.get() + (now_done - done));
                done = now_done;
                progress = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if !progress {
            let limit = plan.send_pos(target(done));
            let interest = if written < limit {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            // Paced and not yet allowed all `k`: the next tick may allow more.
            let paced = pace.is_some() && limit < plan.send_pos(done + k);
            if paced {
                let tick = shared.tick.notified();
                tokio::select! {
                    r = stream.ready(interest) => { r?; }
                    () = tick => {}
                }
            } else {
                stream.ready(interest).await?;
            }
        }
    }
}

async fn throughput(a: &Args) -> bool {
    let shared = Rc::new(Shared::default());
    let mut streams = Vec::with_capacity(a.conns);
    for _ in 0..a.conns {
        match connect(&a.addr, a.raw).await {
            Ok(s) => streams.push(s),
            Err(e) => {
                eprintln!("connect to {} failed: {e}", a.addr);
                return false;
            }
        }
    }
    let pace = a.rate.map(|r| Pace {
        per_conn_per_s: r / a.conns as f64,
    });
    if pace.is_some() {
        tokio::task::spawn_local(ticker(shared.clone()));
    }
    for (id, stream) in streams.into_iter().enumerate() {
        let plan = Rc::new(Plan::new(a.size, a.raw, id as u64));
        let k = a.in_flight as u64;
        tokio::task::spawn_local(drive(stream, plan, k, pace, shared.clone(), id));
    }
    tokio::time::sleep(Duration::from_secs_f64(a.warmup)).await;
    let window = Window::start(a.server_pid);
    let before = shared.verified.get();
    tokio::time::sleep(Duration::from_secs_f64(a.seconds)).await;
    let count = shared.verified.get() - before;
    let m = window.finish();
    let secs = m.secs;
    let server_cpu_us = m.server_cpu_us_per_msg(count, 3);
    let loadgen_busy = m.loadgen_cpu_share();
    let rate = count as f64 / secs;
    let mib_s = rate * a.size as f64 / (1 << 20) as f64;
    append_out(
        &a.out,
        &format!(
            "{{\"kind\":\"echo\",\"server\":\"{}\",\"case\":\"{}\",\"conns\":{},\"size\":{},\
             \"in_flight\":{},\"seconds\":{secs:.3},\"messages\":{count},\"msgs_per_s\":{rate:.0},\
             \"payload_mib_per_s\":{mib_s:.1},\"server_cpu_us_per_msg\":{server_cpu_us},\
             \"loadgen_cpu_share\":{loadgen_busy}{paced}}}",
            a.label,
            a.case,
            a.conns,
            a.size,
            a.in_flight,
            paced = a
                .rate
                .map_or(String::new(), |r| format!(",\"rate\":{r:.0}")),
        ),
    );
    if shared.failed.get() {
        eprintln!("{} {}: a connection failed (see above)", a.label, a.case);
        return false;
    }
    if count == 0 {
        eprintln!("{} {}: no message echoed", a.label, a.case);
        return false;
    }
    true
}

async fn idle(a: &Args, n: usize) -> bool {
    let Some(pid) = a.server_pid else {
        usage("--idle needs --server-pid");
    };
    let Some(before) = rss_kib(pid) else {
        eprintln!("cannot read /proc/{pid}/status");
        return false;
    };
    let mut held = Vec::with_capacity(n);
    // Connect in batches so the listen backlog is not overrun.
    let mut pending = tokio::task::JoinSet::new();
    let mut next = 0;
    while held.len() < n {
        while next < n && pending.len() < 64 {
            let addr = a.addr.clone();
            let raw = a.raw;
            pending.spawn_local(async move { connect(&addr, raw).await });
            next += 1;
        }
        match pending.join_next().await {
            Some(Ok(Ok(s))) => held.push(s),
            Some(Ok(Err(e))) => {
                eprintln!("{}: connection {} failed: {e}", a.label, held.len());
                return false;
            }
            Some(Err(e)) => {
                eprintln!("{}: connect task failed: {e}", a.label);
                return false;
            }
            None => break,
        }
    }
    // Let the server finish whatever it does after a handshake.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let Some(after) = rss_kib(pid) else {
        eprintln!("cannot read /proc/{pid}/status");
        return false;
    };
    let per_conn = (after.saturating_sub(before)) as f64 * 1024.0 / n as f64;
    append_out(
        &a.out,
        &format!(
            "{{\"kind\":\"idle\",\"server\":\"{}\",\"connections\":{n},\"rss_before_kib\":{before},\
             \"rss_after_kib\":{after},\"bytes_per_connection\":{per_conn:.0}}}",
            a.label
        ),
    );
    drop(held);
    true
}

fn main() {
    let a = parse_args();
    run_local(async {
        match a.idle {
            Some(n) => idle(&a, n).await,
            None => throughput(&a).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_allows_its_share_per_millisecond() {
        let p = Pace {
            per_conn_per_s: 3000.0,
        };
        assert_eq!(p.allowed(0), 0);
        assert_eq!(p.allowed(1), 3);
        assert_eq!(p.allowed(1000), 3000);
        let slow = Pace {
            per_conn_per_s: 500.0,
        };
        assert_eq!(
            (slow.allowed(1), slow.allowed(2), slow.allowed(3)),
            (0, 1, 1)
        );
    }

    #[test]
    fn plan_positions_count_frames() {
        let p = Plan::new(20, false, 0);
        // 20-byte masked frames are 26 bytes, echoes 22.
        assert_eq!(p.send_pos(0), 0);
        assert_eq!(p.send_pos(1), 26);
        assert_eq!(p.send_pos(DISTINCT as u64 + 1), 26 * (DISTINCT as u64 + 1));
        assert_eq!(p.messages_in(21), 0);
        assert_eq!(p.messages_in(22), 1);
        assert_eq!(p.messages_in(22 * DISTINCT as u64 + 21), DISTINCT as u64);
        assert_eq!(
            p.messages_in(22 * DISTINCT as u64 + 22),
            DISTINCT as u64 + 1
        );
    }

    #[test]
    fn raw_plan_expects_what_it_sends() {
        let p = Plan::new(100, true, 3);
        assert_eq!(p.send, p.expect);
        assert_eq!(p.messages_in(p.send_pos(5)), 5);
    }
}
