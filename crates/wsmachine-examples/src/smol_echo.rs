//! An echo server on smol, over the runtime-agnostic futures adapter (`wsmachine-futures`):
//! every text and binary message goes back unchanged. A task per connection on smol's
//! global executor (`SMOL_THREADS` threads, default 1), at most [`DEFAULT_MAX_CONNECTIONS`]
//! (or the cap given) at once: past the cap, new connections wait in the listen backlog.
//! One connection's failure never stops the accept loop; accept errors back off and are
//! logged at most once a second. Used by the `smol_echo_server` example and by the tests
//! (in-process, on port 0).
//!
//! The echo loop itself is [`async_echo::echo_connection`](crate::async_echo), the same
//! code the tokio echo server runs: the handles are the same type on both runtimes.

use std::net::SocketAddr;
use std::sync::Arc;

use smol::net::TcpListener;
use wsmachine_futures::{Config, Decision, Runtime};

use crate::async_echo::{AcceptErrors, echo_connection};
pub use crate::async_echo::{ConnectionEnd, Log, stderr_log};

/// How many connections [`serve_echo`] serves at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The runtime the smol examples open connections on: async-io's timer (smol's own) and
/// `smol::spawn` for the task that takes over a dropped receiver.
pub fn runtime() -> Runtime {
    Runtime::async_io().spawner(|task| smol::spawn(task).detach())
}

/// The echo server's configuration: [`big_message_config`](crate::big_message_config)
/// (messages and frames up to 64 MiB, a 160 MiB send queue) with the adapter's defaults.
pub fn echo_config() -> Config {
    Config::from(crate::big_message_config())
}

/// Accepts connections on `listener` forever, a smol task each, echoing, at most
/// `max_connections` (at least 1) at once. Logs each connection's errors and end with its
/// peer address to `log`, and hands how it ended to `on_end`.
pub async fn serve_echo(
    listener: TcpListener,
    config: Config,
    max_connections: usize,
    log: Log,
    on_end: Arc<dyn Fn(ConnectionEnd) + Send + Sync>,
) {
    let runtime = runtime();
    let slots = Arc::new(smol::lock::Semaphore::new(max_connections.max(1)));
    let mut errors = AcceptErrors::new();
    loop {
        let slot = slots.acquire_arc().await;
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                let pause = errors.failed(&e, &log);
                smol::Timer::after(pause).await;
                continue;
            }
        };
        errors.succeeded();
        let handshake = runtime.accept_with(stream, config, |_| Decision::accept());
        let (log, on_end) = (log.clone(), on_end.clone());
        smol::spawn(async move {
            let _slot = slot;
            let end = match handshake.await {
                Ok(ws) => echo_connection(ws, &log).await,
                Err(e) => {
                    log(format!("{addr}: handshake failed: {e}"));
                    ConnectionEnd {
                        peer: Some(addr),
                        messages: 0,
                        error: Some(e),
                        report: None,
                    }
                }
            };
            on_end(end);
        })
        .detach();
    }
}

/// Binds `addr` and runs [`serve_echo`] on a thread of its own (for tests; it runs until
/// the process exits). Returns the bound address.
pub fn spawn(
    addr: &str,
    config: Config,
    log: Log,
    on_end: Arc<dyn Fn(ConnectionEnd) + Send + Sync>,
) -> std::io::Result<SocketAddr> {
    let listener = smol::block_on(TcpListener::bind(addr))?;
    let local = listener.local_addr()?;
    std::thread::Builder::new()
        .name("smol-echo-accept".into())
        .spawn(move || {
            smol::block_on(serve_echo(
                listener,
                config,
                DEFAULT_MAX_CONNECTIONS,
                log,
                on_end,
            ))
        })?;
    Ok(local)
}
