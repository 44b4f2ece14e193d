//! Frame-layer throughput of wsmachine side by side with tungstenite, fastwebsockets and
//! tokio-websockets (latest releases, their fast paths on) and a memcpy baseline, on
//! identical inputs in the same run. Compare the ratios, not the absolute numbers: this is
//! a shared machine. `scripts/bench.sh` runs this with short measurement times and
//! `scripts/bench-report.py` prints the ratios.
//!
//! - `receive/LIB/CASE`: a server reads a recorded client stream of masked frames (binary
//!   16 B, 64 B, 16 KiB, 64 KiB, 1 MiB; mixed-script UTF-8 text 1 KiB and 64 KiB) from
//!   memory into whole messages: it unmasks, validates text and hands each message out.
//!   Every library reads the same bytes through an in-memory stream that copies into the
//!   library's own buffer as a socket read would (one copy on read, no zeroing); `memcpy`
//!   is that one copy alone, through a reused buffer as large as a read or a frame.
//!   wsmachine is handed each read's bytes with `handle_input` (its fastest path for bytes
//!   already in memory: it makes the one copy, unmasking as it copies; reads sized by
//!   `read_limit` as its adapters size them); fastwebsockets through its raw
//!   `read_frame` (every frame here is final, so that is a whole message), tungstenite
//!   through `read`, tokio-websockets through its `Stream`.
//! - `receive-socket/LIB/CASE`: the binary cases of `receive` (16 B, 16 KiB, 64 KiB, 1 MiB)
//!   read from a TCP loopback socket that another thread writes the stream into, with
//!   blocking reads, timed as the reading thread's CPU time: each read then costs what it
//!   costs a server (a system call and the kernel's copy), which the in-memory stream does
//!   not charge. `read` is the reads alone into a reused buffer.
//! - `send-server/LIB/SIZE`, `send-client/LIB/SIZE`: a connection sends binary messages of
//!   16 B, 128 B and 1 KiB (a client masks them) and writes each one out at once to a sink
//!   that only counts the bytes: a vectored write for wsmachine, `send` = write + flush for
//!   the sinks, `write_frame` for fastwebsockets. wsmachine borrows the payload
//!   (`send_binary_slice`), as fastwebsockets does (`Payload::Borrowed`); `wsmachine-bytes`
//!   sends a `Bytes` clone, as tungstenite and tokio-websockets take theirs.
//!
//! Run: `cargo bench --bench throughput` (or a filter: `-- receive/wsmachine`).

use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::{FutureExt, SinkExt, StreamExt};
use wsmachine::random::SeededRandom;
use wsmachine::{Config, Connection, Event, Limits, Role, Timestamp};

/// Bytes a library asks the in-memory stream for at least per read (wsmachine's
/// `min_spare`); the others use their own buffer sizes.
const READ_SIZE: usize = 64 << 10;

struct Case {
    name: &'static str,
    count: usize,
    size: usize,
    text: bool,
}

const RECEIVE: &[Case] = &[
    Case {
        name: "binary-16B",
        count: 16_384,
        size: 16,
        text: false,
    },
    Case {
        name: "binary-64B",
        count: 16_384,
        size: 64,
        text: false,
    },
    Case {
        name: "binary-16KiB",
        count: 64,
        size: 16 << 10,
        text: false,
    },
    Case {
        name: "binary-64KiB",
        count: 16,
        size: 64 << 10,
        text: false,
    },
    Case {
        name: "binary-1MiB",
        count: 4,
        size: 1 << 20,
        text: false,
    },
    Case {
        name: "text-utf8-1KiB",
        count: 1024,
        size: 1 << 10,
        text: true,
    },
    Case {
        name: "text-utf8-64KiB",
        count: 16,
        size: 64 << 10,
        text: true,
    },
];

/// Messages per send iteration, and the sizes sent.
const SEND_COUNT: usize = 4096;
const SEND_SIZES: &[(&str, usize)] = &[("16B", 16), ("128B", 128), ("1KiB", 1024)];

