//! The futures adapter's `ClientBuilder` on smol: headers and subprotocols reach a smol
//! server (and the 101's choice comes back), the handshake timeout and the connect timeout
//! fire, `wss://` (feature `rustls`, futures-rustls) against a futures-rustls server with
//! a CA made per run (our config, a connector, another CA refused), and real proxies (the
//! test-support `proxies` module, as tests/tokio_proxy.rs and tests/std_proxy.rs use it):
//! tinyproxy for HTTP CONNECT with BasicAuth (`ws://` and `wss://` through it, refused
//! credentials), dante for SOCKS5 resolving here and at the proxy, microsocks for SOCKS5
//! with username/password, and the proxy picked from an environment (`proxy_from_env_with`,
//! `no_proxy` bypassing it). Each tunnel carries the standard exchange to the smol echo
//! server. Without the proxies in `.peers/env` the proxy tests fail unless
//! `WSM_SKIP_INTEROP=1`.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smol::net::TcpListener;
use wsmachine::{ConnectionError, Timeout};
use wsmachine_examples::async_echo::{Log, echo_connection};
use wsmachine_examples::smol_echo;
use wsmachine_futures::futures_rustls::TlsAcceptor;
use wsmachine_futures::futures_rustls::rustls::ServerConfig;
use wsmachine_futures::futures_rustls::rustls::pki_types::ServerName;
use wsmachine_futures::{
    Accept, ClientBuilder, CloseCode, Config, Decision, Error, Message, ProxyError, Runtime,
    WebSocket,
};
use wsmachine_test_support::async_exchange::{
    big_async_config, connect_error, exchange_through, standard_exchange,
};
use wsmachine_test_support::proxies::{
    T, dante, env_lookup, free_port, microsocks, proxy_binary, silent_listener, tinyproxy,
};
use wsmachine_test_support::tls::{pki, trusting};

/// Runs `f` on smol, failing the test if it has not finished in a generous time.
fn bounded<F: Future>(f: F) -> F::Output {
    smol::block_on(smol::future::or(f, async {
        smol::Timer::after(T * 3).await;
        panic!("test did not finish in time")
    }))
}

fn quiet() -> Log {
    Arc::new(|_| {})
}

/// The smol echo server (wsmachine-examples) on a free port: its `ws://` URL.
fn echo_server() -> String {
    let addr = smol_echo::spawn(
        "127.0.0.1:0",
        smol_echo::echo_config(),
        quiet(),
        Arc::new(|_| {}),
    )
    .unwrap();
    format!("ws://{addr}/")
}

/// A `wss://` echo server on smol: futures-rustls's acceptor, then the futures adapter.
/// Returns its port.
fn tls_echo_server(tls: Arc<ServerConfig>) -> u16 {
    let listener = smol::block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(tls);
    std::thread::spawn(move || {
        smol::block_on(async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                smol::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let rt = smol_echo::runtime();
                    let accepted =
                        rt.accept_with(tls, smol_echo::echo_config(), |_| Decision::accept());
                    if let Ok(ws) = accepted.await {
                        echo_connection(ws, &quiet()).await;
                    }
                })
                .detach();
            }
        })
    });
    port
}

/// A message and its echo, then a clean close.
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

#[test]
fn headers_and_subprotocols_reach_the_server() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/room", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let s = seen.clone();
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let ws = smol_echo::runtime()
                .accept_with(stream, Config::new(), move |req| {
                    let mut seen = s.lock().unwrap();
                    for name in ["authorization", "origin", "cookie"] {
                        seen.push(format!("{name}={:?}", req.headers.get_str(name)));
                    }
                    seen.push(format!("path={}", req.path));
                    let headers = vec![("X-User".to_string(), "good-user".to_string())];
                    Decision::Accept(Accept::negotiate(req, &["chat"], headers))
                })
                .await
                .unwrap();
            echo_connection(ws, &quiet()).await;
        });
        let mut ws = ClientBuilder::new(&url)
            .header("Authorization", "Bearer good")
            .header("Origin", "https://example.com")
            .header("Cookie", "session=abc; theme=dark")
            .subprotocol("superchat")
            .subprotocol("chat")
            .runtime(smol_echo::runtime())
            .connect()
            .await
            .unwrap();
        let response = ws.response().expect("the 101 is kept");
        assert_eq!(response.subprotocol.as_deref(), Some("chat"));
        assert_eq!(response.header("x-user"), Some(&b"good-user"[..]));
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "authorization=Some(\"Bearer good\")",
                "origin=Some(\"https://example.com\")",
                "cookie=Some(\"session=abc; theme=dark\")",
                "path=/room",
            ]
        );
        echo_once(&mut ws).await;
        server.await;
    })
}

