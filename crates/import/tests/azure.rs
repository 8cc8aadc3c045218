//! Azure offline import: Resource Graph output and Microsoft Graph exports (tests/data/azure/).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rampart_import::{Format, detect_format, load_files, parse_bytes};
use rampart_model::{Asset, Inventory};

const TENANT: &str = "5f1c2a3b-7d4e-4c1a-9b2f-0e6d8a7c1b23";
const SUB: &str = "9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/azure")
        .join(rel)
}

fn all_files() -> Vec<PathBuf> {
    let mut files = vec![data("resource-graph.json"), data("authorization-rows.json")];
    let mut entra: Vec<PathBuf> = std::fs::read_dir(data("entra"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entra.sort();
    files.extend(entra);
    files
}

fn by_name<'a>(inv: &'a Inventory, ty: &str, name: &str) -> &'a Asset {
    inv.assets
        .iter()
        .find(|a| a.resource_type.as_str() == ty && a.name == name)
        .unwrap_or_else(|| panic!("no {ty} named {name}"))
}

fn edge(inv: &Inventory, from: &Asset, kind: &str, to: &Asset) -> bool {
    inv.relationships
        .iter()
        .any(|r| r.from == from.id && r.to == to.id && r.kind == kind)
}

#[test]
fn detects_both_shapes() {
    for (file, expected) in [
        ("resource-graph.json", Format::Azure),
        ("authorization-rows.json", Format::Azure),
        ("entra/users.json", Format::Azure),
        ("entra/security-defaults.json", Format::Azure),
        ("entra/apps-and-principals.json", Format::Azure),
    ] {
        let bytes = std::fs::read(data(file)).unwrap();
        assert_eq!(detect_format(file, &bytes), Ok(expected), "{file}");
    }
    // A plain array of Graph objects without any @odata marker is recognised by its file name.
    let plain = br#"[{"id": "u1", "displayName": "U", "userPrincipalName": "u@x.com"}]"#;
    assert_eq!(detect_format("users.json", plain), Ok(Format::Azure));
    assert!(detect_format("export.json", plain).is_err());
}

#[test]
fn resource_graph_rows_become_contract_types() {
    let bytes = std::fs::read(data("resource-graph.json")).unwrap();
    let inv = parse_bytes("resource-graph.json", &bytes, now()).unwrap();
    let types: Vec<&str> = inv
        .assets
        .iter()
        .map(|a| a.resource_type.as_str())
        .collect();
    for ty in [
        "azure.resources.subscription",
        "azure.resources.resourcegroup",
        "azure.network.vnet",
        "azure.network.subnets",
        "azure.network.nsg",
        "azure.network.publicip",
        "azure.network.nic",
        "azure.compute.disk",
        "azure.compute.vm",
        "azure.network.watcher",
        "azure.network.flowlog",
        "azure.storage.account",
        "azure.loganalytics.workspace",
        "azure.sql.server",
        "azure.sql.database",
        "azure.keyvault.vault",
        "azure.monitor.activitylogalert",
        // Not in the contract table: the fallback type.
        "azure.network.loadbalancers",
    ] {
        assert!(types.contains(&ty), "missing {ty} in {types:?}");
    }
    // 17 rows + 1 subnet carried inside the virtual network.
    assert_eq!(inv.assets.len(), 18);

    let sub = by_name(&inv, "azure.resources.subscription", "prod");
    assert_eq!(sub.account, SUB);
    assert_eq!(sub.region, "global");
    assert_eq!(sub.tags.get("env").map(String::as_str), Some("prod"));
    // config is the row as Resource Graph returned it, extra keys included.
    assert_eq!(
        sub.config["pricings"][0]["properties"]["pricingTier"],
        "Standard"
    );
    assert_eq!(
        sub.config["securityContacts"][0]["properties"]["alertNotifications"]["minimalSeverity"],
        "Medium"
    );
    let vm = by_name(&inv, "azure.compute.vm", "vm-web");
    assert_eq!(vm.account, SUB);
    assert_eq!(vm.region, "westeurope");
    assert_eq!(
        vm.native_id,
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/vm-web"
        )
    );
    assert_eq!(vm.config["extensions"][0]["name"], "MDE.Linux");
    assert_eq!(
        vm.config["properties"]["hardwareProfile"]["vmSize"],
        "Standard_B2s"
    );
}

