//! Azure content: CIS Azure 3.0 coverage by the resource controls (storage, databases, logging and
//! monitoring, networking, virtual machines, Key Vault, App Service), coverage of the reference
//! catalogue's `azure-*` controls, and the controls evaluated end to end on imported Resource
//! Graph exports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
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

/// CIS Azure 3.0 requirements decided by resource controls: Key Vault (3.3) and sections 4 to 10
/// (section 2 is identity, 3.1 and 3.2 are Defender for Cloud and Defender for IoT).
fn resource_requirement(id: &str) -> bool {
    let section: u32 = id.split('.').next().unwrap().parse().unwrap();
    (4..=10).contains(&section) || id.starts_with("3.3.")
}

/// The recommendations of the CIS Microsoft Azure Foundations Benchmark v3.0.0 per section:
/// (section, automated, manual).
const CIS_AZURE_SECTIONS: [(&str, usize, usize); 9] = [
    ("2", 5, 31), // Identity
    ("3", 27, 7), // Security: Defender for Cloud, Defender for IoT, Key Vault
    ("4", 13, 4), // Storage accounts
    ("5", 20, 2), // Database services
    ("6", 14, 5), // Logging and monitoring
    ("7", 6, 1),  // Networking
    ("8", 7, 4),  // Virtual machines
    ("9", 7, 5),  // App Service
    ("10", 0, 1), // Miscellaneous
];

/// Automated CIS Azure 3.0 recommendations that no Rampart control checks yet, reported missing
/// by `rampart controls coverage`: none (the last ones, the agentless components of the Defender
/// for Containers plan, 3.1.4.2 and 3.1.4.3, and Defender for Cloud's system updates
/// recommendation, 3.1.10, have controls).
const CIS_AZURE_AUTOMATED_WITHOUT_CONTROL: [&str; 0] = [];

#[test]
fn cis_azure_framework_lists_every_recommendation_of_the_benchmark() {
    let catalog = Catalog::builtin().unwrap();
    let fw = catalog
        .framework("cis-azure-3.0")
        .expect("CIS Azure 3.0 is built in");
    // The benchmark's own numbering: sections 2 to 10, automated and manual as it marks them.
    for (section, automated, manual) in CIS_AZURE_SECTIONS {
        let in_section: Vec<_> = fw
            .requirements
            .iter()
            .filter(|r| r.id.split('.').next() == Some(section))
            .collect();
        assert_eq!(
            in_section.iter().filter(|r| !r.manual).count(),
            automated,
            "CIS Azure 3.0 section {section}: automated recommendations"
        );
        assert_eq!(
            in_section.iter().filter(|r| r.manual).count(),
            manual,
            "CIS Azure 3.0 section {section}: manual recommendations"
        );
    }
    let total: usize = CIS_AZURE_SECTIONS.iter().map(|(_, a, m)| a + m).sum();
    assert_eq!(total, 159);
    assert_eq!(
        fw.requirements.len(),
        total,
        "no requirement outside the benchmark's sections"
    );
    let mut ids: Vec<&str> = fw.requirements.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "requirement ids are unique");
    // Every recommendation of the reference catalogue's CIS Azure 3.0 policy is still there: the
    // framework file names its catalogue entry in the comment of each requirement.
    let file = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/frameworks/cis-azure-3.0.yaml"),
    )
    .unwrap();
    let comments: std::collections::BTreeSet<&str> = file
        .lines()
        .filter(|l| l.trim_start().starts_with("- {id:"))
        .filter_map(|l| l.rsplit_once("# ").map(|(_, slug)| slug.trim()))
        .collect();
    let text = std::fs::read_to_string(reference_dir().join("policies/cis-azure-3-0-0.json"))
        .expect("the reference benchmark");
    let policy: serde_json::Value = serde_json::from_str(&text).unwrap();
    for procedure in policy["procedures"].as_array().unwrap() {
        for c in procedure["controls"].as_array().into_iter().flatten() {
            let slug = c["control"].as_str().unwrap();
            assert!(
                comments.contains(slug),
                "reference entry {slug} is not named by any CIS Azure 3.0 requirement"
            );
        }
    }
}

