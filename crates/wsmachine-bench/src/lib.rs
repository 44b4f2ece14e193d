//! Shared pieces of the loopback benchmark tools (`scripts/bench.sh` runs them):
//!
//! - `loadgen`: one tokio process that opens N connections to an echo server, keeps k
//!   pre-encoded masked frames in flight on each, checks every echoed byte and prints
//!   messages per second; or opens N idle connections and reports the server's RSS growth.
//! - `echo_tungstenite`, `echo_fastwebsockets`, `echo_tokio_websockets`: the peers' echo
//!   servers, each written as its library documents (its own echo example), messages up to
//!   64 MiB like ours.
//! - `echo_raw`: a raw TCP echo (no WebSocket at all), the ceiling of what loopback allows.
//!
//! This module holds what they share: the frame encoder of the load generator, the minimal
//! server handshake used in front of fastwebsockets (which has none without hyper), what
//! both load generators (`loadgen`, `deflate_loadgen`) do around their connections (the
//! single-threaded runtime [`run_local`], the measured [`Window`] and its CPU figures, the
//! JSON output [`append_out`], [`usage`] errors), and small helpers.

use std::future::Future;
use std::io;
use std::time::Instant;

use base64::Engine;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The GUID of RFC 6455 4.2.2 that the accept key is derived with.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The largest request or response head the tools read (a bound, not a parser limit).
const MAX_HEAD: usize = 8 << 10;

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455 4.2.2). Cost: one
/// SHA-1 of about 60 bytes.
pub fn accept_key(key: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(key);
    h.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Reads an HTTP head (up to and including the blank line) from `stream`, at most 8 KiB.
/// Returns the head and whatever was read after it. Errors on EOF or an oversized head.
pub async fn read_head(stream: &mut TcpStream) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The value of header `name` (ASCII case-insensitive) in an HTTP head, trimmed.
pub fn header<'a>(head: &'a [u8], name: &str) -> Option<&'a [u8]> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        if !line[..colon].eq_ignore_ascii_case(name.as_bytes()) {
            return None;
        }
        Some(line[colon + 1..].trim_ascii())
    })
}

/// A minimal server side of the opening handshake: reads the request, answers 101 with the
/// accept key, or 400 and an error if the request has no `Sec-WebSocket-Key`. Enough for
/// the benchmark's own client; no other checks (the peer being measured is the framing, not
/// this). Bytes pipelined after the request are an error (the load generator never sends
/// any before the response).
pub async fn server_handshake(stream: &mut TcpStream) -> io::Result<()> {
    let (head, rest) = read_head(stream).await?;
    let Some(key) = header(&head, "sec-websocket-key") else {
        stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Err(io::Error::new(io::ErrorKind::InvalidData, "no key"));
    };
    if !rest.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bytes before the response",
        ));
    }
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    stream.write_all(response.as_bytes()).await
}

/// The key the load generator sends (the RFC's sample nonce); every server answers with
/// [`accept_key`] of it.
pub const CLIENT_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The load generator's side of the opening handshake on `stream`: sends an upgrade
/// request, reads the response head and checks the status and the accept key.
pub async fn client_handshake(stream: &mut TcpStream, host: &str) -> io::Result<()> {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {CLIENT_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let (head, rest) = read_head(stream).await?;
    let bad = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("handshake: {what}: {}", String::from_utf8_lossy(&head)),
        )
    };
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(bad("status is not 101"));
    }
    if header(&head, "sec-websocket-accept") != Some(accept_key(CLIENT_KEY.as_bytes()).as_bytes()) {
        return Err(bad("wrong accept key"));
    }
    if !rest.is_empty() {
        return Err(bad("data before any message was sent"));
    }
    Ok(())
}

/// A frame header (RFC 6455 5.2) for a final frame of `opcode` with `len` payload bytes,
/// masked with `mask` if given, appended to `out`.
pub fn frame_header(out: &mut Vec<u8>, opcode: u8, len: usize, mask: Option<[u8; 4]>) {
    out.push(0x80 | opcode);
    let m = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(m | len as u8);
    } else if len <= 0xffff {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(k) = mask {
        out.extend_from_slice(&k);
    }
}

/// Appends a whole frame: header, then `payload` masked with `mask` if given (RFC 6455 5.3).
/// Cost: one pass over the payload.
pub fn encode_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) {
    frame_header(out, opcode, payload.len(), mask);
    match mask {
        Some(k) => out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i & 3])),
        None => out.extend_from_slice(payload),
    }
}

/// A small deterministic generator (xorshift64), so every run sends the same bytes.
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl XorShift {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}

/// The resident set size of process `pid` in KiB (`VmRSS` of `/proc/PID/status`), if it
/// can be read.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system) used so far by process `pid`, or by this process for `None`,
/// from `/proc/PID/stat`, in seconds (Linux counts it in 1/100 s ticks).
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".into(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start with the state, field 3;
    // utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Prints `msg` as a usage error of the load generator `tool` (pointing at its doc comment,
/// `crates/wsmachine-bench/src/bin/TOOL.rs`) and exits with status 2.
pub fn usage(tool: &str, msg: &str) -> ! {
    eprintln!("{tool}: {msg} (see the doc comment of crates/wsmachine-bench/src/bin/{tool}.rs)");
    std::process::exit(2)
}

