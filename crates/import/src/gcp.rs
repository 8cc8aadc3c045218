//! Google Cloud Asset Inventory (CAI) files.
//!
//! Two shapes are read (docs/asset-types-gcp.md):
//!
//! * `gcloud asset export` output: newline-delimited JSON, one asset per line, snake_case keys
//!   (`name`, `asset_type`, `resource{data,location,parent,…}`, `iam_policy`, `org_policy`,
//!   `ancestors`, `update_time`). Each content type (RESOURCE, IAM_POLICY, ORG_POLICY) is written
//!   as its own line for the same `name`; the lines are merged onto one asset.
//! * `gcloud asset list --format=json`: a JSON array of the same records with camelCase keys
//!   (`assetType`, `iamPolicy`, `orgPolicy`, `updateTime`).
//!
//! Each asset's `config` is the CAI `resource.data` verbatim (the REST representation), with
//! `iamPolicy` (camel-cased, log types as names) and `orgPolicies` added when present.
//! Relationships are derived from parents, ancestors and the references inside `data`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rampart_model::{Asset, Inventory, Provider, Relationship, ResourceType};
use serde_json::{Map, Value};

use crate::{ImportError, json_error_message};

/// CAI asset types whose Rampart type does not follow the fallback rule, or that controls rely on.
const TYPE_MAP: &[(&str, &str)] = &[
    (
        "cloudresourcemanager.googleapis.com/Project",
        "gcp.resourcemanager.project",
    ),
    (
        "cloudresourcemanager.googleapis.com/Folder",
        "gcp.resourcemanager.folder",
    ),
    (
        "cloudresourcemanager.googleapis.com/Organization",
        "gcp.resourcemanager.organization",
    ),
    ("compute.googleapis.com/Instance", "gcp.compute.instance"),
    ("compute.googleapis.com/Firewall", "gcp.compute.firewall"),
    ("compute.googleapis.com/Network", "gcp.compute.network"),
    (
        "compute.googleapis.com/Subnetwork",
        "gcp.compute.subnetwork",
    ),
    ("compute.googleapis.com/Disk", "gcp.compute.disk"),
    ("compute.googleapis.com/Project", "gcp.compute.project"),
    (
        "compute.googleapis.com/BackendService",
        "gcp.compute.backendservice",
    ),
    (
        "compute.googleapis.com/TargetHttpsProxy",
        "gcp.compute.targethttpsproxy",
    ),
    (
        "compute.googleapis.com/TargetSslProxy",
        "gcp.compute.targetsslproxy",
    ),
    ("compute.googleapis.com/SslPolicy", "gcp.compute.sslpolicy"),
    ("storage.googleapis.com/Bucket", "gcp.storage.bucket"),
    ("sqladmin.googleapis.com/Instance", "gcp.sql.instance"),
    (
        "iam.googleapis.com/ServiceAccount",
        "gcp.iam.serviceaccount",
    ),
    (
        "iam.googleapis.com/ServiceAccountKey",
        "gcp.iam.serviceaccountkey",
    ),
    ("iam.googleapis.com/Role", "gcp.iam.role"),
    ("cloudkms.googleapis.com/CryptoKey", "gcp.kms.cryptokey"),
    ("cloudkms.googleapis.com/KeyRing", "gcp.kms.keyring"),
    ("logging.googleapis.com/LogSink", "gcp.logging.sink"),
    ("logging.googleapis.com/LogMetric", "gcp.logging.logmetric"),
    ("logging.googleapis.com/LogBucket", "gcp.logging.logbucket"),
    (
        "monitoring.googleapis.com/AlertPolicy",
        "gcp.monitoring.alertpolicy",
    ),
    ("dns.googleapis.com/ManagedZone", "gcp.dns.managedzone"),
    ("dns.googleapis.com/Policy", "gcp.dns.policy"),
    ("bigquery.googleapis.com/Dataset", "gcp.bigquery.dataset"),
    ("bigquery.googleapis.com/Table", "gcp.bigquery.table"),
    ("container.googleapis.com/Cluster", "gcp.container.cluster"),
    (
        "container.googleapis.com/NodePool",
        "gcp.container.nodepool",
    ),
    ("dataproc.googleapis.com/Cluster", "gcp.dataproc.cluster"),
    (
        "cloudfunctions.googleapis.com/CloudFunction",
        "gcp.cloudfunctions.function",
    ),
    (
        "cloudfunctions.googleapis.com/Function",
        "gcp.cloudfunctions.function",
    ),
    ("run.googleapis.com/Service", "gcp.run.service"),
    ("run.googleapis.com/Revision", "gcp.run.revision"),
    (
        "serviceusage.googleapis.com/Service",
        "gcp.serviceusage.service",
    ),
    (
        "essentialcontacts.googleapis.com/Contact",
        "gcp.essentialcontacts.contact",
    ),
    ("apikeys.googleapis.com/Key", "gcp.apikeys.key"),
    (
        "appengine.googleapis.com/Application",
        "gcp.appengine.application",
    ),
    ("appengine.googleapis.com/Service", "gcp.appengine.service"),
    ("appengine.googleapis.com/Version", "gcp.appengine.version"),
];

