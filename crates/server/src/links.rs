//! The pages behind the links Rampart mails: invitations (`/invite/{code}`) and password resets
//! (`/reset`, `/reset/{code}`).
//!
//! Links are built from the installation's public URL (`--public-url`, else the HTTPS listen
//! address), never from the request's `Host` header, so a forged header cannot send a code to
//! another site (ASVS 5.1.5-style host header poisoning). The code sits in the path; pages set
//! `Referrer-Policy: no-referrer` (every response does) and request logs record no path beyond
//! the route (the code is redacted from the span). Opening a link never uses it: only the form
//! posted from the page does, with a double-submit CSRF token like the sign-in form's.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use rampart_store::audit::{AuditEvent, Outcome};
use rampart_store::{InvitationPreview, StoreError};
use serde::Deserialize;

use crate::authz::ClientMetaExtract;
use crate::security::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, cookie, ct_eq, random_token, set_cookie};
use crate::state::{AppState, OutgoingMessage};
use crate::ui::{self, render};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/invite/{code}", get(invite_page).post(invite_accept))
        .route(
            "/invite/{code}/register",
            axum::routing::post(invite_register),
        )
        .route("/reset", get(reset_request_page).post(reset_request))
        .route("/reset/{code}", get(reset_page).post(reset_confirm))
}

/// `path` with the secret code of a mailed link replaced by `[code]`, for logs, spans and audit
/// entries.
pub(crate) fn redact_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in ["/invite/", "/reset/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
            return format!("{prefix}[code]{tail}").into();
        }
    }
    path.into()
}

/// The invitation link mailed for `code`.
pub(crate) fn invitation_link(state: &AppState, code: &str) -> String {
    format!("{}/invite/{code}", state.public_url)
}

/// The password-reset link mailed for `code`.
pub(crate) fn reset_link(state: &AppState, code: &str) -> String {
    format!("{}/reset/{code}", state.public_url)
}

/// Sends the reset mail when the email has an account (the caller answers the same either way).
pub(crate) async fn send_reset(
    state: &AppState,
    email: &str,
    meta: &crate::authz::ClientMeta,
) -> Result<(), StoreError> {
    let event = AuditEvent::new("user.password_reset_request", Outcome::Success)
        .from_client(&meta.address, &meta.user_agent);
    if let Some((user, token)) = state.store.create_password_reset(email, event).await? {
        let link = reset_link(state, &token);
        state.mailer.send(OutgoingMessage {
            to: user.email.clone(),
            subject: "Reset your Rampart password".into(),
            body: format!(
                "Someone asked to reset the password of this Rampart account. If it was you, open this link within 30 minutes (it works once):\n\n{link}\n\nOr enter this code where you asked for the reset:\n\n{token}\n\nIf it was not you, ignore this message: your password stays as it is."
            ),
        });
    }
    Ok(())
}

/// A page with a fresh double-submit token (the cookie is set with the response).
fn with_csrf(status: StatusCode, token: &str, page: Response) -> Response {
    (
        status,
        AppendHeaders([(
            header::SET_COOKIE,
            set_cookie(LOGIN_CSRF_COOKIE, token, 3600),
        )]),
        page,
    )
        .into_response()
}

fn csrf_ok(headers: &HeaderMap, sent: &str) -> bool {
    cookie(headers, LOGIN_CSRF_COOKIE).is_some_and(|c| ct_eq(c, sent))
}

fn expired_form() -> Response {
    ui::error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        Some("Open the link from your email again and resubmit."),
    )
}

// ----- invitations --------------------------------------------------------------------------

/// What the invitation page offers the visitor.
enum InviteView {
    /// Signed in as the invited email: one button accepts.
    Accept,
    /// Signed in as someone else.
    OtherUser(String),
    /// Not signed in, and the invited email has an account: sign in first.
    SignIn,
    /// Not signed in, and no account yet: choose a password.
    Register,
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    nav: Option<ui::Nav>,
    code: String,
    csrf_token: String,
    workspace: String,
    email: String,
    role: String,
    expires: String,
    view: InviteView,
    message: Option<String>,
}

