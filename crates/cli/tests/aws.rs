//! `rampart scan aws` end to end against moto_server (installed by scripts/test-deps).
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

mod common;
use common::OnBackend as _;
use common::moto::{Moto, start_moto, start_moto_seeded};

fn scan_aws(moto: &Moto, extra: &[&str]) -> Output {
    scan_aws_as(moto, ("testing", "testing"), extra)
}

fn scan_aws_as(moto: &Moto, (key, secret): (&str, &str), extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["scan", "aws", "--regions", "us-east-1"])
        .args(extra)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_PROFILE")
        .on_backend()
        .output()
        .unwrap()
}

#[test]
fn scan_aws_reports_findings_and_an_incomplete_collection() {
    let moto = start_moto();

    // moto does not emulate every call (Access Analyzer, Security Hub...): the scan goes on,
    // lists the failed calls on stderr, and exits 3 when no control fails at --fail-on.
    let out = scan_aws(&moto, &["--format", "json", "--fail-on", "none"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains("collection incomplete"), "{stderr}");
    assert!(
        stderr.contains("access-analyzer us-east-1 ListAnalyzers"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| {
        f["control"]["id"] == "aws-ec2-instance-imdsv2-required" && f["status"] == "fail"
    }));

    // Failing controls at --fail-on take precedence: exit 1.
    let out = scan_aws(&moto, &["--format", "csv", "--fail-on", "high"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("aws-ec2-sg-no-admin-ports-ipv4"));
}

#[test]
fn scan_aws_with_an_access_denied_listing_reports_it_and_exits_3() {
    // moto enforces IAM policies after 60 requests (used up by the seed script); the auditor may
    // do anything but list volumes and buckets.
    let (moto, ids) = start_moto_seeded(
        &[("INITIAL_NO_AUTH_ACTION_COUNT", "60")],
        "../aws/tests/seed_denied.py",
    );
    let keys = (
        ids["accessKeyId"].as_str().unwrap(),
        ids["secretAccessKey"].as_str().unwrap(),
    );
    let out = scan_aws_as(&moto, keys, &["--format", "json", "--fail-on", "none"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains("collection incomplete"), "{stderr}");
    let line = |prefix: &str| {
        stderr
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in: {stderr}"))
            .to_string()
    };
    assert!(line("ec2 us-east-1 DescribeVolumes:").contains("AccessDenied"));
    assert!(line("s3 global ListBuckets:").contains("AccessDenied"));
    // The rest of the account was scanned and evaluated: the instance is there, with findings.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let instance = ids["instance"].as_str().unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| {
            f["control"]["id"] == "aws-ec2-instance-imdsv2-required"
                && f.to_string().contains(instance)
        }),
        "no finding on {instance}"
    );
    assert!(
        !findings
            .iter()
            .any(|f| f.to_string().contains("arn:aws:s3:::denied-listing-bucket")),
        "a bucket appeared although its listing was denied"
    );
}

#[test]
fn scan_aws_usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["scan", "aws", "--external-id", "x"])
        .on_backend()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--role-arn"));
    // `scan --input` and `scan aws` do not mix.
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["scan", "--input", "x.jsonl", "aws"])
        .on_backend()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
