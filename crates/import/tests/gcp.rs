//! Cloud Asset Inventory imports: both file shapes, IAM-policy merging, relationships, errors.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rampart_import::{Format, detect_format, load_files, parse_bytes};
use rampart_model::{Asset, Inventory};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/gcp")
        .join(name)
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn export() -> Inventory {
    load_files(&[data("export.jsonl")], now()).unwrap()
}

fn by_name<'a>(inv: &'a Inventory, t: &str, name: &str) -> &'a Asset {
    inv.assets
        .iter()
        .find(|a| a.resource_type.as_str() == t && a.name == name)
        .unwrap_or_else(|| panic!("no {t} named {name}"))
}

fn edge(inv: &Inventory, from: &Asset, kind: &str, to: &Asset) -> bool {
    inv.relationships
        .iter()
        .any(|r| r.from == from.id && r.to == to.id && r.kind == kind)
}

#[test]
fn both_shapes_are_detected() {
    let export = std::fs::read(data("export.jsonl")).unwrap();
    assert_eq!(
        detect_format("export.json", &export),
        Ok(Format::GcpAssetInventory)
    );
    // The extension does not route a CAI export to the Rampart snapshot parser.
    assert_eq!(
        detect_format("export.jsonl", &export),
        Ok(Format::GcpAssetInventory)
    );
    let list = std::fs::read(data("list.json")).unwrap();
    assert_eq!(
        detect_format("list.json", &list),
        Ok(Format::GcpAssetInventory)
    );
}

#[test]
fn export_lines_become_typed_assets_with_project_accounts() {
    let inv = export();
    // 31 lines, two of which are IAM_POLICY lines of assets already read (project, two buckets
    // → three IAM lines) merged onto them.
    assert_eq!(inv.assets.len(), 28);
    let vm = by_name(&inv, "gcp.compute.instance", "web-1");
    assert_eq!(vm.account, "acme-prod");
    assert_eq!(vm.region, "europe-west1-b");
    assert_eq!(
        vm.native_id,
        "//compute.googleapis.com/projects/acme-prod/zones/europe-west1-b/instances/web-1"
    );
    assert_eq!(vm.tags.get("team").map(String::as_str), Some("web"));
    // config is resource.data verbatim.
    assert_eq!(vm.config["canIpForward"], true);
    assert_eq!(
        vm.config["networkInterfaces"][0]["accessConfigs"][0]["natIP"],
        "34.76.1.2"
    );
    // Assets named by project number are given the project id as account.
    let sink = by_name(&inv, "gcp.logging.sink", "all-to-gcs");
    assert_eq!(sink.account, "acme-prod");
    let bucket = by_name(&inv, "gcp.storage.bucket", "acme-prod-public-assets");
    assert_eq!(bucket.account, "acme-prod");
    assert_eq!(bucket.region, "eu");
    let project = by_name(&inv, "gcp.resourcemanager.project", "acme-prod");
    assert_eq!(project.account, "acme-prod");
    for t in [
        "gcp.compute.firewall",
        "gcp.compute.network",
        "gcp.compute.subnetwork",
        "gcp.compute.project",
        "gcp.compute.disk",
        "gcp.iam.serviceaccount",
        "gcp.iam.serviceaccountkey",
        "gcp.kms.keyring",
        "gcp.kms.cryptokey",
        "gcp.logging.logmetric",
        "gcp.monitoring.alertpolicy",
        "gcp.dns.managedzone",
        "gcp.dns.policy",
        "gcp.sql.instance",
        "gcp.bigquery.dataset",
        "gcp.container.cluster",
        "gcp.serviceusage.service",
    ] {
        assert!(
            inv.assets.iter().any(|a| a.resource_type.as_str() == t),
            "no {t}"
        );
    }
}

