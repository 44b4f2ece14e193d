//! Helpers for the std, mio and futures (smol) adapter tests: in-process echo servers on
//! port 0 (the library echo servers, or a "scripted" echo that closes with a code on
//! request), and the standard exchange driven by our std and mio clients.
//! [`Kind`] is the one "which adapter" type the whole-system tests are parameterised by.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use wsmachine::{CloseCode, CloseReport, Config, Message, Timeout};
use wsmachine_mio::{Event as MioEvent, LoopClient};
use wsmachine_std::{Received, WebSocket};

use crate::peers;

/// Which server implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// wsmachine-std, a thread per connection.
    Std,
    /// wsmachine-mio, one thread.
    Mio,
    /// wsmachine-futures on smol, a task per connection.
    Smol,
}

/// How a server-side connection ended, adapter-neutral.
#[derive(Debug, Clone)]
pub struct End {
    /// Peer address.
    pub peer: Option<SocketAddr>,
    /// Messages echoed.
    pub messages: u64,
    /// The first error, as text.
    pub error: Option<String>,
    /// The first error was a keepalive timeout.
    pub keepalive: bool,
    /// The close report (None if the handshake failed, std only).
    pub report: Option<CloseReport>,
}

/// A server running in this process; stopped (mio) or abandoned (std) on drop.
pub struct ServerHandle {
    /// Its address.
    pub addr: SocketAddr,
    /// Connection ends, in order.
    pub ends: Receiver<End>,
    stop: Arc<AtomicBool>,
}

impl ServerHandle {
    /// `ws://addr/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// The next connection end, waiting up to `timeout`.
    pub fn next_end(&self, timeout: Duration) -> Option<End> {
        self.ends.recv_timeout(timeout).ok()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A raw client for bytes no client library would send: the opening handshake written by
/// hand (the RFC's sample key), the 101 checked, then the bare stream with `timeout` on its
/// reads. Build its frames with [`c2s`](crate::c2s).
pub fn raw_client(addr: SocketAddr, timeout: Duration) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "EOF in the response");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    s
}

/// Config for big messages (64 MiB limits, 160 MiB send queue).
pub fn big_config() -> Config {
    wsmachine_examples::big_message_config()
}

fn std_end(e: wsmachine_examples::std_echo::ConnectionEnd) -> End {
    End {
        peer: e.peer,
        messages: e.messages,
        keepalive: matches!(
            e.error,
            Some(wsmachine_std::Error::Timeout(Timeout::Keepalive))
        ),
        error: e.error.map(|e| format!("{e:?}")),
        report: e.report,
    }
}

fn mio_end(e: wsmachine_examples::mio_echo::ConnectionEnd) -> End {
    End {
        peer: e.peer,
        messages: e.messages,
        keepalive: matches!(
            e.error,
            Some(wsmachine_mio::Error::Timeout(Timeout::Keepalive))
        ),
        error: e.error.map(|e| format!("{e:?}")),
        report: Some(e.report),
    }
}

fn smol_end(e: wsmachine_examples::smol_echo::ConnectionEnd) -> End {
    use wsmachine_futures::{ConnectionError, Error};
    End {
        peer: e.peer,
        messages: e.messages,
        keepalive: matches!(
            e.error,
            Some(Error::Connection(ConnectionError::Timeout(
                Timeout::Keepalive
            )))
        ),
        error: e.error.map(|e| format!("{e:?}")),
        report: e.report,
    }
}

/// The library echo server of `kind` on 127.0.0.1:0 with `config`.
pub fn echo(kind: Kind, config: Config) -> ServerHandle {
    let (tx, ends) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let addr = match kind {
        Kind::Std => {
            let builder = wsmachine_std::ServerBuilder::new().config(config);
            let tx = std::sync::Mutex::new(tx);
            wsmachine_examples::std_echo::spawn("127.0.0.1:0", builder, move |e| {
                if let Ok(t) = tx.lock() {
                    let _ = t.send(std_end(e));
                }
            })
            .expect("bind std echo")
        }
        Kind::Mio => {
            let opts = wsmachine_mio::ServerOptions {
                config,
                ..Default::default()
            };
            let mut server = wsmachine_examples::mio_echo::EchoServer::bind(
                "127.0.0.1:0".parse().unwrap(),
                opts,
            )
            .expect("bind mio echo");
            let addr = server.local_addr();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let _ = server.run_until(&stop, |e| {
                    let _ = tx.send(mio_end(e));
                });
            });
            addr
        }
        Kind::Smol => {
            let tx = std::sync::Mutex::new(tx);
            let on_end = Arc::new(move |e| {
                if let Ok(t) = tx.lock() {
                    let _ = t.send(smol_end(e));
                }
            });
            let quiet = Arc::new(|_| {});
            let config = wsmachine_futures::Config::from(config);
            wsmachine_examples::smol_echo::spawn("127.0.0.1:0", config, quiet, on_end)
                .expect("bind smol echo")
        }
    };
    ServerHandle { addr, ends, stop }
}

