//! Azure offline import: Azure Resource Graph rows and Microsoft Graph (Entra ID) exports.
//!
//! Two shapes are read (docs/asset-types-azure.md):
//!
//! * `az graph query -q "…" --first 1000 -o json`: `{"count": …, "data": [ROW…], "skip_token": …,
//!   "total_records": …}`, or the plain array of rows (`--query data`). Each row is the ARM resource
//!   as Resource Graph returns it; its `config` is the row unchanged (extra keys such as
//!   `diagnosticSettings` or `pricings`, collected from other ARM reads, ride along in the row).
//! * Microsoft Graph v1.0 exports: pages `{"@odata.context": "…/$metadata#users", "value": [...]}`,
//!   a single entity (`…/$entity`), an array of objects or an array of pages. The kind of each
//!   object comes from its `@odata.type`, else from the page's `@odata.context`, else from the
//!   file name (`users.json`, `conditional-access-policies.json`, …).
//!
//! Entra objects belong to the tenant: their account is the tenant id, taken from the
//! `organization` object, or else from the `tenantId` the Resource Graph rows carry. Because the
//! pieces of one tenant usually arrive in several files (users in one, the registration report in
//! another), [`build`] works on every Azure file of an import at once; `crate::load_files` gathers
//! them. All-or-nothing: any malformed record fails the whole import, naming the file, the record
//! (`data[3]`, `value[0]`, `page 2 value[5]`, `record 4`) and the problem.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rampart_model::{Asset, Inventory, Provider, Relationship, ResourceType};
use serde_json::{Map, Value};

use crate::{ImportError, json_error_message};

/// ARM types with a Rampart type of their own (compared case-insensitively).
const ARM_TYPES: &[(&str, &str)] = &[
    (
        "microsoft.resources/subscriptions",
        "azure.resources.subscription",
    ),
    (
        "microsoft.resources/subscriptions/resourcegroups",
        "azure.resources.resourcegroup",
    ),
    (
        "microsoft.resources/resourcegroups",
        "azure.resources.resourcegroup",
    ),
    ("microsoft.storage/storageaccounts", "azure.storage.account"),
    ("microsoft.sql/servers", "azure.sql.server"),
    ("microsoft.sql/servers/databases", "azure.sql.database"),
    (
        "microsoft.dbforpostgresql/flexibleservers",
        "azure.postgresql.flexibleserver",
    ),
    (
        "microsoft.dbformysql/flexibleservers",
        "azure.mysql.flexibleserver",
    ),
    (
        "microsoft.documentdb/databaseaccounts",
        "azure.cosmosdb.account",
    ),
    (
        "microsoft.network/networksecuritygroups",
        "azure.network.nsg",
    ),
    ("microsoft.network/networkwatchers", "azure.network.watcher"),
    (
        "microsoft.network/networkwatchers/flowlogs",
        "azure.network.flowlog",
    ),
    (
        "microsoft.network/publicipaddresses",
        "azure.network.publicip",
    ),
    ("microsoft.network/virtualnetworks", "azure.network.vnet"),
    (
        "microsoft.network/applicationgateways",
        "azure.network.applicationgateway",
    ),
    ("microsoft.network/bastionhosts", "azure.network.bastion"),
    ("microsoft.network/networkinterfaces", "azure.network.nic"),
    ("microsoft.compute/virtualmachines", "azure.compute.vm"),
    ("microsoft.compute/disks", "azure.compute.disk"),
    ("microsoft.keyvault/vaults", "azure.keyvault.vault"),
    ("microsoft.web/sites", "azure.web.app"),
    (
        "microsoft.insights/activitylogalerts",
        "azure.monitor.activitylogalert",
    ),
    (
        "microsoft.operationalinsights/workspaces",
        "azure.loganalytics.workspace",
    ),
    (
        "microsoft.authorization/roledefinitions",
        "azure.authorization.roledefinition",
    ),
    (
        "microsoft.authorization/roleassignments",
        "azure.authorization.roleassignment",
    ),
    (
        "microsoft.containerservice/managedclusters",
        "azure.containerservice.cluster",
    ),
    (
        "microsoft.containerregistry/registries",
        "azure.containerregistry.registry",
    ),
    ("microsoft.cache/redis", "azure.cache.redis"),
    (
        "microsoft.databricks/workspaces",
        "azure.databricks.workspace",
    ),
];

/// Maps an ARM resource type to a Rampart type: the fixed table, else
/// `azure.<namespace without "microsoft.">.<last type segment>` in lower case.
pub fn map_arm_type(arm_type: &str) -> Option<ResourceType> {
    let lower = arm_type.trim().to_ascii_lowercase();
    if let Some((_, t)) = ARM_TYPES.iter().find(|(a, _)| *a == lower) {
        return ResourceType::parse(t).ok();
    }
    let (namespace, rest) = lower.split_once('/')?;
    let namespace = namespace.strip_prefix("microsoft.").unwrap_or(namespace);
    let last = rest.rsplit('/').next()?;
    let clean = |s: &str| -> String {
        let mapped: String = s
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        mapped.trim_matches('_').to_string()
    };
    let (ns, kind) = (clean(namespace), clean(last));
    if ns.is_empty() || kind.is_empty() {
        return None;
    }
    ResourceType::parse(&format!("azure.{ns}.{kind}")).ok()
}

/// Kinds of Microsoft Graph objects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GraphKind {
    Tenant,
    User,
    Group,
    ServicePrincipal,
    Application,
    ConditionalAccessPolicy,
    DirectoryRole,
    /// Conditional Access named locations (IP ranges or countries).
    NamedLocation,
    /// userRegistrationDetails report entries: merged into the user as `registrationDetails`.
    RegistrationDetails,
    /// Tenant-wide policies merged into the tenant under the given key.
    TenantPolicy(&'static str),
    /// directorySetting objects: their values merged into the tenant's `groupSettings`.
    DirectorySetting,
    /// Any other Graph object: `azure.entra.<name>`.
    Other(String),
}

