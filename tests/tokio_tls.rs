//! The tokio adapter over real TLS: `connect("wss://...")` (feature `rustls`, tokio-rustls)
//! against the `tls_echo_server` example's server (wsmachine-examples `tls_echo`) with a
//! CA made per run: our own `rustls::ClientConfig` (SNI from the URL host, an IP address
//! checked against the IP SAN without SNI, another CA refused with rustls's certificate
//! error), any connector (`tls_connector`), a TLS stream of our own (`client_with_stream`),
//! and the default configuration trusting `SSL_CERT_FILE` (a child process with its own
//! environment, a control with another CA). Also the example's self-signed certificate.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use wsmachine::{ClientRequest, CloseCode, Message};
use wsmachine_examples::tls_echo::{self_signed, serve_tls_echo};
use wsmachine_examples::tokio_echo::{Log, echo_config};
use wsmachine_test_support::async_exchange::big_async_config;
use wsmachine_test_support::peers;
use wsmachine_test_support::tls::{pki, trusting};
use wsmachine_tokio::rustls::ServerConfig;
use wsmachine_tokio::rustls::pki_types::ServerName;
use wsmachine_tokio::rustls::pki_types::pem::PemObject;
use wsmachine_tokio::tokio_rustls::TlsConnector;
use wsmachine_tokio::{ClientBuilder, Error, WebSocket};

const LIMIT: Duration = Duration::from_secs(60);

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test did not finish in time")
}

