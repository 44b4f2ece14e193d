//! Echo servers inside HTTP frameworks: [`serve_hyper_echo`] (hyper 1) and
//! [`serve_axum_echo`] / [`axum_echo_app`] (axum), each echoing at any path.
//!
//! The recipe, the same in both: the framework parses the request;
//! [`wsmachine_http`] validates it with the core's checks and builds the `101` (or the
//! error response: 400, 405, 426 ...), answering a permessage-deflate offer when the config
//! has `deflate` ([`wsmachine_http::upgrade_with`], [`wsmachine_http::respond_with`]); the
//! framework writes it and hands over the connection (`hyper::upgrade::on`); the tokio
//! adapter runs the server connection that `101` agreed to
//! ([`wsmachine_http::server_connection`], no HTTP handshake) on the upgraded I/O
//! (`hyper_util::rt::TokioIo`) with [`wsmachine_tokio::from_connection`]. The axum server also shows an async decision before the
//! upgrade: a token checked against a store that is awaited, as a database would be.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wsmachine::{Accept, Connection, Decision, Request};
use wsmachine_tokio::Config;

use crate::tokio_echo::{Log, echo};

/// A log sink that prefixes every line with the peer's address.
fn with_peer(log: &Log, peer: SocketAddr) -> Log {
    let log = log.clone();
    Arc::new(move |line| log(format!("{peer}: {line}")))
}

/// Once the framework has written the `101`, runs the echo on the upgraded connection
/// `conn` (built for that `101`: permessage-deflate if it agreed to it), in a task of its
/// own so that the HTTP service returns at once.
fn echo_after_upgrade(on_upgrade: OnUpgrade, conn: Connection, config: Config, log: Log) {
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = wsmachine_tokio::from_connection(TokioIo::new(upgraded), conn, config);
                match ws.deflate_params() {
                    Some(p) => log(format!("upgraded ({})", p.to_header_value())),
                    None => log("upgraded".into()),
                }
                echo(ws, &log).await;
            }
            Err(e) => log(format!("upgrade failed: {e}")),
        }
    });
}

/// Backs off after a failed `accept` (e.g. out of file descriptors) and says so.
async fn accept_failed(log: &Log, e: std::io::Error) {
    log(format!("accept failed: {e}"));
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The hyper service: any request that is a valid upgrade gets its `101` and an echo;
/// any other gets the core's error response (a plain GET: 400 `missing header Upgrade`).
async fn hyper_upgrade(
    mut req: hyper::Request<Incoming>,
    config: Config,
    log: Log,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    match wsmachine_http::upgrade_with(&req, &[] as &[&str], &config.core) {
        Ok(upgrade) => {
            let conn = upgrade.connection(config.core);
            echo_after_upgrade(hyper::upgrade::on(&mut req), conn, config, log);
            Ok(upgrade.response.map(|()| Full::default()))
        }
        Err(e) => {
            log(format!("refused {} {}: {e}", req.method(), req.uri()));
            Ok(wsmachine_http::error_response(&e).map(|body| Full::new(Bytes::from(body))))
        }
    }
}

/// Runs a hyper 1 HTTP/1.1 server on `listener` forever, echoing WebSocket messages at any
/// path. One connection's failure is logged with its address and never stops the loop.
pub async fn serve_hyper_echo(listener: TcpListener, config: Config, log: Log) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                accept_failed(&log, e).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let log = with_peer(&log, peer);
        tokio::spawn(async move {
            let service = service_fn(|req| hyper_upgrade(req, config, log.clone()));
            let served = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
            if let Err(e) = served {
                log(format!("http: {e}"));
            }
        });
    }
}

/// The tokens that may connect, behind an async lock: a stand-in for the database an
/// application would ask. An empty store lets everyone in.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: tokio::sync::RwLock<HashSet<String>>,
}

impl TokenStore {
    /// A store holding `tokens` (none: no check).
    pub fn new(tokens: impl IntoIterator<Item = String>) -> Self {
        TokenStore {
            tokens: tokio::sync::RwLock::new(tokens.into_iter().collect()),
        }
    }

    /// Adds a token.
    pub async fn insert(&self, token: String) {
        self.tokens.write().await.insert(token);
    }

    /// Whether `token` may connect: an async look-up (it waits for the lock, as a query
    /// waits for its database).
    pub async fn allows(&self, token: Option<&str>) -> bool {
        let tokens = self.tokens.read().await;
        tokens.is_empty() || token.is_some_and(|t| tokens.contains(t))
    }
}

/// What the axum handler needs.
#[derive(Clone)]
pub struct AxumEcho {
    /// Who may connect.
    pub tokens: Arc<TokenStore>,
    /// The connections' configuration.
    pub config: Config,
    /// The log sink.
    pub log: Log,
}

/// The token a client presents: `Authorization: Bearer <token>`, or `?token=<token>` in
/// the query (browsers cannot set headers on a WebSocket).
fn presented_token(request: &Request) -> Option<&str> {
    if let Some(value) = request.headers.get_str("authorization") {
        return value.strip_prefix("Bearer ").map(str::trim);
    }
    request
        .query
        .as_deref()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
}

/// The async accept decision: validate, then ask the token store; accept (no subprotocol)
/// or refuse with 401 and `WWW-Authenticate: Bearer`.
async fn decide(request: &Request, tokens: &TokenStore) -> Decision {
    if tokens.allows(presented_token(request)).await {
        Decision::Accept(Accept::negotiate(request, &[] as &[&str], Vec::new()))
    } else {
        Decision::Reject {
            status: 401,
            headers: vec![
                ("WWW-Authenticate".into(), "Bearer".into()),
                ("Content-Type".into(), "text/plain; charset=utf-8".into()),
            ],
            body: b"a valid token is required\n".to_vec(),
        }
    }
}

/// The axum handler for every path.
async fn axum_upgrade(
    State(app): State<AxumEcho>,
    mut req: axum::extract::Request,
) -> axum::response::Response {
    let log = match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => with_peer(&app.log, *peer),
        None => app.log.clone(),
    };
    let request = match wsmachine_http::validate(&req) {
        Ok(r) => r,
        Err(e) => {
            log(format!("refused {}: {e}", req.uri()));
            return wsmachine_http::error_response(&e).map(axum::body::Body::from);
        }
    };
    let decision = decide(&request, &app.tokens).await;
    let response = wsmachine_http::respond_with(&request, &decision, &app.config.core);
    if response.status() == hyper::StatusCode::SWITCHING_PROTOCOLS {
        let conn = wsmachine_http::server_connection(&response, app.config.core);
        echo_after_upgrade(hyper::upgrade::on(&mut req), conn, app.config, log);
    } else {
        log(format!("refused {}: {}", req.uri(), response.status()));
    }
    response.map(axum::body::Body::from)
}

/// The axum app: WebSocket echo at any path, after the async token check.
pub fn axum_echo_app(app: AxumEcho) -> axum::Router {
    axum::Router::new().fallback(axum_upgrade).with_state(app)
}

/// Serves [`axum_echo_app`] on `listener` forever (`axum::serve`, which lets handlers
/// take over upgraded connections), with the peers' addresses for the log.
pub async fn serve_axum_echo(listener: TcpListener, app: AxumEcho) -> std::io::Result<()> {
    let service = axum_echo_app(app).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).await
}
