//! Built-in AWS controls end to end: for every control whose resource moto 5.1.22 can hold and
//! whose fields the collector reads from it, tests/seed_controls.py seeds one resource that
//! passes and one that fails; the real collector scans moto (through tests/protocol_shim.py, so
//! the collection is complete), the built-in catalogue is evaluated, and the control's status is
//! asserted on both assets.
//!
//! Account- and region-level settings exist once per moto server, so a second server holds the
//! opposite state of those. docs/aws.md ("Controls end to end") lists the controls covered here
//! and why each other AWS control is not.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::{collect, config, seed_with_args, start_moto_with, start_shim};
use rampart_model::FindingStatus;

/// `(control id, passing resource, failing resource)`. A resource is a label printed by
/// tests/seed_controls.py with the native id of the asset: `pass-*` / `fail-*` are seeded in the
/// main server, `main-*` and `second-*` name the account, region and password-policy assets of
/// the main and the second server.
const TABLE: &[(&str, &str, &str)] = &[
    // S3 buckets.
    (
        "aws-s3-bucket-access-logging",
        "pass-s3-logging",
        "fail-s3-logging",
    ),
    (
        "aws-s3-bucket-acl-no-public-grants",
        "pass-s3-acl",
        "fail-s3-acl",
    ),
    (
        "aws-s3-bucket-default-encryption",
        "pass-s3-encryption",
        "fail-s3-encryption",
    ),
    (
        "aws-s3-bucket-deny-insecure-transport",
        "pass-s3-tls",
        "fail-s3-tls",
    ),
    (
        "aws-s3-bucket-policy-not-public",
        "pass-s3-policy",
        "fail-s3-policy",
    ),
    (
        "aws-s3-bucket-public-access-block",
        "pass-s3-pab",
        "fail-s3-pab",
    ),
    (
        "aws-s3-bucket-versioning",
        "pass-s3-versioning",
        "fail-s3-versioning",
    ),
    (
        "aws-toxic-public-bucket-unencrypted",
        "pass-toxic-s3-unencrypted",
        "fail-toxic-s3-unencrypted",
    ),
    // KMS.
    (
        "aws-kms-key-rotation",
        "pass-kms-rotation",
        "fail-kms-rotation",
    ),
    (
        "aws-kms-key-not-pending-deletion",
        "pass-kms-deletion",
        "fail-kms-deletion",
    ),
    // VPC, security groups, network ACLs.
    (
        "aws-vpc-flow-logs-enabled",
        "pass-flow-logs",
        "fail-flow-logs",
    ),
    (
        "aws-vpc-peering-routes-least-access",
        "pass-peering",
        "fail-peering",
    ),
    (
        "aws-ec2-default-sg-restricts-all",
        "pass-default-sg",
        "fail-default-sg",
    ),
    ("aws-ec2-nacl-no-admin-ports", "pass-nacl", "fail-nacl"),
    (
        "aws-ec2-sg-no-admin-ports-ipv4",
        "pass-sg-admin-v4",
        "fail-sg-admin-v4",
    ),
    (
        "aws-ec2-sg-no-admin-ports-ipv6",
        "pass-sg-admin-v6",
        "fail-sg-admin-v6",
    ),
    (
        "aws-ec2-sg-no-public-database-ports",
        "pass-sg-db",
        "fail-sg-db",
    ),
    ("aws-ec2-sg-no-public-ldap", "pass-sg-ldap", "fail-sg-ldap"),
    (
        "aws-toxic-open-admin-ports-on-running-instances",
        "pass-toxic-ssh",
        "fail-toxic-ssh",
    ),
    // EC2 instances, volumes, snapshots, images.
    ("aws-ec2-instance-imdsv2-required", "pass-ec2", "fail-ec2"),
    ("aws-ec2-instance-no-public-ip", "pass-ec2", "fail-ec2"),
    ("aws-ec2-instance-uses-iam-role", "pass-ec2", "fail-ec2"),
    ("aws-ec2-volume-encrypted", "pass-volume", "fail-volume"),
    (
        "aws-ec2-volume-recent-snapshot",
        "pass-volume",
        "fail-volume",
    ),
    (
        "aws-ec2-snapshot-not-public",
        "pass-snapshot",
        "fail-snapshot",
    ),
    ("aws-ec2-image-not-public", "pass-image", "fail-image"),
    (
        "aws-toxic-exposed-instance-admin-ports-imdsv1",
        "pass-toxic-instance",
        "fail-toxic-imdsv1",
    ),
    (
        "aws-toxic-exposed-instance-admin-role",
        "pass-toxic-instance",
        "fail-toxic-admin-role",
    ),
    (
        "aws-toxic-exposed-instance-escalation-role",
        "pass-toxic-instance",
        "fail-toxic-escalation",
    ),
    (
        "aws-toxic-exposed-instance-reads-sensitive-data",
        "pass-toxic-instance",
        "fail-toxic-sensitive",
    ),
    (
        "aws-toxic-exposed-instance-unencrypted-volume",
        "pass-toxic-instance",
        "fail-toxic-volume",
    ),
    // RDS.
    (
        "aws-rds-instance-app-tier-access-only",
        "pass-rds",
        "fail-rds",
    ),
    (
        "aws-rds-instance-auto-minor-upgrade",
        "pass-rds",
        "fail-rds",
    ),
    ("aws-rds-instance-backup-retention", "pass-rds", "fail-rds"),
    (
        "aws-rds-instance-deletion-protection",
        "pass-rds",
        "fail-rds",
    ),
    ("aws-rds-instance-encrypted", "pass-rds", "fail-rds"),
    ("aws-rds-instance-multi-az", "pass-rds", "fail-rds"),
    ("aws-rds-instance-not-public", "pass-rds", "fail-rds"),
    (
        "aws-rds-snapshot-not-public",
        "pass-rds-snapshot",
        "fail-rds-snapshot",
    ),
    (
        "aws-toxic-exposed-database-no-backups",
        "pass-toxic-rds",
        "fail-rds",
    ),
    (
        "aws-toxic-exposed-database-unencrypted",
        "pass-toxic-rds",
        "fail-rds",
    ),
    // IAM.
    (
        "aws-iam-policy-no-full-admin",
        "pass-policy-admin",
        "fail-policy-admin",
    ),
    (
        "aws-iam-inline-policy-no-full-admin",
        "pass-inline-admin",
        "fail-inline-admin",
    ),
    (
        "aws-iam-no-inline-policies",
        "pass-no-inline",
        "fail-no-inline",
    ),
    (
        "aws-iam-role-trust-not-public",
        "pass-role-trust",
        "fail-role-trust",
    ),
    (
        "aws-iam-user-console-mfa",
        "pass-console-mfa",
        "fail-console-mfa",
    ),
    (
        "aws-iam-user-no-direct-policies",
        "pass-direct-policies",
        "fail-direct-policies",
    ),
    (
        "aws-iam-user-no-unused-initial-access-key",
        "pass-initial-key",
        "fail-initial-key",
    ),
    (
        "aws-iam-user-single-active-key",
        "pass-single-key",
        "fail-single-key",
    ),
    (
        "aws-toxic-admin-user-without-mfa",
        "pass-toxic-admin-user",
        "fail-toxic-admin-user",
    ),
    // SNS, SQS, DynamoDB, ECR, EFS, EKS.
    ("aws-sns-topic-encrypted", "pass-sns", "fail-sns"),
    ("aws-sqs-queue-encrypted", "pass-sqs", "fail-sqs"),
    ("aws-dynamodb-table-pitr", "pass-dynamodb", "fail-dynamodb"),
    ("aws-ecr-repository-scan-on-push", "pass-ecr", "fail-ecr"),
    ("aws-efs-file-system-encrypted", "pass-efs", "fail-efs"),
    ("aws-efs-backup-enabled", "pass-efs", "fail-efs"),
    (
        "aws-eks-cluster-endpoint-not-public",
        "pass-eks",
        "fail-eks",
    ),
    // ELBv2.
    ("aws-elbv2-access-logs", "pass-alb", "fail-alb"),
    ("aws-elbv2-alb-https-only", "pass-alb", "fail-alb"),
    (
        "aws-elbv2-no-weak-tls-policy",
        "pass-tls-policy",
        "fail-tls-policy",
    ),
    ("aws-elbv2-nlb-tls", "pass-nlb", "fail-nlb"),
    // Lambda.
    (
        "aws-lambda-function-supported-runtime",
        "pass-lambda",
        "fail-lambda-runtime",
    ),
    (
        "aws-lambda-function-dedicated-role",
        "pass-lambda",
        "fail-lambda-role",
    ),
    (
        "aws-lambda-function-url-auth",
        "pass-lambda",
        "fail-lambda-url",
    ),
    (
        "aws-lambda-function-url-cors-restricted",
        "pass-lambda-cors",
        "fail-lambda-cors",
    ),
    (
        "aws-toxic-public-function-url-admin-role",
        "pass-toxic-lambda",
        "fail-toxic-lambda",
    ),
    // CloudTrail.
    (
        "aws-cloudtrail-bucket-access-logging",
        "pass-trail",
        "fail-trail",
    ),
    ("aws-cloudtrail-kms-encryption", "pass-trail", "fail-trail"),
    (
        "aws-cloudtrail-log-file-validation",
        "pass-trail",
        "fail-trail",
    ),
    (
        "aws-toxic-public-bucket-with-audit-logs",
        "pass-toxic-s3-audit",
        "fail-toxic-s3-audit",
    ),
    // The same pair: the bucket's `cloudTrailTrails` is derived from the trails delivering to it.
    (
        "aws-s3-cloudtrail-bucket-not-public",
        "pass-toxic-s3-audit",
        "fail-toxic-s3-audit",
    ),
    // The account: trails, CIS 4.x alarms, support role, S3 Block Public Access.
    (
        "aws-cloudtrail-multi-region-logging",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudtrail-s3-read-data-events",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudtrail-s3-write-data-events",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-unauthorized-api-calls",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-console-signin-without-mfa",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-root-account-usage",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-iam-policy-changes",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-cloudtrail-config-changes",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-console-auth-failures",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-kms-key-disable-or-deletion",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-s3-bucket-policy-changes",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-aws-config-changes",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-security-group-changes",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-nacl-changes",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-network-gateway-changes",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-route-table-changes",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-vpc-changes",
        "main-account",
        "second-account",
    ),
    (
        "aws-cloudwatch-alarm-organizations-changes",
        "main-account",
        "second-account",
    ),
    ("aws-account-support-role", "main-account", "second-account"),
    (
        "aws-s3-account-public-access-block",
        "second-account",
        "main-account",
    ),
    // The region.
    (
        "aws-config-recorder-enabled",
        "main-region",
        "second-region",
    ),
    ("aws-guardduty-enabled", "main-region", "second-region"),
    (
        "aws-ec2-ebs-encryption-by-default",
        "second-region",
        "main-region",
    ),
    // The password policy.
    (
        "aws-iam-password-policy-complexity",
        "main-password-policy",
        "second-password-policy",
    ),
    (
        "aws-iam-password-policy-expiry",
        "main-password-policy",
        "second-password-policy",
    ),
    (
        "aws-iam-password-policy-min-length",
        "main-password-policy",
        "second-password-policy",
    ),
    (
        "aws-iam-password-policy-reuse",
        "main-password-policy",
        "second-password-policy",
    ),
];

