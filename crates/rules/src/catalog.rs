//! The catalog: compiled controls and frameworks, and evaluation of an inventory.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rampart_model::{
    Asset, Control, Evaluation, FindingStatus, Framework, Inventory, Requirement, RequirementRef,
    ResourceType, Severity,
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
    /// A custom control's query: `condition` selects the *failing* assets, and an asset it
    /// cannot be evaluated on is not selected (as in the inventory's query box).
    selects_failing: bool,
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
        match (
            self.condition.eval_bool_in(asset, now, graph),
            self.selects_failing,
        ) {
            (Ok(true), false) | (Ok(false) | Err(_), true) => (FindingStatus::Pass, String::new()),
            (Ok(false), false) | (Ok(true), true) => {
                (FindingStatus::Fail, self.control.failure_reason.clone())
            }
            (Err(e), false) => (FindingStatus::Error, format!("condition: {e}")),
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

/// A workspace's own control (saved from an inventory query): an asset of one of
/// `resource_types` fails it when `query` is true for the asset, and passes otherwise (also when
/// the query cannot be evaluated on it, as in the inventory's query box).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomControlDef {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub resource_types: Vec<String>,
    /// CEL over one asset; true selects a failing asset.
    pub query: String,
    /// Framework id → requirement ids; each must exist in the catalog.
    pub frameworks: BTreeMap<String, Vec<String>>,
    pub rationale: String,
    pub remediation: String,
}

/// `Control::source` of custom controls.
pub const CUSTOM_SOURCE: &str = "custom";

/// Every loaded control and framework.
pub struct Catalog {
    /// Shared, so that a workspace's catalog ([`Catalog::with_custom`]) reuses the compiled
    /// built-in controls.
    controls: Vec<Arc<CompiledControl>>,
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

