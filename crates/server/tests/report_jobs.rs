//! Compliance reports as queued jobs (issue 7.3): queued over the API or from the compliance
//! page, rendered by a worker, kept in the store and downloaded later — by those allowed to
//! export and only in their own workspace (ASVS V4.1.1, V4.1.3, V4.2.1), with a failed job's
//! error shown instead of a file, and cancellation by whoever may queue the job's kind.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, TestServer};
use rampart_server::ReportExecutor;
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{JobKind, NewJob, Role};
use rampart_worker::Worker;
use serde_json::{Value, json};
use sha2::Digest as _;

const FRAMEWORK: &str = "cis-aws-3.0";

fn worker(t: &TestServer) -> Worker {
    Worker::new(t.store.clone(), common::quick_worker_config()).with_executor(
        JobKind::Report,
        Arc::new(ReportExecutor {
            catalog: t.catalog.clone(),
        }),
    )
}

async fn queue(t: &TestServer, session: &str, csrf: &str, query: &str) -> reqwest::Response {
    t.with_session(
        t.client.post(t.url(&format!(
            "/api/v1/workspaces/acme/frameworks/{FRAMEWORK}/reports{query}"
        ))),
        session,
        csrf,
    )
    .send()
    .await
    .unwrap()
}

async fn job_count(t: &TestServer, session: &str) -> u64 {
    t.get_json("/api/v1/workspaces/acme/jobs", session).await["total"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_report_job_is_rendered_by_a_worker_and_downloaded_by_those_who_may_export() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await; // analyst: may export
    let csrf = t.csrf_of(&session).await;

    // Bad input is refused before anything is queued (ASVS V5.1.3).
    let r = queue(&t, &session, &csrf, "?format=docx").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("format"));
    let r = t
        .with_session(
            t.client
                .post(t.url("/api/v1/workspaces/acme/frameworks/no-such-fw/reports")),
            &session,
            &csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(job_count(&t, &session).await, 0);

    // Queue an HTML report: 202 with the job.
    let r = queue(&t, &session, &csrf, "?format=html").await;
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["kind"], "report");
    assert_eq!(job["state"], "queued");
    assert_eq!(
        job["params"],
        json!({"framework": FRAMEWORK, "format": "html"})
    );
    let id = job["id"].as_str().unwrap().to_owned();
    let download = format!("/api/v1/workspaces/acme/jobs/{id}/report");

    // Not rendered yet: 409 naming the job's state.
    let r = t.get(&download, Some(&session)).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("queued"));

    // A viewer may neither queue nor download (no export_data); an auditor may download.
    let (_, viewer, viewer_csrf) = t.member("viewer@example.com", "acme", Role::Viewer).await;
    assert_eq!(queue(&t, &viewer, &viewer_csrf, "").await.status(), 403);

    // A worker renders it.
    let ran = worker(&t).tick().await.unwrap().unwrap();
    assert_eq!(ran.job_id, id);
    let job = t
        .get_json(&format!("/api/v1/workspaces/acme/jobs/{id}"), &session)
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["download"], download.as_str());
    let listed_sha = job["result"]["report"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = t.get(&download, Some(&session)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let disposition = r.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"rampart-acme-cis-aws-3.0-")
            && disposition.ends_with(".html\""),
        "{disposition}"
    );
    let body = r.bytes().await.unwrap();
    assert_eq!(hex::encode(sha2::Sha256::digest(&body)), listed_sha);
    let html = String::from_utf8(body.to_vec()).unwrap();
    assert!(html.contains("CIS Amazon Web Services Foundations Benchmark"));
    assert!(html.contains("acme-logs"), "the failing bucket is listed");

    assert_eq!(t.get(&download, Some(&viewer)).await.status(), 403);
    let (_, auditor, _) = t.member("auditor@example.com", "acme", Role::Auditor).await;
    assert_eq!(t.get(&download, Some(&auditor)).await.status(), 200);

    // A PDF as well; both are listed, newest first.
    let r = queue(&t, &session, &csrf, "").await;
    assert_eq!(r.status(), 202);
    let pdf_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    worker(&t).tick().await.unwrap().unwrap();
    let r = t
        .get(
            &format!("/api/v1/workspaces/acme/jobs/{pdf_id}/report"),
            Some(&session),
        )
        .await;
    assert_eq!(r.status(), 200);
    common::assert_security_headers(&r, "stored pdf report");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
    let list = t
        .get_json(
            &format!("/api/v1/workspaces/acme/reports?framework={FRAMEWORK}"),
            &session,
        )
        .await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [pdf_id.as_str(), id.as_str()], "{list}");
    assert_eq!(list[1]["sha256"], listed_sha.as_str());
    assert_eq!(
        t.get_json("/api/v1/workspaces/acme/reports?framework=soc2", &session)
            .await,
        json!([])
    );

    // Another workspace's member sees nothing of it, under either workspace's path.
    let bob = t.login(BOB, BOB_PASSWORD).await;
    assert_eq!(t.get(&download, Some(&bob)).await.status(), 404);
    let r = t
        .get(
            &format!("/api/v1/workspaces/other/jobs/{id}/report"),
            Some(&bob),
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        t.get_json("/api/v1/workspaces/other/reports", &bob).await,
        json!([])
    );

    // Another kind of job has no report.
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let evaluation = t
        .store
        .enqueue_job(
            &scope,
            NewJob::evaluate(),
            AuditEvent::new("job.enqueue", Outcome::Success).actor(ActorKind::System, "test", ""),
        )
        .await
        .unwrap();
    let r = t
        .get(
            &format!("/api/v1/workspaces/acme/jobs/{}/report", evaluation.id),
            Some(&session),
        )
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_failed_report_job_gives_its_error_instead_of_a_file() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    // Queued behind the API's back with a framework that does not exist, one attempt.
    let mut new = NewJob::report("retired-framework", "pdf");
    new.max_attempts = 1;
    let job = t
        .store
        .enqueue_job(
            &scope,
            new,
            AuditEvent::new("job.enqueue", Outcome::Success).actor(ActorKind::System, "test", ""),
        )
        .await
        .unwrap();
    worker(&t).tick().await.unwrap().unwrap();
    let r = t
        .get(
            &format!("/api/v1/workspaces/acme/jobs/{}/report", job.id),
            Some(&session),
        )
        .await;
    assert_eq!(r.status(), 409);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("failed") && text.contains("unknown framework \\\"retired-framework\\\""),
        "{text}"
    );
}

