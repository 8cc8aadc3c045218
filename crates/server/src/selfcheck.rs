//! Installation self-assessment: holds a running Rampart installation to the seed security policy
//! and reports like a framework (requirements with a status, details and remediation, and a
//! score). Used by `rampart selfcheck` and by the operators' `/installation` page.
//!
//! The requirement texts are data (`content/selfcheck/requirements.yaml`); each names the check
//! below that decides it. Checks look at the installation from outside where they can: the TLS
//! checks connect to the HTTPS listener like a client, the port check reads the kernel's socket
//! table, the backup check reads the backup directory.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use rampart_store::{Store, Vault};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const REQUIREMENTS_YAML: &str = include_str!("../../../content/selfcheck/requirements.yaml");

/// Days of validity a certificate must have left.
pub const CERT_MIN_DAYS_LEFT: i64 = 14;
/// Minimum HSTS max-age (one year).
pub const HSTS_MIN_MAX_AGE: u64 = 31_536_000;
/// Backups kept at least (the policy's "multiple backups").
pub const MIN_BACKUPS: usize = 2;
/// Slack on top of the backup interval before the newest backup counts as late.
pub const BACKUP_GRACE: Duration = Duration::from_secs(3600);

const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the vault key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultKeySource {
    /// A key file (`--vault-key-file`, or `DATA_DIR/vault.key`).
    File(PathBuf),
    /// The `RAMPART_VAULT_KEY` environment variable.
    Environment,
}

/// What the self-assessment looks at: the installation's configuration, as `rampart serve` is
/// given it.
#[derive(Debug, Clone)]
pub struct Installation {
    /// The HTTPS listener (an unspecified address is probed on loopback).
    pub https: SocketAddr,
    /// Host name sent in the TLS handshake and `Host` header.
    pub server_name: String,
    pub vault_key: VaultKeySource,
    pub metrics_listen: Option<SocketAddr>,
    /// Where backups are written (`serve --backup-dir`, or a timer's `rampart backup --out`).
    pub backup_dir: Option<PathBuf>,
    /// How often backups are taken.
    pub backup_interval: Duration,
    /// Ports besides the HTTPS port that may listen on non-loopback addresses.
    pub allowed_ports: Vec<u16>,
}

impl Installation {
    /// The installation `rampart serve` runs with this configuration, listening on `https` (the
    /// bound address) and serving metrics on `metrics` (the bound address, when enabled).
    pub fn from_config(
        config: &crate::ServerConfig,
        https: SocketAddr,
        metrics: Option<SocketAddr>,
    ) -> Installation {
        let vault_key = match &config.vault_key_file {
            Some(p) => VaultKeySource::File(p.clone()),
            None if std::env::var_os(rampart_store::VAULT_KEY_ENV).is_some() => {
                VaultKeySource::Environment
            }
            None => VaultKeySource::File(config.data_dir.join(crate::VAULT_KEY_FILE_NAME)),
        };
        Installation {
            https,
            server_name: "localhost".to_owned(),
            vault_key,
            metrics_listen: metrics.or(config.metrics_listen),
            backup_dir: config.backups.as_ref().map(|b| b.dir.clone()),
            backup_interval: config
                .backups
                .as_ref()
                .map_or(Duration::from_secs(24 * 3600), |b| b.every),
            allowed_ports: config.allowed_ports.clone(),
        }
    }
}

impl Installation {
    /// The vault key, read without generating one: `None` when it is missing or unreadable.
    pub fn load_vault(&self) -> Option<Vault> {
        match &self.vault_key {
            VaultKeySource::File(p) => Vault::from_file(p).ok(),
            VaultKeySource::Environment => std::env::var(rampart_store::VAULT_KEY_ENV)
                .ok()
                .and_then(|t| Vault::from_key_text(&t, rampart_store::VAULT_KEY_ENV).ok()),
        }
    }
}

/// A requirement's text (from `content/selfcheck/requirements.yaml`).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    pub check: String,
    pub title: String,
    /// The section of the seed security policy it holds the installation to.
    pub policy: String,
    pub rationale: String,
    pub remediation: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequirementsFile {
    id: String,
    name: String,
    version: String,
    requirements: Vec<Requirement>,
}

/// Outcome of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
        }
    }
}

/// One requirement's result: what was found (details name what passed or what fails).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequirementResult {
    #[serde(flatten)]
    pub requirement: Requirement,
    pub status: Status,
    pub details: Vec<String>,
}

