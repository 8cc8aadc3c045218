//! Reads control and framework YAML files, validating them strictly and positioning every error.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use rampart_model::{Asset, Inventory, Provider, Relationship, ResourceType, Severity};
use serde::Deserialize;

use crate::cel::CelError;

/// One problem in one content file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadIssue {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for LoadIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every problem found while loading content; nothing is loaded when there is any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    pub issues: Vec<LoadIssue>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl LoadError {
    pub(crate) fn single(file: &str, message: impl Into<String>) -> LoadError {
        LoadError {
            issues: vec![LoadIssue {
                file: file.to_string(),
                line: None,
                column: None,
                message: message.into(),
            }],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ControlFile {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub resource_types: Vec<ResourceType>,
    pub rationale: String,
    pub remediation: String,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub frameworks: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub cross_references: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub applies_if: Option<String>,
    pub condition: String,
    pub failure_reason: String,
    #[serde(default)]
    pub fixtures: Option<FixtureFile>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct FixtureFile {
    #[serde(default)]
    pub pass: Vec<FixtureAsset>,
    #[serde(default)]
    pub fail: Vec<FixtureAsset>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FixtureAsset {
    pub name: String,
    #[serde(rename = "type", default)]
    pub resource_type: Option<ResourceType>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub config: serde_json::Value,
    /// Assets linked to this one, for controls that follow relationships with `related()`.
    #[serde(default)]
    pub related: Vec<RelatedFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RelatedFixture {
    /// Edge kind, e.g. `uses`.
    pub kind: String,
    /// The edge points from the related asset to this one (default: from this one to it).
    #[serde(default)]
    pub incoming: bool,
    pub asset: FixtureAsset,
}

impl FixtureAsset {
    /// The fixture as a small inventory: the asset under test first, then its related assets.
    pub(crate) fn to_inventory(&self, default_type: &ResourceType) -> Inventory {
        let mut inventory = Inventory::default();
        self.add_to(default_type, &mut inventory);
        inventory
    }

    fn add_to(&self, default_type: &ResourceType, inventory: &mut Inventory) -> String {
        let asset = self.to_asset(default_type);
        let id = asset.id.clone();
        inventory.assets.push(asset);
        for r in &self.related {
            let other = r.asset.add_to(default_type, inventory);
            let (from, to) = if r.incoming {
                (other, id.clone())
            } else {
                (id.clone(), other)
            };
            inventory.relationships.push(Relationship {
                from,
                to,
                kind: r.kind.clone(),
            });
        }
        id
    }

    pub(crate) fn to_asset(&self, default_type: &ResourceType) -> Asset {
        let resource_type = self
            .resource_type
            .clone()
            .unwrap_or_else(|| default_type.clone());
        let provider: Provider = resource_type.provider();
        let account = self
            .account
            .clone()
            .unwrap_or_else(|| "111122223333".to_string());
        let region = self
            .region
            .clone()
            .unwrap_or_else(|| "us-east-1".to_string());
        let native_id = format!("fixture:{}:{}", resource_type, self.name);
        let now = chrono::DateTime::UNIX_EPOCH;
        Asset {
            id: Asset::make_id(provider, &account, &region, &resource_type, &native_id),
            provider,
            account,
            region,
            resource_type,
            native_id,
            name: self.name.clone(),
            tags: self.tags.clone(),
            config: self.config.clone(),
            first_seen: now,
            last_seen: now,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FrameworkFile {
    pub id: String,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    pub requirements: Vec<RequirementFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequirementFile {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub manual: bool,
}

/// A content file: its display name and text.
pub(crate) struct SourceFile {
    pub name: String,
    pub text: String,
}

pub(crate) enum Parsed {
    Control(Box<ControlFile>),
    Framework(FrameworkFile),
}

pub(crate) fn parse_file(file: &SourceFile) -> Result<Parsed, LoadIssue> {
    let value: serde_yaml::Value =
        serde_yaml::from_str(&file.text).map_err(|e| yaml_issue(&file.name, &e))?;
    let is_framework = value
        .as_mapping()
        .is_some_and(|m| m.contains_key("requirements"));
    if is_framework {
        serde_yaml::from_str::<FrameworkFile>(&file.text)
            .map(Parsed::Framework)
            .map_err(|e| yaml_issue(&file.name, &e))
    } else {
        serde_yaml::from_str::<ControlFile>(&file.text)
            .map(|c| Parsed::Control(Box::new(c)))
            .map_err(|e| yaml_issue(&file.name, &e))
    }
}

fn yaml_issue(file: &str, e: &serde_yaml::Error) -> LoadIssue {
    let loc = e.location();
    let mut message = e.to_string();
    // serde_yaml appends " at line L column C"; the position is reported separately.
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    LoadIssue {
        file: file.to_string(),
        line: loc.as_ref().map(|l| l.line()),
        column: loc.as_ref().map(|l| l.column()),
        message,
    }
}

/// Maps a CEL error inside the value of top-level `key` to a position in the YAML file.
pub(crate) fn cel_issue(file: &SourceFile, key: &str, err: &CelError) -> LoadIssue {
    let (line, column) = locate_in_yaml(&file.text, key, err.line, err.column);
    LoadIssue {
        file: file.name.clone(),
        line: Some(line),
        column: Some(column),
        message: format!("{key}: {}", err.message),
    }
}

fn locate_in_yaml(text: &str, key: &str, expr_line: usize, expr_col: usize) -> (usize, usize) {
    let prefix = format!("{key}:");
    let lines: Vec<&str> = text.lines().collect();
    let Some(key_idx) = lines.iter().position(|l| l.starts_with(&prefix)) else {
        return (1, 1);
    };
    let rest = &lines[key_idx][prefix.len()..];
    let trimmed = rest.trim_start();
    if trimmed.starts_with('|') || trimmed.starts_with('>') {
        // Block scalar: the expression starts on the next line, at the block's indentation.
        let first_content = lines
            .iter()
            .skip(key_idx + 1)
            .find(|l| !l.trim().is_empty())
            .copied()
            .unwrap_or("");
        let indent = first_content.len() - first_content.trim_start().len();
        return (key_idx + 1 + expr_line, indent + expr_col);
    }
    // Inline scalar: offset by where the value starts (and an opening quote).
    let value_start = prefix.len() + (rest.len() - trimmed.len());
    let quote = usize::from(trimmed.starts_with('"') || trimmed.starts_with('\''));
    if expr_line == 1 {
        (key_idx + 1, value_start + quote + expr_col)
    } else {
        (key_idx + expr_line, expr_col)
    }
}

/// Reads every `*.yaml` / `*.yml` file under `dir`, sorted by path.
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
    let mut paths = Vec::new();
    walk(dir, &mut paths).map_err(|e| LoadError::single(&dir.display().to_string(), e))?;
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|e| {
            LoadError::single(&p.display().to_string(), format!("cannot read: {e}"))
        })?;
        out.push(SourceFile {
            name: p.display().to_string(),
            text,
        });
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta =
        std::fs::metadata(dir).map_err(|e| format!("cannot read controls directory: {e}"))?;
    if meta.is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read controls directory: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml") | Some("yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_scalar_positions_map_to_file_lines() {
        let text = "id: x\ncondition: |\n  resource.config.a &&\n    b\nfailure_reason: y\n";
        // Expression line 2, column 5 -> file line 4, column 7.
        assert_eq!(locate_in_yaml(text, "condition", 2, 5), (4, 7));
        assert_eq!(locate_in_yaml(text, "condition", 1, 1), (3, 3));
    }

    #[test]
    fn inline_scalar_positions_map_to_file_columns() {
        let text = "id: x\ncondition: 'a == '\n";
        assert_eq!(locate_in_yaml(text, "condition", 1, 3), (2, 15));
        let text = "id: x\ncondition: a ==\n";
        assert_eq!(locate_in_yaml(text, "condition", 1, 3), (2, 14));
    }
}
