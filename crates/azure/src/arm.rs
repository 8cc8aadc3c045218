//! Azure Resource Manager: subscriptions, Azure Resource Graph, and the ARM reads that add the
//! extra keys of docs/asset-types-azure.md to the rows.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use rampart_import::AzureDoc;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::Scan;
use crate::http::{CallError, Scope};

/// Resource Graph REST API version.
pub const RESOURCE_GRAPH_API: &str = "2022-10-01";
/// Subscriptions REST API version.
pub const SUBSCRIPTIONS_API: &str = "2022-12-01";
/// Subscriptions per Resource Graph request.
const SUBSCRIPTION_BATCH: usize = 1000;
/// Rows per Resource Graph page (the service maximum).
const PAGE_ROWS: u64 = 1000;
/// Pages followed at most per listing (a guard against a server that never stops).
const MAX_PAGES: usize = 10_000;

/// The Resource Graph queries: (operation, KQL).
///
/// Of Defender for Cloud's recommendations (`microsoft.security/assessments`, one row per
/// recommendation and assessed resource) only those about system updates are read: the ones whose
/// display name contains `system update`, ignoring case (Kusto's `contains`), such as "System
/// updates should be installed on your machines" or "Machines should be configured to periodically
/// check for missing system updates". They become `azure.security.assessments` assets.
pub const QUERIES: &[(&str, &str)] = &[
    ("resources query", "resources"),
    ("resourcecontainers query", "resourcecontainers"),
    (
        "securityresources query",
        "securityresources | where type =~ 'microsoft.security/pricings'",
    ),
    (
        "securityresources assessments query",
        "securityresources | where type =~ 'microsoft.security/assessments' \
         | where tostring(properties.displayName) contains 'system update'",
    ),
    (
        "authorizationresources query",
        "authorizationresources | where type in~ ('microsoft.authorization/roleassignments', \
         'microsoft.authorization/roledefinitions')",
    ),
];

/// One row and the query it came from.
pub(crate) struct Row {
    op: &'static str,
    value: Value,
}

/// Lists a collection, following `nextLink` (ARM) or `@odata.nextLink` (Graph).
pub(crate) async fn get_list(
    scan: &Scan<'_>,
    scope: Scope,
    url: &str,
) -> Result<Vec<Value>, CallError> {
    let mut out = Vec::new();
    let mut next = Some(url.to_string());
    let mut pages = 0usize;
    while let Some(u) = next.take() {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(CallError::Malformed(format!(
                "more than {MAX_PAGES} pages: giving up"
            )));
        }
        let page = scan.api.call(scope, Method::GET, &u, None).await?;
        match page.get("value") {
            Some(Value::Array(items)) => out.extend(items.iter().cloned()),
            _ => {
                return Err(CallError::Malformed(format!(
                    "page {pages} has no \"value\" list"
                )));
            }
        }
        next = ["nextLink", "@odata.nextLink"]
            .iter()
            .find_map(|k| page.get(*k).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_string);
    }
    Ok(out)
}

/// `GET /subscriptions`: every subscription the app can see, except disabled ones.
pub(crate) async fn list_subscriptions(scan: &Scan<'_>) -> Vec<String> {
    scan.progress.started("subscriptions", "subscriptions");
    let url = format!(
        "{}/subscriptions?api-version={SUBSCRIPTIONS_API}",
        scan.api.arm
    );
    let mut subs = Vec::new();
    match get_list(scan, Scope::Arm, &url).await {
        Ok(items) => {
            for s in items {
                let state = s.get("state").and_then(Value::as_str).unwrap_or("Enabled");
                if state.eq_ignore_ascii_case("Disabled") || state.eq_ignore_ascii_case("Deleted") {
                    continue;
                }
                if let Some(id) = s.get("subscriptionId").and_then(Value::as_str) {
                    subs.push(id.to_string());
                }
            }
            if subs.is_empty() {
                scan.error(
                    &scan.tenant,
                    "subscriptions",
                    "global",
                    "GET /subscriptions",
                    "the app sees no enabled subscription: grant it Reader on the subscriptions \
                     to scan (deploy/azure/terraform)",
                );
            }
        }
        Err(e) => scan.error(
            &scan.tenant,
            "subscriptions",
            "global",
            "GET /subscriptions",
            e.to_string(),
        ),
    }
    scan.progress.finished(
        "subscriptions",
        "subscriptions",
        subs.len(),
        scan.error_count("subscriptions"),
    );
    subs
}

