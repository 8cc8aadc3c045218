//! Framework scores from evaluation results.
//!
//! A requirement is **manual** when its framework marks it so (shown, never scored), **not
//! assessed** when none of its controls produced a pass or a fail, **fail** when any mapped
//! control failed (or errored) on any in-scope asset, and **pass** otherwise. A framework's
//! percentage is passing requirements over scored (passing + failing) requirements.
//!
//! An **asset's security score** starts at 100 and is multiplied, for every control failing on
//! the asset, by the factor of that control's severity ([`severity_factor`]): critical 0.5,
//! high 0.7, medium 0.85, low 0.95, info 1.0. One critical failure halves the score; a clean
//! asset keeps 100. Errors and not-applicable results do not change it.

use std::collections::HashMap;

use rampart_model::{Evaluation, FindingStatus, Severity};
use serde::Serialize;

use crate::Catalog;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkScore {
    pub framework_id: String,
    pub name: String,
    pub version: String,
    pub passing: usize,
    pub failing: usize,
    pub not_assessed: usize,
    pub manual: usize,
    /// passing / (passing + failing) × 100; 0 when nothing was scored.
    pub percent: f64,
    pub requirements: Vec<RequirementScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementScore {
    pub id: String,
    pub title: String,
    /// `pass`, `fail`, `manual` or `not_assessed`.
    pub status: &'static str,
    pub controls: Vec<String>,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    pass: usize,
    fail: usize,
}

/// Scores every framework of the catalog from `(control id, status)` results.
pub fn framework_scores(
    catalog: &Catalog,
    results: &[(String, FindingStatus)],
) -> Vec<FrameworkScore> {
    let mut tallies: HashMap<&str, Tally> = HashMap::new();
    for (control, status) in results {
        let t = tallies.entry(control.as_str()).or_default();
        match status {
            FindingStatus::Pass => t.pass += 1,
            FindingStatus::Fail | FindingStatus::Error => t.fail += 1,
            FindingStatus::NotApplicable => {}
        }
    }
    catalog
        .frameworks()
        .iter()
        .map(|fw| {
            let mut score = FrameworkScore {
                framework_id: fw.id.clone(),
                name: fw.name.clone(),
                version: fw.version.clone(),
                passing: 0,
                failing: 0,
                not_assessed: 0,
                manual: 0,
                percent: 0.0,
                requirements: Vec::with_capacity(fw.requirements.len()),
            };
            for req in &fw.requirements {
                let status = if req.manual {
                    score.manual += 1;
                    "manual"
                } else {
                    let total = req.controls.iter().fold(Tally::default(), |acc, c| {
                        let t = tallies.get(c.as_str()).copied().unwrap_or_default();
                        Tally {
                            pass: acc.pass + t.pass,
                            fail: acc.fail + t.fail,
                        }
                    });
                    if total.fail > 0 {
                        score.failing += 1;
                        "fail"
                    } else if total.pass > 0 {
                        score.passing += 1;
                        "pass"
                    } else {
                        score.not_assessed += 1;
                        "not_assessed"
                    }
                };
                score.requirements.push(RequirementScore {
                    id: req.id.clone(),
                    title: req.title.clone(),
                    status,
                    controls: req.controls.clone(),
                });
            }
            let scored = score.passing + score.failing;
            if scored > 0 {
                score.percent = score.passing as f64 * 100.0 / scored as f64;
            }
            score
        })
        .collect()
}

/// The multiplier one failing control of this severity applies to an asset's score.
pub fn severity_factor(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 0.5,
        Severity::High => 0.7,
        Severity::Medium => 0.85,
        Severity::Low => 0.95,
        Severity::Info => 1.0,
    }
}

/// The security score (0–100) of an asset with these failing control severities.
pub fn asset_score(failing: impl IntoIterator<Item = Severity>) -> f64 {
    failing
        .into_iter()
        .fold(100.0, |score, s| score * severity_factor(s))
}

/// Every evaluated asset's score, from evaluation results.
pub fn asset_scores(catalog: &Catalog, evaluations: &[Evaluation]) -> HashMap<String, f64> {
    let mut out: HashMap<String, f64> = HashMap::new();
    for e in evaluations {
        let score = out.entry(e.asset_id.clone()).or_insert(100.0);
        if e.status == FindingStatus::Fail
            && let Some(c) = catalog.control(&e.control_id)
        {
            *score *= severity_factor(c.severity);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_score_multiplies_severity_factors() {
        assert_eq!(asset_score([]), 100.0);
        assert_eq!(asset_score([Severity::Critical]), 50.0);
        assert!((asset_score([Severity::High, Severity::Medium]) - 59.5).abs() < 1e-9);
        assert_eq!(asset_score([Severity::Info, Severity::Info]), 100.0);
        assert!(asset_score([Severity::Critical; 10]) > 0.0);
    }
}