#[test]
fn resource_graph_relationships() {
    let bytes = std::fs::read(data("resource-graph.json")).unwrap();
    let inv = parse_bytes("resource-graph.json", &bytes, now()).unwrap();
    let vm = by_name(&inv, "azure.compute.vm", "vm-web");
    let nic = by_name(&inv, "azure.network.nic", "vm-web-nic");
    let nsg = by_name(&inv, "azure.network.nsg", "nsg-web");
    let subnet = by_name(&inv, "azure.network.subnets", "web");
    let vnet = by_name(&inv, "azure.network.vnet", "vnet-prod");
    let pip = by_name(&inv, "azure.network.publicip", "vm-web-ip");
    let disk = by_name(&inv, "azure.compute.disk", "vm-web_OsDisk_1");
    let flow = by_name(
        &inv,
        "azure.network.flowlog",
        "NetworkWatcher_westeurope/nsg-web-flowlog",
    );
    let watcher = by_name(&inv, "azure.network.watcher", "NetworkWatcher_westeurope");
    let st = by_name(&inv, "azure.storage.account", "stprodlogs");
    let sql = by_name(&inv, "azure.sql.server", "sql-prod");
    let db = by_name(&inv, "azure.sql.database", "orders");
    let sub = by_name(&inv, "azure.resources.subscription", "prod");
    let rg = by_name(&inv, "azure.resources.resourcegroup", "rg-prod");
    let law = by_name(&inv, "azure.loganalytics.workspace", "law-prod");
    let kv = by_name(&inv, "azure.keyvault.vault", "kv-prod");
    let alert = by_name(&inv, "azure.monitor.activitylogalert", "policy-write");

    assert!(edge(&inv, vm, "uses", nic));
    // The disk's id is upper case in its own row: references match case-insensitively.
    assert!(edge(&inv, vm, "uses", disk));
    assert!(edge(&inv, nic, "uses", nsg));
    assert!(edge(&inv, nic, "uses", pip));
    assert!(edge(&inv, nic, "attached_to", subnet));
    assert!(edge(&inv, subnet, "uses", nsg));
    assert!(edge(&inv, vnet, "contains", subnet));
    assert!(edge(&inv, flow, "monitors", nsg));
    assert!(edge(&inv, flow, "delivers_to", st));
    assert!(edge(&inv, watcher, "contains", flow));
    assert!(edge(&inv, sql, "contains", db));
    assert!(edge(&inv, sub, "contains", rg));
    assert!(edge(&inv, rg, "contains", vm));
    assert!(edge(&inv, sub, "delivers_to", law));
    assert!(edge(&inv, kv, "delivers_to", law));
    assert!(edge(&inv, alert, "monitors", sub));
    // Every edge joins two assets of the inventory.
    for r in &inv.relationships {
        assert!(inv.assets.iter().any(|a| a.id == r.from), "{r:?}");
        assert!(inv.assets.iter().any(|a| a.id == r.to), "{r:?}");
    }
}

#[test]
fn graph_pages_and_arrays_across_files() {
    let inv = load_files(&all_files(), now()).unwrap();
    let tenant = by_name(&inv, "azure.entra.tenant", "Contoso Ltd");
    assert_eq!(tenant.account, TENANT);
    assert_eq!(tenant.region, "global");
    // Tenant policies from their own files are merged into the tenant.
    assert_eq!(tenant.config["securityDefaults"]["isEnabled"], false);
    assert_eq!(
        tenant.config["authorizationPolicy"]["defaultUserRolePermissions"]["allowedToCreateApps"],
        true
    );
    assert_eq!(
        tenant.config["groupSettings"]["EnableGroupCreation"],
        "true"
    );
    let alice = by_name(&inv, "azure.entra.user", "Alice Admin");
    let bob = by_name(&inv, "azure.entra.user", "Bob Builder");
    let carl = by_name(&inv, "azure.entra.user", "Carl Guest");
    assert_eq!(alice.account, TENANT);
    assert_eq!(alice.config["registrationDetails"]["isMfaRegistered"], true);
    assert_eq!(bob.config["registrationDetails"]["isMfaRegistered"], false);
    assert!(carl.config.get("registrationDetails").is_none());
    assert_eq!(
        alice.config["directoryRoles"],
        serde_json::json!(["Global Administrator"])
    );
    assert_eq!(bob.config["directoryRoles"], serde_json::json!([]));

    let group = by_name(&inv, "azure.entra.group", "Platform Engineers");
    let role = by_name(&inv, "azure.entra.directoryrole", "Global Administrator");
    let ca = by_name(
        &inv,
        "azure.entra.conditionalaccesspolicy",
        "Require MFA for admins",
    );
    let sp = by_name(&inv, "azure.entra.serviceprincipal", "orders-api");
    let app = by_name(&inv, "azure.entra.application", "orders-api");
    assert!(edge(&inv, bob, "member_of", group));
    assert!(edge(&inv, alice, "member_of", role));
    assert!(edge(&inv, sp, "instance_of", app));
    for a in [alice, bob, carl, group, role, ca, sp, app] {
        assert!(edge(&inv, tenant, "contains", a), "{}", a.name);
    }

    // Resource Graph rows of the same import: the subscription belongs to the tenant, and a
    // role assignment points at its principal (an Entra user) and its role definition.
    let sub = by_name(&inv, "azure.resources.subscription", "prod");
    assert!(edge(&inv, tenant, "contains", sub));
    let ra = inv
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == "azure.authorization.roleassignment")
        .unwrap();
    let owner = by_name(
        &inv,
        "azure.authorization.roledefinition",
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    );
    assert!(edge(&inv, ra, "assigned_to", alice));
    assert!(edge(&inv, ra, "uses", owner));
    assert!(edge(&inv, ra, "applies_to", sub));
}