/// An echo server that, on the text `close:<code>`, closes with that code (reason
/// "scripted") instead of echoing.
pub fn scripted(kind: Kind) -> ServerHandle {
    let (tx, ends) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let addr = match kind {
        Kind::Std => {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let peer = stream.peer_addr().ok();
                        let mut end = End {
                            peer,
                            messages: 0,
                            error: None,
                            keepalive: false,
                            report: None,
                        };
                        let mut ws = match wsmachine_std::ServerBuilder::new()
                            .config(big_config())
                            .accept(stream)
                        {
                            Ok(ws) => ws,
                            Err(e) => {
                                end.error = Some(format!("{e:?}"));
                                let _ = tx.send(end);
                                return;
                            }
                        };
                        loop {
                            match ws.recv() {
                                Ok(m) => {
                                    if let Some(code) = close_command(&m) {
                                        let r = ws.close(CloseCode(code), "scripted");
                                        end.report = r.ok();
                                        break;
                                    }
                                    end.messages += 1;
                                    let _ = ws.send(m);
                                }
                                Err(wsmachine_std::Error::Closed(r)) => {
                                    end.report = Some(r);
                                    break;
                                }
                                Err(e) => {
                                    end.error.get_or_insert(format!("{e:?}"));
                                }
                            }
                        }
                        let _ = tx.send(end);
                    });
                }
            });
            addr
        }
        Kind::Mio => {
            let opts = wsmachine_mio::ServerOptions {
                config: big_config(),
                ..Default::default()
            };
            let mut server =
                wsmachine_mio::Server::bind("127.0.0.1:0".parse().unwrap(), opts).unwrap();
            let addr = server.local_addr();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut stats = std::collections::HashMap::new();
                while !stop.load(Ordering::Relaxed) {
                    let Ok(events) = server.run_once(Some(Duration::from_millis(50))) else {
                        break;
                    };
                    for (id, ev) in events {
                        let peer = server.peer_addr(id);
                        let end = stats.entry(id).or_insert(End {
                            peer,
                            messages: 0,
                            error: None,
                            keepalive: false,
                            report: None,
                        });
                        match ev {
                            MioEvent::Message(m) => {
                                if let Some(code) = close_command(&m) {
                                    let _ = server.close(id, CloseCode(code), "scripted");
                                } else {
                                    end.messages += 1;
                                    let _ = server.send(id, m);
                                }
                            }
                            MioEvent::Error(e) => {
                                end.error.get_or_insert(format!("{e:?}"));
                            }
                            MioEvent::Closed(r) => {
                                if let Some(mut end) = stats.remove(&id) {
                                    end.report = Some(r);
                                    let _ = tx.send(end);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            });
            addr
        }
        Kind::Smol => smol_scripted(tx),
    };
    ServerHandle { addr, ends, stop }
}

/// The scripted echo on smol (see [`scripted`]).
fn smol_scripted(tx: std::sync::mpsc::Sender<End>) -> SocketAddr {
    let listener = smol::block_on(smol::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let runtime = wsmachine_examples::smol_echo::runtime();
    let config = wsmachine_futures::Config::from(big_config());
    std::thread::spawn(move || {
        smol::block_on(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let handshake =
                    runtime.accept_with(stream, config, |_| wsmachine::Decision::accept());
                let tx = tx.clone();
                smol::spawn(async move {
                    let mut end = End {
                        peer: Some(peer),
                        messages: 0,
                        error: None,
                        keepalive: false,
                        report: None,
                    };
                    if let Ok(mut ws) = handshake.await {
                        while let Some(item) = ws.recv().await {
                            let Ok(m) = item else {
                                end.error.get_or_insert(format!("{item:?}"));
                                continue;
                            };
                            match close_command(&m) {
                                Some(code) => drop(ws.close(CloseCode(code), "scripted").await),
                                None => {
                                    end.messages += 1;
                                    drop(ws.send(m).await);
                                }
                            }
                        }
                        end.report = ws.close_report();
                    }
                    let _ = tx.send(end);
                })
                .detach();
            }
        })
    });
    addr
}