/// Runs every query over the subscriptions (in batches), following `$skipToken`.
pub(crate) async fn resource_graph(scan: &Scan<'_>, subscriptions: &[String]) -> Vec<Row> {
    scan.progress.started("resourcegraph", "subscriptions");
    let mut rows = Vec::new();
    let url = format!(
        "{}/providers/Microsoft.ResourceGraph/resources?api-version={RESOURCE_GRAPH_API}",
        scan.api.arm
    );
    for (op, kql) in QUERIES {
        for batch in subscriptions.chunks(SUBSCRIPTION_BATCH) {
            let account = if batch.len() == 1 {
                batch[0].as_str()
            } else {
                "subscriptions"
            };
            let mut skip: Option<String> = None;
            let mut page = 0usize;
            loop {
                page += 1;
                let mut options = json!({ "resultFormat": "objectArray", "$top": PAGE_ROWS });
                if let Some(t) = &skip {
                    options["$skipToken"] = Value::String(t.clone());
                }
                let body = json!({ "subscriptions": batch, "query": kql, "options": options });
                let resp = match scan
                    .api
                    .call(Scope::Arm, Method::POST, &url, Some(&body))
                    .await
                {
                    Ok(v) => v,
                    Err(e) => {
                        scan.error(
                            account,
                            "resourcegraph",
                            "global",
                            op,
                            format!("page {page}: {e}"),
                        );
                        break;
                    }
                };
                let Some(Value::Array(data)) = resp.get("data") else {
                    scan.error(
                        account,
                        "resourcegraph",
                        "global",
                        op,
                        format!("page {page}: malformed response: no \"data\" list of rows"),
                    );
                    break;
                };
                rows.extend(data.iter().cloned().map(|value| Row { op, value }));
                let next = resp
                    .get("$skipToken")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string);
                let truncated = match resp.get("resultTruncated") {
                    Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                    Some(Value::Bool(b)) => *b,
                    _ => false,
                };
                match next {
                    Some(t) if Some(&t) != skip.as_ref() && page < MAX_PAGES => skip = Some(t),
                    Some(_) => {
                        scan.error(account, "resourcegraph", "global", op, format!(
                            "page {page}: the same $skipToken again (or too many pages): stopped"
                        ));
                        break;
                    }
                    None => {
                        if truncated {
                            scan.error(account, "resourcegraph", "global", op, format!(
                                "page {page}: resultTruncated without a $skipToken: some rows are missing"
                            ));
                        }
                        break;
                    }
                }
            }
        }
    }
    scan.progress.finished(
        "resourcegraph",
        "subscriptions",
        rows.len(),
        scan.error_count("resourcegraph"),
    );
    rows
}

#[derive(Clone, Copy)]
enum Mode {
    /// The `properties` of one resource.
    Props,
    /// A list of resources.
    List,
    /// A list of configurations, as name → `properties.value`.
    ConfigMap,
    /// A storage account's diagnostic settings: `account`/`blob`/`file`/`queue`/`table` → list.
    StorageDiag,
}

/// One ARM read that fills one extra key of one row.
#[derive(Clone, Copy)]
struct Read {
    service: &'static str,
    key: &'static str,
    suffix: &'static str,
    api: &'static str,
    mode: Mode,
}

