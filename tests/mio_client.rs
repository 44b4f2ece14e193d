//! The mio adapter's `ClientBuilder`: headers and subprotocols reach a server (and the
//! 101's choice comes back), the handshake timeout and the connect timeout (a silent
//! proxy, a silent TLS server) end the connection with an error before `Closed`, `wss://`
//! (feature `rustls`: rustls over the non-blocking socket) against the tokio TLS echo
//! server with a CA made per run (the standard exchange; another CA refused), and real
//! proxies (the
//! test-support `proxies` module, as tests/std_proxy.rs and tests/tokio_proxy.rs use it):
//! tinyproxy for HTTP CONNECT with BasicAuth (`ws://` and `wss://`), dante for SOCKS5 resolving here and at the
//! proxy, microsocks for SOCKS5 with username/password, and the proxy picked from an
//! environment (`proxy_from_env_with`, `no_proxy` bypassing it). The proxy handshakes run
//! non-blocking inside the mio loop; each tunnel carries the standard exchange to the mio
//! echo server. Without the proxies in `.peers/env` the proxy tests fail unless
//! `WSM_SKIP_INTEROP=1`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wsmachine::{Accept, CloseCode, Decision, Message, Timeout};
use wsmachine_mio::{ClientBuilder, Error, Event, LoopClient, ProxyError};
use wsmachine_test_support::adapter::{self, Kind, big_config, mio_exchange, mio_recv};
use wsmachine_test_support::proxies::{
    T, dante, env_lookup, free_port, microsocks, proxy_binary, silent_listener, tinyproxy,
};
use wsmachine_test_support::tls::{pki, trusting};

/// The TLS echo server of wsmachine-examples (tokio-rustls, then the tokio adapter) on a
/// runtime of its own, presenting `tls`'s certificate; its port.
fn tls_echo_server(tls: Arc<wsmachine_tokio::rustls::ServerConfig>) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let config = wsmachine_examples::tokio_echo::echo_config();
            wsmachine_examples::tls_echo::serve_tls_echo(listener, tls, config, Arc::new(|_| {}))
                .await
        })
    });
    rx.recv().unwrap()
}

/// Connects and runs the handshake: the client once `Connected`, or the error reported
/// before `Closed` (which must follow).
fn connected(builder: &ClientBuilder) -> Result<LoopClient, Error> {
    let mut c = builder.connect_loop()?;
    match c.next_event(T).unwrap() {
        Some(Event::Connected(_)) => Ok(c),
        Some(Event::Error(e)) => {
            match c.next_event(T).unwrap() {
                Some(Event::Closed(r)) => assert!(!r.clean, "{r:?}"),
                other => panic!("expected Closed after {e:?}, got {other:?}"),
            }
            Err(e)
        }
        other => panic!("expected Connected or an error, got {other:?}"),
    }
}

/// A message and its echo, then a clean close.
fn echo_once(c: &mut LoopClient) {
    c.send(Message::text("hello")).unwrap();
    assert_eq!(mio_recv(c).unwrap(), Message::text("hello"));
    c.client().close(CloseCode::NORMAL, "bye").unwrap();
    assert!(adapter::mio_wait_closed(c).unwrap().clean);
}