impl GraphKind {
    fn rampart_type(&self) -> Option<&str> {
        Some(match self {
            GraphKind::Tenant => "azure.entra.tenant",
            GraphKind::User => "azure.entra.user",
            GraphKind::Group => "azure.entra.group",
            GraphKind::ServicePrincipal => "azure.entra.serviceprincipal",
            GraphKind::Application => "azure.entra.application",
            GraphKind::ConditionalAccessPolicy => "azure.entra.conditionalaccesspolicy",
            GraphKind::DirectoryRole => "azure.entra.directoryrole",
            GraphKind::NamedLocation => "azure.entra.namedlocation",
            GraphKind::Other(t) => t.as_str(),
            _ => return None,
        })
    }

    /// From a Graph type name (`user`, `servicePrincipal`, `conditionalAccessPolicy`, …).
    fn from_type_name(name: &str) -> Option<GraphKind> {
        let n = name.trim().to_ascii_lowercase();
        let n = n.trim_start_matches('#');
        let n = n.strip_prefix("microsoft.graph.").unwrap_or(n);
        Some(match n {
            "organization" | "tenant" => GraphKind::Tenant,
            "user" | "users" => GraphKind::User,
            "group" | "groups" => GraphKind::Group,
            "serviceprincipal" | "serviceprincipals" => GraphKind::ServicePrincipal,
            "application" | "applications" => GraphKind::Application,
            "conditionalaccesspolicy" => GraphKind::ConditionalAccessPolicy,
            "directoryrole" | "directoryroles" => GraphKind::DirectoryRole,
            "namedlocation" | "namedlocations" | "ipnamedlocation" | "countrynamedlocation" => {
                GraphKind::NamedLocation
            }
            "userregistrationdetails" => GraphKind::RegistrationDetails,
            "identitysecuritydefaultsenforcementpolicy" => {
                GraphKind::TenantPolicy("securityDefaults")
            }
            "authorizationpolicy" => GraphKind::TenantPolicy("authorizationPolicy"),
            "authenticationmethodspolicy" => GraphKind::TenantPolicy("authenticationMethodsPolicy"),
            "adminconsentrequestpolicy" => GraphKind::TenantPolicy("adminConsentRequestPolicy"),
            "deviceregistrationpolicy" => GraphKind::TenantPolicy("deviceRegistrationPolicy"),
            "directorysetting" | "groupsettings" | "settings" => GraphKind::DirectorySetting,
            other => {
                let clean: String = other
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect();
                if clean.is_empty() {
                    return None;
                }
                GraphKind::Other(format!("azure.entra.{clean}"))
            }
        })
    }

    /// From `@odata.context`: `https://graph.microsoft.com/v1.0/$metadata#users`,
    /// `…#identity/conditionalAccess/policies`, `…#policies/authorizationPolicy/$entity`,
    /// `…#users(id,displayName)`.
    fn from_context(context: &str) -> Option<GraphKind> {
        let fragment = context.split_once('#')?.1;
        let fragment = fragment.trim_end_matches("/$entity");
        let path: Vec<String> = fragment
            .split('/')
            .map(|s| s.split('(').next().unwrap_or(s).to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        let joined = path.join("/");
        if joined.ends_with("conditionalaccess/policies") {
            return Some(GraphKind::ConditionalAccessPolicy);
        }
        if joined.ends_with("userregistrationdetails") {
            return Some(GraphKind::RegistrationDetails);
        }
        let last = path.last()?;
        if last == "policies" {
            return None; // a bare "policies" collection says nothing about the kind
        }
        GraphKind::from_type_name(last)
    }

    /// From the file name: `users.json`, `entra-service-principals.json.gz`, `ca-policies.json`.
    fn from_file_name(name: &str) -> Option<GraphKind> {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let flat: String = base
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        // Longest, most specific names first.
        // (what the name contains, the Graph type it stands for)
        const HINTS: &[(&str, &str)] = &[
            ("userregistrationdetails", "userRegistrationDetails"),
            ("registrationdetails", "userRegistrationDetails"),
            ("namedlocations", "namedLocation"),
            ("conditionalaccess", "conditionalAccessPolicy"),
            ("capolicies", "conditionalAccessPolicy"),
            ("serviceprincipals", "servicePrincipal"),
            ("directoryroles", "directoryRole"),
            ("applications", "application"),
            ("organization", "organization"),
            ("groupsettings", "directorySetting"),
            ("directorysettings", "directorySetting"),
            ("groups", "group"),
            ("users", "user"),
        ];
        HINTS
            .iter()
            .find(|(hint, _)| flat.contains(hint))
            .and_then(|(_, kind)| GraphKind::from_type_name(kind))
    }
}

/// Whether the file name alone says it holds Microsoft Graph objects (used by format detection).
pub(crate) fn is_graph_file_name(name: &str) -> bool {
    GraphKind::from_file_name(name).is_some()
}

#[derive(Debug, Clone)]
enum RecordKind {
    Arm,
    Graph(GraphKind),
}

/// One object of an Azure file, with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    file: String,
    /// Where the record is in the file: `data[3]`, `value[0]`, `page 2 value[5]`, `record 4`
    /// (0-based positions), or `the entity`.
    at: String,
    kind: RecordKind,
    object: Map<String, Value>,
}

impl Record {
    fn error(&self, message: impl Into<String>) -> ImportError {
        let id = self
            .object
            .get("id")
            .and_then(Value::as_str)
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        ImportError::new(
            &self.file,
            None,
            format!("{}{id}: {}", self.at, message.into()),
        )
    }
}

