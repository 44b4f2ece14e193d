//! A peer that sends 16 MiB messages to the tokio echo server and never reads what comes
//! back cannot grow the server's memory past the per-connection bound the crate documents
//! (input_high_water + max_frame_size + read_size + max_message_size of input,
//! max_send_queue + max_pong_backlog + two control frames of output). The old adapter,
//! with a 64-command channel per connection, grew to 1.86 GiB here.
//!
//! Alone in its test binary, so that the process's peak RSS (VmHWM) is this test's. The run
//! is bounded: it ends when the peer's writes stall (or everything was written, which
//! would fail the test); what is asserted is memory, never time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use wsmachine::{ClientRequest, Connection, Event, Timestamp};
use wsmachine_tokio::{Config, Decision, Sender};

const MIB: usize = 1 << 20;
const MESSAGE: usize = 16 * MIB;
/// 24 messages of 16 MiB: 384 MiB, far beyond the bound and the socket buffers.
const MESSAGES: u64 = 24;

/// `VmRSS` or `VmHWM` of this process, in bytes.
fn proc_status(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

fn server_config() -> Config {
    Config::new()
        .max_message_size(MESSAGE as u64)
        .max_frame_size(MESSAGE as u64)
        .max_send_queue(MESSAGE + MIB)
        .ping_interval(None)
}

/// The bound the crate docs state for one connection, for `config`.
fn documented_bound(config: &Config) -> usize {
    let l = config.core.limits;
    l.input_high_water
        + l.max_frame_size as usize
        + config.read_size
        + l.max_message_size as usize
        + l.max_send_queue
        + l.max_pong_backlog
        + 2 * 125
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_never_reads_cannot_grow_server_memory() {
    let config = server_config();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The server: an echo loop that also lets the test see its connection's queue.
    let server_tx: Arc<Mutex<Option<Sender>>> = Arc::default();
    let received = Arc::new(AtomicU64::new(0));
    {
        let server_tx = server_tx.clone();
        let received = received.clone();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let ws = wsmachine_tokio::accept_with(stream, config, |_| Decision::accept())
                .await
                .unwrap();
            let (tx, mut rx) = ws.split();
            *server_tx.lock().await = Some(tx.clone());
            while let Some(Ok(m)) = rx.recv().await {
                received.fetch_add(1, Ordering::SeqCst);
                if tx.send(m).await.is_err() {
                    break;
                }
            }
        });
    }

    // The peer: a hand-driven client core; one masked 16 MiB frame, written over and over.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    let mut cfg = wsmachine::Config::default();
    cfg.timers.ping_interval = None;
    let mut conn = Connection::client(&req, cfg, Timestamp::ZERO).unwrap();
    while let Some(chunk) = conn.poll_transmit() {
        s.write_all(&chunk).await.unwrap();
    }
    let mut buf = vec![0u8; 4096];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        conn.handle_input(Timestamp::ZERO, &buf[..n]);
        if let Some(Event::Connected(_)) = conn.poll_event() {
            break;
        }
    }
    conn.send_binary(vec![0x42u8; MESSAGE]).unwrap();
    let mut frame = Vec::with_capacity(MESSAGE + 14);
    conn.write_transmit_to(&mut frame, usize::MAX);
    drop(conn);
    let frame = Arc::new(frame);

    let baseline = proc_status("VmRSS:");
    let sent = Arc::new(AtomicU64::new(0));
    let writer = {
        let sent = sent.clone();
        let frame = frame.clone();
        tokio::spawn(async move {
            for _ in 0..MESSAGES {
                for chunk in frame.chunks(256 << 10) {
                    if s.write_all(chunk).await.is_err() {
                        return s;
                    }
                    sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                }
            }
            s
        })
    };
    // Run until the peer's writes stall (nothing more taken for 2 s) or all went through.
    let mut last = 0;
    let mut still = 0;
    while !writer.is_finished() && still < 20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = sent.load(Ordering::SeqCst);
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    let peak = proc_status("VmHWM:");
    let growth = peak.saturating_sub(baseline);
    let bound = documented_bound(&config);
    let queued = match server_tx.lock().await.as_ref() {
        Some(tx) => tx.buffered_amount(),
        None => 0,
    };
    let total = MESSAGES * frame.len() as u64;
    let sent = sent.load(Ordering::SeqCst);
    eprintln!(
        "peer wrote {} MiB of {} MiB; server took {} messages; server queue {} bytes; \
         peak RSS growth {} MiB (documented bound {} MiB)",
        sent >> 20,
        total >> 20,
        received.load(Ordering::SeqCst),
        queued,
        growth >> 20,
        bound >> 20
    );
    assert!(
        sent < total,
        "the server took all {total} bytes from a peer that never reads"
    );
    let limits = config.core.limits;
    assert!(
        queued <= limits.max_send_queue + limits.max_pong_backlog + 2 * 125,
        "server queue {queued} bytes"
    );
    assert!(
        received.load(Ordering::SeqCst) <= 3,
        "the server kept taking messages it cannot send back"
    );
    // Allocator and runtime slack on top of the documented bound.
    assert!(
        growth <= bound + 16 * MIB,
        "peak RSS grew by {growth} bytes, over the documented bound of {bound} bytes"
    );
    writer.abort();
}
