//! Live Google Cloud collector.
//!
//! Lists a project's, folder's or organisation's resources with the Cloud Asset Inventory API
//! (`assets.list`, one pass per content type: RESOURCE, IAM_POLICY, ORG_POLICY) plus the few
//! settings CAI does not carry (Essential Contacts, Access Approval settings), and feeds the
//! records through the CAI importer of `rampart-import`, so the inventory has exactly the shapes
//! of docs/asset-types-gcp.md, as if `gcloud asset list` output had been imported.
//!
//! Invariants (as for the AWS collector):
//! - a failing API call never aborts a scan: it becomes a [`CollectionError`] naming the service
//!   and operation, and collection goes on;
//! - only "cannot authenticate at all" and invalid configuration are fatal ([`GcpError`]);
//! - secrets (the private key, assertions, access tokens) never appear in `Debug` output, errors
//!   or logs.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_model::Inventory;
use serde_json::{Value, json};

mod auth;
mod http;

pub use auth::SCOPE;

use http::{Api, CallError};

/// The scope of a scan: the `parent` of the API calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `projects/ID` (an id or a number).
    Project(String),
    /// `folders/N`.
    Folder(String),
    /// `organizations/N`.
    Organization(String),
}

impl Scope {
    /// Parses `projects/ID`, `folders/N` or `organizations/N`.
    pub fn parse(text: &str) -> Result<Scope, GcpError> {
        let bad = || {
            GcpError::Config(format!(
                "scope {text:?} must be projects/ID, folders/NUMBER or organizations/NUMBER"
            ))
        };
        let (kind, id) = text.trim().split_once('/').ok_or_else(bad)?;
        let id_ok = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':' || c == '.');
        if !id_ok {
            return Err(bad());
        }
        let numeric = id.chars().all(|c| c.is_ascii_digit());
        match kind {
            "projects" => Ok(Scope::Project(id.to_string())),
            "folders" if numeric => Ok(Scope::Folder(id.to_string())),
            "organizations" if numeric => Ok(Scope::Organization(id.to_string())),
            _ => Err(bad()),
        }
    }

    /// `projects/ID`, `folders/N` or `organizations/N`.
    pub fn parent(&self) -> String {
        match self {
            Scope::Project(id) => format!("projects/{id}"),
            Scope::Folder(id) => format!("folders/{id}"),
            Scope::Organization(id) => format!("organizations/{id}"),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.parent())
    }
}

/// A service-account key file (`gcloud iam service-accounts keys create`), type
/// `service_account`. `Debug` never shows the private key.
#[derive(Clone, serde::Deserialize)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
    #[serde(default)]
    pub project_id: Option<String>,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_string()
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"** redacted **")
            .field("token_uri", &self.token_uri)
            .field("project_id", &self.project_id)
            .finish()
    }
}

impl ServiceAccountKey {
    /// Reads a key file's JSON; checks `type` is `service_account` and the fields are present.
    /// Errors never quote the file (it holds the private key).
    pub fn from_json(text: &str) -> Result<ServiceAccountKey, GcpError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            GcpError::Config(format!(
                "the credentials are not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        match value.get("type").and_then(Value::as_str) {
            Some("service_account") => {}
            Some(other) => {
                return Err(GcpError::Config(format!(
                    "the credentials are of type {other:?}; a service-account key (type \"service_account\") is needed"
                )));
            }
            None => {
                return Err(GcpError::Config(
                    "the credentials have no \"type\"; a service-account key (type \"service_account\") is needed".into(),
                ));
            }
        }
        let key: ServiceAccountKey = serde_json::from_value(value).map_err(|e| {
            // serde's message names the missing field, never a value.
            GcpError::Config(format!("the service-account key is incomplete: {e}"))
        })?;
        if key.client_email.is_empty() || key.private_key.is_empty() {
            return Err(GcpError::Config(
                "the service-account key has an empty client_email or private_key".into(),
            ));
        }
        Ok(key)
    }
}

/// Base URLs replacing the Google API hosts (tests, emulators, private service connect).
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// Instead of `https://cloudasset.googleapis.com`.
    pub cloudasset: Option<String>,
    /// Instead of `https://essentialcontacts.googleapis.com`.
    pub essentialcontacts: Option<String>,
    /// Instead of `https://accessapproval.googleapis.com`.
    pub accessapproval: Option<String>,
    /// Instead of the key's `token_uri`.
    pub token_uri: Option<String>,
}

