//! OpenID Connect single sign-on, per organization: authorization code flow with PKCE (S256),
//! `state` and `nonce`, and a verified ID token.
//!
//! - `GET /sso/start?org=SLUG` — the sign-in page's SSO form; answers a page that moves on to
//!   `/sso/{org}/start` (a plain navigation, so the strict CSP's `form-action 'self'` does not
//!   stop the redirect to the IdP).
//! - `GET /sso/{org}/start` — reads the issuer's discovery document and JWKS, records the
//!   sign-in in flight (state and nonce hashed, PKCE verifier sealed; 10 minutes, single use),
//!   binds it to the browser with the `__Host-rampart_sso` cookie (holding the state;
//!   SameSite=Lax so that it comes back on the IdP's top-level redirect) and redirects to the
//!   authorization endpoint.
//! - `GET /sso/callback` — checks the state against the cookie and consumes it, exchanges the
//!   code at the token endpoint (client secret + PKCE verifier), verifies the ID token
//!   ([`verify_id_token`]: signature against the JWKS, `iss`, `aud`/`azp`, `exp`, `iat`,
//!   `nonce`), requires `email_verified == true` and an allowed domain, signs the user in
//!   just-in-time ([`rampart_store::Store::sso_sign_in`]) and starts a session like the password
//!   sign-in. Every outcome is audited as `auth.sso_login` in the installation chain.
//!
//! **MFA.** An SSO session counts as MFA-verified only when the ID token's `amr` claim
//! (RFC 8176) shows more than one factor ([`amr_is_multi_factor`]). A user with Rampart TOTP
//! enrolled whose IdP did not report MFA must still pass Rampart's TOTP step.
//!
//! Outbound requests to the IdP use HTTPS (rustls, the operating system's roots); plain HTTP
//! only for loopback issuers (tests, local IdPs). No redirects are followed. The client secret,
//! the code, tokens and the ID token never reach a log, an audit entry or a response.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{
    NewSsoLogin, Permission, Role, SessionOptions, SsoConfig, SsoIdentity, SsoSettings, StoreError,
    sso_nonce_hash,
};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::admin::ApiJson;
use crate::api::ApiPath;
use crate::authz::{Caller, authorize};
use crate::error::{ApiError, ErrorBody};
use crate::security::{SESSION_COOKIE, clear_cookie, cookie, ct_eq, random_token, set_cookie};
use crate::state::{AppState, SecurityAlert};
use crate::ui::{self, render};

/// Binds a sign-in in flight to the browser that started it (holds the state).
pub(crate) const SSO_COOKIE: &str = "__Host-rampart_sso";
/// Scopes Rampart asks for.
pub const SSO_SCOPES: &str = "openid email profile";
/// Path of the redirect URI (`https://HOST/sso/callback`).
pub const SSO_CALLBACK_PATH: &str = "/sso/callback";
/// Largest document read from an IdP.
const MAX_IDP_RESPONSE: usize = 1 << 20;
/// Clock skew tolerated on `exp` and `iat`.
const LEEWAY_SECS: i64 = 60;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sso/start", get(start_form))
        .route("/sso/{org}/start", get(start))
        .route(SSO_CALLBACK_PATH, get(callback))
        .route(
            "/api/v1/workspaces/{ws}/sso",
            get(get_sso_config).put(put_sso_config),
        )
}

// ----- errors -----------------------------------------------------------------------------------

/// Why an ID token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IdTokenError {
    #[error("the ID token is malformed")]
    Malformed,
    #[error("the ID token's signing algorithm is not accepted")]
    Algorithm,
    #[error("no key of the issuer's JWKS matches the ID token")]
    UnknownKey,
    #[error("the ID token's signature does not verify")]
    Signature,
    #[error("the ID token comes from another issuer")]
    Issuer,
    #[error("the ID token is meant for another client")]
    Audience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token's issue time is not plausible")]
    IssuedAt,
    #[error("the ID token's nonce does not match")]
    Nonce,
    #[error("the ID token lacks the claim {0}")]
    MissingClaim(&'static str),
}

impl IdTokenError {
    fn code(&self) -> &'static str {
        match self {
            IdTokenError::Malformed => "id_token_malformed",
            IdTokenError::Algorithm => "id_token_algorithm",
            IdTokenError::UnknownKey => "id_token_unknown_key",
            IdTokenError::Signature => "id_token_signature",
            IdTokenError::Issuer => "id_token_issuer",
            IdTokenError::Audience => "id_token_audience",
            IdTokenError::Expired => "id_token_expired",
            IdTokenError::IssuedAt => "id_token_iat",
            IdTokenError::Nonce => "id_token_nonce",
            IdTokenError::MissingClaim(_) => "id_token_claims",
        }
    }
}