/// Controls on credential age, evaluated on the main server's inventory as if [`LATER`] had passed
/// since the seeding (moto dates every creation now): same shape as [`TABLE`].
const LATER_TABLE: &[(&str, &str, &str)] = &[
    (
        "aws-iam-user-access-key-rotation",
        "pass-key-rotation",
        "fail-key-rotation",
    ),
    (
        "aws-iam-user-unused-credentials",
        "pass-unused-credentials",
        "fail-unused-credentials",
    ),
    (
        "aws-toxic-admin-user-old-access-key",
        "pass-toxic-old-key",
        "fail-toxic-old-key",
    ),
];

/// How far ahead of the seeding [`LATER_TABLE`] is evaluated.
const LATER: chrono::TimeDelta = chrono::TimeDelta::days(100);

/// Evaluations by (control id, native id): status and reason.
type Results = HashMap<(String, String), (FindingStatus, String)>;

/// One moto server seeded by tests/seed_controls.py in `mode`, collected through the protocol
/// shim, and evaluated now and [`LATER`].
struct Scan {
    /// Label → native id, as the seed script printed them.
    labels: BTreeMap<String, String>,
    now: Results,
    later: Results,
}

fn scan(mode: &str) -> Scan {
    // The support role's AWS-managed policy exists once moto loads them.
    let moto = start_moto_with(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let ids = seed_with_args(&moto, "tests/seed_controls.py", &[mode]);
    let shim = start_shim(&moto);
    let mut cfg = config(&moto);
    cfg.endpoint_url = Some(shim.url.clone());
    let c = collect(&cfg);
    assert!(
        c.errors.is_empty(),
        "{mode}: the collection through the shim is complete: {:#?}",
        c.errors
    );
    // The main server's AWS Config delivery channel (into the access-log bucket) is collected
    // with the recorder; the second server has none.
    let region = c
        .inventory
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == "aws.account.region" && a.region == "us-east-1")
        .unwrap();
    let channels = region.config["configDeliveryChannels"].as_array().unwrap();
    if mode == "main" {
        assert_eq!(channels.len(), 1, "{channels:?}");
        assert_eq!(channels[0]["s3BucketName"], "rampart-access-logs");
        assert_eq!(region.config["configRecorders"][0]["recording"], true);
    } else {
        assert!(channels.is_empty(), "{channels:?}");
    }
    let native: HashMap<&str, &str> = c
        .inventory
        .assets
        .iter()
        .map(|a| (a.id.as_str(), a.native_id.as_str()))
        .collect();
    let catalog = rampart_rules::Catalog::builtin().unwrap();
    let evaluate = |at| -> Results {
        catalog
            .evaluate(&c.inventory, at)
            .into_iter()
            .map(|e| {
                let id = native[e.asset_id.as_str()].to_string();
                ((e.control_id, id), (e.status, e.reason))
            })
            .collect()
    };
    let now = chrono::Utc::now();
    Scan {
        labels: ids
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect(),
        now: evaluate(now),
        later: evaluate(now + LATER),
    }
}

