//! Live Azure collector.
//!
//! Authenticates as an app registration (OAuth 2.0 client credentials), lists resources with
//! Azure Resource Graph, completes them with the ARM reads Resource Graph lacks, reads Entra ID
//! through Microsoft Graph v1.0, and feeds everything through the Azure importer
//! (`rampart_import::build_azure`), so that the inventory has exactly the shapes of
//! docs/asset-types-azure.md.
//!
//! Invariants (as in the AWS collector):
//! - a failing API call never aborts a scan: it becomes a [`CollectionError`] naming the
//!   service, the scope (subscription or tenant) and the operation, and collection goes on;
//! - only "cannot authenticate at all" (the token endpoint refusing the credentials) and an
//!   invalid configuration are fatal ([`AzureError`]);
//! - secrets (the client secret, access tokens) never appear in Debug output, errors or logs;
//! - only https, unless `allow_insecure_http`; no redirects; a token is only ever sent to the
//!   endpoint it was issued for.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_import::AzureDoc;
use rampart_model::Inventory;
use serde_json::{Value, json};

mod arm;
mod graph;
mod http;

use http::{Api, Scope, TokenError};

pub use arm::{DIAGNOSTICS_API, QUERIES, RESOURCE_GRAPH_API, SUBSCRIPTIONS_API, arm_reads};
pub use graph::{READS as GRAPH_READS, SUBSCRIPTION_POLICY_API, USER_SELECT};

/// A client secret: never printed.
#[derive(Clone, Default)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(secret: impl Into<String>) -> ClientSecret {
        ClientSecret(secret.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for ClientSecret {
    fn from(s: String) -> Self {
        ClientSecret(s)
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(** redacted **)")
    }
}

/// What to scan and how to authenticate.
#[derive(Debug, Clone, Default)]
pub struct AzureScanConfig {
    /// Directory (tenant) id, or a verified domain of the tenant.
    pub tenant_id: String,
    /// Application (client) id of the app registration.
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Subscriptions to scan; `None` = every subscription the app can see (ARM
    /// `GET /subscriptions`).
    pub subscriptions: Option<Vec<String>>,
    /// Token endpoint base (default `https://login.microsoftonline.com`).
    pub login_endpoint: Option<String>,
    /// Azure Resource Manager base (default `https://management.azure.com`).
    pub arm_endpoint: Option<String>,
    /// Microsoft Graph base (default `https://graph.microsoft.com`).
    pub graph_endpoint: Option<String>,
    /// Allow plain http endpoints (tests, local emulators). Off: only https.
    pub allow_insecure_http: bool,
    /// Skip Microsoft Graph (Entra ID) entirely.
    pub skip_entra: bool,
    /// Attempts per call on throttling (429) and server errors (default 5).
    pub max_attempts: Option<u32>,
    /// Longest wait between attempts, Retry-After included (default 30 s).
    pub max_backoff: Option<Duration>,
    /// Timeout of one HTTP call (default 60 s).
    pub timeout: Option<Duration>,
    /// ARM reads in flight at once (default 8).
    pub concurrency: Option<usize>,
    /// Time stamped on the assets as first/last seen (default: now).
    pub observed_at: Option<DateTime<Utc>>,
}

/// A call that failed; the scan went on without its results.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CollectionError {
    /// Subscription id, or the tenant for Microsoft Graph and tenant-wide calls.
    pub account: String,
    /// The API family (`resourcegraph`, `storage`, `sql`, `defender`, `entra`, …).
    pub service: String,
    /// The resource's location when known, else `global`.
    pub region: String,
    /// What was called (`GET /users`, `resources query`, `storage blobServices`, …).
    pub operation: String,
    pub message: String,
}

/// The result of a scan: what was seen, and what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    pub inventory: Inventory,
    pub errors: Vec<CollectionError>,
    /// The tenant as configured.
    pub tenant_id: String,
    /// Subscriptions that were scanned.
    pub subscriptions: Vec<String>,
}

/// Errors that stop a scan.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// The token endpoint refused the credentials (wrong tenant, client id or secret, or a
    /// disabled app). Names the client id and tenant, never the secret.
    #[error("cannot authenticate to Azure: {0}")]
    Authentication(String),
    /// The token endpoint could not be reached or answered nonsense.
    #[error("cannot obtain an Azure access token: {0}")]
    TokenEndpoint(String),
    #[error("invalid Azure configuration: {0}")]
    Config(String),
}

