//! The HTTP client and one authenticated, retried GET.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::auth::{AccessToken, TokenSource};
use crate::{GcpError, backoff, retry_after};

/// rustls with the aws-lc-rs provider and the system's trusted roots; no redirects (a redirect
/// could carry the bearer token elsewhere); bounded timeouts.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, GcpError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        tracing::warn!("no trusted root certificates found: https requests will fail");
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| GcpError::Config(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("rampart-gcp/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| GcpError::Config(describe(&e)))
}

/// A reqwest error without its URL (query strings could hold page tokens; never credentials, but
/// messages stay short).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_decode() {
        "cannot read the response"
    } else {
        "request failed"
    };
    let mut msg = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Google's error body: `{"error": {"code": 403, "message": "…", "status": "PERMISSION_DENIED"}}`.
fn google_error(status: u16, body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let err = parsed.as_ref().and_then(|v| v.get("error"));
    let status_name = err
        .and_then(|e| e.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let message = err
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = format!("HTTP {status}");
    if !status_name.is_empty() {
        out.push(' ');
        out.push_str(status_name);
    }
    if !message.is_empty() {
        out.push_str(": ");
        out.push_str(message);
    }
    out
}

/// Why a call failed: `NotFound` is told apart (some settings are simply absent).
pub(crate) enum CallError {
    NotFound(String),
    /// HTTP 400: the request was refused as invalid (e.g. an asset type the API does not know).
    BadRequest(String),
    Failed(String),
}

impl CallError {
    pub(crate) fn message(self) -> String {
        match self {
            CallError::NotFound(m) | CallError::BadRequest(m) | CallError::Failed(m) => m,
        }
    }
}

pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: TokenSource,
    pub(crate) max_attempts: u32,
    pub(crate) max_wait: Duration,
}

impl Api {
    /// GET `url?query` with the bearer token; retries 429 and 5xx (honouring `Retry-After`, else
    /// exponential backoff with a cap) and network errors, refreshes the token once on 401.
    pub(crate) async fn get_json(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Value, CallError> {
        let mut attempt = 0u32;
        let mut refreshed = false;
        let mut stale: Option<AccessToken> = None;
        loop {
            attempt += 1;
            let token = self
                .tokens
                .token(stale.as_ref())
                .await
                .map_err(|e| CallError::Failed(e.to_string()))?;
            let sent = self
                .http
                .get(url)
                .query(query)
                .bearer_auth(&token.0)
                .header("Accept", "application/json")
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < self.max_attempts => {
                    tracing::debug!(url, error = %describe(&e), "request failed, retrying");
                    tokio::time::sleep(backoff(attempt).min(self.max_wait)).await;
                    continue;
                }
                Err(e) => return Err(CallError::Failed(describe(&e))),
            };
            let status = response.status().as_u16();
            if status == 401 && !refreshed {
                // The token expired or was revoked early: get a new one, once.
                refreshed = true;
                stale = Some(token);
                attempt -= 1;
                continue;
            }
            if (status == 429 || (500..600).contains(&status)) && attempt < self.max_attempts {
                let wait = retry_after(response.headers())
                    .unwrap_or_else(|| backoff(attempt))
                    .min(self.max_wait);
                tracing::debug!(url, status, ?wait, "throttled or unavailable, retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| CallError::Failed(describe(&e)))?;
            if status == 404 {
                return Err(CallError::NotFound(google_error(status, &body)));
            }
            if status == 400 {
                return Err(CallError::BadRequest(google_error(status, &body)));
            }
            if !(200..300).contains(&status) {
                return Err(CallError::Failed(google_error(status, &body)));
            }
            return serde_json::from_slice(&body)
                .map_err(|e| CallError::Failed(format!("malformed response: invalid JSON ({e})")));
        }
    }
}