#[test]
fn a_silent_server_runs_into_the_handshake_timeout() {
    bounded(async {
        let addr = silent_listener();
        let e = ClientBuilder::new(format!("ws://{addr}/"))
            .handshake_timeout(Some(Duration::from_millis(200)))
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Connection(ConnectionError::Timeout(Timeout::Handshake))
            ),
            "{e:?}"
        );
    })
}

#[test]
fn a_silent_proxy_runs_into_the_connect_timeout() {
    bounded(async {
        let addr = silent_listener();
        for proxy in [format!("socks5h://{addr}"), format!("http://{addr}")] {
            let e = ClientBuilder::new("ws://example.invalid/")
                .proxy(&proxy)
                .connect_timeout(Some(Duration::from_millis(200)))
                .connect()
                .await
                .unwrap_err();
            assert!(
                matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut),
                "{proxy}: {e:?}"
            );
        }
        // A silent TLS server: the TLS handshake runs into it too.
        let e = ClientBuilder::new(format!("wss://localhost:{}/", addr.port()))
            .tls_config(trusting(&pki().ca_der))
            .connect_timeout(Some(Duration::from_millis(200)))
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut),
            "{e:?}"
        );
    })
}

#[test]
fn wss_with_our_ca_a_connector_and_another_ca_refused() {
    bounded(async {
        let pki = pki();
        let port = tls_echo_server(pki.server.clone());
        for host in ["localhost", "127.0.0.1"] {
            let mut ws = ClientBuilder::new(format!("wss://{host}:{port}/tls"))
                .config(big_async_config())
                .tls_config(trusting(&pki.ca_der))
                .connect()
                .await
                .unwrap_or_else(|e| panic!("wss://{host}: {e}"));
            assert!(ws.peer_addr().is_some());
            standard_exchange(&mut ws).await.unwrap();
        }
        // Any connector: here futures-rustls set up by hand, counting its calls.
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (c, config) = (calls.clone(), trusting(&pki.ca_der));
        let connector = wsmachine_futures::futures_rustls::TlsConnector::from(config);
        let mut ws = ClientBuilder::new(format!("wss://localhost:{port}/c"))
            .tls_connector(move |host, tcp| {
                c.lock().unwrap().push(host.clone());
                let connector = connector.clone();
                async move {
                    let name = ServerName::try_from(host).map_err(std::io::Error::other)?;
                    connector.connect(name, tcp).await
                }
            })
            .connect()
            .await
            .unwrap();
        echo_once(&mut ws).await;
        assert_eq!(*calls.lock().unwrap(), ["localhost"]);
        // Another CA: rustls's certificate error, as an I/O error.
        let other = wsmachine_test_support::tls::pki();
        let e = ClientBuilder::new(format!("wss://localhost:{port}/"))
            .tls_config(trusting(&other.ca_der))
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Io(io) if io.to_string().contains("certificate")),
            "{e:?}"
        );
    })
}

#[test]
fn tinyproxy_connect_with_basic_auth_ws_and_wss() {
    let name = "tinyproxy_connect_with_basic_auth_ws_and_wss";
    let Some(bin) = proxy_binary("PEER_TINYPROXY", name) else {
        return;
    };
    bounded(async {
        let proxy = tinyproxy(&bin);
        let url = echo_server();
        let via = proxy.url("http", "wsm:s3cr3t@");
        exchange_through::<Runtime>(&via, &url).await;

        // wss:// through the tunnel: TLS to the server inside the CONNECT.
        let pki = pki();
        let port = tls_echo_server(pki.server.clone());
        let mut ws = ClientBuilder::new(format!("wss://localhost:{port}/tls"))
            .config(big_async_config())
            .proxy(&via)
            .tls_config(trusting(&pki.ca_der))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("wss through tinyproxy: {e} ({})", proxy.stderr()));
        standard_exchange(&mut ws).await.unwrap();

        // No credentials: 407. Wrong ones: tinyproxy 1.11 answers 401 (RFC 9110 wants 407).
        for (userinfo, statuses) in [("", &[407][..]), ("wsm:wrong@", &[401, 407][..])] {
            let e = connect_error::<Runtime>(&proxy.url("http", userinfo), &url).await;
            assert!(
                matches!(&e, Error::Proxy(ProxyError::HttpStatus { status, .. }) if statuses.contains(status)),
                "{userinfo:?}: {e:?} ({})",
                proxy.stderr()
            );
        }
    })
}