/// The whole self-assessment, shaped like a framework report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub framework: String,
    pub name: String,
    pub version: String,
    pub checked_at: DateTime<Utc>,
    /// Share of requirements passing, in percent (rounded down).
    pub score: u32,
    pub passed: usize,
    pub failed: usize,
    pub requirements: Vec<RequirementResult>,
}

impl Report {
    pub fn result(&self, id: &str) -> Option<&RequirementResult> {
        self.requirements.iter().find(|r| r.requirement.id == id)
    }

    /// The report as text for a terminal: one block per requirement, failures with their
    /// remediation, then the score.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!(
            "{} {} ({})\n\n",
            self.name,
            self.version,
            self.checked_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        for r in &self.requirements {
            let _ = writeln!(
                out,
                "{:<5} {}  {}  [policy: {}]",
                r.status.as_str().to_uppercase(),
                r.requirement.id,
                r.requirement.title,
                r.requirement.policy
            );
            for d in &r.details {
                let _ = writeln!(out, "        - {d}");
            }
            if r.status == Status::Fail {
                let _ = writeln!(out, "        fix: {}", r.requirement.remediation);
            }
        }
        let _ = writeln!(
            out,
            "\n{} of {} requirements pass: score {}%",
            self.passed,
            self.requirements.len(),
            self.score
        );
        out
    }
}

/// The requirement texts compiled into the binary.
pub fn requirements() -> Vec<Requirement> {
    parse_requirements().requirements
}

fn parse_requirements() -> RequirementsFile {
    // The file is part of the binary and a unit test parses it: failing here is a build defect.
    #[allow(clippy::expect_used)]
    serde_yaml::from_str(REQUIREMENTS_YAML).expect("content/selfcheck/requirements.yaml is valid")
}

/// Results of the checks, by check name.
struct Outcome {
    pass: bool,
    details: Vec<String>,
}

impl Outcome {
    fn from(problems: Vec<String>, fine: Vec<String>) -> Outcome {
        if problems.is_empty() {
            Outcome {
                pass: true,
                details: fine,
            }
        } else {
            Outcome {
                pass: false,
                details: problems,
            }
        }
    }
}

/// Runs every check against the installation and the store behind it.
pub async fn run(
    store: &Store,
    vault: Option<&Vault>,
    inst: &Installation,
    now: DateTime<Utc>,
) -> Report {
    let file = parse_requirements();
    let probe = probe_https(inst).await;
    let mut results = Vec::new();
    for req in file.requirements {
        let outcome = match req.check.as_str() {
            "https_only" => check_https_only(inst, &probe).await,
            "certificate" => check_certificate(&probe, now),
            "listening_ports" => check_listening_ports(inst, Path::new("/proc/net")),
            "metrics" => check_metrics(inst),
            "admin_mfa" => check_admin_mfa(store).await,
            "backups" => check_backups(inst, vault, now),
            "audit_chains" => check_audit(store).await,
            "vault_key" => check_vault_key(inst),
            other => Outcome::from(vec![format!("unknown check {other:?}")], vec![]),
        };
        results.push(RequirementResult {
            requirement: req,
            status: if outcome.pass {
                Status::Pass
            } else {
                Status::Fail
            },
            details: outcome.details,
        });
    }
    let passed = results.iter().filter(|r| r.status == Status::Pass).count();
    let total = results.len().max(1);
    Report {
        framework: file.id,
        name: file.name,
        version: file.version,
        checked_at: now,
        score: u32::try_from(passed * 100 / total).unwrap_or(0),
        passed,
        failed: results.len() - passed,
        requirements: results,
    }
}

// ----- TLS -------------------------------------------------------------------------------------

/// What one TLS handshake with the listener showed.
struct Probe {
    version: String,
    suite: String,
    chain: Vec<Vec<u8>>,
    /// The `Strict-Transport-Security` header of `GET /healthz`, if any.
    hsts: Option<String>,
}

fn probe_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// Accepts any certificate, so that the handshake completes and the certificate can be judged
/// on its own (RSC-2); handshake signatures are still verified.
#[derive(Debug)]
struct Inspect(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Inspect {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn probe_https(inst: &Installation) -> Result<Probe, String> {
    let addr = probe_addr(inst.https);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Inspect(provider)))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from(inst.server_name.clone())
        .map_err(|e| format!("server name {:?}: {e}", inst.server_name))?;
    let work = async {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {addr} failed: {e}"))?;
        let (version, suite, chain) = {
            let (_, conn) = tls.get_ref();
            (
                conn.protocol_version()
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default(),
                conn.negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite()))
                    .unwrap_or_default(),
                conn.peer_certificates()
                    .map(|c| c.iter().map(|c| c.to_vec()).collect())
                    .unwrap_or_default(),
            )
        };
        let request = format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            inst.server_name
        );
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| format!("request over TLS failed: {e}"))?;
        let head = read_head(&mut tls).await;
        let hsts = header_value(&head, "strict-transport-security");
        Ok(Probe {
            version,
            suite,
            chain,
            hsts,
        })
    };
    tokio::time::timeout(IO_TIMEOUT * 2, work)
        .await
        .map_err(|_| format!("no TLS answer from {addr} within 10 s"))?
}

