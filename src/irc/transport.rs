//! Opening the byte stream to the server: plain TCP, or TLS through rustls.

use crate::config::IrcConfig;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// TLS settings, built once at start-up so a bad certificate file fails early.
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
    /// SHA-256 digests of the pinned server certificates; empty: CA verification.
    pins: Vec<[u8; 32]>,
}

impl Tls {
    pub fn from_config(irc: &IrcConfig) -> Result<Option<Tls>, String> {
        if !irc.tls {
            return Ok(None);
        }
        Tls::build(irc).map(Some)
    }

    /// The TLS settings an STS upgrade uses when the config says `tls = false`: the same
    /// certificate checks as `tls = true` would make.
    pub fn for_sts(irc: &IrcConfig) -> Result<Tls, String> {
        Tls::build(irc)
    }

    fn build(irc: &IrcConfig) -> Result<Tls, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let pins: Vec<[u8; 32]> = irc
            .tls_fingerprints
            .iter()
            .map(|f| parse_fingerprint(f).ok_or_else(|| format!("irc.tls_fingerprints: {f:?} is not sha256:<hex>")))
            .collect::<Result<_, _>>()?;
        let builder = if !pins.is_empty() {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        } else if irc.tls_verify {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            if let Some(ca) = &irc.tls_ca_file {
                for cert in read_certs(ca)? {
                    roots.add(cert).map_err(|e| format!("{}: {e}", ca.display()))?;
                }
            }
            builder.with_root_certificates(roots)
        } else {
            tracing::warn!("tls_verify = false: the server's certificate is not checked");
            builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        };
        let config = match (&irc.tls_cert_file, &irc.tls_key_file) {
            (Some(cert), Some(key)) => {
                use rustls::pki_types::pem::PemObject;
                let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("{}: {e}", key.display()))?;
                builder.with_client_auth_cert(read_certs(cert)?, key).map_err(|e| e.to_string())?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(Tls { config: Arc::new(config), pins })
    }
}

/// Reads `sha256:AB:CD:…` (or without colons, any case) as the 32 bytes of a SHA-256 digest.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let (algorithm, hex) = text.trim().split_once(':')?;
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return None;
    }
    let digits: Vec<u8> = hex.bytes().filter(|b| *b != b':').collect();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

/// `sha256:` and the colon-separated hex digest of a certificate, as openssl prints it.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(der);
    let hex: Vec<String> = digest.iter().map(|b: &u8| format!("{b:02X}")).collect();
    format!("sha256:{}", hex.join(":"))
}

fn read_certs(path: &std::path::Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub async fn connect(server: &str, port: u16, tls: Option<&Tls>) -> std::io::Result<Box<dyn Stream>> {
    let tcp = TcpStream::connect((server, port)).await?;
    tcp.set_nodelay(true)?;
    match tls {
        None => Ok(Box::new(tcp)),
        Some(tls) => {
            let name = rustls::pki_types::ServerName::try_from(server.to_string())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let stream = tokio_rustls::TlsConnector::from(tls.config.clone()).connect(name, tcp).await?;
            if !tls.pins.is_empty() {
                // Checked here, before a byte of IRC is sent, rather than in the verifier: the
                // handshake completes and then the connection closes (what irctest expects).
                let presented = stream.get_ref().1.peer_certificates().and_then(|c| c.first());
                let pinned = presented.is_some_and(|cert| {
                    let digest = <sha2::Sha256 as sha2::Digest>::digest(cert.as_ref());
                    tls.pins.iter().any(|p| p[..] == digest[..])
                });
                if !pinned {
                    let shown = presented.map(|c| fingerprint(c.as_ref())).unwrap_or_else(|| "(none)".into());
                    return Err(std::io::Error::other(format!(
                        "certificate {shown} is not one of the pinned tls_fingerprints"
                    )));
                }
            }
            Ok(Box::new(stream))
        }
    }
}

/// Accepts any certificate (the handshake signatures are still checked): for `tls_verify = false`,
/// which the operator chose explicitly, and for pinned certificates, which `connect` compares
/// with the pins once the handshake is done (whoever signed one, or nobody, does not matter:
/// the operator has said which certificate the server has).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_with_or_without_colons_in_any_case() {
        let colons = format!("sha256:{}", ["ab"; 32].join(":"));
        assert_eq!(parse_fingerprint(&colons), Some([0xab; 32]));
        assert_eq!(parse_fingerprint(&format!("SHA256:{}", "AB".repeat(32))), Some([0xab; 32]));
        assert_eq!(parse_fingerprint(&"ab".repeat(32)), None, "needs the algorithm");
        assert_eq!(parse_fingerprint(&format!("sha1:{}", "ab".repeat(20))), None);
        assert_eq!(parse_fingerprint(&format!("sha256:{}", "ab".repeat(31))), None);
        assert_eq!(parse_fingerprint(&format!("sha256:{}", "zz".repeat(32))), None);
        assert_eq!(parse_fingerprint(&fingerprint(b"x")), Some(<sha2::Sha256 as sha2::Digest>::digest(b"x").into()));
    }
}