/// The CAI asset types of the fixed type table (the ones built-in controls read), in table order.
pub fn mapped_asset_types() -> Vec<&'static str> {
    TYPE_MAP.iter().map(|(c, _)| *c).collect()
}

/// API host prefixes renamed by the fallback rule (`cloudkms` → `kms`, …).
const SERVICE_ALIASES: &[(&str, &str)] = &[
    ("cloudresourcemanager", "resourcemanager"),
    ("sqladmin", "sql"),
    ("cloudkms", "kms"),
];

/// Maps a CAI asset type to a Rampart type: the fixed table first, then the fallback rule
/// `SERVICE.googleapis.com/Kind` → `gcp.<service>.<kind>` (service aliased, kind lower-cased,
/// characters outside `[a-z0-9_]` dropped); other shapes (`k8s.io/Pod`) → `gcp.other.<snake>`.
pub fn map_asset_type(cai_type: &str) -> Option<ResourceType> {
    if let Some((_, t)) = TYPE_MAP.iter().find(|(c, _)| *c == cai_type) {
        return ResourceType::parse(t).ok();
    }
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let (host, kind) = cai_type.split_once('/')?;
    let kind = clean(&kind.replace('/', "_"));
    if kind.is_empty() {
        return None;
    }
    if let Some(service) = host.strip_suffix(".googleapis.com") {
        let service = SERVICE_ALIASES
            .iter()
            .find(|(a, _)| *a == service)
            .map(|(_, s)| (*s).to_string())
            .unwrap_or_else(|| clean(service));
        if !service.is_empty() {
            return ResourceType::parse(&format!("gcp.{service}.{kind}")).ok();
        }
    }
    let host = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect::<String>();
    ResourceType::parse(&format!("gcp.other.{host}_{kind}")).ok()
}

/// One CAI record (one line, or one array element), any content type.
struct Record {
    /// Where it came from, for errors: `file:line` or `file` + `[index]`.
    file: String,
    line: Option<usize>,
    label: String,
    name: String,
    asset_type: String,
    data: Option<Value>,
    location: Option<String>,
    parent: Option<String>,
    iam_policy: Option<Value>,
    org_policy: Option<Value>,
    ancestors: Vec<String>,
    update_time: String,
}

impl Record {
    fn err(&self, message: impl Into<String>) -> ImportError {
        let message = message.into();
        ImportError::new(&self.file, self.line, format!("{}{message}", self.label))
    }
}

fn field<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .find_map(|k| obj.get(*k))
        .filter(|v| !v.is_null())
}

fn str_of<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    field(obj, keys).and_then(Value::as_str)
}

