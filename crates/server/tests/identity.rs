//! Identity and access over HTTPS: MFA sign-in, MFA requirements, password change and reset,
//! API tokens, invitations, support grants, audit log, throttling (issue 6; ASVS ids in names).
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeDelta, Utc};
use common::{ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, form_token, set_cookie_value};
use rampart_store::audit::{AuditEvent, Outcome};
use rampart_store::{Role, totp};
use reqwest::header::COOKIE;
use serde_json::{Value, json};

fn code_at(secret: &[u8], offset_steps: i64) -> String {
    totp::totp_at(
        totp::TotpAlgorithm::Sha1,
        secret,
        Utc::now().timestamp() + offset_steps * 30,
        6,
    )
}

/// Enrols TOTP for the signed-in session through the API; answers (secret, recovery codes,
/// the fresh MFA-verified session).
async fn enrol(
    t: &common::TestServer,
    session: &str,
    csrf: &str,
) -> (Vec<u8>, Vec<String>, String) {
    let resp = t
        .with_session(t.client.post(t.url("/api/v1/me/mfa/totp")), session, csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let secret = totp::base32_decode(body["secret"].as_str().unwrap()).unwrap();
    assert!(
        body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Rampart:")
    );
    let resp = t
        .with_session(
            t.client.post(t.url("/api/v1/me/mfa/totp/confirm")),
            session,
            csrf,
        )
        .json(&json!({ "code": code_at(&secret, 0) }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let fresh = set_cookie_value(&resp, "__Host-rampart_session").unwrap();
    let body: Value = resp.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes, fresh)
}

/// Posts the MFA step form for a pending session.
async fn mfa_step(t: &common::TestServer, pending: &str, code: &str) -> reqwest::Response {
    let page = t.get("/login/mfa", Some(pending)).await;
    assert_eq!(page.status(), 200);
    let token = form_token(&page.text().await.unwrap());
    t.client
        .post(t.url("/login/mfa"))
        .header(COOKIE, format!("__Host-rampart_session={pending}"))
        .form(&[("code", code), ("csrf_token", &token)])
        .send()
        .await
        .unwrap()
}

/// V2.8 / V3.2.1: with TOTP enrolled, the password opens only the MFA step; a wrong code and a
/// replayed code are refused; a good code gives a fresh, MFA-verified session; recovery codes
/// work once.
#[tokio::test]
async fn v2_8_totp_sign_in_step_replay_and_recovery_codes() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_any(&session).await;
    let (secret, recovery, verified) = enrol(&t, &session, &csrf).await;
    assert_eq!(recovery.len(), 10);
    let me = t.get_json("/api/v1/me", &verified).await;
    assert_eq!(me["mfa_enabled"], true);
    assert_eq!(me["mfa_verified"], true);
    // The enrolment session was replaced.
    assert_eq!(t.get("/api/v1/me", Some(&session)).await.status(), 401);

    // Password only: pending session, which opens nothing but the MFA step.
    let resp = t.post_login(ALICE, ALICE_PASSWORD).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/login/mfa");
    let pending = set_cookie_value(&resp, "__Host-rampart_session").unwrap();
    assert_eq!(t.get("/api/v1/me", Some(&pending)).await.status(), 401);
    assert_eq!(
        t.get("/api/v1/workspaces/acme/summary", Some(&pending))
            .await
            .status(),
        401
    );
    let page = t.get("/w/acme", Some(&pending)).await;
    assert_eq!(page.headers()["location"], "/login/mfa");

    // Wrong code.
    let wrong = if code_at(&secret, 1) == "123456" {
        "654321"
    } else {
        "123456"
    };
    assert_eq!(mfa_step(&t, &pending, wrong).await.status(), 401);
    // The code used at enrolment (same step) is refused: accepted once.
    let replay = code_at(&secret, 0);
    let r = mfa_step(&t, &pending, &replay).await;
    assert_eq!(r.status(), 401, "a TOTP code must work only once");
    // The next step's code (within ±1 step) works.
    let good = code_at(&secret, 1);
    let r = mfa_step(&t, &pending, &good).await;
    assert_eq!(r.status(), 303);
    let full = set_cookie_value(&r, "__Host-rampart_session").unwrap();
    assert_ne!(full, pending, "a new session id after the second factor");
    assert_eq!(t.get("/api/v1/me", Some(&pending)).await.status(), 401);
    assert_eq!(t.get_json("/api/v1/me", &full).await["mfa_verified"], true);

    // A recovery code instead of TOTP, once.
    let resp = t.post_login(ALICE, ALICE_PASSWORD).await;
    let pending = set_cookie_value(&resp, "__Host-rampart_session").unwrap();
    assert_eq!(mfa_step(&t, &pending, &recovery[3]).await.status(), 303);
    let resp = t.post_login(ALICE, ALICE_PASSWORD).await;
    let pending = set_cookie_value(&resp, "__Host-rampart_session").unwrap();
    assert_eq!(mfa_step(&t, &pending, &recovery[3]).await.status(), 401);

    // Disabling MFA needs a valid code and raises a security alert.
    let csrf = t.csrf_any(&full).await;
    let resp = t
        .with_session(t.client.delete(t.url("/api/v1/me/mfa")), &full, &csrf)
        .json(&json!({ "code": "000000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = t
        .with_session(t.client.delete(t.url("/api/v1/me/mfa")), &full, &csrf)
        .json(&json!({ "code": recovery[5] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(
        t.alerts
            .recent
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.kind == "mfa_disabled")
    );
    let resp = t.post_login(ALICE, ALICE_PASSWORD).await;
    assert_eq!(resp.headers()["location"], "/");
    t.server.shutdown().await.unwrap();
}

/// V4.3.1: owner/admin actions need an MFA-verified session when MFA is enrolled; a workspace
/// can require MFA of every member.
#[tokio::test]
async fn v4_3_1_admin_actions_need_mfa_and_workspaces_can_require_it() {
    let t = common::spawn().await;
    let (owner_id, owner, owner_csrf) = t.member("owner@example.com", "acme", Role::Owner).await;
    // Enrol MFA behind the session's back (store level): the old session is not MFA-verified.
    let secret = t.store.begin_totp(&owner_id, &t.vault).await.unwrap();
    t.store
        .confirm_totp(
            &owner_id,
            &code_at(&secret, 0),
            &t.vault,
            AuditEvent::new("x", Outcome::Success),
        )
        .await
        .unwrap()
        .unwrap();
    let new_token = json!({ "name": "ci", "role": "viewer", "expires_at": (Utc::now() + TimeDelta::days(1)).to_rfc3339() });
    let resp = t
        .with_session(
            t.client.post(t.url("/api/v1/workspaces/acme/tokens")),
            &owner,
            &owner_csrf,
        )
        .json(&new_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "mfa_required"
    );
    // Reading is fine.
    assert_eq!(
        t.get("/api/v1/workspaces/acme/summary", Some(&owner))
            .await
            .status(),
        200
    );
    // After the second factor: allowed.
    let resp = t
        .post_login("owner@example.com", "member violet kettle harbour")
        .await;
    let pending = set_cookie_value(&resp, "__Host-rampart_session").unwrap();
    let r = mfa_step(&t, &pending, &code_at(&secret, 1)).await;
    let verified = set_cookie_value(&r, "__Host-rampart_session").unwrap();
    let csrf = t.csrf_any(&verified).await;
    let resp = t
        .with_session(
            t.client.post(t.url("/api/v1/workspaces/acme/tokens")),
            &verified,
            &csrf,
        )
        .json(&new_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    // Require MFA in the workspace: alice (analyst, no MFA) is shut out until she enrols.
    let alice = t.login(ALICE, ALICE_PASSWORD).await;
    assert_eq!(
        t.get("/api/v1/workspaces/acme/summary", Some(&alice))
            .await
            .status(),
        200
    );
    let resp = t
        .with_session(
            t.client.patch(t.url("/api/v1/workspaces/acme/settings")),
            &verified,
            &csrf,
        )
        .json(&json!({ "require_mfa": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = t.get("/api/v1/workspaces/acme/summary", Some(&alice)).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "mfa_enrollment_required"
    );
    let alice_csrf = t.csrf_any(&alice).await;
    let (_, _, alice_verified) = enrol(&t, &alice, &alice_csrf).await;
    assert_eq!(
        t.get("/api/v1/workspaces/acme/summary", Some(&alice_verified))
            .await
            .status(),
        200
    );
    // The denial was audited.
    let audit = t
        .get_json("/api/v1/workspaces/acme/audit?outcome=denied", &verified)
        .await;
    assert!(audit["total"].as_u64().unwrap() >= 2, "{audit}");
    t.server.shutdown().await.unwrap();
}

/// V3.3.3: changing the password ends every other session; V2.1.7: common passwords refused.
#[tokio::test]
async fn v3_3_3_password_change_revokes_other_sessions() {
    let t = common::spawn().await;
    let s1 = t.login(ALICE, ALICE_PASSWORD).await;
    let s2 = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_any(&s1).await;
    let change = |current: &str, new: &str| {
        t.with_session(t.client.post(t.url("/api/v1/me/password")), &s1, &csrf)
            .json(&json!({ "current_password": current, "new_password": new }))
    };
    let resp = change("wrong password here", "amber lantern orchard")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = change(ALICE_PASSWORD, "Password123!").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("too common"));
    let resp = change(ALICE_PASSWORD, "short").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let resp = change(ALICE_PASSWORD, "amber lantern orchard")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(t.get("/api/v1/me", Some(&s1)).await.status(), 200);
    assert_eq!(t.get("/api/v1/me", Some(&s2)).await.status(), 401);
    assert_eq!(t.post_login(ALICE, ALICE_PASSWORD).await.status(), 401);
    assert_eq!(
        t.post_login(ALICE, "amber lantern orchard").await.status(),
        303
    );
    t.server.shutdown().await.unwrap();
}

/// V2.5: password reset by an expiring single-use code; the same answer for unknown emails.
#[tokio::test]
async fn v2_5_password_reset_is_single_use_and_does_not_reveal_accounts() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    for email in [ALICE, "nobody@example.com"] {
        let resp = t
            .client
            .post(t.url("/api/v1/password-reset"))
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
        assert_eq!(resp.text().await.unwrap(), "");
    }
    let sent = t.mailer.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "only the existing account gets mail");
    assert_eq!(sent[0].to, ALICE);
    let token = sent[0]
        .body
        .lines()
        .find(|l| l.len() == 43 && !l.contains(' '))
        .unwrap()
        .to_string();
    let confirm = |token: &str| {
        t.client
            .post(t.url("/api/v1/password-reset/confirm"))
            .json(&json!({ "token": token, "new_password": "copper meadow lighthouse" }))
    };
    assert_eq!(confirm("not-a-token").send().await.unwrap().status(), 400);
    assert_eq!(confirm(&token).send().await.unwrap().status(), 204);
    assert_eq!(
        confirm(&token).send().await.unwrap().status(),
        400,
        "single use"
    );
    assert_eq!(
        t.get("/api/v1/me", Some(&s)).await.status(),
        401,
        "sessions end"
    );
    assert_eq!(
        t.post_login(ALICE, "copper meadow lighthouse")
            .await
            .status(),
        303
    );
    t.server.shutdown().await.unwrap();
}

/// API tokens: shown once, scoped to one workspace and role, no CSRF (not ambient), revocable.
#[tokio::test]
async fn api_tokens_are_scoped_shown_once_and_revocable() {
    let t = common::spawn().await;
    let bob = t.login(BOB, BOB_PASSWORD).await;
    let csrf = t.csrf_any(&bob).await;
    let resp = t
        .with_session(t.client.post(t.url("/api/v1/workspaces/other/tokens")), &bob, &csrf)
        .json(&json!({ "name": "ci", "role": "viewer", "expires_at": (Utc::now() + TimeDelta::days(30)).to_rfc3339() }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    let id = body["token"]["id"].as_str().unwrap().to_string();
    assert!(
        t.alerts
            .recent
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.kind == "api_token_created")
    );
    let listed = t
        .get("/api/v1/workspaces/other/tokens", Some(&bob))
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&id) && !listed.contains(&secret));

    let bearer = |m: reqwest::Method, path: &str| {
        t.client
            .request(m, t.url(path))
            .header("authorization", format!("Bearer {secret}"))
    };
    let r = bearer(reqwest::Method::GET, "/api/v1/workspaces/other/summary")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = bearer(reqwest::Method::GET, "/api/v1/workspaces")
        .send()
        .await
        .unwrap();
    let ws: Value = r.json().await.unwrap();
    assert_eq!(ws["items"].as_array().unwrap().len(), 1);
    assert_eq!(ws["items"][0]["role"], "viewer");
    // Another workspace: 404. A write beyond the token's role: 403 (no CSRF header needed).
    let r = bearer(reqwest::Method::GET, "/api/v1/workspaces/acme/summary")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = bearer(reqwest::Method::PATCH, "/api/v1/workspaces/other/settings")
        .json(&json!({ "require_mfa": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Person-only routes refuse tokens.
    let r = bearer(reqwest::Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Revoked: 401 at the next use.
    let r = t
        .with_session(
            t.client
                .delete(t.url(&format!("/api/v1/workspaces/other/tokens/{id}"))),
            &bob,
            &csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = bearer(reqwest::Method::GET, "/api/v1/workspaces/other/summary")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = t
        .client
        .get(t.url("/api/v1/workspaces/other/summary"))
        .header("authorization", "Bearer rpt_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    t.server.shutdown().await.unwrap();
}

/// Invitations by single-use links; the invited role is held after accepting.
#[tokio::test]
async fn invitations_grant_the_invited_role_once() {
    let t = common::spawn().await;
    let bob = t.login(BOB, BOB_PASSWORD).await;
    let csrf = t.csrf_any(&bob).await;
    let resp = t
        .with_session(
            t.client.post(t.url("/api/v1/workspaces/other/invitations")),
            &bob,
            &csrf,
        )
        .json(&json!({ "email": ALICE, "role": "auditor" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let token = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(t.mailer.sent.lock().unwrap().len(), 1);
    let alice = t.login(ALICE, ALICE_PASSWORD).await;
    let alice_csrf = t.csrf_any(&alice).await;
    assert_eq!(
        t.get("/api/v1/workspaces/other/summary", Some(&alice))
            .await
            .status(),
        404
    );
    let accept = || {
        t.with_session(
            t.client.post(t.url("/api/v1/invitations/accept")),
            &alice,
            &alice_csrf,
        )
        .json(&json!({ "token": token }))
    };
    let r = accept().send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["slug"], "other");
    assert_eq!(accept().send().await.unwrap().status(), 404, "single use");
    assert_eq!(
        t.get("/api/v1/workspaces/other/summary", Some(&alice))
            .await
            .status(),
        200
    );
    // Auditors read the audit log, and cannot manage members.
    let audit = t.get_json("/api/v1/workspaces/other/audit", &alice).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"invitation.accept") && actions.contains(&"member.invite"),
        "{actions:?}"
    );
    assert_eq!(
        t.get("/api/v1/workspaces/other/invitations", Some(&alice))
            .await
            .status(),
        403
    );
    t.server.shutdown().await.unwrap();
}

/// Support access (issue 6.7): requested by an operator, granted by an owner with a reason and
/// an expiry ≤ 72 h, read-only, one workspace, every request audited with the grant id, refused
/// at the first request after revocation; grant and revoke raise alerts.
#[tokio::test]
async fn support_access_is_granted_read_only_audited_and_revocable() {
    let t = common::spawn().await;
    let op = t
        .store
        .create_user("op@rampart.example", "operator violet kettle")
        .await
        .unwrap();
    t.store
        .set_operator(&op.id, true, AuditEvent::new("x", Outcome::Success))
        .await
        .unwrap();
    let ops = t
        .login("op@rampart.example", "operator violet kettle")
        .await;
    let ops_csrf = t.csrf_any(&ops).await;
    let bob = t.login(BOB, BOB_PASSWORD).await;
    let bob_csrf = t.csrf_any(&bob).await;

    assert_eq!(
        t.get("/api/v1/workspaces/other/summary", Some(&ops))
            .await
            .status(),
        404
    );
    let r = t
        .with_session(
            t.client.post(t.url("/api/v1/support/requests")),
            &ops,
            &ops_csrf,
        )
        .json(&json!({ "workspace": "other", "note": "ticket 7: scan results look stale" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let grant: Value = r.json().await.unwrap();
    let id = grant["id"].as_str().unwrap().to_string();
    assert_eq!(grant["status"], "requested");
    // Non-operators cannot request.
    let r = t
        .with_session(
            t.client.post(t.url("/api/v1/support/requests")),
            &bob,
            &bob_csrf,
        )
        .json(&json!({ "workspace": "acme", "note": "let me in" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        t.get("/api/v1/workspaces/other/summary", Some(&ops))
            .await
            .status(),
        404
    );

    let decide = |path: String, body: Value| {
        t.with_session(t.client.post(t.url(&path)), &bob, &bob_csrf)
            .json(&body)
    };
    let too_long = (Utc::now() + TimeDelta::hours(73)).to_rfc3339();
    let r = decide(
        format!("/api/v1/workspaces/other/support-grants/{id}/grant"),
        json!({ "reason": "ok", "expires_at": too_long }),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let r = decide(
        format!("/api/v1/workspaces/other/support-grants/{id}/grant"),
        json!({ "reason": "ticket 7", "expires_at": (Utc::now() + TimeDelta::hours(2)).to_rfc3339() }),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "active");

    // Read-only access to that workspace only.
    assert_eq!(
        t.get("/api/v1/workspaces/other/summary", Some(&ops))
            .await
            .status(),
        200
    );
    assert_eq!(
        t.get("/api/v1/workspaces/other/assets", Some(&ops))
            .await
            .status(),
        200
    );
    assert_eq!(
        t.get("/api/v1/workspaces/acme/summary", Some(&ops))
            .await
            .status(),
        404
    );
    let r = t
        .with_session(
            t.client.patch(t.url("/api/v1/workspaces/other/settings")),
            &ops,
            &ops_csrf,
        )
        .json(&json!({ "require_mfa": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        t.get("/api/v1/workspaces/other/audit", Some(&ops))
            .await
            .status(),
        403
    );

    // The workspace admin sees every access made under the grant.
    let accesses = t
        .get_json(
            &format!("/api/v1/workspaces/other/support-grants/{id}/accesses"),
            &bob,
        )
        .await;
    let items = accesses["items"].as_array().unwrap();
    let reads: Vec<&Value> = items
        .iter()
        .filter(|e| e["action"] == "support.access")
        .collect();
    assert!(reads.len() >= 2, "{accesses}");
    assert!(
        reads
            .iter()
            .all(|e| e["grant_id"] == id.as_str() && e["actor_kind"] == "operator")
    );
    assert!(
        reads
            .iter()
            .any(|e| e["object_id"] == "/api/v1/workspaces/other/assets")
    );
    assert!(
        items
            .iter()
            .any(|e| e["action"] == "authz.denied" && e["grant_id"] == id.as_str())
    );

    // Revoked: the very next request is refused.
    let r = decide(
        format!("/api/v1/workspaces/other/support-grants/{id}/revoke"),
        json!({}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        t.get("/api/v1/workspaces/other/summary", Some(&ops))
            .await
            .status(),
        404
    );
    let kinds: Vec<&str> = t
        .alerts
        .recent
        .lock()
        .unwrap()
        .iter()
        .map(|a| a.kind)
        .collect();
    assert!(kinds.contains(&"support_grant_created") && kinds.contains(&"support_grant_revoked"));
    let grants = t
        .get_json("/api/v1/workspaces/other/support-grants", &bob)
        .await;
    assert_eq!(grants[0]["status"], "revoked");
    t.server.shutdown().await.unwrap();
}

/// V2.2.1: failed sign-ins are throttled per account; then even the right password is refused.
#[tokio::test]
async fn v2_2_1_failed_sign_ins_are_throttled_per_account() {
    let t = common::spawn().await;
    for _ in 0..rampart_store::MAX_FAILED_LOGINS_PER_ACCOUNT {
        assert_eq!(
            t.post_login(ALICE, "wrong password value").await.status(),
            401
        );
    }
    assert_eq!(t.post_login(ALICE, ALICE_PASSWORD).await.status(), 429);
    // Another account is not affected.
    assert_eq!(t.post_login(BOB, BOB_PASSWORD).await.status(), 303);
    t.server.shutdown().await.unwrap();
}

/// Every authentication decision lands in the installation audit chain, and `verify_audit`
/// finds every chain intact after a busy session.
#[tokio::test]
async fn v7_1_authentication_decisions_are_audited() {
    let t = common::spawn().await;
    t.post_login(ALICE, "wrong password value").await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_any(&s).await;
    t.client
        .post(t.url("/logout"))
        .header(COOKIE, format!("__Host-rampart_session={s}"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let log = t
        .store
        .installation_audit_log(&Default::default(), rampart_store::Page::new(50, 0))
        .await
        .unwrap();
    let seen: Vec<(String, Outcome)> = log
        .items
        .iter()
        .map(|e| (e.event.action.clone(), e.event.outcome))
        .collect();
    for want in [
        ("auth.login".to_string(), Outcome::Failure),
        ("auth.login".to_string(), Outcome::Success),
        ("auth.logout".to_string(), Outcome::Success),
    ] {
        assert!(seen.contains(&want), "{want:?} not in {seen:?}");
    }
    assert!(log.items.iter().all(|e| e.event.address == "127.0.0.1"));
    let reports = t.store.verify_audit().await.unwrap();
    assert!(reports.iter().all(|r| r.first_bad.is_none()), "{reports:?}");
    t.server.shutdown().await.unwrap();
}
