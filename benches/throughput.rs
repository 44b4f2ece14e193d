//! Throughput of the frame layer, side by side with tungstenite and fastwebsockets on the same
//! inputs in the same run (compare the ratios, not the absolute numbers: machines are noisy).
//!
//! - `receive/*`: a server parses, unmasks and validates a recorded client stream of masked
//!   frames (64-byte binary, 64-byte text, 1 MiB binary) into whole messages.
//! - `send/*`: a client masks and frames 64-byte and 1 MiB binary messages into bytes.
//!
//! Run: `cargo bench --bench throughput`.

use std::io::{Cursor, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsmachine::random::SeededRandom;
use wsmachine::{Config, Connection, Event, Limits, Role, Timestamp};

struct Case {
    name: &'static str,
    count: usize,
    size: usize,
    text: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "64B-binary",
        count: 10_000,
        size: 64,
        text: false,
    },
    Case {
        name: "64B-text",
        count: 10_000,
        size: 64,
        text: true,
    },
    Case {
        name: "1MiB-binary",
        count: 16,
        size: 1 << 20,
        text: false,
    },
];

fn config() -> Config {
    Config {
        limits: Limits {
            max_send_queue: 1 << 30,
            ..Limits::default()
        },
        ..Config::default()
    }
}

fn client() -> Connection {
    Connection::open_with_random(
        Role::Client,
        config(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(1)),
    )
}

/// The bytes a client sends for `case`.
fn record(case: &Case) -> Vec<u8> {
    let mut c = client();
    let payload = vec![b'a'; case.size];
    for _ in 0..case.count {
        if case.text {
            c.send_text(String::from_utf8(payload.clone()).unwrap())
                .unwrap();
        } else {
            c.send_binary(payload.clone()).unwrap();
        }
    }
    let mut out = Vec::new();
    c.write_transmit_to(&mut out, usize::MAX);
    out
}

fn wsmachine_receive(bytes: &[u8]) -> usize {
    let mut s = Connection::open_with_random(
        Role::Server,
        config(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(2)),
    );
    let mut n = 0;
    for chunk in bytes.chunks(64 << 10) {
        s.handle_input(Timestamp::ZERO, chunk);
        while let Some(e) = s.poll_event() {
            if let Event::Message(m) = e {
                n += m.payload().len();
            }
        }
    }
    n
}

/// An in-memory stream: reads from the recorded bytes, discards writes.
struct Mem(Cursor<Vec<u8>>);

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Mem {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.0.read(buf.initialize_unfilled())?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Mem {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn tungstenite_receive(bytes: &[u8], count: usize) -> usize {
    let cfg = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(16 << 20));
    let mut ws = tungstenite::WebSocket::from_raw_socket(
        Mem(Cursor::new(bytes.to_vec())),
        tungstenite::protocol::Role::Server,
        Some(cfg),
    );
    let mut n = 0;
    for _ in 0..count {
        n += ws.read().unwrap().len();
    }
    n
}

fn fastwebsockets_receive(rt: &tokio::runtime::Runtime, bytes: &[u8], count: usize) -> usize {
    rt.block_on(async {
        let mut ws = fastwebsockets::WebSocket::after_handshake(
            Mem(Cursor::new(bytes.to_vec())),
            fastwebsockets::Role::Server,
        );
        ws.set_max_message_size(64 << 20);
        ws.set_auto_close(false);
        ws.set_auto_pong(false);
        let mut ws = fastwebsockets::FragmentCollector::new(ws);
        let mut n = 0;
        for _ in 0..count {
            n += ws.read_frame().await.unwrap().payload.len();
        }
        n
    })
}

fn receive(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("receive");
    for case in CASES {
        let bytes = record(case);
        let total = case.count * case.size;
        assert_eq!(wsmachine_receive(&bytes), total);
        assert_eq!(tungstenite_receive(&bytes, case.count), total);
        assert_eq!(fastwebsockets_receive(&rt, &bytes, case.count), total);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("wsmachine", case.name),
            &bytes,
            |b, bytes| b.iter(|| wsmachine_receive(bytes)),
        );
        group.bench_with_input(
            BenchmarkId::new("tungstenite", case.name),
            &bytes,
            |b, bytes| b.iter(|| tungstenite_receive(bytes, case.count)),
        );
        group.bench_with_input(
            BenchmarkId::new("fastwebsockets", case.name),
            &bytes,
            |b, bytes| b.iter(|| fastwebsockets_receive(&rt, bytes, case.count)),
        );
    }
    group.finish();
}

fn send(c: &mut Criterion) {
    let mut group = c.benchmark_group("send");
    for case in CASES.iter().filter(|c| !c.text) {
        let payload = bytes::Bytes::from(vec![b'a'; case.size]);
        group.throughput(Throughput::Bytes((case.count * case.size) as u64));
        // Each side sends every message through its connection API and writes it out at once
        // (`send` = write + flush for tungstenite) to a counting sink.
        group.bench_function(BenchmarkId::new("wsmachine", case.name), |b| {
            b.iter(|| {
                let mut c = client();
                let mut written = 0;
                for _ in 0..case.count {
                    c.send_binary(payload.clone()).unwrap();
                    let n: usize = c
                        .transmit_slices()
                        .map(|s| std::hint::black_box(s).len())
                        .sum();
                    c.advance_transmit(n);
                    written += n;
                }
                written
            })
        });
        group.bench_function(BenchmarkId::new("tungstenite", case.name), |b| {
            b.iter(|| {
                let cfg = tungstenite::protocol::WebSocketConfig::default()
                    .max_write_buffer_size(1 << 30);
                let mut ws = tungstenite::WebSocket::from_raw_socket(
                    Counting(0),
                    tungstenite::protocol::Role::Client,
                    Some(cfg),
                );
                for _ in 0..case.count {
                    ws.send(tungstenite::Message::Binary(payload.clone()))
                        .unwrap();
                }
                ws.get_ref().0
            })
        });
    }
    group.finish();
}

/// A sink that counts what is written to it (the kernel copy, the same for both, left out).
struct Counting(usize);

impl Read for Counting {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Ok(0)
    }
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += std::hint::black_box(buf).len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

criterion_group!(benches, receive, send);
criterion_main!(benches);
