//! The single sign-on settings of the web app (issue 8 "Settings: … SSO"): owners and admins see
//! and change the organization's OIDC client on the settings page through the API's own
//! function (same checks, audited as `sso.configure`); the client secret is write-only and never
//! shown; a bad issuer is named on the page; other roles see no form and are refused.
#![allow(clippy::unwrap_used)]

mod common;

use common::form_token;
use rampart_store::Role;
use reqwest::header::COOKIE;

const SECRET: &str = "oidc-client-secret-never-shown-42";

async fn post(t: &common::TestServer, session: &str, form: &[(&str, &str)]) -> reqwest::Response {
    t.client
        .post(t.url("/w/orgws/settings/sso"))
        .header(COOKIE, format!("__Host-rampart_session={session}"))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn page(t: &common::TestServer, session: &str) -> String {
    t.get("/w/orgws/settings", Some(session))
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn owners_configure_single_sign_on_on_the_settings_page() {
    let t = common::spawn().await;
    // Workspaces outside an organization have no SSO card.
    let (_, plain, _) = t.member("pat@example.com", "acme", Role::Owner).await;
    let html = t
        .get("/w/acme/settings", Some(&plain))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("id=\"sso-form\""));
    let org = t
        .store
        .create_organization("acme-org", "Acme Org")
        .await
        .unwrap();
    t.store
        .create_workspace_in(&org.id, "orgws", "Acme in an organization")
        .await
        .unwrap();
    let (_, owner, _) = t.member("olga@example.com", "orgws", Role::Owner).await;
    let html = page(&t, &owner).await;
    assert!(
        html.contains("id=\"sso-form\"") && html.contains("Not configured"),
        "{html}"
    );
    assert!(
        html.contains(&format!("{}/sso/callback", t.base)),
        "redirect URI to register"
    );
    let roles = html
        .split("name=\"default_role\">")
        .nth(1)
        .and_then(|r| r.split("</select>").next())
        .unwrap();
    assert!(
        roles.contains(">viewer<") && !roles.contains(">owner<"),
        "owner is never a just-in-time role: {roles}"
    );

    let form = |issuer: &'static str, secret: &'static str| {
        vec![
            ("issuer", issuer),
            ("client_id", "rampart"),
            ("client_secret", secret),
            ("allowed_domains", "example.com, example.org"),
            ("default_workspace", "orgws"),
            ("default_role", "analyst"),
            ("enabled", "on"),
        ]
    };
    // A bad issuer: refused, named on the page, nothing stored.
    let mut bad = form("http://idp.example.com", SECRET);
    let token = form_token(&html);
    bad.push(("csrf_token", &token));
    let resp = post(&t, &owner, &bad).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("id=\"sso-error\"") && html.contains("invalid issuer"),
        "{html}"
    );
    assert!(!html.contains(SECRET));
    assert_eq!(
        t.get("/api/v1/workspaces/orgws/sso", Some(&owner))
            .await
            .status(),
        404
    );

    let mut good = form("https://idp.example.com", SECRET);
    good.push(("csrf_token", &token));
    let resp = post(&t, &owner, &good).await;
    let status = resp.status();
    let location = resp.headers().get("location").cloned();
    let body = resp.text().await.unwrap();
    assert_eq!(
        status,
        303,
        "{}",
        body.split("sso-error").nth(1).unwrap_or("")
    );
    assert_eq!(location.unwrap(), "/w/orgws/settings#sso");
    let api = t.get_json("/api/v1/workspaces/orgws/sso", &owner).await;
    assert_eq!(api["issuer"], "https://idp.example.com");
    assert_eq!(
        api["allowed_domains"],
        serde_json::json!(["example.com", "example.org"])
    );
    assert_eq!(api["default_role"], "analyst");
    assert_eq!(api["enabled"], true);
    let html = page(&t, &owner).await;
    assert!(html.contains("https://idp.example.com") && html.contains("example.com, example.org"));
    assert!(!html.contains(SECRET), "the secret is never shown");

    // Saving again without a secret keeps the stored one; unticking disables.
    let mut again: Vec<(&str, &str)> = form("https://idp.example.com", "")
        .into_iter()
        .filter(|(k, _)| *k != "enabled")
        .collect();
    again.push(("csrf_token", &token));
    assert_eq!(post(&t, &owner, &again).await.status(), 303);
    let api = t.get_json("/api/v1/workspaces/orgws/sso", &owner).await;
    assert_eq!(api["enabled"], false);
    assert_eq!(api["client_secret_set"], true);
    let audit = t.get_json("/api/v1/workspaces/orgws/audit", &owner).await;
    assert!(audit.to_string().contains("sso.configure"));
    assert!(!audit.to_string().contains(SECRET));

    // An analyst sees no form and is refused.
    let (_, analyst, _) = t.member("ann@example.com", "orgws", Role::Analyst).await;
    let html = page(&t, &analyst).await;
    assert!(!html.contains("id=\"sso-form\""));
    let mut form = form("https://idp.example.com", SECRET);
    let token = form_token(&html);
    form.push(("csrf_token", &token));
    assert_eq!(post(&t, &analyst, &form).await.status(), 403);
}
