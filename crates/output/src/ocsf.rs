//! OCSF 1.3.0 Detection Finding (class 2004) records.
//!
//! One record per evaluated item except not-applicable ones; the status fields tell a failing
//! resource from a passing one. See `docs/output-formats.md` for the mapping.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_model::{Asset, FindingStatus, Provider, RequirementRef};
use serde::Serialize;

use crate::{OutputError, PRODUCT_NAME, Report, ReportItem, item_finding_id, sorted_items};

/// The OCSF schema version the records follow.
pub const OCSF_VERSION: &str = "1.3.0";

const CATEGORY_UID: u32 = 2;
const CATEGORY_NAME: &str = "Findings";
const CLASS_UID: u32 = 2004;
const CLASS_NAME: &str = "Detection Finding";
const ACTIVITY_CREATE: u32 = 1;
/// ASFF's top-level finding type for configuration checks, which OCSF consumers of cloud
/// findings (Security Hub, Security Lake) already group by.
const FINDING_TYPE: &str = "Software and Configuration Checks";
/// `analytic.type_id` 1 = Rule.
const ANALYTIC_TYPE_RULE: u32 = 1;

#[derive(Serialize)]
struct Record<'a> {
    activity_id: u32,
    activity_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    class_uid: u32,
    class_name: &'static str,
    type_uid: u32,
    type_name: String,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    status_code: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    status_detail: &'a str,
    time: i64,
    message: &'a str,
    finding_info: FindingInfo<'a>,
    resources: Vec<Resource<'a>>,
    cloud: Cloud<'a>,
    remediation: Remediation<'a>,
    metadata: Metadata<'a>,
    unmapped: Unmapped<'a>,
}

#[derive(Serialize)]
struct FindingInfo<'a> {
    uid: String,
    title: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    desc: &'a str,
    types: [&'static str; 1],
    analytic: Analytic<'a>,
    created_time: i64,
    first_seen_time: i64,
    last_seen_time: i64,
}

#[derive(Serialize)]
struct Analytic<'a> {
    uid: &'a str,
    name: &'a str,
    type_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Resource<'a> {
    uid: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    region: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud_partition: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    labels: Vec<String>,
    data: ResourceData<'a>,
}

#[derive(Serialize)]
struct ResourceData<'a> {
    /// Rampart's own asset id, to join back to the inventory.
    asset_id: &'a str,
}

#[derive(Serialize)]
struct Cloud<'a> {
    provider: &'static str,
    account: Account<'a>,
    region: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    project_uid: Option<&'a str>,
}

#[derive(Serialize)]
struct Account<'a> {
    uid: &'a str,
    type_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Remediation<'a> {
    desc: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    references: &'a [String],
}

#[derive(Serialize)]
struct Metadata<'a> {
    version: &'static str,
    product: Product<'a>,
    profiles: [&'static str; 1],
    event_code: &'a str,
    tenant_uid: &'a str,
}

#[derive(Serialize)]
struct Product<'a> {
    name: &'static str,
    vendor_name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Unmapped<'a> {
    rampart: RampartExtra<'a>,
}

#[derive(Serialize)]
struct RampartExtra<'a> {
    workspace: &'a str,
    asset_id: &'a str,
    control_id: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "<[RequirementRef]>::is_empty")]
    frameworks: &'a [RequirementRef],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    cross_references: &'a BTreeMap<String, Vec<String>>,
}

/// `(status_id, status, status_code)` for an item status; `None` for not-applicable items,
/// which are not exported.
///
/// OCSF's finding `status_id` is the workflow state of the finding: a failing resource is a
/// `New` finding; a passing one is `Resolved` (nothing left to do — AWS Security Hub likewise
/// sets a passed control's workflow to RESOLVED); an evaluation error is `Other` with the
/// source-defined caption `Error`. `status_code` carries Rampart's raw outcome.
fn status_fields(status: FindingStatus) -> Option<(u8, &'static str, &'static str)> {
    match status {
        FindingStatus::Fail => Some((1, "New", "FAIL")),
        FindingStatus::Pass => Some((4, "Resolved", "PASS")),
        FindingStatus::Error => Some((99, "Error", "ERROR")),
        FindingStatus::NotApplicable => None,
    }
}

/// OCSF `cloud.provider` caption.
fn provider_caption(provider: Provider) -> &'static str {
    match provider {
        Provider::Aws => "AWS",
        Provider::Gcp => "GCP",
        Provider::Azure => "Azure",
    }
}

/// `(type_id, type)` of the account object for a provider's account-like container.
fn account_type(provider: Provider) -> (u32, &'static str) {
    match provider {
        // 10 = "AWS Account" in the OCSF 1.3 account.type_id enum.
        Provider::Aws => (10, "AWS Account"),
        // GCP projects and Azure subscriptions have no enum value: 99 = Other, caption our own.
        Provider::Gcp => (99, "GCP Project"),
        Provider::Azure => (99, "Azure Subscription"),
    }
}

