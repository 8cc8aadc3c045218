//! The onboarding Terraform (deploy/gcp/terraform) parses, grants the roles the collector needs at
//! each level, enables the Cloud Asset API, and keeps the key output sensitive.

use hcl::{Block, Body, Expression};

fn load(file: &str) -> Body {
    let path = format!(
        "{}/../../deploy/gcp/terraform/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    hcl::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn blocks<'a>(body: &'a Body, kind: &str) -> Vec<&'a Block> {
    body.blocks().filter(|b| b.identifier() == kind).collect()
}

fn labelled<'a>(body: &'a Body, kind: &str, labels: &[&str]) -> &'a Block {
    blocks(body, kind)
        .into_iter()
        .find(|b| {
            b.labels()
                .iter()
                .map(|l| l.as_str())
                .eq(labels.iter().copied())
        })
        .unwrap_or_else(|| panic!("no {kind} {labels:?}"))
}

fn attr<'a>(block: &'a Block, key: &str) -> &'a Expression {
    block
        .body()
        .attributes()
        .find(|a| a.key() == key)
        .map(|a| a.expr())
        .unwrap_or_else(|| panic!("no attribute {key} in {}", block.identifier()))
}

/// Every string literal inside an expression (arrays, function arguments, conditionals).
fn strings(expr: &Expression, out: &mut Vec<String>) {
    match expr {
        Expression::String(s) => out.push(s.clone()),
        Expression::Array(items) => items.iter().for_each(|e| strings(e, out)),
        Expression::FuncCall(f) => f.args.iter().for_each(|e| strings(e, out)),
        Expression::Parenthesis(e) => strings(e, out),
        Expression::Conditional(c) => {
            strings(&c.true_expr, out);
            strings(&c.false_expr, out);
        }
        _ => {}
    }
}

#[test]
fn grants_the_three_read_only_roles() {
    let main = load("main.tf");
    let locals = blocks(&main, "locals");
    let roles = locals
        .iter()
        .find_map(|b| b.body().attributes().find(|a| a.key() == "scanner_roles"))
        .expect("locals.scanner_roles");
    let mut found = Vec::new();
    strings(roles.expr(), &mut found);
    for role in [
        "roles/viewer",
        "roles/iam.securityReviewer",
        "roles/cloudasset.viewer",
    ] {
        assert!(found.iter().any(|r| r == role), "{role} missing: {found:?}");
    }
    // Granted at each level through the same list.
    for kind in [
        "google_project_iam_member",
        "google_folder_iam_member",
        "google_organization_iam_member",
    ] {
        let block = labelled(&main, "resource", &[kind, "scanner"]);
        let for_each = format!("{:?}", attr(block, "for_each"));
        assert!(for_each.contains("scanner_roles"), "{kind}: {for_each}");
        let member = format!("{:?}", attr(block, "member"));
        assert!(member.contains("member"), "{kind}: {member}");
    }
    labelled(&main, "resource", &["google_service_account", "scanner"]);
    let key = labelled(
        &main,
        "resource",
        &["google_service_account_key", "scanner"],
    );
    assert!(format!("{:?}", attr(key, "count")).contains("create_key"));
}

#[test]
fn enables_the_cloud_asset_api() {
    let vars = load("variables.tf");
    let apis = labelled(&vars, "variable", &["enable_apis"]);
    let mut found = Vec::new();
    strings(attr(apis, "default"), &mut found);
    assert!(
        found.iter().any(|s| s == "cloudasset.googleapis.com"),
        "{found:?}"
    );
    let main = load("main.tf");
    let service = labelled(&main, "resource", &["google_project_service", "apis"]);
    assert!(format!("{:?}", attr(service, "for_each")).contains("enable_apis"));
    for v in [
        "project_id",
        "scan_level",
        "folder_id",
        "organization_id",
        "create_key",
    ] {
        labelled(&vars, "variable", &[v]);
    }
}

#[test]
fn the_key_output_is_sensitive() {
    let outputs = load("outputs.tf");
    let key = labelled(&outputs, "output", &["private_key_json"]);
    assert_eq!(attr(key, "sensitive"), &Expression::Bool(true));
    labelled(&outputs, "output", &["service_account_email"]);
    labelled(&outputs, "output", &["scope"]);
}
