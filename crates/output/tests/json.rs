//! Rampart's JSON document.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rampart_model::finding_id;
use rampart_output::Format;
use serde_json::json;

#[test]
fn document_has_summary_and_findings() {
    let fixture = fixture();
    let doc = render_json(Format::Json, &fixture.report());
    assert_eq!(doc["workspace"], WORKSPACE);
    assert_eq!(doc["generated_at"], "2026-11-02T10:30:00.000Z");
    assert_eq!(
        doc["product"],
        json!({"name": "Rampart", "version": VERSION})
    );
    assert_eq!(
        doc["summary"],
        json!({
            "total": 9,
            "by_status": {"pass": 1, "fail": 6, "error": 1, "not_applicable": 1},
            "fail_by_severity": {"critical": 1, "high": 3, "medium": 1, "low": 1, "info": 0},
        })
    );
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 8, "not-applicable items are left out");
    let root = &findings[0];
    let asset = &fixture.assets[A_ROOT];
    assert_eq!(
        root,
        &json!({
            "id": finding_id(WORKSPACE, "aws-iam-root-mfa", &asset.id),
            "status": "fail",
            "severity": "critical",
            "control": {"id": "aws-iam-root-mfa", "title": "Title of aws-iam-root-mfa"},
            "asset": {
                "id": asset.id,
                "provider": "aws",
                "account": "123456789012",
                "region": "eu-west-1",
                "type": "aws.iam.root",
                "native_id": "arn:aws:iam::123456789012:root",
                "name": "root",
            },
            "reason": "The root user has no MFA device.",
        })
    );
}

#[test]
fn deterministic() {
    let fixture = fixture();
    assert_eq!(
        render(Format::Json, &fixture.report(), false),
        render(Format::Json, &fixture.reversed_report(), false)
    );
}
