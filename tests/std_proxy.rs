//! The std client through real proxies, started per test as the current user on free
//! loopback ports with generated configs (installed by scripts/install-peers.sh):
//! tinyproxy (HTTP CONNECT with BasicAuth), dante (SOCKS5, `socks5://` resolving here and
//! `socks5h://` resolving at the proxy) and microsocks (SOCKS5 with username/password,
//! RFC 1929: dante's username method checks the system's accounts, which a test should
//! not create). Each tunnel carries the standard exchange to our std echo server; refused
//! credentials and refused targets come back as `Error::Proxy` with the proxy's answer.
//! Without the proxies in `.peers/env` these fail unless `WSM_SKIP_INTEROP=1`.

use wsmachine_test_support::{adapter as wsm, peers};

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wsmachine_std::{ClientBuilder, Error, ProxyError};

/// Generous bound on waits for something that must happen.
const T: Duration = Duration::from_secs(20);

/// The proxy binary `key` (`PEER_TINYPROXY`, ...) from `.peers/env`, or `None` (skip).
fn proxy_binary(key: &str, test: &str) -> Option<PathBuf> {
    let path = peers::repo_root().join(".peers").join("env");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let found = text.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix('=')?.trim();
        (!v.is_empty()).then(|| PathBuf::from(v))
    });
    match found {
        Some(p) => Some(p),
        None if std::env::var("WSM_SKIP_INTEROP").as_deref() == Ok("1") => {
            println!("SKIP {test}: no {key} in .peers/env (WSM_SKIP_INTEROP=1)");
            None
        }
        None => panic!(
            "{test}: {key} missing from {}: run scripts/install-peers.sh \
             (or set WSM_SKIP_INTEROP=1 to skip)",
            path.display()
        ),
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A proxy process; killed (and its directory removed) on drop.
struct ProxyProcess {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl ProxyProcess {
    /// Starts `program` with `args` (a `{dir}` in an argument or in `config` is the
    /// process's own directory; `config` is written to `{dir}/proxy.conf`), and waits up to
    /// `T` for it to accept connections on `port`.
    fn start(name: &str, program: &PathBuf, args: &[&str], config: &str, port: u16) -> Self {
        let dir = std::env::temp_dir().join(format!("wsm-{name}-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap();
        std::fs::write(dir.join("proxy.conf"), config.replace("{dir}", d)).unwrap();
        let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", d)).collect();
        let child = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut p = ProxyProcess { child, port, dir };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("{name} exited ({status}) before listening: {}", p.stderr());
            }
            assert!(start.elapsed() < T, "{name} did not listen within {T:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    fn stderr(&self) -> String {
        let mut s = std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default();
        s.push_str(&std::fs::read_to_string(self.dir.join("log")).unwrap_or_default());
        s
    }

    fn url(&self, scheme: &str, userinfo: &str) -> String {
        format!("{scheme}://{userinfo}127.0.0.1:{}", self.port)
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tinyproxy(program: &PathBuf) -> ProxyProcess {
    let port = free_port();
    let config = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 20\nAllow 127.0.0.1\n\
         BasicAuth wsm s3cr3t\nLogFile \"{{dir}}/log\"\nLogLevel Info\n\
         PidFile \"{{dir}}/pid\"\n"
    );
    ProxyProcess::start(
        "tinyproxy",
        program,
        &["-d", "-c", "{dir}/proxy.conf"],
        &config,
        port,
    )
}

fn dante(program: &PathBuf) -> ProxyProcess {
    let port = free_port();
    let config = format!(
        "logoutput: {{dir}}/log\ninternal: 127.0.0.1 port = {port}\nexternal: 127.0.0.1\n\
         clientmethod: none\nsocksmethod: none\n\
         client pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  log: error\n}}\n\
         socks pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: connect\n  log: error\n}}\n"
    );
    ProxyProcess::start(
        "dante",
        program,
        &["-f", "{dir}/proxy.conf", "-p", "{dir}/pid", "-N", "1"],
        &config,
        port,
    )
}

fn microsocks(program: &PathBuf) -> ProxyProcess {
    let port = free_port();
    let p = port.to_string();
    ProxyProcess::start(
        "microsocks",
        program,
        &["-i", "127.0.0.1", "-p", &p, "-u", "wsm", "-P", "s3cr3t"],
        "",
        port,
    )
}

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
