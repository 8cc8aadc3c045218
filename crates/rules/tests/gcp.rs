//! The built-in GCP content: CIS GCP 2.0 coverage, reference coverage, and an end-to-end run of
//! the catalog over a Cloud Asset Inventory export imported with `rampart_import`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use rampart_model::{FindingStatus, Inventory};
use rampart_rules::Catalog;

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
fn every_automated_cis_gcp_recommendation_has_a_control() {
    let catalog = Catalog::builtin().unwrap();
    let cov = rampart_rules::coverage::framework_coverage(&catalog, "cis-gcp-2.0")
        .expect("the CIS GCP 2.0 framework is built in");
    assert!(
        cov.missing.is_empty(),
        "CIS GCP 2.0 automated recommendations without a control: {:?}",
        cov.missing
    );
    // The benchmark has 84 recommendations; most are automated.
    assert_eq!(cov.automated.len() + cov.manual.len(), 84, "{cov:?}");
    assert!(cov.automated.len() >= 70, "{cov:?}");
}

#[test]
fn every_gcp_control_maps_to_cis_gcp_or_the_reference() {
    let catalog = Catalog::builtin().unwrap();
    let gcp: Vec<_> = catalog
        .controls()
        .filter(|c| c.id.starts_with("gcp-"))
        .collect();
    assert!(gcp.len() >= 100, "found {} GCP controls", gcp.len());
    for c in gcp {
        assert!(
            c.resource_types
                .iter()
                .all(|t| t.provider() == rampart_model::Provider::Gcp),
            "{} targets a non-GCP type",
            c.id
        );
        let cis = c.frameworks.iter().any(|r| r.framework == "cis-gcp-2.0");
        let cyscale = c.cross_references.contains_key("cyscale");
        assert!(
            cis || cyscale,
            "{} maps to neither CIS GCP nor the reference",
            c.id
        );
        assert!(
            c.frameworks.iter().any(|r| r.framework != "cis-gcp-2.0"),
            "{} maps to no general framework",
            c.id
        );
    }
}

#[test]
fn every_enabled_reference_gcp_control_is_covered_or_documented() {
    let catalog = Catalog::builtin().unwrap();
    let cov = rampart_rules::coverage::cyscale_coverage(
        &catalog,
        &reference_dir(),
        "gcp",
        rampart_rules::builtin::coverage_doc(),
    )
    .unwrap();
    assert!(
        cov.total() >= 100,
        "the reference has ~101 enabled GCP controls, read {}",
        cov.total()
    );
    assert!(
        cov.missing.is_empty(),
        "reference GCP slugs neither covered by a control's cross_references.cyscale nor listed in docs/coverage-gcp.md: {:?}",
        cov.missing
    );
    assert!(
        cov.covered_percent() >= 90.0,
        "only {:.1} % of the enabled reference GCP controls are covered (documented: {:?})",
        cov.covered_percent(),
        cov.documented
    );
    // A documented slug that is covered after all should leave the "not covered yet" table.
    let doc = include_str!("../../../docs/coverage-gcp.md");
    let section = doc
        .split("## Reference controls not covered yet")
        .nth(1)
        .expect("docs/coverage-gcp.md has a \"not covered yet\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let documented = rampart_rules::coverage::documented_uncovered(section);
    assert_eq!(
        documented.len(),
        cov.total() - cov.covered.len(),
        "{documented:?}"
    );
    for slug in &documented {
        assert!(
            !cov.covered.contains_key(slug),
            "{slug} is covered but still listed as not covered in docs/coverage-gcp.md"
        );
    }
}

fn export() -> Inventory {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../import/tests/data/gcp/export.jsonl");
    rampart_import::load_files(&[path], chrono::Utc::now()).unwrap()
}

fn status(
    inv: &Inventory,
    evals: &[rampart_model::Evaluation],
    control: &str,
    asset_type: &str,
    name: &str,
) -> FindingStatus {
    let asset = inv
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == asset_type && a.name == name)
        .unwrap_or_else(|| panic!("no {asset_type} {name}"));
    evals
        .iter()
        .find(|e| e.control_id == control && e.asset_id == asset.id)
        .unwrap_or_else(|| panic!("{control} was not evaluated on {name}"))
        .status
}

