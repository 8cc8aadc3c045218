//! Logs on standard error (text or JSON) and, when asked for, OpenTelemetry traces: every
//! `tracing` span (HTTP requests with their request id, jobs, collection calls) exported over
//! OTLP/HTTP with JSON bodies to `--otlp-endpoint` (or `OTEL_EXPORTER_OTLP_ENDPOINT`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[derive(Args, Debug, Clone, Default)]
pub struct TelemetryArgs {
    /// Export traces over OTLP/HTTP (JSON) to this collector base URL, e.g.
    /// `http://127.0.0.1:4318` (spans go to `/v1/traces`). Off unless given.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}

/// Keeps the trace pipeline alive; flushes and stops it when dropped.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("warning: flushing traces failed: {e}");
        }
    }
}

/// The URL spans are posted to, from a collector base URL.
fn traces_url(endpoint: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(endpoint)
        .with_context(|| format!("--otlp-endpoint {endpoint:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        anyhow::bail!("--otlp-endpoint must be an http or https URL, not {endpoint:?}");
    }
    let base = endpoint.trim_end_matches('/');
    Ok(if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    })
}

fn http_client() -> anyhow::Result<reqwest::blocking::Client> {
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) =
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if added == 0 {
        tracing::warn!("no trusted root certificates found: an https OTLP endpoint will fail");
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS for the OTLP exporter")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::blocking::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(10))
        .build()
        .context("HTTP client of the OTLP exporter")
}

/// Installs the global subscriber: logs on standard error in `format` (`text` or `json`),
/// filtered by `RUST_LOG` (default `info`), plus the OTLP trace exporter when configured.
/// `service` becomes the traces' `service.name`.
pub fn init(
    format: &str,
    args: &TelemetryArgs,
    service: &'static str,
) -> anyhow::Result<Telemetry> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (otel, provider) = match args.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpJson)
                .with_endpoint(traces_url(endpoint)?)
                .with_http_client(http_client()?)
                .with_timeout(Duration::from_secs(10))
                .build()
                .context("cannot set up the OTLP trace exporter")?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name(service).build())
                .build();
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("rampart"));
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    // A second call (tests run commands in one process) keeps the first subscriber.
    let _ = if format == "json" {
        registry.with(fmt.json()).try_init()
    } else {
        registry.with(fmt).try_init()
    };
    Ok(Telemetry { provider })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").ok().as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(
            traces_url("https://otel.example.com/v1/traces/")
                .ok()
                .as_deref(),
            Some("https://otel.example.com/v1/traces")
        );
        assert!(traces_url("127.0.0.1:4318").is_err());
        assert!(traces_url("ftp://collector").is_err());
    }
}