/// Progress callbacks, one pair per (service, scope); the scope is `subscriptions` for the
/// ARM services (all selected subscriptions at once) and `tenant` for Microsoft Graph.
/// Implementations must be cheap.
pub trait Progress: Sync {
    /// The set of (service, scope) units is known.
    fn plan(&self, _units: &[(String, String)]) {}
    fn started(&self, _service: &str, _scope: &str) {}
    fn finished(&self, _service: &str, _scope: &str, _assets: usize, _errors: usize) {}
}

/// A [`Progress`] that reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// ARM services, in collection order (`subscriptions` only when none were given).
pub const ARM_SERVICES: &[&str] = &[
    "subscriptions",
    "resourcegraph",
    "monitor",
    "defender",
    "locks",
    "storage",
    "sql",
    "postgresql",
    "mysql",
    "web",
    "keyvault",
    "compute",
];
/// Microsoft Graph services.
pub const GRAPH_SERVICES: &[&str] = &[
    "entra",
    "entra-policies",
    "conditional-access",
    "entra-reports",
];

/// Azure roles the collector's service principal needs on each subscription (or management
/// group) it scans: Reader for Resource Graph and the ARM reads, Security Reader for the
/// Defender for Cloud settings. deploy/azure/terraform grants exactly these (a test checks).
pub const ARM_ROLES: &[&str] = &["Reader", "Security Reader"];

/// Microsoft Graph application permissions the collector uses (admin consent required):
/// Directory.Read.All (organization, users, groups, service principals, applications, directory
/// roles, group settings), Policy.Read.All (tenant policies, Conditional Access policies and
/// named locations), Policy.Read.DeviceConfiguration (deviceRegistrationPolicy),
/// AuditLog.Read.All (users' signInActivity, userRegistrationDetails),
/// UserAuthenticationMethod.Read.All and Reports.Read.All (userRegistrationDetails).
pub const GRAPH_PERMISSIONS: &[&str] = &[
    "Directory.Read.All",
    "Policy.Read.All",
    "Policy.Read.DeviceConfiguration",
    "AuditLog.Read.All",
    "UserAuthenticationMethod.Read.All",
    "Reports.Read.All",
];

/// Shared state of one scan.
pub(crate) struct Scan<'a> {
    pub api: Api,
    pub tenant: String,
    pub progress: &'a dyn Progress,
    pub concurrency: usize,
    errors: Mutex<Vec<CollectionError>>,
}

impl Scan<'_> {
    pub(crate) fn error(
        &self,
        account: &str,
        service: &str,
        region: &str,
        operation: &str,
        message: impl Into<String>,
    ) {
        let message = self.api.scrub(&message.into());
        tracing::warn!(service, account, operation, %message, "azure collection error");
        let e = CollectionError {
            account: account.to_string(),
            service: service.to_string(),
            region: if region.is_empty() {
                "global".into()
            } else {
                region.to_string()
            },
            operation: operation.to_string(),
            message,
        };
        match self.errors.lock() {
            Ok(mut g) => g.push(e),
            Err(p) => p.into_inner().push(e),
        }
    }

    pub(crate) fn error_count(&self, service: &str) -> usize {
        match self.errors.lock() {
            Ok(g) => g.iter().filter(|e| e.service == service).count(),
            Err(p) => p
                .into_inner()
                .iter()
                .filter(|e| e.service == service)
                .count(),
        }
    }

    fn take_errors(&self) -> Vec<CollectionError> {
        match self.errors.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}

/// Scans the configured tenant: its subscriptions through Azure Resource Graph and ARM, and its
/// directory through Microsoft Graph. Fails only when no token can be had at all (or the
/// configuration is invalid); every other failure is a [`CollectionError`].
/// Checks the connection without scanning: the application obtains tokens for Azure Resource
/// Manager and (unless `skip_entra`) Microsoft Graph. Answers `tenant …, application …`.
pub async fn check(config: &AzureScanConfig) -> Result<String, AzureError> {
    let api = Api::new(config)?;
    let mut scopes = vec![Scope::Arm];
    if !config.skip_entra {
        scopes.push(Scope::Graph);
    }
    for scope in scopes {
        match api.token(scope, false).await {
            Ok(_) => {}
            Err(TokenError::Refused(m)) => return Err(AzureError::Authentication(m)),
            Err(TokenError::Unavailable(m)) => return Err(AzureError::TokenEndpoint(m)),
        }
    }
    Ok(format!(
        "tenant {}, application {}",
        config.tenant_id.trim(),
        config.client_id.trim()
    ))
}