/// A Cloud Asset Inventory content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Resource,
    IamPolicy,
    OrgPolicy,
}

impl ContentType {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Resource => "RESOURCE",
            ContentType::IamPolicy => "IAM_POLICY",
            ContentType::OrgPolicy => "ORG_POLICY",
        }
    }
}

/// Asset types that carry organisation policies.
const ORG_POLICY_TYPES: &[&str] = &[
    "cloudresourcemanager.googleapis.com/Organization",
    "cloudresourcemanager.googleapis.com/Folder",
    "cloudresourcemanager.googleapis.com/Project",
];

/// What to scan and how to authenticate.
#[derive(Debug, Clone)]
pub struct GcpScanConfig {
    pub scope: Scope,
    pub credentials: ServiceAccountKey,
    /// CAI asset types to list (`None` = every type the importer maps, [`default_asset_types`]).
    pub asset_types: Option<Vec<String>>,
    /// Content types to list (`None` = RESOURCE, IAM_POLICY and ORG_POLICY).
    pub content_types: Option<Vec<ContentType>>,
    /// Also read Essential Contacts and Access Approval settings directly (default true).
    pub direct_reads: bool,
    pub endpoints: Endpoints,
    /// Allow `http://` endpoints (tests, local emulators). Otherwise only https is used.
    pub allow_insecure_http: bool,
    /// `pageSize` of list calls (default 500; CAI allows up to 1000).
    pub page_size: Option<u32>,
    /// Attempts per call on throttling (429), 5xx and network errors (default 5).
    pub max_attempts: Option<u32>,
    /// Longest wait between two attempts, whatever `Retry-After` says (default 30 s).
    pub max_retry_wait: Option<Duration>,
    /// Timeout of one HTTP request (default 60 s).
    pub timeout: Option<Duration>,
    /// Time stamped on the assets as first/last seen (default: now).
    pub observed_at: Option<DateTime<Utc>>,
}

impl GcpScanConfig {
    /// A configuration with the defaults.
    pub fn new(scope: Scope, credentials: ServiceAccountKey) -> GcpScanConfig {
        GcpScanConfig {
            scope,
            credentials,
            asset_types: None,
            content_types: None,
            direct_reads: true,
            endpoints: Endpoints::default(),
            allow_insecure_http: false,
            page_size: None,
            max_attempts: None,
            max_retry_wait: None,
            timeout: None,
            observed_at: None,
        }
    }
}

/// The CAI asset types listed by default: every type of the importer's fixed table.
pub fn default_asset_types() -> Vec<String> {
    rampart_import::gcp_mapped_asset_types()
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Every call the collector makes: (service, operation, IAM permission), for onboarding checks
/// and for explaining a `CollectionError` (docs/gcp.md lists the same).
pub const OPERATIONS: &[(&str, &str, &str)] = &[
    (
        "cloudasset",
        "assets.list RESOURCE",
        "cloudasset.assets.listResource",
    ),
    (
        "cloudasset",
        "assets.list IAM_POLICY",
        "cloudasset.assets.listIamPolicy",
    ),
    (
        "cloudasset",
        "assets.list ORG_POLICY",
        "cloudasset.assets.listOrgPolicy",
    ),
    (
        "essentialcontacts",
        "contacts.list",
        "essentialcontacts.contacts.list",
    ),
    (
        "accessapproval",
        "getAccessApprovalSettings",
        "accessapproval.settings.get",
    ),
];

/// A call that failed; the scan went on without its results.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CollectionError {
    /// The scope scanned (`projects/acme-prod`).
    pub scope: String,
    /// API host prefix: `cloudasset`, `essentialcontacts`, `accessapproval`.
    pub service: String,
    /// The operation, with the content type for CAI: `assets.list RESOURCE`, `contacts.list`.
    pub operation: String,
    pub message: String,
}

/// The result of a scan.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    pub inventory: Inventory,
    pub errors: Vec<CollectionError>,
    /// The scope scanned (`organizations/123`).
    pub scope: String,
    /// The service account the scan ran as.
    pub principal: String,
}

