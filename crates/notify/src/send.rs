//! Outgoing deliveries: the HTTP client (rustls, timeouts, no redirects, https only unless the
//! installation allows plain http), the signed generic webhook, Slack and Teams messages, and
//! e-mail over SMTP.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use sha2::Sha256;

use crate::NotifyError;

/// Header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "X-Rampart-Signature";
/// Header carrying the Unix time (seconds) that was signed.
pub const TIMESTAMP_HEADER: &str = "X-Rampart-Timestamp";
/// Most bytes of a response body kept for the delivery log.
const MAX_ERROR_BODY: usize = 300;

/// How mail leaves: the installation's SMTP server.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender address (`From:`).
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required; port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: only with `--allow-insecure-webhooks` (local test sinks).
    None,
}

impl std::str::FromStr for SmtpTls {
    type Err = String;
    fn from_str(s: &str) -> Result<SmtpTls, String> {
        match s {
            "starttls" => Ok(SmtpTls::StartTls),
            "tls" | "implicit" => Ok(SmtpTls::Implicit),
            "none" => Ok(SmtpTls::None),
            _ => Err(format!("{s:?} is not starttls, tls or none")),
        }
    }
}

/// Installation settings of the senders.
#[derive(Debug, Clone)]
pub struct SendConfig {
    /// Allow plain-http URLs and SMTP without TLS. Off by default: a channel URL is chosen by
    /// workspace administrators, and plain http would carry finding details, signatures and
    /// Jira tokens in the clear (and make it easier to aim requests at internal services).
    pub allow_insecure: bool,
    /// Allow channel URLs that reach loopback, private (RFC 1918, unique-local), link-local
    /// (cloud metadata services), CGNAT or otherwise non-public addresses. Off by default:
    /// channel URLs are chosen by workspace administrators, and such a URL would let them make
    /// the installation call its own internal services (SSRF).
    pub allow_private_targets: bool,
    /// Timeout of every outgoing call (connect, request, SMTP session).
    pub timeout: Duration,
    pub smtp: Option<SmtpConfig>,
    /// The installation's address, for links in messages.
    pub public_url: Option<String>,
}

impl Default for SendConfig {
    fn default() -> Self {
        SendConfig {
            allow_insecure: false,
            allow_private_targets: false,
            timeout: Duration::from_secs(10),
            smtp: None,
            public_url: None,
        }
    }
}

/// Whether an address is one a channel may reach: not loopback, private, link-local, shared
/// (CGNAT), documentation, benchmarking, multicast, broadcast or unspecified; for IPv6 also
/// not unique-local, link-local, or an IPv4-mapped/compatible form of a non-public address.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            // ::a.b.c.d (deprecated IPv4-compatible) and 64:ff9b::/96 (NAT64) embed an IPv4.
            if seg[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified()
                || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
            {
                let o = v6.octets();
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(
                    o[12], o[13], o[14], o[15],
                )));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] & 0xffc0) == 0xfec0
                || seg[0] == 0x2001 && seg[1] == 0x0db8)
        }
    }
}