/// Room for the largest case in every library.
const MAX_MESSAGE: usize = 64 << 20;

/// A deterministic xorshift64 generator: the same stream every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Words of several scripts and UTF-8 widths (1 to 4 bytes per character): Latin with
/// accents, Greek, Cyrillic, Hebrew, Devanagari, CJK, emoji, and plain ASCII.
const WORDS: &[&str] = &[
    "the",
    "quick",
    "brown",
    "fox",
    "déjà",
    "über",
    "straße",
    "façade",
    "λόγος",
    "καλημέρα",
    "привет",
    "мир",
    "שלום",
    "नमस्ते",
    "日本語",
    "文字列",
    "한국어",
    "🦀",
    "🚀✨",
    "data",
    "42",
    "ÆØÅ",
    "ŝŭ",
    "ǅ",
    "ﬁ",
];

/// `size` bytes of valid mixed-script UTF-8: words and spaces, padded with ASCII.
fn mixed_text(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    loop {
        let w = WORDS[(rng.next() % WORDS.len() as u64) as usize].as_bytes();
        if out.len() + w.len() + 1 > size {
            break;
        }
        out.extend_from_slice(w);
        out.push(b' ');
    }
    out.resize(size, b'.');
    assert!(std::str::from_utf8(&out).is_ok());
    out
}

/// The masked client stream for `case`: every frame final, masks random.
fn record(case: &Case) -> Vec<u8> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = Vec::with_capacity(case.count * (case.size + 14));
    for _ in 0..case.count {
        let payload = if case.text {
            mixed_text(&mut rng, case.size)
        } else {
            let mut p = vec![0u8; case.size];
            p.iter_mut().for_each(|b| *b = rng.next() as u8);
            p
        };
        let mask = (rng.next() as u32).to_be_bytes();
        out.push(if case.text { 0x81 } else { 0x82 });
        let len = payload.len();
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len <= 0xffff {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
    }
    out
}

fn config() -> Config {
    Config {
        limits: Limits {
            max_frame_size: MAX_MESSAGE as u64,
            max_message_size: MAX_MESSAGE as u64,
            max_send_queue: 1 << 30,
            ..Limits::default()
        },
        ..Config::default()
    }
}

// ----- receive -----

/// The one copy alone: the stream copied through a reused buffer as large as a read or a
/// whole frame (as a library's receive buffer is), never zeroed.
fn memcpy_receive(bytes: &[u8], frame: usize) -> usize {
    let cap = READ_SIZE.max(frame);
    let mut buf = Vec::with_capacity(cap);
    let mut n = 0;
    for chunk in bytes.chunks(cap) {
        buf.clear();
        buf.extend_from_slice(chunk);
        n += std::hint::black_box(&buf).len();
    }
    n
}

/// wsmachine's receive loop as its adapters read: `read` feeds the connection at most
/// `want` bytes: `READ_SIZE`, or while a large frame arrives the rest of it and the next
/// header (`read_limit`; its room is reserved) in pieces of at most 256 KiB. Runs until
/// `total` payload bytes were handed out.
fn wsmachine_receive(total: usize, mut read: impl FnMut(&mut Connection, usize)) -> usize {
    let mut s = Connection::open_with_random(
        Role::Server,
        config(),
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(2)),
    );
    let mut n = 0;
    while n < total {
        let want = s
            .read_limit()
            .map_or(READ_SIZE, |cap| cap.min(4 * READ_SIZE));
        read(&mut s, want);
        while let Some(e) = s.poll_event() {
            match e {
                Event::Message(m) => n += std::hint::black_box(m).payload().len(),
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
    n
}

/// Reads for [`wsmachine_receive`] from memory: each hands the core the next `want` bytes
/// with `handle_input`, which copies them into its receive buffer (unmasking payload as it
/// copies), as bytes a runtime already holds are fed.
fn from_memory(mut rest: &[u8]) -> impl FnMut(&mut Connection, usize) + '_ {
    move |conn, want| {
        assert!(!rest.is_empty(), "the stream ended before the last message");
        let take = want.min(rest.len());
        READS.fetch_add(1, Relaxed);
        conn.handle_input(Timestamp::ZERO, &rest[..take]);
        rest = &rest[take..];
    }
}

/// Reads made from the in-memory stream (and by wsmachine's loop), counted once per case
/// before timing: on a socket each is a system call, which this bench does not charge.
static READS: AtomicUsize = AtomicUsize::new(0);

/// An in-memory stream over the recorded bytes: a read copies as much as the reader's
/// buffer takes (without initialising the rest, as a socket read), writes are counted and
/// dropped.
struct Mem<'a> {
    data: &'a [u8],
    written: usize,
}