/// Reads up to the end of an HTTP response head (or 16 KiB, or EOF).
async fn read_head(r: &mut (impl tokio::io::AsyncRead + Unpin)) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while buf.len() < 16 * 1024 && !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(IO_TIMEOUT, r.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn hsts_max_age(value: &str) -> Option<u64> {
    value.split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| v.trim().trim_matches('"').parse().ok())
            .flatten()
    })
}

/// A TLS 1.1 ClientHello offering only pre-TLS-1.2 style suites (ECDHE and RSA key exchange
/// with AES-CBC-SHA), without the supported_versions extension: a TLS 1.2+ server must refuse.
fn legacy_client_hello(server_name: &str) -> Vec<u8> {
    let mut ext = Vec::new();
    let host = server_name.as_bytes();
    if !host.is_empty() && host.len() < 256 && server_name.parse::<IpAddr>().is_err() {
        let list_len = host.len() + 3;
        ext.extend_from_slice(&[0x00, 0x00]);
        ext.extend_from_slice(&u16_be(list_len + 2));
        ext.extend_from_slice(&u16_be(list_len));
        ext.push(0);
        ext.extend_from_slice(&u16_be(host.len()));
        ext.extend_from_slice(host);
    }
    // supported_groups: x25519, secp256r1, secp384r1; ec_point_formats: uncompressed.
    ext.extend_from_slice(&[
        0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18,
    ]);
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    let suites: [u16; 6] = [0xc013, 0xc014, 0xc009, 0xc00a, 0x002f, 0x0035];
    let mut body = vec![0x03, 0x02];
    body.extend_from_slice(&[0x5a; 32]);
    body.push(0);
    body.extend_from_slice(&u16_be(suites.len() * 2));
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[0x01, 0x00]);
    body.extend_from_slice(&u16_be(ext.len()));
    body.extend_from_slice(&ext);
    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&u32_be24(body.len()));
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16_be(handshake.len()));
    record.extend_from_slice(&handshake);
    record
}

fn u16_be(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes()
}

fn u32_be24(n: usize) -> [u8; 3] {
    let b = u32::try_from(n).unwrap_or(0).to_be_bytes();
    [b[1], b[2], b[3]]
}