/// Why an SSO sign-in failed. Messages carry no secrets (no codes, tokens or client secrets).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SsoError {
    #[error("the sign-in state is missing or does not belong to this browser")]
    StateMismatch,
    #[error("the sign-in state is unknown, already used or expired")]
    UnknownState,
    #[error("single sign-on is not configured or disabled for this organization")]
    NotConfigured,
    #[error("the identity provider refused: {0}")]
    IdpError(String),
    #[error("the authorization response came from another issuer")]
    IssuerMismatch,
    #[error("the authorization response has no code")]
    MissingCode,
    #[error("the identity provider: {0}")]
    Provider(String),
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
    #[error("the identity provider did not confirm the email address")]
    EmailNotVerified,
    #[error("the email's domain is not allowed to sign in to this organization")]
    DomainNotAllowed,
    #[error("{0}")]
    Refused(String),
    #[error("internal error")]
    Store(StoreError),
}

impl From<StoreError> for SsoError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Forbidden(m) => SsoError::Refused(m),
            StoreError::Invalid { .. } => SsoError::Refused(e.to_string()),
            other => SsoError::Store(other),
        }
    }
}

impl SsoError {
    /// Stable reason code for the audit log.
    fn code(&self) -> &'static str {
        match self {
            SsoError::StateMismatch => "state_mismatch",
            SsoError::UnknownState => "unknown_state",
            SsoError::NotConfigured => "not_configured",
            SsoError::IdpError(_) => "idp_error",
            SsoError::IssuerMismatch => "issuer_mismatch",
            SsoError::MissingCode => "missing_code",
            SsoError::Provider(_) => "provider_unreachable",
            SsoError::IdToken(e) => e.code(),
            SsoError::EmailNotVerified => "email_not_verified",
            SsoError::DomainNotAllowed => "domain_not_allowed",
            SsoError::Refused(_) => "refused",
            SsoError::Store(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            SsoError::StateMismatch
            | SsoError::UnknownState
            | SsoError::MissingCode
            | SsoError::IssuerMismatch => StatusCode::BAD_REQUEST,
            SsoError::NotConfigured => StatusCode::NOT_FOUND,
            SsoError::Provider(_) => StatusCode::BAD_GATEWAY,
            SsoError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            SsoError::IdpError(_)
            | SsoError::IdToken(_)
            | SsoError::EmailNotVerified
            | SsoError::DomainNotAllowed
            | SsoError::Refused(_) => StatusCode::FORBIDDEN,
        }
    }
}

fn provider_err(what: &str, e: impl std::fmt::Display) -> SsoError {
    SsoError::Provider(format!("{what}: {e}"))
}

// ----- URLs and the HTTP client -----------------------------------------------------------------

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An IdP URL Rampart may call: `https://`, or `http://` on a loopback host; no credentials.
pub(crate) fn check_idp_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() || url.host().is_none() {
        return Err(format!("{s:?} must be a plain https:// URL"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(format!(
            "{s:?} must use https (plain http only for a loopback issuer)"
        )),
    }
}

fn http_client() -> Result<&'static reqwest::Client, SsoError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                tracing::warn!(
                    "no trusted root certificates found: SSO with an https issuer will fail"
                );
            }
            let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
            reqwest::Client::builder()
                .use_preconfigured_tls(tls)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(5))
                .user_agent("rampart-sso")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| SsoError::Provider(format!("HTTP client: {e}")))
}

async fn read_limited(mut resp: reqwest::Response, what: &str) -> Result<Vec<u8>, SsoError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| provider_err(what, e))? {
        if out.len() + chunk.len() > MAX_IDP_RESPONSE {
            return Err(SsoError::Provider(format!("{what}: response too large")));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &Url, what: &str) -> Result<T, SsoError> {
    let resp = http_client()?
        .get(url.clone())
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| provider_err(what, e.without_url()))?;
    if !resp.status().is_success() {
        return Err(SsoError::Provider(format!(
            "{what} answered HTTP {}",
            resp.status().as_u16()
        )));
    }
    let body = read_limited(resp, what).await?;
    serde_json::from_slice(&body).map_err(|e| provider_err(what, e))
}

/// The parts of an OpenID Provider's discovery document Rampart uses.
#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

struct Provider {
    authorization_endpoint: Url,
    token_endpoint: Url,
    jwks: JwkSet,
    basic_auth: bool,
}

/// Reads `ISSUER/.well-known/openid-configuration` (whose `issuer` must equal the configured
/// one exactly) and the JWKS it names.
async fn discover(issuer: &str) -> Result<Provider, SsoError> {
    let base = check_idp_url(issuer).map_err(|e| provider_err("issuer", e))?;
    let url = Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        base.as_str().trim_end_matches('/')
    ))
    .map_err(|e| provider_err("discovery URL", e))?;
    let doc: Discovery = get_json(&url, "discovery document").await?;
    if doc.issuer != issuer {
        return Err(SsoError::Provider(
            "the discovery document names another issuer".into(),
        ));
    }
    let endpoint = |s: &str, what: &str| check_idp_url(s).map_err(|e| provider_err(what, e));
    let authorization_endpoint = endpoint(&doc.authorization_endpoint, "authorization endpoint")?;
    let token_endpoint = endpoint(&doc.token_endpoint, "token endpoint")?;
    let jwks_uri = endpoint(&doc.jwks_uri, "jwks_uri")?;
    let jwks: JwkSet = get_json(&jwks_uri, "JWKS").await?;
    let basic_auth = doc
        .token_endpoint_auth_methods_supported
        .as_ref()
        .is_none_or(|m| m.iter().any(|m| m == "client_secret_basic"));
    Ok(Provider {
        authorization_endpoint,
        token_endpoint,
        jwks,
        basic_auth,
    })
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
}