#[test]
fn headers_and_subprotocols_reach_the_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/room", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = wsmachine_std::ServerBuilder::new()
            .on_request(move |req, _| {
                let mut seen = s.lock().unwrap();
                for name in ["authorization", "origin", "cookie"] {
                    seen.push(format!("{name}={:?}", req.headers.get_str(name)));
                }
                seen.push(format!("path={}", req.path));
                let headers = vec![("X-User".to_string(), "good-user".to_string())];
                Decision::Accept(Accept::negotiate(req, &["chat"], headers))
            })
            .accept(stream)
            .unwrap();
        while let Ok(m) = ws.recv() {
            ws.send(m).unwrap();
        }
    });
    let mut c = ClientBuilder::new(&url)
        .header("Authorization", "Bearer good")
        .header("Origin", "https://example.com")
        .header("Cookie", "session=abc; theme=dark")
        .subprotocol("superchat")
        .subprotocol("chat")
        .connect_loop()
        .unwrap();
    match c.next_event(T).unwrap() {
        Some(Event::Connected(r)) => {
            assert_eq!(r.subprotocol.as_deref(), Some("chat"));
            assert_eq!(r.header("x-user"), Some(&b"good-user"[..]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "authorization=Some(\"Bearer good\")",
            "origin=Some(\"https://example.com\")",
            "cookie=Some(\"session=abc; theme=dark\")",
            "path=/room",
        ]
    );
    echo_once(&mut c);
    server.join().unwrap();
    // Bad inputs come back before any I/O.
    let e = ClientBuilder::new(&url)
        .header("Sec-WebSocket-Key", "mine")
        .connect_loop()
        .unwrap_err();
    assert!(matches!(e, Error::Handshake(_)), "{e:?}");
    let e = ClientBuilder::new(&url)
        .proxy("https://p:1")
        .connect_loop()
        .unwrap_err();
    assert!(
        matches!(e, Error::Proxy(ProxyError::InvalidUrl(_))),
        "{e:?}"
    );
}

#[test]
fn wss_with_our_ca_and_another_ca_refused() {
    let pki = pki();
    let port = tls_echo_server(pki.server.clone());
    for host in ["localhost", "127.0.0.1"] {
        let builder = ClientBuilder::new(&format!("wss://{host}:{port}/tls"))
            .config(big_config())
            .tls_config(trusting(&pki.ca_der));
        let mut c = connected(&builder).unwrap_or_else(|e| panic!("wss://{host}: {e}"));
        assert!(c.client().is_tls());
        let report = mio_exchange(&mut c).unwrap_or_else(|e| panic!("wss://{host}: {e}"));
        assert!(report.clean, "{report:?}");
    }
    let other = wsmachine_test_support::tls::pki();
    let e = connected(
        &ClientBuilder::new(&format!("wss://localhost:{port}/"))
            .tls_config(trusting(&other.ca_der)),
    )
    .expect_err("another CA's certificate is refused");
    assert!(
        matches!(&e, Error::Io(io) if io.to_string().contains("certificate")),
        "{e:?}"
    );
}

#[test]
fn a_silent_server_runs_into_the_handshake_timeout() {
    let addr = silent_listener();
    let e = connected(
        &ClientBuilder::new(&format!("ws://{addr}/"))
            .handshake_timeout(Some(Duration::from_millis(200))),
    )
    .expect_err("no 101 from a silent server");
    assert!(matches!(e, Error::Timeout(Timeout::Handshake)), "{e:?}");
}

#[test]
fn a_silent_proxy_runs_into_the_connect_timeout() {
    let addr = silent_listener();
    for proxy in [format!("socks5h://{addr}"), format!("http://{addr}")] {
        let e = connected(
            &ClientBuilder::new("ws://example.invalid/")
                .proxy(&proxy)
                .connect_timeout(Some(Duration::from_millis(200))),
        )
        .expect_err("no tunnel from a silent proxy");
        assert!(
            matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut),
            "{proxy}: {e:?}"
        );
    }
    // A TLS server that never answers the ClientHello: the TLS handshake runs into it.
    let e = connected(
        &ClientBuilder::new(&format!("wss://localhost:{}/", addr.port()))
            .tls_config(trusting(&pki().ca_der))
            .connect_timeout(Some(Duration::from_millis(200))),
    )
    .expect_err("no TLS from a silent server");
    assert!(
        matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut),
        "{e:?}"
    );
}

/// Our mio client through `proxy` to `url`: the standard exchange.
fn exchange_through(proxy: &str, url: &str) {
    let builder = ClientBuilder::new(url).config(big_config()).proxy(proxy);
    let mut c = connected(&builder).unwrap_or_else(|e| panic!("through {proxy}: {e}"));
    mio_exchange(&mut c).unwrap_or_else(|e| panic!("through {proxy}: {e}"));
}

fn connect_error(proxy: &str, url: &str) -> Error {
    match connected(&ClientBuilder::new(url).proxy(proxy)) {
        Ok(_) => panic!("connected through {proxy} to {url}"),
        Err(e) => e,
    }
}

#[test]
fn tinyproxy_connect_with_basic_auth_ws_and_wss() {
    let Some(bin) = proxy_binary(
        "PEER_TINYPROXY",
        "tinyproxy_connect_with_basic_auth_ws_and_wss",
    ) else {
        return;
    };
    let proxy = tinyproxy(&bin);
    let server = adapter::echo(Kind::Mio, big_config());
    exchange_through(&proxy.url("http", "wsm:s3cr3t@"), &server.url());
    // wss:// through the tunnel: TLS to the server inside the CONNECT.
    let ca = pki();
    let port = tls_echo_server(ca.server.clone());
    let builder = ClientBuilder::new(&format!("wss://localhost:{port}/tls"))
        .config(big_config())
        .proxy(&proxy.url("http", "wsm:s3cr3t@"))
        .tls_config(trusting(&ca.ca_der));
    let mut c = connected(&builder).unwrap_or_else(|e| panic!("wss through tinyproxy: {e}"));
    assert!(mio_exchange(&mut c).unwrap().clean);
    // No credentials: 407. Wrong ones: tinyproxy 1.11 answers 401 (RFC 9110 wants 407).
    for (userinfo, statuses) in [("", &[407][..]), ("wsm:wrong@", &[401, 407][..])] {
        let e = connect_error(&proxy.url("http", userinfo), &server.url());
        assert!(
            matches!(&e, Error::Proxy(ProxyError::HttpStatus { status, .. }) if statuses.contains(status)),
            "{userinfo:?}: {e:?} ({})",
            proxy.stderr()
        );
    }
}

