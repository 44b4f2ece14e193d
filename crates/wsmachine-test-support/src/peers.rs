//! Shared helpers for interop tests against third-party WebSocket peers (Python `websockets`,
//! Node `ws`), usable by every adapter's tests (std, mio, tokio): they know nothing of the
//! adapters, only processes, lines of output and the standard exchange.
//!
//! The peers are installed by `scripts/install-peers.sh`, which writes `.peers/env`
//! (`PEER_PYTHON=...`, `PEER_NODE=...`). [`peer_env`] reads it; without it, tests fail with a
//! message saying to run the script, unless `WSM_SKIP_INTEROP=1` (then they print a skip
//! line and pass).
//!
//! Peer contract (tests/peers/*):
//! - servers (`py_echo_server.py`, `node_echo_server.js`) print `PORT <n>` once listening and
//!   `CLOSE <received> <sent>` when each connection ends; they echo every message; with
//!   `--deflate` they accept permessage-deflate and print `EXT <agreed extensions>` as each
//!   connection opens ([`PeerServer::start_with`], [`PeerServer::ext_line`]);
//! - clients (`py_client.py URL`, `node_client.js URL`) run the standard exchange and print
//!   one line, `OK <n>` (exit 0) or `FAIL <reason>` (exit 1); with `--deflate` they offer
//!   permessage-deflate, fail unless the server accepts it, and print
//!   `OK <n> ext=<agreed extensions>` ([`run_peer_client_with`]).
//!
//! Every spawned process is killed when its handle drops; every wait is bounded.
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use wsmachine::Message;

/// The repository root (two levels above this crate's manifest directory).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .expect("crates/<name> in the repository")
        .to_path_buf()
}

/// The peer interpreters from `.peers/env`.
#[derive(Debug, Clone)]
pub struct PeerEnv {
    /// The venv Python with `websockets`.
    pub python: PathBuf,
    /// Node with `ws` reachable from tests/peers.
    pub node: PathBuf,
    /// Chromium, if the script installed it (`PEER_CHROMIUM`).
    pub chromium: Option<PathBuf>,
}

impl PeerEnv {
    /// The script path under tests/peers.
    pub fn script(&self, name: &str) -> PathBuf {
        repo_root().join("tests").join("peers").join(name)
    }

    /// The interpreter for a script (by extension: `.py` or `.js`).
    pub fn interpreter(&self, script: &str) -> &Path {
        if script.ends_with(".py") {
            &self.python
        } else {
            &self.node
        }
    }
}

/// Reads `.peers/env` (or the file named by `WSM_PEERS_ENV`). Returns `None` (after printing a skip line for `test`) when it is
/// missing and `WSM_SKIP_INTEROP=1`; panics with instructions when it is missing otherwise.
pub fn peer_env(test: &str) -> Option<PeerEnv> {
    let path = std::env::var_os("WSM_PEERS_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".peers").join("env"));
    let text = std::fs::read_to_string(&path).ok();
    let get = |key: &str| -> Option<PathBuf> {
        text.as_deref()?.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.strip_prefix('=')?.trim();
            (!v.is_empty()).then(|| PathBuf::from(v))
        })
    };
    match (get("PEER_PYTHON"), get("PEER_NODE")) {
        (Some(python), Some(node)) => Some(PeerEnv {
            python,
            node,
            chromium: get("PEER_CHROMIUM"),
        }),
        _ if std::env::var("WSM_SKIP_INTEROP").as_deref() == Ok("1") => {
            println!("SKIP {test}: no .peers/env (WSM_SKIP_INTEROP=1)");
            None
        }
        _ => panic!(
            "{test}: interop peers are not installed ({} missing or incomplete): \
             run scripts/install-peers.sh, or set WSM_SKIP_INTEROP=1 to skip",
            path.display()
        ),
    }
}

/// A running peer process; killed on drop. Its stdout lines arrive on a channel.
pub struct PeerProcess {
    child: Child,
    lines: Receiver<String>,
    stderr: Receiver<String>,
    name: String,
}

impl PeerProcess {
    /// Spawns `interpreter script args...` with piped output.
    pub fn spawn(interpreter: &Path, script: &Path, args: &[&str]) -> PeerProcess {
        let mut child = Command::new(interpreter)
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", interpreter.display()));
        let (tx, lines) = channel();
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (etx, stderr) = channel();
        let mut err = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            let _ = etx.send(s);
        });
        PeerProcess {
            child,
            lines,
            stderr,
            name: script.display().to_string(),
        }
    }

    /// The script it runs, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next stdout line, waiting up to `timeout`.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// The next stdout line starting with `prefix` (others are skipped), up to `timeout`.
    pub fn line_starting(&self, prefix: &str, timeout: Duration) -> Option<String> {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let line = self.next_line(left)?;
            if line.starts_with(prefix) {
                return Some(line);
            }
        }
    }

    /// Waits for the process to exit (up to `timeout`, then kills it). Returns (exit
    /// success, all stdout lines, stderr).
    pub fn wait(mut self, timeout: Duration) -> (bool, Vec<String>, String) {
        let end = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    break self.child.wait().ok().filter(|_| false);
                }
            }
        };
        let mut lines = Vec::new();
        while let Some(l) = self.next_line(Duration::from_millis(500)) {
            lines.push(l);
        }
        let stderr = self
            .stderr
            .recv_timeout(Duration::from_millis(500))
            .unwrap_or_default();
        (status.is_some_and(|s| s.success()), lines, stderr)
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A peer echo server, listening on loopback.
pub struct PeerServer {
    /// The process.
    pub process: PeerProcess,
    /// Its port.
    pub port: u16,
}