/// Whether the listener accepts a TLS 1.1 ClientHello: `Ok(Some(version))` when it answers
/// with a ServerHello of that version, `Ok(None)` when it refuses (alert or close).
async fn accepts_legacy_tls(addr: SocketAddr, server_name: &str) -> Result<Option<u16>, String> {
    let work = async {
        let mut tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        tcp.write_all(&legacy_client_hello(server_name))
            .await
            .map_err(|e| format!("cannot send to {addr}: {e}"))?;
        let mut head = [0u8; 11];
        let mut got = 0;
        while got < head.len() {
            match tcp.read(&mut head[got..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        // Record type 22 (handshake) carrying handshake type 2 (ServerHello): version follows.
        if got >= 11 && head[0] == 0x16 && head[5] == 0x02 {
            return Ok(Some(u16::from_be_bytes([head[9], head[10]])));
        }
        Ok(None)
    };
    tokio::time::timeout(IO_TIMEOUT, work)
        .await
        .unwrap_or(Ok(None))
}

/// Whether a plain-HTTP request to the HTTPS port gets an HTTP answer other than a redirect to
/// `https://`. Returns the status line of such an answer.
async fn answers_plain_http(addr: SocketAddr, server_name: &str) -> Option<String> {
    let work = async {
        let mut tcp = TcpStream::connect(addr).await.ok()?;
        let request =
            format!("GET /healthz HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.ok()?;
        let head = read_head(&mut tcp).await;
        let status = head.lines().next()?.to_owned();
        if !status.starts_with("HTTP/") {
            return None;
        }
        let redirect = status
            .split_whitespace()
            .nth(1)
            .is_some_and(|c| matches!(c, "301" | "302" | "307" | "308"));
        let to_https = header_value(&head, "location").is_some_and(|l| l.starts_with("https://"));
        (!(redirect && to_https)).then_some(status)
    };
    tokio::time::timeout(IO_TIMEOUT, work).await.ok().flatten()
}

async fn check_https_only(inst: &Installation, probe: &Result<Probe, String>) -> Outcome {
    let addr = probe_addr(inst.https);
    let probe = match probe {
        Ok(p) => p,
        Err(e) => return Outcome::from(vec![e.clone()], vec![]),
    };
    let mut problems = Vec::new();
    let mut fine = Vec::new();
    if matches!(probe.version.as_str(), "TLSv1_2" | "TLSv1_3") {
        fine.push(format!(
            "{addr} negotiated {} with {}",
            probe.version, probe.suite
        ));
    } else {
        problems.push(format!("{addr} negotiated {}", probe.version));
    }
    if probe.version == "TLSv1_2"
        && !(probe.suite.contains("ECDHE")
            && (probe.suite.contains("GCM") || probe.suite.contains("CHACHA20")))
    {
        problems.push(format!(
            "TLS 1.2 suite {} is not ECDHE with an AEAD cipher",
            probe.suite
        ));
    }
    match accepts_legacy_tls(addr, &inst.server_name).await {
        Ok(Some(v)) if v < 0x0303 => problems.push(format!(
            "{addr} accepted a TLS 1.1 ClientHello (answered with protocol version 0x{v:04x})"
        )),
        Ok(_) => fine.push(format!("{addr} refuses TLS 1.0/1.1 ClientHellos")),
        Err(e) => problems.push(e),
    }
    match answers_plain_http(addr, &inst.server_name).await {
        Some(status) => problems.push(format!(
            "{addr} answers plain HTTP ({status}) instead of refusing or redirecting to https://"
        )),
        None => fine.push(format!("{addr} does not serve plain HTTP")),
    }
    match probe.hsts.as_deref().map(|v| (v, hsts_max_age(v))) {
        Some((_, Some(age))) if age >= HSTS_MIN_MAX_AGE => {
            fine.push(format!("HSTS max-age={age}"));
        }
        Some((v, _)) => problems.push(format!(
            "Strict-Transport-Security is {v:?}: max-age must be at least {HSTS_MIN_MAX_AGE}"
        )),
        None => problems.push("no Strict-Transport-Security header on /healthz".to_owned()),
    }
    Outcome::from(problems, fine)
}

/// The parts of an X.509 certificate the certificate check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// Issuer and subject names are byte-identical.
    pub self_issued: bool,
    /// `RSA 2048`, `EC`, `Ed25519` or `unknown`.
    pub key: String,
    pub rsa_bits: Option<usize>,
}

/// One DER element: (tag, content, rest).
fn der(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = usize::from(*b.get(1)?);
    let (len, start) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = start.checked_add(len)?;
    Some((tag, b.get(start..end)?, b.get(end..)?))
}

fn der_time(tag: u8, content: &[u8]) -> Option<DateTime<Utc>> {
    let s = std::str::from_utf8(content).ok()?;
    let s = s.strip_suffix('Z')?;
    let full = match (tag, s.len()) {
        (0x17, 12) => {
            let yy: i32 = s.get(..2)?.parse().ok()?;
            format!(
                "{}{}",
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                s.get(2..)?
            )
        }
        (0x18, 14) => s.to_owned(),
        _ => return None,
    };
    let n = |r: std::ops::Range<usize>| full.get(r)?.parse::<u32>().ok();
    let year = i32::try_from(n(0..4)?).ok()?;
    Utc.with_ymd_and_hms(year, n(4..6)?, n(6..8)?, n(8..10)?, n(10..12)?, n(12..14)?)
        .single()
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// Reads validity, issuer = subject and the key type from a DER certificate.
pub fn cert_facts(cert: &[u8]) -> Option<CertFacts> {
    let (0x30, certificate, _) = der(cert)? else {
        return None;
    };
    let (0x30, tbs, _) = der(certificate)? else {
        return None;
    };
    let mut rest = tbs;
    let (mut tag, mut content, mut next) = der(rest)?;
    if tag == 0xa0 {
        rest = next;
        (tag, content, next) = der(rest)?;
    }
    let _ = content;
    if tag != 0x02 {
        return None;
    }
    let (_sig_alg_tag, _, next) = der(next)?;
    let (_, issuer, next) = der(next)?;
    let (0x30, validity, next) = der(next)? else {
        return None;
    };
    let (t1, nb, after) = der(validity)?;
    let (t2, na, _) = der(after)?;
    let (_, subject, next) = der(next)?;
    let (0x30, spki, _) = der(next)? else {
        return None;
    };
    let (0x30, alg, key_bits) = der(spki)? else {
        return None;
    };
    let (0x06, oid, _) = der(alg)? else {
        return None;
    };
    let (key, rsa_bits) = if oid == OID_RSA {
        let bits = der(key_bits).and_then(|(tag, bitstring, _)| {
            if tag != 0x03 {
                return None;
            }
            let (0x30, seq, _) = der(bitstring.get(1..)?)? else {
                return None;
            };
            let (0x02, modulus, _) = der(seq)? else {
                return None;
            };
            let trimmed: &[u8] = {
                let skip = modulus.iter().take_while(|b| **b == 0).count();
                modulus.get(skip..)?
            };
            let lead = usize::try_from(trimmed.first()?.leading_zeros()).ok()?;
            Some(trimmed.len() * 8 - lead)
        });
        (bits.map_or("RSA".to_owned(), |b| format!("RSA {b}")), bits)
    } else if oid == OID_EC {
        ("EC".to_owned(), None)
    } else if oid == OID_ED25519 {
        ("Ed25519".to_owned(), None)
    } else {
        ("unknown".to_owned(), None)
    };
    Some(CertFacts {
        not_before: der_time(t1, nb)?,
        not_after: der_time(t2, na)?,
        self_issued: issuer == subject,
        key,
        rsa_bits,
    })
}

fn check_certificate(probe: &Result<Probe, String>, now: DateTime<Utc>) -> Outcome {
    let probe = match probe {
        Ok(p) => p,
        Err(e) => return Outcome::from(vec![e.clone()], vec![]),
    };
    let Some(leaf) = probe.chain.first() else {
        return Outcome::from(vec!["the listener presented no certificate".into()], vec![]);
    };
    let Some(facts) = cert_facts(leaf) else {
        return Outcome::from(
            vec!["the listener's certificate cannot be read as X.509".into()],
            vec![],
        );
    };
    let mut problems = Vec::new();
    if facts.not_before > now {
        problems.push(format!(
            "the certificate is not valid before {}",
            facts.not_before.to_rfc3339()
        ));
    }
    let left = facts.not_after - now;
    if left < TimeDelta::zero() {
        problems.push(format!(
            "the certificate expired on {}",
            facts.not_after.to_rfc3339()
        ));
    } else if left < TimeDelta::days(CERT_MIN_DAYS_LEFT) {
        problems.push(format!(
            "the certificate expires on {} ({} days left; renew at {CERT_MIN_DAYS_LEFT})",
            facts.not_after.to_rfc3339(),
            left.num_days()
        ));
    }
    if facts.self_issued {
        problems.push(
            "the certificate is self-signed (issuer and subject are the same); browsers warn on it"
                .into(),
        );
    }
    match (facts.key.as_str(), facts.rsa_bits) {
        (_, Some(bits)) if bits < 2048 => {
            problems.push(format!(
                "the certificate's key is RSA {bits}, under 2048 bits"
            ));
        }
        ("unknown", _) => {
            problems.push("the certificate's key algorithm is not RSA, EC or Ed25519".into())
        }
        _ => {}
    }
    Outcome::from(
        problems,
        vec![format!(
            "{} key, CA-issued, valid until {} ({} days left)",
            facts.key,
            facts.not_after.to_rfc3339(),
            left.num_days()
        )],
    )
}

// ----- ports -----------------------------------------------------------------------------------

/// A listening TCP socket from `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub addr: IpAddr,
    pub port: u16,
}

/// Listening sockets in the text of `/proc/net/tcp` (`v6` = false) or `/proc/net/tcp6`.
pub fn parse_proc_net_tcp(text: &str, v6: bool) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            if state != "0A" {
                return None;
            }
            let (addr_hex, port_hex) = local.split_once(':')?;
            let port = u16::from_str_radix(port_hex, 16).ok()?;
            let addr = if v6 {
                if addr_hex.len() != 32 {
                    return None;
                }
                let mut bytes = [0u8; 16];
                for word in 0..4 {
                    let w = u32::from_str_radix(addr_hex.get(word * 8..word * 8 + 8)?, 16).ok()?;
                    bytes[word * 4..word * 4 + 4].copy_from_slice(&w.to_le_bytes());
                }
                IpAddr::V6(Ipv6Addr::from(bytes))
            } else {
                let w = u32::from_str_radix(addr_hex, 16).ok()?;
                IpAddr::V4(Ipv4Addr::from(w.to_le_bytes()))
            };
            Some(Listener { addr, port })
        })
        .collect()
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn check_listening_ports(inst: &Installation, proc_net: &Path) -> Outcome {
    let mut listeners = Vec::new();
    for (file, v6) in [("tcp", false), ("tcp6", true)] {
        let path = proc_net.join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => listeners.extend(parse_proc_net_tcp(&text, v6)),
            // A kernel without IPv6 has no tcp6.
            Err(_) if v6 => {}
            Err(e) => {
                return Outcome::from(
                    vec![format!(
                        "cannot read {}: {e} (the port check needs Linux's /proc)",
                        path.display()
                    )],
                    vec![],
                );
            }
        }
    }
    let mut exposed: Vec<Listener> = listeners
        .into_iter()
        .filter(|l| !is_loopback(l.addr))
        .collect();
    exposed.sort_by_key(|l| (l.port, l.addr));
    exposed.dedup();
    let allowed = |port: u16| port == inst.https.port() || inst.allowed_ports.contains(&port);
    let problems: Vec<String> = exposed
        .iter()
        .filter(|l| !allowed(l.port))
        .map(|l| {
            format!(
                "port {} listens on {} (not the HTTPS port {}, not allowed by --allow-port)",
                l.port,
                l.addr,
                inst.https.port()
            )
        })
        .collect();
    let fine = if exposed.is_empty() {
        vec!["nothing listens beyond loopback".to_owned()]
    } else {
        exposed
            .iter()
            .map(|l| format!("port {} on {} (allowed)", l.port, l.addr))
            .collect()
    };
    Outcome::from(problems, fine)
}