/// The AWS controls of the built-in catalogue.
fn aws_controls() -> BTreeSet<String> {
    rampart_rules::Catalog::builtin()
        .unwrap()
        .controls()
        .filter(|c| {
            c.resource_types
                .iter()
                .all(|t| t.as_str().starts_with("aws."))
        })
        .map(|c| c.id.clone())
        .collect()
}

/// The control ids in backquotes in `text`.
fn control_ids(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("aws-") && !s.contains(' '))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_tables_name_builtin_aws_controls_once_and_the_docs_list_every_other_one() {
    let aws = aws_controls();
    let mut covered = BTreeSet::new();
    for (control, pass, fail) in TABLE.iter().chain(LATER_TABLE) {
        assert!(
            covered.insert(control.to_string()),
            "{control} is in the tables twice"
        );
        assert!(
            aws.contains(*control),
            "{control} is no built-in AWS control"
        );
        assert_ne!(pass, fail, "{control}");
    }
    // docs/aws.md, "Controls end to end": the covered controls, then the others with a reason.
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/aws.md")).unwrap();
    let section = docs
        .split("\n## Controls end to end\n")
        .nth(1)
        .expect("docs/aws.md has a section \"Controls end to end\"");
    let section = section.split("\n## ").next().unwrap();
    let (listed_covered, listed_others) = section
        .split_once("\n### Not covered\n")
        .expect("the section has a subsection \"Not covered\"");
    assert_eq!(
        control_ids(listed_covered),
        covered,
        "docs/aws.md lists the covered controls (left) as the tables have them (right)"
    );
    let others: BTreeSet<String> = aws.difference(&covered).cloned().collect();
    assert_eq!(
        control_ids(listed_others),
        others,
        "docs/aws.md explains why each other AWS control is not covered"
    );
}