/// Reads one record, checking the fields Rampart relies on.
fn read_record(
    file: &str,
    line: Option<usize>,
    label: String,
    value: Value,
) -> Result<Record, ImportError> {
    let fail = |m: String| ImportError::new(file, line, format!("{label}{m}"));
    let Value::Object(obj) = value else {
        return Err(fail("expected a JSON object (one asset)".into()));
    };
    let name = match field(&obj, &["name"]) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(fail("\"name\" must be a non-empty string".into())),
        None => return Err(fail("the asset has no \"name\"".into())),
    };
    let asset_type = match field(&obj, &["asset_type", "assetType"]) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            return Err(fail(format!(
                "{name}: \"asset_type\" must be a non-empty string"
            )));
        }
        None => return Err(fail(format!("{name}: the asset has no \"asset_type\""))),
    };
    let (mut data, mut location, mut parent) = (None, None, None);
    match field(&obj, &["resource"]) {
        None => {}
        Some(Value::Object(res)) => {
            match field(res, &["data"]) {
                None => {}
                Some(d @ Value::Object(_)) => data = Some(d.clone()),
                Some(_) => {
                    return Err(fail(format!(
                        "{name}: \"resource.data\" must be a JSON object"
                    )));
                }
            }
            location = str_of(res, &["location"]).map(str::to_string);
            parent = str_of(res, &["parent"]).map(str::to_string);
        }
        Some(_) => return Err(fail(format!("{name}: \"resource\" must be a JSON object"))),
    }
    let iam_policy = match field(&obj, &["iam_policy", "iamPolicy"]) {
        None => None,
        Some(p @ Value::Object(_)) => Some(p.clone()),
        Some(_) => {
            return Err(fail(format!(
                "{name}: \"iam_policy\" must be a JSON object"
            )));
        }
    };
    let org_policy = match field(&obj, &["org_policy", "orgPolicy"]) {
        None => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(p @ Value::Array(_)) => Some(p.clone()),
        Some(_) => return Err(fail(format!("{name}: \"org_policy\" must be a list"))),
    };
    let ancestors = match field(&obj, &["ancestors"]) {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| fail(format!("{name}: \"ancestors\" must be a list of strings")))?,
        Some(_) => return Err(fail(format!("{name}: \"ancestors\" must be a list"))),
    };
    let update_time = str_of(&obj, &["update_time", "updateTime"])
        .unwrap_or("")
        .to_string();
    Ok(Record {
        file: file.to_string(),
        line,
        label,
        name,
        asset_type,
        data,
        location,
        parent,
        iam_policy,
        org_policy,
        ancestors,
        update_time,
    })
}

/// Reads the records of one file (either shape).
fn read_records(file: &str, text: &str) -> Result<Vec<Record>, ImportError> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(ImportError::new(file, None, "the file is empty"));
    }
    let mut out = Vec::new();
    if trimmed.starts_with('[') {
        let root: Value = serde_json::from_str(text)
            .map_err(|e| ImportError::at(file, e.line(), json_error_message(&e, "the file")))?;
        let Value::Array(items) = root else {
            return Err(ImportError::new(
                file,
                None,
                "expected a JSON array of assets",
            ));
        };
        for (i, item) in items.into_iter().enumerate() {
            out.push(read_record(file, None, format!("[{i}]: "), item)?);
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(line)
                .map_err(|e| ImportError::at(file, line_no, json_error_message(&e, "the line")))?;
            out.push(read_record(file, Some(line_no), String::new(), value)?);
        }
    }
    Ok(out)
}

/// `snake_case` → `camelCase` (keys of IAM and organisation policies in export files).
fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn camelize(value: Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (camel(&k), camelize(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(camelize).collect()),
        other => other,
    }
}

/// The IAM policy with camelCase keys and audit log types as names (exports may hold the enum
/// numbers 1 ADMIN_READ, 2 DATA_WRITE, 3 DATA_READ).
fn normalise_iam_policy(policy: Value) -> Value {
    let mut policy = camelize(policy);
    if let Some(Value::Array(configs)) = policy.get_mut("auditConfigs") {
        for cfg in configs {
            if let Some(Value::Array(logs)) = cfg.get_mut("auditLogConfigs") {
                for log in logs {
                    if let Some(t) = log.get_mut("logType") {
                        let name = match t.as_i64() {
                            Some(1) => Some("ADMIN_READ"),
                            Some(2) => Some("DATA_WRITE"),
                            Some(3) => Some("DATA_READ"),
                            Some(_) => Some("LOG_TYPE_UNSPECIFIED"),
                            None => None,
                        };
                        if let Some(name) = name {
                            *t = Value::String(name.to_string());
                        }
                    }
                }
            }
        }
    }
    policy
}

