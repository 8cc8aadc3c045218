//! Coverage of a framework by controls, and of a reference control catalogue by cross-references.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::Catalog;

/// How well the loaded controls cover one framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameworkCoverage {
    pub framework_id: String,
    /// Automated requirements with at least one control.
    pub automated: Vec<String>,
    /// Requirements the framework marks manual.
    pub manual: Vec<String>,
    /// Automated requirements without any control.
    pub missing: Vec<String>,
}

pub fn framework_coverage(catalog: &Catalog, framework_id: &str) -> Option<FrameworkCoverage> {
    let fw = catalog.framework(framework_id)?;
    let mut cov = FrameworkCoverage {
        framework_id: fw.id.clone(),
        automated: Vec::new(),
        manual: Vec::new(),
        missing: Vec::new(),
    };
    for r in &fw.requirements {
        if r.manual {
            cov.manual.push(r.id.clone());
        } else if r.controls.is_empty() {
            cov.missing.push(r.id.clone());
        } else {
            cov.automated.push(r.id.clone());
        }
    }
    Some(cov)
}

/// How well the loaded controls cover a reference catalogue's enabled controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceCoverage {
    pub reference: String,
    pub provider: String,
    /// Enabled reference slug → Rampart control ids naming it in their cross-references.
    pub covered: BTreeMap<String, Vec<String>>,
    /// Enabled slugs without a control, listed with a reason in docs/coverage.md.
    pub documented: Vec<String>,
    /// Enabled slugs neither covered nor documented.
    pub missing: Vec<String>,
}

impl ReferenceCoverage {
    pub fn total(&self) -> usize {
        self.covered.len() + self.documented.len() + self.missing.len()
    }

    pub fn covered_percent(&self) -> f64 {
        if self.total() == 0 {
            return 0.0;
        }
        self.covered.len() as f64 * 100.0 / self.total() as f64
    }
}

/// Slugs listed in the "not covered yet" table of a coverage document: rows `| \`slug\` | … |`.
pub fn documented_uncovered(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("| `")?;
            let end = rest.find('`')?;
            let after = rest[end + 1..].trim_start();
            after.starts_with('|').then(|| rest[..end].to_string())
        })
        .collect()
}

/// Reads the Cyscale reference controls (`DIR/controls/<provider>-*.json`) and compares them
/// with the catalog's `cross_references.cyscale` and the documented-uncovered list.
pub fn cyscale_coverage(
    catalog: &Catalog,
    reference_dir: &Path,
    provider: &str,
    coverage_doc: &str,
) -> Result<ReferenceCoverage, String> {
    let controls_dir = reference_dir.join("controls");
    let entries = std::fs::read_dir(&controls_dir)
        .map_err(|e| format!("cannot read {}: {e}", controls_dir.display()))?;
    let prefix = format!("{provider}-");
    let mut enabled = BTreeSet::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.starts_with(&prefix) || !name.ends_with(".json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: invalid JSON: {e}", path.display()))?;
        if value.get("isEnabled") == Some(&serde_json::Value::Bool(false)) {
            continue;
        }
        let slug = value
            .get("slug")
            .and_then(|s| s.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| name.trim_end_matches(".json").to_string());
        enabled.insert(slug);
    }
    let index = catalog.cross_reference_index();
    let by_slug = index.get("cyscale").cloned().unwrap_or_default();
    let documented_list = documented_uncovered(coverage_doc);
    let mut cov = ReferenceCoverage {
        reference: "cyscale".into(),
        provider: provider.into(),
        covered: BTreeMap::new(),
        documented: Vec::new(),
        missing: Vec::new(),
    };
    for slug in enabled {
        if let Some(controls) = by_slug.get(&slug) {
            cov.covered.insert(slug, controls.clone());
        } else if documented_list.contains(&slug) {
            cov.documented.push(slug);
        } else {
            cov.missing.push(slug);
        }
    }
    Ok(cov)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_rows_are_parsed() {
        let doc = "## Reference controls not covered yet\n\n| slug | reason |\n| --- | --- |\n| `aws-x-1` | needs data |\n|`nope`|\nnot a row `aws-y`\n| `aws-z-2` |  manual |\n";
        let got = documented_uncovered(doc);
        assert_eq!(
            got,
            BTreeSet::from(["aws-x-1".to_string(), "aws-z-2".to_string()])
        );
    }
}