const fn read(
    service: &'static str,
    key: &'static str,
    suffix: &'static str,
    api: &'static str,
    mode: Mode,
) -> Read {
    Read {
        service,
        key,
        suffix,
        api,
        mode,
    }
}

/// Diagnostic settings API version.
pub const DIAGNOSTICS_API: &str = "2021-05-01-preview";
const DIAG: &str = "/providers/Microsoft.Insights/diagnosticSettings";

/// The ARM reads per (lower-case) ARM type.
fn reads_for(arm_type: &str) -> &'static [Read] {
    use Mode::*;
    const SUBSCRIPTION: &[Read] = &[
        read("monitor", "diagnosticSettings", DIAG, DIAGNOSTICS_API, List),
        read(
            "defender",
            "pricings",
            "/providers/Microsoft.Security/pricings",
            "2024-01-01",
            List,
        ),
        read(
            "defender",
            "securityContacts",
            "/providers/Microsoft.Security/securityContacts",
            "2020-01-01-preview",
            List,
        ),
        read(
            "defender",
            "autoProvisioningSettings",
            "/providers/Microsoft.Security/autoProvisioningSettings",
            "2017-08-01-preview",
            List,
        ),
        read(
            "defender",
            "securitySettings",
            "/providers/Microsoft.Security/settings",
            "2022-05-01",
            List,
        ),
    ];
    const RESOURCE_GROUP: &[Read] = &[read(
        "locks",
        "locks",
        "/providers/Microsoft.Authorization/locks",
        "2016-09-01",
        List,
    )];
    const STORAGE: &[Read] = &[
        read(
            "storage",
            "blobServiceProperties",
            "/blobServices/default",
            "2023-05-01",
            Props,
        ),
        read(
            "storage",
            "fileServiceProperties",
            "/fileServices/default",
            "2023-05-01",
            Props,
        ),
        read(
            "storage",
            "queueServiceProperties",
            "/queueServices/default",
            "2023-05-01",
            Props,
        ),
        read(
            "storage",
            "tableServiceProperties",
            "/tableServices/default",
            "2023-05-01",
            Props,
        ),
        read(
            "storage",
            "containers",
            "/blobServices/default/containers",
            "2023-05-01",
            List,
        ),
        read(
            "storage",
            "diagnosticSettings",
            DIAG,
            DIAGNOSTICS_API,
            StorageDiag,
        ),
    ];
    const SQL_SERVER: &[Read] = &[
        read(
            "sql",
            "auditingSettings",
            "/auditingSettings/default",
            "2021-11-01",
            Props,
        ),
        read(
            "sql",
            "securityAlertPolicies",
            "/securityAlertPolicies/Default",
            "2021-11-01",
            Props,
        ),
        read(
            "sql",
            "vulnerabilityAssessments",
            "/vulnerabilityAssessments/default",
            "2021-11-01",
            Props,
        ),
        read(
            "sql",
            "administrators",
            "/administrators",
            "2021-11-01",
            List,
        ),
        read("sql", "firewallRules", "/firewallRules", "2021-11-01", List),
        read(
            "sql",
            "encryptionProtector",
            "/encryptionProtector/current",
            "2021-11-01",
            Props,
        ),
    ];
    const SQL_DATABASE: &[Read] = &[
        read(
            "sql",
            "transparentDataEncryption",
            "/transparentDataEncryption/current",
            "2021-11-01",
            Props,
        ),
        read(
            "sql",
            "auditingSettings",
            "/auditingSettings/default",
            "2021-11-01",
            Props,
        ),
    ];
    const POSTGRES: &[Read] = &[
        read(
            "postgresql",
            "configurations",
            "/configurations",
            "2022-12-01",
            ConfigMap,
        ),
        read(
            "postgresql",
            "firewallRules",
            "/firewallRules",
            "2022-12-01",
            List,
        ),
    ];
    const MYSQL: &[Read] = &[
        read(
            "mysql",
            "configurations",
            "/configurations",
            "2023-12-30",
            ConfigMap,
        ),
        read(
            "mysql",
            "firewallRules",
            "/firewallRules",
            "2023-12-30",
            List,
        ),
    ];
    const WEB: &[Read] = &[
        read("web", "siteConfig", "/config/web", "2023-12-01", Props),
        read(
            "web",
            "authSettings",
            "/config/authsettingsV2",
            "2023-12-01",
            Props,
        ),
    ];
    const KEYVAULT: &[Read] = &[
        read(
            "keyvault",
            "diagnosticSettings",
            DIAG,
            DIAGNOSTICS_API,
            List,
        ),
        read("keyvault", "keys", "/keys", "2023-07-01", List),
        read("keyvault", "secrets", "/secrets", "2023-07-01", List),
    ];
    const VM: &[Read] = &[read(
        "compute",
        "extensions",
        "/extensions",
        "2024-03-01",
        List,
    )];
    match arm_type {
        "microsoft.resources/subscriptions" => SUBSCRIPTION,
        "microsoft.resources/subscriptions/resourcegroups"
        | "microsoft.resources/resourcegroups" => RESOURCE_GROUP,
        "microsoft.storage/storageaccounts" => STORAGE,
        "microsoft.sql/servers" => SQL_SERVER,
        "microsoft.sql/servers/databases" => SQL_DATABASE,
        "microsoft.dbforpostgresql/flexibleservers" => POSTGRES,
        "microsoft.dbformysql/flexibleservers" => MYSQL,
        "microsoft.web/sites" => WEB,
        "microsoft.keyvault/vaults" => KEYVAULT,
        "microsoft.compute/virtualmachines" => VM,
        _ => &[],
    }
}

