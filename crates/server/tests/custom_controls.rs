//! "Save as custom control" (issue 8): an inventory query saved from the inventory page as a
//! control with a severity, resource types and a framework mapping; the evaluation a worker runs
//! afterwards fails the assets the query selects; the control counts in its framework
//! requirements, shows in the catalogue as "Custom", and is deleted with its findings. Only
//! members who manage controls create or delete one (ASVS V4.1.1, V4.1.3), every field is
//! checked with an answer naming the problem (ASVS V5.1.3), and another workspace never sees
//! it (ASVS V4.2.1).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD};
use rampart_store::{JobKind, Role};
use rampart_worker::{EvaluateExecutor, Worker};
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{Value, json};

const QUERY: &str = "resource.tags.env == \"prod\"";
const TITLE: &str = "Production data stores are reviewed";
const ID: &str = "custom-production-data-stores-are-reviewed";

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A worker that runs evaluations with the built-in catalog only: the workspace's custom
/// controls must be added by the worker itself.
fn worker(t: &common::TestServer) -> Worker {
    Worker::new(t.store.clone(), common::quick_worker_config()).with_executor(
        JobKind::Evaluate,
        Arc::new(EvaluateExecutor {
            catalog: t.catalog.clone(),
        }),
    )
}

/// Posts the inventory page's "save as custom control" form.
async fn post_form(
    t: &common::TestServer,
    session: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    t.client
        .post(t.url("/w/acme/custom-controls"))
        .header(COOKIE, format!("__Host-rampart_session={session}"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

fn form<'a>(
    csrf: &'a str,
    frameworks: &'a str,
    types: &[&'a str],
    query: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf_token", csrf),
        ("title", TITLE),
        ("severity", "critical"),
        ("query", query),
        ("frameworks", frameworks),
        ("rationale", "Production data needs a named owner."),
    ];
    f.extend(types.iter().map(|t| ("resource_types", *t)));
    f
}

#[tokio::test]
async fn an_inventory_query_saved_as_a_custom_control_fails_its_assets_and_counts_in_frameworks() {
    let t = common::spawn().await;
    let alice = t.login(ALICE, ALICE_PASSWORD).await; // analyst: manages controls, runs scans
    let types = ["aws.s3.bucket", "aws.account.region"];

    // The inventory page offers the form for a valid query, with the type facet's type chosen.
    let page = t
        .get(
            &format!("/w/acme/assets?type=aws.s3.bucket&q={}", enc(QUERY)),
            Some(&alice),
        )
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"save-control\""), "{html}");
    assert!(
        html.contains("<option value=\"aws.s3.bucket\" selected>"),
        "{html}"
    );
    assert!(html.contains("<label for=\"control-title\">"), "{html}");
    assert!(common::no_inline_script(&html));
    let csrf = common::form_token(&html);
    // No form without a valid query.
    let html = t
        .get("/w/acme/assets?q=((", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("id=\"save-control\""));

    // V5.1.3: each bad field is a 400 that names the problem, and nothing is saved.
    for (fields, expected) in [
        (form(&csrf, "", &types, "(("), "invalid query"),
        (
            form(&csrf, "cis-aws-3.0:9.9", &types, QUERY),
            "cis-aws-3.0:9.9",
        ),
        (form(&csrf, "nist:AC-1", &types, QUERY), "no framework"),
        (
            form(&csrf, "soc2", &types, QUERY),
            "is not framework:requirement",
        ),
        (
            form(&csrf, "", &["aws.s3.bukket"], QUERY),
            "unknown resource type",
        ),
        (form(&csrf, "", &[], QUERY), "at least one resource type"),
    ] {
        let resp = post_form(&t, &alice, &fields).await;
        assert_eq!(resp.status(), 400, "{expected}");
        let body = resp.text().await.unwrap();
        assert!(
            body.contains(&expected.replace('"', "&quot;")) || body.contains(expected),
            "{expected}: {body}"
        );
    }

    // V4.2.2: the form needs the session's CSRF token.
    let mut no_token = form(&csrf, "soc2:CC6.1", &types, QUERY);
    no_token.retain(|(k, _)| *k != "csrf_token");
    assert_eq!(post_form(&t, &alice, &no_token).await.status(), 403);

    // V4.1.1: a viewer cannot create one, even with a valid form.
    let (_, viewer, viewer_csrf) = t.member("vero@example.com", "acme", Role::Viewer).await;
    let resp = post_form(
        &t,
        &viewer,
        &form(&viewer_csrf, "soc2:CC6.1", &types, QUERY),
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert!(
        t.get_json("/api/v1/workspaces/acme/custom-controls", &viewer)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Saved: the control's page, and an evaluation queued.
    let resp = post_form(
        &t,
        &alice,
        &form(&csrf, "cis-aws-3.0:2.1.4, soc2:CC6.1", &types, QUERY),
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers().get(LOCATION).unwrap(),
        &format!("/w/acme/controls/{ID}")
    );
    let jobs = t.get_json("/api/v1/workspaces/acme/jobs", &alice).await;
    assert_eq!(jobs["items"][0]["kind"], "evaluate", "{jobs}");
    assert_eq!(jobs["items"][0]["state"], "queued", "{jobs}");
    // The same title again is a conflict.
    let resp = post_form(&t, &alice, &form(&csrf, "", &types, QUERY)).await;
    assert_eq!(resp.status(), 409);

    // The worker evaluates the workspace with its custom control.
    let ran = worker(&t).tick().await.unwrap().unwrap();
    assert_eq!(ran.state, Some(rampart_store::JobState::Succeeded));
    let findings = t
        .get_json(
            &format!("/api/v1/workspaces/acme/findings?control={ID}&status=fail"),
            &alice,
        )
        .await;
    assert_eq!(findings["total"], 1, "{findings}");
    let f = &findings["items"][0];
    assert_eq!(f["asset_name"], "acme-logs");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["control_title"], TITLE);
    // The regions (no env tag: not selected) pass.
    let passing = t
        .get_json(
            &format!("/api/v1/workspaces/acme/findings?control={ID}&status=pass"),
            &alice,
        )
        .await;
    assert_eq!(passing["total"], 2, "{passing}");

    // The framework requirements list it and fail with it.
    let fw = t
        .get_json("/api/v1/workspaces/acme/frameworks/soc2", &alice)
        .await;
    let req = fw["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "CC6.1")
        .unwrap();
    assert!(
        req["controls"].as_array().unwrap().contains(&json!(ID)),
        "{req}"
    );
    assert_eq!(req["status"], "fail", "{req}");
    let html = t
        .get("/w/acme/compliance/cis-aws-3.0", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(TITLE), "{html}");

    // The catalogue marks it "Custom"; its page shows the query and, for Alice, a delete button.
    let html = t
        .get("/w/acme/controls?q=production+data", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("/w/acme/controls/{ID}")), "{html}");
    assert!(html.contains(">Custom</span>"), "{html}");
    let html = t
        .get(&format!("/w/acme/controls/{ID}"), Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"custom-query\""), "{html}");
    assert!(html.contains("id=\"delete-control\""), "{html}");
    let html = t
        .get(&format!("/w/acme/controls/{ID}"), Some(&viewer))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"custom-badge\"") && !html.contains("id=\"delete-control\""),
        "{html}"
    );

    // V4.2.1: another workspace sees none of it.
    let bob = t.login(BOB, BOB_PASSWORD).await;
    assert_eq!(
        t.get(
            &format!("/api/v1/workspaces/other/controls/{ID}"),
            Some(&bob)
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        t.get(&format!("/w/other/controls/{ID}"), Some(&bob))
            .await
            .status(),
        404
    );
    assert_eq!(
        t.get_json("/api/v1/workspaces/other/custom-controls", &bob)
            .await,
        json!([])
    );
    let fw = t
        .get_json("/api/v1/workspaces/other/frameworks/soc2", &bob)
        .await;
    assert!(!fw.to_string().contains(ID), "{fw}");
    assert_eq!(
        t.get("/api/v1/workspaces/acme/custom-controls", Some(&bob))
            .await
            .status(),
        404
    );

    // Deleting it takes its findings along.
    let resp = t
        .client
        .post(t.url(&format!("/w/acme/custom-controls/{ID}/delete")))
        .header(COOKIE, format!("__Host-rampart_session={viewer}"))
        .form(&[("csrf_token", viewer_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "a viewer cannot delete it");
    let resp = t
        .client
        .post(t.url(&format!("/w/acme/custom-controls/{ID}/delete")))
        .header(COOKIE, format!("__Host-rampart_session={alice}"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        t.get(&format!("/w/acme/controls/{ID}"), Some(&alice))
            .await
            .status(),
        404
    );
    let findings = t
        .get_json(
            &format!("/api/v1/workspaces/acme/findings?control={ID}"),
            &alice,
        )
        .await;
    assert_eq!(findings["total"], 0, "{findings}");
    t.server.shutdown().await.unwrap();
}

/// The JSON API: list, create (400 naming the field, 409 on a taken id), delete.
#[tokio::test]
async fn custom_controls_api_checks_fields_and_permissions() {
    let t = common::spawn().await;
    let alice = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_of(&alice).await;
    let post = |body: Value| {
        t.with_session(
            t.client
                .post(t.url("/api/v1/workspaces/acme/custom-controls")),
            &alice,
            &csrf,
        )
        .json(&body)
        .send()
    };
    let valid = json!({
        "title": "Instances are tagged",
        "severity": "low",
        "resource_types": ["aws.ec2.instance"],
        "query": "!has(resource.tags.team)",
        "frameworks": {"soc2": ["CC6.1"]},
    });
    for (field, value, expected) in [
        ("query", json!("resource.tags.team =="), "invalid query"),
        (
            "resource_types",
            json!(["aws.nothing.here"]),
            "aws.nothing.here",
        ),
        ("resource_types", json!([]), "resource_types"),
        (
            "frameworks",
            json!({"soc2": ["CC99.9"]}),
            "framework soc2 has no requirement \"CC99.9\"",
        ),
        ("severity", json!("urgent"), "severity"),
        ("title", json!("%%%"), "title"),
    ] {
        let mut body = valid.clone();
        body[field] = value;
        let resp = post(body).await.unwrap();
        assert_eq!(resp.status(), 400, "{field}");
        let error: Value = resp.json().await.unwrap();
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{field}: {message}");
    }
    let resp = post(valid.clone()).await.unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["id"], "custom-instances-are-tagged");
    assert_eq!(created["severity"], "low");
    assert_eq!(post(valid.clone()).await.unwrap().status(), 409);
    let listed = t
        .get_json("/api/v1/workspaces/acme/custom-controls", &alice)
        .await;
    assert_eq!(listed[0]["id"], "custom-instances-are-tagged");
    // The control is part of the workspace's catalogue at once (no findings before the next
    // evaluation).
    let control = t
        .get_json(
            "/api/v1/workspaces/acme/controls/custom-instances-are-tagged",
            &alice,
        )
        .await;
    assert_eq!(control["source"], "custom");
    assert_eq!(control["frameworks"][0]["requirement"], "CC6.1");

    let (_, viewer, viewer_csrf) = t.member("vero@example.com", "acme", Role::Viewer).await;
    let del = |session: &str, csrf: &str| {
        t.with_session(
            t.client.delete(
                t.url("/api/v1/workspaces/acme/custom-controls/custom-instances-are-tagged"),
            ),
            session,
            csrf,
        )
        .send()
    };
    assert_eq!(del(&viewer, &viewer_csrf).await.unwrap().status(), 403);
    assert_eq!(del(&alice, &csrf).await.unwrap().status(), 204);
    assert_eq!(del(&alice, &csrf).await.unwrap().status(), 404);
    t.server.shutdown().await.unwrap();
}