fn invalid_invitation() -> Response {
    ui::error_page(
        StatusCode::NOT_FOUND,
        "This invitation cannot be used",
        Some(
            "It may have expired, been used or been revoked. Ask an administrator of the workspace for a new one.",
        ),
    )
}

async fn invite_view(
    state: &AppState,
    headers: &HeaderMap,
    preview: &InvitationPreview,
) -> Result<InviteView, StoreError> {
    if let Some(token) = cookie(headers, SESSION_COOKIE)
        && let Some(session) = state.store.session(token).await?
        && !session.mfa_pending
    {
        return Ok(if session.user.email == preview.email {
            InviteView::Accept
        } else {
            InviteView::OtherUser(session.user.email)
        });
    }
    Ok(
        if state.store.user_by_email(&preview.email).await?.is_some() {
            InviteView::SignIn
        } else {
            InviteView::Register
        },
    )
}

async fn render_invite(
    state: &AppState,
    headers: &HeaderMap,
    code: &str,
    status: StatusCode,
    message: Option<String>,
) -> Response {
    let preview = match state.store.invitation_preview(code).await {
        Ok(Some(p)) => p,
        Ok(None) => return invalid_invitation(),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let view = match invite_view(state, headers, &preview).await {
        Ok(v) => v,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let token = random_token();
    let page = InvitePage {
        nav: None,
        code: code.to_owned(),
        csrf_token: token.clone(),
        workspace: preview.workspace.name,
        email: preview.email,
        role: preview.role.as_str().to_owned(),
        expires: ui::when(preview.expires_at),
        view,
        message,
    };
    with_csrf(status, &token, render(&page))
}

async fn invite_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    render_invite(&state, &headers, &code, StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct AcceptForm {
    csrf_token: String,
}

/// Accepts as the signed-in user (who must be the invited email).
async fn invite_accept(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMetaExtract,
    Path(code): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Response {
    if !csrf_ok(&headers, &form.csrf_token) {
        return expired_form();
    }
    let session = match cookie(&headers, SESSION_COOKIE) {
        Some(t) => state.store.session(t).await.ok().flatten(),
        None => None,
    };
    let Some(session) = session.filter(|s| !s.mfa_pending) else {
        return Redirect::to("/login").into_response();
    };
    let meta = meta.0;
    let event = AuditEvent::new("invitation.accept", Outcome::Success)
        .actor(
            rampart_store::audit::ActorKind::User,
            &session.user.id,
            &session.user.email,
        )
        .from_client(&meta.address, &meta.user_agent);
    match state
        .store
        .accept_invitation(&code, &session.user, event)
        .await
    {
        Ok(ws) => Redirect::to(&format!("/w/{}", ws.slug)).into_response(),
        Err(StoreError::NotFound { .. }) => invalid_invitation(),
        Err(StoreError::Forbidden(m)) => {
            render_invite(&state, &headers, &code, StatusCode::FORBIDDEN, Some(m)).await
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct RegisterForm {
    csrf_token: String,
    password: String,
    confirm: String,
}

/// Creates the invited person's account and accepts, in one transaction; then the sign-in page.
async fn invite_register(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMetaExtract,
    Path(code): Path<String>,
    Form(form): Form<RegisterForm>,
) -> Response {
    if !csrf_ok(&headers, &form.csrf_token) {
        return expired_form();
    }
    if form.password != form.confirm {
        return render_invite(
            &state,
            &headers,
            &code,
            StatusCode::BAD_REQUEST,
            Some("The two passwords differ.".into()),
        )
        .await;
    }
    let meta = meta.0;
    let event = AuditEvent::new("invitation.accept", Outcome::Success)
        .from_client(&meta.address, &meta.user_agent);
    match state
        .store
        .accept_invitation_with_new_account(&code, &form.password, event)
        .await
    {
        Ok((ws, user)) => crate::auth::login_response(
            StatusCode::OK,
            &user.email,
            Some(&format!(
                "Your account is ready and you joined {}. Sign in to continue.",
                ws.name
            )),
        ),
        Err(StoreError::NotFound { .. }) => invalid_invitation(),
        Err(StoreError::Invalid { field, message }) => {
            render_invite(
                &state,
                &headers,
                &code,
                StatusCode::BAD_REQUEST,
                Some(format!("{field}: {message}")),
            )
            .await
        }
        Err(StoreError::Conflict { .. }) => {
            render_invite(
                &state,
                &headers,
                &code,
                StatusCode::CONFLICT,
                Some(
                    "An account with this email exists: sign in, then open this link again.".into(),
                ),
            )
            .await
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

// ----- password reset ------------------------------------------------------------------------

enum ResetView {
    /// Ask for the email.
    Request,
    /// The request was taken (whether or not the account exists).
    Requested,
    /// Choose a new password (the code is in the path).
    Choose(String),
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    nav: Option<ui::Nav>,
    csrf_token: String,
    view: ResetView,
    message: Option<String>,
}

fn reset_response(status: StatusCode, view: ResetView, message: Option<String>) -> Response {
    let token = random_token();
    let page = ResetPage {
        nav: None,
        csrf_token: token.clone(),
        view,
        message,
    };
    with_csrf(status, &token, render(&page))
}

async fn reset_request_page() -> Response {
    reset_response(StatusCode::OK, ResetView::Request, None)
}

#[derive(Deserialize)]
struct ResetRequestForm {
    csrf_token: String,
    email: String,
}

async fn reset_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMetaExtract,
    Form(form): Form<ResetRequestForm>,
) -> Response {
    if !csrf_ok(&headers, &form.csrf_token) {
        return expired_form();
    }
    if let Err(e) = send_reset(&state, &form.email, &meta.0).await {
        return crate::error::ApiError::from(e).into_response();
    }
    reset_response(StatusCode::OK, ResetView::Requested, None)
}

async fn reset_page(Path(code): Path<String>) -> Response {
    reset_response(StatusCode::OK, ResetView::Choose(code), None)
}

#[derive(Deserialize)]
struct ResetForm {
    csrf_token: String,
    password: String,
    confirm: String,
}

async fn reset_confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMetaExtract,
    Path(code): Path<String>,
    Form(form): Form<ResetForm>,
) -> Response {
    if !csrf_ok(&headers, &form.csrf_token) {
        return expired_form();
    }
    if form.password != form.confirm {
        return reset_response(
            StatusCode::BAD_REQUEST,
            ResetView::Choose(code),
            Some("The two passwords differ.".into()),
        );
    }
    let meta = meta.0;
    let event = AuditEvent::new("user.password_reset", Outcome::Success)
        .from_client(&meta.address, &meta.user_agent);
    match state
        .store
        .reset_password(&code, &form.password, event)
        .await
    {
        Ok(Some(user)) => crate::auth::login_response(
            StatusCode::OK,
            &user.email,
            Some(
                "Your password was changed and every session of the account ended. Sign in with the new password.",
            ),
        ),
        Ok(None) => ui::error_page(
            StatusCode::BAD_REQUEST,
            "This reset link cannot be used",
            Some("It may have expired (30 minutes) or been used. Ask for a new one."),
        ),
        Err(StoreError::Invalid { field, message }) => reset_response(
            StatusCode::BAD_REQUEST,
            ResetView::Choose(code),
            Some(format!("{field}: {message}")),
        ),
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::redact_path;

    #[test]
    fn codes_are_redacted_from_paths() {
        assert_eq!(redact_path("/invite/abc123"), "/invite/[code]");
        assert_eq!(
            redact_path("/invite/abc123/register"),
            "/invite/[code]/register"
        );
        assert_eq!(redact_path("/reset/s3cr3t"), "/reset/[code]");
        assert_eq!(redact_path("/reset"), "/reset");
        assert_eq!(redact_path("/w/acme/assets"), "/w/acme/assets");
    }

    #[test]
    fn public_urls_are_https_hosts() {
        use crate::parse_public_url as p;
        assert_eq!(
            p("https://rampart.example.com/").unwrap(),
            "https://rampart.example.com"
        );
        assert_eq!(p("https://10.0.0.5:8443").unwrap(), "https://10.0.0.5:8443");
        assert_eq!(
            p("https://example.com/rampart").unwrap(),
            "https://example.com/rampart"
        );
        for bad in [
            "http://example.com",
            "example.com",
            "https://",
            "https://a b",
            "https://x?y=1",
            "https://u@x",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }
}
