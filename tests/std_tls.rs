//! The std adapter over real TLS (rustls, a self-signed certificate made per run): `wss://`
//! with the caller's own TLS stream, every byte checked, a clean close on both sides; and the
//! keepalive over TLS, whose timers run from read timeouts set through `WithSocket` on the
//! TCP socket underneath the TLS layer.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection, StreamOwned};
use wsmachine::{ClientRequest, CloseCode, Config, Message, Timeout};
use wsmachine_std::{Error, Options, ServerBuilder, WebSocket, WithSocket};

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
