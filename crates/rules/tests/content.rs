//! The built-in content: it loads, every control has passing and failing fixtures and they
//! evaluate as declared, and the loader rejects bad content with positions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use rampart_model::FindingStatus;
use rampart_rules::Catalog;

fn user_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn builtin_content_loads_with_enough_controls() {
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("built-in content must load:\n{e}"));
    assert!(
        catalog.len() >= 30,
        "issue 2 asks for at least 30 AWS controls, found {}",
        catalog.len()
    );
    assert!(
        catalog.framework("cis-aws-3.0").is_some(),
        "CIS AWS 3.0 framework is built in"
    );
}

#[test]
fn every_builtin_control_has_passing_and_failing_fixtures_that_evaluate_as_declared() {
    let catalog = Catalog::builtin().unwrap();
    let problems = catalog.check_fixtures();
    assert!(
        problems.is_empty(),
        "{} fixture problem(s):\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_cis_section_1_to_5_is_covered() {
    let catalog = Catalog::builtin().unwrap();
    let fw = catalog.framework("cis-aws-3.0").unwrap();
    for section in ["1.", "2.", "3.", "4.", "5."] {
        let mapped = fw
            .requirements
            .iter()
            .filter(|r| r.id.starts_with(section) && !r.controls.is_empty())
            .count();
        assert!(
            mapped > 0,
            "CIS AWS 3.0 section {section} has no mapped control"
        );
    }
}

const GOOD_CONTROL: &str = r#"id: custom-bucket-tagged
title: Buckets carry an owner tag
severity: low
resource_types: [aws.s3.bucket]
rationale: Owners must be reachable.
remediation: Add an owner tag.
condition: |
  has(resource.tags.owner)
failure_reason: The bucket has no owner tag.
fixtures:
  pass:
    - name: tagged
      tags: {owner: team-a}
  fail:
    - name: untagged
"#;

#[test]
fn user_controls_load_and_are_evaluated() {
    let dir = user_dir(&[("tagged.yaml", GOOD_CONTROL)]);
    let catalog = Catalog::load(&[dir.path().to_path_buf()]).unwrap();
    let c = catalog
        .compiled_controls()
        .iter()
        .find(|c| c.control.id == "custom-bucket-tagged")
        .unwrap();
    let now = rampart_rules::fixture_now();
    assert_eq!(
        c.evaluate(&c.fixtures_pass[0].assets[0], now).0,
        FindingStatus::Pass
    );
    assert_eq!(
        c.evaluate(&c.fixtures_fail[0].assets[0], now).0,
        FindingStatus::Fail
    );
    assert!(catalog.check_fixtures().is_empty());
}

#[test]
fn a_control_without_a_failing_fixture_fails_the_fixture_check() {
    let text = GOOD_CONTROL.replace("  fail:\n    - name: untagged\n", "");
    let dir = user_dir(&[("tagged.yaml", &text)]);
    let catalog = Catalog::load(&[dir.path().to_path_buf()]).unwrap();
    let problems = catalog.check_fixtures();
    assert!(
        problems
            .iter()
            .any(|p| p.control_id == "custom-bucket-tagged"
                && p.message.contains("no failing fixture")),
        "{problems:?}"
    );
}

#[test]
fn a_fixture_with_the_wrong_outcome_fails_the_fixture_check() {
    let text = GOOD_CONTROL.replace("tags: {owner: team-a}", "tags: {team: a}");
    let dir = user_dir(&[("tagged.yaml", &text)]);
    let catalog = Catalog::load(&[dir.path().to_path_buf()]).unwrap();
    let problems = catalog.check_fixtures();
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("should pass but evaluated to fail")),
        "{problems:?}"
    );
}

#[test]
fn cel_syntax_errors_report_file_line_and_column() {
    let text = GOOD_CONTROL.replace(
        "has(resource.tags.owner)",
        "has(resource.tags.owner) &&\n  resource.config.x ==",
    );
    let dir = user_dir(&[("broken.yaml", &text)]);
    let err = Catalog::load(&[dir.path().to_path_buf()]).unwrap_err();
    let issue = &err.issues[0];
    assert!(issue.file.ends_with("broken.yaml"), "{issue}");
    // The condition block starts on line 8; the expression's second line is file line 9, and
    // the missing operand is reported at the end of that line.
    assert_eq!(issue.line, Some(9), "{issue}");
    assert_eq!(issue.column, Some(23), "{issue}");
    assert!(
        issue.message.contains("unexpected end of expression"),
        "{issue}"
    );
}