// ----- monitoring ------------------------------------------------------------------------------

fn check_metrics(inst: &Installation) -> Outcome {
    match inst.metrics_listen {
        None => Outcome::from(
            vec![
                "metrics are off: no --metrics-listen, so nothing monitors this installation"
                    .into(),
            ],
            vec![],
        ),
        Some(addr) if is_loopback(addr.ip()) => Outcome::from(
            vec![],
            vec![format!("metrics at http://{addr}/metrics (loopback)")],
        ),
        Some(addr) => Outcome::from(
            vec![format!(
                "metrics listen on {addr}, reachable from other machines over plain HTTP"
            )],
            vec![],
        ),
    }
}

// ----- MFA -------------------------------------------------------------------------------------

async fn check_admin_mfa(store: &Store) -> Outcome {
    match store.privileged_without_mfa().await {
        Err(e) => Outcome::from(vec![format!("cannot read memberships: {e}")], vec![]),
        Ok(gaps) => Outcome::from(
            gaps.iter()
                .map(|g| match &g.workspace {
                    Some(ws) => format!(
                        "{} ({} of workspace {ws}) has no MFA{}",
                        g.email,
                        g.role,
                        if g.workspace_requires_mfa {
                            "; the workspace requires it, enrolment is pending"
                        } else {
                            "; the workspace does not require it"
                        }
                    ),
                    None => format!("{} (installation operator) has no MFA", g.email),
                })
                .collect(),
            vec!["every owner, admin and operator has enrolled TOTP".into()],
        ),
    }
}

