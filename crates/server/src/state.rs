//! Shared application state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rampart_rules::{Catalog, CustomControlDef};
use rampart_store::{Store, Vault, WorkspaceScope};

/// A message for a person (password-reset link, invitation), handed to the installation's mail
/// transport. Its body holds a secret link: transports must not log it.
#[derive(Clone)]
pub struct OutgoingMessage {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &"<redacted>")
            .finish()
    }
}

/// Where messages for people go. The SMTP transport arrives with notifications; until one is
/// configured, messages are dropped with a warning that names the recipient only.
pub trait Mailer: Send + Sync {
    fn send(&self, message: OutgoingMessage);
}

/// Drops messages (no transport configured).
pub struct NoMailer;

impl Mailer for NoMailer {
    fn send(&self, message: OutgoingMessage) {
        tracing::warn!(to = %message.to, subject = %message.subject, "no mail transport configured: message dropped");
    }
}

/// Keeps messages in memory (tests, and the operator's outbox view).
#[derive(Default)]
pub struct MemoryMailer {
    pub sent: Mutex<Vec<OutgoingMessage>>,
}

impl Mailer for MemoryMailer {
    fn send(&self, message: OutgoingMessage) {
        if let Ok(mut sent) = self.sent.lock() {
            sent.push(message);
        }
    }
}

/// A security-relevant event for the installation's alert channel (new admin, MFA disabled,
/// support grant created, API token created, repeated failed sign-ins). Delivered to the log
/// target `rampart::alert` and to the in-memory feed; the notification channels subscribe here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityAlert {
    pub kind: &'static str,
    pub workspace: Option<String>,
    pub subject: String,
}

/// The installation's alert channel: where security alerts go beyond the log, the metrics and
/// the in-memory feed (a signed webhook, e-mail to the operators; see `rampart serve
/// --alert-webhook-url`).
pub trait AlertSink: Send + Sync {
    /// Hands the alert over. Must not block: deliver in the background.
    fn deliver(&self, alert: &SecurityAlert);
}

#[derive(Default)]
pub struct AlertFeed {
    pub recent: Mutex<Vec<SecurityAlert>>,
    metrics: Option<Arc<crate::Metrics>>,
    sink: std::sync::OnceLock<Arc<dyn AlertSink>>,
}

impl AlertFeed {
    /// A feed that also counts alerts by kind in the metrics.
    pub fn with_metrics(metrics: Arc<crate::Metrics>) -> AlertFeed {
        AlertFeed {
            recent: Mutex::new(Vec::new()),
            metrics: Some(metrics),
            sink: std::sync::OnceLock::new(),
        }
    }

    /// Sends every alert raised from now on to `sink` as well. Answers false when a sink was
    /// already set (there is one alert channel per installation).
    pub fn deliver_to(&self, sink: Arc<dyn AlertSink>) -> bool {
        self.sink.set(sink).is_ok()
    }

    pub fn raise(&self, alert: SecurityAlert) {
        tracing::warn!(target: "rampart::alert", kind = alert.kind, workspace = ?alert.workspace, subject = %alert.subject, "security alert");
        if let Some(m) = &self.metrics {
            m.alerts
                .get_or_create(&crate::metrics::KindLabels {
                    kind: alert.kind.to_owned(),
                })
                .inc();
        }
        if let Some(sink) = self.sink.get() {
            sink.deliver(&alert);
        }
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() >= 1000 {
                recent.remove(0);
            }
            recent.push(alert);
        }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Store,
    /// The installation's controls and frameworks; a workspace's own are added by
    /// [`AppState::catalog_for`].
    pub catalog: Arc<Catalog>,
    /// Workspace catalogs (built-in plus custom controls), see [`AppState::catalog_for`].
    pub workspace_catalogs: Arc<WorkspaceCatalogs>,
    pub vault: Arc<Vault>,
    pub mailer: Arc<dyn Mailer>,
    pub alerts: Arc<AlertFeed>,
    pub metrics: Arc<crate::Metrics>,
    pub installation: Option<Arc<crate::selfcheck::Installation>>,
    /// Base of mailed links (no trailing slash).
    pub public_url: String,
    /// Assets the inventory page evaluates a CEL query over at most.
    pub query_scan_limit: u64,
}

/// Workspaces' catalogs with their custom controls, each kept with the custom controls it was
/// built from (id and last change): a request reads the workspace's custom controls (one small
/// query) and builds the catalog again only when they changed. Nothing here is needed by another
/// process: the database stays the only shared state.
#[derive(Default)]
pub(crate) struct WorkspaceCatalogs {
    /// Workspace id → (the custom controls' ids and last changes, the catalog built from them).
    cached: Mutex<HashMap<String, (CustomKey, Arc<Catalog>)>>,
}

/// What a workspace catalog was built from: each custom control's id and last change.
type CustomKey = Vec<(String, DateTime<Utc>)>;

/// Workspaces whose catalogs are kept at once (the cache starts over beyond).
const MAX_CACHED_CATALOGS: usize = 256;

pub(crate) use rampart_worker::custom_control_def;

impl AppState {
    /// The catalog of a workspace: the installation's plus the workspace's custom controls
    /// (the installation's own, shared, when it has none). Needs `read_data` on the scope. A
    /// stored custom control that no longer loads is left out with a warning.
    pub(crate) async fn catalog_for(
        &self,
        scope: &WorkspaceScope,
    ) -> Result<Arc<Catalog>, rampart_store::StoreError> {
        let custom = self.store.custom_controls(scope).await?;
        if custom.is_empty() {
            return Ok(self.catalog.clone());
        }
        let key: CustomKey = custom
            .iter()
            .map(|c| (c.id.clone(), c.updated_at))
            .collect();
        let ws = scope.workspace_id();
        if let Ok(cached) = self.workspace_catalogs.cached.lock()
            && let Some((k, catalog)) = cached.get(ws)
            && *k == key
        {
            return Ok(catalog.clone());
        }
        let defs: Vec<CustomControlDef> = custom.iter().map(custom_control_def).collect();
        let (catalog, issues) = self.catalog.with_custom_lenient(&defs);
        for issue in issues {
            tracing::warn!(workspace = %scope.slug(), %issue, "custom control left out");
        }
        let catalog = Arc::new(catalog);
        if let Ok(mut cached) = self.workspace_catalogs.cached.lock() {
            if cached.len() >= MAX_CACHED_CATALOGS && !cached.contains_key(ws) {
                cached.clear();
            }
            cached.insert(ws.to_owned(), (key, catalog.clone()));
        }
        Ok(catalog)
    }
}
