//! SARIF 2.1.0: one run; one rule per control in the report; one result per failing item;
//! evaluation errors as tool execution notifications.
//!
//! Cloud resources are not files, so results carry logical locations only (the resource's
//! native id / ARN as fully qualified name), never physical ones.

use std::collections::{BTreeMap, BTreeSet};

use rampart_model::{Control, FindingStatus, Severity};
use serde::Serialize;
use serde_json::Value;

use crate::{OutputError, PRODUCT_NAME, Report, ReportItem, item_finding_id, sorted_items};

/// The `$schema` written into every log.
pub const SARIF_SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Key of the stable finding id in each result's `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "rampartFindingId/v1";

/// SARIF `level` for a failing control of this severity.
pub fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning's `security-severity` score (a number in a string) for a severity:
/// GitHub maps > 9.0 to critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low.
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: [Invocation<'a>; 1],
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
struct RunProperties<'a> {
    workspace: &'a str,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'a str,
    semantic_version: &'a str,
    rules: Vec<Rule<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'a str,
    name: String,
    short_description: Text<'a>,
    full_description: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<&'a str>,
    help: Help<'a>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct Help<'a> {
    text: &'a str,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    severity: &'static str,
    tags: BTreeSet<String>,
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    end_time_utc: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification<'a> {
    level: &'static str,
    message: Text<'a>,
    associated_rule: RuleRef<'a>,
    locations: [Location<'a>; 1],
}

#[derive(Serialize)]
struct RuleRef<'a> {
    id: &'a str,
    index: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    kind: &'static str,
    level: &'static str,
    message: Text<'a>,
    locations: [Location<'a>; 1],
    partial_fingerprints: BTreeMap<&'static str, String>,
    properties: BTreeMap<&'static str, Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    logical_locations: [LogicalLocation<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    fully_qualified_name: &'a str,
    kind: &'static str,
}

/// `aws-s3-bucket-public-access-block` → `AwsS3BucketPublicAccessBlock`.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn is_web_uri(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn help_markdown(control: &Control) -> String {
    let mut md = control.remediation.trim_end().to_string();
    if !control.references.is_empty() {
        md.push_str("\n\n**References**\n");
        for reference in &control.references {
            md.push_str("\n- ");
            md.push_str(reference);
        }
    }
    md.push('\n');
    md
}

fn rule(control: &Control) -> Rule<'_> {
    let mut tags: BTreeSet<String> = BTreeSet::new();
    tags.insert("security".to_string());
    tags.insert("cloud".to_string());
    for resource_type in &control.resource_types {
        tags.insert(resource_type.to_string());
    }
    for requirement in &control.frameworks {
        tags.insert(format!(
            "{}/{}",
            requirement.framework, requirement.requirement
        ));
    }
    let full = if control.rationale.trim().is_empty() {
        control.title.as_str()
    } else {
        control.rationale.trim_end()
    };
    Rule {
        id: &control.id,
        name: pascal_case(&control.id),
        short_description: Text {
            text: &control.title,
        },
        full_description: Text { text: full },
        help_uri: control
            .references
            .iter()
            .map(String::as_str)
            .find(|r| is_web_uri(r)),
        help: Help {
            text: control.remediation.trim_end(),
            markdown: help_markdown(control),
        },
        default_configuration: Configuration {
            level: sarif_level(control.severity),
        },
        properties: RuleProperties {
            severity: control.severity.as_str(),
            tags,
            security_severity: security_severity(control.severity),
        },
    }
}

fn location<'a>(item: &ReportItem<'a>) -> Location<'a> {
    Location {
        logical_locations: [LogicalLocation {
            name: &item.asset.name,
            fully_qualified_name: &item.asset.native_id,
            kind: "resource",
        }],
    }
}

pub(crate) fn write(report: &Report, out: &mut dyn std::io::Write) -> Result<(), OutputError> {
    let items = sorted_items(report);

    // One rule per distinct control, ordered by id; results point at them by index.
    let mut controls: BTreeMap<&str, &Control> = BTreeMap::new();
    for item in &items {
        controls
            .entry(item.control.id.as_str())
            .or_insert(item.control);
    }
    let index: BTreeMap<&str, usize> = controls
        .keys()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let rule_index = |id: &str| index.get(id).copied().unwrap_or_default();

    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for item in &items {
        let control = item.control;
        match item.status {
            FindingStatus::Fail => {
                let asset = item.asset;
                let mut properties = BTreeMap::new();
                properties.insert("findingId", Value::from(item_finding_id(report, item)));
                properties.insert("assetId", Value::from(asset.id.as_str()));
                properties.insert("provider", Value::from(asset.provider.as_str()));
                properties.insert("account", Value::from(asset.account.as_str()));
                properties.insert("region", Value::from(asset.region.as_str()));
                properties.insert("resourceType", Value::from(asset.resource_type.as_str()));
                properties.insert("severity", Value::from(control.severity.as_str()));
                let mut fingerprints = BTreeMap::new();
                fingerprints.insert(FINGERPRINT_KEY, item_finding_id(report, item));
                results.push(SarifResult {
                    rule_id: &control.id,
                    rule_index: rule_index(&control.id),
                    kind: "fail",
                    level: sarif_level(control.severity),
                    message: Text {
                        text: crate::item_message(item),
                    },
                    locations: [location(item)],
                    partial_fingerprints: fingerprints,
                    properties,
                });
            }
            FindingStatus::Error => notifications.push(Notification {
                level: "error",
                message: Text {
                    text: crate::item_message(item),
                },
                associated_rule: RuleRef {
                    id: &control.id,
                    index: rule_index(&control.id),
                },
                locations: [location(item)],
            }),
            FindingStatus::Pass | FindingStatus::NotApplicable => {}
        }
    }

    let log = Log {
        schema: SARIF_SCHEMA_URI,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: PRODUCT_NAME,
                    version: report.product_version,
                    semantic_version: report.product_version,
                    rules: controls.values().map(|c| rule(c)).collect(),
                },
            },
            invocations: [Invocation {
                execution_successful: true,
                end_time_utc: report
                    .generated_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                tool_execution_notifications: notifications,
            }],
            results,
            properties: RunProperties {
                workspace: report.workspace,
            },
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(
            pascal_case("aws-s3-bucket-public-access-block"),
            "AwsS3BucketPublicAccessBlock"
        );
        assert_eq!(pascal_case("gcp.sql--x"), "GcpSqlX");
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(sarif_level(Severity::Critical), "error");
        assert_eq!(sarif_level(Severity::High), "error");
        assert_eq!(sarif_level(Severity::Medium), "warning");
        assert_eq!(sarif_level(Severity::Low), "note");
        assert_eq!(sarif_level(Severity::Info), "note");
    }
}