#[tokio::test]
async fn report_jobs_are_cancelled_by_those_who_may_export_and_scans_only_by_those_who_may_scan() {
    let t = common::spawn().await;
    let (_, auditor, auditor_csrf) = t.member("auditor@example.com", "acme", Role::Auditor).await;
    let r = queue(&t, &auditor, &auditor_csrf, "?format=pdf").await;
    assert_eq!(r.status(), 202, "an auditor may queue a report");
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancel = |id: String| {
        t.with_session(
            t.client
                .post(t.url(&format!("/api/v1/workspaces/acme/jobs/{id}/cancel"))),
            &auditor,
            &auditor_csrf,
        )
        .send()
    };
    let r = cancel(id.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "cancelled");

    // An evaluation needs run_scans, which an auditor does not hold.
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let evaluation = t
        .store
        .enqueue_job(
            &scope,
            NewJob::evaluate(),
            AuditEvent::new("job.enqueue", Outcome::Success).actor(ActorKind::System, "test", ""),
        )
        .await
        .unwrap();
    assert_eq!(cancel(evaluation.id).await.unwrap().status(), 403);
}

#[tokio::test]
async fn the_compliance_page_queues_a_report_and_lists_it_once_rendered() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let page_url = format!("/w/acme/compliance/{FRAMEWORK}");
    let page = t.get(&page_url, Some(&session)).await.text().await.unwrap();
    assert!(page.contains("id=\"queue-report\""), "{page}");
    assert!(page.contains("No stored reports of this framework."));
    assert!(!page.contains("http-equiv=\"refresh\""));
    assert!(common::no_inline_script(&page));
    let token = common::form_token(&page);

    // The form, as a browser posts it (cookie and the form's CSRF token).
    let r = t
        .client
        .post(t.url(&format!("{page_url}/reports")))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .form(&[("csrf_token", token.as_str()), ("format", "pdf")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Without the token it is refused (ASVS V4.2.2).
    let r = t
        .client
        .post(t.url(&format!("{page_url}/reports")))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .form(&[("format", "pdf")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let page = t.get(&page_url, Some(&session)).await.text().await.unwrap();
    assert!(page.contains("id=\"reports-pending\""), "{page}");
    assert!(page.contains("http-equiv=\"refresh\""));

    let ran = worker(&t).tick().await.unwrap().unwrap();
    let page = t.get(&page_url, Some(&session)).await.text().await.unwrap();
    assert!(!page.contains("http-equiv=\"refresh\""));
    let link = format!("/api/v1/workspaces/acme/jobs/{}/report", ran.job_id);
    assert!(page.contains(&link), "{page}");
    let r = t.get(&link, Some(&session)).await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));

    // A viewer sees no form and no stored reports.
    let (_, viewer, _) = t.member("viewer@example.com", "acme", Role::Viewer).await;
    let page = t.get(&page_url, Some(&viewer)).await.text().await.unwrap();
    assert!(!page.contains("queue-report") && !page.contains(&link));
}

/// A report job renders with the workspace's custom controls (the worker adds them to the
/// catalog): a custom control mapped to a CIS requirement appears in the report under its title
/// and id.
#[tokio::test]
async fn a_report_job_includes_the_workspaces_custom_controls() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_of(&session).await;
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let ev =
        || AuditEvent::new("control.create", Outcome::Success).actor(ActorKind::System, "test", "");
    let control = t
        .store
        .create_custom_control(
            &scope,
            &serde_json::from_value(json!({
                "title": "Production buckets need a data owner tag",
                "severity": "high",
                "resource_types": ["aws.s3.bucket"],
                "query": "resource.tags.env == 'prod' && !('owner' in resource.tags)",
                "frameworks": {FRAMEWORK: ["2.1.1"]},
            }))
            .unwrap(),
            ev(),
        )
        .await
        .unwrap();
    t.store
        .enqueue_job(&scope, NewJob::evaluate(), ev())
        .await
        .unwrap();
    let worker = worker(&t).with_executor(
        JobKind::Evaluate,
        Arc::new(rampart_worker::EvaluateExecutor {
            catalog: t.catalog.clone(),
        }),
    );
    worker.tick().await.unwrap().unwrap();

    let r = queue(&t, &session, &csrf, "?format=html").await;
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ran = worker.tick().await.unwrap().unwrap();
    assert_eq!(ran.job_id, id);
    let html = t
        .get(
            &format!("/api/v1/workspaces/acme/jobs/{id}/report"),
            Some(&session),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Production buckets need a data owner tag"),
        "{html}"
    );
    assert!(html.contains(&control.id));
}
