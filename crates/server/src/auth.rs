//! Sign-in, sign-out and the session extractors.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{Session, SessionOptions};
use serde::Deserialize;

use crate::error::ApiError;
use crate::security::{
    LOGIN_CSRF_COOKIE, SESSION_COOKIE, clear_cookie, cookie, ct_eq, random_token, set_cookie,
};
use crate::state::AppState;
use crate::ui::{self, render};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/mfa", get(mfa_page).post(mfa_submit))
        .route("/logout", post(logout))
}

async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<Session>, ApiError> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(state.store.session(token).await?)
}

/// The signed-in user's session for web pages; a redirect to the sign-in page otherwise (or to
/// the second-factor step for an MFA-pending session).
pub(crate) struct UiAuth(pub Session);

impl FromRequestParts<AppState> for UiAuth {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session_of(parts, state).await {
            Ok(Some(s)) if s.mfa_pending => Err(Redirect::to("/login/mfa").into_response()),
            Ok(Some(s)) => Ok(UiAuth(s)),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(_) => Err(ui::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                None,
            )),
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<ui::Nav>,
    csrf_token: String,
    email: String,
    message: Option<String>,
}

pub(crate) fn login_response(status: StatusCode, email: &str, message: Option<&str>) -> Response {
    let token = random_token();
    let page = LoginPage {
        nav: None,
        csrf_token: token.clone(),
        email: email.to_owned(),
        message: message.map(str::to_owned),
    };
    (
        status,
        AppendHeaders([(
            header::SET_COOKIE,
            set_cookie(LOGIN_CSRF_COOKIE, &token, 3600),
        )]),
        render(&page),
    )
        .into_response()
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = state.store.session(token).await
    {
        return Redirect::to("/").into_response();
    }
    login_response(StatusCode::OK, "", None)
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
}

/// One message for an unknown account and a wrong password (ASVS 2.2.x, 3.2.x enumeration).
const LOGIN_FAILED: &str = "Invalid email or password.";

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_response(StatusCode::BAD_REQUEST, "", Some(LOGIN_FAILED));
    };
    let csrf_ok = cookie(&headers, LOGIN_CSRF_COOKIE).is_some_and(|c| ct_eq(c, &form.csrf_token));
    if !csrf_ok {
        tracing::info!(target: "rampart::auth", event = "login", outcome = "csrf_failed", peer = %peer.ip());
        return login_response(
            StatusCode::FORBIDDEN,
            &form.email,
            Some("Your sign-in form expired. Please try again."),
        );
    }
    let address = peer.ip().to_string();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let event = |outcome| {
        AuditEvent::new("auth.login", outcome)
            .from_client(&address, &user_agent)
            .object("account", &form.email)
    };
    match state.store.login_throttled(&form.email, &address).await {
        Ok(None) => {}
        Ok(Some(why)) => {
            let _ = state
                .store
                .audit(
                    None,
                    &event(Outcome::Denied).detail(
                        serde_json::json!({ "throttled": format!("{why:?}").to_lowercase() }),
                    ),
                )
                .await;
            tracing::warn!(target: "rampart::auth", event = "login", outcome = "throttled", peer = %peer.ip());
            return login_response(
                StatusCode::TOO_MANY_REQUESTS,
                &form.email,
                Some("Too many failed sign-ins. Try again later."),
            );
        }
        Err(e) => return internal(e),
    }
    // The policy caps passwords at 128 characters; anything far longer cannot match.
    let verified = if form.password.len() > 1024 {
        Ok(None)
    } else {
        state
            .store
            .verify_password(&form.email, &form.password)
            .await
    };
    let user = match verified {
        Ok(Some(user)) => user,
        Ok(None) => {
            if let Err(e) = state
                .store
                .record_login_failure(&form.email, &address, event(Outcome::Failure))
                .await
            {
                return internal(e);
            }
            failed_login(&state, &form.email, &address).await;
            tracing::info!(target: "rampart::auth", event = "login", outcome = "failure", peer = %peer.ip());
            return login_response(StatusCode::UNAUTHORIZED, &form.email, Some(LOGIN_FAILED));
        }
        Err(e) => return internal(e),
    };
    // A fresh session id at every sign-in (ASVS 3.2.1); the old one, if any, ends.
    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.store.delete_session(old).await;
    }
    let mfa_enabled = match state.store.mfa_enabled(&user.id).await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let options = SessionOptions {
        mfa_pending: mfa_enabled,
        mfa_verified: false,
        address: address.clone(),
        user_agent: user_agent.clone(),
    };
    let outcome_event = event(Outcome::Success)
        .actor(ActorKind::User, &user.id, &user.email)
        .detail(serde_json::json!({ "second_factor_required": mfa_enabled }));
    let session = match state
        .store
        .record_login_success(&user, &options, outcome_event)
        .await
    {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    tracing::info!(target: "rampart::auth", event = "login", outcome = "success", user = %user.id, peer = %peer.ip(), mfa_pending = mfa_enabled);
    let next = if mfa_enabled { "/login/mfa" } else { "/" };
    let max_age = state.store.session_timeouts().absolute.num_seconds();
    (
        AppendHeaders([
            (
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &session.token, max_age),
            ),
            (header::SET_COOKIE, clear_cookie(LOGIN_CSRF_COOKIE)),
        ]),
        Redirect::to(next),
    )
        .into_response()
}