/// The parsed records of one Azure file (opaque: made by [`parse_azure_doc`], consumed by
/// [`build_azure`]).
#[derive(Debug, Clone, Default)]
pub struct AzureDoc {
    records: Vec<Record>,
}

/// Parses one Azure file (Resource Graph or Microsoft Graph) into an inventory on its own.
pub fn parse_azure(
    name: &str,
    text: &str,
    observed_at: DateTime<Utc>,
) -> Result<Inventory, ImportError> {
    let doc = parse_doc(name, text)?;
    build(vec![doc], observed_at)
}

/// Quick look at a file's head: does it look like Azure Resource Graph or Microsoft Graph output?
pub(crate) fn sniff(name: &str, head: &str) -> bool {
    let t = head.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return false;
    }
    if head.contains("\"@odata.context\"") || head.contains("\"@odata.type\"") {
        return true;
    }
    let arm_like = head.contains("\"/subscriptions/") || head.contains("\"/providers/");
    let rg_envelope = head.contains("\"total_records\"")
        || head.contains("\"count\"")
        || head.contains("\"skip_token\"")
        || head.contains("\"totalRecords\"");
    if t.starts_with('{') && head.contains("\"data\"") && (rg_envelope || arm_like) {
        return true;
    }
    if t.starts_with('[') && (arm_like || t[1..].trim_start().starts_with(']')) {
        return arm_like || is_graph_file_name(name);
    }
    t.starts_with('[') && is_graph_file_name(name)
}

/// Splits a file into records, classifying each one. Public so that the live collector can
/// validate each response on its own before building everything together with [`build_azure`].
pub fn parse_azure_doc(name: &str, text: &str) -> Result<AzureDoc, ImportError> {
    parse_doc(name, text)
}

/// Builds one inventory from documents parsed with [`parse_azure_doc`] (see the module docs):
/// what `load_files` does with the Azure files of one import.
pub fn build_azure(
    docs: Vec<AzureDoc>,
    observed_at: DateTime<Utc>,
) -> Result<Inventory, ImportError> {
    build(docs, observed_at)
}

pub(crate) fn parse_doc(name: &str, text: &str) -> Result<AzureDoc, ImportError> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| ImportError::at(name, e.line(), json_error_message(&e, "the file")))?;
    let file_hint = GraphKind::from_file_name(name);
    let mut doc = AzureDoc::default();
    match root {
        Value::Object(map) => {
            if map.contains_key("value") || map.contains_key("@odata.context") {
                push_graph_page(name, map, &file_hint, &mut doc, None)?;
            } else if let Some(data) = map.get("data") {
                let Value::Array(rows) = data else {
                    return Err(ImportError::new(
                        name,
                        None,
                        "\"data\" must be a list of Resource Graph rows",
                    ));
                };
                for (i, row) in rows.iter().enumerate() {
                    doc.records
                        .push(arm_record(name, format!("data[{i}]"), row)?);
                }
            } else if map.get("id").and_then(Value::as_str).is_some()
                && map.get("type").and_then(Value::as_str).is_some()
            {
                doc.records
                    .push(arm_record(name, "the object".into(), &Value::Object(map))?);
            } else {
                return Err(ImportError::new(
                    name,
                    None,
                    "not an Azure export: expected Resource Graph output ({\"data\": [...]}), a \
                     Microsoft Graph page ({\"@odata.context\": …, \"value\": [...]}) or a JSON array",
                ));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                let Value::Object(obj) = item else {
                    return Err(ImportError::new(
                        name,
                        None,
                        format!("record {i}: expected a JSON object"),
                    ));
                };
                if obj.contains_key("value") && obj.contains_key("@odata.context") {
                    // An array of Graph pages.
                    push_graph_page(name, obj, &file_hint, &mut doc, Some(i))?;
                    continue;
                }
                doc.records.push(classify(
                    name,
                    format!("record {i}"),
                    obj,
                    None,
                    &file_hint,
                )?);
            }
        }
        _ => {
            return Err(ImportError::new(
                name,
                None,
                "not an Azure export: expected a JSON object or array",
            ));
        }
    }
    Ok(doc)
}

fn push_graph_page(
    name: &str,
    mut page: Map<String, Value>,
    file_hint: &Option<GraphKind>,
    doc: &mut AzureDoc,
    page_index: Option<usize>,
) -> Result<(), ImportError> {
    let context = page
        .get("@odata.context")
        .and_then(Value::as_str)
        .map(str::to_string);
    let page_kind = context.as_deref().and_then(GraphKind::from_context);
    let prefix = match page_index {
        Some(p) => format!("page {p} "),
        None => String::new(),
    };
    match page.remove("value") {
        Some(Value::Array(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                let at = format!("{prefix}value[{i}]");
                let Value::Object(obj) = item else {
                    return Err(ImportError::new(
                        name,
                        None,
                        format!("{at}: expected a JSON object"),
                    ));
                };
                doc.records
                    .push(classify(name, at, obj, page_kind.clone(), file_hint)?);
            }
            Ok(())
        }
        Some(_) => Err(ImportError::new(
            name,
            None,
            format!("{prefix}\"value\" must be a list")
                .trim_start()
                .to_string(),
        )),
        None => {
            // A single entity (`…/$entity`): the page is the object itself.
            let at = format!("{prefix}the entity").trim_start().to_string();
            doc.records
                .push(classify(name, at, page, page_kind, file_hint)?);
            Ok(())
        }
    }
}