#[test]
fn every_automated_cis_azure_resource_recommendation_has_a_control() {
    let catalog = Catalog::builtin().unwrap();
    let cov = rampart_rules::coverage::framework_coverage(&catalog, "cis-azure-3.0").unwrap();
    let missing: Vec<&String> = cov
        .missing
        .iter()
        .filter(|id| resource_requirement(id))
        .collect();
    assert!(
        missing.is_empty(),
        "CIS Azure 3.0 Key Vault/storage/database/logging/network/VM/App Service requirements without a control: {missing:?}"
    );
    let automated = cov
        .automated
        .iter()
        .filter(|id| resource_requirement(id))
        .count();
    println!(
        "CIS Azure 3.0 Key Vault and sections 4-10: {automated} automated recommendations with controls"
    );
    assert!(automated >= 70, "{cov:?}");
    // The controls of these sections are Azure controls.
    let fw = catalog.framework("cis-azure-3.0").unwrap();
    for r in fw
        .requirements
        .iter()
        .filter(|r| resource_requirement(&r.id))
    {
        for id in &r.controls {
            assert!(
                id.starts_with("azure-"),
                "{} maps non-Azure control {id}",
                r.id
            );
        }
    }
}

#[test]
fn every_automated_cis_azure_recommendation_has_a_control() {
    // Both halves of the content together: identity and Defender (sections 2, 3.1, 3.2) and
    // resources. None is missing.
    let catalog = Catalog::builtin().unwrap();
    let cov = rampart_rules::coverage::framework_coverage(&catalog, "cis-azure-3.0").unwrap();
    println!(
        "CIS Azure 3.0: {} automated with controls, {} manual, {} automated without a control",
        cov.automated.len(),
        cov.manual.len(),
        cov.missing.len()
    );
    assert_eq!(
        cov.missing, CIS_AZURE_AUTOMATED_WITHOUT_CONTROL,
        "CIS Azure 3.0 automated requirements without a control"
    );
    assert_eq!(cov.automated.len(), 99);
    assert_eq!(cov.manual.len(), 60);
}

/// Reference controls of the identity, Defender for Cloud and authorization areas (az1's part).
fn identity_or_defender(slug: &str) -> bool {
    slug.starts_with("azure-defender")
        || slug.starts_with("azure-mfa-")
        || slug.starts_with("azure-mdc-")
        || [
            "azure-additional-email-address",
            "azure-security-alert-emails-owners",
            "azure-notify-alerts-high-severity",
            "azure-auto-provisioning-log-analystics",
            "azure-no-custom-admin-role",
            "azure-admin-resource-locks",
            "azure-1-3-0-security-3",
        ]
        .contains(&slug)
}

#[test]
fn reference_azure_controls_of_the_resource_areas_are_covered_or_documented() {
    let catalog = Catalog::builtin().unwrap();
    let cov = rampart_rules::coverage::cyscale_coverage(
        &catalog,
        &reference_dir(),
        "azure",
        rampart_rules::builtin::coverage_doc(),
    )
    .unwrap();
    assert!(
        cov.total() >= 120,
        "the reference has ~128 enabled azure-* controls, read {}",
        cov.total()
    );
    println!(
        "reference azure-* controls: {} covered, {} documented, {} missing of {} ({:.1} % covered)",
        cov.covered.len(),
        cov.documented.len(),
        cov.missing.len(),
        cov.total(),
        cov.covered_percent()
    );
    let resource_missing: Vec<&String> = cov
        .missing
        .iter()
        .filter(|s| !identity_or_defender(s))
        .collect();
    assert!(
        resource_missing.is_empty(),
        "reference slugs of the resource areas neither covered nor listed in docs/coverage-azure.md: {resource_missing:?}"
    );
    let resource_total = cov
        .covered
        .keys()
        .chain(&cov.documented)
        .chain(&cov.missing)
        .filter(|s| !identity_or_defender(s))
        .count();
    let resource_covered = cov
        .covered
        .keys()
        .filter(|s| !identity_or_defender(s))
        .count();
    println!("resource areas: {resource_covered} of {resource_total} covered");
    assert!(
        resource_covered * 100 >= resource_total * 95,
        "{resource_covered} of {resource_total}"
    );
    // Everything documented as uncovered really has no control (the table stays honest).
    let documented =
        rampart_rules::coverage::documented_uncovered(rampart_rules::builtin::coverage_doc());
    for slug in &documented {
        assert!(
            !cov.covered.contains_key(slug),
            "{slug} has a control but is still listed as not covered in docs/coverage-azure.md"
        );
    }
    // With the identity and Defender controls merged, the whole provider reaches 90 %.
    let identity_covered = cov
        .covered
        .keys()
        .filter(|s| identity_or_defender(s))
        .count();
    if identity_covered > 0 {
        assert!(
            cov.covered_percent() >= 90.0,
            "azure reference coverage {:.1} % < 90 %",
            cov.covered_percent()
        );
    }
}