/// A DNS resolver for channel calls that answers only public addresses, and fails when a
/// name has none (see [`is_public`]).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<std::net::SocketAddr> =
                all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(NotifyError::PrivateTarget(format!(
                        "{host} ({})",
                        all.iter()
                            .map(|a| a.ip().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                return Err(err);
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// Sends messages; cheap to clone.
#[derive(Clone)]
pub struct Sender {
    pub(crate) config: Arc<SendConfig>,
    pub(crate) http: reqwest::Client,
}

/// What an HTTP delivery answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub status: Option<u16>,
}

impl Sender {
    pub fn new(config: SendConfig) -> Result<Sender, NotifyError> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            tracing::warn!("no trusted root certificates found: https deliveries will fail");
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| NotifyError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut builder = reqwest::Client::builder();
        if !config.allow_private_targets {
            // Every name a channel URL gives is resolved here, and only public addresses are
            // connected to: a name that resolves to an internal address is refused at the
            // connection itself, so DNS cannot be re-pointed between a check and the call.
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let http = builder
            .use_preconfigured_tls(tls)
            // A redirect could lead a signed request (or a Jira token) somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("rampart-notify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::Config(e.to_string()))?;
        Ok(Sender {
            config: Arc::new(config),
            http,
        })
    }

    pub fn config(&self) -> &SendConfig {
        &self.config
    }

    /// Refuses a URL that is not https (unless plain http is allowed), and one whose host is
    /// a literal non-public address (unless private targets are allowed; names are checked
    /// when they are resolved, see [`PublicOnly`]).
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, NotifyError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| NotifyError::InsecureUrl)?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.config.allow_insecure => {}
            _ => return Err(NotifyError::InsecureUrl),
        }
        if !self.config.allow_private_targets {
            let literal = match parsed.host() {
                Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(ip) = literal.filter(|ip| !is_public(*ip)) {
                return Err(NotifyError::PrivateTarget(ip.to_string()));
            }
        }
        Ok(parsed)
    }

    /// POSTs JSON and fails on a non-2xx answer (with a short, secret-free excerpt).
    pub(crate) async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
        headers: &[(&str, String)],
    ) -> Result<Sent, NotifyError> {
        let url = self.check_url(url)?;
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.map_err(http_error)?;
        check_status(resp).await
    }

    /// The generic webhook: the JSON body signed with the channel's secret.
    pub async fn webhook(
        &self,
        url: &str,
        secret: &str,
        payload: &serde_json::Value,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Sent, NotifyError> {
        let body = payload.to_string().into_bytes();
        let timestamp = now.timestamp().to_string();
        let signature = sign(secret, &timestamp, &body);
        self.post_json(
            url,
            body,
            &[
                (TIMESTAMP_HEADER, timestamp),
                (SIGNATURE_HEADER, format!("sha256={signature}")),
            ],
        )
        .await
    }

    /// A Slack or Teams incoming webhook (the URL is the secret).
    pub async fn chat(&self, url: &str, payload: &serde_json::Value) -> Result<Sent, NotifyError> {
        self.post_json(url, payload.to_string().into_bytes(), &[])
            .await
    }

    /// Sends an e-mail (text and HTML alternatives) to every recipient.
    pub async fn email(
        &self,
        recipients: &[String],
        subject: &str,
        text: String,
        html: String,
    ) -> Result<(), NotifyError> {
        let smtp = self.config.smtp.as_ref().ok_or_else(|| {
            NotifyError::Config(
                "no SMTP server is configured (--smtp-host) for e-mail channels".into(),
            )
        })?;
        let from: Mailbox = smtp
            .from
            .parse()
            .map_err(|e| NotifyError::Config(format!("SMTP sender address: {e}")))?;
        let mut builder = lettre::Message::builder().from(from).subject(subject);
        for r in recipients {
            let to: Mailbox = r
                .parse()
                .map_err(|e| NotifyError::Email(format!("recipient {r}: {e}")))?;
            builder = builder.to(to);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| NotifyError::Email(e.to_string()))?;
        let tls =
            || TlsParameters::new(smtp.host.clone()).map_err(|e| NotifyError::Email(e.to_string()));
        let mut transport =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
                .port(smtp.port)
                .timeout(Some(self.config.timeout));
        transport = match smtp.tls {
            SmtpTls::StartTls => transport.tls(Tls::Required(tls()?)),
            SmtpTls::Implicit => transport.tls(Tls::Wrapper(tls()?)),
            SmtpTls::None if self.config.allow_insecure => transport.tls(Tls::None),
            SmtpTls::None => {
                return Err(NotifyError::Config(
                    "SMTP without TLS needs --allow-insecure-webhooks".into(),
                ));
            }
        };
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let transport = transport.build();
        tokio::time::timeout(self.config.timeout * 2, transport.send(message))
            .await
            .map_err(|_| NotifyError::Email("the SMTP server did not answer in time".into()))?
            // lettre's errors name the server's reply, never the password.
            .map_err(|e| NotifyError::Email(e.to_string()))?;
        Ok(())
    }
}

/// Hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret` (what receivers recompute).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a received signature header in constant time (for receivers and tests).
pub fn verify(secret: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// A transport error without the URL (a Slack or Teams URL is itself a secret).
pub(crate) fn http_error(e: reqwest::Error) -> NotifyError {
    // The address filter's refusal, from inside the connector: keep its message (it names the
    // host and addresses, never the URL's path or query, where chat webhooks keep their token).
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        if let Some(refused @ NotifyError::PrivateTarget(_)) = inner.downcast_ref::<NotifyError>() {
            return NotifyError::PrivateTarget(match refused {
                NotifyError::PrivateTarget(what) => what.clone(),
                _ => String::new(),
            });
        }
        source = inner.source();
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        "redirected"
    } else {
        "request failed"
    };
    NotifyError::Http(what.to_owned())
}

pub(crate) async fn check_status(resp: reqwest::Response) -> Result<Sent, NotifyError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(Sent {
            status: Some(status.as_u16()),
        });
    }
    let bytes = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
    let body = String::from_utf8_lossy(&bytes);
    Err(NotifyError::Status {
        code: status.as_u16(),
        body: body.chars().filter(|c| !c.is_control()).collect(),
    })
}

