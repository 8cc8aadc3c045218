//! The collector's operations are all listed in `operations::OPERATIONS`, and the onboarding
//! templates in deploy/aws/ grant every action they need (and nothing that writes).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rampart_aws::operations::{OPERATIONS, actions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// SDK operations called in src/: `<client>.<op>()` where the method is a read operation.
fn called_operations() -> BTreeSet<String> {
    let re = regex::Regex::new(
        r"\b(?:client|global|c|sts|cw|logs|sns)\s*\.\s*((?:list|get|describe|generate)_[a-z0-9_]+)\(\)",
    )
    .unwrap();
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("operations.rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for cap in re.captures_iter(&text) {
                out.insert(cap[1].to_string());
            }
        }
    }
    out
}

#[test]
fn every_called_operation_is_listed_and_every_listed_one_is_called() {
    let called = called_operations();
    assert!(
        called.len() > 50,
        "the source scan finds the calls: {called:?}"
    );
    let listed: BTreeSet<String> = OPERATIONS.iter().map(|(m, _)| m.to_string()).collect();
    // sts:GetCallerIdentity needs no permission.
    let unlisted: Vec<_> = called
        .difference(&listed)
        .filter(|m| m.as_str() != "get_caller_identity")
        .collect();
    assert!(
        unlisted.is_empty(),
        "called but not in OPERATIONS: {unlisted:?}"
    );
    let uncalled: Vec<_> = listed.difference(&called).collect();
    assert!(uncalled.is_empty(), "listed but never called: {uncalled:?}");
}

fn template(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn onboarding_templates_grant_every_action_read_only() {
    let cfn_path = root().join("../../deploy/aws/cloudformation/rampart-readonly-role.yaml");
    let tf_path = root().join("../../deploy/aws/terraform/main.tf");
    let cfn = template(&cfn_path);
    let tf = template(&tf_path);
    for text in [&cfn, &tf] {
        assert!(text.contains("iam::aws:policy/SecurityAudit"));
        assert!(text.contains("sts:ExternalId"));
    }
    let cfn_actions: BTreeSet<String> = cfn
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter(|a| a.contains(':') && !a.contains(' '))
        .map(str::to_string)
        .collect();
    let tf_actions: BTreeSet<String> = tf
        .lines()
        .filter_map(|l| {
            let l = l.trim().trim_end_matches(',');
            l.strip_prefix('"')?.strip_suffix('"').map(str::to_string)
        })
        .filter(|a| a.contains(':') && !a.contains(' ') && !a.starts_with("hashicorp"))
        .collect();
    for action in actions() {
        assert!(
            cfn_actions.contains(action),
            "{} does not grant {action}",
            cfn_path.display()
        );
        assert!(
            tf_actions.contains(action),
            "{} does not grant {action}",
            tf_path.display()
        );
    }
    let read_only = |a: &str| {
        let op = a.split(':').nth(1).unwrap_or("");
        ["List", "Get", "Describe", "GenerateCredentialReport"]
            .iter()
            .any(|p| op.starts_with(p))
            || a == "sts:AssumeRole"
    };
    for a in cfn_actions.iter().chain(tf_actions.iter()) {
        assert!(read_only(a), "non-read action {a} in a template");
    }
}
