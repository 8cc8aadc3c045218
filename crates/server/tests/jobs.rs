//! The job API (issue 7.3): queue a connector scan or a re-evaluation, follow it, cancel it,
//! set a connector's schedule — with the permission matrix (ASVS V4.1.1, V4.2.1), CSRF on
//! cookie-authenticated changes (ASVS V4.2.2) and the audit log (ASVS V7.1.3). And the
//! readiness probe through a PostgreSQL restart: 503 while the database is down, 200 again
//! after, with no restart of Rampart, while a worker in the same process carries on.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD};
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{JobKind, Role};
use rampart_worker::{EvaluateExecutor, Worker, WorkerConfig};
use serde_json::{Value, json};

async fn connector(t: &common::TestServer) -> String {
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    t.store
        .create_connector(
            &scope,
            "prod",
            "aws",
            &json!({"regions": ["eu-west-1"]}),
            b"{}",
            &t.vault,
            AuditEvent::new("connector.create", Outcome::Success).actor(
                ActorKind::System,
                "test",
                "",
            ),
        )
        .await
        .unwrap()
        .id
}

fn worker(t: &common::TestServer) -> Worker {
    Worker::new(t.store.clone(), common::quick_worker_config()).with_executor(
        JobKind::Evaluate,
        Arc::new(EvaluateExecutor {
            catalog: t.catalog.clone(),
        }),
    )
}

#[tokio::test]
async fn jobs_are_queued_followed_cancelled_and_audited_by_those_allowed() {
    let t = common::spawn().await;
    let con = connector(&t).await;
    let session = t.login(ALICE, ALICE_PASSWORD).await; // analyst: may run scans
    let csrf = t.csrf_of(&session).await;

    // Queue a scan of the connector.
    let r = t
        .with_session(
            t.client
                .post(t.url(&format!("/api/v1/workspaces/acme/connectors/{con}/scans"))),
            &session,
            &csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(job["state"], "queued");
    assert_eq!(job["kind"], "scan");
    assert_eq!(job["connector_id"], con.as_str());

    // Without the CSRF header the same request is refused.
    let r = t
        .client
        .post(t.url(&format!("/api/v1/workspaces/acme/connectors/{con}/scans")))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // An unknown connector: 404.
    let r = t
        .with_session(
            t.client
                .post(t.url("/api/v1/workspaces/acme/connectors/con_nope/scans")),
            &session,
            &csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Listed and readable.
    let list = t.get_json("/api/v1/workspaces/acme/jobs", &session).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id.as_str());
    let queued = t
        .get_json("/api/v1/workspaces/acme/jobs?state=queued", &session)
        .await;
    assert_eq!(queued["total"], 1);
    let r = t
        .get(
            "/api/v1/workspaces/acme/jobs?state=sleeping",
            Some(&session),
        )
        .await;
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("state"), "{body}");

    // A viewer reads jobs but may not start or cancel one.
    let (_, viewer, viewer_csrf) = t.member("vera@example.com", "acme", Role::Viewer).await;
    assert_eq!(
        t.get(&format!("/api/v1/workspaces/acme/jobs/{id}"), Some(&viewer))
            .await
            .status(),
        200
    );
    for path in [
        format!("/api/v1/workspaces/acme/connectors/{con}/scans"),
        "/api/v1/workspaces/acme/evaluations".to_owned(),
        format!("/api/v1/workspaces/acme/jobs/{id}/cancel"),
    ] {
        let r = t
            .with_session(t.client.post(t.url(&path)), &viewer, &viewer_csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "viewer POST {path}");
    }
    // Another workspace's owner does not see it at all.
    let bob = t.login(BOB, BOB_PASSWORD).await;
    assert_eq!(
        t.get(&format!("/api/v1/workspaces/acme/jobs/{id}"), Some(&bob))
            .await
            .status(),
        404
    );
    assert_eq!(
        t.get(&format!("/api/v1/workspaces/other/jobs/{id}"), Some(&bob))
            .await
            .status(),
        404
    );

    // Cancel: at once for a queued job; a finished one is a conflict.
    let cancel = t.url(&format!("/api/v1/workspaces/acme/jobs/{id}/cancel"));
    let r = t
        .with_session(t.client.post(&cancel), &session, &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cancelled: Value = r.json().await.unwrap();
    assert_eq!(cancelled["state"], "cancelled");
    let r = t
        .with_session(t.client.post(&cancel), &session, &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);

    // Both changes are in the workspace audit log.
    let (_, owner, _) = t.member("olga@example.com", "acme", Role::Owner).await;
    let audit = t
        .get_json("/api/v1/workspaces/acme/audit", &owner)
        .await
        .to_string();
    assert!(audit.contains("job.enqueue"), "{audit}");
    assert!(audit.contains("job.cancel"), "{audit}");
}

#[tokio::test]
async fn a_queued_evaluation_is_run_by_a_worker_and_its_result_shown() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_of(&session).await;
    let r = t
        .with_session(
            t.client.post(t.url("/api/v1/workspaces/acme/evaluations")),
            &session,
            &csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ran = worker(&t).tick().await.unwrap().unwrap();
    assert_eq!(ran.job_id, id);
    let job = t
        .get_json(&format!("/api/v1/workspaces/acme/jobs/{id}"), &session)
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1);
    let scan = job["result"]["scan"].as_str().unwrap();
    let scans = t.get_json("/api/v1/workspaces/acme/scans", &session).await;
    assert_eq!(scans["items"][0]["id"], scan, "{scans}");
    assert_eq!(scans["total"], 2);
}

