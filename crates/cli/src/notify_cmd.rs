//! Installation settings of notification delivery (shared by `rampart worker` and `serve`,
//! whose workers run the `notify` jobs): the SMTP server for e-mail channels and whether plain
//! http (and SMTP without TLS) is allowed.

use std::time::Duration;

use clap::Args;
use rampart_notify::{SendConfig, Sender, SmtpConfig, SmtpTls};

#[derive(Args, Debug, Clone)]
pub struct NotifyOptions {
    /// Let notification channels use plain http URLs and e-mail go over SMTP without TLS. Off
    /// by default: channel URLs are chosen by workspace administrators, and without TLS the
    /// findings, webhook signatures and Jira tokens travel in the clear; it is meant for local
    /// test receivers.
    #[arg(long, env = "RAMPART_ALLOW_INSECURE_WEBHOOKS")]
    allow_insecure_webhooks: bool,
    /// Let channel URLs (webhooks, Slack, Teams, Jira, the alert webhook) reach loopback,
    /// private, link-local (cloud metadata) and other non-public addresses. Off by default:
    /// workspace administrators choose channel URLs, and an internal target would let them make
    /// the installation call its own network (SSRF).
    #[arg(long, env = "RAMPART_ALLOW_PRIVATE_WEBHOOK_TARGETS")]
    allow_private_webhook_targets: bool,
    /// Seconds every outgoing notification call may take (connect, request, SMTP session).
    #[arg(long, env = "RAMPART_NOTIFY_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120))]
    notify_timeout_seconds: u64,
    /// SMTP server of e-mail channels and the weekly digest.
    #[arg(long, env = "RAMPART_SMTP_HOST")]
    smtp_host: Option<String>,
    /// SMTP port (587 for STARTTLS, 465 for implicit TLS).
    #[arg(long, env = "RAMPART_SMTP_PORT", default_value_t = 587)]
    smtp_port: u16,
    /// How the SMTP connection is protected: starttls, tls (implicit) or none (needs
    /// --allow-insecure-webhooks).
    #[arg(long, env = "RAMPART_SMTP_TLS", default_value = "starttls", value_parser = ["starttls", "tls", "none"])]
    smtp_tls: String,
    /// SMTP user name.
    #[arg(long, env = "RAMPART_SMTP_USERNAME")]
    smtp_username: Option<String>,
    /// SMTP password (prefer the environment variable to the command line).
    #[arg(long, env = "RAMPART_SMTP_PASSWORD", hide_env_values = true)]
    smtp_password: Option<String>,
    /// Sender address of notification e-mails.
    #[arg(long, env = "RAMPART_SMTP_FROM", default_value = "rampart@localhost")]
    smtp_from: String,
    /// The installation's public address, for links in messages.
    #[arg(long, env = "RAMPART_PUBLIC_URL")]
    notify_public_url: Option<String>,
}

impl NotifyOptions {
    pub fn sender(&self) -> anyhow::Result<Sender> {
        let smtp = match &self.smtp_host {
            Some(host) => Some(SmtpConfig {
                host: host.clone(),
                port: self.smtp_port,
                tls: self
                    .smtp_tls
                    .parse::<SmtpTls>()
                    .map_err(anyhow::Error::msg)?,
                username: self.smtp_username.clone(),
                password: self.smtp_password.clone(),
                from: self.smtp_from.clone(),
            }),
            None => None,
        };
        if smtp.as_ref().is_some_and(|s| s.tls == SmtpTls::None) && !self.allow_insecure_webhooks {
            anyhow::bail!("--smtp-tls none needs --allow-insecure-webhooks");
        }
        Ok(Sender::new(SendConfig {
            allow_insecure: self.allow_insecure_webhooks,
            allow_private_targets: self.allow_private_webhook_targets,
            timeout: Duration::from_secs(self.notify_timeout_seconds),
            smtp,
            public_url: self.notify_public_url.clone(),
        })?)
    }
}