/// Errors that stop a scan before it starts. Never carry a secret.
#[derive(Debug, thiserror::Error)]
pub enum GcpError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot authenticate as service account {client_email}: {message}")]
    Credentials {
        client_email: String,
        message: String,
    },
}

/// Progress callbacks, one pair per unit: a CAI content type (`cloudasset RESOURCE`) or a direct
/// API (`essentialcontacts`). Implementations must be cheap.
pub trait Progress: Sync {
    /// The units are known.
    fn plan(&self, _units: &[String]) {}
    fn started(&self, _unit: &str) {}
    fn finished(&self, _unit: &str, _assets: usize, _errors: usize) {}
}

/// A [`Progress`] that reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Exponential backoff: 500 ms, 1 s, 2 s, … capped at 16 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(5));
    Duration::from_millis(ms.min(16_000))
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: backoff applies).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn check_url(url: &str, what: &str, allow_http: bool) -> Result<String, GcpError> {
    let url = url.trim().trim_end_matches('/').to_string();
    if url.starts_with("https://") {
        return Ok(url);
    }
    if url.starts_with("http://") {
        if allow_http {
            return Ok(url);
        }
        return Err(GcpError::Config(format!(
            "{what} {url} is plain http: only https is used unless allow_insecure_http is set"
        )));
    }
    Err(GcpError::Config(format!(
        "{what} {url:?} is not an http(s) URL"
    )))
}

/// A direct API read: the service, its operation, and how its answer becomes CAI records.
struct Direct {
    service: &'static str,
    operation: &'static str,
    base: String,
}

/// The work units of a scan, in order.
enum Unit {
    Cai(ContentType),
    Direct(Direct),
}

impl Unit {
    fn label(&self) -> String {
        match self {
            Unit::Cai(ct) => format!("cloudasset {}", ct.as_str()),
            Unit::Direct(d) => d.service.to_string(),
        }
    }
    fn service(&self) -> &'static str {
        match self {
            Unit::Cai(_) => "cloudasset",
            Unit::Direct(d) => d.service,
        }
    }
    fn operation(&self) -> String {
        match self {
            Unit::Cai(ct) => format!("assets.list {}", ct.as_str()),
            Unit::Direct(d) => d.operation.to_string(),
        }
    }
}

/// Guard against a server that keeps answering a page token.
const MAX_PAGES: usize = 100_000;

/// Collects the scope's inventory.
/// Signs in with the service account key (the one fatal step of a scan): the token source,
/// the HTTP client and the attempts per call.
async fn authenticate(
    config: &GcpScanConfig,
) -> Result<(auth::TokenSource, reqwest::Client, u32), GcpError> {
    let token_uri = check_url(
        config
            .endpoints
            .token_uri
            .as_deref()
            .unwrap_or(&config.credentials.token_uri),
        "the token endpoint",
        config.allow_insecure_http,
    )?;
    let max_attempts = config.max_attempts.unwrap_or(5).max(1);
    let http = http::client(config.timeout.unwrap_or(Duration::from_secs(60)))?;
    let tokens = auth::TokenSource::new(
        config.credentials.clone(),
        token_uri,
        http.clone(),
        max_attempts,
    )?;
    tokens.token(None).await?;
    Ok((tokens, http, max_attempts))
}

/// Checks the connection without scanning: the service account signs in. Answers its email.
pub async fn check(config: &GcpScanConfig) -> Result<String, GcpError> {
    let (tokens, _, _) = authenticate(config).await?;
    Ok(tokens.client_email().to_owned())
}