#[tokio::test]
async fn schedules_are_checked_and_need_connector_management() {
    let t = common::spawn().await;
    let con = connector(&t).await;
    let path = t.url(&format!(
        "/api/v1/workspaces/acme/connectors/{con}/schedule"
    ));
    let analyst = t.login(ALICE, ALICE_PASSWORD).await;
    let analyst_csrf = t.csrf_of(&analyst).await;
    let r = t
        .with_session(t.client.put(&path), &analyst, &analyst_csrf)
        .json(&json!({"schedule": "0 * * * *"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "analysts do not manage connectors");

    let (_, admin, csrf) = t.member("ada@example.com", "acme", Role::Admin).await;
    let r = t
        .with_session(t.client.put(&path), &admin, &csrf)
        .json(&json!({"schedule": "0 3 * * 8"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("schedule") && body.contains("day of week: 8 is outside 0-7"),
        "{body}"
    );
    let r = t
        .with_session(t.client.put(&path), &admin, &csrf)
        .json(&json!({"schedule": "30 */4 * * mon-fri"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let connectors = t
        .get_json("/api/v1/workspaces/acme/connectors", &admin)
        .await;
    assert_eq!(
        connectors[0]["schedule"], "30 */4 * * mon-fri",
        "{connectors}"
    );
}

#[tokio::test]
async fn readiness_follows_a_postgresql_restart_without_restarting_rampart() {
    let t = common::spawn_on(common::pg::Backend::Postgres).await;
    let pg = t.pg.as_ref().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let w = worker(&t);
    let running = tokio::spawn(async move { w.run(stop_rx).await });
    assert_eq!(t.get("/readyz", None).await.status(), 200);

    pg.stop();
    let r = t.get("/readyz", None).await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "database unavailable");
    // Liveness does not depend on the database.
    assert_eq!(t.get("/healthz", None).await.status(), 200);

    pg.start_again();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if t.get("/readyz", None).await.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "/readyz did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The API and the worker (same process, never restarted) work again.
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_of(&session).await;
    let r = t
        .with_session(
            t.client.post(t.url("/api/v1/workspaces/acme/evaluations")),
            &session,
            &csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = t
            .get_json(&format!("/api/v1/workspaces/acme/jobs/{id}"), &session)
            .await;
        if job["state"] == "succeeded" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker did not recover: {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop_tx.send(true).unwrap();
    running.await.unwrap();
}

/// Two `serve` replicas on one PostgreSQL database behind a load balancer (issue 7.4): they
/// share nothing but the database, so a session opened on one works on the other, a change made
/// through one is seen by the other, and signing out on one ends the session on both.
#[tokio::test]
async fn serve_replicas_share_sessions_and_state_through_the_database_only() {
    let t = common::spawn_on(common::pg::Backend::Postgres).await;
    let pg = t.pg.as_ref().unwrap();
    let second_store = rampart_store::Store::open_url(&pg.app_url()).await.unwrap();
    let b = common::start_server(t.dir.path(), &second_store, &t.catalog).await;
    let b_url = |path: &str| format!("https://127.0.0.1:{}{path}", b.addr.port());

    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_of(&session).await;
    let cookie = format!("__Host-rampart_session={session}");
    let me: Value = t
        .client
        .get(b_url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], ALICE, "{me}");

    // Queued on replica B with the CSRF token replica A issued; listed by replica A.
    let r = t
        .client
        .post(b_url("/api/v1/workspaces/acme/evaluations"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = t
        .get_json(&format!("/api/v1/workspaces/acme/jobs/{id}"), &session)
        .await;
    assert_eq!(job["state"], "queued");

    // Sign out on B: the session is gone on A as well.
    let r = t
        .client
        .post(b_url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(
        t.get("/api/v1/me", Some(&session)).await.status(),
        401,
        "signed out everywhere"
    );
    b.shutdown().await.unwrap();
}

/// The scans page (issue 8): connectors with "scan now", the queue with live refresh while a job
/// waits, cancellation, failed calls per service and region, and the scan history; forms carry
/// the CSRF token (ASVS 4.2.2) and a viewer may look but not start or cancel (ASVS 4.1.3).
#[tokio::test]
async fn the_scans_page_starts_follows_and_cancels_scans() {
    let t = common::spawn().await;
    let connector_id = connector(&t).await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let page = t.get("/w/acme/scans", Some(&session)).await;
    assert_eq!(page.status(), 200);
    common::assert_security_headers(&page, "scans page");
    let html = page.text().await.unwrap();
    assert!(common::no_inline_script(&html));
    assert!(html.contains("prod") && html.contains("Scan now"));
    assert!(html.contains("acme-logs") || html.contains("Scan history"));
    assert!(
        !html.contains("http-equiv=\"refresh\""),
        "nothing is running"
    );

    // Without the CSRF field the form is refused; with it a job is queued.
    let action = format!("/w/acme/connectors/{connector_id}/scan");
    let resp = t
        .client
        .post(t.url(&action))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .form(&[("csrf_token", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let csrf = t.csrf_of(&session).await;
    let resp = t
        .client
        .post(t.url(&action))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .header("origin", t.base.clone())
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success() || resp.status().is_redirection(),
        "{}",
        resp.status()
    );
    let html = t
        .get("/w/acme/scans", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("http-equiv=\"refresh\""),
        "a queued job makes the page live"
    );
    assert!(html.contains("jobstate-queued"));
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let job = t
        .store
        .list_jobs(&scope, None, rampart_store::Page::new(5, 0))
        .await
        .unwrap()
        .items
        .remove(0);
    assert!(html.contains(&format!("/w/acme/jobs/{}/cancel", job.id)));

    // A viewer sees the page but neither button, and a forged post is forbidden.
    let (_, viewer, viewer_csrf) = t
        .member("vic@example.com", "acme", rampart_store::Role::Viewer)
        .await;
    let html = t
        .get("/w/acme/scans", Some(&viewer))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Scan now") && !html.contains(">Cancel<"));
    let resp = t
        .client
        .post(t.url(&format!("/w/acme/jobs/{}/cancel", job.id)))
        .header("cookie", format!("__Host-rampart_session={viewer}"))
        .header("origin", t.base.clone())
        .form(&[("csrf_token", viewer_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // Cancel: the queued job ends at once and the page is no longer live.
    let resp = t
        .client
        .post(t.url(&format!("/w/acme/jobs/{}/cancel", job.id)))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .header("origin", t.base.clone())
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success() || resp.status().is_redirection());
    let html = t
        .get("/w/acme/scans", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("jobstate-cancelled"));
    assert!(!html.contains("http-equiv=\"refresh\""));
}

async fn post_form(
    t: &common::TestServer,
    session: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    t.client
        .post(t.url(path))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .header("origin", t.base.clone())
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// The connectors page (issue 8): onboarding steps with the templates to download, a form per
/// provider whose input is checked and named when wrong (ASVS 5.1.x), credentials sealed and
/// never shown again (ASVS 8.3.x), and only connector managers may add or delete (ASVS 4.1.3).
#[tokio::test]
async fn connectors_are_added_from_the_web_app_with_sealed_credentials() {
    let t = common::spawn().await;
    let (_, admin, csrf) = t.member("adam@example.com", "acme", Role::Admin).await;
    let html = t
        .get("/w/acme/connectors", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(common::no_inline_script(&html));
    for form in ["new-aws", "new-gcp", "new-azure"] {
        assert!(html.contains(&format!("id=\"{form}\"")), "{form}");
    }
    let tf = t.get("/onboarding/gcp/main.tf", None).await;
    assert_eq!(tf.status(), 200);
    assert!(
        tf.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("rampart-gcp-main.tf")
    );
    assert!(tf.text().await.unwrap().contains("roles/cloudasset.viewer"));
    assert_eq!(
        t.get("/onboarding/gcp/../../etc/passwd", None)
            .await
            .status(),
        404
    );
    assert_eq!(t.get("/onboarding/aws/nope.tf", None).await.status(), 404);

    // Bad input is refused with the field named, and nothing is stored.
    let resp = post_form(
        &t,
        &admin,
        "/w/acme/connectors/new/gcp",
        &[
            ("csrf_token", &csrf),
            ("name", "org"),
            ("scope", "acme"),
            ("key_json", "{}"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("invalid scope"));
    let key = r#"{"type": "service_account", "client_email": "s@p.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\nSEALED-CANARY\n-----END PRIVATE KEY-----\n", "token_uri": "https://oauth2.googleapis.com/token"}"#;
    let resp = post_form(
        &t,
        &admin,
        "/w/acme/connectors/new/gcp",
        &[
            ("csrf_token", &csrf),
            ("name", "gcp-org"),
            ("scope", "organizations/123"),
            ("key_json", key),
        ],
    )
    .await;
    assert!(
        resp.status().is_redirection() || resp.status().is_success(),
        "{}",
        resp.status()
    );
    let resp = post_form(
        &t,
        &admin,
        "/w/acme/connectors/new/azure",
        &[
            ("csrf_token", &csrf),
            ("name", "tenant"),
            ("tenant_id", "t"),
            ("client_id", "c"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("client secret"));

    let html = t
        .get("/w/acme/connectors", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("gcp-org") && html.contains("organizations/123"));
    assert!(
        !html.contains("SEALED-CANARY"),
        "credentials are never shown"
    );
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let connectors = t.store.list_connectors(&scope).await.unwrap();
    assert_eq!(connectors.len(), 1);
    let secret = t
        .store
        .connector_secret(&scope, &connectors[0].id, &t.vault)
        .await
        .unwrap();
    assert!(
        String::from_utf8(secret.to_vec())
            .unwrap()
            .contains("SEALED-CANARY")
    );
    assert!(
        !common::db_bytes(t.dir.path(), t.pg.as_ref())
            .windows(13)
            .any(|w| w == b"SEALED-CANARY"),
        "stored only sealed"
    );

    // An analyst sees the list but no forms, and a forged post is refused.
    let analyst = t.login(ALICE, ALICE_PASSWORD).await;
    let html = t
        .get("/w/acme/connectors", Some(&analyst))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("gcp-org") && !html.contains("id=\"new-gcp\""));
    let analyst_csrf = t.csrf_of(&analyst).await;
    let resp = post_form(
        &t,
        &analyst,
        &format!("/w/acme/connectors/{}/delete", connectors[0].id),
        &[("csrf_token", &analyst_csrf)],
    )
    .await;
    assert_eq!(resp.status(), 403);

    // The admin deletes it.
    let resp = post_form(
        &t,
        &admin,
        &format!("/w/acme/connectors/{}/delete", connectors[0].id),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert!(resp.status().is_redirection() || resp.status().is_success());
    assert!(t.store.list_connectors(&scope).await.unwrap().is_empty());
}

/// A stand-in for the CLI worker's check executor (the real one, against moto, is tested in
/// crates/cli/tests/jobs.rs): answers a fixed identity, or refuses.
struct FixedCheck(Option<&'static str>);

impl rampart_worker::Executor for FixedCheck {
    fn run(
        &self,
        _ctx: rampart_worker::JobContext,
    ) -> futures_util::future::BoxFuture<'static, Result<Value, rampart_worker::JobFailure>> {
        let answer = self.0;
        Box::pin(async move {
            match answer {
                Some(p) => Ok(json!({"connected": true, "identity": {"principal": p}})),
                None => Err(rampart_worker::JobFailure::new(
                    "cannot establish the AWS identity (sts:GetCallerIdentity): InvalidClientTokenId",
                )),
            }
        })
    }
}

/// Issue 8 "Connectors: … test the connection": the connectors page queues a check (those who
/// may run scans), shows it in flight, then the identity or the refusal; viewers get no button.
#[tokio::test]
async fn connection_checks_are_queued_from_the_connectors_page_and_their_outcome_shown() {
    let t = common::spawn().await;
    let con = connector(&t).await;
    let (_, admin, csrf) = t.member("adam@example.com", "acme", Role::Admin).await;
    let page = || async {
        t.get("/w/acme/connectors", Some(&admin))
            .await
            .text()
            .await
            .unwrap()
    };
    let html = page().await;
    assert!(
        html.contains("not checked") && html.contains("Test connection"),
        "{html}"
    );
    let action = format!("/w/acme/connectors/{con}/check");
    let resp = post_form(&t, &admin, &action, &[("csrf_token", &csrf)]).await;
    assert_eq!(resp.status(), 303);
    let html = page().await;
    assert!(html.contains(">checking<"));
    assert!(
        html.contains("http-equiv=\"refresh\""),
        "a check in flight refreshes the page"
    );
    let ok = Worker::new(t.store.clone(), WorkerConfig::default()).with_executor(
        JobKind::Check,
        Arc::new(FixedCheck(Some("arn:aws:iam::111122223333:role/rampart"))),
    );
    assert!(ok.tick().await.unwrap().is_some());
    let html = page().await;
    assert!(
        html.contains(">connected<") && html.contains("arn:aws:iam::111122223333:role/rampart"),
        "{html}"
    );
    assert!(
        !html.contains("http-equiv=\"refresh\""),
        "nothing in flight"
    );

    // A refusal is shown with its reason.
    post_form(&t, &admin, &action, &[("csrf_token", &csrf)]).await;
    let refused = Worker::new(t.store.clone(), WorkerConfig::default())
        .with_executor(JobKind::Check, Arc::new(FixedCheck(None)));
    refused.tick().await.unwrap();
    let html = page().await;
    assert!(
        html.contains(">failed<") && html.contains("InvalidClientTokenId"),
        "{html}"
    );

    // A viewer sees the outcome but no button, and may not queue one.
    let (_, viewer, vcsrf) = t.member("vera@example.com", "acme", Role::Viewer).await;
    let html = t
        .get("/w/acme/connectors", Some(&viewer))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(">failed<") && !html.contains("Test connection"));
    let resp = post_form(&t, &viewer, &action, &[("csrf_token", &vcsrf)]).await;
    assert_eq!(resp.status(), 403);
}
