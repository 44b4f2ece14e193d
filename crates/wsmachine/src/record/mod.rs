//! Record and replay (feature `record`): a [`Connection`](crate::Connection) built with
//! [`Config::record`](crate::Config::record) logs every input it is given and every output
//! it hands back into a transcript; [`replay`] runs a transcript through a fresh connection
//! and checks that it does exactly the same thing, reporting the first [`Divergence`].
//!
//! A failure seen in the field (a peer that vanished mid-write, a phone that slept, an EOF
//! during the close handshake) becomes a deterministic test: record it, keep the file, replay
//! it in CI. The core is sans-IO and takes the time as an input, so the inputs determine
//! everything; the only other source, the random bytes a client draws for its handshake key
//! and masking keys, is recorded too.
//!
//! ```
//! use wsmachine::{Config, Connection, Role, Timestamp};
//! let config = Config { record: true, ..Config::default() };
//! let mut server = Connection::open(Role::Server, config, Timestamp::ZERO);
//! // A masked text frame "hi" from a client, then the events, then the transport's end.
//! server.handle_input(Timestamp::from_millis(5), &[0x81, 0x82, 1, 2, 3, 4, 0x69, 0x6b]);
//! while server.poll_event().is_some() {}
//! server.handle_eof();
//! while server.poll_event().is_some() {}
//! let transcript = server.take_transcript();
//! let replayed = wsmachine::record::replay(&transcript).expect("replays identically");
//! assert!(replayed.connection.is_closed());
//! ```
//!
//! # What is recorded
//!
//! Every public call that changes the connection, in call order, with its arguments:
//! construction (role, configuration, the client's request, the time), bytes received (from
//! `handle_input`, `handle_input_owned` or appended before `handle_input_appended`) with
//! their time, EOF, reset, write shut, `handle_timeout(now)`, `accept`/`reject`/`decide`,
//! `use_deflate`, the application's sends, fragments, pings, pongs and closes, each
//! `poll_event` call, and each acknowledgement of output (`advance_transmit(n)`,
//! `poll_transmit`, `write_transmit_to`), so that a replay reproduces the same interleaving
//! of input, parsing and output. Read-only queries (`wants_input`, `poll_timeout`,
//! `transmit_slices`, ...) change nothing and are not recorded.
//!
//! With the inputs it records what they produced, to check a replay: the result of every
//! command, every event `poll_event` returned (data as length and [`Digest`], control
//! frames in full, errors as text with their [`Diagnostic`](crate::Diagnostic)), the length
//! and digest of every acknowledged chunk of output, and the random bytes drawn.
//!
//! # Cost
//!
//! Off (the default, or without the feature): nothing; without the feature the hooks
//! compile to nothing. On: every received byte and every payload sent is copied into the
//! transcript, plus a few bytes per call; every output byte and every received message is
//! digested once (FNV-1a, about one multiply per byte). The transcript stays in the
//! connection until [`take_transcript`](crate::Connection::take_transcript) takes it: take
//! it as you go (each call returns the bytes since the last; their concatenation is the
//! transcript) to bound the memory. no_std + alloc.
//!
//! # Adapters
//!
//! The adapters pass [`Config`](crate::Config) through, so setting `record` in it turns
//! recording on for a std, tokio, futures-io (smol) or mio connection; each has a `record`
//! feature with a `take_transcript` (`wsmachine_std::WebSocket`; the async `WebSocket`
//! and `Receiver` that `wsmachine-tokio` and `wsmachine-futures` share;
//! `wsmachine_mio::Server` by connection id; a `MioConnection`'s core is reached with
//! `connection_mut`). Take the pieces as the connection runs and once more
//! when it ends, and append them to a file: that file replays.
//!
//! # Fuzzing and regression tests
//!
//! The fuzz targets write the transcript of the input they run to `WSM_TRANSCRIPT_OUT`
//! (see `fuzz/README.md`). Every `*.wsrec` file in `crates/wsmachine/tests/transcripts/` is
//! replayed by `cargo test -p wsmachine`; `examples/record_failures.rs` recorded the
//! classic failures shipped there. `cargo run -p wsmachine --features record --example
//! transcript -- dump FILE` prints a transcript one record a line (`replay FILE` replays it).
//!
//! # FORMAT
//!
//! Version 1. A transcript is a header followed by records, with no length prefix and no
//! trailer: a transcript cut short is still readable up to its last whole record.
//!
//! ```text
//! transcript = "WSREC" version:u8(=1) record*
//! record     = tag:u8 body
//! ```
//!
//! Primitives: `uvar` is an unsigned LEB128 integer (7 bits per byte, low bits first, at
//! most 10 bytes); `u64le` 8 bytes little-endian; `bool` one byte 0 or 1; `bytes` a `uvar`
//! length then the bytes; `str` the same, UTF-8; `opt<T>` a `bool` then `T` if 1;
//! `list<T>` a `uvar` count then the items; `time` and `dur` are `uvar` seconds then
//! `uvar` nanoseconds (< 10⁹); `kind` is 1 text, 2 binary; `digest` is a `u64le`
//! [`Digest`] (FNV-1a 64).
//!
//! `config` is, in order: `max_frame_size`, `max_message_size`, `max_fragments`,
//! `max_send_queue`, `max_pong_backlog`, `input_high_water`, handshake `max_header_bytes`,
//! handshake `max_headers` (each `uvar`); `handshake_timeout`, `ping_interval`,
//! `pong_timeout`, `close_timeout`, `idle_timeout`, `drain_timeout` (each `opt<dur>`);
//! receive mode `u8` (0 messages, 1 fragments); `auto_pong` `bool`; `auto_fragment_size`
//! `opt<uvar>`; `deflate` `opt<deflate-config>`. `deflate-config` is
//! `server_no_context_takeover` `bool`, `client_no_context_takeover` `bool`,
//! `server_max_window_bits` `u8`, `client_max_window_bits` `u8`, `level` `u8`,
//! `memory_level` `u8`, `threshold` `uvar`. `deflate-params` is the two no-context-takeover
//! `bool`s and the two window bits as `u8` (0: absent).
//!
//! `request` (a client's) is `tls` `bool`, the `Host` value `str`, the resource `str`,
//! subprotocols `list<str>`, extension offers `list<str>`, extra headers
//! `list<(str, str)>`. `accept` is the subprotocol `opt<str>`, extensions `list<str>`,
//! headers `list<(str, str)>`.
//!
//! | tag | record | body |
//! |---|---|---|
//! | `0x01` | construction: `open_with_random` | role `u8` (0 client, 1 server), `time`, `config` |
//! | `0x02` | construction: `server` | `time`, `config` |
//! | `0x03` | construction: `client_with_random` | `time`, `config`, `request` |
//! | `0x10` | bytes received | `time`, `bytes` |
//! | `0x11` | EOF | — |
//! | `0x12` | reset | — |
//! | `0x13` | write side shut | — |
//! | `0x14` | `handle_timeout` | `time` |
//! | `0x20` | `accept` | `time`, `accept` |
//! | `0x21` | `reject` | status `uvar`, headers `list<(str, str)>`, body `bytes` |
//! | `0x22` | `use_deflate` | `deflate-params`, `deflate-config` |
//! | `0x30` | `send` / `send_uncompressed` | `kind`, may compress `bool`, payload `bytes` |
//! | `0x31` | `send_fragment[_uncompressed]` | `kind`, may compress `bool`, last `bool`, data `bytes` |
//! | `0x32` | `ping` | payload `bytes` |
//! | `0x33` | `pong` | payload `bytes` |
//! | `0x34` | `close` | `time`, code `uvar`, reason `str` |
//! | `0x3f` | outcome of the command before | `u8`: 0 ok; 1-10 a `SendError` (not open, closing, closed, queue full + queued `uvar` + limit `uvar`, control too long + `uvar`, invalid close code + `uvar`, reason too long + `uvar`, invalid UTF-8, message in progress, kind mismatch); `0x40` no pending request; `0x41` invalid accept |
//! | `0x40` | `poll_event` and its event | `event` (below) |
//! | `0x41` | `advance_transmit(n)` | `n` `uvar`, bytes acknowledged `uvar`, `digest` of them |
//! | `0x42` | `poll_transmit` | `opt<(len uvar, digest)>` |
//! | `0x43` | `write_transmit_to(out, max)` | `max` `uvar`, bytes copied `uvar`, `digest` |
//! | `0x50` | random bytes drawn by the call before | `bytes` |
//!
//! `event` is a `u8` then: 0 none; 1 request (a summary `str`); 2 connected (a summary
//! `str`); 3 message: `kind`, length `uvar`, `digest`; 4 fragment: `kind`, first `bool`,
//! last `bool`, length `uvar`, `digest`; 5 ping: payload `bytes`; 6 pong: payload
//! `bytes`; 7 close received: code `uvar`, reason `str`; 8 protocol error: close code
//! `uvar`, the error's text `str`, diagnostic offset `uvar`, frame `uvar`, two header bytes;
//! 9 another error (handshake, timeout): its text `str`; 10 closed: Close sent
//! `opt<(code uvar, reason str)>`, Close received (same), clean `bool`, closed by us `bool`,
//! transport end `u8` (0 none, 1 EOF, 2 reset, 3 write shut).
//!
//! The first record is a construction; exactly one. A client's construction is followed by
//! a `0x50` record with its 16-byte handshake key; masking keys are drawn 64 bytes at a
//! time and recorded after the call that drew them. A replay serves the random records'
//! bytes, concatenated, to the new connection's random source. New tags or event kinds
//! mean a new version.

mod format;
mod replay;

pub(crate) use format::Out;
pub use format::{
    Digest, EventRecord, FormatError, HEADER_LEN, MAGIC, Outcome, Record, Records, VERSION, records,
};
pub use replay::{Divergence, ReplayError, Replayed, replay};
