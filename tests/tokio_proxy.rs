//! The tokio client through real proxies (the test-support `proxies` module, shared with
//! tests/std_proxy.rs: tinyproxy for HTTP CONNECT with BasicAuth, dante for SOCKS5
//! resolving here (`socks5://`) and at the proxy (`socks5h://`), microsocks for SOCKS5
//! with username/password). Each tunnel carries the standard exchange (as
//! tests/tokio_interop.rs runs it) to our tokio echo server, and `wss://` goes through a
//! CONNECT tunnel to the TLS echo server; refused credentials and targets come back as
//! `Error::Proxy` with the proxy's answer; a proxy that never answers runs into the
//! connect timeout. Without the proxies in `.peers/env` these fail unless
//! `WSM_SKIP_INTEROP=1`.

use std::time::Duration;

use tokio::net::TcpListener;
use wsmachine_examples::tls_echo::serve_tls_echo;
use wsmachine_examples::tokio_echo::{Log, echo_config, serve_echo};
use wsmachine_test_support::async_exchange::{
    big_async_config, connect_error, exchange_through, standard_exchange,
};
use wsmachine_test_support::proxies::{
    T, dante, env_lookup, free_port, microsocks, proxy_binary, silent_listener, tinyproxy,
};
use wsmachine_tokio::{ClientBuilder, Error, ProxyError, TokioRuntime};

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(T * 3, f)
        .await
        .expect("test did not finish in time")
}

fn quiet() -> Log {
    std::sync::Arc::new(|_| {})
}

/// Our tokio echo server on a free port: its `ws://` URL.
async fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_echo(listener, echo_config(), quiet()));
    format!("ws://{addr}/")
}

#[tokio::test]
async fn tinyproxy_connect_with_basic_auth_ws_and_wss() {
    let Some(bin) = proxy_binary(
        "PEER_TINYPROXY",
        "tinyproxy_connect_with_basic_auth_ws_and_wss",
    ) else {
        return;
    };
    bounded(async {
        let proxy = tinyproxy(&bin);
        let url = echo_server().await;
        let via = proxy.url("http", "wsm:s3cr3t@");
        exchange_through::<TokioRuntime>(&via, &url).await;

        // wss:// through the tunnel: TLS to the server inside the CONNECT.
        let pki = wsmachine_test_support::tls::pki();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(serve_tls_echo(listener, pki.server.clone(), echo_config(), quiet()));
        let mut ws = ClientBuilder::new(format!("wss://localhost:{port}/tls"))
            .config(big_async_config())
            .proxy(&via)
            .tls_config(wsmachine_test_support::tls::trusting(&pki.ca_der))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("wss through tinyproxy: {e} ({})", proxy.stderr()));
        standard_exchange(&mut ws).await.unwrap();

        // No credentials: 407. Wrong ones: tinyproxy 1.11 answers 401 (RFC 9110 wants 407).
        for (userinfo, statuses) in [("", &[407][..]), ("wsm:wrong@", &[401, 407][..])] {
            let e = connect_error::<TokioRuntime>(&proxy.url("http", userinfo), &url).await;
            assert!(
                matches!(&e, Error::Proxy(ProxyError::HttpStatus { status, .. }) if statuses.contains(status)),
                "{userinfo:?}: {e:?} ({})",
                proxy.stderr()
            );
        }
    })
    .await
}

#[tokio::test]
async fn dante_socks5_resolving_here_and_at_the_proxy() {
    let Some(bin) = proxy_binary(
        "PEER_DANTED",
        "dante_socks5_resolving_here_and_at_the_proxy",
    ) else {
        return;
    };
    bounded(async {
        let proxy = dante(&bin);
        let url = echo_server().await;
        exchange_through::<TokioRuntime>(&proxy.url("socks5", ""), &url).await;
        // socks5h: the proxy resolves the name.
        let named = url.replace("127.0.0.1", "localhost") + "named";
        exchange_through::<TokioRuntime>(&proxy.url("socks5h", ""), &named).await;
        // A target nobody listens on: the proxy's reply code.
        let closed = free_port();
        let e = connect_error::<TokioRuntime>(
            &proxy.url("socks5", ""),
            &format!("ws://127.0.0.1:{closed}/"),
        )
        .await;
        assert!(
            matches!(e, Error::Proxy(ProxyError::Socks5Reply(_))),
            "{e:?} ({})",
            proxy.stderr()
        );
    })
    .await
}