#[test]
fn iam_policy_lines_merge_onto_their_resource() {
    let inv = export();
    let bucket = by_name(&inv, "gcp.storage.bucket", "acme-prod-public-assets");
    assert_eq!(bucket.config["name"], "acme-prod-public-assets");
    assert_eq!(
        bucket.config["iamPolicy"]["bindings"][0]["members"][0],
        "allUsers"
    );
    // Audit configs are camel-cased and their enum numbers named.
    let project = by_name(&inv, "gcp.resourcemanager.project", "acme-prod");
    let logs = &project.config["iamPolicy"]["auditConfigs"][0]["auditLogConfigs"];
    assert_eq!(logs[0]["logType"], "ADMIN_READ");
    assert_eq!(logs[1]["logType"], "DATA_WRITE");
    assert_eq!(project.config["projectId"], "acme-prod");
    // An asset without IAM lines has no iamPolicy key.
    let vm = by_name(&inv, "gcp.compute.instance", "web-1");
    assert!(vm.config.get("iamPolicy").is_none());
}

#[test]
fn resource_and_iam_exports_in_separate_files_merge() {
    let text = std::fs::read_to_string(data("export.jsonl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut res, mut iam) = (String::new(), String::new());
    for line in text.lines() {
        if line.contains("\"iam_policy\"") {
            iam.push_str(line);
            iam.push('\n');
        } else {
            res.push_str(line);
            res.push('\n');
        }
    }
    let (a, b) = (
        dir.path().join("resource.json"),
        dir.path().join("iam.json"),
    );
    std::fs::write(&a, res).unwrap();
    std::fs::write(&b, iam).unwrap();
    let inv = load_files(&[b, a], now()).unwrap();
    assert_eq!(inv.assets.len(), 28);
    let bucket = by_name(&inv, "gcp.storage.bucket", "acme-prod-public-assets");
    assert_eq!(bucket.config["storageClass"], "STANDARD");
    assert_eq!(
        bucket.config["iamPolicy"]["bindings"][0]["role"],
        "roles/storage.objectViewer"
    );
}

#[test]
fn unknown_asset_types_use_the_fallback_type() {
    let inv = export();
    let gadget = by_name(&inv, "gcp.widgets.gadget", "g1");
    assert_eq!(gadget.config["colour"], "blue");
    assert_eq!(gadget.account, "acme-prod");
    assert_eq!(
        rampart_import::map_gcp_asset_type("k8s.io/Pod")
            .unwrap()
            .as_str(),
        "gcp.other.k8s_io_pod"
    );
    assert_eq!(
        rampart_import::map_gcp_asset_type("pubsub.googleapis.com/Topic")
            .unwrap()
            .as_str(),
        "gcp.pubsub.topic"
    );
    assert_eq!(
        rampart_import::map_gcp_asset_type("sqladmin.googleapis.com/Instance")
            .unwrap()
            .as_str(),
        "gcp.sql.instance"
    );
}

#[test]
fn relationships_follow_references() {
    let inv = export();
    let project = by_name(&inv, "gcp.resourcemanager.project", "acme-prod");
    let web = by_name(&inv, "gcp.compute.instance", "web-1");
    let app = by_name(&inv, "gcp.compute.instance", "app-1");
    let default_net = by_name(&inv, "gcp.compute.network", "default");
    let prod_net = by_name(&inv, "gcp.compute.network", "prod-vpc");
    let default_subnet = by_name(&inv, "gcp.compute.subnetwork", "default");
    let sa = by_name(
        &inv,
        "gcp.iam.serviceaccount",
        "app-runtime@acme-prod.iam.gserviceaccount.com",
    );
    assert!(edge(&inv, web, "attached_to", default_net));
    assert!(edge(&inv, web, "attached_to", default_subnet));
    assert!(edge(&inv, app, "uses", sa));
    assert!(edge(
        &inv,
        app,
        "attached_to",
        by_name(&inv, "gcp.compute.disk", "app-1")
    ));
    let fw = by_name(&inv, "gcp.compute.firewall", "default-allow-ssh");
    assert!(edge(&inv, fw, "applies_to", default_net));
    assert!(edge(&inv, default_subnet, "contained_in", default_net));
    let sql = by_name(&inv, "gcp.sql.instance", "orders-db");
    assert!(edge(&inv, sql, "attached_to", prod_net));
    let gke = by_name(&inv, "gcp.container.cluster", "prod-gke");
    assert!(edge(&inv, gke, "attached_to", prod_net));
    assert!(edge(&inv, gke, "uses", sa));
    let key = by_name(&inv, "gcp.iam.serviceaccountkey", "3f2a9c");
    assert!(edge(&inv, sa, "contains", key));
    let crypto = by_name(&inv, "gcp.kms.cryptokey", "data");
    assert!(edge(
        &inv,
        by_name(&inv, "gcp.kms.keyring", "prod"),
        "contains",
        crypto
    ));
    for asset in [
        web,
        crypto,
        key,
        sql,
        by_name(&inv, "gcp.storage.bucket", "acme-prod-audit-logs"),
    ] {
        assert!(edge(&inv, project, "contains", asset), "{}", asset.name);
    }
    let sink = by_name(&inv, "gcp.logging.sink", "all-to-gcs");
    let logs = by_name(&inv, "gcp.storage.bucket", "acme-prod-audit-logs");
    assert!(edge(&inv, sink, "exports_to", logs));
    let alert = by_name(&inv, "gcp.monitoring.alertpolicy", "1122");
    let metric = by_name(&inv, "gcp.logging.logmetric", "owner-changes");
    assert!(edge(&inv, alert, "watches", metric));
    let dns_policy = by_name(&inv, "gcp.dns.policy", "prod-logging");
    assert!(edge(&inv, dns_policy, "applies_to", prod_net));
    // Relationships only join assets of the inventory.
    let ids: std::collections::HashSet<_> = inv.assets.iter().map(|a| a.id.as_str()).collect();
    assert!(
        inv.relationships
            .iter()
            .all(|r| ids.contains(r.from.as_str()) && ids.contains(r.to.as_str()))
    );
}

#[test]
fn the_camel_case_listing_reads_the_same() {
    let inv = load_files(&[data("list.json")], now()).unwrap();
    // Project (resource + IAM policy), an instance, a bucket (resource + IAM policy).
    assert_eq!(inv.assets.len(), 3);
    let project = by_name(&inv, "gcp.resourcemanager.project", "acme-prod");
    let logs = &project.config["iamPolicy"]["auditConfigs"][0]["auditLogConfigs"];
    assert_eq!(logs[2]["logType"], "DATA_READ");
    let vm = by_name(&inv, "gcp.compute.instance", "web-1");
    assert_eq!(vm.account, "acme-prod");
    assert_eq!(vm.config["shieldedInstanceConfig"]["enableVtpm"], false);
    let bucket = by_name(&inv, "gcp.storage.bucket", "acme-prod-public-assets");
    assert_eq!(
        bucket.config["iamPolicy"]["bindings"][0]["members"][0],
        "allUsers"
    );
    assert!(
        inv.relationships
            .iter()
            .any(|r| r.from == project.id && r.to == vm.id && r.kind == "contains")
    );
    // Ids agree with the export's, so the two shapes describe the same assets.
    let from_export = export();
    assert!(from_export.assets.iter().any(|a| a.id == vm.id));
}

#[test]
fn a_malformed_line_fails_the_whole_file_with_its_line() {
    let err = load_files(&[data("malformed.jsonl")], now()).unwrap_err();
    assert!(err.file.ends_with("malformed.jsonl"), "{err}");
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.message.contains("invalid JSON"), "{err}");

    let err = load_files(&[data("no-type.jsonl")], now()).unwrap_err();
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.message.contains("asset_type"), "{err}");
    assert!(err.message.contains("networks/default"), "{err}");
}