impl<'a> Mem<'a> {
    fn new(data: &'a [u8]) -> Self {
        Mem { data, written: 0 }
    }
}

impl Read for Mem<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        READS.fetch_add(1, Relaxed);
        let n = buf.len().min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl Write for Mem<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written += std::hint::black_box(buf).len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Mem<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        READS.fetch_add(1, Relaxed);
        let n = buf.remaining().min(self.data.len());
        buf.put_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Mem<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.written += std::hint::black_box(buf).len();
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let n: usize = bufs.iter().map(|b| std::hint::black_box(b).len()).sum();
        self.written += n;
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a future over [`Mem`], which never waits: it completes in its first poll.
fn now<F: std::future::Future>(f: F) -> F::Output {
    f.now_or_never().expect("an in-memory stream never waits")
}

fn tungstenite_config() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
        .max_write_buffer_size(1 << 30)
}

/// `count` messages read by tungstenite from `stream` (in memory or a socket).
fn tungstenite_receive<S: Read + Write>(stream: S, count: usize) -> usize {
    let mut ws = tungstenite::WebSocket::from_raw_socket(
        stream,
        tungstenite::protocol::Role::Server,
        Some(tungstenite_config()),
    );
    let mut n = 0;
    for _ in 0..count {
        n += std::hint::black_box(ws.read().unwrap()).len();
    }
    n
}

/// `count` messages read by fastwebsockets from `stream`, which never waits.
fn fastwebsockets_receive<S>(stream: S, count: usize) -> usize
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    now(async {
        let mut ws =
            fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Server);
        ws.set_max_message_size(MAX_MESSAGE);
        let mut n = 0;
        for _ in 0..count {
            let frame = ws.read_frame().await.unwrap();
            assert!(frame.fin);
            n += std::hint::black_box(frame).payload.len();
        }
        n
    })
}

/// `count` messages read by tokio-websockets from `stream`, which never waits.
fn tokio_websockets_receive<S>(stream: S, count: usize) -> usize
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    now(async {
        let mut ws = tokio_websockets::ServerBuilder::new()
            .limits(tokio_websockets::Limits::default().max_payload_len(Some(MAX_MESSAGE)))
            .serve(stream);
        let mut n = 0;
        for _ in 0..count {
            let m = ws.next().await.unwrap().unwrap();
            n += std::hint::black_box(m).as_payload().len();
        }
        n
    })
}

