//! wsmachine-tokio: our client against our server over loopback TCP (and over
//! `tokio::io::duplex` without a handshake). Every test is bounded in time.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wsmachine_examples::tokio_echo::{Log, echo_config, serve_echo};
use wsmachine_tokio::{
    ClientRequest, CloseCode, Config, Decision, Error, Incoming, Message, MessageKind, Role,
    SendError, WebSocket,
};

const LIMIT: Duration = Duration::from_secs(30);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test did not finish in time")
}

fn quiet() -> Log {
    Arc::new(|_| {})
}

async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_echo(listener, echo_config(), quiet()));
    addr
}

/// A client connected to a fresh echo server.
async fn echo_client() -> WebSocket {
    let addr = echo_server().await;
    wsmachine_tokio::connect(&format!("ws://{addr}/"))
        .await
        .unwrap()
}

/// A server accepting one connection and handing it to `f`.
async fn one_shot_server<F, Fut>(f: F) -> SocketAddr
where
    F: FnOnce(WebSocket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let ws = wsmachine_tokio::accept(stream).await.unwrap();
        f(ws).await;
    });
    addr
}

async fn expect_message(ws: &mut WebSocket) -> Message {
    match ws.recv().await {
        Some(Ok(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn drain(ws: &mut WebSocket) {
    while ws.recv().await.is_some() {}
}

#[tokio::test]
async fn echo_text_binary_empty_and_large() {
    bounded(async {
        let mut ws = echo_client().await;
        assert!(ws.peer_addr().is_some());
        let big: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
        let big_text = "€abc".repeat(1 << 18);
        let cases = vec![
            Message::text("hello"),
            Message::text("héllo wörld 🎉 ∑"),
            Message::text(""),
            Message::binary(Bytes::new()),
            Message::binary((0..=255u8).collect::<Vec<_>>()),
            Message::binary(big),
            Message::text(big_text),
        ];
        for m in cases {
            ws.send(m.clone()).await.unwrap();
            assert_eq!(expect_message(&mut ws).await, m);
        }
        ws.close(CloseCode::NORMAL, "done").await.unwrap();
        drain(&mut ws).await;
        let report = ws.close_report().unwrap();
        assert!(report.clean, "{report:?}");
        assert_eq!(report.code(), CloseCode::NORMAL);
    })
    .await
}

#[tokio::test]
async fn fragmented_messages_are_echoed_whole() {
    bounded(async {
        let addr = echo_server().await;
        let mut ws = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        // "é" (2 bytes) split across fragments.
        let text = "abcé🎉xyz".as_bytes();
        ws.send_fragment(MessageKind::Text, &text[..4], false)
            .await
            .unwrap();
        ws.send_fragment(MessageKind::Text, &text[4..7], false)
            .await
            .unwrap();
        ws.send_fragment(MessageKind::Text, Bytes::copy_from_slice(&text[7..]), true)
            .await
            .unwrap();
        assert_eq!(expect_message(&mut ws).await, Message::text("abcé🎉xyz"));
        // A binary message in 100 pieces, then a kind mismatch is refused.
        for i in 0..100u8 {
            ws.send_fragment(MessageKind::Binary, vec![i; 1000], i == 99)
                .await
                .unwrap();
        }
        let m = expect_message(&mut ws).await;
        let want: Vec<u8> = (0..100u8).flat_map(|i| vec![i; 1000]).collect();
        assert_eq!(m, Message::binary(want));
        ws.send_fragment(MessageKind::Binary, vec![1], false)
            .await
            .unwrap();
        let e = ws
            .send_fragment(MessageKind::Text, &b"x"[..], true)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Send(SendError::KindMismatch)), "{e:?}");
        // Auto-fragmented sends are reassembled by the peer too.
        let cfg = Config::new().auto_fragment_size(Some(1000));
        let mut ws2 = wsmachine_tokio::connect_with(&format!("ws://{addr}/"), cfg)
            .await
            .unwrap();
        let payload: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        ws2.send(Message::binary(payload.clone())).await.unwrap();
        assert_eq!(expect_message(&mut ws2).await, Message::binary(payload));
    })
    .await
}

#[tokio::test]
async fn ping_pong_both_ways() {
    bounded(async {
        let (tx, rx) = oneshot::channel();
        let addr = one_shot_server(|mut ws| async move {
            ws.ping(&b"from server"[..]).await.unwrap();
            let mut got = None;
            while let Some(ev) = ws.recv_event().await {
                match ev {
                    Incoming::Pong(p) => got = Some(p),
                    Incoming::Message(m) => ws.send(m).await.unwrap_or(()),
                    _ => {}
                }
            }
            let _ = tx.send(got);
        })
        .await;
        let mut ws = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        ws.ping(&b"from client"[..]).await.unwrap();
        let mut saw_ping = false;
        loop {
            match ws.recv_event().await.unwrap() {
                Incoming::Pong(p) => {
                    assert_eq!(&p[..], b"from client");
                    break;
                }
                Incoming::Ping(p) => {
                    assert_eq!(&p[..], b"from server");
                    saw_ping = true;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // A ping over 125 bytes is refused locally.
        let e = ws.ping(vec![0u8; 126]).await.unwrap_err();
        assert!(matches!(e, Error::Send(SendError::ControlTooLong(126))));
        if !saw_ping {
            match ws.recv_event().await.unwrap() {
                Incoming::Ping(p) => assert_eq!(&p[..], b"from server"),
                other => panic!("unexpected {other:?}"),
            }
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        drain(&mut ws).await;
        let got = rx.await.unwrap();
        assert_eq!(got.as_deref(), Some(&b"from server"[..]));
    })
    .await
}

#[tokio::test]
async fn close_codes_client_side() {
    bounded(async {
        let (tx, rx) = oneshot::channel();
        let addr = one_shot_server(|mut ws| async move {
            let mut close = None;
            while let Some(ev) = ws.recv_event().await {
                if let Incoming::Close(f) = ev {
                    close = Some(f);
                }
            }
            let _ = tx.send((close, ws.close_report()));
        })
        .await;
        let mut ws = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        // Invalid codes and reasons are refused before anything is sent.
        assert!(matches!(
            ws.close(CloseCode(1005), "").await,
            Err(Error::Send(SendError::InvalidCloseCode(1005)))
        ));
        assert!(matches!(
            ws.close(CloseCode::NORMAL, &"x".repeat(124)).await,
            Err(Error::Send(SendError::ReasonTooLong(124)))
        ));
        ws.close(CloseCode(4001), "client bye").await.unwrap();
        // Sends after close return errors, no panic.
        let e = ws.send(Message::text("late")).await.unwrap_err();
        assert!(e.is_closed(), "{e:?}");
        drain(&mut ws).await;
        let report = ws.close_report().unwrap();
        assert!(report.clean, "{report:?}");
        assert_eq!(report.sent.as_ref().unwrap().code, CloseCode(4001));
        assert_eq!(report.code(), CloseCode(4001));
        let (close, server_report) = rx.await.unwrap();
        let close = close.unwrap();
        assert_eq!(close.code, CloseCode(4001));
        assert_eq!(close.reason, "client bye");
        let server_report = server_report.unwrap();
        assert!(server_report.clean, "{server_report:?}");
        assert_eq!(server_report.code(), CloseCode(4001));
        assert!(ws.send(Message::text("later")).await.is_err());
        assert!(ws.try_send(Message::text("later")).is_err());
    })
    .await
}

#[tokio::test]
async fn close_codes_server_side() {
    bounded(async {
        let (tx, rx) = oneshot::channel();
        let addr = one_shot_server(|mut ws| async move {
            let m = ws.recv().await.unwrap().unwrap();
            ws.send(m).await.unwrap();
            ws.close(CloseCode::GOING_AWAY, "server bye").await.unwrap();
            assert!(ws.send(Message::text("late")).await.is_err());
            drain(&mut ws).await;
            let _ = tx.send(ws.close_report());
        })
        .await;
        let mut ws = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        ws.send(Message::text("x")).await.unwrap();
        assert_eq!(expect_message(&mut ws).await, Message::text("x"));
        let mut close = None;
        while let Some(ev) = ws.recv_event().await {
            if let Incoming::Close(f) = ev {
                close = Some(f);
            }
        }
        let close = close.unwrap();
        assert_eq!(close.code, CloseCode::GOING_AWAY);
        assert_eq!(close.reason, "server bye");
        let report = ws.close_report().unwrap();
        assert!(report.clean, "{report:?}");
        assert_eq!(report.code(), CloseCode::GOING_AWAY);
        let server = rx.await.unwrap().unwrap();
        assert!(server.clean, "{server:?}");
        assert_eq!(server.sent.unwrap().code, CloseCode::GOING_AWAY);
    })
    .await
}

#[tokio::test]
async fn stream_and_sink_split_across_tasks() {
    bounded(async {
        let ws = echo_client().await;
        let (sender, mut receiver) = ws.split();
        let writer = tokio::spawn(async move {
            for i in 0..500u32 {
                let m = if i % 2 == 0 {
                    Message::text(format!("m{i}"))
                } else {
                    Message::binary(i.to_be_bytes().to_vec())
                };
                sender.send(m).await.unwrap(); // SinkExt::send
            }
            sender
        });
        for i in 0..500u32 {
            let m = receiver.next().await.unwrap().unwrap(); // StreamExt::next
            let want = if i % 2 == 0 {
                Message::text(format!("m{i}"))
            } else {
                Message::binary(i.to_be_bytes().to_vec())
            };
            assert_eq!(m, want);
        }
        let mut sender = writer.await.unwrap();
        SinkExt::close(&mut sender).await.unwrap(); // closes with 1000
        assert!(receiver.next().await.is_none());
        assert_eq!(receiver.close_report().unwrap().code(), CloseCode::NORMAL);
    })
    .await
}

/// `feed` only queues; a receiver waiting for input in another task is woken to write
/// it (the write happens nowhere else here: no flush, no other send, no timer soon).
#[tokio::test]
async fn fed_message_is_written_by_the_receiver_waiting_in_another_task() {
    bounded(async {
        let ws = echo_client().await;
        let (sender, mut receiver) = ws.split();
        let reader = tokio::spawn(async move {
            let m = receiver.recv().await.unwrap().unwrap();
            (m, receiver)
        });
        // Let the receiver reach its wait for input first.
        tokio::time::sleep(Duration::from_millis(100)).await;
        sender.feed(Message::text("fed")).await.unwrap();
        let (m, _receiver) = tokio::time::timeout(Duration::from_secs(5), reader)
            .await
            .expect("the fed message was never written")
            .unwrap();
        assert_eq!(m, Message::text("fed"));
    })
    .await
}

#[tokio::test]
async fn recv_is_cancel_safe_in_select() {
    bounded(async {
        let mut ws = echo_client().await;
        let sender = ws.sender();
        tokio::spawn(async move {
            for i in 0..300u32 {
                sender.send(Message::text(i.to_string())).await.unwrap();
                if i % 50 == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
        let mut next = 0u32;
        let mut timeouts = 0;
        while next < 300 {
            tokio::select! {
                m = ws.recv() => {
                    assert_eq!(m.unwrap().unwrap(), Message::text(next.to_string()));
                    next += 1;
                }
                _ = tokio::time::sleep(Duration::from_micros(200)) => timeouts += 1,
            }
        }
        let _ = timeouts;
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        drain(&mut ws).await;
    })
    .await
}

#[tokio::test]
async fn handshake_free_over_duplex() {
    bounded(async {
        // With no driver task, each end progresses only while it is polled: the two ends
        // run side by side (a 100 kB message does not fit the 4 KiB pipe).
        let (a, b) = tokio::io::duplex(4096);
        let mut client = wsmachine_tokio::open(a, Role::Client, Config::new());
        let mut server = wsmachine_tokio::open(b, Role::Server, Config::new());
        assert!(client.peer_addr().is_none());
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        let ((), (first, second)) = tokio::join!(
            async {
                client.send(Message::binary(payload.clone())).await.unwrap();
                client.send_text("hi").await.unwrap();
            },
            async { (server.recv().await, server.recv().await) }
        );
        assert_eq!(first.unwrap().unwrap(), Message::binary(payload));
        assert_eq!(second.unwrap().unwrap(), Message::text("hi"));
        server.send_text("back").await.unwrap();
        assert_eq!(client.recv().await.unwrap().unwrap(), Message::text("back"));
        server.close(CloseCode(4000), "x").await.unwrap();
        tokio::join!(drain(&mut client), drain(&mut server));
        assert!(client.close_report().unwrap().clean);
        assert!(server.close_report().unwrap().clean);
    })
    .await
}

#[tokio::test]
async fn backpressure_try_send_reports_full() {
    bounded(async {
        // The peer never reads: the pipe and the core's send queue (64 KiB of bytes) fill up
        // in turn, then try_send says Full and send().await waits.
        let (a, _b) = tokio::io::duplex(1024);
        let cfg = Config::new().max_send_queue(64 << 10);
        let client = wsmachine_tokio::open(a, Role::Client, cfg);
        let chunk = Bytes::from(vec![7u8; 8 << 10]);
        let mut full = false;
        for _ in 0..10_000 {
            match client.try_send(Message::Binary(chunk.clone())) {
                Ok(()) => tokio::task::yield_now().await,
                Err(Error::Full) => {
                    full = true;
                    break;
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert!(full, "try_send never reported Full");
        let waited = tokio::time::timeout(
            Duration::from_millis(200),
            client.send(Message::Binary(chunk.clone())),
        )
        .await;
        assert!(
            waited.is_err(),
            "send().await should wait under backpressure"
        );
        // A message larger than the whole send queue is refused at once.
        let e = client
            .send(Message::binary(vec![0u8; 100 << 10]))
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Send(SendError::QueueFull { .. })),
            "{e:?}"
        );
    })
    .await
}

#[tokio::test]
async fn reject_subprotocol_and_tls() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let r = wsmachine_tokio::accept_with(stream, Config::new(), |req| {
                        if req.path == "/secret" {
                            Decision::reject(403, "no")
                        } else if req.subprotocols.iter().any(|p| p == "chat") {
                            Decision::accept_subprotocol("chat")
                        } else {
                            Decision::accept()
                        }
                    })
                    .await;
                    match r {
                        Ok(ws) => {
                            let q: Vec<_> = ws
                                .request()
                                .map(|r| r.query.clone().unwrap_or_default())
                                .into_iter()
                                .collect();
                            ws.send_text(q.concat()).await.unwrap();
                            let mut ws = ws;
                            drain(&mut ws).await;
                        }
                        Err(e) => assert!(matches!(e, Error::Rejected(403)), "{e:?}"),
                    }
                });
            }
        });
        let e = wsmachine_tokio::connect(&format!("ws://{addr}/secret"))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Handshake(_)), "{e:?}");

        let request = ClientRequest::new(&format!("ws://{addr}/room?name=x"))
            .unwrap()
            .subprotocol("chat");
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut ws = wsmachine_tokio::client_with_stream(stream, &request, Config::new())
            .await
            .unwrap();
        assert_eq!(ws.response().unwrap().subprotocol.as_deref(), Some("chat"));
        assert_eq!(expect_message(&mut ws).await, Message::text("name=x"));
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        drain(&mut ws).await;

        // wss:// (the `rustls` feature is on here; without it, and without a connector,
        // it is Error::TlsRequired: the crate's unit tests): a TCP connect first, refused.
        let e = wsmachine_tokio::connect("wss://127.0.0.1:1/")
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused),
            "{e:?}"
        );
    })
    .await
}