pub async fn collect(
    config: &AzureScanConfig,
    progress: &dyn Progress,
) -> Result<Collection, AzureError> {
    let api = Api::new(config)?;
    let observed_at = config.observed_at.unwrap_or_else(Utc::now);
    // Authenticate first: refused credentials end the scan here, with a clear message.
    match api.token(Scope::Arm, false).await {
        Ok(_) => {}
        Err(TokenError::Refused(m)) => return Err(AzureError::Authentication(m)),
        Err(TokenError::Unavailable(m)) => return Err(AzureError::TokenEndpoint(m)),
    }
    let scan = Scan {
        api,
        tenant: config.tenant_id.trim().to_string(),
        progress,
        concurrency: config.concurrency.unwrap_or(8).max(1),
        errors: Mutex::new(Vec::new()),
    };
    let mut units: Vec<(String, String)> = Vec::new();
    for s in ARM_SERVICES {
        if *s == "subscriptions" && config.subscriptions.is_some() {
            continue;
        }
        units.push((s.to_string(), "subscriptions".into()));
    }
    if !config.skip_entra {
        for s in GRAPH_SERVICES {
            units.push((s.to_string(), "tenant".into()));
        }
    }
    progress.plan(&units);

    // Subscriptions.
    let subscriptions = match &config.subscriptions {
        Some(list) => list
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => arm::list_subscriptions(&scan).await,
    };

    // Resource Graph rows, then the ARM reads that complete them.
    let mut rows = arm::resource_graph(&scan, &subscriptions).await;
    arm::enrich(&scan, &mut rows).await;
    let groups_with_roles = arm::assigned_groups(&rows);
    let arm_docs = arm::documents(&scan, rows);

    // Microsoft Graph.
    let graph_docs: Vec<graph::GraphDoc> = if config.skip_entra {
        Vec::new()
    } else {
        graph::collect(&scan, &groups_with_roles).await
    };

    let inventory = build(&scan, arm_docs, graph_docs, observed_at);
    Ok(Collection {
        inventory,
        errors: scan.take_errors(),
        tenant_id: scan.tenant.clone(),
        subscriptions,
    })
}

/// Builds the inventory through the importer. Each answer was validated on its own, but a few
/// checks need everything together (the tenant of the Entra objects, directory settings): should
/// the whole not build, the Graph answers are added one at a time and those that break the build
/// are left out, each a recorded error naming its operation. The ARM part is always kept.
fn build(
    scan: &Scan<'_>,
    arm_docs: Vec<AzureDoc>,
    graph_docs: Vec<graph::GraphDoc>,
    observed_at: DateTime<Utc>,
) -> Inventory {
    let mut all = arm_docs.clone();
    all.extend(graph_docs.iter().map(|(_, _, d)| d.clone()));
    let first = match rampart_import::build_azure(all, observed_at) {
        Ok(inv) => return inv,
        Err(e) => e.to_string(),
    };
    if graph_docs.is_empty() {
        scan.error(
            &scan.tenant,
            "resourcegraph",
            "global",
            "normalise",
            format!("the collected resources could not be normalised: {first}"),
        );
        return Inventory::default();
    }
    let mut kept = arm_docs;
    for (service, op, doc) in graph_docs {
        let mut trial = kept.clone();
        trial.push(doc.clone());
        match rampart_import::build_azure(trial, observed_at) {
            Ok(_) => kept.push(doc),
            Err(e) => scan.error(
                &scan.tenant,
                service,
                "global",
                &format!("normalise {op}"),
                format!("left out: {e}"),
            ),
        }
    }
    match rampart_import::build_azure(kept, observed_at) {
        Ok(inv) => inv,
        Err(e) => {
            scan.error(
                &scan.tenant,
                "resourcegraph",
                "global",
                "normalise",
                format!("the collected objects could not be normalised: {e}"),
            );
            Inventory::default()
        }
    }
}

/// Wraps a value as a one-record Resource Graph document, for validation.
pub(crate) fn row_document(name: &str, row: &Value) -> Result<AzureDoc, String> {
    let text = json!({ "data": [row] }).to_string();
    let doc = rampart_import::parse_azure_doc(name, &text).map_err(|e| e.to_string())?;
    // Building checks what parsing does not (a usable type, an account).
    rampart_import::build_azure(vec![doc.clone()], Utc::now()).map_err(|e| e.to_string())?;
    Ok(doc)
}