#[test]
fn entra_objects_need_their_tenant() {
    // A users page alone: nothing says which tenant it belongs to.
    let err = load_files(&[data("entra/users.json")], now()).expect_err("no tenant");
    assert!(err.file.ends_with("users.json"), "{err}");
    assert!(err.message.contains("tenant"), "{err}");
    // With Resource Graph rows of one tenant, that tenant is used.
    let inv = load_files(
        &[data("entra/users.json"), data("authorization-rows.json")],
        now(),
    )
    .unwrap();
    let bob = by_name(&inv, "azure.entra.user", "Bob Builder");
    assert_eq!(bob.account, TENANT);
}

#[test]
fn malformed_input_fails_whole_import_with_file_and_record() {
    let err = load_files(
        &[data("resource-graph.json"), data("malformed/cut-off.json")],
        now(),
    )
    .expect_err("cut off");
    assert!(err.file.ends_with("cut-off.json"), "{err}");
    assert_eq!(err.line, Some(1));
    assert!(err.message.contains("invalid JSON"), "{err}");

    let err = load_files(
        &[
            data("resource-graph.json"),
            data("malformed/row-without-type.json"),
        ],
        now(),
    )
    .expect_err("no type");
    assert!(err.file.ends_with("row-without-type.json"), "{err}");
    assert!(err.message.starts_with("data[1] ("), "{err}");
    assert!(err.message.contains("missing \"type\""), "{err}");

    let err = load_files(
        &[
            data("entra/organization.json"),
            data("malformed/user-without-id.json"),
        ],
        now(),
    )
    .expect_err("no id");
    assert!(err.file.ends_with("user-without-id.json"), "{err}");
    assert!(err.message.starts_with("value[0]: "), "{err}");
    assert!(err.message.contains("missing \"id\""), "{err}");

    // Wrong shapes.
    for (text, needle) in [
        (
            r#"{"count": 1, "data": {"id": "x"}}"#,
            "\"data\" must be a list",
        ),
        (
            r#"{"data": [{"id": "/subscriptions/s", "type": "Microsoft.Resources/subscriptions", "properties": []}]}"#,
            "\"properties\" must be an object",
        ),
        (
            r#"{"data": [{"id": "subscriptions/s", "type": "Microsoft.Resources/subscriptions"}], "total_records": 1}"#,
            "not an Azure resource id",
        ),
        (
            r#"{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": {}}"#,
            "\"value\" must be a list",
        ),
        (
            r#"[{"id": "/subscriptions/s", "type": "Microsoft.Resources/subscriptions"}, 7]"#,
            "record 1: expected a JSON object",
        ),
    ] {
        let err = parse_bytes("bad.json", text.as_bytes(), now()).expect_err(text);
        assert!(err.message.contains(needle), "{text}: {err}");
        assert_eq!(err.file, "bad.json");
    }
}

#[test]
fn unknown_arm_types_fall_back_and_duplicates_collapse() {
    let text = r#"[
      {"id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ehns", "name": "ehns",
       "type": "microsoft.eventhub/namespaces", "location": "North Europe", "subscriptionId": "s1", "properties": {}},
      {"id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ehns", "name": "ehns",
       "type": "microsoft.eventhub/namespaces", "location": "North Europe", "subscriptionId": "s1", "properties": {"v": 2}},
      {"id": "/providers/Microsoft.Management/managementGroups/root", "name": "root",
       "type": "Microsoft.Management/managementGroups", "tenantId": "t1", "properties": {}}
    ]"#;
    let inv = parse_bytes("rows.json", text.as_bytes(), now()).unwrap();
    assert_eq!(inv.assets.len(), 2);
    let eh = &inv.assets[0];
    assert_eq!(eh.resource_type.as_str(), "azure.eventhub.namespaces");
    assert_eq!(eh.region, "northeurope");
    assert_eq!(eh.config["properties"]["v"], 2, "the later copy wins");
    let mg = &inv.assets[1];
    assert_eq!(
        mg.resource_type.as_str(),
        "azure.management.managementgroups"
    );
    assert_eq!(mg.account, "t1");
}