/// A short, printable excerpt of an IdP error code (it is not a secret, but it is untrusted).
fn safe_code(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect()
}

/// Exchanges the code at the token endpoint with the client secret and the PKCE verifier;
/// answers the ID token.
async fn exchange_code(
    provider: &Provider,
    client_id: &str,
    client_secret: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<String, SsoError> {
    use base64::Engine as _;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let mut req = http_client()?
        .post(provider.token_endpoint.clone())
        .header(header::ACCEPT, "application/json");
    if provider.basic_auth {
        // RFC 6749 §2.3.1: form-encode both parts before base64.
        let credentials = format!(
            "{}:{}",
            utf8_percent_encode(client_id, NON_ALPHANUMERIC),
            utf8_percent_encode(client_secret, NON_ALPHANUMERIC)
        );
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        );
        req = req.header(header::AUTHORIZATION, value);
    } else {
        form.push(("client_id", client_id));
        form.push(("client_secret", client_secret));
    }
    let resp = req
        .form(&form)
        .send()
        .await
        .map_err(|e| provider_err("token endpoint", e.without_url()))?;
    let status = resp.status();
    let body = read_limited(resp, "token endpoint").await?;
    if !status.is_success() {
        let code = serde_json::from_slice::<TokenError>(&body)
            .ok()
            .and_then(|e| e.error)
            .map(|e| safe_code(&e))
            .unwrap_or_default();
        return Err(SsoError::Provider(format!(
            "the token endpoint answered HTTP {} {code}",
            status.as_u16()
        )));
    }
    let tokens: TokenResponse = serde_json::from_slice(&body)
        .map_err(|_| SsoError::Provider("the token response is not valid JSON".into()))?;
    tokens
        .id_token
        .ok_or_else(|| SsoError::Provider("the token response has no id_token".into()))
}

// ----- ID token verification --------------------------------------------------------------------

/// What the ID token must say.
pub(crate) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// SHA-256 hex of the nonce sent in the authorization request.
    pub nonce_hash: &'a str,
}

/// The facts Rampart takes from a verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedIdToken {
    pub subject: String,
    pub email: Option<String>,
    /// `true` only when the claim is the JSON boolean `true`.
    pub email_verified: bool,
    pub amr: Vec<String>,
}

