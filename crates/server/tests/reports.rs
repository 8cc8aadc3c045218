//! Compliance reports and CSV exports over the API (issue 10 point 4, issue 8): the PDF is read
//! back with Poppler (`pdftotext`, `pdftoppm` from Debian's poppler-utils, installed by
//! scripts/test-deps); exemptions appear with their reason; who may export (ASVS 4.1.3) and the
//! HTML report's own strict Content-Security-Policy (ASVS 14.4.3); CSV cells that a spreadsheet
//! would run as formulas are neutralised (ASVS 5.3.x).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{ALICE, ALICE_PASSWORD, TestServer};
use rampart_model::FindingStatus;
use rampart_store::Role;
use serde_json::json;

const FRAMEWORK: &str = "cis-aws-3.0";

fn poppler(tool: &str, var: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("/usr/bin/{tool}")));
    assert!(
        path.exists(),
        "{} not found ({var}): install Debian's poppler-utils (apt-get install -y poppler-utils) \
         or run scripts/test-deps",
        path.display()
    );
    path
}

/// A control of the framework failing on the `acme-logs` bucket, and its finding id.
async fn failing_cis_control(t: &TestServer, session: &str) -> (String, String) {
    let fw = t.catalog.framework(FRAMEWORK).unwrap();
    let mapped: std::collections::BTreeSet<&str> = fw
        .requirements
        .iter()
        .flat_map(|r| r.controls.iter().map(String::as_str))
        .collect();
    let bucket = t
        .inventory
        .assets
        .iter()
        .find(|a| a.name == "acme-logs")
        .unwrap();
    let control = t
        .evaluations
        .iter()
        .find(|e| {
            e.asset_id == bucket.id
                && e.status == FindingStatus::Fail
                && mapped.contains(e.control_id.as_str())
        })
        .expect("acme-logs fails a CIS AWS control")
        .control_id
        .clone();
    let list = t
        .get_json(
            &format!(
                "/api/v1/workspaces/acme/findings?control={control}&asset={}",
                bucket.id
            ),
            session,
        )
        .await;
    let finding = list["items"][0]["id"].as_str().unwrap().to_owned();
    (control, finding)
}

async fn pdf_text(bytes: &[u8]) -> (String, usize) {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&pdf, bytes).unwrap();
    let out = Command::new(poppler("pdftotext", "RAMPART_PDFTOTEXT"))
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let render = Command::new(poppler("pdftoppm", "RAMPART_PDFTOPPM"))
        .args(["-r", "30", "-png"])
        .arg(&pdf)
        .arg(dir.path().join("p"))
        .output()
        .unwrap();
    assert!(
        render.status.success() && render.stderr.is_empty(),
        "pdftoppm: {}",
        String::from_utf8_lossy(&render.stderr)
    );
    let pages = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    (String::from_utf8(out.stdout).unwrap(), pages)
}