/// An asset being assembled from its records.
struct Pending {
    name: String,
    asset_type: String,
    resource_type: ResourceType,
    data: Option<(Value, String)>,
    location: Option<String>,
    parent: Option<String>,
    iam_policy: Option<(Value, String)>,
    org_policy: Option<(Value, String)>,
    ancestors: Vec<String>,
}

fn newer(slot: &mut Option<(Value, String)>, value: Value, time: &str) {
    match slot {
        Some((_, t)) if t.as_str() > time => {}
        _ => *slot = Some((value, time.to_string())),
    }
}

/// `//compute.googleapis.com/projects/p/zones/z/instances/i` → `projects/p/zones/z/instances/i`.
fn path_of(name: &str) -> &str {
    name.strip_prefix("//")
        .and_then(|n| n.split_once('/').map(|(_, p)| p))
        .unwrap_or(name)
}

/// The value after `key/` in a resource path.
fn segment_after<'a>(path: &'a str, key: &str) -> Option<&'a str> {
    let mut parts = path.split('/');
    while let Some(p) = parts.next() {
        if p == key {
            return parts.next().filter(|s| !s.is_empty());
        }
    }
    None
}

fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// A compute reference (full URL, partial path or bare name) as a CAI name.
fn compute_ref(reference: &str, project: &str, collection: &str, region: Option<&str>) -> String {
    let r = reference
        .strip_prefix("https://www.googleapis.com/compute/")
        .or_else(|| reference.strip_prefix("https://compute.googleapis.com/compute/"))
        .map(|rest| rest.split_once('/').map_or(rest, |(_, p)| p))
        .unwrap_or(reference);
    let r = r.trim_start_matches('/');
    if r.starts_with("projects/") {
        format!("//compute.googleapis.com/{r}")
    } else if r.contains('/') {
        format!("//compute.googleapis.com/projects/{project}/{r}")
    } else {
        match region {
            Some(region) => {
                format!(
                    "//compute.googleapis.com/projects/{project}/regions/{region}/{collection}/{r}"
                )
            }
            None => format!("//compute.googleapis.com/projects/{project}/global/{collection}/{r}"),
        }
    }
}

struct Edge {
    from: usize,
    to: String,
    kind: &'static str,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

fn array_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(next) => cur = next,
            None => return &[],
        }
    }
    cur.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// References inside `data` that become relationships (docs/asset-types-gcp.md).
