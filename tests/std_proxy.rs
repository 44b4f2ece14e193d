//! The std client through real proxies, started per test as the current user on free
//! loopback ports with generated configs (installed by scripts/install-peers.sh):
//! tinyproxy (HTTP CONNECT with BasicAuth), dante (SOCKS5, `socks5://` resolving here and
//! `socks5h://` resolving at the proxy) and microsocks (SOCKS5 with username/password,
//! RFC 1929: dante's username method checks the system's accounts, which a test should
//! not create). Each tunnel carries the standard exchange to our std echo server; refused
//! credentials and refused targets come back as `Error::Proxy` with the proxy's answer.
//! Without the proxies in `.peers/env` these fail unless `WSM_SKIP_INTEROP=1`.

use wsmachine_test_support::adapter as wsm;
use wsmachine_test_support::proxies::{
    T, dante, env_lookup, free_port, microsocks, proxy_binary, tinyproxy,
};

use wsmachine_std::{ClientBuilder, Error, ProxyError};

/// Our std client through `proxy` to `url`: the standard exchange, a clean close.
fn exchange_through(proxy: &str, url: &str) {
    let (mut ws, response) = ClientBuilder::new(url)
        .config(wsm::big_config())
        .proxy(proxy)
        .connect()
        .unwrap_or_else(|e| panic!("through {proxy}: {e}"));
    assert_eq!(response.status, 101);
    let report = wsm::std_exchange(&mut ws).unwrap();
    assert!(report.clean, "{report:?}");
}

fn connect_error(proxy: &str, url: &str) -> Error {
    match ClientBuilder::new(url).proxy(proxy).connect() {
        Ok(_) => panic!("connected through {proxy} to {url}"),
        Err(e) => e,
    }
}

#[test]
fn tinyproxy_connect_with_basic_auth() {
    let Some(bin) = proxy_binary("PEER_TINYPROXY", "tinyproxy_connect_with_basic_auth") else {
        return;
    };
    let proxy = tinyproxy(&bin);
    let server = wsm::echo(wsm::Kind::Std, wsm::big_config());
    let url = server.url();
    exchange_through(&proxy.url("http", "wsm:s3cr3t@"), &url);
    let end = server
        .next_end(T)
        .expect("the server saw the connection end");
    assert!(end.error.is_none(), "{end:?}");

    // No credentials: 407. Wrong ones: tinyproxy 1.11 answers 401 (RFC 9110 wants 407).
    for (userinfo, statuses) in [("", &[407][..]), ("wsm:wrong@", &[401, 407][..])] {
        let e = connect_error(&proxy.url("http", userinfo), &url);
        assert!(
            matches!(&e, Error::Proxy(ProxyError::HttpStatus { status, .. }) if statuses.contains(status)),
            "{userinfo:?}: {e:?} ({})",
            proxy.stderr()
        );
    }
}

#[test]
fn dante_socks5_resolving_here_and_at_the_proxy() {
    let Some(bin) = proxy_binary(
        "PEER_DANTED",
        "dante_socks5_resolving_here_and_at_the_proxy",
    ) else {
        return;
    };
    let proxy = dante(&bin);
    let server = wsm::echo(wsm::Kind::Std, wsm::big_config());
    let port = server.addr.port();
    exchange_through(&proxy.url("socks5", ""), &server.url());
    // socks5h: the proxy resolves the name.
    exchange_through(
        &proxy.url("socks5h", ""),
        &format!("ws://localhost:{port}/named"),
    );
    // A target nobody listens on: the proxy's reply code (5, connection refused).
    let closed = free_port();
    let e = connect_error(
        &proxy.url("socks5", ""),
        &format!("ws://127.0.0.1:{closed}/"),
    );
    assert!(
        matches!(e, Error::Proxy(ProxyError::Socks5Reply(_))),
        "{e:?} ({})",
        proxy.stderr()
    );
}

#[test]
fn microsocks_socks5_with_username_and_password() {
    let Some(bin) = proxy_binary(
        "PEER_MICROSOCKS",
        "microsocks_socks5_with_username_and_password",
    ) else {
        return;
    };
    let proxy = microsocks(&bin);
    let server = wsm::echo(wsm::Kind::Std, wsm::big_config());
    exchange_through(&proxy.url("socks5", "wsm:s3cr3t@"), &server.url());
    exchange_through(
        &proxy.url("socks5h", "wsm:s3cr3t@"),
        &format!("ws://127.0.0.1:{}/h", server.addr.port()),
    );
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

/// The proxy from an environment (a lookup closure, so the process's stays untouched):
/// `http_proxy` without a scheme goes through tinyproxy; without credentials its 407 shows
/// the proxy was used; `no_proxy` covering the host connects directly past a dead proxy.
#[test]
fn the_environment_picks_the_proxy_and_no_proxy_bypasses_it() {
    let name = "the_environment_picks_the_proxy_and_no_proxy_bypasses_it";
    let Some(bin) = proxy_binary("PEER_TINYPROXY", name) else {
        return;
    };
    let proxy = tinyproxy(&bin);
    let server = wsm::echo(wsm::Kind::Std, wsm::big_config());
    let url = server.url();
    let value = format!("wsm:s3cr3t@127.0.0.1:{}", proxy.port);
    let (mut ws, _) = ClientBuilder::new(&url)
        .config(wsm::big_config())
        .proxy_from_env_with(env_lookup(vec![("http_proxy", value)]))
        .connect()
        .unwrap();
    assert!(wsm::std_exchange(&mut ws).unwrap().clean);
    let bare = format!("http://127.0.0.1:{}", proxy.port);
    let e = ClientBuilder::new(&url)
        .proxy_from_env_with(env_lookup(vec![("ALL_PROXY", bare)]))
        .connect()
        .unwrap_err();
    assert!(
        matches!(e, Error::Proxy(ProxyError::HttpStatus { status: 407, .. })),
        "{e:?}"
    );
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (mut ws, _) = ClientBuilder::new(&url)
        .config(wsm::big_config())
        .proxy_from_env_with(env_lookup(vec![
            ("http_proxy", dead.clone()),
            (
                "NO_PROXY",
                ".localhost, 127.0.0.1:".to_string() + &server.addr.port().to_string(),
            ),
        ]))
        .connect()
        .unwrap();
    assert!(wsm::std_exchange(&mut ws).unwrap().clean);
    let e = ClientBuilder::new(&url)
        .proxy_from_env_with(env_lookup(vec![("http_proxy", dead)]))
        .connect()
        .unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e:?}");
}