#[test]
fn dante_socks5_resolving_here_and_at_the_proxy() {
    let name = "dante_socks5_resolving_here_and_at_the_proxy";
    let Some(bin) = proxy_binary("PEER_DANTED", name) else {
        return;
    };
    bounded(async {
        let proxy = dante(&bin);
        let url = echo_server();
        exchange_through::<Runtime>(&proxy.url("socks5", ""), &url).await;
        // socks5h: the proxy resolves the name.
        let named = url.replace("127.0.0.1", "localhost") + "named";
        exchange_through::<Runtime>(&proxy.url("socks5h", ""), &named).await;
        // A target nobody listens on: the proxy's reply code.
        let closed = format!("ws://127.0.0.1:{}/", free_port());
        let e = connect_error::<Runtime>(&proxy.url("socks5", ""), &closed).await;
        assert!(
            matches!(e, Error::Proxy(ProxyError::Socks5Reply(_))),
            "{e:?} ({})",
            proxy.stderr()
        );
    })
}

#[test]
fn microsocks_socks5_with_username_and_password() {
    let name = "microsocks_socks5_with_username_and_password";
    let Some(bin) = proxy_binary("PEER_MICROSOCKS", name) else {
        return;
    };
    bounded(async {
        let proxy = microsocks(&bin);
        let url = echo_server();
        exchange_through::<Runtime>(&proxy.url("socks5", "wsm:s3cr3t@"), &url).await;
        exchange_through::<Runtime>(&proxy.url("socks5h", "wsm:s3cr3t@"), &(url.clone() + "h"))
            .await;
        let e = connect_error::<Runtime>(&proxy.url("socks5", "wsm:wrong@"), &url).await;
        assert!(
            matches!(e, Error::Proxy(ProxyError::AuthenticationFailed(_))),
            "{e:?}"
        );
        let e = connect_error::<Runtime>(&proxy.url("socks5", ""), &url).await;
        assert!(
            matches!(e, Error::Proxy(ProxyError::NoAcceptableMethod)),
            "{e:?}"
        );
    })
}

/// The proxy from an environment (a lookup closure, so the process's stays untouched):
/// `http_proxy` without a scheme goes through tinyproxy; `no_proxy` covering the host
/// connects directly although the proxy named is dead; a `wss://` URL ignores
/// `http_proxy`.
#[test]
fn the_environment_picks_the_proxy_and_no_proxy_bypasses_it() {
    let name = "the_environment_picks_the_proxy_and_no_proxy_bypasses_it";
    let Some(bin) = proxy_binary("PEER_TINYPROXY", name) else {
        return;
    };
    bounded(async {
        let proxy = tinyproxy(&bin);
        let url = echo_server();
        let value = format!("wsm:s3cr3t@127.0.0.1:{}", proxy.port);
        let mut ws = ClientBuilder::new(&url)
            .proxy_from_env_with(env_lookup(vec![("http_proxy", value.clone())]))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("through the environment's proxy: {e}"));
        echo_once(&mut ws).await;
        // Without credentials the proxy refuses: the connection did go through it.
        let bare = format!("http://127.0.0.1:{}", proxy.port);
        let e = ClientBuilder::new(&url)
            .proxy_from_env_with(env_lookup(vec![("ALL_PROXY", bare)]))
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Proxy(ProxyError::HttpStatus { status: 407, .. })),
            "{e:?}"
        );
        // no_proxy covers 127.0.0.1: directly, past a proxy nobody listens on.
        let dead = format!("http://127.0.0.1:{}", free_port());
        let mut ws = ClientBuilder::new(&url)
            .proxy_from_env_with(env_lookup(vec![
                ("http_proxy", dead.clone()),
                ("NO_PROXY", "localhost, 127.0.0.0/8".into()),
            ]))
            .connect()
            .await
            .unwrap();
        echo_once(&mut ws).await;
        // The dead proxy is really used when no_proxy does not cover the host.
        let e = ClientBuilder::new(&url)
            .proxy_from_env_with(env_lookup(vec![("http_proxy", dead)]))
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Io(_)), "{e:?}");
    })
}
