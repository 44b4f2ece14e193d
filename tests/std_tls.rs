//! The std adapter over real TLS (rustls, a self-signed certificate made per run): `wss://`
//! with the caller's own TLS stream, every byte checked, a clean close on both sides; and the
//! keepalive over TLS, whose timers run from read timeouts set through `WithSocket` on the
//! TCP socket underneath the TLS layer. Then `connect("wss://...")` itself (feature
//! `rustls`) against a CA made per run (rcgen): with our own `rustls::ClientConfig` (SNI
//! from the URL host, an IP address checked as such, another CA refused), and with the
//! default configuration reading `SSL_CERT_FILE` (in a child process, so that the
//! environment is its own).

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection, StreamOwned};
use wsmachine::{ClientRequest, CloseCode, Config, Message, Timeout};
use wsmachine_std::{Error, Options, ServerBuilder, WebSocket, WithSocket};
use wsmachine_test_support::tls::{Pki, pki, trusting};

type ServerTls = WithSocket<StreamOwned<ServerConnection, TcpStream>>;
type ClientTls = WithSocket<StreamOwned<ClientConnection, TcpStream>>;

struct Tls {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

/// A fresh self-signed certificate for `localhost`, trusted by the client config only.
fn tls() -> Tls {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let der: CertificateDer<'static> = cert.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Tls {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

fn server_stream(listener: &TcpListener, config: &Arc<ServerConfig>) -> ServerTls {
    let (tcp, _) = listener.accept().unwrap();
    let socket = tcp.try_clone().unwrap();
    let conn = ServerConnection::new(config.clone()).unwrap();
    WithSocket::new(StreamOwned::new(conn, tcp), socket)
}

fn client_stream(port: u16, config: &Arc<ClientConfig>) -> ClientTls {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let socket = tcp.try_clone().unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(config.clone(), name).unwrap();
    WithSocket::new(StreamOwned::new(conn, tcp), socket)
}

fn prng(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

#[test]
fn wss_echo_over_rustls_checks_every_byte_and_closes_cleanly() {
    let tls = tls();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server_config = tls.server.clone();
    let server = thread::spawn(move || {
        let stream = server_stream(&listener, &server_config);
        let mut ws: WebSocket<ServerTls> = ServerBuilder::new()
            .subprotocol("chat")
            .accept(stream)
            .unwrap();
        assert_eq!(ws.request().unwrap().path, "/secure");
        let peer = ws.get_ref().socket.peer_addr().unwrap();
        assert!(peer.ip().is_loopback());
        while let Ok(m) = ws.recv() {
            ws.send(m).unwrap();
        }
        ws.close_report().cloned()
    });

    let request = ClientRequest::new(&format!("wss://localhost:{port}/secure"))
        .unwrap()
        .subprotocol("chat");
    let stream = client_stream(port, &tls.client);
    let (mut ws, response) = wsmachine_std::client(stream, request, Options::default()).unwrap();
    assert_eq!(response.subprotocol.as_deref(), Some("chat"));
    assert!(!ws.get_ref().inner.conn.is_handshaking());

    let big = prng(1 << 20, 0x5eed);
    let messages = [
        Message::text("über TLS"),
        Message::text(""),
        Message::binary(Vec::new()),
        Message::binary(big),
        Message::binary(prng(70_000, 7)),
    ];
    for m in &messages {
        ws.send(m.clone()).unwrap();
    }
    for m in &messages {
        assert_eq!(&ws.recv().unwrap(), m);
    }
    let report = ws.close(CloseCode::NORMAL, "done").unwrap();
    assert!(report.clean, "{report:?}");
    let server_report = server.join().unwrap().expect("server saw a close");
    assert!(server_report.clean, "{server_report:?}");
    assert_eq!(server_report.code(), CloseCode::NORMAL);
}

/// A client that finishes the TLS and WebSocket handshakes and then never reads again (a
/// sleeping phone behind TLS): the server's keepalive still fires, because the read timeout
/// reaches the TCP socket beneath the TLS stream, and `recv` returns the timeout error within
/// the configured ping interval plus pong deadline; a send afterwards is an error, not a panic.
#[test]
fn keepalive_over_tls_finds_a_silent_client() {
    let tls = tls();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server_config = tls.server.clone();
    let mut config = Config::default();
    config.timers.ping_interval = Some(Duration::from_millis(200));
    config.timers.pong_timeout = Some(Duration::from_millis(300));
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let stream = server_stream(&listener, &server_config);
        let mut ws = ServerBuilder::new().config(config).accept(stream).unwrap();
        let start = Instant::now();
        let err = loop {
            match ws.recv() {
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        let waited = start.elapsed();
        let send_after = ws.send_text("anyone there?");
        let _ = tx.send((err, waited, send_after.is_err()));
    });

    let request = ClientRequest::new(&format!("wss://localhost:{port}/")).unwrap();
    let stream = client_stream(port, &tls.client);
    let (ws, _) = wsmachine_std::client(stream, request, Options::default()).unwrap();
    // Hold the connection open without reading until the server gives up.
    // A bounded wait: if the timeout never reached the socket, the server would block forever.
    let (err, waited, send_failed) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server's keepalive never fired");
    drop(ws);
    assert!(
        matches!(err, Error::Timeout(Timeout::Keepalive)),
        "expected a keepalive timeout, got {err:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "the keepalive took {waited:?}"
    );
    assert!(send_failed);
}

// ----- wss:// in `connect` (feature `rustls`): a CA made per run, SNI, SSL_CERT_FILE -----

/// How one TLS server connection ended: the SNI the client sent, and the close report
/// (none when the handshake failed).
type TlsEnd = (Option<String>, Option<wsmachine::CloseReport>);

/// A TLS echo server for `connections` connections, in turn.
fn tls_echo_server(pki: &Pki, connections: usize) -> (u16, thread::JoinHandle<Vec<TlsEnd>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = pki.server.clone();
    let handle = thread::spawn(move || {
        (0..connections)
            .map(|_| {
                let stream = server_stream(&listener, &config);
                let mut ws = match ServerBuilder::new().accept(stream) {
                    Ok(ws) => ws,
                    Err(_) => return (None, None),
                };
                let sni = ws.get_ref().inner.conn.server_name().map(str::to_string);
                while let Ok(m) = ws.recv() {
                    let _ = ws.send(m);
                }
                (sni, ws.close_report().cloned())
            })
            .collect()
    });
    (port, handle)
}

/// Sends a few messages (one of 1 MiB) and checks their echoes, then closes.
fn echo_round(ws: &mut WebSocket<wsmachine_std::MaybeTlsStream>) {
    let messages = [
        Message::text("über wss://"),
        Message::binary(prng(1 << 20, 42)),
        Message::binary(Vec::new()),
    ];
    for m in &messages {
        ws.send(m.clone()).unwrap();
        assert_eq!(&ws.recv().unwrap(), m);
    }
    let report = ws.close(CloseCode::NORMAL, "done").unwrap();
    assert!(report.clean, "{report:?}");
}

#[test]
fn connect_wss_with_our_own_client_config_sends_sni_and_checks_the_chain() {
    let pki = pki();
    let (port, server) = tls_echo_server(&pki, 3);
    let (mut ws, _) = wsmachine_std::ClientBuilder::new(&format!("wss://localhost:{port}/x"))
        .tls_config(trusting(&pki.ca_der))
        .connect()
        .unwrap();
    assert!(ws.get_ref().is_tls());
    echo_round(&mut ws);

    // An IP address is checked against the certificate's IP SAN, and sends no SNI.
    let (mut ws, _) = wsmachine_std::ClientBuilder::new(&format!("wss://127.0.0.1:{port}/"))
        .tls_config(trusting(&pki.ca_der))
        .connect()
        .unwrap();
    echo_round(&mut ws);

    // A client that trusts another CA refuses the server: an I/O error carrying rustls's.
    let other = pki_other_ca();
    let e = wsmachine_std::ClientBuilder::new(&format!("wss://localhost:{port}/"))
        .tls_config(trusting(&other))
        .connect()
        .unwrap_err();
    match &e {
        Error::Io(io) => assert!(
            io.to_string().contains("certificate"),
            "expected a certificate error, got {io}"
        ),
        other => panic!("expected a TLS error, got {other:?}"),
    }

    let ends = server.join().unwrap();
    assert_eq!(ends[0].0.as_deref(), Some("localhost"));
    assert_eq!(ends[1].0, None);
    for (_, report) in &ends[..2] {
        let report = report.as_ref().expect("a close report");
        assert!(report.clean, "{report:?}");
    }
    assert!(
        ends[2].1.is_none(),
        "the refused client never got a WebSocket"
    );
}

/// The DER of a CA that signed nothing here.
fn pki_other_ca() -> CertificateDer<'static> {
    pki().ca_der
}

/// `connect` with the default configuration reads the roots from `SSL_CERT_FILE`: run in a
/// child process (this test binary, the ignored test below) whose environment names the
/// CA made for this run, and, as a control, one naming another CA.
#[test]
fn connect_wss_with_the_default_config_trusts_ssl_cert_file() {
    let ours = pki();
    let other = pki();
    let dir = std::env::temp_dir().join(format!("wsm-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("ca.pem");
    std::fs::write(&good, &ours.ca_pem).unwrap();
    let bad = dir.join("other.pem");
    std::fs::write(&bad, &other.ca_pem).unwrap();
    let (port, server) = tls_echo_server(&ours, 2);
    let url = format!("wss://localhost:{port}/default");
    let run = |cert_file: &std::path::Path| {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "child_connects_with_the_default_tls_config",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SSL_CERT_FILE", cert_file)
            .env_remove("SSL_CERT_DIR")
            .env("WSM_TLS_CHILD_URL", &url)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, out) = run(&good);
    assert!(ok && out.contains("CHILD OK"), "{out}");
    let (ok, out) = run(&bad);
    assert!(!ok && out.contains("CHILD FAILED"), "{out}");
    let ends = server.join().unwrap();
    assert_eq!(ends[0].0.as_deref(), Some("localhost"));
    assert!(ends[0].1.as_ref().is_some_and(|r| r.clean), "{ends:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The child of the test above (ignored when run alone: it needs the parent's server).
#[test]
#[ignore = "run by connect_wss_with_the_default_config_trusts_ssl_cert_file"]
fn child_connects_with_the_default_tls_config() {
    let url = std::env::var("WSM_TLS_CHILD_URL").expect("WSM_TLS_CHILD_URL");
    match wsmachine_std::connect(&url) {
        Ok((mut ws, _)) => {
            echo_round(&mut ws);
            println!("CHILD OK");
        }
        Err(e) => {
            println!("CHILD FAILED: {e}");
            panic!("{e}");
        }
    }
}