pub async fn collect(
    config: &GcpScanConfig,
    progress: &dyn Progress,
) -> Result<Collection, GcpError> {
    let allow_http = config.allow_insecure_http;
    let endpoint = |o: &Option<String>, default: &str, what: &str| {
        check_url(o.as_deref().unwrap_or(default), what, allow_http)
    };
    let cloudasset = endpoint(
        &config.endpoints.cloudasset,
        "https://cloudasset.googleapis.com",
        "the Cloud Asset API endpoint",
    )?;
    let essentialcontacts = endpoint(
        &config.endpoints.essentialcontacts,
        "https://essentialcontacts.googleapis.com",
        "the Essential Contacts API endpoint",
    )?;
    let accessapproval = endpoint(
        &config.endpoints.accessapproval,
        "https://accessapproval.googleapis.com",
        "the Access Approval API endpoint",
    )?;
    let (tokens, http, max_attempts) = authenticate(config).await?;
    let api = Api {
        http,
        tokens,
        max_attempts,
        max_wait: config.max_retry_wait.unwrap_or(Duration::from_secs(30)),
    };

    let parent = config.scope.parent();
    let asset_types = config
        .asset_types
        .clone()
        .unwrap_or_else(default_asset_types);
    let content_types = config.content_types.clone().unwrap_or_else(|| {
        vec![
            ContentType::Resource,
            ContentType::IamPolicy,
            ContentType::OrgPolicy,
        ]
    });
    let mut units: Vec<Unit> = content_types.iter().map(|c| Unit::Cai(*c)).collect();
    if config.direct_reads {
        units.push(Unit::Direct(Direct {
            service: "essentialcontacts",
            operation: "contacts.list",
            base: essentialcontacts,
        }));
        units.push(Unit::Direct(Direct {
            service: "accessapproval",
            operation: "getAccessApprovalSettings",
            base: accessapproval,
        }));
    }
    progress.plan(&units.iter().map(Unit::label).collect::<Vec<_>>());

    let observed_at = config.observed_at.unwrap_or_else(Utc::now);
    let page_size = config.page_size.unwrap_or(500).clamp(1, 1000);
    // The units run at the same time (a few requests in flight, one per unit); results are kept
    // in unit order so the merge is deterministic.
    let ctx = UnitContext {
        api: &api,
        cloudasset: &cloudasset,
        parent: &parent,
        asset_types: &asset_types,
        page_size,
        observed_at,
    };
    let results =
        futures_util::future::join_all(units.iter().map(|u| run_unit(&ctx, u, progress))).await;
    let mut errors: Vec<CollectionError> = Vec::new();
    let mut accepted: Vec<(String, Vec<Value>)> = Vec::new();
    for (entry, unit_errors) in results {
        accepted.push(entry);
        errors.extend(unit_errors);
    }

    // Merge the units; a unit contradicting earlier ones (never seen in practice) is dropped.
    let inventory = loop {
        match parse(&accepted, observed_at) {
            Ok(inv) => break inv,
            Err(e) => {
                let Some((label, _)) = accepted.pop() else {
                    break Inventory::default();
                };
                let unit = units.iter().find(|u| u.label() == label);
                errors.push(CollectionError {
                    scope: parent.clone(),
                    service: unit.map_or("cloudasset", Unit::service).to_string(),
                    operation: unit.map_or_else(|| label.clone(), Unit::operation),
                    message: format!("cannot merge with the other content types: {e}"),
                });
            }
        }
    };
    Ok(Collection {
        inventory,
        errors,
        scope: parent,
        principal: api.tokens.client_email().to_string(),
    })
}

/// What every unit needs.
struct UnitContext<'a> {
    api: &'a Api,
    cloudasset: &'a str,
    parent: &'a str,
    asset_types: &'a [String],
    page_size: u32,
    observed_at: DateTime<Utc>,
}

/// Runs one unit: its records (checked by the CAI parser) and its errors.
async fn run_unit(
    ctx: &UnitContext<'_>,
    unit: &Unit,
    progress: &dyn Progress,
) -> ((String, Vec<Value>), Vec<CollectionError>) {
    let (api, parent, page_size) = (ctx.api, ctx.parent, ctx.page_size);
    let label = unit.label();
    progress.started(&label);
    let fail = |message: String| CollectionError {
        scope: parent.to_string(),
        service: unit.service().to_string(),
        operation: unit.operation(),
        message,
    };
    let mut errors = Vec::new();
    let (records, error) = match unit {
        Unit::Cai(ct) => {
            let types: Vec<&str> = match ct {
                ContentType::OrgPolicy => ctx
                    .asset_types
                    .iter()
                    .map(String::as_str)
                    .filter(|t| ORG_POLICY_TYPES.contains(t))
                    .collect(),
                _ => ctx.asset_types.iter().map(String::as_str).collect(),
            };
            if types.is_empty() {
                (Vec::new(), None)
            } else {
                list_assets(api, ctx.cloudasset, parent, *ct, &types, page_size).await
            }
        }
        Unit::Direct(d) if d.service == "essentialcontacts" => {
            list_contacts(api, &d.base, parent, page_size).await
        }
        Unit::Direct(d) => access_approval(api, &d.base, parent).await,
    };
    if let Some(message) = error {
        tracing::warn!(unit = %label, %message, "collection error");
        errors.push(fail(message));
    }
    // Check the records the way an import would, so one malformed answer only loses its unit.
    let mut entry = (label.clone(), records);
    if let Err(e) = parse(std::slice::from_ref(&entry), ctx.observed_at) {
        tracing::warn!(unit = %label, error = %e, "malformed response");
        errors.push(fail(format!("malformed response: {e}")));
        entry.1.clear();
    }
    progress.finished(&label, entry.1.len(), errors.len());
    (entry, errors)
}

