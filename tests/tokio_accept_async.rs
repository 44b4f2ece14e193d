//! The tokio adapter's async accept decision (`accept_with_async`): the decision awaits a
//! "database" on another task (a channel round trip) before it accepts (subprotocol, a
//! response header) or rejects with 401; a decision that outlives the handshake deadline
//! ends the connection and drops the decision; a client that hangs up mid-decision is
//! noticed once the decision is applied.
//! The clients are our `ClientBuilder` (headers, subprotocols) and a raw socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use wsmachine::{ConnectionError, HandshakeError, Timeout};
use wsmachine_tokio::{
    Accept, ClientBuilder, CloseCode, Config, Decision, Error, Message, Request, WebSocket,
};

const LIMIT: Duration = Duration::from_secs(30);

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test did not finish in time")
}

/// A question to the token "database": the token, and where to send the answer.
type Query = (Option<String>, oneshot::Sender<bool>);

/// The database: a task that answers token queries (only `good` passes), counting them.
fn database(queries: Arc<AtomicUsize>) -> mpsc::Sender<Query> {
    let (tx, mut rx) = mpsc::channel::<Query>(8);
    tokio::spawn(async move {
        while let Some((token, reply)) = rx.recv().await {
            queries.fetch_add(1, Ordering::SeqCst);
            // A real look-up takes time: yield a few times before answering.
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            let _ = reply.send(token.as_deref() == Some("good"));
        }
    });
    tx
}

/// The async decision: asks the database about the bearer token; accepts with the
/// subprotocol negotiated from `["chat"]` and an `X-User` header, or rejects with 401.
async fn decide(request: &Request, db: &mpsc::Sender<Query>) -> Decision {
    let token = request
        .headers
        .get_str("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let (reply, answer) = oneshot::channel();
    if db.send((token, reply)).await.is_err() {
        return Decision::reject(503, "no database\n");
    }
    if answer.await.unwrap_or(false) {
        let headers = vec![("X-User".to_string(), "good-user".to_string())];
        Decision::Accept(Accept::negotiate(request, &["chat"], headers))
    } else {
        Decision::Reject {
            status: 401,
            headers: vec![("WWW-Authenticate".into(), "Bearer".into())],
            body: b"a valid token is required\n".to_vec(),
        }
    }
}

/// An echo server whose every connection goes through [`decide`]; reports each accept's
/// outcome (the request's Origin and Cookie when accepted, the error otherwise).
async fn auth_echo_server(
    db: mpsc::Sender<Query>,
) -> (String, mpsc::UnboundedReceiver<Result<String, Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/room", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (db, tx) = (db.clone(), tx.clone());
            // Spawned: the future of accept_with_async with an async closure is Send.
            tokio::spawn(async move {
                let r = wsmachine_tokio::accept_with_async(
                    stream,
                    Config::new(),
                    async move |request: &Request| decide(request, &db).await,
                )
                .await;
                match r {
                    Ok(mut ws) => {
                        let req = ws.request().expect("the request is kept");
                        let seen = format!(
                            "origin={:?} cookie={:?}",
                            req.headers.get_str("origin"),
                            req.headers.get_str("cookie")
                        );
                        let _ = tx.send(Ok(seen));
                        while let Some(Ok(m)) = ws.recv().await {
                            if ws.send(m).await.is_err() {
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
        }
    });
    (url, rx)
}

async fn echo_once(ws: &mut WebSocket) {
    ws.send(Message::text("hello")).await.unwrap();
    match ws.recv().await {
        Some(Ok(m)) => assert_eq!(m.as_text(), Some("hello")),
        other => panic!("no echo: {other:?}"),
    }
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    while ws.recv().await.is_some() {}
    assert!(ws.close_report().unwrap().clean);
}

#[tokio::test]
async fn the_async_decision_rejects_a_bad_token_with_401_and_accepts_a_good_one() {
    bounded(async {
        let queries = Arc::new(AtomicUsize::new(0));
        let (url, mut outcomes) = auth_echo_server(database(queries.clone())).await;

        // A bad token: 401 with the headers and body of the rejection.
        let e = ClientBuilder::new(&url)
            .header("Authorization", "Bearer bad")
            .connect()
            .await
            .unwrap_err();
        match e {
            Error::Handshake(HandshakeError::Status {
                status,
                headers,
                body,
                ..
            }) => {
                assert_eq!(status, 401);
                assert_eq!(headers.get_str("www-authenticate"), Some("Bearer"));
                // The body may come in the same read as the head, or after it.
                assert!(
                    b"a valid token is required\n".starts_with(&body),
                    "{body:?}"
                );
            }
            other => panic!("expected a 401, got {other:?}"),
        }
        assert!(matches!(
            outcomes.recv().await,
            Some(Err(Error::Rejected(401)))
        ));
        // No token at all: 401 too.
        let e = ClientBuilder::new(&url).connect().await.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Handshake(HandshakeError::Status { status: 401, .. })
            ),
            "{e:?}"
        );
        assert!(matches!(
            outcomes.recv().await,
            Some(Err(Error::Rejected(401)))
        ));

        // The good token, with Origin and a cookie, offering two subprotocols.
        let mut ws = ClientBuilder::new(&url)
            .header("Authorization", "Bearer good")
            .header("Origin", "https://example.com")
            .header("Cookie", "session=abc; theme=dark")
            .subprotocol("superchat")
            .subprotocol("chat")
            .connect()
            .await
            .unwrap();
        let response = ws.response().expect("the 101 is kept");
        assert_eq!(response.subprotocol.as_deref(), Some("chat"));
        assert_eq!(response.header("x-user"), Some(&b"good-user"[..]));
        assert_eq!(
            outcomes.recv().await.unwrap().unwrap(),
            "origin=Some(\"https://example.com\") cookie=Some(\"session=abc; theme=dark\")"
        );
        echo_once(&mut ws).await;
        assert_eq!(queries.load(Ordering::SeqCst), 3, "one query per request");
    })
    .await
}

/// Sets a flag when dropped: tells whether the decision future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

const UPGRADE: &str = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// Accepts one connection whose decision never finishes (it waits on a channel nobody
/// answers, holding a drop flag); returns the address and the accept's outcome.
async fn stuck_decision(
    config: Config,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<Result<WebSocket, Error>>,
    Arc<AtomicBool>,
    oneshot::Sender<Decision>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let (never, wait) = oneshot::channel::<Decision>();
    let flag = DropFlag(dropped.clone());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        wsmachine_tokio::accept_with_async(stream, config, async move |_: &Request| {
            let _flag = flag;
            wait.await.unwrap_or_else(|_| Decision::reject(500, ""))
        })
        .await
    });
    (addr, server, dropped, never)
}