fn classify(
    name: &str,
    at: String,
    obj: Map<String, Value>,
    page_kind: Option<GraphKind>,
    file_hint: &Option<GraphKind>,
) -> Result<Record, ImportError> {
    let odata_type = obj.get("@odata.type").and_then(Value::as_str);
    let kind = odata_type
        .and_then(GraphKind::from_type_name)
        .or(page_kind)
        .or_else(|| {
            // A Resource Graph row: an ARM id and a namespaced type.
            let arm = obj
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.starts_with('/'))
                && obj
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.contains('/'));
            if arm { None } else { file_hint.clone() }
        });
    match kind {
        Some(k) => {
            let rec = Record {
                file: name.to_string(),
                at,
                kind: RecordKind::Graph(k),
                object: obj,
            };
            validate_graph(&rec)?;
            Ok(rec)
        }
        None => arm_record(name, at, &Value::Object(obj)),
    }
}

fn validate_graph(rec: &Record) -> Result<(), ImportError> {
    let RecordKind::Graph(kind) = &rec.kind else {
        return Ok(());
    };
    let needs_id = !matches!(kind, GraphKind::TenantPolicy(_));
    if needs_id {
        match rec.object.get("id") {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => return Err(rec.error("\"id\" must be a non-empty string")),
            None => return Err(rec.error("missing \"id\"")),
        }
    }
    Ok(())
}

fn arm_record(name: &str, at: String, row: &Value) -> Result<Record, ImportError> {
    let Value::Object(obj) = row else {
        return Err(ImportError::new(
            name,
            None,
            format!("{at}: expected a JSON object"),
        ));
    };
    let rec = Record {
        file: name.to_string(),
        at,
        kind: RecordKind::Arm,
        object: obj.clone(),
    };
    match obj.get("id") {
        Some(Value::String(s)) if s.starts_with('/') => {}
        Some(Value::String(_)) => {
            return Err(rec.error("\"id\" is not an Azure resource id (it must start with /)"));
        }
        Some(_) => return Err(rec.error("\"id\" must be a string")),
        None => {
            return Err(rec.error(
                "neither a Resource Graph row (no \"id\") nor a Microsoft Graph object \
                 (no @odata.type, and the file name names no kind such as users.json)",
            ));
        }
    }
    match obj.get("type") {
        Some(Value::String(s)) if s.contains('/') => {}
        Some(Value::String(s)) => {
            return Err(rec.error(format!(
                "\"type\" {s:?} is not an ARM resource type (Namespace/type)"
            )));
        }
        Some(_) => return Err(rec.error("\"type\" must be a string")),
        None => return Err(rec.error("missing \"type\"")),
    }
    for key in ["properties", "tags"] {
        if let Some(v) = obj.get(key)
            && !(v.is_object() || v.is_null())
        {
            return Err(rec.error(format!("\"{key}\" must be an object")));
        }
    }
    Ok(rec)
}

fn s<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn ptr<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    v.pointer(path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The subscription id in an ARM id (`/subscriptions/{id}/…`).
fn subscription_of(id: &str) -> Option<String> {
    let mut parts = id.split('/').filter(|p| !p.is_empty());
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("subscriptions") {
            return parts.next().map(str::to_string);
        }
    }
    None
}

/// The resource group id (`/subscriptions/{s}/resourcegroups/{rg}`, lower case) of an ARM id
/// below a resource group.
fn resource_group_of(id: &str) -> Option<String> {
    let parts: Vec<&str> = id.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [sub, s, rg, g, rest @ ..]
            if sub.eq_ignore_ascii_case("subscriptions")
                && rg.eq_ignore_ascii_case("resourcegroups")
                && !rest.is_empty() =>
        {
            Some(format!("/subscriptions/{s}/resourcegroups/{g}").to_ascii_lowercase())
        }
        _ => None,
    }
}

/// The parent resource of a child resource id (`…/providers/NS/T/N/CHILD/NAME` → `…/providers/NS/T/N`).
fn parent_of(id: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    let pos = lower.rfind("/providers/")?;
    let tail: Vec<&str> = lower[pos + "/providers/".len()..]
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    // NS / T / N / CT / CN …: a child has at least five segments after /providers/.
    if tail.len() < 5 || tail.len().is_multiple_of(2) {
        return None;
    }
    let keep = tail.len() - 2;
    Some(format!(
        "{}/providers/{}",
        &lower[..pos],
        tail[..keep].join("/")
    ))
}