/// Signature algorithms accepted for ID tokens (never `none` or HMAC).
const ACCEPTED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Verifies an ID token (OpenID Connect Core 3.1.3.7): the signature with a key of the
/// issuer's JWKS (chosen by `kid`, else every signing key of a matching type), an accepted
/// asymmetric algorithm, `iss` equal to the issuer, `aud` containing the client id (and `azp`
/// equal to it when there are several audiences), `exp` in the future and `iat` not in the
/// future (60 s leeway), and `nonce` equal to the one sent.
pub(crate) fn verify_id_token(
    token: &str,
    jwks: &JwkSet,
    expected: &Expected<'_>,
    now: i64,
) -> Result<VerifiedIdToken, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !ACCEPTED_ALGORITHMS.contains(&header.alg) {
        return Err(IdTokenError::Algorithm);
    }
    let candidates: Vec<_> = jwks
        .keys
        .iter()
        .filter(|k| header.kid.is_none() || k.common.key_id == header.kid)
        .filter(|k| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption)))
        .filter(|k| {
            k.common
                .key_algorithm
                .and_then(|a| Algorithm::try_from(a).ok())
                .is_none_or(|a| a == header.alg)
        })
        .filter_map(|k| DecodingKey::from_jwk(k).ok())
        .collect();
    if candidates.is_empty() {
        return Err(IdTokenError::UnknownKey);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECS.unsigned_abs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    let mut last = IdTokenError::Signature;
    let mut claims = None;
    for key in &candidates {
        match jsonwebtoken::decode::<serde_json::Value>(token, key, &validation) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind as K;
                last = match e.kind() {
                    K::InvalidSignature | K::InvalidAlgorithm => IdTokenError::Signature,
                    K::InvalidIssuer => IdTokenError::Issuer,
                    K::InvalidAudience => IdTokenError::Audience,
                    K::ExpiredSignature | K::ImmatureSignature => IdTokenError::Expired,
                    K::MissingRequiredClaim(c) => IdTokenError::MissingClaim(match c.as_str() {
                        "exp" => "exp",
                        "iat" => "iat",
                        "iss" => "iss",
                        "aud" => "aud",
                        _ => "sub",
                    }),
                    _ => IdTokenError::Malformed,
                };
                // Only a signature failure may succeed with another key.
                if last != IdTokenError::Signature {
                    return Err(last);
                }
            }
        }
    }
    let Some(claims) = claims else {
        return Err(last);
    };
    // jsonwebtoken checked iss, aud and exp; the rest is OpenID Connect's.
    let audiences: Vec<&str> = match &claims["aud"] {
        serde_json::Value::String(a) => vec![a.as_str()],
        serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
        _ => return Err(IdTokenError::Audience),
    };
    if audiences.len() > 1 && claims["azp"].as_str() != Some(expected.client_id) {
        return Err(IdTokenError::Audience);
    }
    if let Some(azp) = claims.get("azp")
        && azp.as_str() != Some(expected.client_id)
    {
        return Err(IdTokenError::Audience);
    }
    let iat = claims["iat"]
        .as_i64()
        .ok_or(IdTokenError::MissingClaim("iat"))?;
    if iat > now + LEEWAY_SECS {
        return Err(IdTokenError::IssuedAt);
    }
    let exp = claims["exp"]
        .as_i64()
        .ok_or(IdTokenError::MissingClaim("exp"))?;
    if exp + LEEWAY_SECS <= now {
        return Err(IdTokenError::Expired);
    }
    let nonce = claims["nonce"]
        .as_str()
        .ok_or(IdTokenError::MissingClaim("nonce"))?;
    if !ct_eq(&sso_nonce_hash(nonce), expected.nonce_hash) {
        return Err(IdTokenError::Nonce);
    }
    let subject = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or(IdTokenError::MissingClaim("sub"))?
        .to_owned();
    Ok(VerifiedIdToken {
        subject,
        email: claims["email"].as_str().map(str::to_owned),
        email_verified: claims["email_verified"] == serde_json::Value::Bool(true),
        amr: claims["amr"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Whether RFC 8176 `amr` values show more than one authentication factor: `mfa`, or methods
/// from at least two of the categories knowledge (`pwd`, `pin`, `kba`), possession (`otp`,
/// `hwk`, `swk`, `sms`, `tel`, `sc`) and inherence (`fpt`, `face`, `iris`, `retina`, `vbm`).
pub(crate) fn amr_is_multi_factor(amr: &[String]) -> bool {
    if amr.iter().any(|a| a == "mfa") {
        return true;
    }
    let has = |set: &[&str]| amr.iter().any(|a| set.contains(&a.as_str()));
    let categories = [
        has(&["pwd", "pin", "kba"]),
        has(&["otp", "hwk", "swk", "sms", "tel", "sc"]),
        has(&["fpt", "face", "iris", "retina", "vbm"]),
    ];
    categories.iter().filter(|c| **c).count() >= 2
}

// ----- pages ------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "sso_redirect.html")]
struct RedirectPage {
    title: String,
    target: String,
}

fn redirect_page(title: &str, target: &str) -> Response {
    render(&RedirectPage {
        title: title.to_owned(),
        target: target.to_owned(),
    })
}

fn valid_org_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[derive(Deserialize)]
struct StartForm {
    org: String,
}

/// The sign-in page's SSO form: moves on to `/sso/{org}/start`.
async fn start_form(
    form: Result<Query<StartForm>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let org = form
        .map(|Query(f)| f.org.trim().to_lowercase())
        .unwrap_or_default();
    if !valid_org_slug(&org) {
        return ui::error_page(
            StatusCode::BAD_REQUEST,
            "Unknown organization",
            Some("Type your organization's identifier (lowercase letters, digits and '-')."),
        );
    }
    redirect_page(
        "Continuing to your organization's sign-in",
        &format!("/sso/{org}/start"),
    )
}

/// `https://HOST/sso/callback` for the host the browser used (the IdP only accepts registered
/// redirect URIs, so a forged Host header cannot send codes elsewhere).
fn redirect_uri(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let ok = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then(|| format!("https://{host}{SSO_CALLBACK_PATH}"))
}

fn sso_cookie(state: &str) -> HeaderValue {
    let v = format!(
        "{SSO_COOKIE}={state}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        rampart_store::SSO_LOGIN_TTL.num_seconds()
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The failure page. The binding cookie is cleared once its sign-in was consumed; a callback
/// whose state does not match it leaves it alone (a forged link must not end a sign-in that the
/// browser has in flight).
fn failure_page(status: StatusCode, detail: &str, clear: bool) -> Response {
    let mut resp = ui::error_page(status, "Single sign-on failed", Some(detail));
    if clear {
        resp.headers_mut()
            .append(header::SET_COOKIE, clear_cookie(SSO_COOKIE));
    }
    resp
}

/// Starts an SSO sign-in for an organization.
async fn start(
    State(state): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    let not_configured = || {
        ui::error_page(
            StatusCode::NOT_FOUND,
            "Single sign-on is not available",
            Some("This organization does not sign in with single sign-on."),
        )
    };
    let config = match enabled_config_of(&state, &org).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_configured(),
        Err(e) => return internal(e),
    };
    let Some(redirect_uri) = redirect_uri(&headers) else {
        return ui::error_page(StatusCode::BAD_REQUEST, "Bad request", None);
    };
    let provider = match discover(&config.issuer).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(target: "rampart::auth", event = "sso_start", organization = %org, error = %e, "identity provider unavailable");
            return ui::error_page(
                StatusCode::BAD_GATEWAY,
                "Single sign-on is not available",
                Some("The organization's identity provider could not be reached. Try again later."),
            );
        }
    };
    let sso_state = random_token();
    let nonce = random_token();
    let verifier = random_token();
    let challenge = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let login = NewSsoLogin {
        organization_id: &config.organization_id,
        state: &sso_state,
        nonce: &nonce,
        pkce_verifier: &verifier,
        redirect_uri: &redirect_uri,
    };
    if let Err(e) = state.store.begin_sso_login(&login, &state.vault).await {
        return internal(e);
    }
    let mut url = provider.authorization_endpoint;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", SSO_SCOPES)
        .append_pair("state", &sso_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let Ok(location) = HeaderValue::from_str(url.as_str()) else {
        return ui::error_page(
            StatusCode::BAD_GATEWAY,
            "Single sign-on is not available",
            None,
        );
    };
    tracing::info!(target: "rampart::auth", event = "sso_start", organization = %org);
    (
        StatusCode::SEE_OTHER,
        AppendHeaders([
            (header::LOCATION, location),
            (header::SET_COOKIE, sso_cookie(&sso_state)),
        ]),
    )
        .into_response()
}

async fn enabled_config_of(state: &AppState, org: &str) -> Result<Option<SsoConfig>, StoreError> {
    if !valid_org_slug(org) {
        return Ok(None);
    }
    let Some(org) = state.store.organization_by_slug(org).await? else {
        return Ok(None);
    };
    Ok(state.store.sso_config(&org.id).await?.filter(|c| c.enabled))
}

fn internal(e: StoreError) -> Response {
    tracing::error!(error = %e, "SSO failed on a store error");
    ui::error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        None,
    )
}

#[derive(Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

struct Client {
    address: String,
    user_agent: String,
}

/// The IdP's redirect back: see the module docs.
async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    params: Result<Query<CallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let client = Client {
        address: peer.ip().to_string(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    };
    let params = params.map(|Query(p)| p).unwrap_or(CallbackParams {
        code: None,
        state: None,
        error: None,
        iss: None,
    });
    let mut org: Option<SsoConfig> = None;
    match complete(&state, &headers, &client, &params, &mut org).await {
        Ok(resp) => resp,
        Err(e) => {
            let event = AuditEvent::new("auth.sso_login", Outcome::Failure)
                .from_client(&client.address, &client.user_agent)
                .object(
                    "organization",
                    org.as_ref().map_or("", |c| c.organization_id.as_str()),
                )
                .detail(serde_json::json!({
                    "reason": e.code(),
                    "organization": org.as_ref().map(|c| c.organization_slug.as_str()),
                }));
            if let Err(audit_err) = state.store.audit(None, &event).await {
                return internal(audit_err);
            }
            if let SsoError::Store(inner) = e {
                return internal(inner);
            }
            tracing::info!(target: "rampart::auth", event = "sso_login", outcome = "failure", reason = e.code(), peer = %peer.ip());
            let clear = !matches!(e, SsoError::StateMismatch);
            failure_page(e.status(), &e.to_string(), clear)
        }
    }
}

async fn complete(
    state: &AppState,
    headers: &HeaderMap,
    client: &Client,
    params: &CallbackParams,
    org: &mut Option<SsoConfig>,
) -> Result<Response, SsoError> {
    let sso_state = params.state.as_deref().unwrap_or_default();
    let bound = cookie(headers, SSO_COOKIE).is_some_and(|c| !c.is_empty() && ct_eq(c, sso_state));
    if sso_state.is_empty() || !bound {
        return Err(SsoError::StateMismatch);
    }
    let pending = state
        .store
        .take_sso_login(sso_state, &state.vault)
        .await?
        .ok_or(SsoError::UnknownState)?;
    let config = state
        .store
        .sso_config(&pending.organization_id)
        .await?
        .ok_or(SsoError::NotConfigured)?;
    let config = org.insert(config);
    if !config.enabled {
        return Err(SsoError::NotConfigured);
    }
    if let Some(error) = &params.error {
        return Err(SsoError::IdpError(safe_code(error)));
    }
    // RFC 9207: when the IdP names itself in the response, it must be the configured issuer.
    if params
        .iss
        .as_deref()
        .is_some_and(|iss| iss != config.issuer)
    {
        return Err(SsoError::IssuerMismatch);
    }
    let code = params
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 4096)
        .ok_or(SsoError::MissingCode)?;
    let provider = discover(&config.issuer).await?;
    let secret = state
        .store
        .sso_client_secret(&config.organization_id, &state.vault)
        .await?;
    let id_token = exchange_code(
        &provider,
        &config.client_id,
        &secret,
        code,
        &pending.redirect_uri,
        &pending.pkce_verifier,
    )
    .await?;
    let expected = Expected {
        issuer: &config.issuer,
        client_id: &config.client_id,
        nonce_hash: &pending.nonce_hash,
    };
    let claims = verify_id_token(&id_token, &provider.jwks, &expected, Utc::now().timestamp())?;
    if !claims.email_verified {
        return Err(SsoError::EmailNotVerified);
    }
    let email = claims
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .ok_or(SsoError::IdToken(IdTokenError::MissingClaim("email")))?;
    if !config.allows_email(&email) {
        return Err(SsoError::DomainNotAllowed);
    }
    let event = AuditEvent::new("auth.sso_login", Outcome::Success)
        .from_client(&client.address, &client.user_agent);
    let identity = SsoIdentity {
        issuer: &config.issuer,
        subject: &claims.subject,
        email: &email,
    };
    let signed_in = state
        .store
        .sso_sign_in(config, &identity, event.clone())
        .await?;
    let user = signed_in.user;
    if matches!(signed_in.joined, Some(Role::Admin | Role::Owner)) {
        state.alerts.raise(SecurityAlert {
            kind: "new_admin",
            workspace: Some(config.default_workspace_slug.clone()),
            subject: user.email.clone(),
        });
    }
    // A fresh session id at every sign-in (ASVS 3.2.1); the old one, if any, ends.
    if let Some(old) = cookie(headers, SESSION_COOKIE) {
        let _ = state.store.delete_session(old).await;
    }
    let totp_enrolled = state.store.mfa_enabled(&user.id).await?;
    let idp_mfa = amr_is_multi_factor(&claims.amr);
    let options = SessionOptions {
        mfa_pending: totp_enrolled && !idp_mfa,
        mfa_verified: idp_mfa,
        address: client.address.clone(),
        user_agent: client.user_agent.clone(),
    };
    let event = event
        .actor(ActorKind::User, &user.id, &user.email)
        .object("organization", &config.organization_id)
        .detail(serde_json::json!({
            "organization": config.organization_slug,
            "issuer": config.issuer,
            "user_created": signed_in.created,
            "joined_role": signed_in.joined,
            "idp_mfa": idp_mfa,
            "second_factor_required": options.mfa_pending,
        }));
    let session = state
        .store
        .record_login_success(&user, &options, event)
        .await?;
    tracing::info!(target: "rampart::auth", event = "sso_login", outcome = "success", user = %user.id, organization = %config.organization_slug, mfa_pending = options.mfa_pending);
    let next = if options.mfa_pending {
        "/login/mfa"
    } else {
        "/"
    };
    let max_age = state.store.session_timeouts().absolute.num_seconds();
    // A page rather than a redirect: the SameSite=Strict session cookie is not sent on the
    // rest of a redirect chain that the IdP started, but is on this page's own navigation.
    let mut resp = redirect_page("Signed in", next);
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &session.token, max_age),
    );
    h.append(header::SET_COOKIE, clear_cookie(SSO_COOKIE));
    Ok(resp)
}