fn close_command(m: &Message) -> Option<u16> {
    match m {
        Message::Text(t) => t.as_str().strip_prefix("close:")?.parse().ok(),
        Message::Binary(_) => None,
    }
}

/// A std client for `url` with big limits and a 20 s write timeout.
pub fn std_client(url: &str) -> WebSocket<wsmachine_std::MaybeTlsStream> {
    let (ws, _) = wsmachine_std::ClientBuilder::new(url)
        .config(big_config())
        .connect()
        .expect("std client connects");
    ws
}

/// The standard exchange over a std client, closing with 1000; returns the report.
pub fn std_exchange<S>(ws: &mut WebSocket<S>) -> Result<CloseReport, String>
where
    S: std::io::Read + std::io::Write + wsmachine_std::SetReadTimeout,
{
    let recv = |ws: &mut WebSocket<S>| ws.recv().map_err(|e| format!("{e:?}"));
    for (label, m) in peers::standard_messages() {
        ws.send(m.clone()).map_err(|e| format!("{label}: {e:?}"))?;
        peers::check_echo(&label, &m, &recv(ws)?)?;
    }
    ws.ping(&b"p"[..]).map_err(|e| format!("ping: {e:?}"))?;
    loop {
        match ws.recv_event().map_err(|e| format!("pong: {e:?}"))? {
            Received::Pong(p) if &p[..] == b"p" => break,
            Received::Pong(_) | Received::Ping(_) => {}
            other => return Err(format!("waiting for pong: {other:?}")),
        }
    }
    let burst = peers::burst_messages();
    for (label, m) in &burst {
        ws.send(m.clone()).map_err(|e| format!("{label}: {e:?}"))?;
    }
    for (label, m) in &burst {
        peers::check_echo(label, m, &recv(ws)?)?;
    }
    let report = ws
        .close(CloseCode::NORMAL, "bye")
        .map_err(|e| format!("close: {e:?}"))?;
    if report.code() != CloseCode::NORMAL {
        return Err(format!("close code received back: {report:?}"));
    }
    Ok(report)
}

/// A mio loop client for `url` with big limits, handshake done.
pub fn mio_client(url: &str) -> LoopClient {
    let mut c = LoopClient::connect(url, big_config()).expect("mio client connects");
    match c.next_event(Duration::from_secs(10)) {
        Ok(Some(MioEvent::Connected(_))) => c,
        other => panic!("mio client handshake: {other:?}"),
    }
}

/// The next data message on a mio client, skipping pings and pongs.
pub fn mio_recv(c: &mut LoopClient) -> Result<Message, String> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match c.next_event(left).map_err(|e| format!("{e:?}"))? {
            Some(MioEvent::Message(m)) => return Ok(m),
            Some(MioEvent::Ping(_) | MioEvent::Pong(_)) => {}
            Some(other) => return Err(format!("expected a message, got {other:?}")),
            None => return Err("no message within 20 s".into()),
        }
    }
}

/// Waits for a mio client's Closed event (skipping others), up to 20 s.
pub fn mio_wait_closed(c: &mut LoopClient) -> Result<CloseReport, String> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match c.next_event(left).map_err(|e| format!("{e:?}"))? {
            Some(MioEvent::Closed(r)) => return Ok(r),
            Some(_) => {}
            None => return Err("no Closed within 20 s".into()),
        }
    }
}

/// The standard exchange over a mio client, closing with 1000; returns the report.
pub fn mio_exchange(c: &mut LoopClient) -> Result<CloseReport, String> {
    for (label, m) in peers::standard_messages() {
        c.send(m.clone()).map_err(|e| format!("{label}: {e:?}"))?;
        peers::check_echo(&label, &m, &mio_recv(c)?)?;
    }
    c.client()
        .ping(wsmachine::Bytes::from_static(b"p"))
        .map_err(|e| format!("ping: {e:?}"))?;
    loop {
        match c
            .next_event(Duration::from_secs(20))
            .map_err(|e| format!("{e:?}"))?
        {
            Some(MioEvent::Pong(p)) if &p[..] == b"p" => break,
            Some(MioEvent::Pong(_) | MioEvent::Ping(_)) => {}
            other => return Err(format!("waiting for pong: {other:?}")),
        }
    }
    let burst = peers::burst_messages();
    for (label, m) in &burst {
        c.send(m.clone()).map_err(|e| format!("{label}: {e:?}"))?;
    }
    for (label, m) in &burst {
        peers::check_echo(label, m, &mio_recv(c)?)?;
    }
    c.client()
        .close(CloseCode::NORMAL, "bye")
        .map_err(|e| format!("close: {e:?}"))?;
    let report = mio_wait_closed(c)?;
    if report.code() != CloseCode::NORMAL {
        return Err(format!("close code received back: {report:?}"));
    }
    Ok(report)
}