#[test]
fn the_catalog_evaluates_an_imported_cai_export() {
    let catalog = Catalog::builtin().unwrap();
    let inv = export();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let evals = catalog.evaluate(&inv, now);
    let errors: Vec<_> = evals
        .iter()
        .filter(|e| e.status == FindingStatus::Error)
        .map(|e| format!("{} on {}: {}", e.control_id, e.asset_id, e.reason))
        .collect();
    assert!(
        errors.is_empty(),
        "evaluation errors:\n{}",
        errors.join("\n")
    );

    use FindingStatus::{Fail, NotApplicable, Pass};
    let cases: &[(&str, &str, &str, FindingStatus)] = &[
        // Storage: allUsers on one bucket, the log bucket locked and private.
        (
            "gcp-storage-bucket-not-public",
            "gcp.storage.bucket",
            "acme-prod-public-assets",
            Fail,
        ),
        (
            "gcp-storage-bucket-not-public",
            "gcp.storage.bucket",
            "acme-prod-audit-logs",
            Pass,
        ),
        (
            "gcp-storage-bucket-uniform-access",
            "gcp.storage.bucket",
            "acme-prod-public-assets",
            Fail,
        ),
        (
            "gcp-storage-log-bucket-retention-locked",
            "gcp.storage.bucket",
            "acme-prod-audit-logs",
            Pass,
        ),
        (
            "gcp-storage-log-bucket-retention-locked",
            "gcp.storage.bucket",
            "acme-prod-public-assets",
            NotApplicable,
        ),
        // Firewalls: 0.0.0.0/0 on 22 fails, the IAP range passes.
        (
            "gcp-compute-firewall-no-public-ssh",
            "gcp.compute.firewall",
            "default-allow-ssh",
            Fail,
        ),
        (
            "gcp-compute-firewall-no-public-ssh",
            "gcp.compute.firewall",
            "prod-allow-iap-ssh",
            Pass,
        ),
        (
            "gcp-compute-firewall-no-public-rdp",
            "gcp.compute.firewall",
            "prod-allow-iap-ssh",
            Pass,
        ),
        (
            "gcp-compute-default-network-firewall-minimal",
            "gcp.compute.firewall",
            "default-allow-ssh",
            Fail,
        ),
        // Networks: the default network exists; DNS logging reaches prod-vpc through its policy.
        (
            "gcp-compute-no-default-network",
            "gcp.compute.network",
            "default",
            Fail,
        ),
        (
            "gcp-compute-no-default-network",
            "gcp.compute.network",
            "prod-vpc",
            Pass,
        ),
        (
            "gcp-dns-network-logging",
            "gcp.compute.network",
            "prod-vpc",
            Pass,
        ),
        (
            "gcp-dns-network-logging",
            "gcp.compute.network",
            "default",
            Fail,
        ),
        (
            "gcp-compute-subnet-flow-logs",
            "gcp.compute.subnetwork",
            "prod-app",
            Pass,
        ),
        (
            "gcp-compute-subnet-flow-logs",
            "gcp.compute.subnetwork",
            "default",
            Fail,
        ),
        // Instances.
        (
            "gcp-compute-instance-no-default-service-account",
            "gcp.compute.instance",
            "web-1",
            Fail,
        ),
        (
            "gcp-compute-instance-no-default-service-account",
            "gcp.compute.instance",
            "app-1",
            Pass,
        ),
        (
            "gcp-compute-instance-default-sa-not-full-access",
            "gcp.compute.instance",
            "web-1",
            Fail,
        ),
        (
            "gcp-compute-instance-no-public-ip",
            "gcp.compute.instance",
            "web-1",
            Fail,
        ),
        (
            "gcp-compute-instance-no-public-ip",
            "gcp.compute.instance",
            "app-1",
            Pass,
        ),
        (
            "gcp-compute-instance-serial-port-disabled",
            "gcp.compute.instance",
            "web-1",
            Fail,
        ),
        (
            "gcp-compute-instance-no-ip-forwarding",
            "gcp.compute.instance",
            "web-1",
            Fail,
        ),
        (
            "gcp-compute-instance-block-project-ssh-keys",
            "gcp.compute.instance",
            "app-1",
            Pass,
        ),
        (
            "gcp-compute-instance-shielded-vm",
            "gcp.compute.instance",
            "web-1",
            Fail,
        ),
        (
            "gcp-compute-instance-confidential-computing",
            "gcp.compute.instance",
            "app-1",
            Pass,
        ),
        (
            "gcp-compute-instance-confidential-computing",
            "gcp.compute.instance",
            "web-1",
            NotApplicable,
        ),
        ("gcp-compute-disk-csek", "gcp.compute.disk", "app-1", Pass),
        (
            "gcp-compute-project-os-login",
            "gcp.compute.project",
            "acme-prod",
            Pass,
        ),
        // Project-level settings from the IAM policy and the related assets.
        (
            "gcp-logging-audit-config-all-services",
            "gcp.resourcemanager.project",
            "acme-prod",
            Fail,
        ),
        (
            "gcp-iam-no-personal-gmail-members",
            "gcp.resourcemanager.project",
            "acme-prod",
            Fail,
        ),
        (
            "gcp-iam-sa-no-admin-roles",
            "gcp.resourcemanager.project",
            "acme-prod",
            Fail,
        ),
        (
            "gcp-iam-no-project-sa-user-roles",
            "gcp.resourcemanager.project",
            "acme-prod",
            Fail,
        ),
        (
            "gcp-logging-sink-all-entries",
            "gcp.resourcemanager.project",
            "acme-prod",
            Pass,
        ),
        (
            "gcp-logging-metric-alert-project-ownership",
            "gcp.resourcemanager.project",
            "acme-prod",
            Pass,
        ),
        (
            "gcp-logging-metric-alert-firewall",
            "gcp.resourcemanager.project",
            "acme-prod",
            Fail,
        ),
        (
            "gcp-project-cloud-asset-inventory-enabled",
            "gcp.resourcemanager.project",
            "acme-prod",
            Pass,
        ),
        (
            "gcp-project-access-approval-enabled",
            "gcp.resourcemanager.project",
            "acme-prod",
            Fail,
        ),
        // Keys, DNS, SQL, BigQuery, GKE.
        (
            "gcp-iam-sa-key-google-managed-only",
            "gcp.iam.serviceaccountkey",
            "3f2a9c",
            Fail,
        ),
        (
            "gcp-iam-sa-key-rotated-90-days",
            "gcp.iam.serviceaccountkey",
            "3f2a9c",
            Fail,
        ),
        (
            "gcp-kms-key-rotation-90-days",
            "gcp.kms.cryptokey",
            "data",
            Fail,
        ),
        ("gcp-kms-key-not-public", "gcp.kms.cryptokey", "data", Pass),
        (
            "gcp-dns-dnssec-enabled",
            "gcp.dns.managedzone",
            "acme-example",
            Pass,
        ),
        (
            "gcp-dns-no-rsasha1-ksk",
            "gcp.dns.managedzone",
            "acme-example",
            Fail,
        ),
        (
            "gcp-dns-no-rsasha1-zsk",
            "gcp.dns.managedzone",
            "acme-example",
            Pass,
        ),
        (
            "gcp-sql-no-open-authorized-networks",
            "gcp.sql.instance",
            "orders-db",
            Fail,
        ),
        (
            "gcp-sql-no-public-ip",
            "gcp.sql.instance",
            "orders-db",
            Fail,
        ),
        ("gcp-sql-require-ssl", "gcp.sql.instance", "orders-db", Fail),
        (
            "gcp-sql-automated-backups",
            "gcp.sql.instance",
            "orders-db",
            Pass,
        ),
        (
            "gcp-sql-postgres-log-connections",
            "gcp.sql.instance",
            "orders-db",
            Pass,
        ),
        (
            "gcp-sql-postgres-log-disconnections",
            "gcp.sql.instance",
            "orders-db",
            Fail,
        ),
        (
            "gcp-sql-mysql-local-infile",
            "gcp.sql.instance",
            "orders-db",
            NotApplicable,
        ),
        (
            "gcp-bigquery-dataset-not-public",
            "gcp.bigquery.dataset",
            "analytics",
            Fail,
        ),
        (
            "gcp-gke-private-nodes",
            "gcp.container.cluster",
            "prod-gke",
            Pass,
        ),
        (
            "gcp-gke-subnet-private-google-access",
            "gcp.container.cluster",
            "prod-gke",
            Pass,
        ),
        (
            "gcp-gke-nodes-no-default-service-account",
            "gcp.container.cluster",
            "prod-gke",
            Pass,
        ),
    ];
    let mut wrong = Vec::new();
    for (control, t, name, expected) in cases {
        let got = status(&inv, &evals, control, t, name);
        if got != *expected {
            wrong.push(format!(
                "{control} on {name}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // The unknown asset type is imported but no control applies to it.
    let gadget = inv
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == "gcp.widgets.gadget")
        .unwrap();
    assert!(evals.iter().all(|e| e.asset_id != gadget.id));

    // The CIS GCP framework scores on the export.
    let results: Vec<(String, FindingStatus)> = evals
        .iter()
        .map(|e| (e.control_id.clone(), e.status))
        .collect();
    let scores = rampart_rules::score::framework_scores(&catalog, &results);
    let cis = scores
        .iter()
        .find(|s| s.framework_id == "cis-gcp-2.0")
        .unwrap();
    assert!(cis.passing > 0 && cis.failing > 0, "{cis:?}");
}
