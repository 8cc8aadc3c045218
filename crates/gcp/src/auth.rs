//! Service-account authentication: the OAuth 2.0 JWT bearer flow (RFC 7523) that Google's token
//! endpoint implements. A short-lived RS256 assertion signed with the key's private key is
//! exchanged at the key's `token_uri` for an access token, which is cached until shortly before
//! it expires (or until an API answers 401).

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::{GcpError, ServiceAccountKey, retry_after};

/// The OAuth scope asked for: read access is all the collector uses; the roles granted to the
/// service account decide what it can see.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// A token is renewed when it has less than this left.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Lifetime asked of the assertion (Google accepts at most one hour).
const ASSERTION_LIFETIME: i64 = 3600;

/// A bearer token; never printed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AccessToken(pub(crate) String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(** redacted **)")
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// Error body of the OAuth endpoint (`{"error": "invalid_grant", "error_description": "…"}`).
#[derive(Deserialize)]
struct TokenErrorBody {
    error: Option<String>,
    error_description: Option<String>,
}

pub(crate) struct TokenSource {
    key: ServiceAccountKey,
    token_uri: String,
    encoding_key: EncodingKey,
    http: reqwest::Client,
    max_attempts: u32,
    cached: Mutex<Option<(AccessToken, Instant)>>,
}

impl TokenSource {
    pub(crate) fn new(
        key: ServiceAccountKey,
        token_uri: String,
        http: reqwest::Client,
        max_attempts: u32,
    ) -> Result<TokenSource, GcpError> {
        let encoding_key = EncodingKey::from_rsa_pem(key.private_key.as_bytes()).map_err(|e| {
            GcpError::Credentials {
                client_email: key.client_email.clone(),
                message: format!("the private_key is not a usable RSA key in PEM form ({e})"),
            }
        })?;
        Ok(TokenSource {
            key,
            token_uri,
            encoding_key,
            http,
            max_attempts,
            cached: Mutex::new(None),
        })
    }

    pub(crate) fn client_email(&self) -> &str {
        &self.key.client_email
    }

    /// The cached token, or a new one when none is cached, it is about to expire, or `stale` is
    /// the token an API just refused.
    pub(crate) async fn token(&self, stale: Option<&AccessToken>) -> Result<AccessToken, GcpError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref() {
            let refused = stale.is_some_and(|s| s == token);
            if !refused && Instant::now() + REFRESH_MARGIN < *expires {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = self.fetch().await?;
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    fn fail(&self, message: impl Into<String>) -> GcpError {
        GcpError::Credentials {
            client_email: self.key.client_email.clone(),
            message: format!("token endpoint {}: {}", self.token_uri, message.into()),
        }
    }

    fn assertion(&self) -> Result<String, GcpError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: &self.key.client_email,
            scope: SCOPE,
            aud: &self.token_uri,
            iat: now,
            exp: now + ASSERTION_LIFETIME,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key.private_key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.encoding_key)
            .map_err(|e| self.fail(format!("cannot sign the assertion ({e})")))
    }

    async fn fetch(&self) -> Result<(AccessToken, Duration), GcpError> {
        let assertion = self.assertion()?;
        let form = [
            ("grant_type", GRANT_TYPE),
            ("assertion", assertion.as_str()),
        ];
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let sent = self.http.post(&self.token_uri).form(&form).send().await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < self.max_attempts => {
                    tracing::debug!(error = %crate::http::describe(&e), "token request failed, retrying");
                    tokio::time::sleep(crate::backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(self.fail(crate::http::describe(&e))),
            };
            let status = response.status();
            if (status.as_u16() == 429 || status.is_server_error()) && attempt < self.max_attempts {
                let wait =
                    retry_after(response.headers()).unwrap_or_else(|| crate::backoff(attempt));
                tokio::time::sleep(wait).await;
                continue;
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| self.fail(crate::http::describe(&e)))?;
            if !status.is_success() {
                let detail = serde_json::from_slice::<TokenErrorBody>(&body)
                    .ok()
                    .map(|b| {
                        [b.error, b.error_description]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(": ")
                    })
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "no error description".to_string());
                return Err(self.fail(format!(
                    "refused the service account credentials (HTTP {}): {detail}",
                    status.as_u16()
                )));
            }
            let parsed: TokenResponse = serde_json::from_slice(&body)
                .map_err(|e| self.fail(format!("malformed token response ({e})")))?;
            let Some(token) = parsed.access_token.filter(|t| !t.is_empty()) else {
                return Err(self.fail("the token response has no access_token"));
            };
            let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(3600));
            return Ok((AccessToken(token), lifetime));
        }
    }
}