fn reference_edges(i: usize, rtype: &str, data: &Value, project: &str, edges: &mut Vec<Edge>) {
    let mut push = |to: String, kind: &'static str| edges.push(Edge { from: i, to, kind });
    let sa = |email: &str| format!("serviceaccount:{email}");
    match rtype {
        "gcp.compute.instance" => {
            for nic in array_at(data, &["networkInterfaces"]) {
                if let Some(n) = str_at(nic, &["network"]) {
                    push(compute_ref(n, project, "networks", None), "attached_to");
                }
                if let Some(s) = str_at(nic, &["subnetwork"]) {
                    push(compute_ref(s, project, "subnetworks", None), "attached_to");
                }
            }
            for acct in array_at(data, &["serviceAccounts"]) {
                if let Some(e) = str_at(acct, &["email"]) {
                    push(sa(e), "uses");
                }
            }
            for disk in array_at(data, &["disks"]) {
                if let Some(s) = str_at(disk, &["source"]) {
                    push(compute_ref(s, project, "disks", None), "attached_to");
                }
            }
        }
        "gcp.compute.firewall" => {
            if let Some(n) = str_at(data, &["network"]) {
                push(compute_ref(n, project, "networks", None), "applies_to");
            }
        }
        "gcp.compute.subnetwork" => {
            if let Some(n) = str_at(data, &["network"]) {
                push(compute_ref(n, project, "networks", None), "contained_in");
            }
        }
        "gcp.sql.instance" => {
            if let Some(n) = str_at(data, &["settings", "ipConfiguration", "privateNetwork"]) {
                push(compute_ref(n, project, "networks", None), "attached_to");
            }
            if let Some(k) = str_at(data, &["diskEncryptionConfiguration", "kmsKeyName"]) {
                push(format!("//cloudkms.googleapis.com/{k}"), "encrypted_with");
            }
        }
        "gcp.container.cluster" => {
            let region = str_at(data, &["location"]).filter(|l| l.matches('-').count() == 1);
            if let Some(n) =
                str_at(data, &["networkConfig", "network"]).or_else(|| str_at(data, &["network"]))
            {
                push(compute_ref(n, project, "networks", None), "attached_to");
            }
            if let Some(s) = str_at(data, &["networkConfig", "subnetwork"])
                .or_else(|| str_at(data, &["subnetwork"]))
            {
                push(
                    compute_ref(s, project, "subnetworks", region),
                    "attached_to",
                );
            }
            let mut emails: Vec<&str> = Vec::new();
            if let Some(e) = str_at(data, &["nodeConfig", "serviceAccount"]) {
                emails.push(e);
            }
            for pool in array_at(data, &["nodePools"]) {
                if let Some(e) = str_at(pool, &["config", "serviceAccount"]) {
                    emails.push(e);
                }
            }
            for e in emails {
                push(sa(e), "uses");
            }
        }
        "gcp.dns.policy" => {
            for n in array_at(data, &["networks"]) {
                if let Some(u) = str_at(n, &["networkUrl"]) {
                    push(compute_ref(u, project, "networks", None), "applies_to");
                }
            }
        }
        "gcp.dns.managedzone" => {
            for n in array_at(data, &["privateVisibilityConfig", "networks"]) {
                if let Some(u) = str_at(n, &["networkUrl"]) {
                    push(compute_ref(u, project, "networks", None), "applies_to");
                }
            }
        }
        "gcp.logging.sink" => {
            if let Some(d) = str_at(data, &["destination"]) {
                push(format!("//{}", d.trim_start_matches('/')), "exports_to");
            }
        }
        "gcp.monitoring.alertpolicy" => {
            for c in array_at(data, &["conditions"]) {
                for kind in ["conditionThreshold", "conditionAbsent"] {
                    let Some(filter) = str_at(c, &[kind, "filter"]) else {
                        continue;
                    };
                    let marker = "logging.googleapis.com/user/";
                    let mut rest = filter;
                    while let Some(pos) = rest.find(marker) {
                        let after = &rest[pos + marker.len()..];
                        let metric: String = after
                            .chars()
                            .take_while(|c| !matches!(c, '"' | '\'' | ' ' | ')'))
                            .collect();
                        if !metric.is_empty() {
                            push(
                                format!(
                                    "//logging.googleapis.com/projects/{project}/metrics/{metric}"
                                ),
                                "watches",
                            );
                        }
                        rest = after;
                    }
                }
            }
        }
        "gcp.compute.targethttpsproxy" | "gcp.compute.targetsslproxy" => {
            if let Some(p) = str_at(data, &["sslPolicy"]) {
                push(compute_ref(p, project, "sslPolicies", None), "uses");
            }
        }
        "gcp.cloudfunctions.function" => {
            if let Some(e) = str_at(data, &["serviceAccountEmail"])
                .or_else(|| str_at(data, &["serviceConfig", "serviceAccountEmail"]))
            {
                push(sa(e), "uses");
            }
        }
        "gcp.run.service" | "gcp.run.revision" => {
            let e = str_at(data, &["spec", "template", "spec", "serviceAccountName"])
                .or_else(|| str_at(data, &["spec", "serviceAccountName"]))
                .or_else(|| str_at(data, &["template", "serviceAccount"]));
            if let Some(e) = e {
                push(sa(e), "uses");
            }
        }
        "gcp.dataproc.cluster" => {
            if let Some(k) = str_at(data, &["config", "encryptionConfig", "gcePdKmsKeyName"]) {
                push(format!("//cloudkms.googleapis.com/{k}"), "encrypted_with");
            }
        }
        "gcp.bigquery.dataset" => {
            if let Some(k) = str_at(data, &["defaultEncryptionConfiguration", "kmsKeyName"]) {
                push(format!("//cloudkms.googleapis.com/{k}"), "encrypted_with");
            }
        }
        "gcp.bigquery.table" => {
            if let Some(k) = str_at(data, &["encryptionConfiguration", "kmsKeyName"]) {
                push(format!("//cloudkms.googleapis.com/{k}"), "encrypted_with");
            }
        }
        _ => {}
    }
}