#[tokio::test]
async fn a_decision_past_the_handshake_deadline_ends_the_connection() {
    bounded(async {
        let config = Config::new().handshake_timeout(Some(Duration::from_millis(300)));
        let (addr, server, dropped, _never) = stuck_decision(config).await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(UPGRADE.as_bytes()).await.unwrap();
        let e = server.await.unwrap().unwrap_err();
        assert!(
            matches!(
                e,
                Error::Connection(ConnectionError::Timeout(Timeout::Handshake))
            ),
            "{e:?}"
        );
        assert!(dropped.load(Ordering::SeqCst), "the decision was dropped");
        // The client sees the connection end with no 101.
        let mut rest = Vec::new();
        let _ = client.read_to_end(&mut rest).await;
        assert!(!rest.starts_with(b"HTTP/1.1 101"), "{rest:?}");
    })
    .await
}

/// While a decision is pending the core reads nothing (`wants_input` is false until it is
/// applied), so a client that hangs up meanwhile is noticed after it: the connection ends
/// without a clean close, and no handle hangs.
#[tokio::test]
async fn a_client_that_hangs_up_mid_decision_is_noticed_after_it() {
    bounded(async {
        let config = Config::new().handshake_timeout(None);
        let (addr, server, dropped, answer) = stuck_decision(config).await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(UPGRADE.as_bytes()).await.unwrap();
        drop(client);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!dropped.load(Ordering::SeqCst), "the decision still runs");
        answer.send(Decision::accept()).unwrap();
        match server.await.unwrap() {
            Ok(mut ws) => {
                while ws.recv().await.is_some() {}
                let report = ws.close_report().expect("a close report");
                assert!(!report.clean, "{report:?}");
            }
            Err(e) => assert!(matches!(e, Error::Io(_)), "{e:?}"),
        }
    })
    .await
}

#[tokio::test]
async fn a_decision_that_answers_later_is_applied() {
    bounded(async {
        let (addr, server, dropped, answer) = stuck_decision(Config::new()).await;
        let url = format!("ws://{addr}/");
        let client = tokio::spawn(async move { ClientBuilder::new(&url).connect().await });
        // Let the request arrive and the decision wait, then answer.
        tokio::time::sleep(Duration::from_millis(50)).await;
        answer.send(Decision::accept()).unwrap();
        let mut server_ws = server.await.unwrap().unwrap();
        assert!(dropped.load(Ordering::SeqCst));
        let mut ws = client.await.unwrap().unwrap();
        ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        let got = server_ws.recv().await.unwrap().unwrap();
        assert!(got.is_binary() && got.len() == 3);
        server_ws.close(CloseCode::NORMAL, "").await.unwrap();
        // Both sides drive the close handshake to its end.
        tokio::join!(async { while ws.recv().await.is_some() {} }, async {
            while server_ws.recv().await.is_some() {}
        });
        assert!(ws.close_report().unwrap().clean);
        assert!(server_ws.close_report().unwrap().clean);
    })
    .await
}

/// A request built the way tokio-tungstenite users build theirs (`http::Request<()>`, feature
/// `http`) connects as is: its Authorization passes the async check, its
/// `Sec-WebSocket-Protocol` is offered.
#[tokio::test]
async fn an_http_request_connects_with_its_headers() {
    bounded(async {
        let queries = Arc::new(AtomicUsize::new(0));
        let (url, mut outcomes) = auth_echo_server(database(queries)).await;
        let request = wsmachine_tokio::wsmachine_http::http::Request::get(&url)
            .header("Authorization", "Bearer good")
            .header("Cookie", "c=1")
            .header("Sec-WebSocket-Protocol", "chat")
            .body(())
            .unwrap();
        let mut ws = wsmachine_tokio::connect(request).await.unwrap();
        assert_eq!(ws.response().unwrap().subprotocol.as_deref(), Some("chat"));
        let seen = outcomes.recv().await.unwrap().unwrap();
        assert!(seen.ends_with("cookie=Some(\"c=1\")"), "{seen}");
        echo_once(&mut ws).await;
    })
    .await
}