/// Every ARM read made for one of the services, for documentation and tests.
pub fn arm_reads() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    [
        "microsoft.resources/subscriptions",
        "microsoft.resources/subscriptions/resourcegroups",
        "microsoft.storage/storageaccounts",
        "microsoft.sql/servers",
        "microsoft.sql/servers/databases",
        "microsoft.dbforpostgresql/flexibleservers",
        "microsoft.dbformysql/flexibleservers",
        "microsoft.web/sites",
        "microsoft.keyvault/vaults",
        "microsoft.compute/virtualmachines",
    ]
    .iter()
    .flat_map(|t| {
        reads_for(t)
            .iter()
            .map(|r| (r.service, r.key, r.suffix, r.api))
    })
    .collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Makes the ARM reads for every row, a bounded number at once, and adds their results.
pub(crate) async fn enrich(scan: &Scan<'_>, rows: &mut Vec<Row>) {
    let services: Vec<&str> = crate::ARM_SERVICES
        .iter()
        .copied()
        .filter(|s| !matches!(*s, "subscriptions" | "resourcegraph"))
        .collect();
    for s in &services {
        scan.progress.started(s, "subscriptions");
    }
    // Defender plans from Resource Graph (securityresources) spare one ARM read per
    // subscription; subscriptions without such rows are read over ARM.
    let pricings = take_pricings(rows);
    let mut jobs: Vec<(usize, Read, String, String, String)> = Vec::new();
    for (i, row) in rows.iter_mut().enumerate() {
        let is_sub =
            str_of(&row.value, "type").eq_ignore_ascii_case("microsoft.resources/subscriptions");
        let sub_key = str_of(&row.value, "subscriptionId").to_ascii_lowercase();
        let from_graph = if is_sub {
            pricings.get(&sub_key).cloned()
        } else {
            None
        };
        if let (Some(list), Some(obj)) = (&from_graph, row.value.as_object_mut()) {
            obj.insert("pricings".into(), Value::Array(list.clone()));
        }
        let t = str_of(&row.value, "type").to_ascii_lowercase();
        let id = str_of(&row.value, "id").to_string();
        if id.is_empty() {
            continue;
        }
        let account = str_of(&row.value, "subscriptionId").to_string();
        let region = str_of(&row.value, "location")
            .to_ascii_lowercase()
            .replace(' ', "");
        for r in reads_for(&t) {
            if r.key == "pricings" && from_graph.is_some() {
                continue;
            }
            jobs.push((i, *r, id.clone(), account.clone(), region.clone()));
        }
    }
    let results: Vec<(usize, &'static str, &'static str, Option<Value>)> =
        futures_util::stream::iter(jobs)
            .map(|(i, r, id, account, region)| async move {
                let v = fetch(scan, &r, &id, &account).await;
                let v = match v {
                    Ok(v) => v,
                    Err(e) => {
                        scan.error(
                            &account,
                            r.service,
                            &region,
                            &format!("GET {}", r.suffix),
                            format!("{id}: {e}"),
                        );
                        None
                    }
                };
                (i, r.service, r.key, v)
            })
            .buffer_unordered(scan.concurrency)
            .collect()
            .await;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, service, key, v) in results {
        if let Some(v) = v
            && let Some(obj) = rows.get_mut(i).and_then(|r| r.value.as_object_mut())
        {
            obj.insert(key.to_string(), v);
            *counts.entry(service).or_default() += 1;
        }
    }
    for s in &services {
        scan.progress.finished(
            s,
            "subscriptions",
            counts.get(s).copied().unwrap_or(0),
            scan.error_count(s),
        );
    }
}