impl PeerServer {
    /// Starts `script` (`py_echo_server.py` or `node_echo_server.js`) and waits up to 20 s for
    /// its `PORT <n>` line.
    pub fn start(env: &PeerEnv, script: &str) -> PeerServer {
        PeerServer::start_with(env, script, &[])
    }

    /// [`start`](PeerServer::start) with arguments, e.g. `["--deflate"]`.
    pub fn start_with(env: &PeerEnv, script: &str, args: &[&str]) -> PeerServer {
        let process = PeerProcess::spawn(env.interpreter(script), &env.script(script), args);
        let line = process
            .line_starting("PORT ", Duration::from_secs(20))
            .unwrap_or_else(|| panic!("{script} printed no PORT line within 20 s"));
        let port = line[5..]
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{script}: bad PORT line {line:?}"));
        PeerServer { process, port }
    }

    /// `ws://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// The next `EXT <extensions>` line (a server started with `--deflate` prints one per
    /// connection as it opens), as its text after `EXT `.
    pub fn ext_line(&self, timeout: Duration) -> Option<String> {
        let line = self.process.line_starting("EXT ", timeout)?;
        Some(line[4..].trim().to_string())
    }

    /// The next `CLOSE <received> <sent>` line, as the two fields.
    pub fn close_line(&self, timeout: Duration) -> Option<(String, String)> {
        let line = self.process.line_starting("CLOSE ", timeout)?;
        let mut it = line.split_whitespace().skip(1);
        Some((it.next()?.to_string(), it.next()?.to_string()))
    }
}

/// Runs a peer client (`py_client.py` or `node_client.js`) against `url`, bounded by
/// `timeout`. Returns (success, its one output line, stderr).
pub fn run_peer_client(
    env: &PeerEnv,
    script: &str,
    url: &str,
    timeout: Duration,
) -> (bool, String, String) {
    run_peer_client_with(env, script, url, &[], timeout)
}

/// [`run_peer_client`] with more arguments after the URL, e.g. `["--deflate"]`.
pub fn run_peer_client_with(
    env: &PeerEnv,
    script: &str,
    url: &str,
    args: &[&str],
    timeout: Duration,
) -> (bool, String, String) {
    let mut all = vec![url];
    all.extend_from_slice(args);
    let p = PeerProcess::spawn(env.interpreter(script), &env.script(script), &all);
    let (ok, lines, stderr) = p.wait(timeout);
    (ok, lines.join("\n"), stderr)
}

// ----- the standard exchange (identical to tests/peers/py_client.py) -----

/// A short mix every loopback test sends one by one and expects back unchanged: ASCII and
/// non-ASCII text, small and empty binary and text, and 1 MiB of pseudo-random bytes.
pub fn basic_messages() -> Vec<Message> {
    vec![
        Message::text("hello"),
        Message::text("héllo 🎉"),
        Message::binary(vec![1u8, 2, 3]),
        Message::text(""),
        Message::binary(Vec::new()),
        Message::binary(prng_bytes(1 << 20)),
    ]
}

/// 1 MiB (or `n` bytes) of the peers' pseudo-random sequence.
pub fn prng_bytes(n: usize) -> Vec<u8> {
    let mut s: u32 = 0x2545_F491;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (s >> 24) as u8
        })
        .collect()
}

/// `n` bytes, byte `i` = `i % 251`.
pub fn filled(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// The standard exchange's single messages, each echoed and checked before the next.
pub fn standard_messages() -> Vec<(String, Message)> {
    let t = |l: &str, s: &str| (l.to_string(), Message::text(s.to_string()));
    let b = |l: &str, v: Vec<u8>| (l.to_string(), Message::binary(v));
    vec![
        t("hello", "hello"),
        t("utf8", "héllo wörld 🎉 ∑"),
        t("empty text", ""),
        b("bytes 0..255", (0..=255u8).collect()),
        b("empty binary", Vec::new()),
        b("binary 125", filled(125)),
        b("binary 126", filled(126)),
        b("binary 65535", filled(65535)),
        b("binary 65536", filled(65536)),
        b("binary 1MiB prng", prng_bytes(1 << 20)),
        t("text 1MiB", &"€abcde".repeat(131_072)),
    ]
}

/// The burst: 100 messages sent back to back, echoes checked in order.
pub fn burst_messages() -> Vec<(String, Message)> {
    (0..100u8)
        .map(|i| {
            let m = if i % 2 == 0 {
                Message::text(format!("burst-{i}"))
            } else {
                Message::binary(vec![i; i as usize])
            };
            (format!("burst {i}"), m)
        })
        .collect()
}

/// Checks an echo: same kind, same bytes; the error names the message.
pub fn check_echo(label: &str, sent: &Message, got: &Message) -> Result<(), String> {
    if sent.kind() != got.kind() {
        return Err(format!(
            "{label}: sent {:?}, echo is {:?}",
            sent.kind(),
            got.kind()
        ));
    }
    if sent.payload() != got.payload() {
        return Err(format!(
            "{label}: echo differs ({} bytes sent, {} received)",
            sent.payload().len(),
            got.payload().len()
        ));
    }
    Ok(())
}