fn receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("receive");
    for case in RECEIVE {
        let bytes = record(case);
        let total = case.count * case.size;
        // Every library must deliver every payload byte before it is timed; how many
        // reads each made is printed (a socket would pay a system call for each).
        READS.store(0, Relaxed);
        assert_eq!(wsmachine_receive(total, from_memory(&bytes)), total);
        let ours = READS.swap(0, Relaxed);
        assert_eq!(tungstenite_receive(Mem::new(&bytes), case.count), total);
        let tungstenite = READS.swap(0, Relaxed);
        assert_eq!(fastwebsockets_receive(Mem::new(&bytes), case.count), total);
        let fastwebsockets = READS.swap(0, Relaxed);
        assert_eq!(
            tokio_websockets_receive(Mem::new(&bytes), case.count),
            total
        );
        let tokio_websockets = READS.swap(0, Relaxed);
        eprintln!(
            "reads: receive/{} ({} bytes): wsmachine {ours}, tungstenite {tungstenite}, \
             fastwebsockets {fastwebsockets}, tokio-websockets {tokio_websockets}",
            case.name,
            bytes.len()
        );
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        let count = case.count;
        assert_eq!(memcpy_receive(&bytes, case.size + 14), bytes.len());
        group.bench_function(BenchmarkId::new("memcpy", case.name), |b| {
            b.iter(|| memcpy_receive(&bytes, case.size + 14))
        });
        group.bench_function(BenchmarkId::new("wsmachine", case.name), |b| {
            b.iter(|| wsmachine_receive(total, from_memory(&bytes)))
        });
        group.bench_function(BenchmarkId::new("tungstenite", case.name), |b| {
            b.iter(|| tungstenite_receive(Mem::new(&bytes), count))
        });
        group.bench_function(BenchmarkId::new("fastwebsockets", case.name), |b| {
            b.iter(|| fastwebsockets_receive(Mem::new(&bytes), count))
        });
        group.bench_function(BenchmarkId::new("tokio-websockets", case.name), |b| {
            b.iter(|| tokio_websockets_receive(Mem::new(&bytes), count))
        });
    }
    group.finish();
}

// ----- receive over a socket -----

/// The cases `receive-socket` repeats over TCP loopback (names as in [`RECEIVE`]).
const SOCKET_CASES: &[&str] = &["binary-16B", "binary-16KiB", "binary-64KiB", "binary-1MiB"];

/// One TCP loopback connection and a thread that writes a recorded stream into it whenever
/// it is handed one: every library reads the same bytes, with a system call and the
/// kernel's copy per read (which the in-memory `receive` group does not charge).
struct Feeder {
    go: std::sync::mpsc::Sender<std::sync::Arc<Vec<u8>>>,
    sock: std::net::TcpStream,
}

impl Feeder {
    fn new() -> Feeder {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let writer = std::net::TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
        let (sock, _) = listener.accept().expect("accept");
        let (go, jobs) = std::sync::mpsc::channel::<std::sync::Arc<Vec<u8>>>();
        std::thread::spawn(move || {
            let mut writer = writer;
            for bytes in jobs {
                writer.write_all(&bytes).expect("write");
            }
        });
        Feeder { go, sock }
    }

    /// Has the stream written again; the caller reads all of it.
    fn send(&self, bytes: &std::sync::Arc<Vec<u8>>) {
        self.go.send(bytes.clone()).expect("writer thread");
    }
}

/// CPU time this thread has used, user and system.
fn thread_cpu_time() -> std::time::Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Reads once (blocking) from `sock` into `buf`'s spare capacity, at most `max` bytes,
/// without zeroing it first, as a library's socket read does.
fn read_spare(sock: &std::net::TcpStream, buf: &mut bytes::BytesMut, max: usize) -> usize {
    READS.fetch_add(1, Relaxed);
    let spare = buf.spare_capacity_mut();
    let max = max.min(spare.len());
    let n = rustix::io::read(sock, &mut spare[..max])
        .expect("read")
        .0
        .len();
    // SAFETY: `read` initialised the first `n` bytes of the spare capacity.
    unsafe { buf.set_len(buf.len() + n) };
    n
}

/// A blocking socket as every library's stream: `Read` for tungstenite, `AsyncRead` (a read
/// that blocks and so never returns `Pending`) for the async libraries. No writes happen.
struct Sock<'a>(&'a std::net::TcpStream);

impl Read for Sock<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        READS.fetch_add(1, Relaxed);
        (&mut &*self.0).read(buf)
    }
}