/// The example's TLS echo server on a free port, with its log.
struct Server {
    addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Server {
    async fn start(tls: Arc<ServerConfig>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        let log: Log = Arc::new(move |s| l.lock().unwrap().push(s));
        tokio::spawn(serve_tls_echo(listener, tls, echo_config(), log));
        Server { addr, lines }
    }

    /// Waits for a log line containing `needle`, then returns it.
    async fn line(&self, needle: &str) -> String {
        loop {
            let found = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
                .cloned();
            if let Some(l) = found {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// How many log lines contain `needle`.
    fn count(&self, needle: &str) -> usize {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter(|l| l.contains(needle)).count()
    }
}

/// A few messages (one of 1 MiB) and their echoes, then a clean close.
async fn echo_round(ws: &mut WebSocket) {
    let messages = [
        Message::text("über wss://"),
        Message::binary(peers::prng_bytes(1 << 20)),
        Message::binary(Vec::new()),
    ];
    for m in &messages {
        ws.send(m.clone()).await.unwrap();
        match ws.recv().await {
            Some(Ok(got)) => assert_eq!(&got, m),
            other => panic!("no echo: {other:?}"),
        }
    }
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
    while ws.recv().await.is_some() {}
    let report = ws.close_report().unwrap();
    assert!(report.clean, "{report:?}");
}

#[tokio::test]
async fn connect_wss_with_our_own_client_config_sends_sni_and_checks_the_chain() {
    bounded(async {
        let pki = pki();
        let server = Server::start(pki.server.clone()).await;
        let port = server.addr.port();

        let mut ws = ClientBuilder::new(format!("wss://localhost:{port}/x"))
            .config(big_async_config())
            .tls_config(trusting(&pki.ca_der))
            .connect()
            .await
            .unwrap();
        // The peer address reaches through the TLS stream.
        assert_eq!(ws.peer_addr(), Some(server.addr));
        echo_round(&mut ws).await;
        let sni = server.line("server name").await;
        assert!(sni.ends_with("server name localhost"), "{sni}");

        // An IP address is checked against the certificate's IP SAN, and sends no SNI.
        let mut ws = ClientBuilder::new(format!("wss://127.0.0.1:{port}/"))
            .config(big_async_config())
            .tls_config(trusting(&pki.ca_der))
            .connect()
            .await
            .unwrap();
        echo_round(&mut ws).await;
        assert_eq!(server.count("server name -"), 1);

        // A client that trusts another CA refuses the server: an I/O error carrying
        // rustls's.
        let other = wsmachine_test_support::tls::pki();
        let e = ClientBuilder::new(format!("wss://localhost:{port}/"))
            .tls_config(trusting(&other.ca_der))
            .connect()
            .await
            .unwrap_err();
        match &e {
            Error::Io(io) => assert!(
                io.to_string().contains("certificate"),
                "expected a certificate error, got {io}"
            ),
            other => panic!("expected a TLS error, got {other:?}"),
        }
        server.line("TLS handshake failed").await;
        let closes = server.line("closed: code 1000").await;
        assert!(closes.contains("clean"), "{closes}");
    })
    .await
}

#[tokio::test]
async fn any_connector_and_any_tls_stream_carry_the_handshake() {
    bounded(async {
        let pki = pki();
        let server = Server::start(pki.server.clone()).await;
        let port = server.addr.port();
        let tls = TlsConnector::from(trusting(&pki.ca_der));

        // A connector of ours: sees the URL's host and the TCP stream.
        let hosts = Arc::new(Mutex::new(Vec::new()));
        let seen = hosts.clone();
        let connector = tls.clone();
        let mut ws = ClientBuilder::new(format!("wss://localhost:{port}/c"))
            .config(big_async_config())
            .tls_connector(move |host, tcp| {
                seen.lock().unwrap().push(host.clone());
                let connector = connector.clone();
                async move {
                    let name = ServerName::try_from(host).map_err(std::io::Error::other)?;
                    connector.connect(name, tcp).await
                }
            })
            .connect()
            .await
            .unwrap();
        echo_round(&mut ws).await;
        assert_eq!(*hosts.lock().unwrap(), ["localhost"]);

        // A TLS stream opened by hand, given to client_with_stream.
        let tcp = TcpStream::connect(server.addr).await.unwrap();
        let stream = tls
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let request = ClientRequest::new(&format!("wss://localhost:{port}/own")).unwrap();
        let mut ws = wsmachine_tokio::client_with_stream(stream, &request, big_async_config())
            .await
            .unwrap();
        echo_round(&mut ws).await;
        assert_eq!(server.count("server name localhost"), 2);
    })
    .await
}

#[tokio::test]
async fn the_examples_self_signed_certificate_is_trusted_as_its_own_root() {
    bounded(async {
        let (config, pem) = self_signed().unwrap();
        let server = Server::start(config).await;
        let der =
            wsmachine_tokio::rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes());
        let der = der.unwrap();
        for host in ["localhost", "127.0.0.1"] {
            let mut ws = ClientBuilder::new(format!("wss://{host}:{}/", server.addr.port()))
                .config(big_async_config())
                .tls_config(trusting(&der))
                .connect()
                .await
                .unwrap();
            echo_round(&mut ws).await;
        }
    })
    .await
}

/// `connect` with the default configuration reads the roots from `SSL_CERT_FILE`: run in a
/// child process (this test binary, the ignored test below) whose environment names the
/// CA made for this run, and, as a control, one naming another CA.
#[tokio::test]
async fn connect_wss_with_the_default_config_trusts_ssl_cert_file() {
    bounded(async {
        let ours = pki();
        let other = pki();
        let dir = std::env::temp_dir().join(format!("wsm-tokio-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("ca.pem");
        std::fs::write(&good, &ours.ca_pem).unwrap();
        let bad = dir.join("other.pem");
        std::fs::write(&bad, &other.ca_pem).unwrap();
        let server = Server::start(ours.server.clone()).await;
        let url = format!("wss://localhost:{}/default", server.addr.port());
        let run = |cert_file: std::path::PathBuf| {
            let url = url.clone();
            tokio::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--ignored",
                    "--exact",
                    "child_connects_with_the_default_tls_config",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("SSL_CERT_FILE", cert_file)
                .env_remove("SSL_CERT_DIR")
                .env("WSM_TLS_CHILD_URL", url)
                .kill_on_drop(true)
                .output()
        };
        let out = run(good).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("CHILD OK"),
            "{stdout}"
        );
        let out = run(bad).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success() && stdout.contains("CHILD FAILED"),
            "{stdout}"
        );
        let closed = server.line("closed:").await;
        assert!(
            closed.contains("code 1000") && closed.contains("clean"),
            "{closed}"
        );
        server.line("TLS handshake failed").await;
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await
}

/// The child of the test above (ignored when run alone: it needs the parent's server).
#[tokio::test]
#[ignore = "run by connect_wss_with_the_default_config_trusts_ssl_cert_file"]
async fn child_connects_with_the_default_tls_config() {
    let url = std::env::var("WSM_TLS_CHILD_URL").expect("WSM_TLS_CHILD_URL");
    match wsmachine_tokio::connect_with(&url, big_async_config()).await {
        Ok(mut ws) => {
            echo_round(&mut ws).await;
            println!("CHILD OK");
        }
        Err(e) => {
            println!("CHILD FAILED: {e}");
            panic!("{e}");
        }
    }
}
