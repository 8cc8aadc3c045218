//! The onboarding Terraform (deploy/azure/terraform) grants what the collector needs: parsed with
//! hcl-rs and checked against the crate's own lists.

use std::path::PathBuf;

use hcl::{Block, Body, Expression};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/azure/terraform")
}

fn parse(name: &str) -> Body {
    let text = std::fs::read_to_string(dir().join(name)).expect("read");
    hcl::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn blocks<'a>(body: &'a Body, kind: &str, labels: &[&str]) -> Vec<&'a Block> {
    body.blocks()
        .filter(|b| b.identifier() == kind)
        .filter(|b| {
            labels
                .iter()
                .enumerate()
                .all(|(i, l)| b.labels().get(i).map(|x| x.as_str()) == Some(*l))
        })
        .collect()
}

fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key() == key).map(|a| a.expr())
}

fn strings(e: &Expression) -> Vec<String> {
    match e {
        Expression::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Expression::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn text(e: &Expression) -> String {
    e.to_string()
}

#[test]
fn grants_reader_and_security_reader_on_every_scope() {
    let main = parse("main.tf");
    let locals = blocks(&main, "locals", &[]);
    let local = |k: &str| {
        locals
            .iter()
            .find_map(|b| attr(b.body(), k))
            .unwrap_or_else(|| panic!("local {k}"))
    };
    assert_eq!(strings(local("scanner_roles")), rampart_azure::ARM_ROLES);
    let ra = blocks(&main, "resource", &["azurerm_role_assignment", "scanner"]);
    assert_eq!(ra.len(), 1);
    let body = ra[0].body();
    assert!(text(attr(body, "for_each").expect("for_each")).contains("role_assignments"));
    assert!(text(attr(body, "role_definition_name").expect("role")).contains("each.value.role"));
    assert!(text(attr(body, "scope").expect("scope")).contains("each.value.scope"));
    assert!(
        text(attr(body, "principal_id").expect("principal"))
            .contains("azuread_service_principal.rampart.object_id")
    );
    // Every pair (scope, role), subscriptions and the management group alike.
    let pairs = text(local("role_assignments"));
    assert!(
        pairs.contains("setproduct(local.scopes, local.scanner_roles)"),
        "{pairs}"
    );
    let scopes = text(local("scopes"));
    assert!(scopes.contains("/subscriptions/"), "{scopes}");
    assert!(
        scopes.contains("/providers/Microsoft.Management/managementGroups/"),
        "{scopes}"
    );
    let vars = parse("variables.tf");
    assert_eq!(blocks(&vars, "variable", &["subscription_ids"]).len(), 1);
    assert_eq!(blocks(&vars, "variable", &["management_group_id"]).len(), 1);
}

#[test]
fn requests_and_consents_the_graph_permissions_the_collector_uses() {
    let main = parse("main.tf");
    let perms = blocks(&main, "locals", &[])
        .iter()
        .find_map(|b| attr(b.body(), "graph_permissions"))
        .map(strings)
        .expect("graph_permissions");
    let mut want: Vec<String> = rampart_azure::GRAPH_PERMISSIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut got = perms.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    for p in [
        "Directory.Read.All",
        "Policy.Read.All",
        "AuditLog.Read.All",
        "UserAuthenticationMethod.Read.All",
        "Reports.Read.All",
    ] {
        assert!(perms.iter().any(|x| x == p), "{p}");
    }
    // Requested on the app registration, as application permissions (Role) …
    let app = blocks(&main, "resource", &["azuread_application", "rampart"]);
    assert_eq!(app.len(), 1);
    let rra = blocks(app[0].body(), "required_resource_access", &[]);
    assert_eq!(rra.len(), 1);
    assert!(
        text(attr(rra[0].body(), "resource_app_id").expect("app id")).contains("MicrosoftGraph")
    );
    let dynamic = blocks(rra[0].body(), "dynamic", &["resource_access"]);
    assert_eq!(dynamic.len(), 1);
    assert!(
        text(attr(dynamic[0].body(), "for_each").expect("for_each"))
            .contains("local.graph_permissions")
    );
    let content = blocks(dynamic[0].body(), "content", &[]);
    assert_eq!(
        attr(content[0].body(), "type"),
        Some(&Expression::String("Role".into()))
    );
    // … and consented: one app role assignment per permission on Microsoft Graph.
    let consent = blocks(&main, "resource", &["azuread_app_role_assignment", "graph"]);
    assert_eq!(consent.len(), 1);
    let body = consent[0].body();
    assert!(text(attr(body, "for_each").expect("for_each")).contains("local.graph_permissions"));
    assert!(
        text(attr(body, "resource_object_id").expect("resource"))
            .contains("azuread_service_principal.msgraph")
    );
    assert!(
        text(attr(body, "principal_object_id").expect("principal"))
            .contains("azuread_service_principal.rampart")
    );
}

#[test]
fn the_client_secret_output_is_sensitive() {
    let outputs = parse("outputs.tf");
    let secret = blocks(&outputs, "output", &["client_secret"]);
    assert_eq!(secret.len(), 1);
    assert_eq!(
        attr(secret[0].body(), "sensitive"),
        Some(&Expression::Bool(true))
    );
    assert!(
        text(attr(secret[0].body(), "value").expect("value"))
            .contains("azuread_application_password.rampart.value")
    );
    for name in ["tenant_id", "client_id"] {
        assert_eq!(blocks(&outputs, "output", &[name]).len(), 1, "{name}");
    }
    // No other output hands out the secret.
    for b in blocks(&outputs, "output", &[]) {
        if b.labels()[0].as_str() != "client_secret" {
            let v = text(attr(b.body(), "value").expect("value"));
            assert!(!v.contains(".value"), "{v}");
        }
    }
}