/// Reads at most `max` bytes of a response body (a receiver cannot make the worker buffer an
/// unbounded answer); the rest is dropped with the connection.
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, NotifyError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(http_error)? {
        let room = max.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= max {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_verifies_only_with_the_same_secret_and_body() {
        let sig = format!(
            "sha256={}",
            sign("s3cret-s3cret-s3cret", "1700000000", b"{}")
        );
        assert!(verify("s3cret-s3cret-s3cret", "1700000000", b"{}", &sig));
        assert!(!verify("another-secret-000", "1700000000", b"{}", &sig));
        assert!(!verify("s3cret-s3cret-s3cret", "1700000001", b"{}", &sig));
        assert!(!verify("s3cret-s3cret-s3cret", "1700000000", b"{ }", &sig));
    }

    #[test]
    fn plain_http_is_refused_unless_allowed() {
        // ASVS V5.2.6 / V9.2.1: outgoing calls only over TLS by default.
        let strict = Sender::new(SendConfig::default()).expect("client");
        assert!(strict.check_url("http://127.0.0.1:9/x").is_err());
        assert!(strict.check_url("file:///etc/passwd").is_err());
        assert!(strict.check_url("https://hooks.example.com/x").is_ok());
        let lax = Sender::new(SendConfig {
            allow_insecure: true,
            allow_private_targets: true,
            ..SendConfig::default()
        })
        .expect("client");
        assert!(lax.check_url("http://127.0.0.1:9/x").is_ok());
        assert!(lax.check_url("gopher://127.0.0.1:9/x").is_err());
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        // ASVS V5.2.6 (SSRF): a channel URL must not reach the installation's own network.
        let strict = Sender::new(SendConfig::default()).expect("client");
        for url in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://[64:ff9b::a9fe:a9fe]/x",
        ] {
            let err = strict.check_url(url).expect_err(url);
            assert!(err.to_string().contains("non-public"), "{url}: {err}");
        }
        for url in [
            "https://8.8.8.8/x",
            "https://[2606:4700::1111]/x",
            "https://hooks.example.com/x",
        ] {
            assert!(strict.check_url(url).is_ok(), "{url}");
        }
        let lax = Sender::new(SendConfig {
            allow_private_targets: true,
            ..SendConfig::default()
        })
        .expect("client");
        assert!(lax.check_url("https://10.1.2.3/x").is_ok());
    }

    #[tokio::test]
    async fn a_name_resolving_to_an_internal_address_is_refused_at_connection() {
        use reqwest::dns::Resolve as _;
        // A name passes the literal checks; the resolver catches what it resolves to.
        let name: reqwest::dns::Name = "localhost".parse().expect("name");
        let err = match PublicOnly.resolve(name).await {
            Ok(_) => panic!("localhost resolved to a public address"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("non-public"), "{err}");
        let strict = Sender::new(SendConfig {
            allow_insecure: true,
            ..SendConfig::default()
        })
        .expect("client");
        let err = strict
            .chat("http://localhost:9/hook", &serde_json::json!({}))
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("non-public"), "{err}");
    }
}
