//! TLS client configuration (rustls with the ring provider).

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// The roots to trust: every certificate in `ca_file`, or the web's roots.
fn roots(ca_file: Option<&Path>) -> io::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
            }
            if roots.is_empty() {
                return Err(io::Error::other(format!(
                    "{}: no certificate in the file",
                    path.display()
                )));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(roots)
}

/// Runs the TLS handshake over `tcp`, checking the certificate for `server`.
pub(crate) async fn connect(
    tcp: TcpStream,
    server: &str,
    ca_file: Option<&Path>,
) -> io::Result<TlsStream<TcpStream>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots(ca_file)?)
        .with_no_client_auth();
    let name = ServerName::try_from(server.to_string())
        .map_err(|e| io::Error::other(format!("{server}: {e}")))?;
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}
