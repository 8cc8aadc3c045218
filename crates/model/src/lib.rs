//! Rampart's domain model.
//!
//! Plain data types shared by every other crate: assets and relationships (the inventory),
//! controls and frameworks (the content), scans and findings (the results). No I/O lives here.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Cloud provider an asset belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Aws,
    Gcp,
    Azure,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
            Provider::Azure => "azure",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "aws" => Ok(Provider::Aws),
            "gcp" => Ok(Provider::Gcp),
            "azure" => Ok(Provider::Azure),
            other => Err(ModelError::Invalid {
                field: "provider",
                value: other.to_string(),
                expected: "one of aws, gcp, azure",
            }),
        }
    }
}

/// Errors raised when a value does not parse into a model type.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("invalid {field} {value:?}: expected {expected}")]
    Invalid {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// A resource type in Rampart's stable dotted scheme: `provider.service.kind`, lower case,
/// e.g. `aws.s3.bucket`, `aws.ec2.security_group`, `aws.iam.user`; account-wide settings use
/// `provider.kind` (`aws.account`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceType(String);

impl ResourceType {
    /// Parses a dotted resource type: at least three segments of `[a-z0-9_]`, the first a provider.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let invalid = || ModelError::Invalid {
            field: "resource type",
            value: s.to_string(),
            expected: "provider.service.kind in lower case (e.g. aws.s3.bucket, aws.account)",
        };
        let segments: Vec<&str> = s.split('.').collect();
        if segments.len() < 2 {
            return Err(invalid());
        }
        if segments.iter().any(|seg| {
            seg.is_empty()
                || !seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }) {
            return Err(invalid());
        }
        Provider::from_str(segments[0]).map_err(|_| invalid())?;
        Ok(ResourceType(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn provider(&self) -> Provider {
        // parse() guarantees the first segment is a provider.
        match self.0.split('.').next() {
            Some("gcp") => Provider::Gcp,
            Some("azure") => Provider::Azure,
            _ => Provider::Aws,
        }
    }
}

impl TryFrom<String> for ResourceType {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ResourceType::parse(&value)
    }
}

impl From<ResourceType> for String {
    fn from(value: ResourceType) -> Self {
        value.0
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One cloud resource as Rampart sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// Rampart's stable asset id: derived from provider, account, region, type and native id.
    pub id: String,
    pub provider: Provider,
    /// AWS account id, GCP project id, Azure subscription id.
    pub account: String,
    /// Region or location; `global` for global services.
    pub region: String,
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    /// The provider's own identifier (ARN, self link, resource id).
    pub native_id: String,
    pub name: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The full configuration, normalised per resource type (see docs/asset-types.md).
    #[serde(default)]
    pub config: serde_json::Value,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

impl Asset {
    /// Computes the stable asset id for the given identity fields.
    pub fn make_id(
        provider: Provider,
        account: &str,
        region: &str,
        resource_type: &ResourceType,
        native_id: &str,
    ) -> String {
        let digest = hash_parts(&[
            provider.as_str(),
            account,
            region,
            resource_type.as_str(),
            native_id,
        ]);
        format!("ast_{}", &digest[..32])
    }
}

/// A typed, directed edge between two assets (by Rampart asset id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Relationship {
    pub from: String,
    pub to: String,
    /// Edge type in snake case, e.g. `attached_to`, `member_of`, `contains`, `uses`.
    pub kind: String,
}

/// Severity of a control.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// OCSF `severity_id` (1 informational … 5 critical).
    pub fn ocsf_id(self) -> u8 {
        match self {
            Severity::Info => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
        }
    }

    /// OCSF `severity` caption.
    pub fn ocsf_caption(self) -> &'static str {
        match self {
            Severity::Info => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" | "informational" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(ModelError::Invalid {
                field: "severity",
                value: s.to_string(),
                expected: "one of info, low, medium, high, critical",
            }),
        }
    }
}

/// A reference to a framework requirement, e.g. framework `cis-aws-3.0`, requirement `2.1.4`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequirementRef {
    pub framework: String,
    pub requirement: String,
}

/// A security control: content loaded from a data file, with its condition kept as CEL source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub resource_types: Vec<ResourceType>,
    pub rationale: String,
    pub remediation: String,
    #[serde(default)]
    pub references: Vec<String>,
    /// Framework requirements this control evidences.
    #[serde(default)]
    pub frameworks: Vec<RequirementRef>,
    /// Cross-references to other catalogues, `catalogue: id` (e.g. `cis-aws-3.0: 2.1.4`).
    #[serde(default)]
    pub cross_references: BTreeMap<String, Vec<String>>,
    /// CEL precondition; when false the control is not applicable to the asset.
    #[serde(default)]
    pub applies_if: Option<String>,
    /// CEL condition; true means the asset complies.
    pub condition: String,
    /// Sentence recorded as the finding's reason when the condition is false.
    pub failure_reason: String,
    /// Where the control came from (`builtin:<path>` or a user file path).
    #[serde(default)]
    pub source: String,
}

/// A compliance framework: requirements, each evidenced by controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Framework {
    pub id: String,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    pub id: String,
    pub title: String,
    /// Manual requirements are shown but never scored pass/fail.
    #[serde(default)]
    pub manual: bool,
    /// Control ids mapped to this requirement (filled from the controls' `frameworks`).
    #[serde(default)]
    pub controls: Vec<String>,
}

/// Outcome of one control on one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Pass,
    Fail,
    Error,
    NotApplicable,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Pass => "pass",
            FindingStatus::Fail => "fail",
            FindingStatus::Error => "error",
            FindingStatus::NotApplicable => "not_applicable",
        }
    }
}