#[test]
fn unknown_fields_and_bad_values_are_rejected_with_positions() {
    let text = GOOD_CONTROL.replace("severity: low", "severity: urgent");
    let dir = user_dir(&[("sev.yaml", &text)]);
    let err = Catalog::load(&[dir.path().to_path_buf()]).unwrap_err();
    assert_eq!(err.issues[0].line, Some(3), "{err}");
    assert!(err.to_string().contains("sev.yaml:3:"), "{err}");

    let text = GOOD_CONTROL.replace("title:", "titel: x\ntitle:");
    let dir = user_dir(&[("typo.yaml", &text)]);
    let err = Catalog::load(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(err.to_string().contains("unknown field `titel`"), "{err}");

    let text = GOOD_CONTROL.replace("[aws.s3.bucket]", "[aws.S3.bucket]");
    let dir = user_dir(&[("type.yaml", &text)]);
    let err = Catalog::load(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(err.to_string().contains("resource type"), "{err}");

    let text = GOOD_CONTROL.replace(
        "fixtures:",
        "frameworks:\n  cis-aws-3.0: [\"99.9\"]\nfixtures:",
    );
    let dir = user_dir(&[("fw.yaml", &text)]);
    let err = Catalog::load(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(
        err.to_string().contains("has no requirement \"99.9\""),
        "{err}"
    );
}

#[test]
fn a_user_control_replaces_a_builtin_one_with_the_same_id() {
    let catalog = Catalog::builtin().unwrap();
    let id = catalog.controls().next().unwrap().id.clone();
    let text = GOOD_CONTROL.replace("custom-bucket-tagged", &id);
    let dir = user_dir(&[("override.yaml", &text)]);
    let catalog2 = Catalog::load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(catalog2.len(), catalog.len());
    assert_eq!(
        catalog2.control(&id).unwrap().title,
        "Buckets carry an owner tag"
    );
}

#[test]
fn a_missing_controls_directory_is_a_clear_error() {
    let err = Catalog::load(&[PathBuf::from("/nonexistent/rampart-controls")]).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/rampart-controls"),
        "{err}"
    );
}

#[test]
fn framework_scores_follow_results() {
    let catalog = Catalog::builtin().unwrap();
    let fw = catalog.framework("cis-aws-3.0").unwrap();
    let req = fw
        .requirements
        .iter()
        .find(|r| !r.manual && !r.controls.is_empty())
        .unwrap();
    let control = req.controls[0].clone();
    let pass =
        rampart_rules::score::framework_scores(&catalog, &[(control.clone(), FindingStatus::Pass)]);
    let cis = pass
        .iter()
        .find(|s| s.framework_id == "cis-aws-3.0")
        .unwrap();
    assert_eq!(
        cis.requirements
            .iter()
            .find(|r| r.id == req.id)
            .unwrap()
            .status,
        "pass"
    );
    assert_eq!(cis.failing, 0);
    assert!((cis.percent - 100.0).abs() < f64::EPSILON);
    let fail = rampart_rules::score::framework_scores(
        &catalog,
        &[
            (control.clone(), FindingStatus::Pass),
            (control, FindingStatus::Fail),
        ],
    );
    let cis = fail
        .iter()
        .find(|s| s.framework_id == "cis-aws-3.0")
        .unwrap();
    assert_eq!(
        cis.requirements
            .iter()
            .find(|r| r.id == req.id)
            .unwrap()
            .status,
        "fail"
    );
    assert_eq!(cis.percent, 0.0);
    assert!(cis.manual > 0, "manual requirements are counted apart");
}

const RELATED_CONTROL: &str = r#"id: custom-sg-unused-or-private
title: Security groups open to the world are attached to no running instance
severity: medium
resource_types: [aws.ec2.security_group]
rationale: r
remediation: r
condition: |
  !resource.config.open || !related('~uses').exists(i, i.config.state == 'running')
failure_reason: An open security group protects a running instance.
fixtures:
  pass:
    - name: open-but-unused
      config: {open: true}
    - name: open-stopped
      config: {open: true}
      related:
        - kind: uses
          incoming: true
          asset: {name: stopped, type: aws.ec2.instance, config: {state: stopped}}
  fail:
    - name: open-running
      config: {open: true}
      related:
        - kind: uses
          incoming: true
          asset: {name: web, type: aws.ec2.instance, config: {state: running}}
"#;

#[test]
fn cross_resource_controls_follow_relationships_in_fixtures_and_inventories() {
    let dir = user_dir(&[("related.yaml", RELATED_CONTROL)]);
    let catalog = Catalog::load(&[dir.path().to_path_buf()]).unwrap();
    let problems: Vec<_> = catalog
        .check_fixtures()
        .into_iter()
        .filter(|p| p.control_id == "custom-sg-unused-or-private")
        .collect();
    assert!(problems.is_empty(), "{problems:?}");

    // The same control over a whole inventory: evaluate() builds the graph.
    let c = catalog
        .compiled_controls()
        .iter()
        .find(|c| c.control.id == "custom-sg-unused-or-private")
        .unwrap();
    let inventory = &c.fixtures_fail[0];
    let results = catalog.evaluate(inventory, rampart_rules::fixture_now());
    let sg = &inventory.assets[0];
    let r = results
        .iter()
        .find(|e| e.control_id == "custom-sg-unused-or-private" && e.asset_id == sg.id)
        .unwrap();
    assert_eq!(r.status, FindingStatus::Fail);
    // Without relationships, related() is an evaluation error, not a silent pass.
    assert_eq!(
        c.evaluate(sg, rampart_rules::fixture_now()).0,
        FindingStatus::Error
    );
}

#[test]
fn related_paths_are_checked_at_load_time() {
    let text = RELATED_CONTROL.replace("related('~uses')", "related('Uses!')");
    let dir = user_dir(&[("related.yaml", &text)]);
    let err = Catalog::load(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(err.to_string().contains("invalid edge kind"), "{err}");
}

fn reference_dir() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/cyscale-grc-cms");
    assert!(
        dir.join("controls").is_dir(),
        "the reference catalogue is missing at {}: the project expects ../shared/ beside the checkout",
        dir.display()
    );
    dir
}

#[test]
fn every_enabled_reference_aws_control_is_covered_or_documented() {
    let catalog = Catalog::builtin().unwrap();
    let cov = rampart_rules::coverage::cyscale_coverage(
        &catalog,
        &reference_dir(),
        "aws",
        rampart_rules::builtin::coverage_doc(),
    )
    .unwrap();
    assert!(
        cov.total() >= 90,
        "the reference has ~93 enabled AWS controls, read {}",
        cov.total()
    );
    assert!(
        cov.missing.is_empty(),
        "reference slugs neither covered by a control's cross_references.cyscale nor listed in docs/coverage.md: {:?}",
        cov.missing
    );
    // Every slug a control names must exist in the reference (no typos passing as coverage).
    let index = catalog.cross_reference_index();
    for slug in index
        .get("cyscale")
        .map(|m| m.keys().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        let file = reference_dir()
            .join("controls")
            .join(format!("{slug}.json"));
        let known = file.exists()
            || std::fs::read_dir(reference_dir().join("controls"))
                .unwrap()
                .any(|e| {
                    std::fs::read_to_string(e.unwrap().path())
                        .is_ok_and(|t| t.contains(&format!("\"slug\": \"{slug}\"")))
                });
        assert!(known, "cross_references.cyscale names unknown slug {slug}");
    }
}

#[test]
fn every_automated_cis_aws_recommendation_has_a_control() {
    let catalog = Catalog::builtin().unwrap();
    let cov = rampart_rules::coverage::framework_coverage(&catalog, "cis-aws-3.0").unwrap();
    assert!(
        cov.missing.is_empty(),
        "CIS AWS 3.0 requirements without a control: {:?}",
        cov.missing
    );
    assert!(cov.automated.len() >= 50, "{cov:?}");
}

#[test]
fn ten_frameworks_load_and_score_on_the_demo_inventory() {
    let catalog = Catalog::builtin().unwrap();
    let expected = [
        "cis-aws-3.0",
        "soc2",
        "iso-27001-2022",
        "nist-800-53-r5",
        "pci-dss-4.0",
        "hipaa",
        "gdpr",
        "nis2",
        "aws-well-architected-security",
        "rampart-platform-baseline",
    ];
    for id in expected {
        let fw = catalog
            .framework(id)
            .unwrap_or_else(|| panic!("framework {id} is built in"));
        assert!(
            fw.requirements.iter().any(|r| !r.controls.is_empty()),
            "framework {id} has no requirement mapped to a control"
        );
    }
    let inventory = rampart_import::parse_snapshot(
        "demo.jsonl",
        rampart_rules::builtin::sample_inventory(),
        chrono::Utc::now(),
    )
    .unwrap();
    let now = inventory.assets.iter().map(|a| a.last_seen).max().unwrap();
    let evaluations = catalog.evaluate(&inventory, now);
    let results: Vec<(String, FindingStatus)> = evaluations
        .iter()
        .map(|e| (e.control_id.clone(), e.status))
        .collect();
    let scores = rampart_rules::score::framework_scores(&catalog, &results);
    for id in expected {
        let s = scores.iter().find(|s| s.framework_id == id).unwrap();
        assert!(
            s.passing + s.failing > 0,
            "framework {id} scores nothing on the demo data: {s:?}"
        );
        assert!((0.0..=100.0).contains(&s.percent));
    }
    // Per-asset scores stay within 0..=100 and a clean asset keeps 100.
    let assets = rampart_rules::score::asset_scores(&catalog, &evaluations);
    assert!(assets.values().all(|s| (0.0..=100.0).contains(s)));
    assert!(assets.values().any(|s| *s == 100.0));
    assert!(assets.values().any(|s| *s < 100.0));
}