#[test]
fn each_control_passes_its_passing_resource_and_fails_its_failing_one() {
    let started = std::time::Instant::now();
    let (main, second) = std::thread::scope(|s| {
        let main = s.spawn(|| scan("main"));
        let second = s.spawn(|| scan("second"));
        (main.join().unwrap(), second.join().unwrap())
    });
    let scans = [("main", &main), ("second", &second)];
    let resolve = |label: &str| {
        scans
            .iter()
            .find_map(|(name, s)| s.labels.get(label).map(|id| (*name, *s, id.clone())))
            .unwrap_or_else(|| panic!("tests/seed_controls.py printed no label {label}"))
    };
    let mut mismatches = Vec::new();
    let rows = TABLE
        .iter()
        .map(|r| (r, false))
        .chain(LATER_TABLE.iter().map(|r| (r, true)));
    for ((control, pass, fail), later) in rows {
        for (label, want) in [(pass, FindingStatus::Pass), (fail, FindingStatus::Fail)] {
            let (server, scan, id) = resolve(label);
            let results = if later { &scan.later } else { &scan.now };
            let when = if later { " later" } else { "" };
            match results.get(&(control.to_string(), id.clone())) {
                Some((got, _)) if *got == want => {}
                Some((got, reason)) => mismatches.push(format!(
                    "{control} on {label} ({server}: {id}){when}: {got:?}, want {want:?}: {reason}"
                )),
                None => mismatches.push(format!(
                    "{control} on {label} ({server}: {id}){when}: not evaluated, want {want:?}"
                )),
            }
        }
    }
    // Nothing is seeded that no row asserts on.
    let used: BTreeSet<&str> = TABLE
        .iter()
        .chain(LATER_TABLE)
        .flat_map(|(_, pass, fail)| [*pass, *fail])
        .collect();
    for (server, scan) in scans {
        for label in scan.labels.keys() {
            if !used.contains(label.as_str()) {
                mismatches.push(format!("{label} ({server}) is seeded but no row uses it"));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} problems in {} rows:\n{}",
        mismatches.len(),
        TABLE.len() + LATER_TABLE.len(),
        mismatches.join("\n")
    );
    eprintln!(
        "{} controls checked end to end in {:.1?}",
        TABLE.len() + LATER_TABLE.len(),
        started.elapsed()
    );
}
