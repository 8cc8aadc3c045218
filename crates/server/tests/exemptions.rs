//! Finding exemptions over the API and the web app's forms: who may exempt (ASVS 4.1.1, 4.1.3),
//! foreign workspaces (4.2.1), CSRF on both (4.2.2, 13.2.3), input validation (5.1.x), the audit
//! trail (7.1.x) and the effect on scores.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, TestServer};
use rampart_store::{AuditFilter, Page, Role};
use serde_json::json;

async fn failing_finding(t: &TestServer, session: &str, ws: &str) -> String {
    let list = t
        .get_json(
            &format!("/api/v1/workspaces/{ws}/findings?status=fail&limit=1"),
            session,
        )
        .await;
    list["items"][0]["id"].as_str().unwrap().to_owned()
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::days(days)).to_rfc3339()
}

async fn exempt(
    t: &TestServer,
    ws: &str,
    id: &str,
    session: &str,
    csrf: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    t.with_session(
        t.client
            .post(t.url(&format!("/api/v1/workspaces/{ws}/findings/{id}/exemption"))),
        session,
        csrf,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

/// An analyst exempts a failing finding: the summary stops counting it as failing and the posture
/// score rises; the exemption and the reopening are in the workspace audit log with the actor.
#[tokio::test]
async fn v7_1_1_exempt_and_reopen_are_audited_and_move_the_summary() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_of(&session).await;
    let before = t
        .get_json("/api/v1/workspaces/acme/summary", &session)
        .await;
    let id = failing_finding(&t, &session, "acme").await;

    let resp = exempt(
        &t,
        "acme",
        &id,
        &session,
        &csrf,
        json!({ "reason": "accepted: legacy region", "expires_at": in_days(30) }),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["finding_id"], id.as_str());
    assert_eq!(body["created_by_label"], ALICE);

    let after = t
        .get_json("/api/v1/workspaces/acme/summary", &session)
        .await;
    assert_eq!(after["exempted"], 1);
    assert_eq!(
        after["totals"]["fail"].as_u64().unwrap() + 1,
        before["totals"]["fail"].as_u64().unwrap()
    );
    assert!(after["posture_score"].as_f64() >= before["posture_score"].as_f64());

    // The finding page shows it, with who recorded it.
    let page = t
        .get(&format!("/w/acme/findings/{id}"), Some(&session))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("accepted: legacy region") && html.contains(ALICE));

    let resp = t
        .with_session(
            t.client
                .delete(t.url(&format!("/api/v1/workspaces/acme/findings/{id}/exemption"))),
            &session,
            &csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let again = t
        .with_session(
            t.client
                .delete(t.url(&format!("/api/v1/workspaces/acme/findings/{id}/exemption"))),
            &session,
            &csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "nothing left to reopen");
    let restored = t
        .get_json("/api/v1/workspaces/acme/summary", &session)
        .await;
    assert_eq!(restored["totals"], before["totals"]);
    assert_eq!(restored["exempted"], 0);

    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let log = t
        .store
        .scoped(&scope)
        .audit_log(&AuditFilter::default(), Page::new(50, 0))
        .await
        .unwrap();
    let actions: Vec<&str> = log
        .items
        .iter()
        .filter(|e| e.event.object_id == id)
        .map(|e| e.event.action.as_str())
        .collect();
    assert_eq!(actions, ["finding.reopen", "finding.exempt"]);
    assert!(
        log.items
            .iter()
            .filter(|e| e.event.object_id == id)
            .all(|e| e.event.actor_label == ALICE)
    );
}

/// V4.1.1 / V4.1.3: a viewer reads findings but cannot exempt them, over the API or the form;
/// the refusal is audited as denied.
#[tokio::test]
async fn v4_1_1_a_viewer_cannot_exempt() {
    let t = common::spawn().await;
    let (_, session, csrf) = t.member("viewer@example.com", "acme", Role::Viewer).await;
    let id = failing_finding(&t, &session, "acme").await;
    let resp = exempt(
        &t,
        "acme",
        &id,
        &session,
        &csrf,
        json!({ "reason": "mine", "expires_at": in_days(30) }),
    )
    .await;
    assert_eq!(resp.status(), 403);
    let form = t
        .client
        .post(t.url(&format!("/w/acme/findings/{id}/exempt")))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("reason", "mine"),
            ("expires", "2099-01-01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403);
    // The page offers no form to a viewer.
    let html = t
        .get(&format!("/w/acme/findings/{id}"), Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("/exempt\""), "no exempt form for a viewer");
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let denied = t
        .store
        .scoped(&scope)
        .audit_log(
            &AuditFilter {
                action: Some("authz.denied".into()),
                ..AuditFilter::default()
            },
            Page::new(50, 0),
        )
        .await
        .unwrap();
    assert!(denied.total >= 2, "both refusals audited");
}

/// V4.2.1: another workspace's finding answers 404, whether asked through the caller's own
/// workspace or through the other one's slug.
#[tokio::test]
async fn v4_2_1_foreign_findings_answer_404() {
    let t = common::spawn().await;
    let alice = t.login(ALICE, ALICE_PASSWORD).await;
    let alice_csrf = t.csrf_of(&alice).await;
    let bob = t.login(BOB, BOB_PASSWORD).await;
    let bob_csrf = t.csrf_any(&bob).await;
    let acme_finding = failing_finding(&t, &alice, "acme").await;
    let other_finding = failing_finding(&t, &bob, "other").await;
    let body = json!({ "reason": "x", "expires_at": in_days(3) });
    // Bob (owner of `other`) on acme: the workspace is not his.
    let resp = exempt(&t, "acme", &acme_finding, &bob, &bob_csrf, body.clone()).await;
    assert_eq!(resp.status(), 404);
    // Alice through her own workspace with the other workspace's finding id.
    let resp = exempt(
        &t,
        "acme",
        &other_finding,
        &alice,
        &alice_csrf,
        body.clone(),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let page = t
        .get(&format!("/w/acme/findings/{other_finding}"), Some(&alice))
        .await;
    assert_eq!(page.status(), 404);
    let page = t
        .get(&format!("/w/other/findings/{other_finding}"), Some(&alice))
        .await;
    assert_eq!(page.status(), 404);
}

/// V4.2.2 / V13.2.3: without the session's CSRF token, neither the API call nor the web form
/// changes anything; with it, the form redirects back to the finding.
#[tokio::test]
async fn v13_2_3_exemptions_need_the_csrf_token() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_of(&session).await;
    let id = failing_finding(&t, &session, "acme").await;
    let url = format!("/api/v1/workspaces/acme/findings/{id}/exemption");
    let resp = t
        .client
        .post(t.url(&url))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .json(&json!({ "reason": "x", "expires_at": in_days(3) }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let form = |token: Option<&str>| {
        let mut fields = vec![("reason", "x"), ("expires", "2099-01-01")];
        if let Some(tok) = token {
            fields.push(("csrf_token", tok));
        }
        t.client
            .post(t.url(&format!("/w/acme/findings/{id}/exempt")))
            .header("cookie", format!("__Host-rampart_session={session}"))
            .form(&fields)
            .send()
    };
    assert_eq!(form(None).await.unwrap().status(), 403);
    assert_eq!(form(Some("not-the-token")).await.unwrap().status(), 403);
    // A cross-site form post (Origin null from another site) is refused before the token.
    let cross = t
        .client
        .post(t.url(&format!("/w/acme/findings/{id}/exempt")))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .header("origin", "null")
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("reason", "x"),
            ("expires", "2099-01-01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let summary = t
        .get_json("/api/v1/workspaces/acme/summary", &session)
        .await;
    assert_eq!(summary["exempted"], 0, "nothing changed");

    // The expiry is at most a year away (V5.1.x): the form's 2099 is refused, a near date works.
    let far = form(Some(&csrf)).await.unwrap();
    assert_eq!(far.status(), 400);
    let soon = (chrono::Utc::now() + chrono::TimeDelta::days(10))
        .format("%Y-%m-%d")
        .to_string();
    let ok = t
        .client
        .post(t.url(&format!("/w/acme/findings/{id}/exempt")))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .header("origin", t.base.as_str())
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("reason", "x"),
            ("expires", soon.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(
        ok.headers()["location"].to_str().unwrap(),
        format!("/w/acme/findings/{id}")
    );
}

/// V5.1.x: reasons and expiries are validated (400), never a 500.
#[tokio::test]
async fn exemption_input_is_validated() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_of(&session).await;
    let id = failing_finding(&t, &session, "acme").await;
    for body in [
        json!({ "reason": "   ", "expires_at": in_days(3) }),
        json!({ "reason": "x", "expires_at": in_days(-1) }),
        json!({ "reason": "x", "expires_at": in_days(400) }),
        json!({ "reason": "x".repeat(1001), "expires_at": in_days(3) }),
        json!({ "reason": "x" }),
    ] {
        let resp = exempt(&t, "acme", &id, &session, &csrf, body.clone()).await;
        assert_eq!(resp.status(), 400, "{body}");
    }
}

/// The settings and audit pages follow the permission matrix: a viewer sees members but no
/// token or support sections and no audit log (403); an auditor reads the audit log.
#[tokio::test]
async fn v4_1_3_settings_and_audit_pages_follow_the_matrix() {
    let t = common::spawn().await;
    let (_, viewer, _) = t.member("viewer@example.com", "acme", Role::Viewer).await;
    let (_, auditor, _) = t.member("auditor@example.com", "acme", Role::Auditor).await;
    let page = t.get("/w/acme/settings", Some(&viewer)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"members\""));
    assert!(!html.contains("id=\"tokens\"") && !html.contains("id=\"support\""));
    assert_eq!(t.get("/w/acme/audit", Some(&viewer)).await.status(), 403);
    let audit = t
        .get(
            "/w/acme/audit?action=auth.login&from=2000-01-01",
            Some(&auditor),
        )
        .await;
    assert_eq!(audit.status(), 200);
    assert_eq!(
        t.get("/w/acme/audit?from=yesterday", Some(&auditor))
            .await
            .status(),
        400
    );
    assert_eq!(
        t.get("/w/other/settings", Some(&viewer)).await.status(),
        404
    );
}

/// V5.3.3: control text is rendered from Markdown with its HTML escaped (the unit test in
/// `ui/catalogue.rs` feeds it a `<script>`); the catalogue pages render for a member.
#[tokio::test]
async fn controls_catalogue_pages() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let list = t.get("/w/acme/controls?q=s3", Some(&session)).await;
    assert_eq!(list.status(), 200);
    let html = list.text().await.unwrap();
    let id = t
        .catalog
        .controls()
        .find(|c| c.id.contains("s3"))
        .unwrap()
        .id
        .clone();
    assert!(html.contains(&id));
    let one = t
        .get(&format!("/w/acme/controls/{id}"), Some(&session))
        .await;
    assert_eq!(one.status(), 200);
    let html = one.text().await.unwrap();
    assert!(html.contains("id=\"remediation\""));
    assert_eq!(
        t.get("/w/acme/controls/no-such-control", Some(&session))
            .await
            .status(),
        404
    );
}

/// The settings forms go through the same checks as the API (ASVS 4.1.1): an owner invites and
/// revokes, creates a token whose secret is shown once, changes a role; an analyst's post is
/// refused; each change is in the audit log (ASVS 7.1.x).
#[tokio::test]
async fn v4_1_1_settings_forms_change_state_through_the_api_checks() {
    let t = common::spawn().await;
    let (_, owner, csrf) = t.member("owner@example.com", "acme", Role::Owner).await;
    let post = |path: &str, session: &str, fields: Vec<(&str, &str)>| {
        t.client
            .post(t.url(path))
            .header("cookie", format!("__Host-rampart_session={session}"))
            .form(&fields)
            .send()
    };
    let resp = post(
        "/w/acme/settings/invitations",
        &owner,
        vec![
            ("csrf_token", &csrf),
            ("email", "new@example.com"),
            ("role", "viewer"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"shown-secret\"") && html.contains("new@example.com"));
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let inv = t.store.list_invitations(&scope).await.unwrap()[0]
        .id
        .clone();
    let resp = post(
        &format!("/w/acme/settings/invitations/{inv}/revoke"),
        &owner,
        vec![("csrf_token", &csrf)],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(
        t.store.list_invitations(&scope).await.unwrap()[0]
            .revoked_at
            .is_some()
    );

    let soon = (chrono::Utc::now() + chrono::TimeDelta::days(5))
        .format("%Y-%m-%d")
        .to_string();
    let resp = post(
        "/w/acme/settings/tokens",
        &owner,
        vec![
            ("csrf_token", &csrf),
            ("name", "ci"),
            ("role", "viewer"),
            ("expires", &soon),
        ],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("rpt_"), "the secret is shown once");
    // And only once: the settings page afterwards does not have it.
    let again = t
        .get("/w/acme/settings", Some(&owner))
        .await
        .text()
        .await
        .unwrap();
    assert!(!again.contains("rpt_"));

    let alice = t.store.user_by_email(ALICE).await.unwrap().unwrap();
    let resp = post(
        &format!("/w/acme/settings/members/{}/role", alice.id),
        &owner,
        vec![("csrf_token", &csrf), ("role", "viewer")],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 303);
    let members = t.store.list_members(&scope).await.unwrap();
    assert_eq!(
        members.iter().find(|m| m.user_id == alice.id).unwrap().role,
        Role::Viewer
    );

    // A viewer (alice now) cannot post the same forms.
    let alice_session = t.login(ALICE, ALICE_PASSWORD).await;
    let alice_csrf = t.csrf_of(&alice_session).await;
    let resp = post(
        "/w/acme/settings/invitations",
        &alice_session,
        vec![
            ("csrf_token", &alice_csrf),
            ("email", "x@example.com"),
            ("role", "viewer"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 403);
    // Support access lasts 1 to 72 hours.
    let resp = post(
        "/w/acme/settings/support/sg_none/grant",
        &owner,
        vec![("csrf_token", &csrf), ("reason", "x"), ("hours", "100")],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 400);

    let log = t
        .store
        .scoped(&scope)
        .audit_log(&AuditFilter::default(), Page::new(100, 0))
        .await
        .unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.event.action.as_str()).collect();
    for a in [
        "member.invite",
        "invitation.revoke",
        "token.create",
        "member.role_change",
    ] {
        assert!(actions.contains(&a), "{a} not audited: {actions:?}");
    }
}

async fn failing_ids(t: &TestServer, session: &str, n: usize) -> Vec<String> {
    let list = t
        .get_json(
            &format!("/api/v1/workspaces/acme/findings?status=fail&limit={n}"),
            session,
        )
        .await;
    let ids: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), n, "the test inventory has {n} failing findings");
    ids
}

/// Bulk exemption over the API (issue 8: bulk actions): several findings with one reason and
/// expiry, all or none (an unknown id leaves every finding open), each audited.
#[tokio::test]
async fn several_findings_are_exempted_at_once_or_none_is() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_of(&session).await;
    let ids = failing_ids(&t, &session, 2).await;
    let bulk = |body: serde_json::Value| {
        t.with_session(
            t.client
                .post(t.url("/api/v1/workspaces/acme/findings/exemptions")),
            &session,
            &csrf,
        )
        .json(&body)
        .send()
    };

    // One unknown id: 404 and nothing written.
    let resp = bulk(json!({
        "finding_ids": [ids[0], "fnd_00000000000000000000000000000000"],
        "reason": "accepted until the migration",
        "expires_at": in_days(30),
    }))
    .await
    .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        t.get_json("/api/v1/workspaces/acme/summary", &session)
            .await["exempted"],
        0
    );
    // Invalid input: no ids, a past expiry.
    for body in [
        json!({ "finding_ids": [], "reason": "x", "expires_at": in_days(30) }),
        json!({ "finding_ids": [ids[0]], "reason": "x", "expires_at": in_days(-1) }),
    ] {
        assert_eq!(bulk(body).await.unwrap().status(), 400);
    }

    let resp = bulk(json!({
        "finding_ids": [ids[0], ids[1], ids[0]],
        "reason": "accepted until the migration",
        "expires_at": in_days(30),
    }))
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Vec<serde_json::Value> = resp.json().await.unwrap();
    assert_eq!(body.len(), 2, "a repeated id counts once");
    assert_eq!(
        t.get_json("/api/v1/workspaces/acme/summary", &session)
            .await["exempted"],
        2
    );
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let log = t
        .store
        .scoped(&scope)
        .audit_log(
            &AuditFilter {
                action: Some("finding.exempt".into()),
                ..AuditFilter::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(log.total, 2, "one audit entry per finding");

    // A viewer may not.
    let (_, viewer, viewer_csrf) = t.member("val@example.com", "acme", Role::Viewer).await;
    let resp = t
        .with_session(
            t.client
                .post(t.url("/api/v1/workspaces/acme/findings/exemptions")),
            &viewer,
            &viewer_csrf,
        )
        .json(&json!({ "finding_ids": [ids[0]], "reason": "x", "expires_at": in_days(3) }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

/// The findings page's bulk form: checkboxes on failing rows, one reason and expiry, back to
/// the same page; CSRF-protected; never redirects elsewhere.
#[tokio::test]
async fn the_findings_page_exempts_the_checked_findings() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let html = t
        .get("/w/acme/findings?status=fail", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"bulk-exempt\""), "{html}");
    let csrf = common::form_token(&html);
    let ids = failing_ids(&t, &session, 2).await;
    for id in &ids {
        assert!(
            html.contains(&format!("name=\"finding\" value=\"{id}\"")),
            "{html}"
        );
    }
    let post = |form: Vec<(&'static str, String)>| {
        t.client
            .post(t.url("/w/acme/findings/exemptions"))
            .header(
                reqwest::header::COOKIE,
                format!("__Host-rampart_session={session}"),
            )
            .form(&form)
            .send()
    };
    let expires = (chrono::Utc::now() + chrono::TimeDelta::days(20))
        .format("%Y-%m-%d")
        .to_string();
    // Without the token: refused.
    let resp = post(vec![
        ("finding", ids[0].clone()),
        ("reason", "r".into()),
        ("expires", expires.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(resp.status(), 403);
    // A foreign "back" address is not followed.
    let resp = post(vec![
        ("csrf_token", csrf.clone()),
        ("back", "https://evil.example.com/".into()),
        ("finding", ids[0].clone()),
        ("finding", ids[1].clone()),
        ("reason", "accepted for the pilot".into()),
        ("expires", expires.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/w/acme/findings");
    assert_eq!(
        t.get_json("/api/v1/workspaces/acme/summary", &session)
            .await["exempted"],
        2
    );
    let html = t
        .get("/w/acme/findings?status=fail", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains(&format!("name=\"finding\" value=\"{}\"", ids[0])),
        "an exempted finding has no checkbox"
    );
    // A viewer has no bulk form.
    let (_, viewer, _) = t.member("vik@example.com", "acme", Role::Viewer).await;
    let html = t
        .get("/w/acme/findings", Some(&viewer))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("id=\"bulk-exempt\""));
}
