//! A small, fixed report used by every format test.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use rampart_model::{
    Asset, Control, FindingStatus, Provider, RequirementRef, ResourceType, Severity,
};
use rampart_output::{Format, Report, ReportItem};

pub const WORKSPACE: &str = "acme-prod";
pub const VERSION: &str = "0.1.0";

pub fn generated_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 30, 0)
        .single()
        .expect("valid time")
}

pub fn observed_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0)
        .single()
        .expect("valid time")
}

pub fn first_seen() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 8, 0, 0)
        .single()
        .expect("valid time")
}

pub fn control(id: &str, severity: Severity, resource_type: &str) -> Control {
    Control {
        id: id.to_string(),
        title: format!("Title of {id}"),
        severity,
        resource_types: vec![ResourceType::parse(resource_type).expect("resource type")],
        rationale: format!("Why {id} matters."),
        remediation: format!("Fix {id}:\n\n```sh\naws do-the-thing\n```\n"),
        references: vec![format!("https://docs.example.com/{id}")],
        frameworks: vec![RequirementRef {
            framework: "cis-aws-3.0".into(),
            requirement: "2.1.4".into(),
        }],
        cross_references: BTreeMap::from([(
            "prowler".to_string(),
            vec![format!("check_{}", id.replace('-', "_"))],
        )]),
        applies_if: None,
        condition: "true".into(),
        failure_reason: format!("{id} failed"),
        source: "builtin:test".into(),
    }
}

pub fn asset(provider: Provider, resource_type: &str, native_id: &str, name: &str) -> Asset {
    let resource_type = ResourceType::parse(resource_type).expect("resource type");
    let (account, region) = match provider {
        Provider::Aws => ("123456789012", "eu-west-1"),
        Provider::Gcp => ("acme-project", "europe-west1"),
        Provider::Azure => ("00000000-0000-0000-0000-000000000001", "westeurope"),
    };
    Asset {
        id: Asset::make_id(provider, account, region, &resource_type, native_id),
        provider,
        account: account.into(),
        region: region.into(),
        resource_type,
        native_id: native_id.into(),
        name: name.into(),
        tags: BTreeMap::from([
            ("env".to_string(), "prod".to_string()),
            ("team".to_string(), "payments".to_string()),
        ]),
        config: serde_json::json!({"any": "thing"}),
        first_seen: first_seen(),
        last_seen: observed_at(),
    }
}

/// Controls and assets the report items borrow from.
pub struct Fixture {
    pub controls: Vec<Control>,
    pub assets: Vec<Asset>,
    /// (control index, asset index, status, reason)
    pub outcomes: Vec<(usize, usize, FindingStatus, String)>,
}

pub const C_S3_PUBLIC: usize = 0; // high
pub const C_ROOT_MFA: usize = 1; // critical
pub const C_LOGGING: usize = 2; // medium
pub const C_TAGS: usize = 3; // low
pub const C_GCS: usize = 4; // high, gcp

pub const A_BUCKET: usize = 0;
pub const A_BUCKET2: usize = 1;
pub const A_ROOT: usize = 2;
pub const A_GCS: usize = 3;
pub const A_EVIL: usize = 4;

pub fn fixture() -> Fixture {
    let controls = vec![
        control(
            "aws-s3-bucket-public-access-block",
            Severity::High,
            "aws.s3.bucket",
        ),
        control("aws-iam-root-mfa", Severity::Critical, "aws.iam.root"),
        control("aws-s3-bucket-logging", Severity::Medium, "aws.s3.bucket"),
        control("aws-s3-bucket-tags", Severity::Low, "aws.s3.bucket"),
        control(
            "gcp-storage-bucket-uniform-access",
            Severity::High,
            "gcp.storage.bucket",
        ),
    ];
    let assets = vec![
        asset(
            Provider::Aws,
            "aws.s3.bucket",
            "arn:aws:s3:::acme-logs",
            "acme-logs",
        ),
        asset(
            Provider::Aws,
            "aws.s3.bucket",
            "arn:aws:s3:::acme-site",
            "acme-site",
        ),
        asset(
            Provider::Aws,
            "aws.iam.root",
            "arn:aws:iam::123456789012:root",
            "root",
        ),
        asset(
            Provider::Gcp,
            "gcp.storage.bucket",
            "//storage.googleapis.com/projects/_/buckets/acme-data",
            "acme-data",
        ),
        // A resource whose name is a spreadsheet formula and carries a terminal escape.
        asset(
            Provider::Aws,
            "aws.s3.bucket",
            "arn:aws:s3:::evil",
            "=HYPERLINK(\"http://x\",\"y\")\x1b[2J",
        ),
    ];
    let outcomes = vec![
        (C_S3_PUBLIC, A_BUCKET, FindingStatus::Pass, String::new()),
        (
            C_S3_PUBLIC,
            A_BUCKET2,
            FindingStatus::Fail,
            "The bucket does not block public ACLs.".into(),
        ),
        (
            C_ROOT_MFA,
            A_ROOT,
            FindingStatus::Fail,
            "The root user has no MFA device.".into(),
        ),
        (
            C_LOGGING,
            A_BUCKET,
            FindingStatus::Fail,
            "Server access logging is off.".into(),
        ),
        (
            C_LOGGING,
            A_BUCKET2,
            FindingStatus::Error,
            "no such key: logging".into(),
        ),
        (
            C_TAGS,
            A_EVIL,
            FindingStatus::Fail,
            "-1 tags; @owner missing".into(),
        ),
        (
            C_TAGS,
            A_BUCKET,
            FindingStatus::NotApplicable,
            String::new(),
        ),
        (
            C_GCS,
            A_GCS,
            FindingStatus::Fail,
            "Uniform bucket-level access is off.".into(),
        ),
        (
            C_S3_PUBLIC,
            A_EVIL,
            FindingStatus::Fail,
            "The bucket does not block public ACLs.".into(),
        ),
    ];
    Fixture {
        controls,
        assets,
        outcomes,
    }
}

impl Fixture {
    pub fn report(&self) -> Report<'_> {
        Report {
            workspace: WORKSPACE,
            generated_at: generated_at(),
            product_version: VERSION,
            items: self
                .outcomes
                .iter()
                .map(|(c, a, status, reason)| ReportItem {
                    control: &self.controls[*c],
                    asset: &self.assets[*a],
                    status: *status,
                    reason,
                })
                .collect(),
        }
    }

    /// The same report with its items in reverse order (outputs must not change).
    pub fn reversed_report(&self) -> Report<'_> {
        let mut report = self.report();
        report.items.reverse();
        report
    }
}

pub fn render(format: Format, report: &Report, color: bool) -> String {
    let mut out = Vec::new();
    rampart_output::write(format, report, &mut out, color).expect("render");
    String::from_utf8(out).expect("utf-8")
}

pub fn render_json(format: Format, report: &Report) -> serde_json::Value {
    serde_json::from_str(&render(format, report, false)).expect("valid JSON")
}
