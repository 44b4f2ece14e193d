//! A client core and a server core talking through a lossless in-memory pipe that the fuzzer
//! drives: how many bytes move each way per step, what each side sends when, and when time
//! advances. Every message sent is received exactly once, in order and byte-identical, until
//! either side closes or fails (a close, a failure or a limit then explains any absence).
//!
//! Input: `[setup][ops...]`, both parsed with arbitrary. With `handshake` set the pair first
//! runs the real opening handshake (`Connection::client` / `Connection::server` + accept).
//! With `deflate` set both sides run permessage-deflate: negotiated in the handshake from
//! each side's own settings (both must end with the same parameters), or agreed outright
//! (`use_deflate`) without one; every message must still arrive byte-identical, with the
//! limits applying to inflated sizes.
#![no_main]
use std::collections::VecDeque;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use wsmachine::{
    Accept, ClientRequest, CloseCode, Connection, Event, Message, MessageKind, Timestamp,
};
use wsmachine_fuzz::{FuzzConfig, FuzzDeflate, Watched};
use wsmachine_test_support::Pair;

#[derive(Debug, Arbitrary)]
struct Setup {
    client_config: FuzzConfig,
    server_config: FuzzConfig,
    seed: u64,
    handshake: bool,
    /// permessage-deflate: the client's and the server's settings.
    deflate: Option<(FuzzDeflate, FuzzDeflate)>,
}

#[derive(Debug, Arbitrary)]
enum Payload {
    Text(String),
    Binary(Vec<u8>),
    Big { text: bool, len: u16, byte: u8 },
}

#[derive(Debug, Arbitrary)]
enum Op {
    Send {
        from_client: bool,
        payload: Payload,
    },
    Fragment {
        from_client: bool,
        text: bool,
        data: Vec<u8>,
        last: bool,
    },
    Ping {
        from_client: bool,
        data: Vec<u8>,
    },
    Pong {
        from_client: bool,
        data: Vec<u8>,
    },
    Close {
        from_client: bool,
        code: u16,
        reason: String,
    },
    /// Move up to `n` bytes from one side's output into the other's input.
    Move {
        to_server: bool,
        n: u16,
    },
    MoveAll,
    Poll {
        client: bool,
    },
    Advance {
        ms: u32,
    },
}

/// One side: the connection, its oracles, and what the other side expects from it.
struct Side {
    w: Watched,
    /// Messages this side sent successfully, not yet received by the other.
    sent: VecDeque<Message>,
    /// A fragmented message this side is sending.
    sending: Option<(MessageKind, Vec<u8>)>,
    /// A fragmented message this side is receiving (fragment receive mode).
    receiving: Option<(MessageKind, Vec<u8>)>,
}

impl Side {
    fn new(conn: Connection) -> Self {
        let limit = conn.config().limits.max_send_queue;
        let mut w = Watched::new(conn, Timestamp::ZERO);
        w.queue_limit = Some(limit);
        Side {
            w,
            sent: VecDeque::new(),
            sending: None,
            receiving: None,
        }
    }
}

struct Fuzzed {
    client: Side,
    server: Side,
    /// Exact delivery is checked until a close starts or a side fails.
    checking: bool,
    now: Timestamp,
    handshake: bool,
    /// The server's 101 response bytes still to reach the client's parser.
    accepted: bool,
}

impl Fuzzed {
    fn side(&mut self, client: bool) -> (&mut Side, &mut Side) {
        if client {
            (&mut self.client, &mut self.server)
        } else {
            (&mut self.server, &mut self.client)
        }
    }