fn tags_of(obj: &Map<String, Value>) -> BTreeMap<String, String> {
    match obj.get("tags") {
        Some(Value::Object(t)) => t
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

struct Built {
    assets: Vec<Asset>,
    /// lower-case ARM id → position
    by_arm: HashMap<String, usize>,
    /// lower-case Entra object id → position
    by_object: HashMap<String, usize>,
    /// Rampart asset id → position
    by_id: HashMap<String, usize>,
}

impl Built {
    fn arm(&self, id: &str) -> Option<usize> {
        self.by_arm.get(&id.to_ascii_lowercase()).copied()
    }
}

/// Builds one inventory from every Azure file of an import (see the module docs).
pub(crate) fn build(
    docs: Vec<AzureDoc>,
    observed_at: DateTime<Utc>,
) -> Result<Inventory, ImportError> {
    let records: Vec<Record> = docs.into_iter().flat_map(|d| d.records).collect();

    // The tenant: the organization object(s), else the tenantId of Resource Graph rows.
    let mut org_ids: Vec<String> = Vec::new();
    let mut arm_tenants: Vec<String> = Vec::new();
    for r in &records {
        match &r.kind {
            RecordKind::Graph(GraphKind::Tenant) => {
                if let Some(id) = s(&r.object, "id") {
                    let id = id.to_ascii_lowercase();
                    if !org_ids.contains(&id) {
                        org_ids.push(id);
                    }
                }
            }
            RecordKind::Arm => {
                if let Some(t) = s(&r.object, "tenantId") {
                    let t = t.to_ascii_lowercase();
                    if !arm_tenants.contains(&t) {
                        arm_tenants.push(t);
                    }
                }
            }
            RecordKind::Graph(_) => {}
        }
    }
    let first_graph = records
        .iter()
        .find(|r| matches!(r.kind, RecordKind::Graph(_)));
    let tenant: Option<String> = match (org_ids.as_slice(), first_graph) {
        (_, None) => None,
        ([one], Some(_)) => Some(one.clone()),
        ([], Some(r)) => match arm_tenants.as_slice() {
            [one] => Some(one.clone()),
            _ => {
                return Err(ImportError::new(
                    &r.file,
                    None,
                    "cannot tell which Entra tenant these objects belong to: import the \
                     organization export (GET /organization) with them",
                ));
            }
        },
        (_, Some(r)) => {
            return Err(ImportError::new(
                &r.file,
                None,
                format!(
                    "Entra objects of several tenants ({}) in one import: import each tenant \
                     separately",
                    org_ids.join(", ")
                ),
            ));
        }
    };

    // Side records merged into users and the tenant.
    let mut registration: HashMap<String, Value> = HashMap::new();
    let mut tenant_extras: Map<String, Value> = Map::new();
    let mut group_settings: Map<String, Value> = Map::new();
    let mut policy_file: Option<String> = None;
    let mut role_members: HashMap<String, Vec<String>> = HashMap::new(); // user id -> role names
    for r in &records {
        match &r.kind {
            RecordKind::Graph(GraphKind::RegistrationDetails) => {
                if let Some(id) = s(&r.object, "id") {
                    registration.insert(id.to_ascii_lowercase(), Value::Object(r.object.clone()));
                }
            }
            RecordKind::Graph(GraphKind::TenantPolicy(key)) => {
                policy_file.get_or_insert_with(|| r.file.clone());
                let mut obj = r.object.clone();
                obj.remove("@odata.context");
                tenant_extras.insert((*key).to_string(), Value::Object(obj));
            }
            RecordKind::Graph(GraphKind::DirectorySetting) => match r.object.get("values") {
                Some(Value::Array(values)) => {
                    for (j, v) in values.iter().enumerate() {
                        let (Some(n), Some(val)) =
                            (v.get("name").and_then(Value::as_str), v.get("value"))
                        else {
                            return Err(
                                r.error(format!("values[{j}] needs a \"name\" and a \"value\""))
                            );
                        };
                        group_settings.insert(n.to_string(), val.clone());
                    }
                }
                None => {}
                Some(_) => return Err(r.error("\"values\" must be a list")),
            },
            RecordKind::Graph(GraphKind::DirectoryRole) => {
                let role = s(&r.object, "displayName").unwrap_or("").to_string();
                if let Some(Value::Array(members)) = r.object.get("members") {
                    for m in members {
                        if let Some(id) = m.get("id").and_then(Value::as_str) {
                            role_members
                                .entry(id.to_ascii_lowercase())
                                .or_default()
                                .push(role.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !group_settings.is_empty() {
        tenant_extras.insert("groupSettings".into(), Value::Object(group_settings));
    }

    let mut built = Built {
        assets: Vec::new(),
        by_arm: HashMap::new(),
        by_object: HashMap::new(),
        by_id: HashMap::new(),
    };
    let mut tenant_pos: Option<usize> = None;
    for r in &records {
        match &r.kind {
            RecordKind::Arm => add_arm(&mut built, r, observed_at)?,
            RecordKind::Graph(kind) => {
                let Some(rtype) = kind.rampart_type() else {
                    continue;
                };
                let tenant_id = tenant.clone().unwrap_or_default();
                let mut obj = r.object.clone();
                obj.remove("@odata.context");
                let id = s(&obj, "id").unwrap_or_default().to_string();
                if *kind == GraphKind::User {
                    let lid = id.to_ascii_lowercase();
                    if let Some(reg) = registration.get(&lid) {
                        obj.insert("registrationDetails".into(), reg.clone());
                    }
                    if let Some(roles) = role_members.get(&lid) {
                        let mut names: Vec<Value> = match obj.get("directoryRoles") {
                            Some(Value::Array(a)) => a.clone(),
                            _ => Vec::new(),
                        };
                        for role in roles {
                            let v = Value::String(role.clone());
                            if !names.contains(&v) {
                                names.push(v);
                            }
                        }
                        obj.insert("directoryRoles".into(), Value::Array(names));
                    } else if !obj.contains_key("directoryRoles") {
                        obj.insert("directoryRoles".into(), Value::Array(Vec::new()));
                    }
                }
                if *kind == GraphKind::Tenant {
                    for (k, v) in &tenant_extras {
                        obj.insert(k.clone(), v.clone());
                    }
                }
                let name = ["displayName", "userPrincipalName", "appId"]
                    .iter()
                    .find_map(|k| s(&obj, k))
                    .unwrap_or(&id)
                    .to_string();
                let pos = push_asset(
                    &mut built,
                    rtype,
                    &tenant_id,
                    "global",
                    &id,
                    name,
                    BTreeMap::new(),
                    Value::Object(obj),
                    observed_at,
                )
                .map_err(|m| r.error(m))?;
                built.by_object.insert(id.to_ascii_lowercase(), pos);
                if *kind == GraphKind::Tenant {
                    tenant_pos = Some(pos);
                }
            }
        }
    }
    // Tenant policies without an organization object: a tenant asset of their own.
    if tenant_pos.is_none()
        && !tenant_extras.is_empty()
        && let Some(t) = &tenant
    {
        let mut obj = Map::new();
        obj.insert("id".into(), Value::String(t.clone()));
        for (k, v) in &tenant_extras {
            obj.insert(k.clone(), v.clone());
        }
        let pos = push_asset(
            &mut built,
            "azure.entra.tenant",
            t,
            "global",
            t,
            t.clone(),
            BTreeMap::new(),
            Value::Object(obj),
            observed_at,
        )
        .map_err(|m| ImportError::new(policy_file.as_deref().unwrap_or("azure"), None, m))?;
        built.by_object.insert(t.clone(), pos);
        tenant_pos = Some(pos);
    }

    let relationships = relate(&built, tenant_pos);
    Ok(Inventory {
        assets: built.assets,
        relationships,
    })
}

#[allow(clippy::too_many_arguments)]
fn push_asset(
    built: &mut Built,
    rtype: &str,
    account: &str,
    region: &str,
    native_id: &str,
    name: String,
    tags: BTreeMap<String, String>,
    config: Value,
    observed_at: DateTime<Utc>,
) -> Result<usize, String> {
    let resource_type = ResourceType::parse(rtype).map_err(|e| e.to_string())?;
    let id = Asset::make_id(Provider::Azure, account, region, &resource_type, native_id);
    let asset = Asset {
        id: id.clone(),
        provider: Provider::Azure,
        account: account.to_string(),
        region: region.to_string(),
        resource_type,
        native_id: native_id.to_string(),
        // No name (an id ending in `/`): the native id, as a snapshot reads an empty name
        // (found by the `azure` fuzz target).
        name: if name.is_empty() {
            native_id.to_string()
        } else {
            name
        },
        tags,
        config,
        first_seen: observed_at,
        last_seen: observed_at,
    };
    // The same object twice (overlapping pages or files): the later copy wins.
    if let Some(&pos) = built.by_id.get(&id) {
        built.assets[pos] = asset;
        return Ok(pos);
    }
    built.by_id.insert(id, built.assets.len());
    built.assets.push(asset);
    Ok(built.assets.len() - 1)
}

fn add_arm(built: &mut Built, r: &Record, observed_at: DateTime<Utc>) -> Result<(), ImportError> {
    let obj = &r.object;
    let arm_id = s(obj, "id").unwrap_or_default().to_string();
    let arm_type = s(obj, "type").unwrap_or_default();
    let rtype =
        map_arm_type(arm_type).ok_or_else(|| r.error(format!("unusable ARM type {arm_type:?}")))?;
    let account = s(obj, "subscriptionId")
        .map(str::to_string)
        .or_else(|| subscription_of(&arm_id))
        .or_else(|| s(obj, "tenantId").map(str::to_string))
        .ok_or_else(|| {
            r.error("no subscription: neither \"subscriptionId\" nor /subscriptions/ in the id, nor a \"tenantId\"")
        })?;
    // A blank location (" " normalises to "") is no location: `global`, as when it is absent
    // (found by the `import_bytes` fuzz target: an empty region made an asset that a snapshot
    // could not carry).
    let region = s(obj, "location")
        .map(|l| l.to_ascii_lowercase().replace(' ', ""))
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| "global".to_string());
    let name = s(obj, "name")
        .map(str::to_string)
        .unwrap_or_else(|| arm_id.rsplit('/').next().unwrap_or(&arm_id).to_string());
    let pos = push_asset(
        built,
        rtype.as_str(),
        &account,
        &region,
        &arm_id,
        name,
        tags_of(obj),
        Value::Object(obj.clone()),
        observed_at,
    )
    .map_err(|m| r.error(m))?;
    built.by_arm.insert(arm_id.to_ascii_lowercase(), pos);

    // Subnets live inside their virtual network's row: each becomes an asset of its own.
    if rtype.as_str() == "azure.network.vnet"
        && let Some(Value::Array(subnets)) = obj.get("properties").and_then(|p| p.get("subnets"))
    {
        for (j, sn) in subnets.iter().enumerate() {
            let Some(sid) = sn.get("id").and_then(Value::as_str) else {
                return Err(r.error(format!("properties.subnets[{j}] has no \"id\"")));
            };
            let mut cfg = sn.as_object().cloned().unwrap_or_default();
            cfg.entry("type").or_insert_with(|| {
                Value::String("Microsoft.Network/virtualNetworks/subnets".into())
            });
            cfg.entry("subscriptionId")
                .or_insert_with(|| Value::String(account.clone()));
            if let Some(rg) = obj.get("resourceGroup") {
                cfg.entry("resourceGroup").or_insert_with(|| rg.clone());
            }
            let sname = sn
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_else(|| sid.rsplit('/').next().unwrap_or(sid))
                .to_string();
            let stype = map_arm_type("Microsoft.Network/virtualNetworks/subnets")
                .ok_or_else(|| r.error("subnet type"))?;
            let spos = push_asset(
                built,
                stype.as_str(),
                &account,
                &region,
                sid,
                sname,
                BTreeMap::new(),
                Value::Object(cfg),
                observed_at,
            )
            .map_err(|m| r.error(m))?;
            built.by_arm.insert(sid.to_ascii_lowercase(), spos);
        }
    }
    Ok(())
}

/// Every edge the importer derives (docs/asset-types-azure.md, "Relationships").
fn relate(built: &Built, tenant_pos: Option<usize>) -> Vec<Relationship> {
    let mut edges: HashSet<(usize, usize, &'static str)> = HashSet::new();
    let mut add = |from: Option<usize>, to: Option<usize>, kind: &'static str| {
        if let (Some(f), Some(t)) = (from, to)
            && f != t
        {
            edges.insert((f, t, kind));
        }
    };
    let sub_of = |sub: &str| built.arm(&format!("/subscriptions/{sub}"));
    let app_by_appid: HashMap<String, usize> = built
        .assets
        .iter()
        .enumerate()
        .filter(|(_, a)| a.resource_type.as_str() == "azure.entra.application")
        .filter_map(|(i, a)| {
            a.config
                .get("appId")
                .and_then(Value::as_str)
                .map(|x| (x.to_ascii_lowercase(), i))
        })
        .collect();
    let role_def_by_guid: HashMap<String, usize> = built
        .assets
        .iter()
        .enumerate()
        .filter(|(_, a)| a.resource_type.as_str() == "azure.authorization.roledefinition")
        .filter_map(|(i, a)| {
            a.native_id
                .rsplit('/')
                .next()
                .map(|g| (g.to_ascii_lowercase(), i))
        })
        .collect();

    for (pos, a) in built.assets.iter().enumerate() {
        let c = &a.config;
        let t = a.resource_type.as_str();
        let here = Some(pos);
        if t.starts_with("azure.entra.") {
            if t != "azure.entra.tenant" {
                add(tenant_pos, here, "contains");
            }
            let members = |key: &str| -> Vec<String> {
                match c.get(key) {
                    Some(Value::Array(ms)) => ms
                        .iter()
                        .filter_map(|m| m.get("id").and_then(Value::as_str))
                        .map(str::to_ascii_lowercase)
                        .collect(),
                    _ => Vec::new(),
                }
            };
            match t {
                "azure.entra.group" | "azure.entra.directoryrole" => {
                    for m in members("members") {
                        add(built.by_object.get(&m).copied(), here, "member_of");
                    }
                }
                "azure.entra.user" => {
                    for g in members("memberOf") {
                        add(here, built.by_object.get(&g).copied(), "member_of");
                    }
                }
                "azure.entra.serviceprincipal" => {
                    if let Some(app) = c.get("appId").and_then(Value::as_str) {
                        add(
                            here,
                            app_by_appid.get(&app.to_ascii_lowercase()).copied(),
                            "instance_of",
                        );
                    }
                }
                _ => {}
            }
            continue;
        }
        let id = a.native_id.as_str();
        // Containment: tenant → subscription → resource group → resource; parent → child.
        if t == "azure.resources.subscription" {
            let same_tenant = tenant_pos.is_some_and(|tp| {
                c.get("tenantId")
                    .and_then(Value::as_str)
                    .zip(built.assets[tp].config.get("id").and_then(Value::as_str))
                    .is_some_and(|(x, y)| x.eq_ignore_ascii_case(y))
            });
            if same_tenant {
                add(tenant_pos, here, "contains");
            }
        } else if t == "azure.resources.resourcegroup" {
            if let Some(sub) = subscription_of(id) {
                add(sub_of(&sub), here, "contains");
            }
        } else {
            // The nearest exported container: parent resource, else resource group, else
            // subscription.
            let container = parent_of(id)
                .and_then(|p| built.arm(&p))
                .or_else(|| resource_group_of(id).and_then(|rg| built.arm(&rg)))
                .or_else(|| subscription_of(id).and_then(|sub| sub_of(&sub)));
            add(container, here, "contains");
        }

        // Diagnostic settings (subscription, vault: a list; storage: per service).
        let mut settings: Vec<&Value> = Vec::new();
        match c.get("diagnosticSettings") {
            Some(Value::Array(list)) => settings.extend(list),
            Some(Value::Object(per_service)) => {
                for v in per_service.values() {
                    if let Value::Array(list) = v {
                        settings.extend(list);
                    }
                }
            }
            _ => {}
        }
        for d in settings {
            for key in ["storageAccountId", "workspaceId"] {
                if let Some(target) = ptr(d, &format!("/properties/{key}")) {
                    add(here, built.arm(target), "delivers_to");
                }
            }
        }

        let refs = |path: &str| -> Vec<&str> {
            match c.pointer(path) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.get("id").and_then(Value::as_str))
                    .collect(),
                _ => Vec::new(),
            }
        };
        match t {
            "azure.compute.vm" => {
                for nic in refs("/properties/networkProfile/networkInterfaces") {
                    add(here, built.arm(nic), "uses");
                }
                if let Some(d) = ptr(c, "/properties/storageProfile/osDisk/managedDisk/id") {
                    add(here, built.arm(d), "uses");
                }
                if let Some(Value::Array(disks)) = c.pointer("/properties/storageProfile/dataDisks")
                {
                    for d in disks {
                        if let Some(d) = ptr(d, "/managedDisk/id") {
                            add(here, built.arm(d), "uses");
                        }
                    }
                }
            }
            "azure.network.nic" => {
                if let Some(nsg) = ptr(c, "/properties/networkSecurityGroup/id") {
                    add(here, built.arm(nsg), "uses");
                }
                if let Some(Value::Array(ipcs)) = c.pointer("/properties/ipConfigurations") {
                    for ipc in ipcs {
                        if let Some(sn) = ptr(ipc, "/properties/subnet/id") {
                            add(here, built.arm(sn), "attached_to");
                        }
                        if let Some(pip) = ptr(ipc, "/properties/publicIPAddress/id") {
                            add(here, built.arm(pip), "uses");
                        }
                    }
                }
            }
            "azure.network.subnets" => {
                if let Some(nsg) = ptr(c, "/properties/networkSecurityGroup/id") {
                    add(here, built.arm(nsg), "uses");
                }
            }
            "azure.network.nsg" => {
                for sn in refs("/properties/subnets") {
                    add(built.arm(sn), here, "uses");
                }
                for nic in refs("/properties/networkInterfaces") {
                    add(built.arm(nic), here, "uses");
                }
            }
            "azure.network.flowlog" => {
                if let Some(target) = ptr(c, "/properties/targetResourceId") {
                    add(here, built.arm(target), "monitors");
                }
                if let Some(st) = ptr(c, "/properties/storageId") {
                    add(here, built.arm(st), "delivers_to");
                }
                if let Some(ws) = ptr(
                    c,
                    "/properties/flowAnalyticsConfiguration/networkWatcherFlowAnalyticsConfiguration/workspaceResourceId",
                ) {
                    add(here, built.arm(ws), "delivers_to");
                }
            }
            "azure.monitor.activitylogalert" => {
                if let Some(Value::Array(scopes)) = c.pointer("/properties/scopes") {
                    for sc in scopes.iter().filter_map(Value::as_str) {
                        add(here, built.arm(sc.trim_end_matches('/')), "monitors");
                    }
                }
            }
            "azure.authorization.roleassignment" => {
                if let Some(def) = ptr(c, "/properties/roleDefinitionId")
                    && let Some(guid) = def.rsplit('/').next()
                {
                    add(
                        here,
                        role_def_by_guid.get(&guid.to_ascii_lowercase()).copied(),
                        "uses",
                    );
                }
                if let Some(p) = ptr(c, "/properties/principalId") {
                    add(
                        here,
                        built.by_object.get(&p.to_ascii_lowercase()).copied(),
                        "assigned_to",
                    );
                }
                if let Some(scope) = ptr(c, "/properties/scope") {
                    add(here, built.arm(scope.trim_end_matches('/')), "applies_to");
                }
            }
            "azure.web.app" => {
                if let Some(plan) = ptr(c, "/properties/serverFarmId") {
                    add(here, built.arm(plan), "uses");
                }
            }
            _ => {}
        }
    }

    let mut out: Vec<Relationship> = edges
        .into_iter()
        .map(|(f, t, kind)| Relationship {
            from: built.assets[f].id.clone(),
            to: built.assets[t].id.clone(),
            kind: kind.to_string(),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_types() {
        let t = |s: &str| map_arm_type(s).map(|t| t.as_str().to_string());
        assert_eq!(
            t("Microsoft.Compute/virtualMachines").as_deref(),
            Some("azure.compute.vm")
        );
        assert_eq!(
            t("microsoft.sql/servers/databases").as_deref(),
            Some("azure.sql.database")
        );
        assert_eq!(
            t("Microsoft.Network/loadBalancers").as_deref(),
            Some("azure.network.loadbalancers")
        );
        assert_eq!(
            t("Microsoft.Network/virtualNetworks/subnets").as_deref(),
            Some("azure.network.subnets")
        );
        assert_eq!(
            t("Sendgrid.Email/accounts").as_deref(),
            Some("azure.sendgrid_email.accounts")
        );
        assert_eq!(t("nonsense"), None);
    }

    #[test]
    fn ids() {
        let vm =
            "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm1";
        assert_eq!(subscription_of(vm).as_deref(), Some("S1"));
        assert_eq!(
            resource_group_of(vm).as_deref(),
            Some("/subscriptions/s1/resourcegroups/rg")
        );
        assert_eq!(parent_of(vm), None);
        let db =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sq/databases/db";
        assert_eq!(
            parent_of(db).as_deref(),
            Some("/subscriptions/s/resourcegroups/rg/providers/microsoft.sql/servers/sq")
        );
    }

    #[test]
    fn graph_kinds() {
        assert_eq!(
            GraphKind::from_context("https://graph.microsoft.com/v1.0/$metadata#users"),
            Some(GraphKind::User)
        );
        assert_eq!(
            GraphKind::from_context(
                "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies"
            ),
            Some(GraphKind::ConditionalAccessPolicy)
        );
        assert_eq!(
            GraphKind::from_context(
                "https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity"
            ),
            Some(GraphKind::TenantPolicy("securityDefaults"))
        );
        assert_eq!(
            GraphKind::from_context(
                "https://graph.microsoft.com/v1.0/$metadata#users(id,displayName)"
            ),
            Some(GraphKind::User)
        );
        assert_eq!(
            GraphKind::from_type_name("#microsoft.graph.servicePrincipal"),
            Some(GraphKind::ServicePrincipal)
        );
        assert_eq!(
            GraphKind::from_file_name("exports/entra-service-principals.json"),
            Some(GraphKind::ServicePrincipal)
        );
    }

    /// Found by the `import_bytes` fuzz target: a blank `location` became an empty region,
    /// which no Rampart snapshot can carry (`region must not be empty`). It is `global` now.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn blank_location_is_global() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        for location in [" ", "  ", "\t"] {
            let row = serde_json::json!([{
                "id": "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/r1",
                "type": "microsoft.authorization/roledefinitions",
                "location": location,
                "subscriptionId": "s1",
                "properties": {}
            }]);
            let inv = parse_azure("rows.json", &row.to_string(), now).unwrap();
            assert_eq!(inv.assets.len(), 1, "{location:?}");
            assert_eq!(inv.assets[0].region, "global", "{location:?}");
        }
    }

    /// Found by the `azure` fuzz target: a row without a name whose id ends in `/` got an
    /// empty name, which a snapshot round trip turned into the native id. It is named by the
    /// native id now.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_row_without_a_name_is_named_by_its_id() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let id =
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb/";
        let row = serde_json::json!([{
            "id": id,
            "type": "microsoft.network/loadbalancers",
            "subscriptionId": "s1",
            "properties": {}
        }]);
        let inv = parse_azure("rows.json", &row.to_string(), now).unwrap();
        assert_eq!(inv.assets.len(), 1);
        assert!(!inv.assets[0].name.is_empty());
        assert_eq!(inv.assets[0].name, inv.assets[0].native_id);
    }
}
