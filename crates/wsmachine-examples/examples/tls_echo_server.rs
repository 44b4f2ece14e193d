//! A `wss://` echo server: tokio-rustls, then the tokio adapter; every text and binary
//! message comes back unchanged (up to 64 MiB).
//!
//! ```text
//! cargo run -p wsmachine-examples --example tls_echo_server -- [ADDR] [CERT.pem KEY.pem]
//! ```
//!
//! `ADDR` defaults to `127.0.0.1:9443`. Without a certificate and key, a self-signed
//! certificate for `localhost`, `127.0.0.1` and `::1` is made at start and written (PEM) to
//! a temporary file whose path is printed; a client trusts it through `SSL_CERT_FILE`:
//!
//! ```text
//! SSL_CERT_FILE=/tmp/wsmachine-tls-echo-9443.pem \
//!     cargo run -p wsmachine-tokio --features rustls --example client -- wss://localhost:9443/
//! ```

use std::path::PathBuf;

use tokio::net::TcpListener;
use wsmachine_examples::tls_echo::{self_signed, serve_tls_echo, server_config_from_pem};
use wsmachine_examples::tokio_echo::{echo_config, stderr_log};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9443".to_string());
    let listener = TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    let tls = match (args.next(), args.next()) {
        (Some(cert), Some(key)) => {
            eprintln!("certificate {cert}, key {key}");
            server_config_from_pem(&PathBuf::from(cert), &PathBuf::from(key))?
        }
        (None, None) => {
            let (config, pem) = self_signed()?;
            let path =
                std::env::temp_dir().join(format!("wsmachine-tls-echo-{}.pem", local.port()));
            std::fs::write(&path, pem)?;
            eprintln!(
                "self-signed certificate for localhost, 127.0.0.1 and ::1 written to {}\n\
                 trust it with SSL_CERT_FILE={}",
                path.display(),
                path.display()
            );
            config
        }
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "usage: tls_echo_server [ADDR] [CERT.pem KEY.pem]",
            ));
        }
    };
    eprintln!("wss:// echo server listening on wss://{local}/");
    serve_tls_echo(listener, tls, echo_config(), stderr_log()).await;
    Ok(())
}