#[tokio::test]
async fn the_pdf_report_lists_failing_assets_and_the_exemptions_with_their_reason() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let csrf = t.csrf_of(&session).await;
    let (control, finding) = failing_cis_control(&t, &session).await;

    let url = format!("/api/v1/workspaces/acme/frameworks/{FRAMEWORK}/report?format=pdf");
    let resp = t.get(&url, Some(&session)).await;
    assert_eq!(resp.status(), 200);
    common::assert_security_headers(&resp, "pdf report");
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"rampart-acme-cis-aws-3.0-")
            && disposition.ends_with(".pdf\""),
        "{disposition}"
    );
    let (text, pages) = pdf_text(&resp.bytes().await.unwrap()).await;
    assert!(pages >= 2, "the CIS report has several pages, got {pages}");
    assert!(text.contains("CIS Amazon Web Services Foundations Benchmark 3.0.0"));
    assert!(text.contains("Workspace acme"));
    assert!(text.contains(&control), "{control} is listed");
    assert!(text.contains("acme-logs"), "the failing bucket is listed");
    assert!(
        text.contains("2.1.1") && text.contains("1.4"),
        "requirements listed"
    );
    assert!(text.contains("No active exemption applies"));
    let before: serde_json::Value = t
        .get_json(
            &format!("/api/v1/workspaces/acme/frameworks/{FRAMEWORK}"),
            &session,
        )
        .await;

    // Exempt the finding: the report names the reason and who, and the bucket is no longer failing
    // for that control.
    let resp = t
        .with_session(
            t.client.post(t.url(&format!(
                "/api/v1/workspaces/acme/findings/{finding}/exemption"
            ))),
            &session,
            &csrf,
        )
        .json(&json!({
            "reason": "Log archive kept public-read for the auditors (RISK-77)",
            "expires_at": (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let resp = t.get(&url, Some(&session)).await;
    let (text, _) = pdf_text(&resp.bytes().await.unwrap()).await;
    assert!(
        text.contains("RISK-77"),
        "the exemption's reason is in the report"
    );
    assert!(text.contains(ALICE), "and who recorded it");
    let after: serde_json::Value = t
        .get_json(
            &format!("/api/v1/workspaces/acme/frameworks/{FRAMEWORK}"),
            &session,
        )
        .await;
    assert!(
        after["failing"].as_u64() <= before["failing"].as_u64(),
        "an exemption never adds failures"
    );
}

#[tokio::test]
async fn the_html_report_is_an_attachment_with_a_csp_allowing_only_its_style() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let resp = t
        .get(
            &format!("/api/v1/workspaces/acme/frameworks/{FRAMEWORK}/report?format=html"),
            Some(&session),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"));
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(
        rampart_output::compliance::html_style().as_bytes(),
    ));
    assert!(
        csp.contains(&hash),
        "the policy allows exactly the report's style element"
    );
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".html\"")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("acme-logs") && !html.contains("<script"));
}

#[tokio::test]
async fn bad_formats_unknown_frameworks_and_roles_without_export_are_refused() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let resp = t
        .get(
            &format!("/api/v1/workspaces/acme/frameworks/{FRAMEWORK}/report?format=docx"),
            Some(&session),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("docx") && body.contains("html or pdf"),
        "{body}"
    );
    let resp = t
        .get(
            "/api/v1/workspaces/acme/frameworks/no-such-framework/report",
            Some(&session),
        )
        .await;
    assert_eq!(resp.status(), 404);
    let resp = t
        .get(
            "/api/v1/workspaces/acme/findings/export?format=xlsx",
            Some(&session),
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("xlsx"));

    // A viewer reads but may not export (permission export_data).
    let (_, viewer, _) = t.member("vera@example.com", "acme", Role::Viewer).await;
    for path in [
        format!("/api/v1/workspaces/acme/frameworks/{FRAMEWORK}/report"),
        "/api/v1/workspaces/acme/findings/export".to_owned(),
        "/api/v1/workspaces/acme/assets/export".to_owned(),
    ] {
        let resp = t.get(&path, Some(&viewer)).await;
        assert_eq!(resp.status(), 403, "{path}");
    }
    // An auditor may.
    let (_, auditor, _) = t.member("aude@example.com", "acme", Role::Auditor).await;
    let resp = t
        .get(
            &format!("/api/v1/workspaces/acme/frameworks/{FRAMEWORK}/report"),
            Some(&auditor),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn findings_and_inventory_export_as_csv_every_row_once() {
    let t = common::spawn().await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let resp = t
        .get("/api/v1/workspaces/acme/findings/export", Some(&session))
        .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let rows = parse_csv(&resp.text().await.unwrap());
    assert_eq!(
        rows[0],
        rampart_server::reports::FINDINGS_CSV_HEADER.map(str::to_owned)
    );
    let list = t
        .get_json("/api/v1/workspaces/acme/findings?limit=1", &session)
        .await;
    assert_eq!(rows.len() - 1, list["total"].as_u64().unwrap() as usize);
    let ids: std::collections::BTreeSet<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), rows.len() - 1, "each finding once");
    assert!(
        rows[1..]
            .iter()
            .any(|r| r[6] == "acme-logs" && r[1] == "fail")
    );
    assert!(!rows.iter().flatten().any(|c| c.contains("bravo-secret")));

    let failing = parse_csv(
        &t.get(
            "/api/v1/workspaces/acme/findings/export?status=fail&severity=high",
            Some(&session),
        )
        .await
        .text()
        .await
        .unwrap(),
    );
    assert!(failing.len() > 1);
    assert!(
        failing[1..]
            .iter()
            .all(|r| r[1] == "fail" && r[2] == "high")
    );

    let assets = parse_csv(
        &t.get("/api/v1/workspaces/acme/assets/export", Some(&session))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(
        assets[0],
        rampart_server::reports::ASSETS_CSV_HEADER.map(str::to_owned)
    );
    assert_eq!(assets.len() - 1, t.inventory.assets.len());
    let bucket = assets.iter().find(|r| r[2] == "acme-logs").unwrap();
    assert_eq!(bucket[3], "aws.s3.bucket");
    assert_eq!(bucket[7], "env=prod;team=platform");
}