impl Write for Sock<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Sock<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        READS.fetch_add(1, Relaxed);
        // SAFETY: only initialised bytes are written into the unfilled part, and exactly the
        // `n` that `read` initialised are marked so.
        let n = rustix::io::read(self.0, unsafe { buf.unfilled_mut() })?
            .0
            .len();
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Sock<'_> {
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

/// The floor: the stream read through a reused buffer as large as a read or a frame.
fn read_socket(sock: &std::net::TcpStream, len: usize, frame: usize) -> usize {
    let mut buf = bytes::BytesMut::with_capacity(READ_SIZE.max(frame));
    let mut got = 0;
    while got < len {
        buf.clear();
        let cap = buf.capacity();
        got += read_spare(sock, &mut buf, cap);
    }
    got
}

/// `receive-socket/LIB/CASE`: as `receive`, but each library reads the stream from a TCP
/// loopback socket that another thread writes it into (blocking reads: no readiness
/// polling for anyone), so each read costs what it costs a server: a system call and the
/// kernel's copy. Timed as the reading thread's CPU time. `read` is the floor: the reads
/// alone.
fn receive_socket(c: &mut Criterion) {
    let mut group = c.benchmark_group("receive-socket");
    let feeder = Feeder::new();
    for case in RECEIVE.iter().filter(|c| SOCKET_CASES.contains(&c.name)) {
        let bytes = std::sync::Arc::new(record(case));
        let (len, total, count) = (bytes.len(), case.count * case.size, case.count);
        let sock = &feeder.sock;
        let mut reads = Vec::new();
        type Run<'a> = (&'a str, Box<dyn Fn() -> usize + 'a>, usize);
        let runs: Vec<Run> = vec![
            (
                "read",
                Box::new(|| read_socket(sock, len, case.size + 14)),
                len,
            ),
            (
                "wsmachine",
                Box::new(|| {
                    // As the mio adapter reads: `read_input` lends the spare room
                    // uninitialised, rustix fills it.
                    wsmachine_receive(total, |conn, want| {
                        READS.fetch_add(1, Relaxed);
                        conn.read_input(want, |spare| {
                            rustix::io::read(sock, spare).map(|(filled, _)| filled)
                        })
                        .expect("read");
                        conn.handle_input_appended(Timestamp::ZERO);
                    })
                }),
                total,
            ),
            (
                "tungstenite",
                Box::new(|| tungstenite_receive(Sock(sock), count)),
                total,
            ),
            (
                "fastwebsockets",
                Box::new(|| fastwebsockets_receive(Sock(sock), count)),
                total,
            ),
            (
                "tokio-websockets",
                Box::new(|| tokio_websockets_receive(Sock(sock), count)),
                total,
            ),
        ];
        // Every library must deliver every payload byte before it is timed.
        for (name, run, expect) in &runs {
            READS.store(0, Relaxed);
            feeder.send(&bytes);
            assert_eq!(run(), *expect, "{name}");
            reads.push(format!("{name} {}", READS.load(Relaxed)));
        }
        eprintln!(
            "reads: receive-socket/{} ({len} bytes): {}",
            case.name,
            reads[1..].join(", ")
        );
        group.throughput(Throughput::Bytes(len as u64));
        for (name, run, _) in &runs {
            group.bench_function(BenchmarkId::new(*name, case.name), |b| {
                // The reader's own CPU time (its system calls and the kernel's copies
                // included), not the wall time: that would be the writer's pace.
                b.iter_custom(|iters| {
                    let start = thread_cpu_time();
                    for _ in 0..iters {
                        feeder.send(&bytes);
                        std::hint::black_box(run());
                    }
                    thread_cpu_time() - start
                })
            });
        }
    }
    group.finish();
}

// ----- send -----