/// Prints `line` (one JSON result) and, given `path`, appends it to that file; a file that
/// cannot be opened or written is a [`usage`] error of `tool`.
pub fn append_out(tool: &str, path: &Option<String>, line: &str) {
    println!("{line}");
    if let Some(path) = path {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|e| usage(tool, &format!("cannot open {path}: {e}")));
        writeln!(f, "{line}").unwrap_or_else(|e| usage(tool, &format!("cannot write {path}: {e}")));
    }
}

/// Runs a load generator's `main` on a single-threaded tokio runtime inside a `LocalSet`
/// (the connection tasks share `Rc`s and `Cell`s; the other core is the server's), then
/// exits: status 0 when it returned `true`, else 1.
pub fn run_local(main: impl Future<Output = bool>) -> ! {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let ok = local.block_on(&rt, main);
    std::process::exit(if ok { 0 } else { 1 })
}

/// The measured window of a load generator: its wall-clock start and the CPU time the
/// server (given its pid) and this process had used by then.
pub struct Window {
    start: Instant,
    server_pid: Option<u32>,
    cpu_before: (Option<f64>, Option<f64>),
}

/// What a [`Window`] measured: its length and the CPU time spent in it.
pub struct Measured {
    /// The window's wall-clock length, in seconds.
    pub secs: f64,
    /// The server's CPU seconds in the window, if `/proc` was read (as [`cpu_seconds`]
    /// reads it: without a server pid, this process's own).
    pub server_cpu: Option<f64>,
    /// This process's CPU seconds in the window, if `/proc` was read.
    pub loadgen_cpu: Option<f64>,
}

impl Window {
    /// Starts the window now (reads `/proc` twice).
    pub fn start(server_pid: Option<u32>) -> Window {
        Window {
            start: Instant::now(),
            server_pid,
            cpu_before: (cpu_seconds(server_pid), cpu_seconds(None)),
        }
    }

    /// Ends the window now (reads `/proc` twice).
    pub fn finish(self) -> Measured {
        let secs = self.start.elapsed().as_secs_f64();
        let cpu_after = (cpu_seconds(self.server_pid), cpu_seconds(None));
        let spent = |b: Option<f64>, e: Option<f64>| Some(e? - b?);
        Measured {
            secs,
            server_cpu: spent(self.cpu_before.0, cpu_after.0),
            loadgen_cpu: spent(self.cpu_before.1, cpu_after.1),
        }
    }
}

impl Measured {
    /// The server's CPU microseconds per message over `count` messages, with `decimals`
    /// decimals, or `null` (JSON) without a figure or a message. CPU per message is steadier
    /// than wall-clock rates on a machine shared with other work.
    pub fn server_cpu_us_per_msg(&self, count: u64, decimals: usize) -> String {
        match self.server_cpu {
            Some(cpu) if count > 0 => format!("{:.decimals$}", cpu * 1e6 / count as f64),
            _ => "null".into(),
        }
    }

    /// The share of the window this process was on a CPU (near 1.0: the load generator is
    /// the bottleneck), two decimals, or `null` (JSON).
    pub fn loadgen_cpu_share(&self) -> String {
        match self.loadgen_cpu {
            Some(cpu) => format!("{:.2}", cpu / self.secs),
            None => "null".into(),
        }
    }
}

/// The listen address from the first command-line argument, `127.0.0.1:9001` by default.
pub fn addr_arg() -> String {
    std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_sample() {
        assert_eq!(
            accept_key(CLIENT_KEY.as_bytes()),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn cpu_time_of_this_process_is_read() {
        let t = cpu_seconds(None).expect("/proc/self/stat");
        assert!(t >= 0.0);
        assert_eq!(cpu_seconds(Some(u32::MAX)), None);
    }

    #[test]
    fn measured_figures_are_json_numbers_or_null() {
        let m = Measured {
            secs: 2.0,
            server_cpu: Some(0.5),
            loadgen_cpu: Some(1.0),
        };
        assert_eq!(m.server_cpu_us_per_msg(1000, 3), "500.000");
        assert_eq!(m.server_cpu_us_per_msg(1000, 2), "500.00");
        assert_eq!(m.server_cpu_us_per_msg(0, 2), "null");
        assert_eq!(m.loadgen_cpu_share(), "0.50");
        let none = Measured {
            secs: 1.0,
            server_cpu: None,
            loadgen_cpu: None,
        };
        assert_eq!(none.server_cpu_us_per_msg(10, 3), "null");
        assert_eq!(none.loadgen_cpu_share(), "null");
        let w = Window::start(None).finish();
        assert!(w.secs >= 0.0 && w.loadgen_cpu.is_some());
        assert_eq!(Window::start(Some(u32::MAX)).finish().server_cpu, None);
    }

    #[test]
    fn header_is_found_case_insensitively() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\nSEC-WebSocket-Key:  abc \r\n\r\n";
        assert_eq!(header(head, "sec-websocket-key"), Some(&b"abc"[..]));
        assert_eq!(header(head, "upgrade"), None);
    }

    #[test]
    fn frames_have_rfc_headers() {
        let mut out = Vec::new();
        encode_frame(&mut out, 2, &[1, 2, 3], Some([1, 1, 1, 1]));
        assert_eq!(out, [0x82, 0x83, 1, 1, 1, 1, 0, 3, 2]);
        out.clear();
        frame_header(&mut out, 1, 300, None);
        assert_eq!(out, [0x81, 126, 1, 44]);
        out.clear();
        frame_header(&mut out, 2, 1 << 20, None);
        assert_eq!(out, [0x82, 127, 0, 0, 0, 0, 0, 16, 0, 0]);
    }
}