// ---- end to end: Resource Graph export → import → evaluation ----

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn import(files: &[&str]) -> Inventory {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/azure");
    let paths: Vec<PathBuf> = files.iter().map(|f| root.join(f)).collect();
    rampart_import::load_files(&paths, now()).unwrap_or_else(|e| panic!("import: {e}"))
}

/// (control id, asset name) → status, for every evaluation of the built-in catalog.
fn results(inv: &Inventory) -> BTreeMap<(String, String), FindingStatus> {
    let catalog = Catalog::builtin().unwrap();
    let names: BTreeMap<&str, &str> = inv
        .assets
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let mut out = BTreeMap::new();
    for e in catalog.evaluate(inv, now()) {
        let name = names[e.asset_id.as_str()].to_string();
        assert_ne!(
            e.status,
            FindingStatus::Error,
            "{} on {name}: {}",
            e.control_id,
            e.reason
        );
        out.insert((e.control_id, name), e.status);
    }
    out
}

fn expect(
    r: &BTreeMap<(String, String), FindingStatus>,
    control: &str,
    asset: &str,
    want: FindingStatus,
) {
    let got = r.get(&(control.to_string(), asset.to_string()));
    assert_eq!(got, Some(&want), "{control} on {asset}");
}

#[test]
fn resource_graph_export_is_evaluated_end_to_end() {
    use FindingStatus::{Fail, NotApplicable, Pass};
    let inv = import(&[
        "resource-graph.json",
        "users.json",
        "registration-details.json",
    ]);
    let r = results(&inv);

    // Subscription-wide checks follow the importer's edges.
    expect(
        &r,
        "azure-monitor-activity-log-exported",
        "contoso-prod",
        Pass,
    );
    expect(
        &r,
        "azure-monitor-activity-log-categories",
        "contoso-prod",
        Fail,
    );
    expect(
        &r,
        "azure-monitor-activity-log-storage-cmk",
        "contoso-prod",
        Fail,
    );
    expect(&r, "azure-monitor-alert-nsg-write", "contoso-prod", Pass);
    expect(&r, "azure-monitor-alert-nsg-delete", "contoso-prod", Fail);
    expect(
        &r,
        "azure-monitor-alert-policy-assignment-create",
        "contoso-prod",
        Fail,
    );
    expect(&r, "azure-network-watcher-enabled", "contoso-prod", Fail);
    expect(
        &r,
        "azure-network-bastion-host-exists",
        "contoso-prod",
        Fail,
    );
    expect(
        &r,
        "azure-monitor-application-insights",
        "contoso-prod",
        Pass,
    );

    // Storage.
    expect(
        &r,
        "azure-storage-secure-transfer-required",
        "stcontosodata",
        Pass,
    );
    expect(
        &r,
        "azure-storage-blob-anonymous-access-disabled",
        "stcontosodata",
        Fail,
    );
    expect(&r, "azure-storage-minimum-tls-12", "stcontosodata", Fail);
    expect(&r, "azure-storage-blob-logging", "stcontosodata", Pass);
    expect(&r, "azure-storage-queue-logging", "stcontosodata", Fail);
    expect(
        &r,
        "azure-storage-customer-managed-key",
        "stactivityarchive",
        Fail,
    );

    // Databases.
    expect(&r, "azure-sql-server-no-open-firewall", "sql-contoso", Fail);
    expect(&r, "azure-sql-server-auditing-enabled", "sql-contoso", Pass);
    expect(&r, "azure-sql-server-audit-retention", "sql-contoso", Fail);
    expect(&r, "azure-sql-database-tde-enabled", "orders", Pass);
    expect(
        &r,
        "azure-sql-database-tde-enabled",
        "master",
        NotApplicable,
    );
    expect(
        &r,
        "azure-postgresql-require-secure-transport",
        "psql-contoso",
        Fail,
    );
    expect(&r, "azure-postgresql-log-retention", "psql-contoso", Pass);
    expect(&r, "azure-mysql-tls-12", "mysql-contoso", Fail);
    expect(
        &r,
        "azure-cosmosdb-selected-networks",
        "cosmos-contoso",
        Fail,
    );

    // Networking.
    expect(&r, "azure-nsg-no-internet-ssh", "nsg-jump", Fail);
    expect(&r, "azure-nsg-no-internet-rdp", "nsg-jump", Pass);
    expect(&r, "azure-nsg-no-internet-udp", "nsg-jump", Pass);
    expect(
        &r,
        "azure-network-flow-log-retention",
        "NetworkWatcher_westeurope/fl-nsg-jump",
        Fail,
    );

    // Virtual machines and disks.
    expect(&r, "azure-vm-trusted-launch", "vm-jump", Fail);
    // Role assignment → Entra user without MFA, across the Resource Graph and Graph exports.
    expect(
        &r,
        "azure-vm-privileged-access-requires-mfa",
        "vm-jump",
        Fail,
    );
    expect(&r, "azure-vm-managed-disks", "vm-jump", Pass);
    expect(&r, "azure-vm-endpoint-protection", "vm-jump", Fail);
    expect(&r, "azure-compute-unattached-disk-cmk", "disk-orphan", Fail);
    expect(
        &r,
        "azure-compute-unattached-disk-cmk",
        "vm-jump-os",
        NotApplicable,
    );
    expect(
        &r,
        "azure-compute-disk-no-public-network-access",
        "disk-orphan",
        Fail,
    );

    // Key Vault.
    expect(&r, "azure-keyvault-secrets-expire", "kv-contoso", Fail);
    expect(&r, "azure-keyvault-keys-expire", "kv-contoso", Pass);
    expect(&r, "azure-keyvault-recoverable", "kv-contoso", Fail);
    expect(&r, "azure-keyvault-audit-logging", "kv-contoso", Pass);

    // App Service, including a function app and its basic-auth policy resources.
    expect(&r, "azure-app-service-https-only", "app-contoso", Fail);
    expect(&r, "azure-app-service-ftps-only", "app-contoso", Fail);
    expect(
        &r,
        "azure-app-service-supported-python",
        "app-contoso",
        Fail,
    );
    expect(&r, "azure-app-service-https-only", "func-contoso", Pass);
    expect(
        &r,
        "azure-function-app-supported-runtime",
        "func-contoso",
        Pass,
    );
    expect(
        &r,
        "azure-function-app-supported-runtime",
        "app-contoso",
        NotApplicable,
    );
    expect(&r, "azure-app-service-basic-auth-disabled", "scm", Fail);
    expect(&r, "azure-app-service-basic-auth-disabled", "ftp", Pass);
}

