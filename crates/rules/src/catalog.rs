//! The catalog: compiled controls and frameworks, and evaluation of an inventory.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rampart_model::{
    Asset, Control, Evaluation, FindingStatus, Framework, Inventory, Requirement, RequirementRef,
};

use crate::builtin;
use crate::cel::Program;
use crate::graph::Graph;
use crate::loader::{self, LoadError, LoadIssue, Parsed, SourceFile};

/// A control with its CEL compiled and its fixtures turned into assets.
pub struct CompiledControl {
    pub control: Control,
    condition: Program,
    applies_if: Option<Program>,
    /// Fixtures expected to pass and to fail: each a small inventory whose first asset is the
    /// one under test (the others are its related assets).
    pub fixtures_pass: Vec<Inventory>,
    pub fixtures_fail: Vec<Inventory>,
}

impl CompiledControl {
    /// Evaluates this control on one asset, without relationships.
    pub fn evaluate(&self, asset: &Asset, now: DateTime<Utc>) -> (FindingStatus, String) {
        self.evaluate_in(asset, now, None)
    }

    /// Evaluates this control on one asset of an inventory (`related()` follows `graph`).
    #[inline]
    pub fn evaluate_in(
        &self,
        asset: &Asset,
        now: DateTime<Utc>,
        graph: Option<&Graph<'_>>,
    ) -> (FindingStatus, String) {
        if let Some(pre) = &self.applies_if {
            match pre.eval_bool_in(asset, now, graph) {
                Ok(true) => {}
                Ok(false) => return (FindingStatus::NotApplicable, String::new()),
                Err(e) => return (FindingStatus::Error, format!("applies_if: {e}")),
            }
        }
        match self.condition.eval_bool_in(asset, now, graph) {
            Ok(true) => (FindingStatus::Pass, String::new()),
            Ok(false) => (FindingStatus::Fail, self.control.failure_reason.clone()),
            Err(e) => (FindingStatus::Error, format!("condition: {e}")),
        }
    }
}

/// A fixture whose outcome differs from what its control file expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureProblem {
    pub control_id: String,
    pub source: String,
    pub message: String,
}

impl std::fmt::Display for FixtureProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.control_id, self.source, self.message)
    }
}

/// Every loaded control and framework.
pub struct Catalog {
    controls: Vec<CompiledControl>,
    by_id: HashMap<String, usize>,
    by_type: HashMap<String, Vec<usize>>,
    frameworks: Vec<Framework>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("controls", &self.controls.len())
            .field("frameworks", &self.frameworks.len())
            .finish()
    }
}

impl Catalog {
    /// The content compiled into the binary.
    pub fn builtin() -> Result<Catalog, LoadError> {
        Catalog::load(&[])
    }

    /// Built-in content plus every YAML file under the given directories (or files). A user
    /// control with a built-in control's id replaces it.
    pub fn load(user_paths: &[PathBuf]) -> Result<Catalog, LoadError> {
        let mut files = builtin::files();
        for dir in user_paths {
            files.extend(loader::read_dir(dir)?);
        }
        Catalog::from_files(&files)
    }

    /// Only the given content files, as `(display name, YAML text)`, without the built-in
    /// content: what a linter or the fuzz target of the loader reads without touching disk.
    pub fn from_sources(files: &[(&str, &str)]) -> Result<Catalog, LoadError> {
        let files: Vec<SourceFile> = files
            .iter()
            .map(|(name, text)| SourceFile {
                name: (*name).to_string(),
                text: (*text).to_string(),
            })
            .collect();
        Catalog::from_files(&files)
    }

