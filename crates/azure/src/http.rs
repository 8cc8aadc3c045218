//! The HTTP side: OAuth 2.0 client-credentials tokens (one per resource scope, cached, refreshed
//! before expiry and on a 401) and JSON calls with bounded retries on throttling.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::{AzureError, AzureScanConfig};

/// The two resource scopes the collector asks tokens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    Arm,
    Graph,
}

/// The token scope of an endpoint: `{endpoint}/.default` for an https endpoint (so sovereign
/// clouds such as `https://management.usgovcloudapi.net` work), the public cloud's otherwise
/// (plain http test servers and emulators).
fn scope_for(endpoint: &str, public: &str) -> String {
    if endpoint.to_ascii_lowercase().starts_with("https://") {
        format!("{endpoint}/.default")
    } else {
        public.to_string()
    }
}

/// A bearer token; never printed.
#[derive(Clone)]
struct Token {
    value: String,
    refresh_after: Instant,
}

/// Why a token could not be had.
#[derive(Debug, Clone)]
pub(crate) enum TokenError {
    /// The token endpoint answered and refused (bad client id, secret or tenant).
    Refused(String),
    /// Could not talk to the token endpoint, or it answered nonsense.
    Unavailable(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Refused(m) | TokenError::Unavailable(m) => f.write_str(m),
        }
    }
}

/// Why an API call failed.
#[derive(Debug, Clone)]
pub(crate) enum CallError {
    Status {
        status: u16,
        message: String,
    },
    Transport(String),
    Malformed(String),
    Token(TokenError),
    /// Not sent (or several parts failed): the message says why.
    Refused(String),
}

impl CallError {
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            CallError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Status { status, message } => write!(f, "HTTP {status}: {message}"),
            CallError::Transport(m) => write!(f, "request failed: {m}"),
            CallError::Malformed(m) => write!(f, "malformed response: {m}"),
            CallError::Token(t) => write!(f, "no access token: {t}"),
            CallError::Refused(m) => f.write_str(m),
        }
    }
}

pub(crate) struct Api {
    http: reqwest::Client,
    token_url: String,
    tenant: String,
    client_id: String,
    secret: String,
    pub(crate) arm: String,
    pub(crate) graph: String,
    arm_scope: String,
    graph_scope: String,
    allow_http: bool,
    tokens: Mutex<HashMap<Scope, Token>>,
    max_attempts: u32,
    max_backoff: Duration,
    base_backoff: Duration,
}

fn trim_base(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

/// Only https, unless plain http was allowed explicitly.
pub(crate) fn check_url(what: &str, url: &str, allow_http: bool) -> Result<(), AzureError> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    if lower.starts_with("http://") {
        if allow_http {
            return Ok(());
        }
        return Err(AzureError::Config(format!(
            "the {what} endpoint {url} is plain http: only https is allowed (allow_insecure_http \
             is meant for tests and local emulators)"
        )));
    }
    Err(AzureError::Config(format!(
        "the {what} endpoint {url:?} is not an https URL"
    )))
}

impl Api {
    pub(crate) fn new(config: &AzureScanConfig) -> Result<Api, AzureError> {
        let login = trim_base(
            config
                .login_endpoint
                .as_deref()
                .unwrap_or("https://login.microsoftonline.com"),
        );
        let arm = trim_base(
            config
                .arm_endpoint
                .as_deref()
                .unwrap_or("https://management.azure.com"),
        );
        let graph = trim_base(
            config
                .graph_endpoint
                .as_deref()
                .unwrap_or("https://graph.microsoft.com"),
        );
        check_url("login", &login, config.allow_insecure_http)?;
        check_url("Azure Resource Manager", &arm, config.allow_insecure_http)?;
        check_url("Microsoft Graph", &graph, config.allow_insecure_http)?;
        let tenant = config.tenant_id.trim().to_string();
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        {
            return Err(AzureError::Config(format!(
                "invalid tenant id {tenant:?}: a directory (tenant) GUID or a verified domain"
            )));
        }
        if config.client_id.trim().is_empty() {
            return Err(AzureError::Config("the client id is empty".into()));
        }
        if config.client_secret.expose().is_empty() {
            return Err(AzureError::Config("the client secret is empty".into()));
        }
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            tracing::warn!("no trusted root certificates found: https calls to Azure will fail");
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| AzureError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let timeout = config.timeout.unwrap_or(Duration::from_secs(60));
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            // A redirect could carry a bearer token somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!config.allow_insecure_http)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("rampart-azure/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AzureError::Config(e.to_string()))?;
        Ok(Api {
            http,
            token_url: format!("{login}/{tenant}/oauth2/v2.0/token"),
            tenant,
            client_id: config.client_id.trim().to_string(),
            secret: config.client_secret.expose().to_string(),
            arm_scope: scope_for(&arm, "https://management.azure.com/.default"),
            graph_scope: scope_for(&graph, "https://graph.microsoft.com/.default"),
            arm,
            graph,
            allow_http: config.allow_insecure_http,
            tokens: Mutex::new(HashMap::new()),
            max_attempts: config.max_attempts.unwrap_or(5).max(1),
            max_backoff: config.max_backoff.unwrap_or(Duration::from_secs(30)),
            base_backoff: Duration::from_millis(500)
                .min(config.max_backoff.unwrap_or(Duration::from_secs(30))),
        })
    }

