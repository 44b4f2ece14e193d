//! The servers of the examples as library functions, so tests (and your own binaries) can
//! run them in-process: an echo server ([`serve_echo`]) and a broadcast chat server
//! ([`serve_chat`]) that also serves its HTML page over plain HTTP on the same port.
//!
//! Both show the rules a server must keep: one connection's failure is logged with the peer
//! address and never stops the accept loop or another connection; every send error is a
//! value; slow or dead clients are dropped, not waited for.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, mpsc};
use wsmachine::{CloseCode, Message};

use wsmachine_tokio::{Config, Decision, accept_with, accept_with_prefix};

pub use crate::async_echo::{
    AcceptErrors, Log, compression_note, describe_report, echo, stderr_log,
};

/// The echo server's configuration: [`big_message_config`](crate::big_message_config)
/// (messages and frames up to 64 MiB, a 160 MiB send queue) with the adapter's defaults.
pub fn echo_config() -> Config {
    Config::from(crate::big_message_config())
}

/// How many connections [`serve_echo`] serves at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Runs an echo server on `listener` forever with at most [`DEFAULT_MAX_CONNECTIONS`]
/// connections at once. See [`serve_echo_capped`].
pub async fn serve_echo(listener: TcpListener, config: Config, log: Log) {
    serve_echo_capped(listener, config, DEFAULT_MAX_CONNECTIONS, log).await
}

/// Runs an echo server on `listener` forever, each connection on its own task, at most
/// `max_connections` at once (further clients wait in the listen backlog until one ends).
/// A failed connection is logged with its address and the loop goes on; a failing
/// `accept` is logged at most once per second and backed off (see [`AcceptErrors`]).
pub async fn serve_echo_capped(
    listener: TcpListener,
    config: Config,
    max_connections: usize,
    log: Log,
) {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut errors = AcceptErrors::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, addr) = match listener.accept().await {
            Ok(x) => {
                errors.succeeded();
                x
            }
            Err(e) => {
                drop(slot);
                let pause = errors.failed(&e, &log);
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
                continue;
            }
        };
        let log = log.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match accept_with(stream, config, |_| Decision::accept()).await {
                Ok(ws) => {
                    log(format!("{addr}: connected{}", compression_note(&ws)));
                    echo(ws, &log).await;
                }
                Err(e) => log(format!("{addr}: handshake failed: {e}")),
            }
        });
    }
}

/// The chat server's settings.
#[derive(Debug, Clone, Copy)]
pub struct ChatOptions {
    /// Per-connection configuration (keepalive timers find dead clients; permessage-deflate
    /// accepted, as every browser offers it).
    pub config: Config,
    /// Messages that may wait for one client; a client that falls further behind is dropped
    /// (closed with 1008) so that it cannot stall the others.
    pub client_queue: usize,
}

impl Default for ChatOptions {
    fn default() -> Self {
        ChatOptions {
            config: Config::new()
                .ping_interval(Some(Duration::from_secs(5)))
                .pong_timeout(Some(Duration::from_secs(5)))
                .deflate(Some(wsmachine::DeflateConfig::default())),
            client_queue: 256,
        }
    }
}

struct Client {
    queue: mpsc::Sender<Message>,
    kill: Arc<Notify>,
}

type Clients = Arc<Mutex<HashMap<u64, Client>>>;

/// Sends `message` to every client (the sender included); drops clients whose queue is
/// full.
fn broadcast(clients: &Clients, message: &Message, log: &Log) {
    let Ok(mut map) = clients.lock() else {
        return;
    };
    let mut slow = Vec::new();
    for (id, client) in map.iter() {
        match client.queue.try_send(message.clone()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => slow.push(*id),
            Err(mpsc::error::TrySendError::Closed(_)) => slow.push(*id),
        }
    }
    for id in slow {
        if let Some(client) = map.remove(&id) {
            log(format!("client {id}: dropped (cannot keep up)"));
            client.kill.notify_one();
        }
    }
}

const MAX_HEAD: usize = 16 << 10;

