//! The account page of the signed-in person: password change, and multi-factor authentication
//! (enrol an authenticator app with a QR code or the typed key, confirm with a first code, see
//! the recovery codes once, turn it off with a current code). The same operations as
//! `/api/v1/me/...`, through the same functions.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Nav, UiCaller, UiError, render};
use crate::admin;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/mfa/begin", post(begin_mfa))
        .route("/account/mfa/confirm", post(confirm_mfa))
        .route("/account/mfa/disable", post(disable_mfa))
}

/// A TOTP enrolment in progress: the key to type in and its QR code.
struct Enrolment {
    secret_groups: String,
    otpauth_uri: String,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Option<Nav>,
    csrf: String,
    email: String,
    mfa_enabled: bool,
    /// A message after an action (role="status").
    notice: Option<String>,
    /// An error after an action (role="alert").
    error: Option<String>,
    enrolment: Option<Enrolment>,
    /// Shown once, after enrolment.
    recovery_codes: Vec<String>,
    /// Waiting for the first code (after "set up", or after a wrong code).
    confirming: bool,
}

impl AccountPage {
    fn new(ui: &UiCaller) -> AccountPage {
        AccountPage {
            nav: Some(Nav::new(&ui.auth, None)),
            csrf: ui.auth.0.csrf_token.clone(),
            email: ui.auth.0.user.email.clone(),
            mfa_enabled: ui.auth.0.mfa_enabled,
            notice: None,
            error: None,
            enrolment: None,
            recovery_codes: Vec::new(),
            confirming: false,
        }
    }
}

/// The QR code of an `otpauth://` URI as inline SVG (presentation attributes only, so the page's
/// style policy holds).
fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build()
            // The renderer starts with an XML declaration, which has no place inside HTML.
            .split_once("<svg")
            .map(|(_, rest)| format!("<svg role=\"img\" aria-label=\"QR code of the key\"{rest}"))
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The base32 key in groups of four, easier to type.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn account(ui: UiCaller) -> Response {
    render(&AccountPage::new(&ui))
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    ui: UiCaller,
    Form(form): Form<PasswordForm>,
) -> Result<Response, UiError> {
    let mut page = AccountPage::new(&ui);
    if form.new_password != form.confirm_password {
        page.error = Some("The new password and its confirmation differ.".into());
        return Ok(render(&page));
    }
    let body = admin::PasswordChange {
        current_password: form.current_password,
        new_password: form.new_password,
    };
    match admin::password_change(&state, &ui.caller, &body).await {
        Ok(()) => {
            page.notice =
                Some("Password changed. Your other sessions have been signed out.".into());
        }
        Err(e) if e.status.is_client_error() && e.status.as_u16() == 400 => {
            page.error = Some(e.message.clone());
        }
        Err(e) => return Err(ui.fail(e)),
    }
    Ok(render(&page))
}

async fn begin_mfa(State(state): State<AppState>, ui: UiCaller) -> Result<Response, UiError> {
    let enrolment = admin::totp_begin(&state, &ui.caller)
        .await
        .map_err(|e| ui.fail(e))?;
    let mut page = AccountPage::new(&ui);
    page.confirming = true;
    page.enrolment = Some(Enrolment {
        secret_groups: grouped(&enrolment.secret),
        qr_svg: qr_svg(&enrolment.otpauth_uri),
        otpauth_uri: enrolment.otpauth_uri,
    });
    Ok(render(&page))
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn confirm_mfa(
    State(state): State<AppState>,
    ui: UiCaller,
    Form(form): Form<CodeForm>,
) -> Result<Response, UiError> {
    let mut page = AccountPage::new(&ui);
    match admin::totp_confirm(&state, &ui.caller, form.code.trim()).await {
        Ok((codes, cookie, csrf)) => {
            page.mfa_enabled = true;
            page.recovery_codes = codes;
            page.notice = Some("Multi-factor authentication is on.".into());
            // The session was replaced by an MFA-verified one, with its own CSRF token.
            page.csrf = csrf.clone();
            if let Some(nav) = page.nav.as_mut() {
                nav.csrf = csrf;
            }
            Ok((AppendHeaders([(header::SET_COOKIE, cookie)]), render(&page)).into_response())
        }
        Err(e) if e.status.as_u16() == 400 => {
            page.confirming = true;
            page.error = Some(format!(
                "{}: check the time on your device and enter the current code.",
                e.message
            ));
            Ok(render(&page))
        }
        Err(e) => Err(ui.fail(e)),
    }
}

async fn disable_mfa(
    State(state): State<AppState>,
    ui: UiCaller,
    Form(form): Form<CodeForm>,
) -> Result<Response, UiError> {
    let mut page = AccountPage::new(&ui);
    match admin::mfa_disable(&state, &ui.caller, form.code.trim()).await {
        Ok(()) => {
            page.mfa_enabled = false;
            page.notice = Some("Multi-factor authentication is off.".into());
        }
        Err(e) if e.status.as_u16() == 400 => page.error = Some(e.message.clone()),
        Err(e) => return Err(ui.fail(e)),
    }
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_inline_svg_without_style_attributes() {
        let svg =
            qr_svg("otpauth://totp/Rampart:a%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Rampart");
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(!svg.contains("<?xml") && !svg.contains("style="), "{svg}");
        assert!(svg.contains("<path"), "{svg}");
    }

    #[test]
    fn keys_are_grouped_by_four() {
        assert_eq!(grouped("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
    }
}