// ----- configuration API ------------------------------------------------------------------------

fn enabled_default() -> bool {
    true
}

/// SSO settings of the workspace's organization. The client secret is write-only.
#[derive(Deserialize, ToSchema)]
pub struct SsoConfigIn {
    /// The IdP's issuer URL exactly as its discovery document states it (`https://`; plain
    /// `http://` only for a loopback issuer).
    pub issuer: String,
    pub client_id: String,
    /// Required the first time; omit to keep the stored secret. Never returned.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Email domains whose verified addresses may sign in, e.g. `["example.com"]`.
    pub allowed_domains: Vec<String>,
    /// Slug of the workspace (of the same organization) that new SSO users join; default:
    /// this workspace.
    #[serde(default)]
    pub default_workspace: Option<String>,
    /// Role of just-in-time members: admin, analyst, viewer or auditor.
    pub default_role: Role,
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

/// An organization's SSO configuration (without the client secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoConfigOut {
    /// Organization slug (sign-in starts at `/sso/{organization}/start`).
    pub organization: String,
    pub issuer: String,
    pub client_id: String,
    /// Always true: a secret is stored (sealed); it is never returned.
    pub client_secret_set: bool,
    pub allowed_domains: Vec<String>,
    pub default_workspace: String,
    pub default_role: Role,
    pub enabled: bool,
    /// The redirect URI to register at the IdP.
    pub redirect_uri: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

fn config_out(c: SsoConfig, headers: &HeaderMap) -> SsoConfigOut {
    SsoConfigOut {
        organization: c.organization_slug,
        issuer: c.issuer,
        client_id: c.client_id,
        client_secret_set: true,
        allowed_domains: c.allowed_domains,
        default_workspace: c.default_workspace_slug,
        default_role: c.default_role,
        enabled: c.enabled,
        redirect_uri: redirect_uri(headers)
            .unwrap_or_else(|| format!("https://HOST{SSO_CALLBACK_PATH}")),
        updated_by: c.updated_by,
        updated_at: c.updated_at,
    }
}

/// The SSO configuration of the workspace's organization (owner, admin).
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/sso", tag = "settings",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = SsoConfigOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_sso_config(
    State(state): State<AppState>,
    auth: Caller,
    headers: HeaderMap,
    ApiPath(ws): ApiPath<String>,
) -> Result<Json<SsoConfigOut>, ApiError> {
    sso_config_of(&state, &auth, &ws, &headers)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("SSO configuration"))
}

