//! Real proxy servers for the client proxy tests (std and tokio), started per test as the
//! current user on free loopback ports with generated configs: tinyproxy (HTTP CONNECT with
//! BasicAuth `wsm:s3cr3t`), dante (SOCKS5 without authentication) and microsocks (SOCKS5
//! with username/password `wsm:s3cr3t`: dante's username method checks the system's
//! accounts, which a test should not create). `scripts/install-peers.sh` installs them and
//! writes their paths to `.peers/env`. Also what every adapter's proxy tests share: a
//! [`silent_listener`] (a proxy or server that never answers) and [`env_lookup`] (an
//! environment for `proxy_from_env_with`).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::peers;

/// Generous bound on waits for something that must happen.
pub const T: Duration = Duration::from_secs(20);

/// The proxy binary `key` (`PEER_TINYPROXY`, ...) from `.peers/env`, or `None` (skip).
pub fn proxy_binary(key: &str, test: &str) -> Option<PathBuf> {
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
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback listener that accepts and never answers, holding every socket (on a thread
/// of its own) while the test process runs: a proxy or server for timeout tests.
pub fn silent_listener() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept() {
            held.push(s);
        }
    });
    addr
}

/// An environment of `vars` as a lookup closure (what a builder's `proxy_from_env_with`
/// takes), so a test never touches the process's environment.
pub fn env_lookup(vars: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
}

/// A proxy process; killed (and its directory removed) on drop.
pub struct ProxyProcess {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    dir: PathBuf,
}

impl ProxyProcess {
    /// Starts `program` with `args` (a `{dir}` in an argument or in `config` is the
    /// process's own directory; `config` is written to `{dir}/proxy.conf`), and waits up to
    /// `T` for it to accept connections on `port`.
    pub fn start(name: &str, program: &PathBuf, args: &[&str], config: &str, port: u16) -> Self {
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

    pub fn stderr(&self) -> String {
        let mut s = std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default();
        s.push_str(&std::fs::read_to_string(self.dir.join("log")).unwrap_or_default());
        s
    }

    /// `scheme://userinfo127.0.0.1:port` (userinfo empty or `user:password@`).
    pub fn url(&self, scheme: &str, userinfo: &str) -> String {
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

/// tinyproxy on a free port: HTTP CONNECT, Basic authentication `wsm:s3cr3t` required.
pub fn tinyproxy(program: &PathBuf) -> ProxyProcess {
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

/// dante on a free port: SOCKS5 without authentication, loopback clients, any target.
pub fn dante(program: &PathBuf) -> ProxyProcess {
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

/// microsocks on a free port: SOCKS5 with username/password `wsm:s3cr3t` required.
pub fn microsocks(program: &PathBuf) -> ProxyProcess {
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