#[tokio::test]
async fn csv_cells_that_look_like_formulas_are_neutralised() {
    let t = common::spawn().await;
    t.record("acme", "evil", r#"{"rampart_snapshot": 1}
{"kind": "asset", "provider": "aws", "account": "111122223333", "region": "eu-west-1", "type": "aws.s3.bucket", "native_id": "arn:aws:s3:::evil", "name": "=HYPERLINK(\"http://x\")", "config": {}}
"#).await;
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let text = t
        .get("/api/v1/workspaces/acme/assets/export", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    let rows = parse_csv(&text);
    let evil = rows.iter().find(|r| r[1] == "arn:aws:s3:::evil").unwrap();
    assert!(evil[2].starts_with("'="), "{:?}", evil[2]);
}

/// Exports cross page boundaries: every one of 1,234 assets and all their findings, once each.
/// (The first version stopped after the store's largest page, 500 rows.)
#[tokio::test]
async fn exports_cover_workspaces_larger_than_one_page() {
    let t = common::spawn().await;
    let mut text = String::from("{\"rampart_snapshot\": 1}\n");
    for i in 0..1234 {
        text.push_str(&format!(
            "{{\"kind\": \"asset\", \"provider\": \"aws\", \"account\": \"999988887777\", \"region\": \"us-east-1\", \"type\": \"aws.s3.bucket\", \"native_id\": \"arn:aws:s3:::many-{i}\", \"name\": \"many-{i}\", \"config\": {{}}}}\n"
        ));
    }
    t.record("other", "many", &text).await;
    let session = t.login(common::BOB, common::BOB_PASSWORD).await;
    let assets = parse_csv(
        &t.get("/api/v1/workspaces/other/assets/export", Some(&session))
            .await
            .text()
            .await
            .unwrap(),
    );
    let listed = t
        .get_json("/api/v1/workspaces/other/assets?limit=1", &session)
        .await;
    let total_assets = listed["total"].as_u64().unwrap() as usize;
    assert!(total_assets >= 1234, "{total_assets}");
    assert_eq!(assets.len() - 1, total_assets);
    let ids: std::collections::BTreeSet<&str> = assets[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), total_assets, "each asset once");
    let findings = parse_csv(
        &t.get("/api/v1/workspaces/other/findings/export", Some(&session))
            .await
            .text()
            .await
            .unwrap(),
    );
    let listed = t
        .get_json("/api/v1/workspaces/other/findings?limit=1", &session)
        .await;
    let total = listed["total"].as_u64().unwrap() as usize;
    assert!(total > 1000, "{total}");
    assert_eq!(findings.len() - 1, total);
}

/// The findings export as OCSF (issue 8: "export CSV and OCSF"): a JSON array of OCSF 1.3
/// Detection Findings (as `rampart scan --format ocsf`, docs/output-formats.md), one per finding that is not "not applicable", across more than one
/// page, each with the finding's own id; an exempted failure is `Suppressed`.
#[tokio::test]
async fn findings_export_as_ocsf_detection_findings_with_exemptions_suppressed() {
    let t = common::spawn().await;
    let mut text = String::from("{\"rampart_snapshot\": 1}\n");
    for i in 0..700 {
        text.push_str(&format!(
            "{{\"kind\": \"asset\", \"provider\": \"aws\", \"account\": \"999988887777\", \"region\": \"us-east-1\", \"type\": \"aws.s3.bucket\", \"native_id\": \"arn:aws:s3:::ocsf-{i}\", \"name\": \"ocsf-{i}\", \"tags\": {{\"env\": \"prod\"}}, \"config\": {{}}}}\n"
        ));
    }
    t.record("other", "ocsf", &text).await;
    let session = t.login(common::BOB, common::BOB_PASSWORD).await;
    let csrf = t.csrf_any(&session).await;

    // Exempt one failing finding first.
    let failing = t
        .get_json(
            "/api/v1/workspaces/other/findings?status=fail&limit=1",
            &session,
        )
        .await;
    let exempted_id = failing["items"][0]["id"].as_str().unwrap().to_owned();
    let resp = t
        .with_session(
            t.client.post(t.url(&format!(
                "/api/v1/workspaces/other/findings/{exempted_id}/exemption"
            ))),
            &session,
            &csrf,
        )
        .json(&json!({
            "reason": "accepted for the OCSF test",
            "expires_at": (chrono::Utc::now() + chrono::TimeDelta::days(7)).to_rfc3339(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let resp = t
        .get(
            "/api/v1/workspaces/other/findings/export?format=ocsf",
            Some(&session),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.ends_with(".ocsf.json\""), "{disposition}");
    let records: Vec<serde_json::Value> = resp.json().await.unwrap();

    let mut expected = 0;
    for status in ["fail", "pass", "error"] {
        expected += t
            .get_json(
                &format!("/api/v1/workspaces/other/findings?status={status}&limit=1"),
                &session,
            )
            .await["total"]
            .as_u64()
            .unwrap() as usize;
    }
    assert!(expected > 700, "{expected}");
    assert_eq!(records.len(), expected, "one record per applicable finding");
    let uids: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|r| r["finding_info"]["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids.len(), records.len(), "each finding once");
    for r in &records {
        assert_eq!(r["class_uid"], 2004);
        assert_eq!(r["category_uid"], 2);
        assert_eq!(r["metadata"]["version"], "1.3.0");
        assert_eq!(r["cloud"]["provider"], "AWS");
        assert!(!r["resources"][0]["uid"].as_str().unwrap().is_empty());
    }
    let buckets: std::collections::BTreeSet<&str> = records
        .iter()
        .filter_map(|r| r["resources"][0]["uid"].as_str())
        .filter(|u| u.starts_with("arn:aws:s3:::ocsf-"))
        .collect();
    assert_eq!(
        buckets.len(),
        700,
        "every imported bucket has findings in the export"
    );
    let exempted = records
        .iter()
        .find(|r| r["finding_info"]["uid"] == exempted_id.as_str())
        .expect("the exempted finding is exported under its own id");
    assert_eq!(exempted["status"], "Suppressed");
    assert_eq!(exempted["status_id"], 3);
    assert_eq!(exempted["status_code"], "FAIL");
    let other_failure = records
        .iter()
        .find(|r| r["status_code"] == "FAIL" && r["finding_info"]["uid"] != exempted_id.as_str())
        .unwrap();
    assert_eq!(other_failure["status"], "New");
    assert!(
        other_failure["resources"][0]["labels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "env:prod"),
        "{other_failure}"
    );
}
