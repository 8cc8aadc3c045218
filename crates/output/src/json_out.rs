//! Rampart's own JSON document: workspace, time, summary, and every item except
//! not-applicable ones.

use rampart_model::{FindingStatus, Severity};
use serde::Serialize;

use crate::{OutputError, PRODUCT_NAME, Report, StatusCounts, item_finding_id, sorted_items};

#[derive(Serialize)]
struct Document<'a> {
    workspace: &'a str,
    generated_at: String,
    product: Product<'a>,
    summary: Summary,
    findings: Vec<Finding<'a>>,
}

#[derive(Serialize)]
struct Product<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Summary {
    /// Every evaluated item, not-applicable ones included.
    total: u64,
    by_status: ByStatus,
    /// Failing items per severity of their control.
    fail_by_severity: BySeverity,
}

#[derive(Serialize, Default)]
struct BySeverity {
    critical: u64,
    high: u64,
    medium: u64,
    low: u64,
    info: u64,
}

#[derive(Serialize)]
struct ByStatus {
    pass: u64,
    fail: u64,
    error: u64,
    not_applicable: u64,
}

#[derive(Serialize)]
struct Finding<'a> {
    id: String,
    status: FindingStatus,
    severity: Severity,
    control: ControlRef<'a>,
    asset: AssetRef<'a>,
    reason: &'a str,
}

#[derive(Serialize)]
struct ControlRef<'a> {
    id: &'a str,
    title: &'a str,
}

#[derive(Serialize)]
struct AssetRef<'a> {
    id: &'a str,
    provider: &'static str,
    account: &'a str,
    region: &'a str,
    #[serde(rename = "type")]
    resource_type: &'a str,
    native_id: &'a str,
    name: &'a str,
}

pub(crate) fn write(report: &Report, out: &mut dyn std::io::Write) -> Result<(), OutputError> {
    let counts = StatusCounts::of(&report.items);
    let mut fail_by_severity = BySeverity::default();
    for item in &report.items {
        if item.status == FindingStatus::Fail {
            *match item.control.severity {
                Severity::Critical => &mut fail_by_severity.critical,
                Severity::High => &mut fail_by_severity.high,
                Severity::Medium => &mut fail_by_severity.medium,
                Severity::Low => &mut fail_by_severity.low,
                Severity::Info => &mut fail_by_severity.info,
            } += 1;
        }
    }
    let findings = sorted_items(report)
        .into_iter()
        .filter(|item| item.status != FindingStatus::NotApplicable)
        .map(|item| Finding {
            id: item_finding_id(report, item),
            status: item.status,
            severity: item.control.severity,
            control: ControlRef {
                id: &item.control.id,
                title: &item.control.title,
            },
            asset: AssetRef {
                id: &item.asset.id,
                provider: item.asset.provider.as_str(),
                account: &item.asset.account,
                region: &item.asset.region,
                resource_type: item.asset.resource_type.as_str(),
                native_id: &item.asset.native_id,
                name: &item.asset.name,
            },
            reason: item.reason,
        })
        .collect();
    let document = Document {
        workspace: report.workspace,
        generated_at: report
            .generated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        product: Product {
            name: PRODUCT_NAME,
            version: report.product_version,
        },
        summary: Summary {
            total: counts.total(),
            by_status: ByStatus {
                pass: counts.pass,
                fail: counts.fail,
                error: counts.error,
                not_applicable: counts.not_applicable,
            },
            fail_by_severity,
        },
        findings,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    out.write_all(b"\n")?;
    Ok(())
}
