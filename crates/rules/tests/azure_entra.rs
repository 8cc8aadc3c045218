//! Azure end to end: the importer's fixture files (crates/import/tests/data/azure/) evaluated by
//! the built-in catalogue, and the coverage of CIS Azure 3.0 section 2 (identity), 3.1 and 3.2
//! (Defender for Cloud, Defender for IoT) and of the reference `entra` controls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rampart_model::{FindingStatus, Inventory};
use rampart_rules::Catalog;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../import/tests/data/azure")
        .join(rel)
}

fn reference_dir() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/cyscale-grc-cms");
    assert!(
        dir.join("controls").is_dir(),
        "the reference catalogue is missing at {}",
        dir.display()
    );
    dir
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn inventory() -> Inventory {
    let mut files = vec![data("resource-graph.json"), data("authorization-rows.json")];
    let mut entra: Vec<PathBuf> = std::fs::read_dir(data("entra"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entra.sort();
    files.extend(entra);
    rampart_import::load_files(&files, now()).unwrap()
}

/// (control id, asset name) → status, for every evaluation.
fn results(inv: &Inventory) -> BTreeMap<(String, String), FindingStatus> {
    let catalog = Catalog::builtin().unwrap();
    let names: BTreeMap<&str, &str> = inv
        .assets
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    catalog
        .evaluate(inv, now())
        .into_iter()
        .map(|e| {
            (
                (e.control_id.clone(), names[e.asset_id.as_str()].to_string()),
                e.status,
            )
        })
        .collect()
}

fn status(
    r: &BTreeMap<(String, String), FindingStatus>,
    control: &str,
    asset: &str,
) -> FindingStatus {
    *r.get(&(control.to_string(), asset.to_string()))
        .unwrap_or_else(|| panic!("no evaluation of {control} on {asset}"))
}

#[test]
fn imported_tenant_and_subscription_give_the_expected_findings() {
    let inv = inventory();
    let r = results(&inv);
    use FindingStatus::{Fail, NotApplicable, Pass};

    // Security defaults are off and the only Conditional Access policy covers administrators:
    // MFA is not enforced for everyone, but it is for the admin roles.
    let tenant = "Contoso Ltd";
    assert_eq!(
        status(&r, "azure-entra-mfa-required-for-all-users", tenant),
        Fail
    );
    assert_eq!(
        status(&r, "azure-entra-mfa-required-for-admin-roles", tenant),
        Pass
    );
    assert_eq!(
        status(&r, "azure-entra-security-defaults-enabled", tenant),
        Pass
    );
    assert_eq!(
        status(&r, "azure-entra-mfa-required-for-risky-sign-ins", tenant),
        Fail
    );
    // The authorization policy still has Microsoft's permissive defaults.
    for id in [
        "azure-entra-users-cannot-register-apps",
        "azure-entra-user-consent-disabled",
        "azure-entra-user-consent-verified-publishers-only",
        "azure-entra-non-admins-cannot-create-tenants",
        "azure-entra-guest-invites-restricted",
        "azure-entra-guest-access-restricted",
        "azure-entra-microsoft365-group-creation-restricted",
    ] {
        assert_eq!(status(&r, id, tenant), Fail, "{id}");
    }
    // One Global Administrator only; no lockout settings exported, so the defaults pass.
    assert_eq!(
        status(&r, "azure-entra-global-admins-fewer-than-five", tenant),
        Pass
    );
    assert_eq!(status(&r, "azure-entra-lockout-threshold", tenant), Pass);
    // Settings that were not exported are not applicable, never failed.
    assert_eq!(
        status(&r, "azure-entra-sspr-two-methods", tenant),
        NotApplicable
    );

    // Alice (Global Administrator, MFA registered) passes the privileged check; Bob (no role,
    // nothing registered) fails the user check; Carl (a guest without registration details or
    // sign-in activity) is not judged on MFA but fails the stale-guest check.
    assert_eq!(
        status(
            &r,
            "azure-entra-privileged-user-mfa-registered",
            "Alice Admin"
        ),
        Pass
    );
    assert_eq!(
        status(&r, "azure-entra-user-mfa-registered", "Alice Admin"),
        NotApplicable
    );
    assert_eq!(
        status(&r, "azure-entra-user-mfa-registered", "Bob Builder"),
        Fail
    );
    assert_eq!(
        status(
            &r,
            "azure-entra-privileged-user-mfa-registered",
            "Bob Builder"
        ),
        NotApplicable
    );
    assert_eq!(
        status(&r, "azure-entra-user-mfa-registered", "Carl Guest"),
        NotApplicable
    );
    assert_eq!(
        status(&r, "azure-entra-inactive-guests-disabled", "Carl Guest"),
        Fail
    );
    assert_eq!(
        status(&r, "azure-entra-inactive-guests-disabled", "Bob Builder"),
        NotApplicable
    );

    // Defender for Cloud on the subscription: servers on, SQL off, MCAS off, endpoint on.
    let sub = "prod";
    assert_eq!(status(&r, "azure-security-defender-for-servers", sub), Pass);
    assert_eq!(
        status(&r, "azure-security-defender-for-sql-databases", sub),
        Fail
    );
    assert_eq!(
        status(
            &r,
            "azure-security-defender-for-cloud-apps-integration",
            sub
        ),
        Fail
    );
    assert_eq!(
        status(&r, "azure-security-defender-for-endpoint-integration", sub),
        Pass
    );
    assert_eq!(status(&r, "azure-security-alerts-notify-owners", sub), Fail);
    assert_eq!(
        status(&r, "azure-security-contact-email-configured", sub),
        Fail
    );
    assert_eq!(
        status(&r, "azure-security-alert-notifications-high-severity", sub),
        Pass
    );
    assert_eq!(status(&r, "azure-security-auto-provisioning-on", sub), Fail);
    // The custom role with "*" at subscription scope; the subscription has no lock-admin role.
    assert_eq!(
        status(
            &r,
            "azure-authorization-no-custom-subscription-owner-role",
            "3c4d5e6f-0000-4000-8000-00000000c0de"
        ),
        Fail
    );
    assert_eq!(
        status(
            &r,
            "azure-authorization-no-custom-subscription-owner-role",
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
        ),
        NotApplicable
    );
    assert_eq!(
        status(
            &r,
            "azure-authorization-custom-role-for-resource-locks",
            sub
        ),
        Fail
    );
    assert_eq!(
        status(&r, "azure-resources-resource-group-locked", "rg-prod"),
        Fail
    );

    // No control errors on real import output (a missing optional field must make a control
    // fail or not apply, never error).
    let errors: Vec<_> = r
        .iter()
        .filter(|(_, s)| **s == FindingStatus::Error)
        .map(|(k, _)| k.clone())
        .collect();
    assert!(errors.is_empty(), "evaluation errors: {errors:?}");
}

#[test]
fn a_tenant_that_turns_on_security_defaults_passes_the_mfa_control() {
    let mut inv = inventory();
    let tenant = inv
        .assets
        .iter_mut()
        .find(|a| a.resource_type.as_str() == "azure.entra.tenant")
        .unwrap();
    tenant.config["securityDefaults"]["isEnabled"] = serde_json::Value::Bool(true);
    let r = results(&inv);
    assert_eq!(
        status(&r, "azure-entra-mfa-required-for-all-users", "Contoso Ltd"),
        FindingStatus::Pass
    );
}

#[test]
fn a_vm_with_a_managed_identity_fails_once_an_inherited_owner_loses_mfa() {
    // vm-web has a system-assigned identity; Alice holds Owner on its subscription.
    let mut inv = inventory();
    let r = results(&inv);
    assert_eq!(
        status(&r, "azure-vm-privileged-access-requires-mfa", "vm-web"),
        FindingStatus::Pass
    );
    let alice = inv
        .assets
        .iter_mut()
        .find(|a| a.name == "Alice Admin")
        .unwrap();
    alice.config["registrationDetails"]["isMfaRegistered"] = serde_json::Value::Bool(false);
    let r = results(&inv);
    assert_eq!(
        status(&r, "azure-vm-privileged-access-requires-mfa", "vm-web"),
        FindingStatus::Fail
    );
    assert_eq!(
        status(
            &r,
            "azure-entra-privileged-user-mfa-registered",
            "Alice Admin"
        ),
        FindingStatus::Fail
    );
}

#[test]
fn every_enabled_reference_entra_control_is_covered_or_documented() {
    let catalog = Catalog::builtin().unwrap();
    let cov = rampart_rules::coverage::cyscale_coverage(
        &catalog,
        &reference_dir(),
        "entra",
        rampart_rules::builtin::coverage_doc(),
    )
    .unwrap();
    assert!(
        cov.total() >= 30,
        "the reference has 31 enabled entra controls, read {}",
        cov.total()
    );
    assert!(
        cov.missing.is_empty(),
        "entra reference slugs neither covered nor listed in docs/coverage-azure.md: {:?}",
        cov.missing
    );
    let covered = cov.covered.len() as f64 / cov.total() as f64;
    assert!(
        covered >= 0.9,
        "only {}/{} enabled entra reference controls are covered",
        cov.covered.len(),
        cov.total()
    );
}

#[test]
fn every_automated_cis_azure_identity_and_defender_recommendation_has_a_control() {
    let catalog = Catalog::builtin().unwrap();
    let fw = catalog
        .framework("cis-azure-3.0")
        .expect("CIS Azure 3.0 is built in");
    let mut missing = Vec::new();
    let mut automated = 0;
    for req in &fw.requirements {
        let identity_or_defender = req.id.split('.').next() == Some("2")
            || req.id.starts_with("3.1.")
            || req.id.starts_with("3.2.");
        if !identity_or_defender || req.manual {
            continue;
        }
        automated += 1;
        if req.controls.is_empty() {
            missing.push(req.id.as_str());
        }
    }
    assert!(
        automated >= 20,
        "read only {automated} automated requirements in sections 2, 3.1 and 3.2"
    );
    // Every one has a control, the Defender for Containers components (3.1.4.2, 3.1.4.3) and the
    // system updates assessments (3.1.10) included.
    assert!(
        missing.is_empty(),
        "CIS Azure 3.0 identity and Defender requirements without a control: {missing:?}"
    );
}
