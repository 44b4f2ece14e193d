//! # wsmachine-rustls
//!
//! The TLS decisions the wsmachine adapters (std, tokio) share for `wss://`, so that they
//! trust the same roots and name the server the same way:
//!
//! - [`default_client_config`]: the platform's roots (rustls-native-certs: the system
//!   store, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set), plus Mozilla's (webpki-roots)
//!   with the `webpki-roots` feature; the process's default crypto provider, else ring.
//!   Built once per process.
//! - [`server_name`]: the name for SNI and the certificate check, from a URL's host (a DNS
//!   name; an IP address is checked as such and sends no SNI).
//!
//! The TLS handshake itself stays with each adapter (rustls's `StreamOwned` for std,
//! tokio-rustls for tokio).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io;
use std::sync::{Arc, OnceLock};

pub use rustls;
use rustls::pki_types::ServerName;

/// The TLS client configuration used when the caller gives none: the platform's roots
/// (the system store, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set), plus webpki-roots with
/// that feature; the process's default crypto provider, else ring; TLS 1.2 and 1.3; no
/// client certificate. Built on first use (reading the store costs milliseconds) and then
/// shared: the environment is read once per process.
///
/// Fails (`NotFound`) when no root could be loaded, saying why.
pub fn default_client_config() -> io::Result<Arc<rustls::ClientConfig>> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(c) = CONFIG.get() {
        return Ok(c.clone());
    }
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if roots.is_empty() {
        let why = native
            .errors
            .first()
            .map_or_else(|| "no certificates found".to_string(), |e| e.to_string());
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no TLS root certificates ({added} loaded): {why}"),
        ));
    }
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}

/// The TLS server name for a URL's host (as `ClientRequest::host` gives it: a DNS name, an
/// IPv4 address, or an IPv6 address with or without brackets). Fails (`InvalidInput`) for
/// a host that is no valid name. Cost: one copy of the host.
pub fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the host is not a valid TLS server name",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        assert!(matches!(
            server_name("example.com").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("::1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert_eq!(
            server_name("bad name").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
