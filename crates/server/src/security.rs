//! Security headers, cookies and CSRF protection.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Session cookie. `__Host-` binds it to this origin: Secure, Path=/, no Domain (ASVS 3.4.4).
pub(crate) const SESSION_COOKIE: &str = "__Host-rampart_session";
/// Double-submit token for the sign-in form, before a session exists.
pub(crate) const LOGIN_CSRF_COOKIE: &str = "__Host-rampart_login_csrf";
/// Header carrying the session's CSRF token on state-changing API requests.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// The Content-Security-Policy of every response: scripts, styles and everything else only from
/// this origin (no inline script or style), no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Adds the security headers to every response, errors and 404 included (ASVS 14.4.x).
pub(crate) async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        // A handler may set a stricter policy of its own (the HTML report: `default-src 'none'`).
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        // Responses carry workspace data: never cache them (ASVS 8.2.1).
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The value of cookie `name` in the request, if present.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `__Host-` cookie: Secure, HttpOnly, SameSite=Strict, Path=/ (ASVS 3.4.1–3.4.5).
pub(crate) fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let v = format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(crate) fn clear_cookie(name: &str) -> HeaderValue {
    set_cookie(name, "", 0)
}

/// Constant-time comparison of two tokens.
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes from the OS, URL-safe base64.
pub(crate) fn random_token() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Requests that change state must come from this origin (when the browser says where it comes
/// from) and carry the session's CSRF token (ASVS 4.2.2, 13.2.3).
///
/// `/login` and `/logout` are forms: they check the token from the form body in their handlers
/// (the sign-in form against its double-submit cookie, sign-out against the session). Every other
/// state-changing request needs the `X-CSRF-Token` header equal to the session's token.
pub(crate) async fn csrf_guard(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    if !same_origin(&request) {
        return csrf_failure("cross-origin request refused");
    }
    let path = request.uri().path();
    // Forms that check their own token (sign-in, and the pages of mailed links, against a
    // double-submit cookie; the MFA step and sign-out against the session), and the
    // password-reset calls, which carry no ambient authority (they need the email's owner or a
    // secret code).
    if matches!(
        path,
        "/login"
            | "/login/mfa"
            | "/logout"
            | "/api/v1/password-reset"
            | "/api/v1/password-reset/confirm"
            | "/reset"
    ) || path.starts_with("/invite/")
        || path.starts_with("/reset/")
    {
        return next.run(request).await;
    }
    // The web app's forms (under `/w/` and `/account/`) cannot send a header: their token is the
    // `csrf_token` field of the url-encoded body, checked here against the session's before any
    // handler runs.
    if (path.starts_with("/w/") || path.starts_with("/account/")) && is_form(request.headers()) {
        return form_csrf(&state, request, next).await;
    }
    let headers = request.headers();
    // API tokens are sent explicitly in a header a browser never adds by itself: no CSRF risk.
    // A request carrying both a token and a session cookie is checked as a session request.
    if headers.contains_key(header::AUTHORIZATION) && cookie(headers, SESSION_COOKIE).is_none() {
        return next.run(request).await;
    }
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return csrf_failure("missing or invalid CSRF token");
    };
    let session = match state.store.session(token).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match (session, sent) {
        (Some(s), Some(sent)) if ct_eq(&s.csrf_token, sent) => next.run(request).await,
        _ => csrf_failure("missing or invalid CSRF token"),
    }
}

/// Largest web-app form body read by the CSRF check.
const MAX_FORM_BYTES: usize = 64 * 1024;

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// The decoded value of field `name` in a url-encoded body.
pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|b| *b == b'&').find_map(|pair| {
        let (k, v) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        (k == name.as_bytes()).then(|| {
            let v: Vec<u8> = v
                .iter()
                .map(|b| if *b == b'+' { b' ' } else { *b })
                .collect();
            percent_encoding::percent_decode(&v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

async fn form_csrf(state: &AppState, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_request",
            "form too large",
        )
        .into_response();
    };
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return csrf_failure("missing or invalid CSRF token");
    };
    let session = match state.store.session(token).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let sent = form_field(&bytes, "csrf_token");
    match (session, sent) {
        (Some(s), Some(sent)) if ct_eq(&s.csrf_token, &sent) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        _ => csrf_failure("missing or invalid CSRF token"),
    }
}

fn csrf_failure(message: &str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, "csrf_failed", message).into_response()
}

/// False when an `Origin` header names another origin. A browser sends `Origin: null` on a form
/// post from a page whose Referrer-Policy is `no-referrer` (ours): then the fetch metadata it adds
/// (`Sec-Fetch-Site`, which no page can set) must say `same-origin`.
fn same_origin(request: &Request) -> bool {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return true;
    };
    if origin.as_bytes() == b"null" {
        return request
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"same-origin");
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    match (origin.to_str(), host) {
        (Ok(origin), Some(host)) => origin.eq_ignore_ascii_case(&format!("https://{host}")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_parse() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-rampart_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn form_fields_decode() {
        let body = b"a=1&csrf_token=ab%2Bc+d&empty";
        assert_eq!(form_field(body, "csrf_token").as_deref(), Some("ab+c d"));
        assert_eq!(form_field(body, "a").as_deref(), Some("1"));
        assert_eq!(form_field(body, "empty").as_deref(), Some(""));
        assert_eq!(form_field(body, "missing"), None);
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "ab"));
    }

    #[test]
    fn cookie_attributes() {
        let c = set_cookie(SESSION_COOKIE, "t", 60);
        let c = c.to_str().unwrap_or_default();
        for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(c.contains(attr), "{c}");
        }
        assert!(!c.contains("Domain"));
    }
}