    /// Drains `receiver`'s events and matches delivered messages against what the other
    /// side sent.
    fn poll(&mut self, client: bool) {
        let checking = self.checking;
        let mut accepted = false;
        let (me, other) = self.side(client);
        let evs = me.w.drain_events();
        let mut stop = false;
        for ev in evs {
            let got = match ev {
                Event::Request(_) => {
                    assert!(!client, "client got a Request event");
                    let r = me.w.conn.accept(me.w.now, &Accept::default());
                    if r.is_ok() {
                        let raw = me.w.conn.pending_transmit();
                        me.w.out.skip_raw(raw);
                        accepted = true;
                    } else {
                        stop = true;
                    }
                    None
                }
                Event::Message(m) => Some(m),
                Event::Fragment(f) => {
                    match (&mut me.receiving, f.is_first) {
                        (None, true) => me.receiving = Some((f.kind, f.data.to_vec())),
                        (Some((k, buf)), false) => {
                            assert_eq!(*k, f.kind, "fragment kind changed mid-message");
                            buf.extend_from_slice(&f.data);
                        }
                        (r, first) => panic!(
                            "fragment order broken: is_first={first}, open={:?}",
                            r.as_ref().map(|x| x.0)
                        ),
                    }
                    if f.is_last {
                        let (k, buf) = me.receiving.take().expect("open fragment message");
                        Some(match k {
                            MessageKind::Text => Message::Text(
                                String::from_utf8(buf)
                                    .expect("text message is UTF-8")
                                    .into(),
                            ),
                            MessageKind::Binary => Message::Binary(buf.into()),
                        })
                    } else {
                        None
                    }
                }
                Event::Error(_) | Event::CloseReceived(_) | Event::Closed(_) => {
                    stop = true;
                    None
                }
                _ => None,
            };
            if let Some(m) = got
                && checking
                && !stop
            {
                let want = other.sent.pop_front();
                assert_eq!(
                    want.as_ref(),
                    Some(&m),
                    "message received out of order, twice, or changed"
                );
            }
        }
        if stop {
            self.checking = false;
        }
        if accepted {
            self.accepted = true;
        }
    }

    fn move_bytes(&mut self, to_server: bool, n: usize) -> usize {
        let (from, to) = self.side(!to_server);
        let mut buf = Vec::new();
        let got = from.w.conn.write_transmit_to(&mut buf, n);
        assert_eq!(got, buf.len());
        from.w.out.push(&buf);
        if !buf.is_empty() {
            to.w.feed(&buf);
        }
        from.w.check();
        self.poll(!to_server);
        self.poll(to_server);
        got
    }

    fn move_all(&mut self) {
        for _ in 0..10_000 {
            let a = self.move_bytes(true, usize::MAX);
            let b = self.move_bytes(false, usize::MAX);
            if a == 0 && b == 0 {
                return;
            }
        }
        panic!("the pipe never went quiet");
    }

    fn send(&mut self, from_client: bool, m: Message) {
        let (me, _) = self.side(from_client);
        if me.w.conn.send(m.clone()).is_ok() {
            assert!(
                me.sending.is_none(),
                "send() accepted inside a fragmented message"
            );
            me.sent.push_back(m);
        }
        me.w.check();
    }
}