// ----- backups ---------------------------------------------------------------------------------

fn check_backups(inst: &Installation, vault: Option<&Vault>, now: DateTime<Utc>) -> Outcome {
    let Some(dir) = &inst.backup_dir else {
        return Outcome::from(
            vec!["no backup directory configured (--backup-dir)".into()],
            vec![],
        );
    };
    let list = match rampart_store::backup::list_backups(dir) {
        Ok(l) => l,
        Err(e) => return Outcome::from(vec![e.to_string()], vec![]),
    };
    let mut problems = Vec::new();
    if list.len() < MIN_BACKUPS {
        problems.push(format!(
            "{} backup(s) in {}; the policy asks for multiple (at least {MIN_BACKUPS})",
            list.len(),
            dir.display()
        ));
    }
    let Some(newest) = list.last() else {
        return Outcome::from(problems, vec![]);
    };
    let manifest = match rampart_store::backup::read_manifest(newest) {
        Ok(m) => m,
        Err(e) => {
            problems.push(format!(
                "the newest backup {} is unreadable: {e}",
                newest.display()
            ));
            return Outcome::from(problems, vec![]);
        }
    };
    let age = now - manifest.created_at;
    let limit =
        TimeDelta::from_std(inst.backup_interval + BACKUP_GRACE).unwrap_or(TimeDelta::days(1));
    if age > limit {
        problems.push(format!(
            "the newest backup is {} h old (taken {}); the schedule is every {} h",
            age.num_hours(),
            manifest.created_at.to_rfc3339(),
            inst.backup_interval.as_secs() / 3600
        ));
    }
    if !vault.is_some_and(|v| v.has_key(&manifest.key_id)) {
        problems.push(format!(
            "the newest backup is sealed with vault key {:?}, which this installation no longer holds",
            manifest.key_id
        ));
    }
    Outcome::from(
        problems,
        vec![format!(
            "{} backups; newest {} ({} min old, {} backend, key {})",
            list.len(),
            newest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            age.num_minutes(),
            manifest.backend,
            manifest.key_id
        )],
    )
}

