//! Sign-in, sign-out and the session extractors.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rampart_store::{SESSION_ABSOLUTE_TIMEOUT, Session};
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
        .route("/logout", post(logout))
}

async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<Session>, ApiError> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(state.store.session(token).await?)
}

/// The signed-in user's session for API routes; 401 JSON otherwise.
pub(crate) struct ApiAuth(pub Session);

impl FromRequestParts<AppState> for ApiAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        session_of(parts, state)
            .await?
            .map(ApiAuth)
            .ok_or_else(ApiError::unauthenticated)
    }
}

/// The signed-in user's session for web pages; a redirect to the sign-in page otherwise.
pub(crate) struct UiAuth(pub Session);

impl FromRequestParts<AppState> for UiAuth {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session_of(parts, state).await {
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

fn login_response(status: StatusCode, email: &str, message: Option<&str>) -> Response {
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
    if state.throttle.is_locked(&form.email) {
        tracing::warn!(target: "rampart::auth", event = "login", outcome = "throttled", email = %form.email, peer = %peer.ip());
        return login_response(
            StatusCode::TOO_MANY_REQUESTS,
            &form.email,
            Some("Too many failed sign-ins for this account. Try again later."),
        );
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
            state.throttle.record_failure(&form.email);
            tracing::info!(target: "rampart::auth", event = "login", outcome = "failure", email = %form.email, peer = %peer.ip());
            return login_response(StatusCode::UNAUTHORIZED, &form.email, Some(LOGIN_FAILED));
        }
        Err(e) => {
            tracing::error!(error = %e, "login failed on a store error");
            return ui::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                None,
            );
        }
    };
    state.throttle.record_success(&form.email);
    // A fresh session id at every sign-in (ASVS 3.2.1); the old one, if any, ends.
    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.store.delete_session(old).await;
    }
    let session = match state.store.create_session(&user.id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "creating a session failed");
            return ui::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                None,
            );
        }
    };
    tracing::info!(target: "rampart::auth", event = "login", outcome = "success", user = %user.id, peer = %peer.ip());
    (
        AppendHeaders([
            (
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &session.token,
                    SESSION_ABSOLUTE_TIMEOUT.num_seconds(),
                ),
            ),
            (header::SET_COOKIE, clear_cookie(LOGIN_CSRF_COOKIE)),
        ]),
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
    tracing::info!(target: "rampart::auth", event = "logout", user = %session.user.id);
    (
        AppendHeaders([(header::SET_COOKIE, clear_cookie(SESSION_COOKIE))]),
        Redirect::to("/login"),
    )
        .into_response()
}
