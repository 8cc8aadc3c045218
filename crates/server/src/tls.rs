//! TLS: rustls with the aws-lc-rs provider, TLS 1.2 and 1.3 only, Mozilla "intermediate" cipher
//! suites (ASVS 9.1.1–9.1.3), and the self-signed certificate generated on first start.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{Datelike as _, Utc};
use rustls::crypto::CryptoProvider;
use rustls::crypto::aws_lc_rs::{self, cipher_suite};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::{ServerConfig, ServerError};

/// Subdirectory of the data directory holding the generated certificate.
pub const TLS_DIR: &str = "tls";
pub const SELF_SIGNED_CERT_FILE: &str = "self-signed-cert.pem";
pub const SELF_SIGNED_KEY_FILE: &str = "self-signed-key.pem";

/// Validity of a generated certificate (from yesterday, so 365 days in all: Mozilla's
/// "intermediate" configuration allows at most 366); it is regenerated when older than
/// [`REGENERATE_AFTER`].
const VALIDITY_DAYS: i64 = 364;
const REGENERATE_AFTER: Duration = Duration::from_secs(300 * 24 * 3600);

/// `(certificate, key)` paths of the self-signed certificate in a data directory.
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join(TLS_DIR);
    (
        dir.join(SELF_SIGNED_CERT_FILE),
        dir.join(SELF_SIGNED_KEY_FILE),
    )
}

pub(crate) struct PreparedTls {
    pub config: Arc<rustls::ServerConfig>,
    pub cert_path: PathBuf,
    pub self_signed: bool,
}

/// Mozilla "intermediate" (v5.7): the three TLS 1.3 suites and the ECDHE AEAD TLS 1.2 suites.
fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        ..aws_lc_rs::default_provider()
    }
}

pub(crate) fn prepare(config: &ServerConfig) -> Result<PreparedTls, ServerError> {
    let (cert_path, key_path, self_signed) = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone(), false),
        (None, None) => {
            let (cert, key) = ensure_self_signed(&config.data_dir)?;
            (cert, key, true)
        }
        _ => {
            return Err(ServerError::Tls(
                "--tls-cert and --tls-key must be given together".into(),
            ));
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| ServerError::Tls(format!("{}: {e}", cert_path.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| ServerError::Tls(format!("{}: {e}", cert_path.display())))?;
    if certs.is_empty() {
        return Err(ServerError::Tls(format!(
            "{}: no certificate found",
            cert_path.display()
        )));
    }
    // The key's path only, never its content, goes into errors.
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| ServerError::Tls(format!("{}: {e}", key_path.display())))?;
    let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tls.ignore_client_order = true;
    Ok(PreparedTls {
        config: Arc::new(tls),
        cert_path,
        self_signed,
    })
}

/// Returns the self-signed certificate and key paths, generating them when missing or old.
fn ensure_self_signed(data_dir: &Path) -> Result<(PathBuf, PathBuf), ServerError> {
    let (cert_path, key_path) = self_signed_paths(data_dir);
    if cert_path.is_file() && key_path.is_file() && !too_old(&cert_path) {
        return Ok((cert_path, key_path));
    }
    let dir = data_dir.join(TLS_DIR);
    create_private_dir(&dir)?;

    let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Rampart self-signed (localhost)");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Rampart");
    let today = Utc::now().date_naive();
    let start = today - chrono::TimeDelta::days(1);
    let end = today + chrono::TimeDelta::days(VALIDITY_DAYS);
    params.not_before = rcgen::date_time_ymd(start.year(), month(start), day(start));
    params.not_after = rcgen::date_time_ymd(end.year(), month(end), day(end));
    // A random, positive serial number (RFC 5280 4.1.2.2): 16 bytes, the top bit clear.
    let mut serial = [0u8; 16];
    {
        use rand::RngCore as _;
        rand::rngs::OsRng.fill_bytes(&mut serial);
    }
    serial[0] = (serial[0] & 0x7f) | 0x01;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let cert = params.self_signed(&key_pair)?;

    // Key first (0600), then the certificate: a crash in between leaves no usable pair behind.
    write_file(&key_path, key_pair.serialize_pem().as_bytes(), 0o600)?;
    write_file(&cert_path, cert.pem().as_bytes(), 0o644)?;
    tracing::info!(cert = %cert_path.display(), "generated a self-signed TLS certificate");
    Ok((cert_path, key_path))
}

fn month(d: chrono::NaiveDate) -> u8 {
    u8::try_from(d.month()).unwrap_or(1)
}

fn day(d: chrono::NaiveDate) -> u8 {
    u8::try_from(d.day()).unwrap_or(1)
}

fn too_old(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > REGENERATE_AFTER)
}

fn create_private_dir(dir: &Path) -> Result<(), ServerError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| ServerError::io(format!("cannot create {}", dir.display()), e))
}

/// Writes a file atomically (temp file + rename) with the given Unix mode.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let ctx = || format!("cannot write {}", path.display());
    let mut file = options.open(&tmp).map_err(|e| ServerError::io(ctx(), e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| ServerError::io(ctx(), e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| ServerError::io(ctx(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intermediate_suites_only() {
        let p = provider();
        assert_eq!(p.cipher_suites.len(), 9);
        for s in &p.cipher_suites {
            let name = format!("{:?}", s.suite());
            assert!(
                name.contains("GCM") || name.contains("CHACHA20"),
                "non-AEAD suite {name}"
            );
            assert!(
                name.starts_with("TLS13_") || name.contains("ECDHE"),
                "{name}"
            );
        }
    }
}
