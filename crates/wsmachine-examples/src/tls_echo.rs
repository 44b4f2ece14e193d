//! A `wss://` echo server over the tokio adapter: tokio-rustls accepts TLS, then
//! [`wsmachine_tokio::accept_with`] runs the WebSocket handshake on the TLS stream and
//! [`echo`] echoes. The certificate comes from PEM files ([`server_config_from_pem`]) or is
//! made at start ([`self_signed`], rcgen) for `localhost`, `127.0.0.1` and `::1`.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wsmachine_tokio::rustls::ServerConfig;
use wsmachine_tokio::rustls::pki_types::pem::PemObject;
use wsmachine_tokio::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use wsmachine_tokio::tokio_rustls::TlsAcceptor;
use wsmachine_tokio::{Config, Decision, accept_with};

use crate::tokio_echo::{AcceptErrors, DEFAULT_MAX_CONNECTIONS, Log, echo};

/// How long a client may take to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A server TLS configuration from a certificate chain and a private key in PEM files
/// (PKCS#8, PKCS#1 or SEC1 key), with ring, TLS 1.2 and 1.3.
pub fn server_config_from_pem(cert: &Path, key: &Path) -> io::Result<Arc<ServerConfig>> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(&cert.display().to_string(), &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&cert.display().to_string(), &e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(&key.display().to_string(), &e))?;
    server_config(chain, key)
}

/// A server TLS configuration presenting `chain` (leaf first) with `key`.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<Arc<ServerConfig>> {
    let provider = Arc::new(wsmachine_tokio::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(io::Error::other)?;
    Ok(Arc::new(config))
}

/// A self-signed certificate made now, for `localhost`, `127.0.0.1` and `::1`: the server
/// configuration, and the certificate in PEM for clients to trust (e.g. a file named by
/// `SSL_CERT_FILE`).
pub fn self_signed() -> io::Result<(Arc<ServerConfig>, String)> {
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let cert = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let der: CertificateDer<'static> = cert.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    Ok((server_config(vec![der], key)?, cert.cert.pem()))
}

/// Runs a `wss://` echo server on `listener` forever, each connection on its own task, at
/// most [`DEFAULT_MAX_CONNECTIONS`] at once: the TLS handshake (bounded by 10 s; the SNI
/// the client sent is logged), then the WebSocket handshake and the echo. One connection's
/// failure is logged with its address and never stops the loop.
pub async fn serve_tls_echo(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    config: Config,
    log: Log,
) {
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(Semaphore::new(DEFAULT_MAX_CONNECTIONS));
    let mut errors = AcceptErrors::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, addr) = match listener.accept().await {
            Ok(x) => {
                errors.succeeded();
                x
            }
            Err(e) => {
                drop(slot);
                let pause = errors.failed(&e, &log);
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
                continue;
            }
        };
        let (acceptor, log) = (acceptor.clone(), log.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let tls =
                match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => return log(format!("{addr}: TLS handshake failed: {e}")),
                    Err(_) => return log(format!("{addr}: TLS handshake timed out")),
                };
            let sni = tls.get_ref().1.server_name().unwrap_or("-").to_string();
            log(format!("{addr}: TLS, server name {sni}"));
            match accept_with(tls, config, |_| Decision::accept()).await {
                Ok(ws) => {
                    log(format!("{addr}: connected"));
                    echo(ws, &log).await;
                }
                Err(e) => log(format!("{addr}: handshake failed: {e}")),
            }
        });
    }
}
