//! The server's outgoing channels: security alerts to the installation's alert channel (a
//! signed webhook and/or e-mail to operators), and the server's own e-mail (invitations,
//! password resets) over the SMTP server of `--smtp-host`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use rampart_notify::Sender;
use rampart_server::{AlertSink, AppParts, Mailer, OutgoingMessage, SecurityAlert};
use serde_json::json;

/// Delivery attempts per alert or mail, with 1 s, 2 s, 4 s between them.
const ATTEMPTS: u32 = 4;

#[derive(Args, Clone, Default)]
pub struct AlertArgs {
    /// The installation's alert channel: every security alert (repeated failed sign-ins, a new
    /// owner or admin, MFA disabled, a support grant, an API token created, a failed backup) is
    /// POSTed here as JSON, signed like webhook channels (X-Rampart-Signature, HMAC-SHA256 with
    /// --alert-webhook-secret).
    #[arg(long, env = "RAMPART_ALERT_WEBHOOK_URL", value_name = "URL")]
    alert_webhook_url: Option<String>,
    /// Secret of the alert webhook's signature (prefer the environment variable).
    #[arg(
        long,
        env = "RAMPART_ALERT_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    alert_webhook_secret: Option<String>,
    /// E-mail every security alert to this address (repeatable; comma-separated in the
    /// environment variable; needs --smtp-host).
    #[arg(
        long = "alert-email",
        env = "RAMPART_ALERT_EMAILS",
        value_delimiter = ',',
        value_name = "ADDRESS"
    )]
    alert_emails: Vec<String>,
}

impl std::fmt::Debug for AlertArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertArgs")
            .field(
                "alert_webhook_url",
                &self.alert_webhook_url.as_ref().map(|_| "…"),
            )
            .field(
                "alert_webhook_secret",
                &self.alert_webhook_secret.as_ref().map(|_| "…"),
            )
            .field("alert_emails", &self.alert_emails)
            .finish()
    }
}

/// Delivers security alerts to the configured webhook and addresses, in the background.
struct ChannelAlerts {
    sender: Sender,
    webhook: Option<(String, String)>,
    emails: Vec<String>,
    runtime: tokio::runtime::Handle,
}