// ----- audit -----------------------------------------------------------------------------------

async fn check_audit(store: &Store) -> Outcome {
    match store.verify_audit().await {
        Err(e) => Outcome::from(vec![format!("cannot read the audit log: {e}")], vec![]),
        Ok(reports) => {
            let entries: u64 = reports.iter().map(|r| r.entries).sum();
            Outcome::from(
                reports
                    .iter()
                    .filter_map(|r| {
                        r.first_bad.as_ref().map(|b| {
                            format!(
                                "chain {} does not verify from entry #{}: {}",
                                r.chain, b.seq, b.reason
                            )
                        })
                    })
                    .collect(),
                vec![format!(
                    "{} chain(s), {entries} entries, all intact",
                    reports.len()
                )],
            )
        }
    }
}

// ----- vault key -------------------------------------------------------------------------------

fn check_vault_key(inst: &Installation) -> Outcome {
    let path = match &inst.vault_key {
        VaultKeySource::Environment => {
            return Outcome::from(
                vec![],
                vec!["the key comes from RAMPART_VAULT_KEY (not stored on this disk)".into()],
            );
        }
        VaultKeySource::File(p) => p,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            return Outcome::from(
                vec![format!("vault key {} is missing: {e}", path.display())],
                vec![],
            );
        }
    };
    let mut problems = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            problems.push(format!(
                "vault key {} has mode {mode:04o}: group or others may access it (want 0600)",
                path.display()
            ));
        }
        // The running process's uid is the owner of /proc/self (no libc call needed).
        if let Ok(own) = std::fs::metadata("/proc/self")
            && own.uid() != meta.uid()
        {
            problems.push(format!(
                "vault key {} belongs to uid {}, not to the account running this check (uid {})",
                path.display(),
                meta.uid(),
                own.uid()
            ));
        }
    }
    if let Some(dir) = &inst.backup_dir {
        let key = path.canonicalize().unwrap_or_else(|_| path.clone());
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if key.starts_with(&dir) {
            problems.push(format!(
                "vault key {} is inside the backup directory {}: whoever holds the backups holds the key",
                key.display(),
                dir.display()
            ));
        }
    }
    Outcome::from(
        problems,
        vec![format!(
            "vault key {} is private to its owner",
            path.display()
        )],
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn requirements_file_parses_and_names_known_checks() {
        let reqs = requirements();
        assert_eq!(reqs.len(), 8);
        for r in &reqs {
            assert!(
                [
                    "https_only",
                    "certificate",
                    "listening_ports",
                    "metrics",
                    "admin_mfa",
                    "backups",
                    "audit_chains",
                    "vault_key"
                ]
                .contains(&r.check.as_str()),
                "{}",
                r.check
            );
        }
    }

    #[test]
    fn proc_net_tcp_listeners_are_read_in_network_byte_order() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n\
           1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n\
           2: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n";
        assert_eq!(
            parse_proc_net_tcp(v4, false),
            vec![
                Listener {
                    addr: "127.0.0.1".parse().unwrap(),
                    port: 8080
                },
                Listener {
                    addr: "0.0.0.0".parse().unwrap(),
                    port: 22
                }
            ]
        );
        let v6 = "  sl  local_address                         remote_address                        st\n\
           0: 00000000000000000000000001000000:20FB 00000000000000000000000000000000:0000 0A 0\n\
           1: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 0\n\
           2: 0000000000000000FFFF00000100007F:1F40 00000000000000000000000000000000:0000 0A 0\n";
        let l = parse_proc_net_tcp(v6, true);
        assert_eq!(l[0].addr, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(l[0].port, 8443);
        assert_eq!(l[1].addr, "::".parse::<IpAddr>().unwrap());
        assert_eq!(l[2].addr, "::ffff:127.0.0.1".parse::<IpAddr>().unwrap());
        assert!(is_loopback(l[0].addr) && !is_loopback(l[1].addr) && is_loopback(l[2].addr));
    }

    #[test]
    fn ports_check_flags_exposed_ports_that_are_not_allowed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tcp"),
            "header\n 0: 00000000:20FB 00000000:0000 0A x\n 1: 00000000:0016 00000000:0000 0A x\n 2: 0100007F:2382 00000000:0000 0A x\n",
        )
        .unwrap();
        let mut inst = Installation {
            https: "0.0.0.0:8443".parse().unwrap(),
            server_name: "localhost".into(),
            vault_key: VaultKeySource::Environment,
            metrics_listen: None,
            backup_dir: None,
            backup_interval: Duration::from_secs(3600),
            allowed_ports: vec![],
        };
        let o = check_listening_ports(&inst, dir.path());
        assert!(!o.pass);
        assert_eq!(o.details.len(), 1, "{:?}", o.details);
        assert!(
            o.details[0].starts_with("port 22 listens on 0.0.0.0"),
            "{:?}",
            o.details
        );
        inst.allowed_ports = vec![22];
        let o = check_listening_ports(&inst, dir.path());
        assert!(o.pass, "{:?}", o.details);
        let o = check_listening_ports(&inst, &dir.path().join("missing"));
        assert!(
            !o.pass && o.details[0].contains("cannot read"),
            "{:?}",
            o.details
        );
    }

    #[test]
    fn certificate_facts_come_from_the_der() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2026, 1, 2);
        params.not_after = rcgen::date_time_ymd(2027, 3, 4);
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let f = cert_facts(cert.der()).unwrap();
        assert_eq!(
            f.not_before,
            Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap()
        );
        assert_eq!(
            f.not_after,
            Utc.with_ymd_and_hms(2027, 3, 4, 0, 0, 0).unwrap()
        );
        assert!(f.self_issued);
        assert_eq!(f.key, "EC");
        assert!(cert_facts(&cert.der()[..40]).is_none());
    }

    #[test]
    fn der_times_cover_both_encodings() {
        assert_eq!(
            der_time(0x17, b"491231235959Z"),
            Utc.with_ymd_and_hms(2049, 12, 31, 23, 59, 59).single()
        );
        assert_eq!(
            der_time(0x17, b"500101000000Z"),
            Utc.with_ymd_and_hms(1950, 1, 1, 0, 0, 0).single()
        );
        assert_eq!(
            der_time(0x18, b"20500101000000Z"),
            Utc.with_ymd_and_hms(2050, 1, 1, 0, 0, 0).single()
        );
        assert_eq!(der_time(0x18, b"2050010100000Z"), None);
    }

    #[test]
    fn hsts_max_age_is_parsed() {
        assert_eq!(
            hsts_max_age("max-age=63072000; includeSubDomains"),
            Some(63072000)
        );
        assert_eq!(hsts_max_age("includeSubDomains; max-age=\"10\""), Some(10));
        assert_eq!(hsts_max_age("includeSubDomains"), None);
    }

    /// A loopback peer that answers every connection with `answer` after reading once.
    async fn peer(answer: &'static [u8]) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(answer).await;
            }
        });
        (addr, task)
    }

    #[tokio::test]
    async fn a_server_answering_a_tls_1_1_hello_is_caught() {
        // Record header, then a ServerHello (type 2) of version 3.2 = TLS 1.1.
        let (addr, task) = peer(&[
            0x16, 0x03, 0x02, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x02,
        ])
        .await;
        assert_eq!(
            accepts_legacy_tls(addr, "localhost").await,
            Ok(Some(0x0302))
        );
        task.abort();
        // An alert (21) is a refusal.
        let (addr, task) = peer(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]).await;
        assert_eq!(accepts_legacy_tls(addr, "localhost").await, Ok(None));
        task.abort();
    }

    #[tokio::test]
    async fn plain_http_on_the_https_port_is_caught_unless_it_redirects() {
        let (addr, task) = peer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        assert_eq!(
            answers_plain_http(addr, "localhost").await.as_deref(),
            Some("HTTP/1.1 200 OK")
        );
        task.abort();
        let (addr, task) =
            peer(b"HTTP/1.1 308 Permanent Redirect\r\nLocation: https://localhost/\r\n\r\n").await;
        assert_eq!(answers_plain_http(addr, "localhost").await, None);
        task.abort();
    }

    #[test]
    fn legacy_client_hello_is_a_well_formed_record() {
        let r = legacy_client_hello("rampart.example");
        assert_eq!(&r[..3], &[0x16, 0x03, 0x01]);
        assert_eq!(usize::from(u16::from_be_bytes([r[3], r[4]])), r.len() - 5);
        assert_eq!(r[5], 0x01);
        assert_eq!(&r[9..11], &[0x03, 0x02]);
        // No SNI for an IP address.
        assert!(legacy_client_hello("127.0.0.1").len() < r.len());
    }
}