#[test]
fn structural_errors_name_the_record() {
    let bad_array = br#"[{"name": "//storage.googleapis.com/b", "assetType": "storage.googleapis.com/Bucket"}, {"assetType": "storage.googleapis.com/Bucket"}]"#;
    let err = parse_bytes("list.json", bad_array, now()).unwrap_err();
    assert!(err.message.starts_with("[1]: "), "{err}");
    assert!(err.message.contains("no \"name\""), "{err}");

    let line = r#"{"name": "//storage.googleapis.com/b", "asset_type": "storage.googleapis.com/Bucket", "resource": {"data": [1]}}"#;
    let err = parse_bytes("x.json", line.as_bytes(), now()).unwrap_err();
    assert_eq!(err.line, Some(1));
    assert!(err.message.contains("resource.data"), "{err}");

    let two = format!(
        "{line}\n{}\n",
        line.replace(
            "storage.googleapis.com/Bucket",
            "compute.googleapis.com/Disk"
        )
        .replace("[1]", "{}")
    );
    let err = parse_bytes("x.json", two.as_bytes(), now()).unwrap_err();
    assert!(err.message.contains("resource.data"), "{err}");
    let two = format!(
        "{}\n{}\n",
        line.replace("[1]", "{}"),
        line.replace(
            "storage.googleapis.com/Bucket",
            "compute.googleapis.com/Disk"
        )
        .replace("[1]", "{}")
    );
    let err = parse_bytes("x.json", two.as_bytes(), now()).unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.message.contains("contradicts"), "{err}");

    let truncated = "[{\"name\": \"//storage.googleapis.com/b\", \"assetType\":";
    let err = parse_bytes("list.json", truncated.as_bytes(), now()).unwrap_err();
    assert!(err.message.contains("invalid JSON"), "{err}");
}