impl fmt::Display for FindingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FindingStatus {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pass" => Ok(FindingStatus::Pass),
            "fail" => Ok(FindingStatus::Fail),
            "error" => Ok(FindingStatus::Error),
            "not_applicable" => Ok(FindingStatus::NotApplicable),
            _ => Err(ModelError::Invalid {
                field: "finding status",
                value: s.to_string(),
                expected: "one of pass, fail, error, not_applicable",
            }),
        }
    }
}

/// The result of one control on one asset, with its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Deterministic: see [`finding_id`].
    pub id: String,
    pub control_id: String,
    pub asset_id: String,
    pub status: FindingStatus,
    pub severity: Severity,
    pub reason: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// When a failing finding last turned into a pass.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A finding's deterministic id: the same workspace, control and asset always give the same id.
pub fn finding_id(workspace: &str, control_id: &str, asset_id: &str) -> String {
    let digest = hash_parts(&[workspace, control_id, asset_id]);
    format!("fnd_{}", &digest[..32])
}

/// The raw outcome of evaluating one control on one asset (before the store adds history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub control_id: String,
    pub asset_id: String,
    pub status: FindingStatus,
    /// Why the status: the control's failure reason, the evaluation error, or empty on pass.
    pub reason: String,
}

/// Status of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanStatus {
    Running,
    Succeeded,
    Failed,
}

impl ScanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanStatus::Running => "running",
            ScanStatus::Succeeded => "succeeded",
            ScanStatus::Failed => "failed",
        }
    }
}

impl FromStr for ScanStatus {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "running" => Ok(ScanStatus::Running),
            "succeeded" => Ok(ScanStatus::Succeeded),
            "failed" => Ok(ScanStatus::Failed),
            _ => Err(ModelError::Invalid {
                field: "scan status",
                value: s.to_string(),
                expected: "one of running, succeeded, failed",
            }),
        }
    }
}

/// One import-and-evaluate run over a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    pub id: String,
    pub source: String,
    pub status: ScanStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub asset_count: u64,
    pub pass_count: u64,
    pub fail_count: u64,
    pub error_count: u64,
    pub message: Option<String>,
    /// Stored assets this scan found gone (see [`Sweep`]).
    #[serde(default)]
    pub gone_count: u64,
}

/// A part of an estate that a scan listed completely: every asset of `resource_type` in
/// `account` (and `region`, or any region when `None`) that exists was in the scan's inventory.
/// An asset stored from an earlier scan that falls under a sweep and is not in the new
/// inventory is gone; one outside every sweep (its listing failed, or it was not scanned) is
/// kept as it was.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Sweep {
    pub provider: Provider,
    pub account: String,
    pub region: Option<String>,
    pub resource_type: String,
}

/// A parsed inventory: assets and the relationships between them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub assets: Vec<Asset>,
    pub relationships: Vec<Relationship>,
}

impl Inventory {
    /// Appends another inventory, keeping the later copy of any asset id seen twice.
    pub fn merge(&mut self, other: Inventory) {
        let mut index: std::collections::HashMap<String, usize> = self
            .assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        for asset in other.assets {
            match index.get(&asset.id) {
                Some(&i) => self.assets[i] = asset,
                None => {
                    index.insert(asset.id.clone(), self.assets.len());
                    self.assets.push(asset);
                }
            }
        }
        self.relationships.extend(other.relationships);
        self.relationships.sort();
        self.relationships.dedup();
    }
}

fn hash_parts(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_type_parsing() {
        assert!(ResourceType::parse("aws.s3.bucket").is_ok());
        assert!(ResourceType::parse("aws.ec2.security_group").is_ok());
        assert!(ResourceType::parse("aws.account").is_ok());
        assert!(ResourceType::parse("aws").is_err());
        assert!(ResourceType::parse("AWS.s3.bucket").is_err());
        assert!(ResourceType::parse("oracle.x.y").is_err());
        assert!(ResourceType::parse("aws..bucket").is_err());
        assert_eq!(
            ResourceType::parse("gcp.storage.bucket").map(|t| t.provider()),
            Ok(Provider::Gcp)
        );
    }

    #[test]
    fn finding_ids_are_deterministic_and_distinct() {
        let a = finding_id("ws1", "aws-s3-public-access-block", "ast_1");
        assert_eq!(a, finding_id("ws1", "aws-s3-public-access-block", "ast_1"));
        assert_ne!(a, finding_id("ws2", "aws-s3-public-access-block", "ast_1"));
        assert_ne!(a, finding_id("ws1", "aws-s3-public-access-block", "ast_2"));
        // Length-prefixing keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(finding_id("ab", "c", "d"), finding_id("a", "bc", "d"));
        assert!(a.starts_with("fnd_") && a.len() == 36);
    }

    #[test]
    fn severity_order_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("urgent".parse::<Severity>().is_err());
    }

    #[test]
    fn merge_keeps_latest_asset() {
        let t = ResourceType::parse("aws.s3.bucket").expect("type");
        let now = Utc::now();
        let mk = |name: &str| Asset {
            id: "ast_x".into(),
            provider: Provider::Aws,
            account: "1".into(),
            region: "us-east-1".into(),
            resource_type: t.clone(),
            native_id: "arn".into(),
            name: name.into(),
            tags: BTreeMap::new(),
            config: serde_json::Value::Null,
            first_seen: now,
            last_seen: now,
        };
        let mut inv = Inventory {
            assets: vec![mk("old")],
            relationships: vec![],
        };
        inv.merge(Inventory {
            assets: vec![mk("new")],
            relationships: vec![],
        });
        assert_eq!(inv.assets.len(), 1);
        assert_eq!(inv.assets[0].name, "new");
    }
}
