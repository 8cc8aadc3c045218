//! The account page (issue 8, "Settings: … MFA"): enrolling an authenticator app with a QR code
//! and the typed key, confirming with a first code, the recovery codes shown once, the new
//! MFA-verified session, turning MFA off with a current code, and changing the password, all
//! through the CSRF-protected forms (ASVS 2.8.x, 3.3.x, 4.2.2).
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::{form_token, set_cookie_value};
use rampart_store::Role;
use rampart_store::totp::{self, TotpAlgorithm};
use reqwest::header::COOKIE;

async fn page(t: &common::TestServer, session: &str, path: &str) -> String {
    let resp = t.get(path, Some(session)).await;
    assert_eq!(resp.status(), 200, "{path}");
    common::assert_security_headers(&resp, path);
    let html = resp.text().await.unwrap();
    assert!(common::no_inline_script(&html), "{path}");
    html
}

async fn post_form(
    t: &common::TestServer,
    session: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    t.client
        .post(t.url(path))
        .header(COOKIE, format!("__Host-rampart_session={session}"))
        .header("origin", t.url(""))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("#{id} in {html}"))
        + marker.len();
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].to_owned()
}

#[tokio::test]
async fn v2_8_mfa_is_enrolled_and_removed_on_the_account_page_and_the_password_changed() {
    let t = common::spawn().await;
    let (_, session, _) = t.member("mia@example.com", "acme", Role::Analyst).await;

    let html = page(&t, &session, "/account").await;
    assert!(html.contains("id=\"mfa-begin\""), "MFA is off: {html}");
    let csrf = form_token(&html);

    // A form without the CSRF token is refused.
    let resp = post_form(&t, &session, "/account/mfa/begin", &[]).await;
    assert_eq!(resp.status(), 403);

    // Set up: the key (typed or scanned as the inline SVG QR code) and a confirmation form.
    let resp = post_form(&t, &session, "/account/mfa/begin", &[("csrf_token", &csrf)]).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let html = resp.text().await.unwrap();
    assert!(html.contains("<svg role=\"img\""), "QR code: {html}");
    assert!(
        html.contains("href=\"otpauth://totp/Rampart:mia%40example%2Ecom?secret="),
        "{html}"
    );
    let key: String = text_of(&html, "totp-secret").split_whitespace().collect();
    let secret = totp::base32_decode(&key).unwrap();
    let now = Utc::now().timestamp();
    let code = totp::totp_at(TotpAlgorithm::Sha1, &secret, now, 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };

    // A wrong code keeps MFA off and says so.
    let resp = post_form(
        &t,
        &session,
        "/account/mfa/confirm",
        &[("csrf_token", &csrf), ("code", wrong)],
    )
    .await;
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"account-error\""), "{html}");
    assert!(html.contains("id=\"mfa-confirm\""), "{html}");

    // The right code: MFA on, ten recovery codes shown once, a new MFA-verified session.
    let resp = post_form(
        &t,
        &session,
        "/account/mfa/confirm",
        &[("csrf_token", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let fresh = set_cookie_value(&resp, "__Host-rampart_session").expect("a new session");
    assert_ne!(fresh, session);
    let html = resp.text().await.unwrap();
    let recovery: Vec<&str> = html
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    assert_eq!(recovery.len(), 10, "{html}");
    assert_eq!(
        t.get("/account", Some(&session)).await.status(),
        303,
        "the old session ended"
    );
    let html = page(&t, &fresh, "/account").await;
    assert!(html.contains("id=\"mfa-disable\""), "MFA is on: {html}");
    assert!(
        !html.contains(recovery[0]),
        "recovery codes are shown only once"
    );
    let fresh_csrf = form_token(&html);

    // Turning it off needs a current code; a wrong one is refused, a recovery code works.
    let resp = post_form(
        &t,
        &fresh,
        "/account/mfa/disable",
        &[("csrf_token", &fresh_csrf), ("code", "123 456")],
    )
    .await;
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"account-error\""), "{html}");
    assert!(html.contains("id=\"mfa-disable\""), "still on: {html}");
    let resp = post_form(
        &t,
        &fresh,
        "/account/mfa/disable",
        &[("csrf_token", &fresh_csrf), ("code", recovery[1])],
    )
    .await;
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Multi-factor authentication is off."),
        "{html}"
    );
    assert!(html.contains("id=\"mfa-begin\""), "{html}");

    // The password: confirmation must match, the current one must be right.
    let resp = post_form(
        &t,
        &fresh,
        "/account/password",
        &[
            ("csrf_token", &fresh_csrf),
            ("current_password", "mia correct horse battery"),
            ("new_password", "a brand new passphrase"),
            ("confirm_password", "a different passphrase"),
        ],
    )
    .await;
    assert!(resp.text().await.unwrap().contains("differ"));
    let resp = post_form(
        &t,
        &fresh,
        "/account/password",
        &[
            ("csrf_token", &fresh_csrf),
            ("current_password", "not my password at all"),
            ("new_password", "a brand new passphrase"),
            ("confirm_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("the current password is wrong")
    );
}

#[tokio::test]
async fn the_password_is_changed_on_the_account_page_and_other_sessions_end() {
    let t = common::spawn().await;
    let (_, session, _) = t.member("pat@example.com", "acme", Role::Viewer).await;
    let other = t
        .login("pat@example.com", "member violet kettle harbour")
        .await;
    let csrf = form_token(&page(&t, &session, "/account").await);
    let resp = post_form(
        &t,
        &session,
        "/account/password",
        &[
            ("csrf_token", &csrf),
            ("current_password", "member violet kettle harbour"),
            ("new_password", "a brand new passphrase"),
            ("confirm_password", "a brand new passphrase"),
        ],
    )
    .await;
    let html = resp.text().await.unwrap();
    assert!(html.contains("Password changed."), "{html}");
    assert_eq!(
        t.get("/account", Some(&other)).await.status(),
        303,
        "other sessions end"
    );
    assert_eq!(
        t.get("/account", Some(&session)).await.status(),
        200,
        "this one stays"
    );
    assert_eq!(
        t.post_login("pat@example.com", "a brand new passphrase")
            .await
            .status(),
        303
    );
}