#[test]
fn empty_results_are_fine() {
    let inv = parse_bytes(
        "empty.json",
        br#"{"count": 0, "data": [], "skip_token": null, "total_records": 0}"#,
        now(),
    )
    .unwrap();
    assert!(inv.assets.is_empty());
}

#[test]
fn named_locations_and_arrays_of_pages() {
    let inv = load_files(&all_files(), now()).unwrap();
    let office = by_name(&inv, "azure.entra.namedlocation", "Head office");
    assert_eq!(office.config["isTrusted"], true);
    let countries = by_name(&inv, "azure.entra.namedlocation", "Allowed countries");
    assert_eq!(countries.account, TENANT);

    // An array of Graph pages (how a paging exporter may concatenate them), with tenant keys
    // that Graph lacks already merged into the organization object by the exporter.
    let text = r#"[
      {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization",
       "value": [{"id": "t-1", "displayName": "Fabrikam",
                  "passwordResetPolicy": {"numberOfAuthenticationMethodsRequired": 1}}]},
      {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
       "value": [{"id": "u-1", "displayName": "Una"}],
       "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=X"},
      {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
       "value": [{"id": "u-2", "displayName": "Ugo"}]}
    ]"#;
    let inv = parse_bytes("pages.json", text.as_bytes(), now()).unwrap();
    assert_eq!(inv.assets.len(), 3);
    let t = by_name(&inv, "azure.entra.tenant", "Fabrikam");
    assert_eq!(
        t.config["passwordResetPolicy"]["numberOfAuthenticationMethodsRequired"],
        1
    );
    let ugo = by_name(&inv, "azure.entra.user", "Ugo");
    assert_eq!(ugo.account, "t-1");
    assert!(edge(&inv, t, "contains", ugo));
    // Without registration details or roles, a user still has an (empty) directoryRoles list.
    assert_eq!(ugo.config["directoryRoles"], serde_json::json!([]));
}

#[test]
fn import_is_deterministic() {
    let a = load_files(&all_files(), now()).unwrap();
    let b = load_files(&all_files(), now()).unwrap();
    assert_eq!(a, b);
    // Asset ids do not depend on the order the files are given in.
    let mut reversed = all_files();
    reversed.reverse();
    let c = load_files(&reversed, now()).unwrap();
    let ids = |inv: &Inventory| {
        let mut v: Vec<String> = inv.assets.iter().map(|a| a.id.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&a), ids(&c));
    assert_eq!(a.relationships, c.relationships);
}

#[test]
fn azure_inventories_survive_a_rampart_snapshot_round_trip() {
    let inv = load_files(&all_files(), now()).unwrap();
    let mut out = Vec::new();
    rampart_import::write_snapshot(&inv, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let back = rampart_import::parse_snapshot("azure.jsonl", &text, now()).unwrap();
    assert_eq!(back.assets.len(), inv.assets.len());
    for a in &inv.assets {
        let b = back.assets.iter().find(|b| b.id == a.id).expect(&a.name);
        assert_eq!(a.config, b.config, "{}", a.name);
        assert_eq!(a.resource_type, b.resource_type);
    }
    let mut rels = back.relationships.clone();
    rels.sort();
    assert_eq!(rels, inv.relationships);
}

#[test]
fn gzipped_azure_files_are_read() {
    use std::io::Write;
    let raw = std::fs::read(data("resource-graph.json")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&raw).unwrap();
    let gz = enc.finish().unwrap();
    assert_eq!(detect_format("rg.json.gz", &gz), Ok(Format::Azure));
    let a = parse_bytes("rg.json.gz", &gz, now()).unwrap();
    let b = parse_bytes("rg.json", &raw, now()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn resources_hang_off_the_nearest_exported_container() {
    // No resource group row and no SQL server row: the database belongs to the subscription.
    let text = r#"{"count": 2, "total_records": 2, "data": [
      {"id": "/subscriptions/s1", "name": "s1", "type": "microsoft.resources/subscriptions", "subscriptionId": "s1", "properties": {}},
      {"id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/sq/databases/db", "name": "db",
       "type": "microsoft.sql/servers/databases", "location": "westeurope", "subscriptionId": "s1", "properties": null}
    ]}"#;
    let inv = parse_bytes("rg.json", text.as_bytes(), now()).unwrap();
    let sub = by_name(&inv, "azure.resources.subscription", "s1");
    let db = by_name(&inv, "azure.sql.database", "db");
    assert!(edge(&inv, sub, "contains", db));
    assert_eq!(inv.relationships.len(), 1);
}