fn run(data: &[u8]) -> Option<()> {
    let mut u = Unstructured::new(data);
    let setup = Setup::arbitrary(&mut u).ok()?;
    let mut cc = setup.client_config.build();
    let mut sc = setup.server_config.build();
    // The handshake itself is covered by the handshake targets; keep its timer generous here.
    cc.timers.handshake_timeout = Some(Duration::from_secs(3600));
    sc.timers.handshake_timeout = Some(Duration::from_secs(3600));
    if let Some((c, s)) = setup.deflate {
        cc.deflate = Some(c.settings());
        sc.deflate = Some(s.settings());
    }
    // The same pair the core's tests use, before the fuzzer takes over the pipe.
    let joined = if setup.handshake {
        let req = ClientRequest::new("ws://example.com/chat").ok()?;
        Pair::connecting(&req, cc, sc, setup.seed, Timestamp::ZERO)
    } else {
        Pair::open(cc, sc, setup.seed)
    };
    let (mut client, mut server) = (joined.client, joined.server);
    if let (Some((c, s)), false) = (setup.deflate, setup.handshake) {
        // Agreed outright: the client's settings are the parameters.
        client.use_deflate(c.params(), c.settings());
        server.use_deflate(c.params(), s.settings());
    }
    let mut client = Side::new(client);
    client.w.write_transcript(Some("client"));
    client.w.out.deflate = setup.deflate.is_some();
    if setup.handshake {
        // The request bytes are not frames.
        client.w.out.skip_raw(client.w.conn.pending_transmit());
    }
    let mut server = Side::new(server);
    server.w.write_transcript(Some("server"));
    server.w.out.deflate = setup.deflate.is_some();
    let mut p = Fuzzed {
        client,
        server,
        checking: true,
        now: Timestamp::ZERO,
        handshake: setup.handshake,
        accepted: !setup.handshake,
    };
    if p.handshake {
        p.move_all();
        if !p.client.w.conn.state().eq(&wsmachine::State::Open) {
            return None;
        }
    }
    let agreed = p.client.w.conn.deflate_params().copied();
    assert_eq!(
        agreed,
        p.server.w.conn.deflate_params().copied(),
        "the two ends run different permessage-deflate parameters"
    );
    assert_eq!(
        agreed.is_some(),
        setup.deflate.is_some(),
        "permessage-deflate agreed without both ends asking, or not with both"
    );
    let mut steps = 0;
    while !u.is_empty() && steps < 400 {
        steps += 1;
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        match op {
            Op::Send {
                from_client,
                payload,
            } => {
                let m = match payload {
                    Payload::Text(s) => Message::text(s),
                    Payload::Binary(b) => Message::binary(b),
                    Payload::Big { text, len, byte } => {
                        let n = usize::from(len) * 2;
                        if text {
                            Message::text("é".repeat(n / 2))
                        } else {
                            Message::binary(vec![byte; n])
                        }
                    }
                };
                p.send(from_client, m);
            }
            Op::Fragment {
                from_client,
                text,
                data,
                last,
            } => {
                let (me, _) = p.side(from_client);
                let kind = if text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                if me
                    .w
                    .conn
                    .send_fragment(kind, Bytes::from(data.clone()), last)
                    .is_ok()
                {
                    let buf = match &mut me.sending {
                        Some((k, buf)) => {
                            assert_eq!(*k, kind, "send_fragment accepted a kind change");
                            buf
                        }
                        None => &mut me.sending.insert((kind, Vec::new())).1,
                    };
                    buf.extend_from_slice(&data);
                    if last {
                        let (k, buf) = me.sending.take().expect("open");
                        me.sent.push_back(match k {
                            MessageKind::Text => Message::Text(
                                String::from_utf8(buf)
                                    .expect("send_fragment let invalid UTF-8 through")
                                    .into(),
                            ),
                            MessageKind::Binary => Message::Binary(buf.into()),
                        });
                    }
                }
                me.w.check();
            }
            Op::Ping { from_client, data } => {
                let (me, _) = p.side(from_client);
                let _ = me.w.conn.ping(Bytes::from(data));
                me.w.check();
            }
            Op::Pong { from_client, data } => {
                let (me, _) = p.side(from_client);
                let _ = me.w.conn.pong(Bytes::from(data));
                me.w.check();
            }
            Op::Close {
                from_client,
                code,
                reason,
            } => {
                let (me, _) = p.side(from_client);
                let closed = me.w.conn.close(me.w.now, CloseCode(code), &reason).is_ok();
                if closed {
                    me.sending = None;
                }
                me.w.check();
                if closed {
                    p.checking = false;
                }
            }
            Op::Move { to_server, n } => {
                p.move_bytes(to_server, usize::from(n));
            }
            Op::MoveAll => p.move_all(),
            Op::Poll { client } => p.poll(client),
            Op::Advance { ms } => {
                p.now = p.now + Duration::from_millis(u64::from(ms % 120_000));
                p.client.w.conn.handle_timeout(p.now);
                p.server.w.conn.handle_timeout(p.now);
                p.client.w.now = p.now;
                p.server.w.now = p.now;
                p.poll(true);
                p.poll(false);
            }
        }
    }
    // Let everything through: with no close or failure, everything sent must have arrived.
    p.move_all();
    p.poll(true);
    p.poll(false);
    if p.checking && !p.client.w.conn.is_closed() && !p.server.w.conn.is_closed() {
        assert!(
            p.client.sent.is_empty(),
            "client messages never arrived: {}",
            p.client.sent.len()
        );
        assert!(
            p.server.sent.is_empty(),
            "server messages never arrived: {}",
            p.server.sent.len()
        );
    }
    // A clean close both ways, if nothing ended yet, must finish cleanly.
    if !p.client.w.conn.is_closed()
        && !p.server.w.conn.is_closed()
        && p.client.w.conn.state() == wsmachine::State::Open
        && p.server.w.conn.state() == wsmachine::State::Open
    {
        p.client
            .w
            .conn
            .close(p.now, CloseCode::NORMAL, "bye")
            .expect("close on an open connection");
        p.move_all();
        assert!(
            p.server.w.ev.closed,
            "server did not close after the client's Close"
        );
        p.client.w.conn.handle_eof();
        p.poll(true);
        assert!(
            p.client.w.ev.closed,
            "client did not close after the server's EOF"
        );
    }
    p.client.w.finish_with_eof();
    p.server.w.finish_with_eof();
    Some(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
