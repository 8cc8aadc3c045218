//! The notifications page of the web app (issue 8 "Settings: … notifications"; issue 10 point
//! 3): channels and rules are added, tested and deleted through the CSRF-protected forms, with
//! the same checks as the API (secrets write-only and never shown, a bad CEL scope named), and
//! read-only for a viewer.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ALICE, ALICE_PASSWORD, form_token};
use rampart_store::Role;
use reqwest::header::COOKIE;

const SECRET: &str = "a-webhook-signing-secret-0123456789";

async fn post(
    t: &common::TestServer,
    session: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let resp = t
        .client
        .post(t.url(path))
        .header(COOKIE, format!("__Host-rampart_session={session}"))
        .form(form)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.text().await.unwrap_or_default(),
    )
}

fn id_after(html: &str, prefix: &str) -> String {
    let start = html
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} in {html}"))
        + prefix.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn channels_and_rules_are_managed_on_the_notifications_page() {
    let t = common::spawn().await;
    // An analyst reads the page but may not manage channels (manage_settings).
    let analyst = t.login(ALICE, ALICE_PASSWORD).await;
    let html = t
        .get("/w/acme/notifications", Some(&analyst))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("id=\"add-channel\""));
    let (status, html) = post(
        &t,
        &analyst,
        "/w/acme/notifications/channels",
        &[
            ("csrf_token", &form_token(&html)),
            ("name", "x"),
            ("kind", "webhook"),
            ("url", "https://hooks.example.com/x"),
            ("secret", SECRET),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert!(html.contains("manage_settings"), "{html}");

    let (_, session, _) = t.member("olga@example.com", "acme", Role::Owner).await;
    let resp = t.get("/w/acme/notifications", Some(&session)).await;
    assert_eq!(resp.status(), 200);
    common::assert_security_headers(&resp, "notifications");
    let html = resp.text().await.unwrap();
    assert!(common::no_inline_script(&html));
    assert!(html.contains("No channel yet."), "{html}");
    let csrf = form_token(&html);

    // Without the form's CSRF token: refused before any handler runs.
    let (status, _) = post(
        &t,
        &session,
        "/w/acme/notifications/channels",
        &[("name", "x"), ("kind", "webhook")],
    )
    .await;
    assert_eq!(status, 403);

    // A webhook with a too-short secret: the store's check, shown on the page.
    let (status, html) = post(
        &t,
        &session,
        "/w/acme/notifications/channels",
        &[
            ("csrf_token", &csrf),
            ("name", "SOC webhook"),
            ("kind", "webhook"),
            ("url", "https://hooks.example.com/rampart"),
            ("secret", "short"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("id=\"error\""), "{html}");
    assert!(
        html.contains("No channel yet."),
        "nothing was added: {html}"
    );

    let (status, html) = post(
        &t,
        &session,
        "/w/acme/notifications/channels",
        &[
            ("csrf_token", &csrf),
            ("name", "SOC webhook"),
            ("kind", "webhook"),
            ("url", "https://hooks.example.com/rampart"),
            ("secret", SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("Channel SOC webhook added."), "{html}");
    assert!(html.contains("https://hooks.example.com/rampart"));
    assert!(html.contains("secret stored"));
    assert!(!html.contains(SECRET), "a secret is never shown");
    let channel = id_after(&html, "id=\"channel-");

    // A rule whose scope does not compile is refused with the position.
    let (_, html) = post(
        &t,
        &session,
        "/w/acme/notifications/rules",
        &[
            ("csrf_token", &csrf),
            ("name", "Prod critical"),
            ("min_severity", "critical"),
            ("scope", "resource.tags.env =="),
            ("on_new", "on"),
            ("channels", &channel),
        ],
    )
    .await;
    assert!(
        html.contains("invalid scope: CEL error at line 1"),
        "{html}"
    );
    let (_, html) = post(
        &t,
        &session,
        "/w/acme/notifications/rules",
        &[
            ("csrf_token", &csrf),
            ("name", "Prod critical"),
            ("min_severity", "critical"),
            ("frameworks", "cis-aws-3.0"),
            ("frameworks", "soc2"),
            ("scope", "resource.tags.env == 'prod'"),
            ("on_new", "on"),
            ("channels", &channel),
        ],
    )
    .await;
    assert!(html.contains("Rule Prod critical added."), "{html}");
    assert!(
        html.contains("cis-aws-3.0, soc2"),
        "both frameworks kept: {html}"
    );
    assert!(html.contains("<td>new</td>"), "only new findings: {html}");
    let rule = id_after(&html, "id=\"rule-");
    let api = t
        .get_json("/api/v1/workspaces/acme/notifications/rules", &session)
        .await;
    assert_eq!(api[0]["channels"][0], channel.as_str());
    assert_eq!(api[0]["on_regressed"], false);

    // A test message is queued as a job.
    let (_, html) = post(
        &t,
        &session,
        &format!("/w/acme/notifications/channels/{channel}/test"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert!(html.contains("Test message queued (job job_"), "{html}");

    // A viewer reads the page without forms, and may not change anything.
    let (_, viewer, _) = t.member("vic@example.com", "acme", Role::Viewer).await;
    let html = t
        .get("/w/acme/notifications", Some(&viewer))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("SOC webhook") && !html.contains("id=\"add-channel\""));
    let viewer_csrf = form_token(&html);
    let (status, _) = post(
        &t,
        &viewer,
        &format!("/w/acme/notifications/rules/{rule}/delete"),
        &[("csrf_token", &viewer_csrf)],
    )
    .await;
    assert_eq!(status, 403);

    // Deleting: the rule, then the channel.
    let (status, _) = post(
        &t,
        &session,
        &format!("/w/acme/notifications/rules/{rule}/delete"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = post(
        &t,
        &session,
        &format!("/w/acme/notifications/channels/{channel}/delete"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let html = t
        .get("/w/acme/notifications", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("No channel yet.") && html.contains("No rule yet"),
        "{html}"
    );
}
