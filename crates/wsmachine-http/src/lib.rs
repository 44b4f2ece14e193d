//! # wsmachine-http
//!
//! The [`http`] crate's types at the edges of the [`wsmachine`] core (which is `no_std` and
//! knows only bytes): for HTTP servers that parse the request themselves (hyper, axum, any
//! framework built on `http` 1.x) and hand over the connection after a `101`, and for
//! clients whose requests start as `http` values.
//!
//! Every check is the core's: [`validate`] runs
//! [`Request::from_parts`](wsmachine::Request::from_parts), the same checks the core's own
//! handshake parser makes; [`accept`] and [`respond`] build the answer with
//! [`Request::accept_response`](wsmachine::Request::accept_response) and
//! [`reject_response`](wsmachine::handshake::reject_response).
//!
//! Server, in a framework's handler:
//!
//! ```
//! # fn handler(req: http::Request<()>) -> http::Response<Vec<u8>> {
//! match wsmachine_http::upgrade(&req, &["chat"]) {
//!     Ok(upgrade) => {
//!         // Return upgrade.response (101) to the framework, and on its upgraded I/O start
//!         // a server connection with no HTTP handshake (e.g. `wsmachine_tokio::open`).
//!         upgrade.response.map(|()| Vec::new())
//!     }
//!     // 400, 405, 426 with `Sec-WebSocket-Version: 13`, ...
//!     Err(e) => wsmachine_http::error_response(&e),
//! }
//! # }
//! # let req = http::Request::get("/").header("host", "h").header("upgrade", "websocket")
//! #     .header("connection", "upgrade").header("sec-websocket-version", "13")
//! #     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==").body(()).unwrap();
//! # assert_eq!(handler(req).status(), 101);
//! ```
//!
//! permessage-deflate (cargo feature `deflate`): with a config whose `deflate` is set,
//! [`upgrade_with`] (or [`validate`] then [`respond_with`]) answers the client's offer in
//! the `101`, and [`Upgrade::connection`] (or [`server_connection`] for a `101` from
//! [`respond_with`]) is the server connection that runs what the `101` agreed to; hand it
//! to the adapter instead of opening a plain one:
//!
//! ```ignore
//! let config = wsmachine::Config { deflate: Some(DeflateConfig::default()), ..Default::default() };
//! let upgrade = wsmachine_http::upgrade_with(&req, &["chat"], &config)?;
//! let conn = upgrade.connection(config);
//! // return upgrade.response; then, on the upgraded I/O:
//! let ws = wsmachine_tokio::from_connection(io, conn, wsmachine_tokio::Config::from(config));
//! ```
//!
//! - Server: [`validate`] / [`upgrade`] / [`accept`] / [`respond`] / [`error_response`] for
//!   HTTP/1.1 upgrades ([`upgrade_with`] / [`respond_with`] / [`server_connection`] with a
//!   config), [`extended_connect`] for HTTP/2 (RFC 8441);
//!   [`request_to_http`] and [`headers_from_http`] / [`headers_to_http`] for the rest.
//! - Client: [`client_request_from_uri`] and [`client_request_from_http`] build a
//!   [`ClientRequest`](wsmachine::ClientRequest) (what every adapter's `connect` takes);
//!   [`client_handshake_to_http`] and [`response_from_http`] run the handshake through an
//!   HTTP client that does the upgrade itself (hyper's client); [`response_to_http`].
//!
//! Costs: each conversion copies the headers once (O(their size)); building a response
//! also parses the bytes the core wrote for it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod error;
mod head;
mod server;

pub use client::{
    client_handshake_to_http, client_request_from_http, client_request_from_uri,
    response_from_http, response_to_http,
};
pub use error::ConvertError;
pub use head::{headers_from_http, headers_to_http};
pub use server::{
    RequestHead, Upgrade, accept, error_response, extended_connect, request_to_http, respond,
    respond_with, server_connection, upgrade, upgrade_with, validate,
};

pub use http;
pub use wsmachine;