        let mut compiled: Vec<Arc<CompiledControl>> = Vec::new();
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
                selects_failing: false,
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
                    compiled[i] = Arc::new(cc); // a user control overrides a built-in one
                }
                Some(&i) => issues.push(issue(format!(
                    "duplicate control id {:?} (also in {})",
                    c.id, compiled[i].control.source
                ))),
                None => {
                    by_id.insert(c.id.clone(), compiled.len());
                    compiled.push(Arc::new(cc));
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

    pub fn compiled_controls(&self) -> &[Arc<CompiledControl>] {
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

    /// Whether `id` is a workspace's custom control (see [`Catalog::with_custom`]).
    pub fn is_custom(&self, id: &str) -> bool {
        self.control(id).is_some_and(|c| c.source == CUSTOM_SOURCE)
    }

    /// Whether some control applies to assets of this resource type.
    pub fn covers_type(&self, resource_type: &str) -> bool {
        self.by_type.contains_key(resource_type)
    }

    /// This catalog plus a workspace's custom controls. Each is compiled (its query selects the
    /// failing assets), its types and framework requirements are checked, and it is listed under
    /// those requirements so that framework scores count it. The compiled controls of `self` are
    /// shared, not compiled again. Every problem is reported (file `custom control ID`, the
    /// message naming the field: `query`, `resource_types`, `frameworks`, `id`, `title`), and
    /// any problem fails the call.
    pub fn with_custom(&self, defs: &[CustomControlDef]) -> Result<Catalog, LoadError> {
        let (catalog, issues) = self.extend_custom(defs);
        if issues.is_empty() {
            Ok(catalog)
        } else {
            Err(LoadError { issues })
        }
    }

    /// [`Catalog::with_custom`] for custom controls that were valid when they were saved but
    /// may not be now (content changed underneath them): a control that does not load is left
    /// out, a requirement that no longer exists is left out of its mapping, and the problems are
    /// answered for the caller to log.
    pub fn with_custom_lenient(&self, defs: &[CustomControlDef]) -> (Catalog, Vec<LoadIssue>) {
        self.extend_custom(defs)
    }

    fn extend_custom(&self, defs: &[CustomControlDef]) -> (Catalog, Vec<LoadIssue>) {
        let mut issues = Vec::new();
        let mut controls = self.controls.clone();
        let mut frameworks = self.frameworks.clone();
        let mut added: Vec<&str> = Vec::new();
        for d in defs {
            let issue = |message: String| LoadIssue {
                file: format!("custom control {}", d.id),
                line: None,
                column: None,
                message,
            };
            let mut fatal = Vec::new();
            if d.id.is_empty()
                || !d
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                fatal.push(issue(format!(
                    "id {:?} must be non-empty lower-case letters, digits and dashes",
                    d.id
                )));
            } else if self.by_id.contains_key(&d.id) {
                fatal.push(issue(format!(
                    "id {:?} is already the id of a built-in control",
                    d.id
                )));
            } else if added.contains(&d.id.as_str()) {
                fatal.push(issue(format!("id {:?} is given twice", d.id)));
            }
            if d.title.trim().is_empty() {
                fatal.push(issue("title must not be empty".into()));
            }
            let mut types = Vec::new();
            for t in &d.resource_types {
                match ResourceType::parse(t) {
                    Ok(t) if !types.contains(&t) => types.push(t),
                    Ok(_) => {}
                    Err(e) => fatal.push(issue(format!("resource_types: {e}"))),
                }
            }
            if d.resource_types.is_empty() {
                fatal.push(issue("resource_types must name at least one type".into()));
            }
            let program = match Program::compile(&d.query) {
                Ok(p) => Some(p),
                Err(e) => {
                    fatal.push(LoadIssue {
                        line: Some(e.line),
                        column: Some(e.column),
                        ..issue(format!("query: {}", e.message))
                    });
                    None
                }
            };
            let mut refs = Vec::new();
            for (fw_id, reqs) in &d.frameworks {
                let Some(fw) = frameworks.iter().find(|f| &f.id == fw_id) else {
                    issues.push(issue(format!("frameworks: unknown framework {fw_id:?}")));
                    continue;
                };
                for r in reqs {
                    let reference = RequirementRef {
                        framework: fw_id.clone(),
                        requirement: r.clone(),
                    };
                    if !fw.requirements.iter().any(|req| &req.id == r) {
                        issues.push(issue(format!(
                            "frameworks: {fw_id} has no requirement {r:?}"
                        )));
                    } else if !refs.contains(&reference) {
                        refs.push(reference);
                    }
                }
            }
            let Some(condition) = program.filter(|_| fatal.is_empty()) else {
                issues.extend(fatal);
                continue;
            };
            for r in &refs {
                if let Some(req) = frameworks
                    .iter_mut()
                    .find(|f| f.id == r.framework)
                    .and_then(|f| f.requirements.iter_mut().find(|q| q.id == r.requirement))
                {
                    req.controls.push(d.id.clone());
                    req.controls.sort();
                }
            }
            added.push(&d.id);
            controls.push(Arc::new(CompiledControl {
                control: Control {
                    id: d.id.clone(),
                    title: d.title.trim().to_owned(),
                    severity: d.severity,
                    resource_types: types,
                    rationale: d.rationale.clone(),
                    remediation: d.remediation.clone(),
                    references: Vec::new(),
                    frameworks: refs,
                    cross_references: BTreeMap::new(),
                    applies_if: None,
                    // As a condition (true = complies) for readers of `Control`.
                    condition: format!("!(\n{}\n)", d.query),
                    failure_reason: "the custom control's query selects this asset".into(),
                    source: CUSTOM_SOURCE.into(),
                },
                condition,
                applies_if: None,
                selects_failing: true,
                fixtures_pass: Vec::new(),
                fixtures_fail: Vec::new(),
            }));
        }
        controls.sort_by(|a, b| a.control.id.cmp(&b.control.id));
        let by_id = controls
            .iter()
            .enumerate()
            .map(|(i, c)| (c.control.id.clone(), i))
            .collect();
        let mut by_type: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in controls.iter().enumerate() {
            for t in &c.control.resource_types {
                by_type.entry(t.as_str().to_string()).or_default().push(i);
            }
        }
        (
            Catalog {
                controls,
                by_id,
                by_type,
                frameworks,
            },
            issues,
        )
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
        let keep =
            |c: &Arc<CompiledControl>| c.control.frameworks.iter().any(|r| r.framework == id);
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
        self.evaluate_over(&graph, inventory, now, progress)
    }

    /// Evaluates the whole inventory with a graph already bound to it (e.g. a
    /// [`crate::GraphState`] kept up to date across scans, through [`Graph::over`]).
    pub fn evaluate_over(
        &self,
        graph: &Graph<'_>,
        inventory: &Inventory,
        now: DateTime<Utc>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Vec<Evaluation> {
        let mut out = Vec::new();
        for chunk in inventory.assets.chunks(4096) {
            out.extend(self.evaluate_assets_in(chunk, now, Some(graph)));
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::score::framework_scores;
    use rampart_model::Provider;

    const FRAMEWORK: &str = r#"
id: fw
name: Test framework
version: "1"
requirements:
  - {id: "R1", title: "Buckets are private", manual: false}
  - {id: "R2", title: "Production is tagged", manual: false}
  - {id: "R3", title: "Governance", manual: true}
"#;

    const CONTROL: &str = r#"
id: base-bucket-private
title: Buckets are private
severity: high
resource_types: [aws.s3.bucket]
rationale: r
remediation: r
frameworks:
  fw: [R1]
condition: resource.config.public == false
failure_reason: public
"#;

    fn base() -> Catalog {
        Catalog::from_sources(&[("fw.yaml", FRAMEWORK), ("c.yaml", CONTROL)]).unwrap()
    }

    fn def(id: &str, query: &str) -> CustomControlDef {
        CustomControlDef {
            id: id.into(),
            title: "Production buckets are versioned".into(),
            severity: Severity::Critical,
            resource_types: vec!["aws.s3.bucket".into()],
            query: query.into(),
            frameworks: BTreeMap::from([("fw".into(), vec!["R2".into()])]),
            rationale: "Deleted data can be restored.".into(),
            remediation: String::new(),
        }
    }

    fn asset(kind: &str, name: &str, config: serde_json::Value) -> Asset {
        let resource_type = ResourceType::parse(kind).unwrap();
        Asset {
            id: Asset::make_id(Provider::Aws, "1", "eu-west-1", &resource_type, name),
            provider: Provider::Aws,
            account: "1".into(),
            region: "eu-west-1".into(),
            resource_type,
            native_id: name.into(),
            name: name.into(),
            tags: BTreeMap::new(),
            config,
            first_seen: fixture_now(),
            last_seen: fixture_now(),
        }
    }

    /// A custom control fails exactly the assets its query selects (of its types), passes the
    /// others, including those the query cannot be evaluated on, and counts in the framework
    /// requirement it is mapped to.
    #[test]
    fn custom_controls_fail_what_their_query_selects_and_count_in_frameworks() {
        let base = base();
        let query = "resource.config.env == 'prod' && resource.config.versioning != 'Enabled'";
        let catalog = base
            .with_custom(&[def("custom-prod-versioned", query)])
            .unwrap();
        assert_eq!(catalog.len(), 2);
        assert!(catalog.is_custom("custom-prod-versioned"));
        assert!(!catalog.is_custom("base-bucket-private"));
        assert!(
            base.control("custom-prod-versioned").is_none(),
            "the base is unchanged"
        );
        let c = catalog.control("custom-prod-versioned").unwrap();
        assert_eq!(c.severity, Severity::Critical);
        assert_eq!(c.frameworks[0].requirement, "R2");
        let fw = catalog.framework("fw").unwrap();
        assert_eq!(fw.requirements[1].controls, ["custom-prod-versioned"]);
        assert_eq!(fw.requirements[0].controls, ["base-bucket-private"]);
        assert!(
            base.framework("fw").unwrap().requirements[1]
                .controls
                .is_empty()
        );

        let inventory = Inventory {
            assets: vec![
                asset(
                    "aws.s3.bucket",
                    "failing",
                    serde_json::json!({"env": "prod", "versioning": "Suspended", "public": false}),
                ),
                asset(
                    "aws.s3.bucket",
                    "passing",
                    serde_json::json!({"env": "prod", "versioning": "Enabled", "public": false}),
                ),
                // The query cannot be evaluated (no `env`): not selected, so it passes.
                asset(
                    "aws.s3.bucket",
                    "unknown",
                    serde_json::json!({"public": false}),
                ),
                // Another type: not evaluated at all.
                asset("aws.ec2.instance", "vm", serde_json::json!({"env": "prod"})),
            ],
            relationships: Vec::new(),
        };
        let evaluations = catalog.evaluate(&inventory, fixture_now());
        let custom: Vec<(&str, FindingStatus)> = evaluations
            .iter()
            .filter(|e| e.control_id == "custom-prod-versioned")
            .map(|e| {
                let name = inventory
                    .assets
                    .iter()
                    .find(|a| a.id == e.asset_id)
                    .map(|a| a.name.as_str())
                    .unwrap();
                (name, e.status)
            })
            .collect();
        assert_eq!(
            custom,
            [
                ("failing", FindingStatus::Fail),
                ("passing", FindingStatus::Pass),
                ("unknown", FindingStatus::Pass),
            ]
        );
        assert_eq!(
            evaluations
                .iter()
                .filter(|e| e.control_id == "base-bucket-private")
                .count(),
            3,
            "the built-in control still runs"
        );
        let results: Vec<(String, FindingStatus)> = evaluations
            .iter()
            .map(|e| (e.control_id.clone(), e.status))
            .collect();
        let score = &framework_scores(&catalog, &results)[0];
        let r2 = score.requirements.iter().find(|r| r.id == "R2").unwrap();
        assert_eq!(r2.status, "fail");
        assert_eq!(r2.controls, ["custom-prod-versioned"]);
        assert_eq!((score.passing, score.failing), (1, 1));
    }

    /// Bad definitions are refused with an issue naming the field, the requirement or the
    /// position in the query.
    #[test]
    fn bad_custom_controls_are_refused_naming_the_problem() {
        let base = base();
        let messages = |d: CustomControlDef| -> Vec<String> {
            base.with_custom(&[d])
                .err()
                .map(|e| e.issues.iter().map(ToString::to_string).collect())
                .unwrap_or_default()
        };
        let m = messages(def("custom-x", "resource.config.env =="));
        assert!(
            m.len() == 1
                && m[0].starts_with("custom control custom-x:1:")
                && m[0].contains("query:"),
            "{m:?}"
        );
        let mut d = def("custom-x", "true");
        d.frameworks = BTreeMap::from([("fw".into(), vec!["R9".into()])]);
        assert_eq!(
            messages(d),
            ["custom control custom-x: frameworks: fw has no requirement \"R9\""]
        );
        let mut d = def("custom-x", "true");
        d.frameworks = BTreeMap::from([("nope".into(), vec!["R1".into()])]);
        assert_eq!(
            messages(d),
            ["custom control custom-x: frameworks: unknown framework \"nope\""]
        );
        let mut d = def("custom-x", "true");
        d.resource_types = vec!["S3 bucket".into()];
        assert!(messages(d)[0].contains("resource_types:"));
        let mut d = def("custom-x", "true");
        d.resource_types.clear();
        assert!(messages(d)[0].contains("resource_types must name at least one type"));
        assert!(messages(def("base-bucket-private", "true"))[0].contains("built-in control"));
        assert!(messages(def("Custom X", "true"))[0].contains("lower-case"));
        let twice = base.with_custom(&[def("custom-x", "true"), def("custom-x", "false")]);
        assert!(twice.unwrap_err().to_string().contains("given twice"));
    }

    /// Stored controls that no longer load (content changed underneath them) are left out, or
    /// lose only the mapping that went away, and the others still load.
    #[test]
    fn lenient_loading_keeps_what_still_loads() {
        let base = base();
        let mut stale_ref = def("custom-stale-ref", "true");
        stale_ref
            .frameworks
            .insert("fw".into(), vec!["R2".into(), "R9".into()]);
        let (catalog, issues) = base.with_custom_lenient(&[
            def("custom-broken", "(("),
            stale_ref,
            def("custom-fine", "false"),
        ]);
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert!(catalog.control("custom-broken").is_none());
        assert_eq!(
            catalog
                .control("custom-stale-ref")
                .unwrap()
                .frameworks
                .len(),
            1
        );
        assert!(catalog.control("custom-fine").is_some());
        assert_eq!(
            catalog.framework("fw").unwrap().requirements[1].controls,
            ["custom-fine", "custom-stale-ref"]
        );
    }
}