#[tokio::test]
async fn dropping_every_handle_closes_normally() {
    bounded(async {
        let (tx, rx) = oneshot::channel();
        let addr = one_shot_server(|mut ws| async move {
            drain(&mut ws).await;
            let _ = tx.send(ws.close_report());
        })
        .await;
        let ws = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        ws.send_text("bye").await.unwrap();
        drop(ws);
        let report = rx.await.unwrap().unwrap();
        assert_eq!(report.code(), CloseCode::NORMAL);
        assert!(report.clean, "{report:?}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_halves_one_by_one_closes_normally() {
    bounded(async {
        let (tx, rx) = oneshot::channel();
        let addr = one_shot_server(|mut ws| async move {
            let first = ws.recv().await;
            drain(&mut ws).await;
            let _ = tx.send((first.map(|r| r.is_ok()), ws.close_report()));
        })
        .await;
        let ws = wsmachine_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        let (sender, receiver) = ws.split();
        sender.send_text("only").await.unwrap();
        drop(sender);
        // The receiver alone keeps the connection open...
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(receiver.state(), wsmachine_tokio::State::Open);
        // ...and dropping it too closes with 1000.
        drop(receiver);
        let (first, report) = rx.await.unwrap();
        assert_eq!(first, Some(true));
        let report = report.unwrap();
        assert_eq!(report.code(), CloseCode::NORMAL);
        assert!(report.clean, "{report:?}");
    })
    .await
}

#[tokio::test]
async fn receive_backpressure_reaches_the_sender() {
    bounded(async {
        // The client does not receive, so it does not read: the pipe fills, and the
        // server's sends back up to try_send == Full.
        let (a, b) = tokio::io::duplex(16 << 10);
        let mut client = wsmachine_tokio::open(a, Role::Client, Config::new());
        let server = wsmachine_tokio::open(b, Role::Server, Config::new().max_send_queue(1 << 20));
        let chunk = Bytes::from(vec![3u8; 64 << 10]);
        let mut sent = 0usize;
        loop {
            match server.try_send(Message::Binary(chunk.clone())) {
                Ok(()) => {
                    sent += 1;
                    tokio::task::yield_now().await;
                }
                Err(Error::Full) => break,
                Err(e) => panic!("unexpected {e:?}"),
            }
            assert!(sent < 10_000, "the sender never saw backpressure");
        }
        // Everything sent arrives once the client receives again.
        let sender = server.sender();
        let more = tokio::spawn(async move {
            for _ in 0..10 {
                sender.send(Message::Binary(chunk.clone())).await.unwrap();
            }
        });
        for _ in 0..sent + 10 {
            let m = client.recv().await.unwrap().unwrap();
            assert_eq!(m.payload().len(), 64 << 10);
        }
        more.await.unwrap();
    })
    .await
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<WebSocket>();
    check::<wsmachine_tokio::Sender>();
    check::<wsmachine_tokio::Receiver>();
    check::<Error>();
    check::<Incoming>();
}

#[tokio::test]
async fn dropping_a_full_receiver_keeps_the_sender_working() {
    bounded(async {
        // Nobody receives on the client, so it stopped reading; dropping the receiver must
        // let the connection read (and discard) again, so that it keeps working for the
        // sender, including the close handshake.
        let (a, b) = tokio::io::duplex(64 << 10);
        let client = wsmachine_tokio::open(a, Role::Client, Config::new());
        let mut server = wsmachine_tokio::open(b, Role::Server, Config::new());
        // 400 KiB for a 64 KiB pipe that nobody reads: the server's sends wait.
        let server_tx = server.sender();
        let flood = tokio::spawn(async move {
            for _ in 0..100 {
                server_tx.send_binary(vec![1u8; 4096]).await.unwrap();
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!flood.is_finished(), "the client read without a receiver");
        let (sender, receiver) = client.split();
        drop(receiver);
        // The background task that replaced the receiver reads (and discards) it all.
        flood.await.unwrap();
        sender.send_text("still works").await.unwrap();
        assert_eq!(
            server.recv().await.unwrap().unwrap(),
            Message::text("still works")
        );
        sender.close(CloseCode::NORMAL, "").await.unwrap();
        drain(&mut server).await;
        assert!(server.close_report().unwrap().clean);
        // The client reads the server's Close too (well before its 10 s close timeout).
        tokio::time::timeout(Duration::from_secs(5), sender.closed())
            .await
            .expect("the client never finished the close handshake");
    })
    .await
}