#[test]
fn importer_fixture_of_the_azure_importer_is_evaluated_without_errors() {
    // The importer's own sample export (crates/import/tests/data/azure) evaluated by the catalog.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../import/tests/data/azure");
    let mut files = vec![
        root.join("resource-graph.json"),
        root.join("authorization-rows.json"),
    ];
    let mut entra: Vec<PathBuf> = std::fs::read_dir(root.join("entra"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entra.sort();
    files.extend(entra);
    let inv = rampart_import::load_files(&files, now()).unwrap_or_else(|e| panic!("import: {e}"));
    let r = results(&inv);
    use FindingStatus::{Fail, Pass};
    expect(&r, "azure-nsg-no-internet-rdp", "nsg-web", Fail);
    expect(&r, "azure-keyvault-secrets-expire", "kv-prod", Fail);
    expect(&r, "azure-keyvault-keys-expire", "kv-prod", Pass);
    expect(
        &r,
        "azure-storage-infrastructure-encryption",
        "stprodlogs",
        Fail,
    );
    expect(
        &r,
        "azure-monitor-alert-policy-assignment-create",
        "prod",
        Pass,
    );
    expect(&r, "azure-monitor-alert-nsg-write", "prod", Fail);
    expect(&r, "azure-monitor-activity-log-categories", "prod", Pass);
    expect(&r, "azure-network-watcher-enabled", "prod", Pass);
    expect(&r, "azure-network-bastion-host-exists", "prod", Fail);
    expect(
        &r,
        "azure-compute-disk-no-public-network-access",
        "vm-web_OsDisk_1",
        Fail,
    );
    expect(&r, "azure-sql-database-tde-enabled", "orders", Pass);
    // The subscription Owner (alice) has MFA registered: the VM passes through the
    // subscription-scope path vm ← group ← subscription ← role assignment → user.
    expect(
        &r,
        "azure-vm-privileged-access-requires-mfa",
        "vm-web",
        Pass,
    );
}

/// The contract gives storage accounts' `diagnosticSettings` per service (an object), every other
/// type an array.
fn contract_shape(ty: &str, shape: &serde_json::Value) -> serde_json::Value {
    let mut v = shape.clone();
    if ty != "azure.storage.account"
        && let Some(ds) = v.get_mut("diagnosticSettings")
        && ds.is_object()
    {
        *ds = serde_json::json!([{}, {"properties": {}}, {"properties": {"logs": [{}]}}]);
    }
    v
}

#[test]
fn azure_controls_never_error_on_sparse_resources() {
    // Resource Graph rows omit what is unset (`properties` itself is always there, possibly
    // null) and the extra ARM reads may be missing: a control must then pass, fail or not
    // apply, never stop with an evaluation error.
    let catalog = Catalog::builtin().unwrap();
    let mut inv = Inventory::default();
    let shapes = [
        serde_json::json!({"id": "/x", "name": "bare", "type": "t", "properties": null}),
        serde_json::json!({"id": "/x", "name": "empty", "type": "t", "kind": "", "properties": {}}),
        serde_json::json!({"id": "/x", "name": "extras", "type": "t", "kind": "functionapp,linux", "properties": {},
            "siteConfig": {}, "authSettings": {}, "diagnosticSettings": [], "keys": [{}], "secrets": [{}],
            "extensions": [{}], "configurations": {}, "firewallRules": [{}], "auditingSettings": {},
            "blobServiceProperties": {}, "encryptionProtector": {}, "transparentDataEncryption": {}}),
        serde_json::json!({"id": "/x", "name": "nested", "type": "t", "kind": "StorageV2",
            "properties": {"securityRules": [{}, {"properties": {}}], "privateEndpointConnections": [{}, {"properties": {}}],
                "ipRules": [{}], "networkAcls": {}, "encryption": {}, "storageProfile": {"osDisk": {}, "dataDisks": [{}]},
                "securityProfile": {}, "retentionPolicy": {}, "flowAnalyticsConfiguration": {}, "keyCreationTime": {},
                "sasPolicy": {}, "keyPolicy": {}, "administrators": {}},
            "siteConfig": {"linuxFxVersion": ""}, "authSettings": {"platform": {}, "globalValidation": {}},
            "diagnosticSettings": {"blob": [{}], "queue": [{"properties": {}}], "table": [{"properties": {"logs": [{}]}}]},
            "keys": [{"properties": {"attributes": {}, "rotationPolicy": {"lifetimeActions": [{}]}}}],
            "secrets": [{"properties": {}}], "extensions": [{"properties": {}}], "configurations": {},
            "firewallRules": [{"properties": {}}], "administrators": [{}], "auditingSettings": {"state": "Enabled"}}),
    ];
    let mut types: Vec<String> = catalog
        .controls()
        .filter(|c| c.id.starts_with("azure-"))
        .flat_map(|c| c.resource_types.iter().map(|t| t.as_str().to_string()))
        .collect();
    types.sort();
    types.dedup();
    assert!(
        types.len() >= 15,
        "Azure resource types under test: {types:?}"
    );
    for (i, ty) in types.iter().enumerate() {
        for (j, shape) in shapes.iter().enumerate() {
            let rt = rampart_model::ResourceType::parse(ty).unwrap();
            let native = format!("/subscriptions/s/r/{i}/{j}");
            inv.assets.push(rampart_model::Asset {
                id: rampart_model::Asset::make_id(rt.provider(), "s", "westeurope", &rt, &native),
                provider: rt.provider(),
                account: "s".into(),
                region: "westeurope".into(),
                resource_type: rt,
                native_id: native,
                name: format!("{ty}-{j}"),
                tags: Default::default(),
                config: contract_shape(ty, shape),
                first_seen: now(),
                last_seen: now(),
            });
        }
    }
    let errors: Vec<String> = catalog
        .evaluate(&inv, now())
        .into_iter()
        .filter(|e| e.status == FindingStatus::Error)
        .map(|e| format!("{} on {}: {}", e.control_id, e.asset_id, e.reason))
        .collect();
    assert!(
        errors.is_empty(),
        "{} error(s):\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// Defender for Cloud assessments exported with `az graph query` (docs/asset-types-azure.md,
/// "What to export") are `azure.security.assessments` assets; `azure-security-system-updates-applied`
/// (CIS Azure 3.0 3.1.10) judges those whose display name mentions system updates and leaves the
/// others, and the not applicable ones, alone.
#[test]
fn system_update_assessments_from_an_export_are_evaluated() {
    use FindingStatus::{Fail, NotApplicable, Pass};
    let sub = "9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
    let vm = |name: &str| {
        format!(
            "/subscriptions/{sub}/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/{name}"
        )
    };
    let row = |machine: &str, key: &str, display: &str, code: &str| {
        serde_json::json!({
            "id": format!("{}/providers/Microsoft.Security/assessments/{key}", vm(machine)),
            "name": key, "type": "microsoft.security/assessments",
            "tenantId": "5f1c2a3b-7d4e-4c1a-9b2f-0e6d8a7c1b23", "kind": "", "location": "",
            "resourceGroup": "rg-prod", "subscriptionId": sub, "managedBy": "", "sku": null,
            "plan": null, "tags": null, "identity": null, "zones": null, "extendedLocation": null,
            "properties": {
                "resourceDetails": {"Source": "Azure", "Id": vm(machine)},
                "displayName": display,
                "status": {"code": code}
            }
        })
    };
    let updates = "System updates should be installed on your machines";
    let periodic = "Machines should be configured to periodically check for missing system updates";
    let jit = "Management ports of virtual machines should be protected with just-in-time network access control";
    let export = serde_json::json!({
        "count": 5, "total_records": 5, "skip_token": null,
        "data": [
            row("vm-web", "4ab6e3c5-74dd-8b35-9ab9-f61b30875b27", updates, "Unhealthy"),
            row("vm-web", "90386950-71ca-4357-a12e-486d1679427c", periodic, "Healthy"),
            row("vm-db", "4ab6e3c5-74dd-8b35-9ab9-f61b30875b27", updates, "Healthy"),
            row("vm-db", "90386950-71ca-4357-a12e-486d1679427c", periodic, "NotApplicable"),
            row("vm-web", "805651bc-6ecd-4c73-9b55-97a19d0582d0", jit, "Unhealthy"),
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("assessments.json");
    std::fs::write(&path, export.to_string()).unwrap();
    let inv = rampart_import::load_files(&[path], now()).unwrap_or_else(|e| panic!("import: {e}"));
    assert_eq!(inv.assets.len(), 5);
    assert!(
        inv.assets
            .iter()
            .all(|a| a.resource_type.as_str() == "azure.security.assessments"
                && a.account == sub
                && a.region == "global")
    );
    let catalog = Catalog::builtin().unwrap();
    let status = |machine: &str, key: &str| {
        let native = format!(
            "{}/providers/Microsoft.Security/assessments/{key}",
            vm(machine)
        );
        let asset = inv
            .assets
            .iter()
            .find(|a| a.native_id == native)
            .unwrap_or_else(|| panic!("no {native}"));
        catalog
            .evaluate(&inv, now())
            .into_iter()
            .find(|e| {
                e.control_id == "azure-security-system-updates-applied" && e.asset_id == asset.id
            })
            .map(|e| e.status)
    };
    assert_eq!(
        status("vm-web", "4ab6e3c5-74dd-8b35-9ab9-f61b30875b27"),
        Some(Fail)
    );
    assert_eq!(
        status("vm-web", "90386950-71ca-4357-a12e-486d1679427c"),
        Some(Pass)
    );
    assert_eq!(
        status("vm-db", "4ab6e3c5-74dd-8b35-9ab9-f61b30875b27"),
        Some(Pass)
    );
    assert_eq!(
        status("vm-db", "90386950-71ca-4357-a12e-486d1679427c"),
        Some(NotApplicable)
    );
    assert_eq!(
        status("vm-web", "805651bc-6ecd-4c73-9b55-97a19d0582d0"),
        Some(NotApplicable)
    );
}