    pub(crate) fn from_files(files: &[SourceFile]) -> Result<Catalog, LoadError> {
        let mut issues = Vec::new();
        let mut control_files = Vec::new();
        let mut frameworks: Vec<Framework> = Vec::new();
        for file in files {
            match loader::parse_file(file) {
                Ok(Parsed::Control(c)) => control_files.push((file, c)),
                Ok(Parsed::Framework(f)) => {
                    let fw = Framework {
                        id: f.id,
                        name: f.name,
                        version: f.version,
                        description: f.description,
                        requirements: f
                            .requirements
                            .into_iter()
                            .map(|r| Requirement {
                                id: r.id,
                                title: r.title,
                                manual: r.manual,
                                controls: Vec::new(),
                            })
                            .collect(),
                    };
                    frameworks.retain(|existing| existing.id != fw.id);
                    frameworks.push(fw);
                }
                Err(issue) => issues.push(issue),
            }
        }

        let mut compiled: Vec<CompiledControl> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        for (file, c) in control_files {
            let issue = |message: String| LoadIssue {
                file: file.name.clone(),
                line: None,
                column: None,
                message,
            };
            if c.id.is_empty()
                || !c
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                issues.push(issue(format!(
                    "id {:?} must be non-empty lower-case letters, digits and dashes",
                    c.id
                )));
                continue;
            }
            if c.resource_types.is_empty() {
                issues.push(issue("resource_types must name at least one type".into()));
                continue;
            }
            let condition = match Program::compile(&c.condition) {
                Ok(p) => p,
                Err(e) => {
                    issues.push(loader::cel_issue(file, "condition", &e));
                    continue;
                }
            };
            let applies_if = match c.applies_if.as_deref().map(Program::compile).transpose() {
                Ok(p) => p,
                Err(e) => {
                    issues.push(loader::cel_issue(file, "applies_if", &e));
                    continue;
                }
            };
            let mut refs = Vec::new();
            for (fw_id, reqs) in &c.frameworks {
                let Some(fw) = frameworks.iter().find(|f| &f.id == fw_id) else {
                    issues.push(issue(format!("frameworks: unknown framework {fw_id:?}")));
                    continue;
                };
                for r in reqs {
                    if fw.requirements.iter().any(|req| &req.id == r) {
                        refs.push(RequirementRef {
                            framework: fw_id.clone(),
                            requirement: r.clone(),
                        });
                    } else {
                        issues.push(issue(format!(
                            "frameworks: {fw_id} has no requirement {r:?}"
                        )));
                    }
                }
            }
            let default_type = c.resource_types[0].clone();
            let fixtures = c.fixtures.unwrap_or_default();
            let control = Control {
                id: c.id.clone(),
                title: c.title,
                severity: c.severity,
                resource_types: c.resource_types,
                rationale: c.rationale,
                remediation: c.remediation,
                references: c.references,
                frameworks: refs,
                cross_references: c.cross_references,
                applies_if: c.applies_if,
                condition: c.condition,
                failure_reason: c.failure_reason,
                source: file.name.clone(),
            };
            let cc = CompiledControl {
                control,
                condition,
                applies_if,
                fixtures_pass: fixtures
                    .pass
                    .iter()
                    .map(|f| f.to_inventory(&default_type))
                    .collect(),
                fixtures_fail: fixtures
                    .fail
                    .iter()
                    .map(|f| f.to_inventory(&default_type))
                    .collect(),
            };
            match by_id.get(&c.id) {
                Some(&i) if compiled[i].control.source.starts_with("builtin:") => {
                    compiled[i] = cc; // a user control overrides a built-in one
                }
                Some(&i) => issues.push(issue(format!(
                    "duplicate control id {:?} (also in {})",
                    c.id, compiled[i].control.source
                ))),
                None => {
                    by_id.insert(c.id.clone(), compiled.len());
                    compiled.push(cc);
                }
            }
        }
        if !issues.is_empty() {
            return Err(LoadError { issues });
        }

