//! Shared application state.

use std::sync::{Arc, Mutex};

use rampart_rules::Catalog;
use rampart_store::{Store, Vault};

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
    pub catalog: Arc<Catalog>,
    pub vault: Arc<Vault>,
    pub mailer: Arc<dyn Mailer>,
    pub alerts: Arc<AlertFeed>,
    pub metrics: Arc<crate::Metrics>,
    pub installation: Option<Arc<crate::selfcheck::Installation>>,
    /// Base of mailed links (no trailing slash).
    pub public_url: String,
}