/// The AWS partition (`aws`, `aws-cn`, `aws-us-gov`, …) named by an ARN.
fn aws_partition(native_id: &str) -> Option<&str> {
    let mut parts = native_id.splitn(3, ':');
    match (parts.next(), parts.next()) {
        (Some("arn"), Some(partition)) if !partition.is_empty() => Some(partition),
        _ => None,
    }
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn labels(asset: &Asset) -> Vec<String> {
    asset
        .tags
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}:{v}")
            }
        })
        .collect()
}

fn record<'a>(
    report: &Report<'a>,
    item: &ReportItem<'a>,
    status: (u8, &'static str, &'static str),
) -> Record<'a> {
    let (status_id, status_caption, status_code) = status;
    let control = item.control;
    let asset = item.asset;
    let time = millis(report.generated_at);
    let observed = millis(asset.last_seen);
    let (account_type_id, account_type_caption) = account_type(asset.provider);
    let message = match item.status {
        FindingStatus::Pass => control.title.as_str(),
        _ => crate::item_message(item),
    };
    Record {
        activity_id: ACTIVITY_CREATE,
        activity_name: "Create",
        category_uid: CATEGORY_UID,
        category_name: CATEGORY_NAME,
        class_uid: CLASS_UID,
        class_name: CLASS_NAME,
        type_uid: CLASS_UID * 100 + ACTIVITY_CREATE,
        type_name: format!("{CLASS_NAME}: Create"),
        severity_id: control.severity.ocsf_id(),
        severity: control.severity.ocsf_caption(),
        status_id,
        status: status_caption,
        status_code,
        status_detail: item.reason,
        time,
        message,
        finding_info: FindingInfo {
            uid: item_finding_id(report, item),
            title: &control.title,
            desc: &control.rationale,
            types: [FINDING_TYPE],
            analytic: Analytic {
                uid: &control.id,
                name: &control.title,
                type_id: ANALYTIC_TYPE_RULE,
                kind: "Rule",
            },
            created_time: time,
            first_seen_time: observed,
            last_seen_time: observed,
        },
        resources: vec![Resource {
            uid: &asset.native_id,
            name: &asset.name,
            kind: asset.resource_type.as_str(),
            region: &asset.region,
            cloud_partition: match asset.provider {
                Provider::Aws => aws_partition(&asset.native_id),
                _ => None,
            },
            labels: labels(asset),
            data: ResourceData {
                asset_id: &asset.id,
            },
        }],
        cloud: Cloud {
            provider: provider_caption(asset.provider),
            account: Account {
                uid: &asset.account,
                type_id: account_type_id,
                kind: account_type_caption,
            },
            region: &asset.region,
            project_uid: match asset.provider {
                Provider::Gcp => Some(&asset.account),
                _ => None,
            },
        },
        remediation: Remediation {
            desc: &control.remediation,
            references: &control.references,
        },
        metadata: Metadata {
            version: OCSF_VERSION,
            product: Product {
                name: PRODUCT_NAME,
                vendor_name: PRODUCT_NAME,
                version: report.product_version,
            },
            profiles: ["cloud"],
            event_code: &control.id,
            tenant_uid: report.workspace,
        },
        unmapped: Unmapped {
            rampart: RampartExtra {
                workspace: report.workspace,
                asset_id: &asset.id,
                control_id: &control.id,
                status: item.status.as_str(),
                frameworks: &control.frameworks,
                cross_references: &control.cross_references,
            },
        },
    }
}

/// One item as an OCSF Detection Finding (compact JSON), for exports written page by page.
/// `None` for a not-applicable item, which OCSF exports leave out. With `suppressed`, the
/// finding's workflow status is `Suppressed` (an active exemption) instead of `New`.
pub fn record_json(
    report: &Report<'_>,
    item: &ReportItem<'_>,
    suppressed: bool,
) -> Option<Result<String, OutputError>> {
    let fields = status_fields(item.status)?;
    let fields = if suppressed && item.status != FindingStatus::Pass {
        (3, "Suppressed", fields.2)
    } else {
        fields
    };
    Some(serde_json::to_string(&record(report, item, fields)).map_err(OutputError::from))
}

pub(crate) fn write(report: &Report, out: &mut dyn std::io::Write) -> Result<(), OutputError> {
    let records: Vec<Record> = sorted_items(report)
        .into_iter()
        .filter_map(|item| status_fields(item.status).map(|s| record(report, item, s)))
        .collect();
    serde_json::to_writer_pretty(&mut *out, &records)?;
    out.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_comes_from_the_arn() {
        assert_eq!(aws_partition("arn:aws:s3:::logs"), Some("aws"));
        assert_eq!(
            aws_partition("arn:aws-us-gov:iam::1:role/x"),
            Some("aws-us-gov")
        );
        assert_eq!(aws_partition("sg-0123"), None);
        assert_eq!(aws_partition("arn::x"), None);
    }
}
