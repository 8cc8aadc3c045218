//! Framework scores from evaluation results.
//!
//! A requirement is **manual** when its framework marks it so (shown, never scored), **not
//! assessed** when none of its controls produced a pass or a fail, **fail** when any mapped
//! control failed (or errored) on any in-scope asset, and **pass** otherwise. A framework's
//! percentage is passing requirements over scored (passing + failing) requirements.

use std::collections::HashMap;

use rampart_model::FindingStatus;
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