/// Removes the `microsoft.security/pricings` rows (they are settings of the subscription, not
/// assets) and returns them per lower-case subscription id, in the ARM resource shape.
fn take_pricings(rows: &mut Vec<Row>) -> std::collections::HashMap<String, Vec<Value>> {
    let mut out: std::collections::HashMap<String, Vec<Value>> = std::collections::HashMap::new();
    rows.retain(|r| {
        if !str_of(&r.value, "type").eq_ignore_ascii_case("microsoft.security/pricings") {
            return true;
        }
        let sub = str_of(&r.value, "subscriptionId").to_ascii_lowercase();
        if !sub.is_empty() {
            out.entry(sub).or_default().push(json!({
                "id": r.value.get("id").cloned().unwrap_or(Value::Null),
                "name": r.value.get("name").cloned().unwrap_or(Value::Null),
                "type": "Microsoft.Security/pricings",
                "properties": r.value.get("properties").cloned().unwrap_or(Value::Null),
            }));
        }
        false
    });
    out
}

/// One read; `Ok(None)` when the setting does not exist (404).
async fn fetch(
    scan: &Scan<'_>,
    r: &Read,
    id: &str,
    account: &str,
) -> Result<Option<Value>, CallError> {
    let arm = &scan.api.arm;
    let absent = |e: &CallError| e.status() == Some(404);
    match r.mode {
        Mode::Props => {
            let url = format!("{arm}{id}{}?api-version={}", r.suffix, r.api);
            match scan.api.call(Scope::Arm, Method::GET, &url, None).await {
                Ok(v) => match v.get("properties") {
                    Some(p @ Value::Object(_)) => Ok(Some(p.clone())),
                    _ => Err(CallError::Malformed("no \"properties\" object".into())),
                },
                Err(e) if absent(&e) => Ok(None),
                Err(e) => Err(e),
            }
        }
        Mode::List => {
            let url = format!("{arm}{id}{}?api-version={}", r.suffix, r.api);
            match get_list(scan, Scope::Arm, &url).await {
                Ok(items) => Ok(Some(Value::Array(items))),
                Err(e) if absent(&e) => Ok(None),
                Err(e) => Err(e),
            }
        }
        Mode::ConfigMap => {
            let url = format!("{arm}{id}{}?api-version={}", r.suffix, r.api);
            match get_list(scan, Scope::Arm, &url).await {
                Ok(items) => {
                    let mut map = Map::new();
                    for item in items {
                        let name = str_of(&item, "name");
                        if name.is_empty() {
                            continue;
                        }
                        let value = item
                            .pointer("/properties/value")
                            .map(|v| match v {
                                Value::String(s) => Value::String(s.clone()),
                                Value::Null => Value::String(String::new()),
                                other => Value::String(other.to_string()),
                            })
                            .unwrap_or(Value::String(String::new()));
                        map.insert(name.to_string(), value);
                    }
                    Ok(Some(Value::Object(map)))
                }
                Err(e) if absent(&e) => Ok(None),
                Err(e) => Err(e),
            }
        }
        Mode::StorageDiag => {
            let mut map = Map::new();
            let mut failures = Vec::new();
            for (k, sub) in [
                ("account", ""),
                ("blob", "/blobServices/default"),
                ("file", "/fileServices/default"),
                ("queue", "/queueServices/default"),
                ("table", "/tableServices/default"),
            ] {
                let url = format!("{arm}{id}{sub}{}?api-version={}", r.suffix, r.api);
                match get_list(scan, Scope::Arm, &url).await {
                    Ok(items) => {
                        map.insert(k.to_string(), Value::Array(items));
                    }
                    Err(e) if absent(&e) => {}
                    Err(e) => failures.push(format!("{k}: {e}")),
                }
            }
            if map.is_empty() && !failures.is_empty() {
                return Err(CallError::Refused(failures.join("; ")));
            }
            for f in failures {
                scan.error(
                    account,
                    r.service,
                    "global",
                    "GET /providers/Microsoft.Insights/diagnosticSettings",
                    format!("{id}: {f}"),
                );
            }
            Ok(Some(Value::Object(map)))
        }
    }
}