/// How long an interop scenario waits for the peer.
const INTEROP_LIMIT: Duration = Duration::from_secs(40);

/// A peer client (`script`: py_client.py or node_client.js) runs the standard exchange
/// against our echo server of `kind`, which must report a clean 1000 close after 111
/// messages. `test` names the test in the skip line without `.peers/env`. The client does
/// not offer permessage-deflate (our server would accept it: `big_config`).
pub fn peer_client_against_our_server(kind: Kind, test: &str, script: &str) {
    peer_client_scenario(kind, test, script, false);
}

/// [`peer_client_against_our_server`] with the peer client offering permessage-deflate
/// (`--deflate`, the peer's default offer): it fails unless our server accepted it, and
/// every message over the threshold goes compressed both ways.
pub fn peer_client_against_our_server_deflate(kind: Kind, test: &str, script: &str) {
    peer_client_scenario(kind, test, script, true);
}

fn peer_client_scenario(kind: Kind, test: &str, script: &str, deflate: bool) {
    let Some(env) = peers::peer_env(test) else {
        return;
    };
    let server = echo(kind, big_config());
    let args: &[&str] = if deflate { &["--deflate"] } else { &[] };
    let (ok, line, stderr) =
        peers::run_peer_client_with(&env, script, &server.url(), args, INTEROP_LIMIT);
    assert!(ok && line.starts_with("OK"), "{script}: {line}\n{stderr}");
    assert_eq!(
        line.contains(" ext=permessage-deflate"),
        deflate,
        "{script}: {line}"
    );
    let end = server
        .next_end(INTEROP_LIMIT)
        .expect("our server reports the end");
    let r = end.report.expect("close report");
    assert!(r.clean, "{r:?}");
    assert_eq!(r.code(), CloseCode::NORMAL, "{r:?}");
    assert_eq!(end.messages, 111);
    assert!(end.error.is_none(), "{:?}", end.error);
}

/// Our client of `kind` runs the standard exchange against a peer echo server (`script`:
/// py_echo_server.py or node_echo_server.js), which must see a 1000 close both ways. Our
/// client offers permessage-deflate (`big_config`); this server declines it.
pub fn our_client_against_peer_server(kind: Kind, test: &str, script: &str) {
    our_client_scenario(kind, test, script, false);
}

/// [`our_client_against_peer_server`] with the peer server accepting permessage-deflate
/// (`--deflate`, its default settings): both ends must say it was agreed.
pub fn our_client_against_peer_server_deflate(kind: Kind, test: &str, script: &str) {
    our_client_scenario(kind, test, script, true);
}

fn our_client_scenario(kind: Kind, test: &str, script: &str, deflate: bool) {
    let Some(env) = peers::peer_env(test) else {
        return;
    };
    let args: &[&str] = if deflate { &["--deflate"] } else { &[] };
    let server = peers::PeerServer::start_with(&env, script, args);
    let agreed = |p: Option<&wsmachine::DeflateParams>| {
        assert_eq!(p.is_some(), deflate, "{kind:?} {script}: agreed {p:?}");
    };
    let report = match kind {
        Kind::Std => {
            let mut ws = std_client(&server.url());
            agreed(ws.connection().deflate_params());
            std_exchange(&mut ws)
        }
        Kind::Mio => {
            let mut c = mio_client(&server.url());
            agreed(c.client().connection().deflate_params());
            mio_exchange(&mut c)
        }
        Kind::Smol => smol::block_on(async {
            let config = wsmachine_futures::Config::from(big_config());
            let mut ws = wsmachine_examples::smol_echo::runtime()
                .connect_with(&server.url(), config)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            agreed(ws.deflate_params().as_ref());
            crate::async_exchange::standard_exchange(&mut ws).await
        }),
    }
    .unwrap_or_else(|e| panic!("{kind:?} {script}: {e}"));
    assert!(report.clean, "{report:?}");
    if deflate {
        let ext = server
            .ext_line(INTEROP_LIMIT)
            .expect("the peer prints an EXT line");
        assert!(ext.starts_with("permessage-deflate"), "{script}: {ext}");
    }
    let close = server
        .close_line(INTEROP_LIMIT)
        .expect("the peer prints a CLOSE line");
    assert_eq!(close, ("1000".to_string(), "1000".to_string()));
}