    /// Removes the secret (and anything token-like we know of) from a message, and bounds it.
    pub(crate) fn scrub(&self, message: &str) -> String {
        let mut m = message.to_string();
        if !self.secret.is_empty() {
            m = m.replace(&self.secret, "** redacted **");
        }
        if m.chars().count() > 600 {
            m = m.chars().take(600).collect::<String>() + "…";
        }
        m
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(d) => d.min(self.max_backoff),
            None => self
                .base_backoff
                .saturating_mul(2u32.saturating_pow(attempt.min(16)))
                .min(self.max_backoff),
        }
    }

    /// A token for the scope, from the cache unless `force` or it is about to expire.
    fn scope_str(&self, scope: Scope) -> &str {
        match scope {
            Scope::Arm => &self.arm_scope,
            Scope::Graph => &self.graph_scope,
        }
    }

    pub(crate) async fn token(&self, scope: Scope, force: bool) -> Result<String, TokenError> {
        self.token_unless(scope, force, None).await
    }

    /// A new token after `rejected` was refused with a 401 — unless another call already
    /// replaced it, in which case the replacement is used (one refresh for many calls in flight).
    async fn refresh(&self, scope: Scope, rejected: &str) -> Result<String, TokenError> {
        self.token_unless(scope, true, Some(rejected)).await
    }

    async fn token_unless(
        &self,
        scope: Scope,
        force: bool,
        rejected: Option<&str>,
    ) -> Result<String, TokenError> {
        let mut tokens = self.tokens.lock().await;
        if let Some(t) = tokens.get(&scope)
            && Instant::now() < t.refresh_after
            && (!force || rejected.is_some_and(|r| r != t.value))
        {
            return Ok(t.value.clone());
        }
        let body = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.as_str()),
            ("scope", self.scope_str(scope)),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&");
        let who = format!("client {} of tenant {}", self.client_id, self.tenant);
        let mut attempt = 0u32;
        loop {
            let sent = self
                .http
                .post(&self.token_url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(body.clone())
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    attempt += 1;
                    if attempt < self.max_attempts {
                        tokio::time::sleep(self.backoff(attempt - 1, None)).await;
                        continue;
                    }
                    return Err(TokenError::Unavailable(self.scrub(&format!(
                        "cannot reach the token endpoint {} for {who}: {}",
                        self.token_url,
                        error_chain(&e)
                    ))));
                }
            };
            let status = resp.status();
            let retry_after = retry_after(&resp);
            let text = resp.text().await.unwrap_or_default();
            if status.is_success() {
                let v: Value = serde_json::from_str(&text).map_err(|_| {
                    TokenError::Unavailable(format!(
                        "the token endpoint answered {who} with something that is not a token"
                    ))
                })?;
                let Some(access) = v.get("access_token").and_then(Value::as_str) else {
                    return Err(TokenError::Unavailable(format!(
                        "the token endpoint's answer for {who} has no access_token"
                    )));
                };
                let expires_in = match v.get("expires_in") {
                    Some(Value::Number(n)) => n.as_u64().unwrap_or(3599),
                    Some(Value::String(s)) => s.parse().unwrap_or(3599),
                    _ => 3599,
                };
                // Refresh five minutes early (or halfway for very short tokens).
                let margin = 300.min(expires_in / 2);
                let token = Token {
                    value: access.to_string(),
                    refresh_after: Instant::now() + Duration::from_secs(expires_in - margin),
                };
                tokens.insert(scope, token);
                return Ok(access.to_string());
            }
            if (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                && attempt + 1 < self.max_attempts
            {
                tokio::time::sleep(self.backoff(attempt, retry_after)).await;
                attempt += 1;
                continue;
            }
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let code = v.get("error").and_then(Value::as_str).unwrap_or("");
            let description = v
                .get("error_description")
                .and_then(Value::as_str)
                .map(|d| d.lines().next().unwrap_or(d))
                .unwrap_or("");
            let msg = self.scrub(&format!(
                "the token endpoint refused {who} for {} (HTTP {}): {code} {description}",
                self.scope_str(scope),
                status.as_u16()
            ));
            return Err(if status.is_client_error() {
                TokenError::Refused(msg.trim_end().to_string())
            } else {
                TokenError::Unavailable(msg.trim_end().to_string())
            });
        }
    }

    /// Whether `url` may receive a token for `scope`: it must be on the scope's endpoint.
    fn same_origin(&self, scope: Scope, url: &str) -> bool {
        let base = match scope {
            Scope::Arm => &self.arm,
            Scope::Graph => &self.graph,
        };
        let lower = url.to_ascii_lowercase();
        let b = base.to_ascii_lowercase();
        lower == b || lower.starts_with(&format!("{b}/")) || lower.starts_with(&format!("{b}?"))
    }

    /// Sends one JSON call and returns the parsed body: a 401 refreshes the token once, 429 and
    /// 5xx are retried (honouring Retry-After) up to the configured number of attempts.
    pub(crate) async fn call(
        &self,
        scope: Scope,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        if !self.same_origin(scope, url) {
            return Err(CallError::Refused(format!(
                "refusing to send a token to {url}: not on the configured endpoint"
            )));
        }
        if url.to_ascii_lowercase().starts_with("http://") && !self.allow_http {
            return Err(CallError::Refused(format!("refusing plain http: {url}")));
        }
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            let token = self.token(scope, false).await.map_err(CallError::Token)?;
            let mut req = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&token)
                .header("accept", "application/json");
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    attempt += 1;
                    if attempt < self.max_attempts && !e.is_builder() {
                        tokio::time::sleep(self.backoff(attempt - 1, None)).await;
                        continue;
                    }
                    return Err(CallError::Transport(self.scrub(&error_chain(&e))));
                }
            };
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                refreshed = true;
                self.refresh(scope, &token)
                    .await
                    .map_err(CallError::Token)?;
                continue;
            }
            let wait = retry_after(&resp);
            let text = match resp.text().await {
                Ok(t) => t,
                Err(e) => return Err(CallError::Transport(self.scrub(&error_chain(&e)))),
            };
            if status.is_success() {
                if text.trim().is_empty() {
                    return Ok(Value::Null);
                }
                return serde_json::from_str(&text)
                    .map_err(|e| CallError::Malformed(format!("the body is not JSON ({e})")));
            }
            if (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                && attempt + 1 < self.max_attempts
            {
                tokio::time::sleep(self.backoff(attempt, wait)).await;
                attempt += 1;
                continue;
            }
            return Err(CallError::Status {
                status: status.as_u16(),
                message: self.scrub(&error_message(&text)),
            });
        }
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let h = resp.headers();
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = h
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            return Some(Duration::from_millis(ms));
        }
    }
    if let Some(d) = h
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
    {
        return Some(d);
    }
    // Azure Resource Graph throttles with `x-ms-user-quota-resets-after: hh:mm:ss`.
    let reset = h
        .get("x-ms-user-quota-resets-after")
        .and_then(|v| v.to_str().ok())?;
    let parts: Vec<f64> = reset
        .trim()
        .split(':')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    let secs = parts.iter().fold(0.0, |acc, p| acc * 60.0 + p);
    (secs.is_finite() && secs >= 0.0 && parts.len() <= 3).then(|| Duration::from_secs_f64(secs))
}

/// `{"error": {"code": …, "message": …}}` (ARM and Microsoft Graph), else the start of the body.
fn error_message(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let err = v.get("error");
    let code = err.and_then(|e| e.get("code")).and_then(Value::as_str);
    let message = err.and_then(|e| e.get("message")).and_then(Value::as_str);
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => {
            let t: String = text.trim().chars().take(200).collect();
            if t.is_empty() {
                "(empty body)".into()
            } else {
                t
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let m = inner.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = inner.source();
    }
    s
}
