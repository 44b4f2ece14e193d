//! The chat example's server (wsmachine_examples::tokio_echo::serve_chat): HTTP page,
//! broadcast to everyone including the sender, dead clients pruned by keepalive, slow
//! clients dropped without stalling the others. Every test is bounded in time.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsmachine::{ClientRequest, Connection, Event, Timestamp};
use wsmachine_examples::tokio_echo::{ChatOptions, Log, serve_chat};
use wsmachine_tokio::{CloseCode, Config, Message, WebSocket};

const LIMIT: Duration = Duration::from_secs(40);
const HTML: &str = "<!doctype html><title>test chat</title>";

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test did not finish in time")
}

fn capture() -> (Log, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    (Arc::new(move |s| l.lock().unwrap().push(s)), lines)
}

async fn chat_server(options: ChatOptions) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let (log, lines) = capture();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_chat(listener, HTML, options, log));
    (addr, lines)
}

async fn wait_for_log(lines: &Arc<Mutex<Vec<String>>>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !lines.lock().unwrap().iter().any(|l| l.contains(needle)) {
        assert!(
            Instant::now() < deadline,
            "no log line with {needle:?}: {:?}",
            lines.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn joined(addr: SocketAddr) -> WebSocket {
    wsmachine_tokio::connect(&format!("ws://{addr}/ws"))
        .await
        .unwrap()
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn serves_page_and_broadcasts_to_everyone() {
    bounded(async {
        let (addr, _) = chat_server(ChatOptions::default()).await;
        let page = http_get(addr, "/?selftest").await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.ends_with(HTML));
        assert!(http_get(addr, "/nope").await.starts_with("HTTP/1.1 404"));

        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(joined(addr).await);
        }
        // Let every join register before the first broadcast.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let msgs = [
            Message::text("hi ✓"),
            Message::binary(vec![0u8, 1, 2, 255]),
            Message::text(""),
            Message::binary(vec![9u8; 1 << 20]),
        ];
        for m in &msgs {
            clients[1].send(m.clone()).await.unwrap();
            for c in clients.iter_mut() {
                assert_eq!(&c.recv().await.unwrap().unwrap(), m);
            }
        }
        for c in clients.iter_mut() {
            c.close(CloseCode::NORMAL, "").await.unwrap();
            while c.recv().await.is_some() {}
            assert!(c.close_report().unwrap().clean);
        }
    })
    .await
}

/// A client that completes the handshake and then falls silent.
async fn silent_client(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = ClientRequest::new(&format!("ws://{addr}/ws")).unwrap();
    let mut conn = Connection::client(&req, wsmachine::Config::default(), Timestamp::ZERO).unwrap();
    while let Some(chunk) = conn.poll_transmit() {
        s.write_all(&chunk).await.unwrap();
    }
    let mut buf = vec![0u8; 4096];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        conn.handle_input(wsmachine::Timestamp::ZERO, &buf[..n]);
        if let Some(Event::Connected(_)) = conn.poll_event() {
            return s;
        }
    }
}

#[tokio::test]
async fn dead_clients_are_pruned_by_keepalive() {
    bounded(async {
        let options = ChatOptions {
            config: Config::new()
                .ping_interval(Some(Duration::from_millis(200)))
                .pong_timeout(Some(Duration::from_millis(300))),
            ..ChatOptions::default()
        };
        let (addr, lines) = chat_server(options).await;
        // The live client keeps receiving on its own task (with no driver task, receiving
        // is what answers the server's pings).
        let (a, mut a_rx) = joined(addr).await.split();
        let (got_tx, mut got) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(item) = a_rx.recv().await {
                let _ = got_tx.send(item);
            }
        });
        let _silent = silent_client(addr).await;
        wait_for_log(&lines, "keepalive: no sign of life").await;
        wait_for_log(&lines, "left: code 1006").await;
        // The live client answered every ping and is still served.
        a.send(Message::text("still here")).await.unwrap();
        assert_eq!(
            got.recv().await.unwrap().unwrap(),
            Message::text("still here")
        );
    })
    .await
}

#[tokio::test]
async fn slow_client_is_dropped_without_stalling_others() {
    bounded(async {
        let options = ChatOptions {
            config: Config::new().max_send_queue(1 << 20),
            client_queue: 32,
        };
        let (addr, lines) = chat_server(options).await;
        let mut fast = joined(addr).await;
        let _slow = silent_client(addr).await; // never reads
        tokio::time::sleep(Duration::from_millis(100)).await;
        // One message in flight at a time: the fast client always keeps up.
        const N: u32 = 600;
        for i in 0..N {
            let mut m = vec![(i % 256) as u8; 64 << 10];
            m[..4].copy_from_slice(&i.to_be_bytes());
            fast.send(Message::binary(m)).await.unwrap();
            let m = fast.recv().await.unwrap().unwrap();
            assert_eq!(&m.payload()[..4], &i.to_be_bytes());
        }
        wait_for_log(&lines, "dropped (cannot keep up)").await;
    })
    .await
}