fn alert_payload(alert: &SecurityAlert, at: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    json!({
        "type": "rampart.security_alert",
        "kind": alert.kind,
        "workspace": alert.workspace,
        "subject": alert.subject,
        "raised_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Runs `attempt` up to [`ATTEMPTS`] times, backing off; logs each failure under `what`.
async fn with_retries<F, Fut>(what: &'static str, mut attempt: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    for n in 1..=ATTEMPTS {
        match attempt().await {
            Ok(()) => return true,
            Err(e) => {
                tracing::warn!(attempt = n, error = %e, "{what} failed");
                if n < ATTEMPTS {
                    tokio::time::sleep(Duration::from_secs(1 << (n - 1))).await;
                }
            }
        }
    }
    tracing::error!("{what} failed {ATTEMPTS} times; giving up");
    false
}

impl AlertSink for ChannelAlerts {
    fn deliver(&self, alert: &SecurityAlert) {
        let at = chrono::Utc::now();
        let payload = alert_payload(alert, at);
        if let Some((url, secret)) = self.webhook.clone() {
            let sender = self.sender.clone();
            let payload = payload.clone();
            self.runtime.spawn(async move {
                with_retries("alert webhook delivery", || {
                    let (sender, url, secret, payload) =
                        (sender.clone(), url.clone(), secret.clone(), payload.clone());
                    async move {
                        sender
                            .webhook(&url, &secret, &payload, at)
                            .await
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    }
                })
                .await;
            });
        }
        if !self.emails.is_empty() {
            let sender = self.sender.clone();
            let to = self.emails.clone();
            let subject = format!("[Rampart] Security alert: {}", alert.kind);
            let text = format!(
                "Security alert raised at {}\n\nKind: {}\nWorkspace: {}\n\n{}\n",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                alert.kind,
                alert.workspace.as_deref().unwrap_or("(installation)"),
                alert.subject
            );
            let html = format!("<pre>{}</pre>", escape_html(&text));
            self.runtime.spawn(async move {
                with_retries("alert e-mail delivery", || {
                    let (sender, to, subject, text, html) = (
                        sender.clone(),
                        to.clone(),
                        subject.clone(),
                        text.clone(),
                        html.clone(),
                    );
                    async move {
                        sender
                            .email(&to, &subject, text, html)
                            .await
                            .map_err(|e| e.to_string())
                    }
                })
                .await;
            });
        }
    }
}

/// The server's own mail (invitations, password resets) over SMTP, in the background.
struct SmtpMailer {
    sender: Sender,
    runtime: tokio::runtime::Handle,
}

impl Mailer for SmtpMailer {
    fn send(&self, message: OutgoingMessage) {
        let sender = self.sender.clone();
        self.runtime.spawn(async move {
            let html = format!("<pre>{}</pre>", escape_html(&message.body));
            with_retries("e-mail delivery", || {
                let (sender, to, subject, text, html) = (
                    sender.clone(),
                    vec![message.to.clone()],
                    message.subject.clone(),
                    message.body.clone(),
                    html.clone(),
                );
                async move {
                    sender
                        .email(&to, &subject, text, html)
                        .await
                        .map_err(|e| e.to_string())
                }
            })
            .await;
        });
    }
}

/// Connects the server's parts to the outgoing channels: mail over SMTP when `--smtp-host` is
/// set, and security alerts to the alert webhook and addresses. Call inside the runtime.
pub(crate) fn wire(
    args: &AlertArgs,
    notify: &crate::notify_cmd::NotifyOptions,
    parts: &mut AppParts,
) -> anyhow::Result<()> {
    let sender = notify.sender()?;
    let smtp = sender.config().smtp.is_some();
    let runtime = tokio::runtime::Handle::current();
    if smtp {
        parts.mailer = Arc::new(SmtpMailer {
            sender: sender.clone(),
            runtime: runtime.clone(),
        });
    }
    if !args.alert_emails.is_empty() && !smtp {
        bail!("--alert-email needs an SMTP server (--smtp-host)");
    }
    let webhook = match (&args.alert_webhook_url, &args.alert_webhook_secret) {
        (Some(url), Some(secret)) if !secret.is_empty() => {
            sender
                .check_url(url)
                .map_err(|e| anyhow::anyhow!("--alert-webhook-url: {e}"))?;
            Some((url.clone(), secret.clone()))
        }
        (Some(_), _) => bail!(
            "--alert-webhook-url needs --alert-webhook-secret (RAMPART_ALERT_WEBHOOK_SECRET) to sign the alerts"
        ),
        (None, Some(_)) => bail!("--alert-webhook-secret is set but --alert-webhook-url is not"),
        (None, None) => None,
    };
    if webhook.is_some() || !args.alert_emails.is_empty() {
        parts.alerts.deliver_to(Arc::new(ChannelAlerts {
            sender,
            webhook,
            emails: args.alert_emails.clone(),
            runtime,
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_payload_names_kind_workspace_and_time() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T06:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let p = alert_payload(
            &SecurityAlert {
                kind: "mfa_disabled",
                workspace: Some("acme".into()),
                subject: "MFA disabled for a@example.com".into(),
            },
            at,
        );
        assert_eq!(p["type"], "rampart.security_alert");
        assert_eq!(p["kind"], "mfa_disabled");
        assert_eq!(p["workspace"], "acme");
        assert_eq!(p["raised_at"], "2026-11-30T06:00:00Z");
    }

    #[test]
    fn debug_output_hides_the_webhook_secret_and_url() {
        let a = AlertArgs {
            alert_webhook_url: Some("https://hooks.example.com/T0KEN".into()),
            alert_webhook_secret: Some("s3cret-value".into()),
            alert_emails: vec!["ops@example.com".into()],
        };
        let d = format!("{a:?}");
        assert!(!d.contains("s3cret") && !d.contains("T0KEN"), "{d}");
    }
}