        compiled.sort_by(|a, b| a.control.id.cmp(&b.control.id));
        let by_id: HashMap<String, usize> = compiled
            .iter()
            .enumerate()
            .map(|(i, c)| (c.control.id.clone(), i))
            .collect();
        let mut by_type: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in compiled.iter().enumerate() {
            for t in &c.control.resource_types {
                by_type.entry(t.as_str().to_string()).or_default().push(i);
            }
            for r in &c.control.frameworks {
                if let Some(fw) = frameworks.iter_mut().find(|f| f.id == r.framework)
                    && let Some(req) = fw.requirements.iter_mut().find(|q| q.id == r.requirement)
                {
                    req.controls.push(c.control.id.clone());
                }
            }
        }
        frameworks.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Catalog {
            controls: compiled,
            by_id,
            by_type,
            frameworks,
        })
    }

    pub fn controls(&self) -> impl Iterator<Item = &Control> {
        self.controls.iter().map(|c| &c.control)
    }

    pub fn compiled_controls(&self) -> &[CompiledControl] {
        &self.controls
    }

    pub fn control(&self, id: &str) -> Option<&Control> {
        self.by_id.get(id).map(|&i| &self.controls[i].control)
    }

    pub fn len(&self) -> usize {
        self.controls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.controls.is_empty()
    }

    pub fn frameworks(&self) -> &[Framework] {
        &self.frameworks
    }

    pub fn framework(&self, id: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.id == id)
    }

    /// Keeps only the controls mapped to framework `id`.
    pub fn restrict_to_framework(&mut self, id: &str) -> Result<(), String> {
        if self.framework(id).is_none() {
            let known: Vec<&str> = self.frameworks.iter().map(|f| f.id.as_str()).collect();
            return Err(format!(
                "unknown framework {id:?} (known: {})",
                known.join(", ")
            ));
        }
        let keep = |c: &CompiledControl| c.control.frameworks.iter().any(|r| r.framework == id);
        self.controls.retain(keep);
        self.by_id = self
            .controls
            .iter()
            .enumerate()
            .map(|(i, c)| (c.control.id.clone(), i))
            .collect();
        self.by_type.clear();
        for (i, c) in self.controls.iter().enumerate() {
            for t in &c.control.resource_types {
                self.by_type
                    .entry(t.as_str().to_string())
                    .or_default()
                    .push(i);
            }
        }
        Ok(())
    }

    /// Evaluates every applicable control on one asset, appending to `out`.
    pub fn evaluate_asset(
        &self,
        asset: &Asset,
        now: DateTime<Utc>,
        graph: Option<&Graph<'_>>,
        out: &mut Vec<Evaluation>,
    ) {
        let Some(indices) = self.by_type.get(asset.resource_type.as_str()) else {
            return;
        };
        for &i in indices {
            let c = &self.controls[i];
            let (status, reason) = c.evaluate_in(asset, now, graph);
            out.push(Evaluation {
                control_id: c.control.id.clone(),
                asset_id: asset.id.clone(),
                status,
                reason,
            });
        }
    }

    /// Evaluates the whole inventory, using every core; results are in inventory order.
    pub fn evaluate(&self, inventory: &Inventory, now: DateTime<Utc>) -> Vec<Evaluation> {
        self.evaluate_with_progress(inventory, now, &|_| {})
    }

    /// [`Catalog::evaluate`], calling `progress(n)` after each batch of `n` assets.
    pub fn evaluate_with_progress(
        &self,
        inventory: &Inventory,
        now: DateTime<Utc>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Vec<Evaluation> {
        let graph = Graph::build(inventory);
        let mut out = Vec::new();
        for chunk in inventory.assets.chunks(4096) {
            out.extend(self.evaluate_assets_in(chunk, now, Some(&graph)));
            progress(chunk.len());
        }
        out
    }

    /// Evaluates assets on their own: `related()` is an error (use [`Catalog::evaluate`]).
    pub fn evaluate_assets(&self, assets: &[Asset], now: DateTime<Utc>) -> Vec<Evaluation> {
        self.evaluate_assets_in(assets, now, None)
    }

    /// Evaluates some assets of an inventory whose relationships are in `graph`.
    pub fn evaluate_assets_in(
        &self,
        assets: &[Asset],
        now: DateTime<Utc>,
        graph: Option<&Graph<'_>>,
    ) -> Vec<Evaluation> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(16);
        if threads <= 1 || assets.len() < 2048 {
            let mut out = Vec::new();
            for a in assets {
                self.evaluate_asset(a, now, graph, &mut out);
            }
            return out;
        }
        let chunk = assets.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = assets
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        let mut out = Vec::new();
                        for a in part {
                            self.evaluate_asset(a, now, graph, &mut out);
                        }
                        out
                    })
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                match h.join() {
                    Ok(part) => out.extend(part),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            out
        })
    }

    /// Evaluates every control's fixtures; returns each mismatch (empty means all good).
    pub fn check_fixtures(&self) -> Vec<FixtureProblem> {
        let now = fixture_now();
        let mut problems = Vec::new();
        for c in &self.controls {
            let problem = |message: String| FixtureProblem {
                control_id: c.control.id.clone(),
                source: c.control.source.clone(),
                message,
            };
            if c.fixtures_pass.is_empty() {
                problems.push(problem("has no passing fixture".into()));
            }
            if c.fixtures_fail.is_empty() {
                problems.push(problem("has no failing fixture".into()));
            }
            for (expected, list) in [
                (FindingStatus::Pass, &c.fixtures_pass),
                (FindingStatus::Fail, &c.fixtures_fail),
            ] {
                for inventory in list {
                    let asset = &inventory.assets[0];
                    if !c.control.resource_types.contains(&asset.resource_type) {
                        problems.push(problem(format!(
                            "fixture {:?} has type {} which the control does not cover",
                            asset.name, asset.resource_type
                        )));
                        continue;
                    }
                    let graph = Graph::build(inventory);
                    let (status, reason) = c.evaluate_in(asset, now, Some(&graph));
                    if status != expected {
                        problems.push(problem(format!(
                            "fixture {:?} should {} but evaluated to {status}{}",
                            asset.name,
                            expected,
                            if reason.is_empty() {
                                String::new()
                            } else {
                                format!(" ({reason})")
                            }
                        )));
                    }
                }
            }
        }
        problems
    }

    /// Cross-reference index: catalogue → id → control ids.
    pub fn cross_reference_index(&self) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
        let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for c in self.controls() {
            for (catalogue, ids) in &c.cross_references {
                for id in ids {
                    out.entry(catalogue.clone())
                        .or_default()
                        .entry(id.clone())
                        .or_default()
                        .push(c.id.clone());
                }
            }
        }
        out
    }
}

/// The fixed evaluation time for fixtures, so that date-based fixtures are reproducible.
pub fn fixture_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::UNIX_EPOCH)
}