/// Counts a failed sign-in and raises a security alert when it is the one that throttles the
/// account (repeated failures on one account) or the address.
async fn failed_login(state: &AppState, account: &str, address: &str) {
    state.metrics.login_failures.inc();
    if let Ok(Some(why)) = state.store.login_throttled(account, address).await {
        state.alerts.raise(crate::state::SecurityAlert {
            kind: match why {
                rampart_store::Throttle::Account => "repeated_failed_logins_account",
                rampart_store::Throttle::Address => "repeated_failed_logins_address",
            },
            workspace: None,
            subject: match why {
                rampart_store::Throttle::Account => account.trim().to_lowercase(),
                rampart_store::Throttle::Address => address.to_owned(),
            },
        });
    }
}

fn internal(e: rampart_store::StoreError) -> Response {
    tracing::error!(error = %e, "sign-in failed on a store error");
    ui::error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        None,
    )
}

#[derive(Template)]
#[template(path = "login_mfa.html")]
struct MfaPage {
    nav: Option<ui::Nav>,
    csrf_token: String,
    message: Option<String>,
}

async fn pending_session(state: &AppState, headers: &HeaderMap) -> Option<(String, Session)> {
    let token = cookie(headers, SESSION_COOKIE)?;
    match state.store.session(token).await {
        Ok(Some(s)) if s.mfa_pending => Some((token.to_owned(), s)),
        _ => None,
    }
}

async fn mfa_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match pending_session(&state, &headers).await {
        Some((_, s)) => render(&MfaPage {
            nav: None,
            csrf_token: s.csrf_token,
            message: None,
        }),
        None => Redirect::to("/login").into_response(),
    }
}

#[derive(Deserialize)]
struct MfaForm {
    code: String,
    csrf_token: String,
}

/// The second sign-in step: a TOTP code (accepted once) or a recovery code (single use). A
/// wrong code counts as a failed sign-in for throttling; success replaces the pending session by
/// a fresh, MFA-verified one.
async fn mfa_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<MfaForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some((token, session)) = pending_session(&state, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    let Ok(Form(form)) = form else {
        return Redirect::to("/login/mfa").into_response();
    };
    if !ct_eq(&session.csrf_token, &form.csrf_token) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "missing or invalid CSRF token",
        )
        .into_response();
    }
    let address = peer.ip().to_string();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let event = |outcome| {
        AuditEvent::new("auth.mfa", outcome)
            .from_client(&address, &user_agent)
            .actor(ActorKind::User, &session.user.id, &session.user.email)
    };
    match state
        .store
        .login_throttled(&session.user.email, &address)
        .await
    {
        Ok(None) => {}
        Ok(Some(_)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                render(&MfaPage {
                    nav: None,
                    csrf_token: session.csrf_token,
                    message: Some("Too many failed attempts. Try again later.".into()),
                }),
            )
                .into_response();
        }
        Err(e) => return internal(e),
    }
    let ok = match state
        .store
        .verify_second_factor(&session.user.id, &form.code, &state.vault)
        .await
    {
        Ok(ok) => ok,
        Err(e) => return internal(e),
    };
    if !ok {
        if let Err(e) = state
            .store
            .record_login_failure(&session.user.email, &address, event(Outcome::Failure))
            .await
        {
            return internal(e);
        }
        failed_login(&state, &session.user.email, &address).await;
        return (
            StatusCode::UNAUTHORIZED,
            render(&MfaPage {
                nav: None,
                csrf_token: session.csrf_token,
                message: Some("That code is not valid.".into()),
            }),
        )
            .into_response();
    }
    let options = SessionOptions {
        mfa_pending: false,
        mfa_verified: true,
        address: address.clone(),
        user_agent: user_agent.clone(),
    };
    let fresh = match state
        .store
        .complete_mfa_session(&token, &session.user.id, &options, event(Outcome::Success))
        .await
    {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    let max_age = state.store.session_timeouts().absolute.num_seconds();
    (
        AppendHeaders([(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, &fresh.token, max_age),
        )]),
        Redirect::to("/"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf_token: String,
}

async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(token) = cookie(&headers, SESSION_COOKIE) else {
        return Redirect::to("/login").into_response();
    };
    let session = match state.store.session(token).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return (
                AppendHeaders([(header::SET_COOKIE, clear_cookie(SESSION_COOKIE))]),
                Redirect::to("/login"),
            )
                .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let csrf_ok = form.is_ok_and(|Form(f)| ct_eq(&session.csrf_token, &f.csrf_token));
    if !csrf_ok {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "missing or invalid CSRF token",
        )
        .into_response();
    }
    if let Err(e) = state.store.delete_session(token).await {
        return ApiError::from(e).into_response();
    }
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let event = AuditEvent::new("auth.logout", Outcome::Success)
        .actor(ActorKind::User, &session.user.id, &session.user.email)
        .from_client(&peer.ip().to_string(), user_agent);
    if let Err(e) = state.store.audit(None, &event).await {
        return ApiError::from(e).into_response();
    }
    tracing::info!(target: "rampart::auth", event = "logout", user = %session.user.id);
    (
        AppendHeaders([(header::SET_COOKIE, clear_cookie(SESSION_COOKIE))]),
        Redirect::to("/login"),
    )
        .into_response()
}