/// The SSO configuration of the workspace's organization, if any (needs `manage_settings`;
/// shared by the API and the settings page).
pub(crate) async fn sso_config_of(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    headers: &HeaderMap,
) -> Result<Option<SsoConfigOut>, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageSettings).await?;
    Ok(state
        .store
        .sso_config_of(ws.scope())
        .await?
        .map(|c| config_out(c, headers)))
}

/// Creates or replaces the SSO configuration of the workspace's organization (owner, admin;
/// also needs to manage the members of the default workspace). Audited as `sso.configure`.
#[utoipa::path(put, path = "/api/v1/workspaces/{ws}/sso", tag = "settings", request_body = SsoConfigIn,
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = SsoConfigOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn put_sso_config(
    State(state): State<AppState>,
    auth: Caller,
    headers: HeaderMap,
    ApiPath(ws): ApiPath<String>,
    ApiJson(body): ApiJson<SsoConfigIn>,
) -> Result<Json<SsoConfigOut>, ApiError> {
    configure(&state, &auth, &ws, body, &headers)
        .await
        .map(Json)
}

/// Checks and stores an SSO configuration (shared by the API and the settings page).
pub(crate) async fn configure(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    body: SsoConfigIn,
    headers: &HeaderMap,
) -> Result<SsoConfigOut, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageSettings).await?;
    let issuer = body.issuer.trim();
    check_idp_url(issuer).map_err(|m| ApiError::bad_request(format!("invalid issuer: {m}")))?;
    let target = match body.default_workspace.as_deref() {
        Some(slug) if slug != ws.scope().slug() => {
            authorize(state, auth, slug, Permission::ManageMembers).await?
        }
        _ => ws.clone(),
    };
    let settings = SsoSettings {
        issuer,
        client_id: &body.client_id,
        client_secret: body.client_secret.as_deref(),
        allowed_domains: &body.allowed_domains,
        default_workspace: target.scope(),
        default_role: body.default_role,
        enabled: body.enabled,
    };
    let config = state
        .store
        .configure_sso(
            ws.scope(),
            &settings,
            &state.vault,
            auth.event_in(ws.scope(), "sso.configure"),
        )
        .await?;
    Ok(config_out(config, headers))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
    use base64::Engine as _;

    const ISSUER: &str = "https://idp.example.com";
    const CLIENT: &str = "rampart";
    const NONCE: &str = "n-0123456789abcdef0123456789abcdef";

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    struct Signer {
        key: KeyPair,
        kid: String,
    }

    impl Signer {
        fn new(kid: &str) -> Signer {
            Signer {
                key: KeyPair::generate(KeySize::Rsa2048).unwrap(),
                kid: kid.to_owned(),
            }
        }

        fn jwk(&self) -> serde_json::Value {
            let public = self.key.public_key();
            serde_json::json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": b64(public.modulus().big_endian_without_leading_zero()),
                "e": b64(public.exponent().big_endian_without_leading_zero()),
            })
        }

        fn sign(&self, header: &serde_json::Value, claims: &serde_json::Value) -> String {
            let input = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let mut sig = vec![0u8; self.key.public_modulus_len()];
            self.key
                .sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input.as_bytes(),
                    &mut sig,
                )
                .unwrap();
            format!("{input}.{}", b64(&sig))
        }

        fn token(&self, claims: &serde_json::Value) -> String {
            self.sign(
                &serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.kid}),
                claims,
            )
        }
    }

    fn jwks(signers: &[&Signer]) -> JwkSet {
        let keys: Vec<_> = signers.iter().map(|s| s.jwk()).collect();
        serde_json::from_value(serde_json::json!({ "keys": keys })).unwrap()
    }

    fn now() -> i64 {
        Utc::now().timestamp()
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({
            "iss": ISSUER, "aud": CLIENT, "sub": "user-1", "iat": now(), "exp": now() + 300,
            "nonce": NONCE, "email": "Alice@Example.com", "email_verified": true, "amr": ["pwd"],
        })
    }

    fn with(mut c: serde_json::Value, key: &str, v: serde_json::Value) -> serde_json::Value {
        c[key] = v;
        c
    }

    fn check(token: &str, set: &JwkSet) -> Result<VerifiedIdToken, IdTokenError> {
        let nonce_hash = sso_nonce_hash(NONCE);
        let expected = Expected {
            issuer: ISSUER,
            client_id: CLIENT,
            nonce_hash: &nonce_hash,
        };
        verify_id_token(token, set, &expected, now())
    }

    /// V3.5.3 (ASVS): a well-formed ID token from the issuer's key verifies, and the claims Rampart
    /// uses come out.
    #[test]
    fn v3_5_3_valid_id_token_verifies() {
        let s = Signer::new("k1");
        let other = Signer::new("k2");
        let set = jwks(&[&other, &s]);
        let v = check(&s.token(&claims()), &set).unwrap();
        assert_eq!(v.subject, "user-1");
        assert_eq!(v.email.as_deref(), Some("Alice@Example.com"));
        assert!(v.email_verified);
        assert_eq!(v.amr, ["pwd"]);
        // Without a kid, every signing key is tried.
        let token = s.sign(&serde_json::json!({"alg": "RS256"}), &claims());
        assert!(check(&token, &set).is_ok());
    }

    #[test]
    fn v3_5_3_bad_signature_is_refused() {
        let s = Signer::new("k1");
        let impostor = Signer::new("k1");
        let set = jwks(&[&s]);
        assert_eq!(
            check(&impostor.token(&claims()), &set),
            Err(IdTokenError::Signature)
        );
        // A token whose claims were edited after signing.
        let token = s.token(&claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = b64(with(claims(), "sub", "admin".into()).to_string().as_bytes());
        assert_eq!(check(&parts.join("."), &set), Err(IdTokenError::Signature));
        // An unknown kid.
        let stranger = Signer::new("k9");
        assert_eq!(
            check(&stranger.token(&claims()), &set),
            Err(IdTokenError::UnknownKey)
        );
    }

    #[test]
    fn v3_5_3_unsigned_and_symmetric_tokens_are_refused() {
        let s = Signer::new("k1");
        let set = jwks(&[&s]);
        let body = b64(claims().to_string().as_bytes());
        let none = format!("{}.{body}.", b64(br#"{"alg":"none"}"#));
        assert!(check(&none, &set).is_err());
        let hs = format!(
            "{}.{body}.{}",
            b64(br#"{"alg":"HS256","kid":"k1"}"#),
            b64(b"x")
        );
        assert_eq!(check(&hs, &set), Err(IdTokenError::Algorithm));
        assert_eq!(check("not-a-jwt", &set), Err(IdTokenError::Malformed));
    }

    #[test]
    fn v3_5_3_wrong_audience_is_refused() {
        let s = Signer::new("k1");
        let set = jwks(&[&s]);
        let t = s.token(&with(claims(), "aud", "another-client".into()));
        assert_eq!(check(&t, &set), Err(IdTokenError::Audience));
        // Several audiences need azp = our client id.
        let t = s.token(&with(claims(), "aud", serde_json::json!([CLIENT, "other"])));
        assert_eq!(check(&t, &set), Err(IdTokenError::Audience));
        let multi = with(claims(), "aud", serde_json::json!([CLIENT, "other"]));
        let t = s.token(&with(multi, "azp", CLIENT.into()));
        assert!(check(&t, &set).is_ok());
        let t = s.token(&with(claims(), "azp", "other".into()));
        assert_eq!(check(&t, &set), Err(IdTokenError::Audience));
    }

    #[test]
    fn v3_5_3_wrong_issuer_expiry_iat_and_nonce_are_refused() {
        let s = Signer::new("k1");
        let set = jwks(&[&s]);
        let t = s.token(&with(claims(), "iss", "https://evil.example".into()));
        assert_eq!(check(&t, &set), Err(IdTokenError::Issuer));
        let t = s.token(&with(claims(), "exp", (now() - 600).into()));
        assert_eq!(check(&t, &set), Err(IdTokenError::Expired));
        let t = s.token(&with(claims(), "iat", (now() + 3600).into()));
        assert_eq!(check(&t, &set), Err(IdTokenError::IssuedAt));
        let t = s.token(&with(claims(), "nonce", "another-nonce".into()));
        assert_eq!(check(&t, &set), Err(IdTokenError::Nonce));
        let mut no_nonce = claims();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert_eq!(
            check(&s.token(&no_nonce), &set),
            Err(IdTokenError::MissingClaim("nonce"))
        );
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(check(&s.token(&no_exp), &set).is_err());
    }

    #[test]
    fn email_verified_must_be_boolean_true() {
        let s = Signer::new("k1");
        let set = jwks(&[&s]);
        for v in [
            serde_json::json!("true"),
            serde_json::json!(false),
            serde_json::Value::Null,
        ] {
            let t = s.token(&with(claims(), "email_verified", v));
            assert!(!check(&t, &set).unwrap().email_verified);
        }
    }

    #[test]
    fn amr_multi_factor() {
        let amr = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(amr_is_multi_factor(&amr(&["mfa"])));
        assert!(amr_is_multi_factor(&amr(&["pwd", "otp"])));
        assert!(amr_is_multi_factor(&amr(&["hwk", "fpt"])));
        assert!(!amr_is_multi_factor(&amr(&["pwd"])));
        assert!(!amr_is_multi_factor(&amr(&["otp", "sms"])));
        assert!(!amr_is_multi_factor(&[]));
    }

    #[test]
    fn v9_2_1_idp_urls_need_https_except_loopback() {
        assert!(check_idp_url("https://login.example.com/tenant").is_ok());
        assert!(check_idp_url("http://127.0.0.1:4000").is_ok());
        assert!(check_idp_url("http://localhost:4000").is_ok());
        assert!(check_idp_url("http://[::1]:4000").is_ok());
        assert!(check_idp_url("http://login.example.com").is_err());
        assert!(check_idp_url("http://10.0.0.1").is_err());
        assert!(check_idp_url("https://user:pw@login.example.com").is_err());
        assert!(check_idp_url("ftp://login.example.com").is_err());
        assert!(check_idp_url("login.example.com").is_err());
    }
}