/// Runs the CAI importer on the records (as a `gcloud asset list --format=json` array each).
fn parse(
    units: &[(String, Vec<Value>)],
    observed_at: DateTime<Utc>,
) -> Result<Inventory, rampart_import::ImportError> {
    let texts: Vec<(String, String)> = units
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(label, records)| {
            // Serialising plain JSON values cannot fail.
            let text = serde_json::to_string(records).unwrap_or_else(|_| "[]".to_string());
            (label.clone(), text)
        })
        .collect();
    if texts.is_empty() {
        return Ok(Inventory::default());
    }
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(l, t)| (l.as_str(), t.as_str()))
        .collect();
    rampart_import::parse_gcp_files(&files, observed_at)
}

/// Follows `nextPageToken` over `url`, collecting the array `field` of each page.
async fn paginate(
    api: &Api,
    url: &str,
    base_query: &[(&str, String)],
    field: &str,
) -> (Vec<Value>, Option<PageError>) {
    let malformed = |m: &str| Some(PageError::Other(format!("malformed response: {m}")));
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = base_query.to_vec();
        if let Some(t) = &token {
            query.push(("pageToken", t.clone()));
        }
        let page = match api.get_json(url, &query).await {
            Ok(p) => p,
            Err(CallError::BadRequest(m)) => return (out, Some(PageError::BadRequest(m))),
            Err(e) => return (out, Some(PageError::Other(e.message()))),
        };
        let Value::Object(mut page) = page else {
            return (out, malformed("expected a JSON object"));
        };
        match page.remove(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => out.extend(items),
            Some(_) => {
                return (out, malformed(&format!("\"{field}\" is not a list")));
            }
        }
        match page.get("nextPageToken") {
            None | Some(Value::Null) => return (out, None),
            Some(Value::String(t)) if t.is_empty() => return (out, None),
            Some(Value::String(t)) => {
                if token.as_deref() == Some(t.as_str()) {
                    return (out, malformed("the same nextPageToken was returned twice"));
                }
                token = Some(t.clone());
            }
            Some(_) => {
                return (out, malformed("\"nextPageToken\" is not a string"));
            }
        }
    }
    (
        out,
        Some(PageError::Other(format!("gave up after {MAX_PAGES} pages"))),
    )
}

/// `GET v1/{parent}/assets?contentType=…&assetTypes=…&pageSize=…&pageToken=…`.
async fn list_assets(
    api: &Api,
    base: &str,
    parent: &str,
    content_type: ContentType,
    asset_types: &[&str],
    page_size: u32,
) -> (Vec<Value>, Option<String>) {
    let url = format!("{base}/v1/{parent}/assets");
    let query: Vec<(&str, String)> = vec![
        ("contentType", content_type.as_str().to_string()),
        ("pageSize", page_size.to_string()),
    ];
    let mut all = query.clone();
    all.extend(asset_types.iter().map(|t| ("assetTypes", (*t).to_string())));
    let (assets, error) = paginate(api, &url, &all, "assets").await;
    match error {
        // One asset type the API does not accept fails the whole call (INVALID_ARGUMENT): list
        // the types one by one so only the refused ones are lost.
        Some(PageError::BadRequest(_)) if asset_types.len() > 1 => {
            let mut out = Vec::new();
            let mut refused = Vec::new();
            for t in asset_types {
                let mut one = query.clone();
                one.push(("assetTypes", (*t).to_string()));
                let (assets, error) = paginate(api, &url, &one, "assets").await;
                out.extend(assets);
                if let Some(e) = error {
                    refused.push(format!("{t}: {}", e.message()));
                }
            }
            let error = (!refused.is_empty()).then(|| refused.join("; "));
            (out, error)
        }
        other => (assets, other.map(PageError::message)),
    }
}