#[tokio::test]
async fn microsocks_socks5_with_username_and_password() {
    let Some(bin) = proxy_binary(
        "PEER_MICROSOCKS",
        "microsocks_socks5_with_username_and_password",
    ) else {
        return;
    };
    bounded(async {
        let proxy = microsocks(&bin);
        let url = echo_server().await;
        exchange_through::<TokioRuntime>(&proxy.url("socks5", "wsm:s3cr3t@"), &url).await;
        exchange_through::<TokioRuntime>(
            &proxy.url("socks5h", "wsm:s3cr3t@"),
            &(url.clone() + "h"),
        )
        .await;
        let e = connect_error::<TokioRuntime>(&proxy.url("socks5", "wsm:wrong@"), &url).await;
        assert!(
            matches!(e, Error::Proxy(ProxyError::AuthenticationFailed(_))),
            "{e:?}"
        );
        let e = connect_error::<TokioRuntime>(&proxy.url("socks5", ""), &url).await;
        assert!(
            matches!(e, Error::Proxy(ProxyError::NoAcceptableMethod)),
            "{e:?}"
        );
    })
    .await
}

/// A "proxy" that accepts and never answers: the proxy handshake runs into the connect
/// timeout (an `io::ErrorKind::TimedOut`); a bad proxy URL is refused before any I/O.
#[tokio::test]
async fn a_silent_proxy_runs_into_the_connect_timeout() {
    bounded(async {
        let addr = silent_listener();
        let e = ClientBuilder::new("ws://example.invalid/")
            .proxy(&format!("socks5h://{addr}"))
            .connect_timeout(Some(Duration::from_millis(200)))
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut),
            "{e:?}"
        );
        let e = connect_error::<TokioRuntime>("https://proxy:1", "ws://127.0.0.1:1/").await;
        assert!(
            matches!(e, Error::Proxy(ProxyError::InvalidUrl(_))),
            "{e:?}"
        );
    })
    .await
}

/// The proxy from an environment (a lookup closure, so the process's stays untouched):
/// `http_proxy` without a scheme goes through tinyproxy; without credentials its 407 shows
/// the proxy was used; `no_proxy` covering the host connects directly past a dead proxy;
/// a `wss://` URL looks at `https_proxy`, not `http_proxy`.
#[tokio::test]
async fn the_environment_picks_the_proxy_and_no_proxy_bypasses_it() {
    let name = "the_environment_picks_the_proxy_and_no_proxy_bypasses_it";
    let Some(bin) = proxy_binary("PEER_TINYPROXY", name) else {
        return;
    };
    bounded(async {
        let proxy = tinyproxy(&bin);
        let url = echo_server().await;
        let value = format!("wsm:s3cr3t@127.0.0.1:{}", proxy.port);
        let mut ws = ClientBuilder::new(&url)
            .config(big_async_config())
            .proxy_from_env_with(env_lookup(vec![("http_proxy", value)]))
            .connect()
            .await
            .unwrap();
        standard_exchange(&mut ws).await.unwrap();
        let bare = format!("http://127.0.0.1:{}", proxy.port);
        let e = ClientBuilder::new(&url)
            .proxy_from_env_with(env_lookup(vec![("all_proxy", bare.clone())]))
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Proxy(ProxyError::HttpStatus { status: 407, .. })),
            "{e:?}"
        );
        let dead = format!("http://127.0.0.1:{}", free_port());
        let mut ws = ClientBuilder::new(&url)
            .config(big_async_config())
            .proxy_from_env_with(env_lookup(vec![
                ("http_proxy", dead.clone()),
                ("no_proxy", "*".into()),
            ]))
            .connect()
            .await
            .unwrap();
        standard_exchange(&mut ws).await.unwrap();
        let e = ClientBuilder::new(&url)
            .proxy_from_env_with(env_lookup(vec![("HTTP_PROXY", dead)]))
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Io(_)), "{e:?}");
        // wss:// ignores http_proxy (here one that would refuse with 407): the TLS
        // handshake goes to the plain server directly, which never answers it.
        let tls_url = url.replace("ws://", "wss://");
        let e = ClientBuilder::new(&tls_url)
            .proxy_from_env_with(env_lookup(vec![("http_proxy", bare)]))
            .connect_timeout(Some(Duration::from_millis(500)))
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Io(_)), "{e:?}");
    })
    .await
}