/// Parses one CAI file (either shape) into an inventory.
pub fn parse_gcp_assets(
    name: &str,
    text: &str,
    observed_at: DateTime<Utc>,
) -> Result<Inventory, ImportError> {
    parse_gcp_files(&[(name, text)], observed_at)
}

/// Parses several CAI files together, so that a RESOURCE export and an IAM_POLICY export of the
/// same assets (separate files) merge onto the same assets.
pub fn parse_gcp_files(
    files: &[(&str, &str)],
    observed_at: DateTime<Utc>,
) -> Result<Inventory, ImportError> {
    let mut pending: Vec<Pending> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (file, text) in files {
        for rec in read_records(file, text)? {
            let resource_type = map_asset_type(&rec.asset_type).ok_or_else(|| {
                rec.err(format!(
                    "{}: unusable asset_type {:?}",
                    rec.name, rec.asset_type
                ))
            })?;
            let idx = match by_name.get(&rec.name) {
                Some(&i) => {
                    if pending[i].asset_type != rec.asset_type {
                        return Err(rec.err(format!(
                            "{}: asset_type {:?} contradicts {:?} given earlier for the same name",
                            rec.name, rec.asset_type, pending[i].asset_type
                        )));
                    }
                    i
                }
                None => {
                    by_name.insert(rec.name.clone(), pending.len());
                    pending.push(Pending {
                        name: rec.name.clone(),
                        asset_type: rec.asset_type.clone(),
                        resource_type,
                        data: None,
                        location: None,
                        parent: None,
                        iam_policy: None,
                        org_policy: None,
                        ancestors: Vec::new(),
                    });
                    pending.len() - 1
                }
            };
            let p = &mut pending[idx];
            if let Some(data) = rec.data {
                let newer_data = p.data.as_ref().is_none_or(|(_, t)| *t <= rec.update_time);
                newer(&mut p.data, data, &rec.update_time);
                if newer_data {
                    p.location = rec.location.or(p.location.take());
                    p.parent = rec.parent.or(p.parent.take());
                }
            } else {
                if p.location.is_none() {
                    p.location = rec.location;
                }
                if p.parent.is_none() {
                    p.parent = rec.parent;
                }
            }
            if let Some(policy) = rec.iam_policy {
                newer(&mut p.iam_policy, policy, &rec.update_time);
            }
            if let Some(policy) = rec.org_policy {
                newer(&mut p.org_policy, policy, &rec.update_time);
            }
            if p.ancestors.is_empty() {
                p.ancestors = rec.ancestors;
            }
        }
    }

    // Project numbers → project ids, from the project assets themselves.
    let mut project_ids: HashMap<String, String> = HashMap::new();
    for p in &pending {
        if p.asset_type == "cloudresourcemanager.googleapis.com/Project" {
            let number = segment_after(path_of(&p.name), "projects").map(str::to_string);
            let data = p.data.as_ref().map(|(d, _)| d);
            let id = data.and_then(|d| str_at(d, &["projectId"]));
            let num = data
                .and_then(|d| d.get("projectNumber"))
                .and_then(|n| {
                    n.as_str()
                        .map(str::to_string)
                        .or_else(|| n.as_i64().map(|n| n.to_string()))
                })
                .or(number);
            if let (Some(id), Some(num)) = (id, num) {
                project_ids.insert(num, id.to_string());
            }
        }
    }
    let resolve_project =
        |x: &str| -> String { project_ids.get(x).cloned().unwrap_or_else(|| x.to_string()) };

    let mut assets: Vec<Asset> = Vec::with_capacity(pending.len());
    // CAI name (and aliases) → asset index.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut edges: Vec<Edge> = Vec::new();
    for (i, p) in pending.into_iter().enumerate() {
        let path = path_of(&p.name).to_string();
        let data = p.data.map(|(d, _)| d);
        let rtype = p.resource_type.as_str().to_string();
        // The project (id) the asset belongs to.
        let project_in_name = segment_after(&path, "projects").map(resolve_project);
        let project_of_ancestors = p
            .ancestors
            .iter()
            .find_map(|a| a.strip_prefix("projects/"))
            .map(resolve_project);
        let project_of_parent = p
            .parent
            .as_deref()
            .and_then(|par| segment_after(path_of(par), "projects"))
            .map(resolve_project);
        let project_of_data = if rtype == "gcp.resourcemanager.project" {
            data.as_ref()
                .and_then(|d| str_at(d, &["projectId"]))
                .map(str::to_string)
        } else {
            None
        };
        let project = project_of_data
            .or(project_in_name)
            .or(project_of_ancestors)
            .or(project_of_parent);
        let account = match &project {
            Some(p) => p.clone(),
            None => {
                let top = ["organizations", "folders"]
                    .iter()
                    .find_map(|k| segment_after(&path, k).map(|v| format!("{k}/{v}")));
                top.or_else(|| {
                    p.ancestors
                        .iter()
                        .find(|a| a.starts_with("folders/") || a.starts_with("organizations/"))
                        .cloned()
                })
                .unwrap_or_else(|| "unknown".to_string())
            }
        };
        let region = p
            .location
            .as_deref()
            .filter(|l| !l.is_empty())
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(|| "global".to_string());

        let mut config = match data.clone() {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if let Some((policy, _)) = p.iam_policy {
            config.insert("iamPolicy".into(), normalise_iam_policy(policy));
        }
        if let Some((policy, _)) = p.org_policy {
            config.insert("orgPolicies".into(), camelize(policy));
        }
        let tags: BTreeMap<String, String> = match config.get("labels") {
            Some(Value::Object(l)) => l
                .iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), v)
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        let display = match rtype.as_str() {
            "gcp.iam.serviceaccount" => config.get("email").and_then(Value::as_str),
            "gcp.resourcemanager.project" => config.get("projectId").and_then(Value::as_str),
            _ => None,
        }
        .filter(|n| !n.is_empty())
        .or_else(|| Some(last_segment(&p.name)).filter(|n| !n.is_empty()))
        // A name ending in `/` (or an empty email or project id) has no display name: the
        // full name then, as a snapshot reads an empty name (found by the `gcp_cai` fuzz target).
        .unwrap_or(&p.name)
        .to_string();

        let id = Asset::make_id(Provider::Gcp, &account, &region, &p.resource_type, &p.name);
        index.insert(p.name.clone(), i);
        // Aliases: service accounts by email (and their name spelled with the email), projects
        // by id.
        if rtype == "gcp.iam.serviceaccount"
            && let Some(email) = config.get("email").and_then(Value::as_str)
        {
            index.insert(format!("serviceaccount:{email}"), i);
            if let Some(proj) = &project {
                index.insert(
                    format!("//iam.googleapis.com/projects/{proj}/serviceAccounts/{email}"),
                    i,
                );
            }
        }
        if rtype == "gcp.resourcemanager.project"
            && let Some(proj) = &project
        {
            index.insert(
                format!("//cloudresourcemanager.googleapis.com/projects/{proj}"),
                i,
            );
        }

        // Containment: the parent, and the project / folders / organisation among the ancestors.
        let mut parents: Vec<String> = Vec::new();
        match &p.parent {
            Some(par) => parents.push(par.clone()),
            None => {
                // Keys, crypto keys… without a parent field: the path minus its last two segments.
                let parts: Vec<&str> = path.split('/').collect();
                if parts.len() > 4 && rtype != "gcp.resourcemanager.project" {
                    let host = p
                        .name
                        .trim_start_matches("//")
                        .split('/')
                        .next()
                        .unwrap_or("");
                    let parent_path = parts[..parts.len() - 2].join("/");
                    if rtype == "gcp.iam.serviceaccountkey" || rtype == "gcp.kms.cryptokey" {
                        parents.push(format!("//{host}/{parent_path}"));
                    }
                }
            }
        }
        let own = path.clone();
        for anc in &p.ancestors {
            if *anc == own || own.ends_with(&format!("/{anc}")) {
                continue;
            }
            parents.push(format!("//cloudresourcemanager.googleapis.com/{anc}"));
        }
        if let Some(proj) = &project
            && rtype != "gcp.resourcemanager.project"
        {
            parents.push(format!(
                "//cloudresourcemanager.googleapis.com/projects/{proj}"
            ));
        }
        for par in parents {
            edges.push(Edge {
                from: i,
                to: par,
                kind: "~contains",
            });
        }
        if let Some(d) = &data {
            reference_edges(i, &rtype, d, project.as_deref().unwrap_or("-"), &mut edges);
        }

        assets.push(Asset {
            id,
            provider: Provider::Gcp,
            account,
            region,
            resource_type: p.resource_type,
            native_id: p.name,
            name: display,
            tags,
            config: Value::Object(config),
            first_seen: observed_at,
            last_seen: observed_at,
        });
    }

    let mut relationships: Vec<Relationship> = edges
        .into_iter()
        .filter_map(|e| {
            let &target = index.get(&e.to)?;
            if target == e.from {
                return None;
            }
            let (a, b) = (assets[e.from].id.clone(), assets[target].id.clone());
            Some(match e.kind.strip_prefix('~') {
                Some(kind) => Relationship {
                    from: b,
                    to: a,
                    kind: kind.to_string(),
                },
                None => Relationship {
                    from: a,
                    to: b,
                    kind: e.kind.to_string(),
                },
            })
        })
        .collect();
    relationships.sort();
    relationships.dedup();
    Ok(Inventory {
        assets,
        relationships,
    })
}