/// Why pagination stopped early.
enum PageError {
    BadRequest(String),
    Other(String),
}

impl PageError {
    fn message(self) -> String {
        match self {
            PageError::BadRequest(m) | PageError::Other(m) => m,
        }
    }
}

/// `GET v1/{parent}/contacts`: the contacts as CAI `essentialcontacts.googleapis.com/Contact`
/// records (so they merge with the same assets when CAI lists them too).
async fn list_contacts(
    api: &Api,
    base: &str,
    parent: &str,
    page_size: u32,
) -> (Vec<Value>, Option<String>) {
    let url = format!("{base}/v1/{parent}/contacts");
    let query = vec![("pageSize", page_size.min(100).to_string())];
    let (contacts, error) = paginate(api, &url, &query, "contacts").await;
    let error = error.map(PageError::message);
    let mut records = Vec::new();
    for contact in contacts {
        let Some(name) = contact.get("name").and_then(Value::as_str) else {
            return (
                records,
                Some("malformed response: a contact has no \"name\"".to_string()),
            );
        };
        // `projects/N/contacts/C` → its container `projects/N`.
        let owner = name
            .rsplit_once("/contacts/")
            .map_or(parent, |(owner, _)| owner)
            .to_string();
        records.push(json!({
            "name": format!("//essentialcontacts.googleapis.com/{name}"),
            "assetType": "essentialcontacts.googleapis.com/Contact",
            "resource": {
                "data": contact,
                "parent": format!("//cloudresourcemanager.googleapis.com/{owner}"),
            },
            "ancestors": [owner],
        }));
    }
    (records, error)
}

/// `GET v1/{parent}/accessApprovalSettings`: one `accessapproval.googleapis.com/AccessApprovalSettings`
/// record (type `gcp.accessapproval.accessapprovalsettings`); absent settings (404) are no error.
async fn access_approval(api: &Api, base: &str, parent: &str) -> (Vec<Value>, Option<String>) {
    let url = format!("{base}/v1/{parent}/accessApprovalSettings");
    match api.get_json(&url, &[]).await {
        Ok(settings @ Value::Object(_)) => {
            let name = settings.get("name").and_then(Value::as_str).map_or_else(
                || format!("{parent}/accessApprovalSettings"),
                str::to_string,
            );
            let record = json!({
                "name": format!("//accessapproval.googleapis.com/{name}"),
                "assetType": "accessapproval.googleapis.com/AccessApprovalSettings",
                "resource": {
                    "data": settings,
                    "parent": format!("//cloudresourcemanager.googleapis.com/{parent}"),
                },
                "ancestors": [parent],
            });
            (vec![record], None)
        }
        Ok(_) => (
            Vec::new(),
            Some("malformed response: expected a JSON object".to_string()),
        ),
        Err(CallError::NotFound(_)) => (Vec::new(), None),
        Err(e) => (Vec::new(), Some(e.message())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(
            Scope::parse("projects/acme-prod").ok(),
            Some(Scope::Project("acme-prod".into()))
        );
        assert_eq!(
            Scope::parse("organizations/123").ok(),
            Some(Scope::Organization("123".into()))
        );
        assert!(Scope::parse("folders/abc").is_err());
        assert!(Scope::parse("projects/").is_err());
        assert!(Scope::parse("projects/a/b").is_err());
        assert!(Scope::parse("acme").is_err());
    }

    #[test]
    fn operations_are_documented() {
        let doc = include_str!("../../../docs/gcp.md");
        for (service, operation, permission) in OPERATIONS {
            assert!(doc.contains(permission), "{permission} not in docs/gcp.md");
            assert!(doc.contains(operation), "{operation} not in docs/gcp.md");
            assert!(doc.contains(service), "{service} not in docs/gcp.md");
        }
    }

    #[test]
    fn backoff_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(30), Duration::from_secs(16));
    }

    #[test]
    fn insecure_http_is_refused_unless_allowed() {
        assert!(check_url("http://127.0.0.1:1", "x", false).is_err());
        assert!(check_url("http://127.0.0.1:1", "x", true).is_ok());
        assert!(check_url("https://cloudasset.googleapis.com/", "x", false).is_ok());
        assert!(check_url("ftp://x", "x", true).is_err());
    }
}