/// Validates every row through the importer and wraps it as a document; a row that does not
/// fit is a recorded error naming the query it came from.
pub(crate) fn documents(scan: &Scan<'_>, rows: Vec<Row>) -> Vec<AzureDoc> {
    // Tenant-level rows (built-in role definitions) carry no subscription; they belong to the
    // tenant the other rows name.
    let tenant = rows
        .iter()
        .map(|r| str_of(&r.value, "tenantId"))
        .find(|t| !t.is_empty())
        .map(str::to_string);
    let mut docs = Vec::new();
    for mut row in rows {
        let id = str_of(&row.value, "id").to_string();
        let has_sub = !str_of(&row.value, "subscriptionId").is_empty()
            || id.to_ascii_lowercase().contains("/subscriptions/");
        if !has_sub
            && str_of(&row.value, "tenantId").is_empty()
            && let (Some(t), Some(obj)) = (&tenant, row.value.as_object_mut())
        {
            obj.insert("tenantId".into(), Value::String(t.clone()));
        }
        match crate::row_document(row.op, &row.value) {
            Ok(doc) => docs.push(doc),
            Err(e) => {
                let account = str_of(&row.value, "subscriptionId");
                scan.error(
                    if account.is_empty() {
                        &scan.tenant
                    } else {
                        account
                    },
                    "resourcegraph",
                    "global",
                    row.op,
                    format!("malformed row skipped: {e}"),
                );
            }
        }
    }
    docs
}

/// Lower-case object ids of the Entra groups that hold an Azure role assignment: their members
/// are read, so that a member's privileges through the group can be seen.
pub(crate) fn assigned_groups(rows: &[Row]) -> std::collections::HashSet<String> {
    rows.iter()
        .filter(|r| {
            str_of(&r.value, "type").eq_ignore_ascii_case("microsoft.authorization/roleassignments")
        })
        .filter(|r| {
            r.value
                .pointer("/properties/principalType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("Group"))
        })
        .filter_map(|r| {
            r.value
                .pointer("/properties/principalId")
                .and_then(Value::as_str)
        })
        .map(str::to_ascii_lowercase)
        .collect()
}