/// `borrowed`: `send_binary_slice` (the payload copied, as fastwebsockets'
/// `Payload::Borrowed`); else `send_binary` of a `Bytes` clone (as tungstenite and
/// tokio-websockets take theirs).
fn wsmachine_send(role: Role, payload: &Bytes, borrowed: bool) -> usize {
    let mut c = Connection::open(role, config(), Timestamp::ZERO);
    let mut written = 0;
    for _ in 0..SEND_COUNT {
        if borrowed {
            c.send_binary_slice(payload).unwrap();
        } else {
            c.send_binary(payload.clone()).unwrap();
        }
        // What a vectored write of the queued output does, with a sink that takes it all.
        let n: usize = c
            .transmit_slices()
            .map(|s| std::hint::black_box(s).len())
            .sum();
        c.advance_transmit(n);
        written += n;
    }
    written
}

fn tungstenite_send(role: tungstenite::protocol::Role, payload: &Bytes) -> usize {
    let mut ws =
        tungstenite::WebSocket::from_raw_socket(Mem::new(&[]), role, Some(tungstenite_config()));
    for _ in 0..SEND_COUNT {
        ws.send(tungstenite::Message::Binary(payload.clone()))
            .unwrap();
    }
    ws.get_ref().written
}

fn fastwebsockets_send(role: fastwebsockets::Role, payload: &[u8]) -> usize {
    now(async {
        let mut ws = fastwebsockets::WebSocket::after_handshake(Mem::new(&[]), role);
        for _ in 0..SEND_COUNT {
            let frame = fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(payload));
            ws.write_frame(frame).await.unwrap();
        }
        ws.into_inner().written
    })
}

fn tokio_websockets_send(server: bool, payload: &Bytes) -> usize {
    now(async {
        let mut ws = if server {
            tokio_websockets::ServerBuilder::new().serve(Mem::new(&[]))
        } else {
            tokio_websockets::ClientBuilder::new().take_over(Mem::new(&[]))
        };
        for _ in 0..SEND_COUNT {
            ws.send(tokio_websockets::Message::binary(payload.clone()))
                .await
                .unwrap();
        }
        ws.into_inner().written
    })
}

fn send(c: &mut Criterion) {
    for (group_name, role) in [("send-server", Role::Server), ("send-client", Role::Client)] {
        let server = role == Role::Server;
        let (t_role, f_role) = if server {
            (
                tungstenite::protocol::Role::Server,
                fastwebsockets::Role::Server,
            )
        } else {
            (
                tungstenite::protocol::Role::Client,
                fastwebsockets::Role::Client,
            )
        };
        let mut group = c.benchmark_group(group_name);
        for &(name, size) in SEND_SIZES {
            let payload = Bytes::from(vec![b'a'; size]);
            // Same bytes on the wire from every library: header (plus mask) and payload.
            let header = if size < 126 { 2 } else { 4 } + if server { 0 } else { 4 };
            let wire = SEND_COUNT * (header + size);
            assert_eq!(wsmachine_send(role, &payload, true), wire);
            assert_eq!(wsmachine_send(role, &payload, false), wire);
            assert_eq!(tungstenite_send(t_role, &payload), wire);
            assert_eq!(fastwebsockets_send(f_role, &payload), wire);
            assert_eq!(tokio_websockets_send(server, &payload), wire);
            group.throughput(Throughput::Bytes((SEND_COUNT * size) as u64));
            group.bench_function(BenchmarkId::new("wsmachine", name), |b| {
                b.iter(|| wsmachine_send(role, &payload, true))
            });
            group.bench_function(BenchmarkId::new("wsmachine-bytes", name), |b| {
                b.iter(|| wsmachine_send(role, &payload, false))
            });
            group.bench_function(BenchmarkId::new("tungstenite", name), |b| {
                b.iter(|| tungstenite_send(t_role, &payload))
            });
            group.bench_function(BenchmarkId::new("fastwebsockets", name), |b| {
                b.iter(|| fastwebsockets_send(f_role, &payload))
            });
            group.bench_function(BenchmarkId::new("tokio-websockets", name), |b| {
                b.iter(|| tokio_websockets_send(server, &payload))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, receive, receive_socket, send);
criterion_main!(benches);