#[test]
fn gzipped_exports_are_read() {
    use std::io::Write;
    let text = std::fs::read(data("export.jsonl")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&text).unwrap();
    let gz = enc.finish().unwrap();
    assert_eq!(
        detect_format("export.json.gz", &gz),
        Ok(Format::GcpAssetInventory)
    );
    let inv = parse_bytes("export.json.gz", &gz, now()).unwrap();
    assert_eq!(inv.assets.len(), export().assets.len());
    assert_eq!(inv.relationships, export().relationships);
}

#[test]
fn newer_records_win_and_parents_without_a_project_asset_keep_numbers() {
    let lines = [
        r#"{"name":"//storage.googleapis.com/b1","asset_type":"storage.googleapis.com/Bucket","resource":{"data":{"name":"b1","versioning":{"enabled":false}},"location":"US","parent":"//cloudresourcemanager.googleapis.com/projects/42"},"ancestors":["projects/42","organizations/7"],"update_time":"2026-10-01T00:00:00Z"}"#,
        r#"{"name":"//storage.googleapis.com/b1","asset_type":"storage.googleapis.com/Bucket","resource":{"data":{"name":"b1","versioning":{"enabled":true}},"location":"US","parent":"//cloudresourcemanager.googleapis.com/projects/42"},"ancestors":["projects/42","organizations/7"],"update_time":"2026-10-02T00:00:00Z"}"#,
        r#"{"name":"//storage.googleapis.com/b1","asset_type":"storage.googleapis.com/Bucket","resource":{"data":{"name":"b1","versioning":{"enabled":false}},"location":"US"},"ancestors":["projects/42","organizations/7"],"update_time":"2026-09-01T00:00:00Z"}"#,
        r#"{"name":"//cloudresourcemanager.googleapis.com/organizations/7","asset_type":"cloudresourcemanager.googleapis.com/Organization","resource":{"data":{"name":"organizations/7","displayName":"acme.example"}},"ancestors":["organizations/7"],"iam_policy":{"bindings":[{"role":"roles/owner","members":["user:root@acme.example"]}]}}"#,
    ];
    let inv = parse_bytes("x.json", lines.join("\n").as_bytes(), now()).unwrap();
    assert_eq!(inv.assets.len(), 2);
    let bucket = by_name(&inv, "gcp.storage.bucket", "b1");
    assert_eq!(bucket.config["versioning"]["enabled"], true);
    assert_eq!(bucket.account, "42");
    assert_eq!(bucket.region, "us");
    let org = by_name(&inv, "gcp.resourcemanager.organization", "7");
    assert_eq!(org.account, "organizations/7");
    assert_eq!(
        org.config["iamPolicy"]["bindings"][0]["role"],
        "roles/owner"
    );
    assert!(edge(&inv, org, "contains", bucket));
}