#[test]
fn dante_socks5_resolving_here_and_at_the_proxy() {
    let name = "dante_socks5_resolving_here_and_at_the_proxy";
    let Some(bin) = proxy_binary("PEER_DANTED", name) else {
        return;
    };
    let proxy = dante(&bin);
    let server = adapter::echo(Kind::Mio, big_config());
    exchange_through(&proxy.url("socks5", ""), &server.url());
    let named = server.url().replace("127.0.0.1", "localhost") + "named";
    exchange_through(&proxy.url("socks5h", ""), &named);
    let closed = format!("ws://127.0.0.1:{}/", free_port());
    let e = connect_error(&proxy.url("socks5", ""), &closed);
    assert!(
        matches!(e, Error::Proxy(ProxyError::Socks5Reply(_))),
        "{e:?} ({})",
        proxy.stderr()
    );
}

#[test]
fn microsocks_socks5_with_username_and_password() {
    let name = "microsocks_socks5_with_username_and_password";
    let Some(bin) = proxy_binary("PEER_MICROSOCKS", name) else {
        return;
    };
    let proxy = microsocks(&bin);
    let server = adapter::echo(Kind::Mio, big_config());
    exchange_through(&proxy.url("socks5", "wsm:s3cr3t@"), &server.url());
    exchange_through(&proxy.url("socks5h", "wsm:s3cr3t@"), &(server.url() + "h"));
    let e = connect_error(&proxy.url("socks5", "wsm:wrong@"), &server.url());
    assert!(
        matches!(e, Error::Proxy(ProxyError::AuthenticationFailed(_))),
        "{e:?}"
    );
    let e = connect_error(&proxy.url("socks5", ""), &server.url());
    assert!(
        matches!(e, Error::Proxy(ProxyError::NoAcceptableMethod)),
        "{e:?}"
    );
}

/// The proxy from an environment (a lookup closure): `http_proxy` without a scheme goes
/// through tinyproxy; without credentials the proxy's 407 shows it was used; `no_proxy`
/// covering the host connects directly although the proxy named is dead.
#[test]
fn the_environment_picks_the_proxy_and_no_proxy_bypasses_it() {
    let name = "the_environment_picks_the_proxy_and_no_proxy_bypasses_it";
    let Some(bin) = proxy_binary("PEER_TINYPROXY", name) else {
        return;
    };
    let proxy = tinyproxy(&bin);
    let server = adapter::echo(Kind::Mio, big_config());
    let url = server.url();
    let value = format!("wsm:s3cr3t@127.0.0.1:{}", proxy.port);
    let mut c = connected(
        &ClientBuilder::new(&url).proxy_from_env_with(env_lookup(vec![("http_proxy", value)])),
    )
    .unwrap();
    echo_once(&mut c);
    let bare = format!("http://127.0.0.1:{}", proxy.port);
    let e = connected(
        &ClientBuilder::new(&url).proxy_from_env_with(env_lookup(vec![("ALL_PROXY", bare)])),
    )
    .expect_err("the proxy wants credentials");
    assert!(
        matches!(e, Error::Proxy(ProxyError::HttpStatus { status: 407, .. })),
        "{e:?}"
    );
    let dead = format!("http://127.0.0.1:{}", free_port());
    let mut c = connected(
        &ClientBuilder::new(&url).proxy_from_env_with(env_lookup(vec![
            ("http_proxy", dead.clone()),
            ("no_proxy", "localhost,127.0.0.1".into()),
        ])),
    )
    .unwrap();
    echo_once(&mut c);
    let e = connected(
        &ClientBuilder::new(&url).proxy_from_env_with(env_lookup(vec![("http_proxy", dead)])),
    )
    .expect_err("the dead proxy is used");
    assert!(matches!(e, Error::Io(_)), "{e:?}");
}
