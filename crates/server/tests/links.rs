//! Mailed links (issue 6: "invitations by expiring single-use links", "password reset by expiring
//! single-use token"): the mail carries a link under the installation's public URL (never the
//! request's Host header, ASVS 5.1.5 / host header poisoning), opening it uses nothing, the form
//! on its page does — once, behind a double-submit CSRF token (ASVS 4.2.2) — and the code never
//! reaches the audit log.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, set_cookie_value};
use reqwest::header::{COOKIE, HOST};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "a brand new kettle of fish";

/// The link and the code of the last mail sent to `to`.
fn last_link(t: &common::TestServer, to: &str, path: &str) -> (String, String) {
    let sent = t.mailer.sent.lock().unwrap();
    let mail = sent.iter().rev().find(|m| m.to == to).expect("a mail");
    let prefix = format!("{}{path}", t.base);
    let start = mail.body.find(&prefix).unwrap_or_else(|| {
        panic!("no link under {prefix} in: {}", mail.body);
    });
    let link: String = mail.body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let code = link.rsplit('/').next().unwrap().to_owned();
    assert!(mail.body.contains(&code));
    (link, code)
}

/// GET a page; answers (status, body, the double-submit cookie's value).
async fn page(t: &common::TestServer, url: &str, session: Option<&str>) -> (u16, String, String) {
    let mut req = t.client.get(url);
    if let Some(s) = session {
        req = req.header(COOKIE, format!("__Host-rampart_session={s}"));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let cookie = set_cookie_value(&resp, "__Host-rampart_login_csrf").unwrap_or_default();
    (status, resp.text().await.unwrap(), cookie)
}

fn form_token(html: &str) -> String {
    let at = html.find("name=\"csrf_token\" value=\"").expect("a form");
    html[at + 25..].split('"').next().unwrap().to_owned()
}

async fn post_form(
    t: &common::TestServer,
    url: &str,
    csrf: Option<&str>,
    session: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut cookies = Vec::new();
    if let Some(c) = csrf {
        cookies.push(format!("__Host-rampart_login_csrf={c}"));
    }
    if let Some(s) = session {
        cookies.push(format!("__Host-rampart_session={s}"));
    }
    let mut req = t.client.post(url).form(fields);
    if !cookies.is_empty() {
        req = req.header(COOKIE, cookies.join("; "));
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn v5_invitation_links_create_the_account_and_join_once() {
    let t = common::spawn().await;
    let bob = t.login(BOB, BOB_PASSWORD).await;
    let csrf = t.csrf_any(&bob).await;
    // A forged Host header does not change where the link points.
    let resp = t
        .with_session(
            t.client.post(t.url("/api/v1/workspaces/other/invitations")),
            &bob,
            &csrf,
        )
        .header(HOST, "evil.example")
        .json(&json!({ "email": "newbie@example.com", "role": "analyst" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (link, code) = last_link(&t, "newbie@example.com", "/invite/");
    assert!(
        !t.mailer
            .sent
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .body
            .contains("evil.example")
    );

    // Opening the link shows the invitation and a password form; it uses nothing.
    let (status, html, cookie) = page(&t, &link, None).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("id=\"register\"") && html.contains("analyst"),
        "{html}"
    );
    assert!(common::no_inline_script(&html));
    let token = form_token(&html);
    let register = format!("{link}/register");

    // Without the double-submit cookie: refused, nothing created.
    let resp = post_form(
        &t,
        &register,
        None,
        None,
        &[
            ("csrf_token", &token),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert!(
        t.store
            .user_by_email("newbie@example.com")
            .await
            .unwrap()
            .is_none()
    );
    // Mismatched and weak passwords: a clear message, nothing created.
    let resp = post_form(
        &t,
        &register,
        Some(&cookie),
        None,
        &[
            ("csrf_token", &token),
            ("password", NEW_PASSWORD),
            ("confirm", "something else entirely"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("The two passwords differ.")
    );
    let resp = post_form(
        &t,
        &register,
        Some(&cookie),
        None,
        &[
            ("csrf_token", &token),
            ("password", "short"),
            ("confirm", "short"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert!(
        t.store
            .user_by_email("newbie@example.com")
            .await
            .unwrap()
            .is_none()
    );

    // The real thing: the account exists with the invited email and role, the link is spent.
    let resp = post_form(
        &t,
        &register,
        Some(&cookie),
        None,
        &[
            ("csrf_token", &token),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Your account is ready and you joined")
    );
    let session = t.login("newbie@example.com", NEW_PASSWORD).await;
    assert_eq!(
        t.get("/api/v1/workspaces/other/summary", Some(&session))
            .await
            .status(),
        200
    );
    let me = t.get_json("/api/v1/workspaces", &session).await;
    assert!(me.to_string().contains("analyst"), "{me}");
    let (status, _, _) = page(&t, &link, None).await;
    assert_eq!(status, 404, "single use");
    let resp = post_form(
        &t,
        &register,
        Some(&cookie),
        None,
        &[
            ("csrf_token", &token),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(resp.status(), 404);

    // The audit entry names the new account and not the code.
    let audit = t.get_json("/api/v1/workspaces/other/audit", &bob).await;
    let text = audit.to_string();
    assert!(
        text.contains("invitation.accept") && text.contains("newbie@example.com"),
        "{text}"
    );
    assert!(!text.contains(&code), "the code reached the audit log");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn v5_an_invitation_link_for_an_existing_account_is_accepted_signed_in() {
    let t = common::spawn().await;
    let bob = t.login(BOB, BOB_PASSWORD).await;
    let csrf = t.csrf_any(&bob).await;
    let resp = t
        .with_session(
            t.client.post(t.url("/api/v1/workspaces/other/invitations")),
            &bob,
            &csrf,
        )
        .json(&json!({ "email": ALICE, "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (link, _) = last_link(&t, ALICE, "/invite/");

    // Anonymous: sign in first (no password form for an existing account).
    let (_, html, _) = page(&t, &link, None).await;
    assert!(
        html.contains("id=\"sign-in-first\"") && !html.contains("id=\"register\""),
        "{html}"
    );
    // Signed in as someone else: told so, no accept button.
    let (_, html, _) = page(&t, &link, Some(&bob)).await;
    assert!(
        html.contains("id=\"other-user\"") && !html.contains("id=\"accept-invitation\""),
        "{html}"
    );
    // Signed in as the invited user: one button, which joins.
    let alice = t.login(ALICE, ALICE_PASSWORD).await;
    assert_eq!(
        t.get("/api/v1/workspaces/other/summary", Some(&alice))
            .await
            .status(),
        404
    );
    let (_, html, cookie) = page(&t, &link, Some(&alice)).await;
    assert!(html.contains("id=\"accept-invitation\""), "{html}");
    let token = form_token(&html);
    let resp = post_form(
        &t,
        &link,
        Some(&cookie),
        Some(&alice),
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/w/other");
    assert_eq!(
        t.get("/api/v1/workspaces/other/summary", Some(&alice))
            .await
            .status(),
        200
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn v2_5_password_reset_links_work_once_and_end_every_session() {
    let t = common::spawn().await;
    let old_session = t.login(ALICE, ALICE_PASSWORD).await;
    // The sign-in page links to the request form.
    let (_, login, _) = page(&t, &t.url("/login"), None).await;
    assert!(login.contains("href=\"/reset\""));
    let (status, html, cookie) = page(&t, &t.url("/reset"), None).await;
    assert_eq!(status, 200);
    let token = form_token(&html);
    // Same answer for an unknown email, and no mail.
    let before = t.mailer.sent.lock().unwrap().len();
    let resp = post_form(
        &t,
        &t.url("/reset"),
        Some(&cookie),
        None,
        &[("csrf_token", &token), ("email", "nobody@example.com")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let unknown = resp.text().await.unwrap();
    assert!(unknown.contains("id=\"reset-requested\""));
    assert_eq!(t.mailer.sent.lock().unwrap().len(), before);
    let resp = post_form(
        &t,
        &t.url("/reset"),
        Some(&cookie),
        None,
        &[("csrf_token", &token), ("email", ALICE)],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("id=\"reset-requested\"")
    );
    let (link, code) = last_link(&t, ALICE, "/reset/");

    let (status, html, cookie) = page(&t, &link, None).await;
    assert_eq!(status, 200);
    let token = form_token(&html);
    let resp = post_form(
        &t,
        &link,
        None,
        None,
        &[
            ("csrf_token", &token),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403, "no double-submit cookie");
    let resp = post_form(
        &t,
        &link,
        Some(&cookie),
        None,
        &[
            ("csrf_token", &token),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Your password was changed")
    );
    // Every earlier session ended; the new password works, the old one does not.
    assert_eq!(
        t.get("/api/v1/workspaces", Some(&old_session))
            .await
            .status(),
        401
    );
    assert_eq!(
        t.post_login(ALICE, ALICE_PASSWORD).await.status(),
        401,
        "the old password is refused"
    );
    t.login(ALICE, NEW_PASSWORD).await;
    // Single use.
    let resp = post_form(
        &t,
        &link,
        Some(&cookie),
        None,
        &[
            ("csrf_token", &token),
            ("password", "yet another long password"),
            ("confirm", "yet another long password"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    // The API confirm takes the same code once only too (already used).
    let resp = t
        .client
        .post(t.url("/api/v1/password-reset/confirm"))
        .json(&json!({ "token": code, "new_password": "yet another long password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(body.to_string().contains("invalid, used or expired"));
    t.server.shutdown().await.unwrap();
}
