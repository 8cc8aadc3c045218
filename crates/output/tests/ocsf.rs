//! OCSF 1.3.0 Detection Finding records, checked field by field.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rampart_model::finding_id;
use rampart_output::Format;
use serde_json::{Value, json};

fn records() -> Vec<Value> {
    let fixture = fixture();
    match render_json(Format::Ocsf, &fixture.report()) {
        Value::Array(records) => records,
        other => panic!("OCSF output must be a JSON array, got {other}"),
    }
}

fn record_for(records: &[Value], control_id: &str, native_id: &str) -> Value {
    records
        .iter()
        .find(|r| {
            r["finding_info"]["analytic"]["uid"] == control_id
                && r["resources"][0]["uid"] == native_id
        })
        .cloned()
        .unwrap_or_else(|| panic!("no record for {control_id} on {native_id}"))
}

#[test]
fn one_record_per_item_except_not_applicable() {
    let fixture = fixture();
    let applicable = fixture
        .outcomes
        .iter()
        .filter(|o| o.2 != rampart_model::FindingStatus::NotApplicable)
        .count();
    assert_eq!(records().len(), applicable);
}

#[test]
fn failing_record_matches_detection_finding_field_by_field() {
    let fixture = fixture();
    let records = records();
    let r = record_for(
        &records,
        "aws-s3-bucket-public-access-block",
        "arn:aws:s3:::acme-site",
    );
    let control = &fixture.controls[C_S3_PUBLIC];
    let asset = &fixture.assets[A_BUCKET2];

    // Classification.
    assert_eq!(r["class_uid"], 2004);
    assert_eq!(r["class_name"], "Detection Finding");
    assert_eq!(r["category_uid"], 2);
    assert_eq!(r["category_name"], "Findings");
    assert_eq!(r["activity_id"], 1);
    assert_eq!(r["activity_name"], "Create");
    assert_eq!(r["type_uid"], 200401);
    assert_eq!(r["type_name"], "Detection Finding: Create");

    // Severity and status.
    assert_eq!(r["severity_id"], 4);
    assert_eq!(r["severity"], "High");
    assert_eq!(r["status_id"], 1);
    assert_eq!(r["status"], "New");
    assert_eq!(r["status_code"], "FAIL");
    assert_eq!(r["status_detail"], "The bucket does not block public ACLs.");
    assert_eq!(r["message"], "The bucket does not block public ACLs.");
    assert_eq!(r["time"], generated_at().timestamp_millis());

    // Finding info.
    let fi = &r["finding_info"];
    assert_eq!(fi["uid"], finding_id(WORKSPACE, &control.id, &asset.id));
    assert_eq!(fi["title"], control.title.as_str());
    assert_eq!(fi["desc"], control.rationale.as_str());
    assert_eq!(fi["types"], json!(["Software and Configuration Checks"]));
    assert_eq!(
        fi["analytic"],
        json!({"uid": control.id, "name": control.title, "type_id": 1, "type": "Rule"})
    );
    assert_eq!(fi["created_time"], generated_at().timestamp_millis());
    assert_eq!(fi["first_seen_time"], observed_at().timestamp_millis());
    assert_eq!(fi["last_seen_time"], observed_at().timestamp_millis());

    // Resources.
    assert_eq!(
        r["resources"],
        json!([{
            "uid": "arn:aws:s3:::acme-site",
            "name": "acme-site",
            "type": "aws.s3.bucket",
            "region": "eu-west-1",
            "cloud_partition": "aws",
            "labels": ["env:prod", "team:payments"],
            "data": {"asset_id": asset.id},
        }])
    );

    // Cloud profile.
    assert_eq!(
        r["cloud"],
        json!({
            "provider": "AWS",
            "account": {"uid": "123456789012", "type_id": 10, "type": "AWS Account"},
            "region": "eu-west-1",
        })
    );

    // Remediation.
    assert_eq!(r["remediation"]["desc"], control.remediation.as_str());
    assert_eq!(r["remediation"]["references"], json!(control.references));

    // Metadata.
    assert_eq!(
        r["metadata"],
        json!({
            "version": "1.3.0",
            "product": {"name": "Rampart", "vendor_name": "Rampart", "version": VERSION},
            "profiles": ["cloud"],
            "event_code": control.id,
            "tenant_uid": WORKSPACE,
        })
    );

    // Rampart's extras.
    assert_eq!(
        r["unmapped"]["rampart"],
        json!({
            "workspace": WORKSPACE,
            "asset_id": asset.id,
            "control_id": control.id,
            "status": "fail",
            "frameworks": [{"framework": "cis-aws-3.0", "requirement": "2.1.4"}],
            "cross_references": {"prowler": ["check_aws_s3_bucket_public_access_block"]},
        })
    );

    // Nothing else at the top level.
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "activity_id",
            "activity_name",
            "category_name",
            "category_uid",
            "class_name",
            "class_uid",
            "cloud",
            "finding_info",
            "message",
            "metadata",
            "remediation",
            "resources",
            "severity",
            "severity_id",
            "status",
            "status_code",
            "status_detail",
            "status_id",
            "time",
            "type_name",
            "type_uid",
            "unmapped",
        ]
    );
}