/// Reads an HTTP request head (up to the blank line), bounded in size and time. Returns
/// everything read (the head and anything pipelined after it).
async fn read_head(stream: &mut TcpStream) -> Option<(Vec<u8>, usize)> {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                return Some(end + 4);
            }
            if buf.len() >= MAX_HEAD {
                return None;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(10), read).await {
        Ok(Some(end)) => Some((buf, end)),
        _ => None,
    }
}

/// Serves one plain HTTP response and closes.
async fn http_response(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), write).await;
}

/// Runs the broadcast chat server on `listener` forever. `GET /` (a plain request) gets
/// `html`; `/ws` upgrades to WebSocket; every text or binary message from a client goes
/// unchanged to every client, the sender included. Dead clients are found by keepalive and
/// pruned; a client that cannot keep up is dropped.
pub async fn serve_chat(listener: TcpListener, html: &'static str, options: ChatOptions, log: Log) {
    let clients: Clients = Arc::new(Mutex::new(HashMap::new()));
    let next_id = Arc::new(AtomicU64::new(1));
    let mut errors = AcceptErrors::new();
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => {
                errors.succeeded();
                x
            }
            Err(e) => {
                let pause = errors.failed(&e, &log);
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
                continue;
            }
        };
        let clients = clients.clone();
        let log = log.clone();
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            chat_connection(stream, addr, id, html, options, clients, log).await;
        });
    }
}

async fn chat_connection(
    mut stream: TcpStream,
    addr: SocketAddr,
    id: u64,
    html: &'static str,
    options: ChatOptions,
    clients: Clients,
    log: Log,
) {
    let _ = stream.set_nodelay(true);
    let Some((buf, end)) = read_head(&mut stream).await else {
        return;
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let mut request_line = head.lines().next().unwrap_or("").split_ascii_whitespace();
    let method = request_line.next().unwrap_or("");
    let target = request_line.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    let upgrade = head
        .lines()
        .any(|l| l.starts_with("upgrade:") && l.contains("websocket"));
    if !upgrade {
        if method == "get" && path == "/" {
            http_response(
                &mut stream,
                "200 OK",
                "text/html; charset=utf-8",
                html.as_bytes(),
            )
            .await;
        } else {
            http_response(&mut stream, "404 Not Found", "text/plain", b"not found\n").await;
        }
        return;
    }
    let ws = match accept_with_prefix(stream, &buf, options.config, |req| {
        if req.path == "/ws" {
            Decision::accept()
        } else {
            Decision::reject(404, "not found\n")
        }
    })
    .await
    {
        Ok(ws) => ws,
        Err(e) => {
            log(format!("{addr}: handshake failed: {e}"));
            return;
        }
    };
    log(format!(
        "client {id} ({addr}): joined{}",
        compression_note(&ws)
    ));
    let (sender, mut receiver) = ws.split();
    let (queue, mut queue_rx) = mpsc::channel::<Message>(options.client_queue.max(1));
    let kill = Arc::new(Notify::new());
    if let Ok(mut map) = clients.lock() {
        map.insert(
            id,
            Client {
                queue,
                kill: kill.clone(),
            },
        );
    }
    // Writer: this client's queue to its connection. A kill (too slow) closes it with 1008.
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                _ = kill.notified() => {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(1),
                        sender.close(CloseCode::POLICY, "too slow"),
                    )
                    .await;
                    break;
                }
                m = queue_rx.recv() => {
                    let Some(m) = m else { break };
                    tokio::select! {
                        biased;
                        _ = kill.notified() => {
                            let _ = tokio::time::timeout(
                                Duration::from_secs(1),
                                sender.close(CloseCode::POLICY, "too slow"),
                            )
                            .await;
                            break;
                        }
                        r = sender.send(m) => if r.is_err() { break },
                    }
                }
            }
        }
    });
    // Reader: everything this client says goes to everyone.
    while let Some(item) = receiver.recv().await {
        match item {
            Ok(message) => broadcast(&clients, &message, &log),
            Err(e) => log(format!("client {id} ({addr}): error: {e}")),
        }
    }
    if let Ok(mut map) = clients.lock() {
        map.remove(&id);
    }
    writer.abort();
    match receiver.close_report() {
        Some(r) => log(format!(
            "client {id} ({addr}): left: {}",
            describe_report(&r)
        )),
        None => log(format!("client {id} ({addr}): left")),
    }
}