/// Whether the first record of `text` looks like a CAI asset (either shape).
pub(crate) fn looks_like_cai(text: &str) -> bool {
    let t = text.trim_start();
    let head = if t.starts_with('[') {
        t.get(..t.len().min(4096)).unwrap_or(t)
    } else {
        t.lines().next().unwrap_or("")
    };
    head.contains("\"asset_type\"") || head.contains("\"assetType\"")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Found by the `gcp_cai` fuzz target: a name ending in `/` gave the asset an empty display
    /// name, which a snapshot round trip turned into the native id. The native id is the name
    /// now, as the snapshot reads it.
    #[test]
    fn a_name_ending_in_a_slash_is_named_by_its_full_name() {
        let now = DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let name = "//widgets.googleapis.com/projects/acme-prod/locations/global/widgets/";
        let line = format!(r#"{{"name":"{name}","asset_type":"widgets.googleapis.com/Widget"}}"#);
        let inv = parse_gcp_assets("export.jsonl", &line, now).unwrap();
        assert_eq!(inv.assets.len(), 1);
        assert_eq!(inv.assets[0].name, name);
        let line = r#"{"name":"//iam.googleapis.com/projects/p/serviceAccounts/sa","asset_type":"iam.googleapis.com/ServiceAccount","resource":{"data":{"email":""}}}"#;
        let inv = parse_gcp_assets("export.jsonl", line, now).unwrap();
        assert_eq!(inv.assets[0].name, "sa");
    }
}