#[test]
fn passing_and_error_records_are_distinguished_by_status() {
    let records = records();
    let pass = record_for(
        &records,
        "aws-s3-bucket-public-access-block",
        "arn:aws:s3:::acme-logs",
    );
    assert_eq!(pass["status_id"], 4);
    assert_eq!(pass["status"], "Resolved");
    assert_eq!(pass["status_code"], "PASS");
    assert!(pass.get("status_detail").is_none(), "a pass has no reason");
    assert_eq!(
        pass["message"],
        "Title of aws-s3-bucket-public-access-block"
    );
    assert_eq!(pass["severity_id"], 4, "severity stays the control's");

    let error = record_for(&records, "aws-s3-bucket-logging", "arn:aws:s3:::acme-site");
    assert_eq!(error["status_id"], 99);
    assert_eq!(error["status"], "Error");
    assert_eq!(error["status_code"], "ERROR");
    assert_eq!(error["status_detail"], "no such key: logging");
}

#[test]
fn severities_map_to_ocsf_ids() {
    let records = records();
    let root = record_for(
        &records,
        "aws-iam-root-mfa",
        "arn:aws:iam::123456789012:root",
    );
    assert_eq!(
        (root["severity_id"].clone(), root["severity"].clone()),
        (json!(5), json!("Critical"))
    );
    let logging = record_for(&records, "aws-s3-bucket-logging", "arn:aws:s3:::acme-logs");
    assert_eq!(
        (logging["severity_id"].clone(), logging["severity"].clone()),
        (json!(3), json!("Medium"))
    );
    let tags = record_for(&records, "aws-s3-bucket-tags", "arn:aws:s3:::evil");
    assert_eq!(
        (tags["severity_id"].clone(), tags["severity"].clone()),
        (json!(2), json!("Low"))
    );
}

#[test]
fn gcp_records_name_the_project() {
    let records = records();
    let r = record_for(
        &records,
        "gcp-storage-bucket-uniform-access",
        "//storage.googleapis.com/projects/_/buckets/acme-data",
    );
    assert_eq!(
        r["cloud"],
        json!({
            "provider": "GCP",
            "account": {"uid": "acme-project", "type_id": 99, "type": "GCP Project"},
            "region": "europe-west1",
            "project_uid": "acme-project",
        })
    );
    assert!(r["resources"][0].get("cloud_partition").is_none());
}

#[test]
fn finding_uid_is_stable_across_runs_and_input_order() {
    let fixture = fixture();
    let a = render(Format::Ocsf, &fixture.report(), false);
    let b = render(Format::Ocsf, &fixture.reversed_report(), false);
    assert_eq!(a, b, "same report, same bytes, whatever the item order");

    let uids: Vec<Value> = records()
        .iter()
        .map(|r| r["finding_info"]["uid"].clone())
        .collect();
    let mut unique = uids.clone();
    unique.dedup();
    assert_eq!(uids.len(), unique.len(), "uids are distinct");
}

#[test]
fn records_are_sorted_by_severity_then_control_then_asset() {
    let records = records();
    let key = |r: &Value| {
        (
            -r["severity_id"].as_i64().unwrap(),
            r["finding_info"]["analytic"]["uid"]
                .as_str()
                .unwrap()
                .to_string(),
            r["unmapped"]["rampart"]["asset_id"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    let keys: Vec<_> = records.iter().map(key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(records[0]["severity"], "Critical");
}
