//! The classic failures against the runtime-agnostic futures adapter on smol: the shared
//! scenarios of the test-support crate's `failures` module run against the smol echo
//! server (reset mid-write, silent client, EOF and reset during the closing handshake, a
//! message over the limit) and with our smol client against a server that ends TCP instead
//! of answering its Close; then what only an async adapter has: many tasks sending through
//! cloned `Sender`s, the client's handshake timeout, and keepalive on a caller-supplied
//! `Timer`. Every test is bounded in time; none asserts speed.

use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wsmachine_examples::smol_echo;
use wsmachine_futures::{
    CloseCode, Config, ConnectionError, Error, Message, Runtime, Timeout, Timer,
};
use wsmachine_test_support::adapter::{self, Kind};
use wsmachine_test_support::failures::{self, Ending};

/// One `#[test]` per shared scenario.
macro_rules! scenarios {
    ($($name:ident: $scenario:expr;)*) => {
        $(
            #[test]
            fn $name() {
                $scenario
            }
        )*
    };
}

scenarios! {
    smol_server_survives_reset_during_large_write: failures::reset_during_large_write(Kind::Smol);
    smol_server_client_eof_during_large_frame:
        failures::end_during_large_frame(Kind::Smol, Ending::Eof);
    smol_server_client_reset_during_large_frame:
        failures::end_during_large_frame(Kind::Smol, Ending::Reset);
    smol_server_finds_silent_client_by_keepalive: failures::silent_client(Kind::Smol);
    smol_server_client_closes_then_eof: failures::client_close_then_end(Kind::Smol, Ending::Eof);
    smol_server_client_closes_then_reset:
        failures::client_close_then_end(Kind::Smol, Ending::Reset);
    smol_server_closes_then_client_eof:
        failures::server_close_then_client_end(Kind::Smol, Ending::Eof);
    smol_server_closes_then_client_reset:
        failures::server_close_then_client_end(Kind::Smol, Ending::Reset);
    smol_server_too_big_message_gets_1009_not_a_reset:
        failures::too_big_message_gets_1009(Kind::Smol);
    smol_client_close_then_server_eof: failures::smol_client_close_vs_rude_server(Ending::Eof);
    smol_client_close_then_server_reset:
        failures::smol_client_close_vs_rude_server(Ending::Reset);
}

/// Runs `f` on smol with a time bound.
fn bounded<T>(f: impl Future<Output = T>) -> T {
    smol::block_on(async {
        let limit = async {
            smol::Timer::after(Duration::from_secs(40)).await;
            panic!("test did not finish in time")
        };
        smol::future::or(f, limit).await
    })
}

/// Eight tasks send 200 messages each through clones of one `Sender` while a std client
/// reads: every message arrives once, whole, in its task's order (frames from different
/// clones never interleave), and the send queue's backpressure holds the senders back.
#[test]
fn many_tasks_send_through_cloned_senders() {
    const TASKS: u32 = 8;
    const PER_TASK: u32 = 200;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        bounded(async move {
            let listener = smol::net::TcpListener::try_from(listener).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            // A small send queue, so that the senders do wait for room.
            let config = Config::new().max_send_queue(64 << 10);
            let ws = smol_echo::runtime()
                .accept_with(stream, config, |_| wsmachine_futures::Decision::accept())
                .await
                .unwrap();
            let (sender, mut receiver) = ws.split();
            let tasks: Vec<_> = (0..TASKS)
                .map(|t| {
                    let sender = sender.clone();
                    smol::spawn(async move {
                        for seq in 0..PER_TASK {
                            let body =
                                format!("{t}:{seq}:{}", "x".repeat((seq as usize * 97) % 5000));
                            sender.send(Message::text(body)).await.unwrap();
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await;
            }
            while receiver.recv().await.is_some() {}
            receiver.close_report()
        })
    });
    let mut ws = adapter::std_client(&url);
    let mut next = vec![0u32; TASKS as usize];
    for _ in 0..TASKS * PER_TASK {
        let Message::Text(text) = ws.recv().unwrap() else {
            panic!("a binary message")
        };
        let mut parts = text.as_str().splitn(3, ':');
        let t: usize = parts.next().unwrap().parse().unwrap();
        let seq: u32 = parts.next().unwrap().parse().unwrap();
        assert_eq!(parts.next().unwrap().len(), (seq as usize * 97) % 5000);
        assert_eq!(next[t], seq, "task {t}: duplicate, lost or reordered");
        next[t] += 1;
    }
    assert!(ws.close(CloseCode::NORMAL, "").unwrap().clean);
    let report = server.join().unwrap().expect("the server's close report");
    assert!(report.clean, "{report:?}");
}

/// A server that accepts TCP but never answers the upgrade: the smol client's handshake
/// timeout (on async-io's timer) turns it into an error; a refused connection is an I/O
/// error.
#[test]
fn client_handshake_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    bounded(async {
        let config = Config::new().handshake_timeout(Some(Duration::from_millis(300)));
        let start = Instant::now();
        let e = wsmachine_futures::connect_with(&url, config)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Connection(ConnectionError::Timeout(Timeout::Handshake))
            ),
            "{e:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(4));
    });
    drop(listener);
    let e = bounded(wsmachine_futures::connect(&url));
    assert!(matches!(e, Err(Error::Io(_))), "{e:?}");
}

/// A [`Timer`] of the caller's own (here async-io's, boxed, counting its sleeps).
struct CountingTimer(mpsc::Sender<Instant>);

impl Timer for CountingTimer {
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let _ = self.0.send(deadline);
        Box::pin(async move {
            smol::Timer::at(deadline).await;
        })
    }
}

/// Keepalive on a caller-supplied `Timer`: a server that completes the handshake and then
/// never reads or writes is found dead by the client's keepalive (ping after 200 ms of
/// silence, give up 300 ms later): the error comes before the end, and the close report
/// says 1006.
#[test]
fn keepalive_on_a_caller_supplied_timer() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (done, wait) = mpsc::channel::<()>();
    let silent = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let ws = wsmachine_std::accept(s).unwrap();
        // Hold the socket, silent, until the client gave up.
        let _ = wait.recv_timeout(Duration::from_secs(30));
        drop(ws);
    });
    let (sleeps, made) = mpsc::channel();
    let runtime = Runtime::with_timer(CountingTimer(sleeps));
    let config = Config::new()
        .ping_interval(Some(Duration::from_millis(200)))
        .pong_timeout(Some(Duration::from_millis(300)));
    let (items, report) = bounded(async {
        let mut ws = runtime.connect_with(&url, config).await.unwrap();
        let mut items = Vec::new();
        while let Some(item) = ws.recv().await {
            items.push(item);
        }
        (items, ws.close_report())
    });
    done.send(()).unwrap();
    silent.join().unwrap();
    assert!(
        matches!(
            items.as_slice(),
            [Err(Error::Connection(ConnectionError::Timeout(
                Timeout::Keepalive
            )))]
        ),
        "{items:?}"
    );
    let report = report.expect("a close report");
    assert!(!report.clean, "{report:?}");
    assert_eq!(report.code(), CloseCode::ABNORMAL);
    assert!(
        made.try_iter().count() >= 2,
        "the caller's timer ran the keepalive"
    );
}
